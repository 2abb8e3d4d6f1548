//! Commands that change messages (RFC 9051 §6.4.6 to §6.4.8): STORE with
//! UNCHANGEDSINCE (RFC 7162), COPY and MOVE (RFC 6851).

use nom::bytes::complete::take_while1;

use super::items::StoreMode;
use super::mailbox::one_mailbox;
use super::primitives::{
    PResult, ascii_string, fail, flag, flag_list, keyword, number64, paren_list, sp,
};
use super::sequence::sequence_set;
use super::types::CommandBody;

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`,
/// `store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"`,
/// `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer` (RFC 7162 §7),
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
/// (RFC 9051 §9).
pub(crate) fn store(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, set) = sequence_set(i)?;
    let (mut i, ()) = sp(i)?;
    let mut unchanged_since = None;
    if i.starts_with(b"(") {
        let (rest, _) = paren_list(i, false, |m| {
            let Ok((m, ())) = keyword("UNCHANGEDSINCE")(m) else {
                return fail(m, "Unsupported STORE modifier");
            };
            let (m, ()) = sp(m)?;
            let (m, n) = number64(m)?;
            unchanged_since = Some(n);
            Ok((m, ()))
        })?;
        let (rest, ()) = sp(rest)?;
        i = rest;
    }
    let (mode, i) = match i {
        [b'+', rest @ ..] => (StoreMode::Add, rest),
        [b'-', rest @ ..] => (StoreMode::Remove, rest),
        _ => (StoreMode::Replace, i),
    };
    let (i, item) = take_while1(|c: u8| c.is_ascii_alphabetic() || c == b'.')(i)?;
    let silent = match ascii_string(item).to_ascii_uppercase().as_str() {
        "FLAGS" => false,
        "FLAGS.SILENT" => true,
        _ => return fail(i, "Unknown STORE item"),
    };
    let (i, ()) = sp(i)?;
    let (i, flags) = if i.starts_with(b"(") {
        flag_list(i)?
    } else {
        let (mut i, first) = flag(i)?;
        let mut flags = vec![first];
        while let Some(after) = i.strip_prefix(b" ") {
            let (rest, f) = flag(after)?;
            flags.push(f);
            i = rest;
        }
        (i, flags)
    };
    Ok((
        i,
        CommandBody::Store {
            uid,
            set,
            mode,
            silent,
            flags,
            unchanged_since,
        },
    ))
}

/// `copy = "COPY" SP sequence-set SP mailbox` (RFC 9051 §9),
/// `move = "MOVE" SP sequence-set SP mailbox` (RFC 6851 §4.1).
pub(crate) fn copy_move(i: &[u8], uid: bool, is_move: bool) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, set) = sequence_set(i)?;
    let (i, mailbox) = one_mailbox(i)?;
    let body = if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    };
    Ok((i, body))
}
