//! Commands on mailboxes (RFC 9051 §6.3): SELECT/EXAMINE with CONDSTORE,
//! CREATE with SPECIAL-USE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS and APPEND.
//! LIST and LSUB are in `list.rs`.

use super::datetime::date_time;
use super::items::StatusItem;
use super::primitives::{
    PResult, ascii_string, atom, atom_upper, fail, flag_list, keyword, mismatch, number64,
    nz_number, paren_list, sp,
};
use super::sequence::sequence_set;
use super::strings::{astring_utf8, literal, literal8, mailbox};
use super::types::{
    AppendData, AppendMessage, CatenatePart, CommandBody, QresyncParams, SelectParams,
};

/// Most messages in one MULTIAPPEND, and most parts in one CATENATE.
pub const MAX_APPEND_PARTS: usize = 1000;

/// `SP mailbox`, the argument of DELETE, SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §9).
pub(crate) fn one_mailbox(i: &[u8]) -> PResult<'_, String> {
    let (i, ()) = sp(i)?;
    mailbox(i)
}

/// `select = "SELECT" SP mailbox [select-params]`,
/// `select-params = SP "(" select-param *(SP select-param) ")"` (RFC 9051 §9),
/// `select-param =/ "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP
/// mod-sequence-value [SP known-uids] [SP seq-match-data] ")"` (RFC 7162 §7).
pub(crate) fn select(i: &[u8]) -> PResult<'_, (String, SelectParams)> {
    let (i, name) = one_mailbox(i)?;
    let mut params = SelectParams::default();
    let Some(list) = i.strip_prefix(b" ") else {
        return Ok((i, (name, params)));
    };
    let (i, _) = paren_list(list, false, |p| {
        if let Ok((p, ())) = keyword("CONDSTORE")(p) {
            params.condstore = true;
            return Ok((p, ()));
        }
        if let Ok((p, ())) = keyword("QRESYNC")(p) {
            let (p, ()) = sp(p)?;
            let (p, q) = qresync_param(p)?;
            params.qresync = Some(q);
            return Ok((p, ()));
        }
        fail(p, "Unsupported SELECT parameter")
    })?;
    Ok((i, (name, params)))
}

/// The parenthesized part of `qresync-param` (RFC 7162 §7);
/// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
fn qresync_param(i: &[u8]) -> PResult<'_, QresyncParams> {
    let Some(i) = i.strip_prefix(b"(") else {
        return mismatch(i);
    };
    let (i, uidvalidity) = nz_number(i)?;
    let (i, ()) = sp(i)?;
    let (mut i, modseq) = number64(i)?;
    let mut q = QresyncParams {
        uidvalidity,
        modseq,
        known_uids: None,
        seq_match: None,
    };
    if let Some(rest) = i.strip_prefix(b" ")
        && !rest.starts_with(b"(")
    {
        let (rest, set) = sequence_set(rest)?;
        q.known_uids = Some(set);
        i = rest;
    }
    if let Some(rest) = i.strip_prefix(b" (") {
        let (rest, seqs) = sequence_set(rest)?;
        let (rest, ()) = sp(rest)?;
        let (rest, uids) = sequence_set(rest)?;
        let Some(rest) = rest.strip_prefix(b")") else {
            return fail(rest, "Invalid QRESYNC sequence match data");
        };
        q.seq_match = Some((seqs, uids));
        i = rest;
    }
    match i.strip_prefix(b")") {
        Some(rest) => Ok((rest, q)),
        None => fail(i, "Invalid QRESYNC parameter"),
    }
}

/// `create = "CREATE" SP mailbox [create-params]`,
/// `create-params = SP "(" create-param *(SP create-param) ")"` (RFC 4466 §2.2),
/// `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"` (RFC 6154 §6).
pub(crate) fn create(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, mailbox) = one_mailbox(i)?;
    let mut special_use = Vec::new();
    let i = match i.strip_prefix(b" ") {
        Some(params) => {
            paren_list(params, false, |p| {
                let Ok((p, ())) = keyword("USE")(p) else {
                    return fail(p, "Unsupported CREATE parameter");
                };
                let (p, ()) = sp(p)?;
                let (p, attrs) = paren_list(p, true, use_attr)?;
                special_use.extend(attrs);
                Ok((p, ()))
            })?
            .0
        }
        None => i,
    };
    Ok((
        i,
        CommandBody::Create {
            mailbox,
            special_use,
        },
    ))
}

/// `use-attr = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" / "\Sent" / "\Trash" / use-attr-ext`,
/// `use-attr-ext = "\" atom` (RFC 6154 §6). Kept as sent, backslash included.
fn use_attr(i: &[u8]) -> PResult<'_, String> {
    let Some(after) = i.strip_prefix(b"\\") else {
        return mismatch(i);
    };
    let (rest, name) = atom(after)?;
    Ok((rest, format!("\\{}", ascii_string(name))))
}

/// `rename = "RENAME" SP mailbox SP mailbox` (RFC 9051 §9).
pub(crate) fn rename(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, from) = one_mailbox(i)?;
    let (i, to) = one_mailbox(i)?;
    Ok((i, CommandBody::Rename { from, to }))
}

/// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"` (RFC 9051 §9).
pub(crate) fn status(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, mailbox) = one_mailbox(i)?;
    let (i, ()) = sp(i)?;
    let (i, items) = status_att_list(i)?;
    Ok((i, CommandBody::Status { mailbox, items }))
}

/// `"(" status-att *(SP status-att) ")"`, shared with LIST's `STATUS` return option.
pub(crate) fn status_att_list(i: &[u8]) -> PResult<'_, Vec<StatusItem>> {
    paren_list(i, false, status_att)
}

/// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE"`
/// (RFC 9051 §9), `"RECENT"` (RFC 3501 §9), `"HIGHESTMODSEQ"` (RFC 7162 §7),
/// `"APPENDLIMIT"` (RFC 7889 §4).
fn status_att(i: &[u8]) -> PResult<'_, StatusItem> {
    use StatusItem as S;
    let (rest, name) = atom_upper(i)?;
    let item = match name.as_str() {
        "MESSAGES" => S::Messages,
        "RECENT" => S::Recent,
        "UIDNEXT" => S::UidNext,
        "UIDVALIDITY" => S::UidValidity,
        "UNSEEN" => S::Unseen,
        "DELETED" => S::Deleted,
        "SIZE" => S::Size,
        "HIGHESTMODSEQ" => S::HighestModSeq,
        "APPENDLIMIT" => S::AppendLimit,
        "MAILBOXID" => S::MailboxId,
        _ => return fail(i, "Unknown STATUS item"),
    };
    Ok((rest, item))
}

/// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502 §6),
/// `append-message = append-opts SP append-data`,
/// `append-opts = [SP flag-list] [SP date-time]`,
/// `append-data = literal / literal8 / append-data-ext` (RFC 9051 §9, RFC 3516 §4.2),
/// with `append-data-ext =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"`
/// (RFC 4469 §5) and `"UTF8" SP "(" literal8 ")"` (RFC 6855 §4).
pub(crate) fn append(i: &[u8]) -> PResult<'_, CommandBody> {
    let (mut i, mailbox) = one_mailbox(i)?;
    let mut messages = Vec::new();
    while let Some(rest) = i.strip_prefix(b" ") {
        if messages.len() >= MAX_APPEND_PARTS {
            return fail(rest, "Too many messages in one APPEND");
        }
        let (rest, message) = append_message(rest)?;
        messages.push(message);
        i = rest;
    }
    if messages.is_empty() {
        return fail(i, "APPEND needs a message");
    }
    Ok((i, CommandBody::Append { mailbox, messages }))
}

/// One `append-message`, after its leading SP.
fn append_message(mut i: &[u8]) -> PResult<'_, AppendMessage> {
    let mut flags = Vec::new();
    if i.starts_with(b"(") {
        let (rest, f) = flag_list(i)?;
        let (rest, ()) = sp(rest)?;
        flags = f;
        i = rest;
    }
    let mut date = None;
    if i.starts_with(b"\"") {
        let (rest, d) = date_time(i)?;
        let (rest, ()) = sp(rest)?;
        date = Some(d);
        i = rest;
    }
    let (i, data) = append_data(i)?;
    Ok((i, AppendMessage { flags, date, data }))
}

fn append_data(i: &[u8]) -> PResult<'_, AppendData> {
    match i.first() {
        Some(b'{') => literal(i).map(|(r, m)| (r, AppendData::Literal(m.to_vec()))),
        Some(b'~') => literal8(i).map(|(r, m)| (r, AppendData::Literal(m.to_vec()))),
        _ => {
            if let Ok((rest, ())) = keyword("UTF8")(i) {
                let (rest, ()) = sp(rest)?;
                let Some(rest) = rest.strip_prefix(b"(") else {
                    return fail(rest, "UTF8 needs a parenthesized literal8");
                };
                let (rest, m) = literal8(rest)?;
                let Some(rest) = rest.strip_prefix(b")") else {
                    return fail(rest, "UTF8 needs a parenthesized literal8");
                };
                return Ok((rest, AppendData::Literal(m.to_vec())));
            }
            if let Ok((rest, ())) = keyword("CATENATE")(i) {
                let (rest, ()) = sp(rest)?;
                return catenate(rest);
            }
            fail(i, "APPEND needs the message as a literal")
        }
    }
}

/// `"(" cat-part *(SP cat-part) ")"`, `cat-part = text-literal / url`,
/// `text-literal = "TEXT" SP literal`, `url = "URL" SP astring` (RFC 4469 §5).
fn catenate(i: &[u8]) -> PResult<'_, AppendData> {
    let mut count = 0usize;
    let (rest, parts) = paren_list(i, false, |p| {
        count += 1;
        if count > MAX_APPEND_PARTS {
            return fail(p, "Too many CATENATE parts");
        }
        if let Ok((p, ())) = keyword("TEXT")(p) {
            let (p, ()) = sp(p)?;
            let (p, text) = literal(p)?;
            return Ok((p, CatenatePart::Text(text.to_vec())));
        }
        if let Ok((p, ())) = keyword("URL")(p) {
            let (p, ()) = sp(p)?;
            let (p, url) = astring_utf8(p)?;
            return Ok((p, CatenatePart::Url(url)));
        }
        fail(p, "Unknown CATENATE part")
    })?;
    Ok((rest, AppendData::Catenate(parts)))
}
