//! FETCH (RFC 9051 §6.4.5): data items, body sections, partial ranges, the
//! ALL/FAST/FULL macros, and the CONDSTORE/QRESYNC modifiers (RFC 7162).

use nom::bytes::complete::{tag, take_while1};

use super::items::{FetchAttr, Section, SectionText};
use super::primitives::{
    PResult, ascii_string, fail, keyword, mismatch, number, number64, nz_number, paren_list, sp,
};
use super::sequence::sequence_set;
use super::strings::astring_utf8;
use super::types::CommandBody;

/// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`
///
/// (RFC 9051 §6.4.5, §9; `fetch-modifiers` from RFC 7162 §7 and RFC 4466 §2.4).
/// `VANISHED` is refused unless the command is `UID FETCH` with
/// `CHANGEDSINCE` (RFC 7162 §3.2.6).
pub(crate) fn fetch(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, set) = sequence_set(i)?;
    let (i, ()) = sp(i)?;
    let (i, items) = fetch_items(i)?;
    let (i, (changed_since, vanished)) = match i.strip_prefix(b" (") {
        Some(_) => fetch_modifiers(&i[1..])?,
        None => (i, (None, false)),
    };
    if vanished && (!uid || changed_since.is_none()) {
        return fail(i, "VANISHED requires UID FETCH with CHANGEDSINCE");
    }
    Ok((
        i,
        CommandBody::Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        },
    ))
}

/// The item list: a macro, one `fetch-att`, or a parenthesized list.
/// Macros expand as RFC 3501 §6.4.5 defines them.
fn fetch_items(i: &[u8]) -> PResult<'_, Vec<FetchAttr>> {
    use FetchAttr as F;
    if i.starts_with(b"(") {
        return paren_list(i, false, fetch_att);
    }
    if let Ok((rest, ())) = keyword("ALL")(i) {
        return Ok((
            rest,
            vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope],
        ));
    }
    if let Ok((rest, ())) = keyword("FAST")(i) {
        return Ok((rest, vec![F::Flags, F::InternalDate, F::Rfc822Size]));
    }
    if let Ok((rest, ())) = keyword("FULL")(i) {
        return Ok((
            rest,
            vec![
                F::Flags,
                F::InternalDate,
                F::Rfc822Size,
                F::Envelope,
                F::Body,
            ],
        ));
    }
    let (rest, att) = fetch_att(i)?;
    Ok((rest, vec![att]))
}

/// `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
/// "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
/// "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary`
///
/// (RFC 9051 §9; RFC 3501 §9 for the RFC822 forms), plus `"MODSEQ"` (RFC 7162 §7),
/// `"PREVIEW"` (RFC 8970), `"SAVEDATE"` (RFC 8514), `"EMAILID"` and `"THREADID"` (RFC 8474).
pub(crate) fn fetch_att(i: &[u8]) -> PResult<'_, FetchAttr> {
    use FetchAttr as F;
    let (rest, name) = take_while1(|c: u8| c.is_ascii_alphanumeric() || c == b'.')(i)?;
    let name = ascii_string(name).to_ascii_uppercase();
    let bracket = rest.starts_with(b"[");
    let simple = match name.as_str() {
        "ENVELOPE" => Some(F::Envelope),
        "FLAGS" => Some(F::Flags),
        "INTERNALDATE" => Some(F::InternalDate),
        "RFC822" => Some(F::Rfc822),
        "RFC822.HEADER" => Some(F::Rfc822Header),
        "RFC822.SIZE" => Some(F::Rfc822Size),
        "RFC822.TEXT" => Some(F::Rfc822Text),
        "BODYSTRUCTURE" => Some(F::BodyStructure),
        "UID" => Some(F::Uid),
        "MODSEQ" => Some(F::ModSeq),
        "SAVEDATE" => Some(F::SaveDate),
        "EMAILID" => Some(F::EmailId),
        "THREADID" => Some(F::ThreadId),
        "BODY" if !bracket => Some(F::Body),
        _ => None,
    };
    if let Some(att) = simple {
        return Ok((rest, att));
    }
    if name == "PREVIEW" {
        // `"PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]`,
        // `preview-mod = "LAZY"` (RFC 8970 §6).
        if let Some(after) = rest.strip_prefix(b" (")
            && let Ok((after, ())) = keyword("LAZY")(after)
        {
            let Some(after) = after.strip_prefix(b")") else {
                return fail(after, "Unknown PREVIEW modifier");
            };
            return Ok((after, F::Preview { lazy: true }));
        }
        return Ok((rest, F::Preview { lazy: false }));
    }
    match name.as_str() {
        "BODY" | "BODY.PEEK" => {
            let (rest, section) = section(rest)?;
            let (rest, partial) = opt_partial(rest)?;
            Ok((
                rest,
                F::BodySection {
                    peek: name == "BODY.PEEK",
                    section,
                    partial,
                },
            ))
        }
        "BINARY" | "BINARY.PEEK" => {
            let (rest, part) = section_binary(rest)?;
            let (rest, partial) = opt_partial(rest)?;
            Ok((
                rest,
                F::Binary {
                    peek: name == "BINARY.PEEK",
                    part,
                    partial,
                },
            ))
        }
        "BINARY.SIZE" => {
            let (rest, part) = section_binary(rest)?;
            Ok((rest, F::BinarySize { part }))
        }
        _ => fail(i, "Unknown FETCH attribute"),
    }
}

/// Parses the text of a section specifier without brackets (`1.MIME`,
/// `HEADER.FIELDS (Subject)`, `` for the whole message), as IMAP URLs
/// carry it (RFC 5092 §3: `enc-section`).
pub fn parse_section(text: &str) -> Option<Section> {
    let bracketed = format!("[{text}]");
    match section(bracketed.as_bytes()) {
        Ok((b"", s)) => Some(s),
        _ => None,
    }
}

/// `section = "[" [section-spec] "]"` (RFC 9051 §9).
pub(crate) fn section(i: &[u8]) -> PResult<'_, Section> {
    let (i, _) = tag("[")(i)?;
    if let Some(rest) = i.strip_prefix(b"]") {
        return Ok((rest, Section::default()));
    }
    let (i, sec) = section_spec(i)?;
    let (i, _) = tag("]")(i)?;
    Ok((i, sec))
}

/// `section-spec = section-msgtext / (section-part ["." section-text])`
///
/// `section-text = section-msgtext / "MIME"` (RFC 9051 §9).
fn section_spec(i: &[u8]) -> PResult<'_, Section> {
    if !i.first().is_some_and(u8::is_ascii_digit) {
        let (rest, text) = section_msgtext(i, false)?;
        return Ok((
            rest,
            Section {
                part: Vec::new(),
                text: Some(text),
            },
        ));
    }
    let (rest, part) = section_part(i)?;
    match rest.strip_prefix(b".") {
        Some(after) => {
            let (rest, text) = section_msgtext(after, true)?;
            Ok((
                rest,
                Section {
                    part,
                    text: Some(text),
                },
            ))
        }
        None => Ok((rest, Section { part, text: None })),
    }
}

/// `section-part = nz-number *("." nz-number)` (RFC 9051 §9). Stops before a
/// `.` that is followed by section text.
fn section_part(i: &[u8]) -> PResult<'_, Vec<u32>> {
    let (mut rest, first) = nz_number(i)?;
    let mut part = vec![first];
    while let [b'.', d, ..] = rest {
        if !d.is_ascii_digit() {
            break;
        }
        let (r, n) = nz_number(&rest[1..])?;
        part.push(n);
        rest = r;
    }
    Ok((rest, part))
}

/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`
///
/// and, when `after_part`, `"MIME"` (RFC 9051 §9).
fn section_msgtext(i: &[u8], after_part: bool) -> PResult<'_, SectionText> {
    let (rest, word) = take_while1(|c: u8| c.is_ascii_alphabetic() || c == b'.')(i)?;
    match ascii_string(word).to_ascii_uppercase().as_str() {
        "HEADER" => Ok((rest, SectionText::Header)),
        "TEXT" => Ok((rest, SectionText::Text)),
        "MIME" if after_part => Ok((rest, SectionText::Mime)),
        f @ ("HEADER.FIELDS" | "HEADER.FIELDS.NOT") => {
            let not = f.ends_with(".NOT");
            let (rest, ()) = sp(rest)?;
            let (rest, fields) = header_list(rest)?;
            Ok((rest, SectionText::HeaderFields { not, fields }))
        }
        _ => fail(i, "Invalid section"),
    }
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`,
/// `header-fld-name = astring` (RFC 9051 §9).
fn header_list(i: &[u8]) -> PResult<'_, Vec<String>> {
    paren_list(i, false, astring_utf8)
}

/// `section-binary = "[" [section-part] "]"` (RFC 9051 §9, RFC 3516 §4.2).
fn section_binary(i: &[u8]) -> PResult<'_, Vec<u32>> {
    let (i, _) = tag("[")(i)?;
    if let Some(rest) = i.strip_prefix(b"]") {
        return Ok((rest, Vec::new()));
    }
    let (i, part) = section_part(i)?;
    let (i, _) = tag("]")(i)?;
    Ok((i, part))
}

/// `partial = "<" number64 "." nz-number64 ">"` (RFC 9051 §9); origin and
/// count limited to 32 bits here.
fn opt_partial(i: &[u8]) -> PResult<'_, Option<(u32, u32)>> {
    let Some(after) = i.strip_prefix(b"<") else {
        return Ok((i, None));
    };
    let (after, origin) = number(after)?;
    let (after, _) = tag(".")(after)?;
    let (after, count) = nz_number(after)?;
    let (after, _) = tag(">")(after)?;
    Ok((after, Some((origin, count))))
}

/// `fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"`
///
/// `fetch-modifier =/ chgsince-fetch-mod / "VANISHED"`,
/// `chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value` (RFC 7162 §7).
/// Zero is accepted for `CHANGEDSINCE`, meaning "everything".
fn fetch_modifiers(i: &[u8]) -> PResult<'_, (Option<u64>, bool)> {
    let mut changed_since = None;
    let mut vanished = false;
    let (rest, _) = paren_list(i, false, |i| {
        if let Ok((rest, ())) = keyword("VANISHED")(i) {
            vanished = true;
            return Ok((rest, ()));
        }
        if let Ok((rest, ())) = keyword("CHANGEDSINCE")(i) {
            let (rest, ()) = sp(rest)?;
            let (rest, n) = number64(rest)?;
            changed_since = Some(n);
            return Ok((rest, ()));
        }
        if i.first().is_some_and(u8::is_ascii_alphabetic) {
            return fail(i, "Unknown FETCH modifier");
        }
        mismatch(i)
    })?;
    Ok((rest, (changed_since, vanished)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(s: &str) -> FetchAttr {
        let (rest, a) = fetch_att(s.as_bytes()).unwrap();
        assert!(rest.is_empty(), "{s}");
        a
    }

    #[test]
    fn sections() {
        let sec = |part: Vec<u32>, text| FetchAttr::BodySection {
            peek: false,
            section: Section { part, text },
            partial: None,
        };
        assert_eq!(att("BODY[]"), sec(vec![], None));
        assert_eq!(att("body[1.2.3]"), sec(vec![1, 2, 3], None));
        assert_eq!(att("BODY[1.MIME]"), sec(vec![1], Some(SectionText::Mime)));
        assert_eq!(
            att("BODY[2.HEADER]"),
            sec(vec![2], Some(SectionText::Header))
        );
        assert_eq!(att("BODY[TEXT]"), sec(vec![], Some(SectionText::Text)));
        assert_eq!(
            att("BODY.PEEK[HEADER.FIELDS.NOT (Date \"X-Y\")]<0.2048>"),
            FetchAttr::BodySection {
                peek: true,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields {
                        not: true,
                        fields: vec!["Date".into(), "X-Y".into()]
                    })
                },
                partial: Some((0, 2048)),
            }
        );
        assert_eq!(
            att("BINARY.PEEK[1.2]<10.20>"),
            FetchAttr::Binary {
                peek: true,
                part: vec![1, 2],
                partial: Some((10, 20))
            }
        );
        assert_eq!(att("BINARY.SIZE[]"), FetchAttr::BinarySize { part: vec![] });
        assert_eq!(att("BODY"), FetchAttr::Body);
        assert_eq!(att("rfc822.size"), FetchAttr::Rfc822Size);
    }

    #[test]
    fn bad_attributes() {
        for s in [
            "BODY[MIME]",
            "BODY[0]",
            "BODY[1.]",
            "BODY[HEADER.FIELDS ()]",
            "BODY[1",
            "BODY.PEEK",
            "BODY[]<1>",
            "BODY[]<1.0>",
            "BINARY[TEXT]",
            "BINARY.SIZE[]<0.1>",
            "FOO",
            "BODY[X]",
        ] {
            let r = fetch_att(s.as_bytes());
            assert!(r.is_err() || !r.unwrap().0.is_empty(), "{s}");
        }
    }
}
