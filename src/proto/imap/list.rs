//! LIST with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and
//! SPECIAL-USE (RFC 6154); and the IMAP4rev1 LSUB (RFC 3501 §6.3.9).

use super::items::{ListReturn, ListSelect};
use super::mailbox::status_att_list;
use super::primitives::{PResult, atom_upper, fail, paren_list, sp};
use super::strings::{astring_utf8, list_mailbox};
use super::types::CommandBody;

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
///
/// `mbox-or-pat = list-mailbox / patterns`,
/// `patterns = "(" list-mailbox *(SP list-mailbox) ")"` (RFC 9051 §9, RFC 5258 §6).
/// The reference is decoded but not INBOX-normalized.
pub(crate) fn list(i: &[u8]) -> PResult<'_, CommandBody> {
    let (mut i, ()) = sp(i)?;
    let mut select = ListSelect::default();
    let mut extended = false;
    if i.starts_with(b"(") {
        let (rest, opts) = list_select_opts(i)?;
        let (rest, ()) = sp(rest)?;
        select = opts;
        extended = true;
        i = rest;
    }
    let (i, reference) = astring_utf8(i)?;
    let (i, ()) = sp(i)?;
    let (mut i, patterns) = if i.starts_with(b"(") {
        extended = true;
        paren_list(i, false, list_mailbox)?
    } else {
        let (rest, p) = list_mailbox(i)?;
        (rest, vec![p])
    };
    let mut ret = ListReturn::default();
    if let Some(after) = i.strip_prefix(b" ") {
        let (rest, r) = list_return_opts(after)?;
        ret = r;
        extended = true;
        i = rest;
    }
    Ok((
        i,
        CommandBody::List {
            reference,
            patterns,
            select,
            ret,
            extended,
        },
    ))
}

/// `list-select-opts = "(" [ (*(list-select-opt SP) list-select-base-opt *(SP list-select-opt)) /
/// (list-select-independent-opt *(SP list-select-independent-opt)) ] ")"`
///
/// `list-select-base-opt = "SUBSCRIBED" / option-extension`,
/// `list-select-independent-opt = "REMOTE" / option-extension`,
/// `list-select-mod-opt = "RECURSIVEMATCH" / option-extension` (RFC 5258 §6), and
/// `SPECIAL-USE` as a base option (RFC 6154 §6). RFC 5258 §3.1: unknown
/// options and a modifier without a base option are errors (BAD).
fn list_select_opts(i: &[u8]) -> PResult<'_, ListSelect> {
    let mut select = ListSelect::default();
    let (rest, _) = paren_list(i, true, |o| {
        let (o, name) = atom_upper(o)?;
        match name.as_str() {
            "SUBSCRIBED" => select.subscribed = true,
            "REMOTE" => select.remote = true,
            "RECURSIVEMATCH" => select.recursive_match = true,
            "SPECIAL-USE" => select.special_use = true,
            _ => return fail(o, "Unsupported LIST selection option"),
        }
        Ok((o, ()))
    })?;
    if select.recursive_match && !(select.subscribed || select.special_use) {
        return fail(rest, "RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE");
    }
    Ok((rest, select))
}

/// `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`
///
/// `return-option = "SUBSCRIBED" / "CHILDREN" / status-option / option-extension`,
/// `status-option = "STATUS" SP "(" status-att *(SP status-att) ")"`
/// (RFC 9051 §9, RFC 5819 §6), plus `"SPECIAL-USE"` (RFC 6154 §6).
/// Unknown return options are refused (RFC 5258 §3: the server MUST reject
/// options it does not understand).
fn list_return_opts(i: &[u8]) -> PResult<'_, ListReturn> {
    let (i, word) = atom_upper(i)?;
    if word != "RETURN" {
        return fail(i, "Expected RETURN");
    }
    let (i, ()) = sp(i)?;
    let mut ret = ListReturn::default();
    let (i, _) = paren_list(i, true, |o| {
        let (o, name) = atom_upper(o)?;
        match name.as_str() {
            "SUBSCRIBED" => ret.subscribed = true,
            "CHILDREN" => ret.children = true,
            "SPECIAL-USE" => ret.special_use = true,
            "STATUS" => {
                let (o, ()) = sp(o)?;
                let (o, items) = status_att_list(o)?;
                ret.status = Some(items);
                return Ok((o, ()));
            }
            _ => return fail(o, "Unsupported LIST return option"),
        }
        Ok((o, ()))
    })?;
    Ok((i, ret))
}

/// `lsub = "LSUB" SP mailbox SP list-mailbox` (RFC 3501 §9).
pub(crate) fn lsub(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, reference) = astring_utf8(i)?;
    let (i, ()) = sp(i)?;
    let (i, pattern) = list_mailbox(i)?;
    Ok((i, CommandBody::Lsub { reference, pattern }))
}
