//! Commands on mailboxes (RFC 9051 §6.3): SELECT/EXAMINE with CONDSTORE,
//! CREATE with SPECIAL-USE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS and APPEND.
//! LIST and LSUB are in `list.rs`.

use super::datetime::date_time;
use super::items::StatusItem;
use super::primitives::{
    PResult, ascii_string, atom, atom_upper, fail, flag_list, keyword, mismatch, paren_list, sp,
};
use super::strings::{literal, literal8, mailbox};
use super::types::CommandBody;

/// `SP mailbox`, the argument of DELETE, SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §9).
pub(crate) fn one_mailbox(i: &[u8]) -> PResult<'_, String> {
    let (i, ()) = sp(i)?;
    mailbox(i)
}

/// `select = "SELECT" SP mailbox [select-params]`,
/// `select-params = SP "(" select-param *(SP select-param) ")"` (RFC 9051 §9);
/// the only parameter known is `CONDSTORE` (RFC 7162 §7).
pub(crate) fn select(i: &[u8]) -> PResult<'_, (String, bool)> {
    let (i, name) = one_mailbox(i)?;
    let Some(params) = i.strip_prefix(b" ") else {
        return Ok((i, (name, false)));
    };
    let (i, _) = paren_list(params, false, |p| match keyword("CONDSTORE")(p) {
        Ok(v) => Ok(v),
        Err(_) => fail(p, "Unsupported SELECT parameter"),
    })?;
    Ok((i, (name, true)))
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
        _ => return fail(i, "Unknown STATUS item"),
    };
    Ok((rest, item))
}

/// `append = "APPEND" SP mailbox 1*append-message`,
/// `append-message = append-opts SP append-data`,
/// `append-opts = [SP flag-list] [SP date-time]`,
/// `append-data = literal / literal8` (RFC 9051 §9, RFC 3516 §4.2).
/// Only one message: MULTIAPPEND (RFC 3502) is refused.
pub(crate) fn append(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, mailbox) = one_mailbox(i)?;
    let (mut i, ()) = sp(i)?;
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
    let (i, message) = match i.first() {
        Some(b'{') => literal(i)?,
        Some(b'~') => literal8(i)?,
        _ => return fail(i, "APPEND needs the message as a literal"),
    };
    if i.starts_with(b" ") {
        return fail(i, "MULTIAPPEND is not supported");
    }
    Ok((
        i,
        CommandBody::Append {
            mailbox,
            flags,
            date,
            message: message.to_vec(),
        },
    ))
}
