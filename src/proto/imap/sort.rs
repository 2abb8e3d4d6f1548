//! SORT and THREAD (RFC 5256), with ESORT / CONTEXT=SORT return options
//! (RFC 5267 §3) and SORT=DISPLAY keys (RFC 5957).

use super::items::{SortCriterion, SortKey, ThreadAlgorithm};
use super::primitives::{PResult, atom, atom_upper, fail, keyword, paren_list, sp};
use super::search::{search_keys, search_return_opts};
use super::strings::quoted;
use super::types::CommandBody;

/// `sort = ["UID" SP] "SORT" [SP sort-return-opts] SP sort-criteria SP search-criteria`,
/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`,
/// `search-criteria = charset 1*(SP search-key)` (RFC 5256 §5, RFC 5267 §3).
pub(crate) fn sort(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (mut i, ()) = sp(i)?;
    let mut ret = None;
    if let Ok((rest, ())) = keyword("RETURN")(i) {
        let (rest, ()) = sp(rest)?;
        let (rest, opts) = search_return_opts(rest)?;
        let (rest, ()) = sp(rest)?;
        ret = Some(opts);
        i = rest;
    }
    let (i, criteria) = paren_list(i, false, sort_criterion)?;
    let (i, ()) = sp(i)?;
    let (i, charset) = charset(i)?;
    let (i, ()) = sp(i)?;
    let (i, search) = search_keys(i)?;
    Ok((
        i,
        CommandBody::Sort {
            uid,
            ret,
            criteria,
            charset,
            search,
        },
    ))
}

/// `sort-criterion = ["REVERSE" SP] sort-key`,
/// `sort-key = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"`
/// (RFC 5256 §5), `=/ "DISPLAYFROM" / "DISPLAYTO"` (RFC 5957 §5).
fn sort_criterion(i: &[u8]) -> PResult<'_, SortCriterion> {
    let (i, reverse) = match keyword("REVERSE")(i) {
        Ok((rest, ())) => (sp(rest)?.0, true),
        Err(_) => (i, false),
    };
    let (rest, name) = atom_upper(i)?;
    let key = match name.as_str() {
        "ARRIVAL" => SortKey::Arrival,
        "CC" => SortKey::Cc,
        "DATE" => SortKey::Date,
        "FROM" => SortKey::From,
        "SIZE" => SortKey::Size,
        "SUBJECT" => SortKey::Subject,
        "TO" => SortKey::To,
        "DISPLAYFROM" => SortKey::DisplayFrom,
        "DISPLAYTO" => SortKey::DisplayTo,
        _ => return fail(i, "Unknown SORT key"),
    };
    Ok((rest, SortCriterion { reverse, key }))
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`,
/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext` (RFC 5256 §5).
pub(crate) fn thread(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (rest, name) = atom_upper(i)?;
    let algorithm = match name.as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        _ => return fail(i, "Unknown THREAD algorithm"),
    };
    let (i, ()) = sp(rest)?;
    let (i, charset) = charset(i)?;
    let (i, ()) = sp(i)?;
    let (i, search) = search_keys(i)?;
    Ok((
        i,
        CommandBody::Thread {
            uid,
            algorithm,
            charset,
            search,
        },
    ))
}

/// `charset = atom / quoted` (RFC 9051 §9).
fn charset(i: &[u8]) -> PResult<'_, String> {
    let (rest, bytes) = match i.first() {
        Some(b'"') => quoted(i)?,
        _ => atom(i).map(|(r, a)| (r, a.to_vec()))?,
    };
    Ok((rest, String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::items::SearchKey;

    #[test]
    fn rfc5256_examples() {
        let (rest, cmd) = sort(b" (DATE) UTF-8 SUBJECT {9}\r\nafternoon", false).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            cmd,
            CommandBody::Sort {
                uid: false,
                ret: None,
                criteria: vec![SortCriterion {
                    reverse: false,
                    key: SortKey::Date
                }],
                charset: "UTF-8".into(),
                search: SearchKey::Subject("afternoon".into()),
            }
        );
        let (_, cmd) = sort(b" (REVERSE DATE SUBJECT) UTF-8 ALL", true).unwrap();
        let CommandBody::Sort { criteria, .. } = cmd else {
            panic!()
        };
        assert_eq!(criteria.len(), 2);
        assert!(criteria[0].reverse && !criteria[1].reverse);
        let (_, cmd) = thread(b" ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", false).unwrap();
        assert!(matches!(
            cmd,
            CommandBody::Thread {
                algorithm: ThreadAlgorithm::OrderedSubject,
                ..
            }
        ));
        assert!(sort(b" () UTF-8 ALL", false).is_err());
        assert!(sort(b" (FOO) UTF-8 ALL", false).is_err());
        assert!(thread(b" XYZ UTF-8 ALL", false).is_err());
    }
}
