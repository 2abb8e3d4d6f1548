//! SEARCH (RFC 9051 §6.4.4) with ESEARCH `RETURN` (RFC 4731 §3), SEARCHRES
//! `$` (RFC 5182) and CONDSTORE `MODSEQ` (RFC 7162 §3.1.5).
//!
//! Search keys nest (`NOT`, `OR`, parentheses); the parser is recursive, so
//! depth is capped at [`MAX_SEARCH_DEPTH`] and deeper input is refused with
//! BAD instead of exhausting the stack.

use super::datetime::date;
use super::items::{SearchKey, SearchReturn};
use super::primitives::{
    PResult, ascii_string, atom, atom_upper, fail, keyword, mismatch, number, number64, paren_list,
    sp,
};
use super::sequence::sequence_set;
use super::strings::{astring_lossy, quoted};
use super::types::CommandBody;

/// How deeply `NOT`, `OR` and parentheses may nest.
pub const MAX_SEARCH_DEPTH: usize = 32;

/// `search = "SEARCH" [search-return-opts] SP search-program`
///
/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`,
/// `charset = atom / quoted` (RFC 9051 §9). `RETURN` is also accepted after
/// `CHARSET`, as some clients send it there.
pub(crate) fn search(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (mut i, ()) = sp(i)?;
    let mut ret = None;
    let mut charset = None;
    loop {
        if ret.is_none()
            && let Ok((rest, ())) = keyword("RETURN")(i)
        {
            let (rest, ()) = sp(rest)?;
            let (rest, opts) = search_return_opts(rest)?;
            let (rest, ()) = sp(rest)?;
            ret = Some(opts);
            i = rest;
            continue;
        }
        if charset.is_none()
            && let Ok((rest, ())) = keyword("CHARSET")(i)
        {
            let (rest, ()) = sp(rest)?;
            let (rest, cs) = match rest.first() {
                Some(b'"') => quoted(rest)?,
                _ => atom(rest).map(|(r, a)| (r, a.to_vec()))?,
            };
            let (rest, ()) = sp(rest)?;
            charset = Some(String::from_utf8_lossy(&cs).into_owned());
            i = rest;
            continue;
        }
        break;
    }
    let (i, criteria) = search_keys(i)?;
    Ok((
        i,
        CommandBody::Search {
            uid,
            charset,
            criteria,
            ret,
        },
    ))
}

/// `1*(SP search-key)` after the first SP: several keys are folded into `And`.
pub(crate) fn search_keys(i: &[u8]) -> PResult<'_, SearchKey> {
    let (mut i, first) = search_key(i, 1)?;
    let mut keys = vec![first];
    while let Some(after) = i.strip_prefix(b" ") {
        let (rest, k) = search_key(after, 1)?;
        keys.push(k);
        i = rest;
    }
    Ok((
        i,
        if keys.len() == 1 {
            keys.swap_remove(0)
        } else {
            SearchKey::And(keys)
        },
    ))
}

/// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`,
/// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"` (RFC 4731 §7, RFC 5182 §4),
/// `=/ "UPDATE" / "CONTEXT"` (RFC 5267 §6), `=/ "PARTIAL" SP partial-range`,
/// `partial-range = nz-number ":" nz-number` (RFC 5267 §4.4). Unknown
/// options are refused (RFC 4466 §2.6: BAD).
pub(crate) fn search_return_opts(i: &[u8]) -> PResult<'_, Vec<SearchReturn>> {
    use SearchReturn as R;
    paren_list(i, true, |o| {
        let (o, name) = atom_upper(o)?;
        let opt = match name.as_str() {
            "MIN" => R::Min,
            "MAX" => R::Max,
            "ALL" => R::All,
            "COUNT" => R::Count,
            "SAVE" => R::Save,
            "UPDATE" => R::Update,
            "CONTEXT" => R::Context,
            "PARTIAL" => {
                let (o, ()) = sp(o)?;
                let (o, a) = number(o)?;
                let Some(o) = o.strip_prefix(b":") else {
                    return fail(o, "PARTIAL needs a range lo:hi");
                };
                let (o, b) = number(o)?;
                if a == 0 || b == 0 {
                    return fail(o, "PARTIAL positions start at 1");
                }
                return Ok((o, R::Partial(a.min(b), a.max(b))));
            }
            _ => return fail(o, "Unknown SEARCH RETURN option"),
        };
        Ok((o, opt))
    })
}

/// `search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
/// "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword /
/// "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" / "SINCE" SP date / "SUBJECT" SP astring /
/// "TEXT" SP astring / "TO" SP astring / "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
/// "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" / "HEADER" SP header-fld-name SP astring /
/// "LARGER" SP number64 / "NOT" SP search-key / "OR" SP search-key SP search-key /
/// "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date / "SMALLER" SP number64 /
/// "UID" SP sequence-set / "UNDRAFT" / sequence-set / "(" search-key *(SP search-key) ")"`
///
/// (RFC 9051 §9; NEW, OLD, RECENT from RFC 3501 §9), and
/// `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer` (RFC 7162 §7).
pub(crate) fn search_key(i: &[u8], depth: usize) -> PResult<'_, SearchKey> {
    use SearchKey as K;
    if depth > MAX_SEARCH_DEPTH {
        return fail(i, "SEARCH criteria nested too deeply");
    }
    match i.first() {
        Some(b'(') => {
            let (rest, mut keys) = paren_list(i, false, |i| search_key(i, depth + 1))?;
            let key = if keys.len() == 1 {
                keys.swap_remove(0)
            } else {
                K::And(keys)
            };
            return Ok((rest, key));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            return sequence_set(i).map(|(rest, s)| (rest, K::SequenceSet(s)));
        }
        _ => {}
    }
    let (rest, word) = atom(i)?;
    let word = ascii_string(word).to_ascii_uppercase();
    let simple = match word.as_str() {
        "ALL" => Some(K::All),
        "ANSWERED" => Some(K::Answered),
        "DELETED" => Some(K::Deleted),
        "DRAFT" => Some(K::Draft),
        "FLAGGED" => Some(K::Flagged),
        "NEW" => Some(K::New),
        "OLD" => Some(K::Old),
        "RECENT" => Some(K::Recent),
        "SEEN" => Some(K::Seen),
        "UNANSWERED" => Some(K::Unanswered),
        "UNDELETED" => Some(K::Undeleted),
        "UNDRAFT" => Some(K::Undraft),
        "UNFLAGGED" => Some(K::Unflagged),
        "UNSEEN" => Some(K::Unseen),
        "SAVEDATESUPPORTED" => Some(K::SaveDateSupported),
        _ => None,
    };
    if let Some(key) = simple {
        return Ok((rest, key));
    }
    let (rest, ()) = match sp(rest) {
        Ok(v) => v,
        Err(_) if !is_key_with_argument(&word) => return fail(i, "Unknown SEARCH key"),
        Err(e) => return Err(e),
    };
    let text = |ctor: fn(String) -> SearchKey| astring_lossy(rest).map(|(r, s)| (r, ctor(s)));
    let day = |ctor: fn(super::datetime::Date) -> SearchKey| date(rest).map(|(r, d)| (r, ctor(d)));
    let size = |ctor: fn(u32) -> SearchKey| {
        number64(rest).map(|(r, n)| (r, ctor(u32::try_from(n).unwrap_or(u32::MAX))))
    };
    let kw = |ctor: fn(String) -> SearchKey| atom(rest).map(|(r, a)| (r, ctor(ascii_string(a))));
    match word.as_str() {
        "BCC" => text(K::Bcc),
        "BODY" => text(K::Body),
        "CC" => text(K::Cc),
        "FROM" => text(K::From),
        "SUBJECT" => text(K::Subject),
        "TEXT" => text(K::Text),
        "TO" => text(K::To),
        "KEYWORD" => kw(K::Keyword),
        "UNKEYWORD" => kw(K::Unkeyword),
        "BEFORE" => day(K::Before),
        "ON" => day(K::On),
        "SINCE" => day(K::Since),
        "SENTBEFORE" => day(K::SentBefore),
        "SENTON" => day(K::SentOn),
        "SENTSINCE" => day(K::SentSince),
        "SAVEDBEFORE" => day(K::SavedBefore),
        "SAVEDON" => day(K::SavedOn),
        "SAVEDSINCE" => day(K::SavedSince),
        "OLDER" => number(rest).map(|(r, n)| (r, K::Older(n))),
        "YOUNGER" => number(rest).map(|(r, n)| (r, K::Younger(n))),
        "EMAILID" => atom(rest).map(|(r, a)| (r, K::EmailId(ascii_string(a)))),
        "THREADID" => atom(rest).map(|(r, a)| (r, K::ThreadId(ascii_string(a)))),
        "LARGER" => size(K::Larger),
        "SMALLER" => size(K::Smaller),
        "UID" => sequence_set(rest).map(|(r, s)| (r, K::Uid(s))),
        "HEADER" => {
            let (r, name) = astring_lossy(rest)?;
            let (r, ()) = sp(r)?;
            let (r, value) = astring_lossy(r)?;
            Ok((r, K::Header(name, value)))
        }
        "NOT" => search_key(rest, depth + 1).map(|(r, k)| (r, K::Not(Box::new(k)))),
        "OR" => {
            let (r, a) = search_key(rest, depth + 1)?;
            let (r, ()) = sp(r)?;
            let (r, b) = search_key(r, depth + 1)?;
            Ok((r, K::Or(Box::new(a), Box::new(b))))
        }
        "MODSEQ" => modseq(rest),
        _ => mismatch(i),
    }
}

/// Whether a key name takes an argument (so a missing SP is a syntax error,
/// not an unknown key).
fn is_key_with_argument(word: &str) -> bool {
    matches!(
        word,
        "BCC"
            | "BODY"
            | "CC"
            | "FROM"
            | "SUBJECT"
            | "TEXT"
            | "TO"
            | "KEYWORD"
            | "UNKEYWORD"
            | "BEFORE"
            | "ON"
            | "SINCE"
            | "SENTBEFORE"
            | "SENTON"
            | "SENTSINCE"
            | "SAVEDBEFORE"
            | "SAVEDON"
            | "SAVEDSINCE"
            | "OLDER"
            | "YOUNGER"
            | "EMAILID"
            | "THREADID"
            | "LARGER"
            | "SMALLER"
            | "UID"
            | "HEADER"
            | "NOT"
            | "OR"
            | "MODSEQ"
    )
}

/// The rest of `search-modsequence` after `"MODSEQ" SP`:
/// `[search-modseq-ext SP] mod-sequence-valzer`, where
/// `search-modseq-ext = SP entry-name SP entry-type-req` (RFC 7162 §7).
/// The entry name and type are read and ignored.
fn modseq(i: &[u8]) -> PResult<'_, SearchKey> {
    let i = if i.starts_with(b"\"") {
        let (r, _entry) = quoted(i)?;
        let (r, ()) = sp(r)?;
        let (r, _type) = atom(r)?;
        let (r, ()) = sp(r)?;
        r
    } else {
        i
    };
    let (rest, n) = number64(i)?;
    Ok((rest, SearchKey::ModSeq(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::datetime::Date;

    fn key(s: &str) -> SearchKey {
        let (rest, k) = search_key(s.as_bytes(), 1).unwrap();
        assert!(rest.is_empty(), "{s}: {rest:?}");
        k
    }

    #[test]
    fn keys() {
        use SearchKey as K;
        assert_eq!(key("unseen"), K::Unseen);
        assert_eq!(key("FROM \"Smith\""), K::From("Smith".into()));
        assert_eq!(
            key("HEADER X-Foo {3}\r\nbar"),
            K::Header("X-Foo".into(), "bar".into())
        );
        assert_eq!(
            key("SINCE 1-Feb-1994"),
            K::Since(Date {
                year: 1994,
                month: 2,
                day: 1
            })
        );
        assert_eq!(key("LARGER 99999999999"), K::Larger(u32::MAX));
        assert_eq!(key("KEYWORD $Junk"), K::Keyword("$Junk".into()));
        assert_eq!(
            key("MODSEQ \"/flags/\\\\draft\" all 620162338"),
            K::ModSeq(620_162_338)
        );
        assert_eq!(key("MODSEQ 0"), K::ModSeq(0));
        assert_eq!(
            key("OR (SEEN FLAGGED) NOT 1:*"),
            K::Or(
                Box::new(K::And(vec![K::Seen, K::Flagged])),
                Box::new(K::Not(Box::new(K::SequenceSet(
                    super::super::sequence::sequence_set(b"1:*").unwrap().1
                ))))
            )
        );
        assert_eq!(key("(DELETED)"), K::Deleted);
    }

    #[test]
    fn depth_is_bounded() {
        let ok = format!("{}ALL", "NOT ".repeat(MAX_SEARCH_DEPTH - 1));
        assert!(search_key(ok.as_bytes(), 1).is_ok());
        let deep = format!("{}ALL", "NOT ".repeat(MAX_SEARCH_DEPTH));
        let err = search_key(deep.as_bytes(), 1).unwrap_err();
        assert!(matches!(err, nom::Err::Failure(e) if e.message.is_some()));
        let parens = format!("{}ALL{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(search_key(parens.as_bytes(), 1).is_err());
    }

    #[test]
    fn bad_keys() {
        for s in [
            "FOO",
            "FROM",
            "BEFORE 1-Foo-2000",
            "OR ALL",
            "()",
            "UID x",
            "NOT",
        ] {
            let r = search_key(s.as_bytes(), 1);
            assert!(r.is_err() || !r.unwrap().0.is_empty(), "{s}");
        }
    }
}
