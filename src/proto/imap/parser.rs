//! The entry point, [`parse_command`], the dispatch on command names, and
//! the commands of the any and not-authenticated states (RFC 9051 §6.1,
//! §6.2) plus ID and ENABLE. The other commands live in `mailbox.rs`,
//! `list.rs`, `search.rs`, `fetch.rs` and `store.rs`.

use nom::bytes::complete::take_while1;

use crate::proto::secret::Secret;

use super::fetch::fetch;
use super::mailbox::{append, create, one_mailbox, rename, select, status};
use super::primitives::{
    PError, PResult, ascii_string, atom, atom_upper, crlf, fail, is_tag_char, mismatch, nil,
    paren_list, sp,
};
use super::search::search;
use super::sequence::sequence_set;
use super::sort::{sort, thread};
use super::store::{copy_move, store};
use super::strings::{astring, astring_utf8, nstring, string};
use super::types::{Command, CommandBody, ParseError};

/// Parses one complete command as framed by [`super::CommandFramer`]: the
/// line(s) with literal bytes inline, ending in CRLF (or a bare LF).
///
/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
/// (RFC 9051 §9). Never panics.
///
/// # Errors
/// Any input outside the grammar, unknown commands, unsupported extension
/// parameters, invalid UTF-8 in text, and SEARCH nesting deeper than
/// [`super::MAX_SEARCH_DEPTH`]. The error carries the tag when it could be
/// read and a message safe to send as `tag BAD message` (`* BAD` without tag).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let err = |tag: Option<&str>, message: &str| ParseError {
        tag: tag.map(str::to_owned),
        message: message.to_owned(),
    };
    let Ok((rest, tag)) = tag_rule(input) else {
        return Err(err(None, "Missing or invalid tag"));
    };
    let Ok((rest, ())) = sp(rest) else {
        return Err(err(Some(&tag), "Missing command"));
    };
    let Ok((args, name)) = atom(rest) else {
        return Err(err(Some(&tag), "Missing command"));
    };
    let name = ascii_string(name).to_ascii_uppercase();
    // `command_body` then exactly one line end, and nothing after it.
    let result = command_body(&name, args).and_then(|(rest, body)| match crlf(rest)? {
        ([], ()) => Ok(body),
        (extra, ()) => Err(nom::Err::Error(PError {
            input: extra,
            message: None,
        })),
    });
    match result {
        Ok(body) => Ok(Command { tag, body }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let message = match (e.message, known_name(&name)) {
                (Some(m), _) => m.to_owned(),
                (None, Some(n)) => format!("Invalid arguments to {n}"),
                (None, None) => "Unknown command".to_owned(),
            };
            Err(ParseError {
                tag: Some(tag),
                message,
            })
        }
        Err(nom::Err::Incomplete(_)) => Err(err(Some(&tag), "Incomplete command")),
    }
}

/// `tag = 1*<any ASTRING-CHAR except "+">` (RFC 9051 §9).
fn tag_rule(i: &[u8]) -> PResult<'_, String> {
    take_while1(is_tag_char)(i).map(|(rest, t)| (rest, ascii_string(t)))
}

/// The command names this parser knows, as `&'static str` so error messages
/// never echo client bytes.
fn known_name(name: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE",
        "LOGIN",
        "ID",
        "ENABLE",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LSUB",
        "NAMESPACE",
        "STATUS",
        "APPEND",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "SEARCH",
        "FETCH",
        "STORE",
        "COPY",
        "MOVE",
        "UID",
        "IDLE",
        "SORT",
        "THREAD",
        "CANCELUPDATE",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
        "COMPRESS",
        "NOTIFY",
    ];
    NAMES.iter().copied().find(|n| *n == name)
}

/// Dispatches on the (upper-cased) command name; `i` starts right after it.
fn command_body<'a>(name: &str, i: &'a [u8]) -> PResult<'a, CommandBody> {
    use CommandBody as C;
    let no_args = |body| Ok((i, body));
    match name {
        "CAPABILITY" => no_args(C::Capability),
        "NOOP" => no_args(C::Noop),
        "LOGOUT" => no_args(C::Logout),
        "STARTTLS" => no_args(C::StartTls),
        "NAMESPACE" => no_args(C::Namespace),
        "CHECK" => no_args(C::Check),
        "CLOSE" => no_args(C::Close),
        "UNSELECT" => no_args(C::Unselect),
        "EXPUNGE" => no_args(C::Expunge),
        "IDLE" => no_args(C::Idle),
        "AUTHENTICATE" => authenticate(i),
        "LOGIN" => login(i),
        "ID" => id(i),
        "ENABLE" => enable(i),
        "SELECT" => select(i).map(|(r, (mailbox, params))| (r, C::Select { mailbox, params })),
        "EXAMINE" => select(i).map(|(r, (mailbox, params))| (r, C::Examine { mailbox, params })),
        "CREATE" => create(i),
        "DELETE" => one_mailbox(i).map(|(r, mailbox)| (r, C::Delete { mailbox })),
        "SUBSCRIBE" => one_mailbox(i).map(|(r, mailbox)| (r, C::Subscribe { mailbox })),
        "UNSUBSCRIBE" => one_mailbox(i).map(|(r, mailbox)| (r, C::Unsubscribe { mailbox })),
        "RENAME" => rename(i),
        "LIST" => super::list::list(i),
        "LSUB" => super::list::lsub(i),
        "STATUS" => status(i),
        "APPEND" => append(i),
        "SEARCH" => search(i, false),
        "FETCH" => fetch(i, false),
        "STORE" => store(i, false),
        "COPY" => copy_move(i, false, false),
        "MOVE" => copy_move(i, false, true),
        "SORT" => sort(i, false),
        "THREAD" => thread(i, false),
        "CANCELUPDATE" => cancel_update(i),
        "GETQUOTA" => {
            let (i, ()) = sp(i)?;
            astring_utf8(i).map(|(r, root)| (r, C::GetQuota { root }))
        }
        "GETQUOTAROOT" => one_mailbox(i).map(|(r, mailbox)| (r, C::GetQuotaRoot { mailbox })),
        "SETQUOTA" => setquota(i),
        "COMPRESS" => {
            let (i, ()) = sp(i)?;
            atom_upper(i).map(|(r, a)| (r, C::Compress(a)))
        }
        "NOTIFY" => super::notify::notify(i).map(|(r, spec)| (r, C::Notify(spec))),
        "UID" => uid(i),
        _ => fail(i, "Unknown command"),
    }
}

/// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`,
/// `uid-expunge = "EXPUNGE" SP sequence-set` (RFC 9051 §9).
fn uid(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, name) = atom_upper(i)?;
    match name.as_str() {
        "FETCH" => fetch(i, true),
        "SEARCH" => search(i, true),
        "STORE" => store(i, true),
        "COPY" => copy_move(i, true, false),
        "MOVE" => copy_move(i, true, true),
        "SORT" => sort(i, true),
        "THREAD" => thread(i, true),
        "EXPUNGE" => {
            let (i, ()) = sp(i)?;
            sequence_set(i).map(|(r, set)| (r, CommandBody::UidExpunge(set)))
        }
        _ => fail(i, "Unknown UID command"),
    }
}

/// `cancelupdate = "CANCELUPDATE" 1*(SP quoted)` (RFC 5267 §6).
fn cancel_update(i: &[u8]) -> PResult<'_, CommandBody> {
    let mut tags = Vec::new();
    let mut i = i;
    while let Ok((rest, ())) = sp(i) {
        let (rest, t) = super::strings::quoted(rest)?;
        tags.push(String::from_utf8_lossy(&t).into_owned());
        i = rest;
        if tags.len() > 100 {
            return fail(i, "Too many tags");
        }
    }
    if tags.is_empty() {
        return mismatch(i);
    }
    Ok((i, CommandBody::CancelUpdate(tags)))
}

/// `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`,
/// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`,
/// `setquota-resource = resource-name SP resource-limit` (RFC 9208 §8).
fn setquota(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, root) = astring_utf8(i)?;
    let (i, ()) = sp(i)?;
    let (i, limits) = paren_list(i, true, |p| {
        let (p, name) = atom_upper(p)?;
        let (p, ()) = sp(p)?;
        let (p, n) = super::primitives::number64(p)?;
        Ok((p, (name, n)))
    })?;
    Ok((i, CommandBody::SetQuota { root, limits }))
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`
///
/// `auth-type = atom`, `initial-resp = (base64 / "=")` (RFC 9051 §9, RFC 4959 §7).
/// The response stays base64 text; the SASL layer decodes it.
fn authenticate(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, mechanism) = atom_upper(i)?;
    let (i, initial_response) = match sp(i) {
        Ok((i, ())) => {
            let (i, resp) =
                take_while1(|c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))(
                    i,
                )?;
            (i, Some(Secret::new(resp)))
        }
        Err(_) => (i, None),
    };
    Ok((
        i,
        CommandBody::Authenticate {
            mechanism,
            initial_response,
        },
    ))
}

/// `login = "LOGIN" SP userid SP password`, `userid = astring`,
/// `password = astring` (RFC 9051 §9).
fn login(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, username) = astring_utf8(i)?;
    let (i, ()) = sp(i)?;
    let (i, password) = astring(i)?;
    Ok((
        i,
        CommandBody::Login {
            username,
            password: Secret::new(password),
        },
    ))
}

/// `id = "ID" SP id-params-list`,
/// `id-params-list = "(" *(string SP nstring) ")" / nil` (RFC 2971 §4; pairs
/// separated by SP). Text is decoded leniently: ID is informational.
fn id(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    if let Ok((rest, ())) = nil(i) {
        return Ok((rest, CommandBody::Id(None)));
    }
    let (rest, pairs) = paren_list(i, true, |i| {
        let (i, key) = string(i)?;
        let (i, ()) = sp(i)?;
        let (i, value) = nstring(i)?;
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        Ok((i, (text(key), value.map(text))))
    })?;
    Ok((rest, CommandBody::Id(Some(pairs))))
}

/// `enable = "ENABLE" 1*(SP capability)`, `capability = atom` (RFC 5161 §4).
fn enable(i: &[u8]) -> PResult<'_, CommandBody> {
    let mut caps = Vec::new();
    let mut i = i;
    while let Ok((rest, ())) = sp(i) {
        let (rest, cap) = atom_upper(rest)?;
        caps.push(cap);
        i = rest;
    }
    if caps.is_empty() {
        return mismatch(i);
    }
    Ok((i, CommandBody::Enable(caps)))
}
