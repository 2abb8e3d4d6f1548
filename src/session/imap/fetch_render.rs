//! Rendering FETCH data items (RFC 9051 §7.5.2) for one message from what
//! delivery stored: the record (flags, dates, size, MODSEQ), the summary
//! (ENVELOPE, BODYSTRUCTURE, part offsets), the search index (PREVIEW,
//! THREADID) and, only when a body section is asked for, the raw bytes.
//! Nothing is re-parsed. Pure: no store, no session.

use std::borrow::Cow;
use std::io::Write as _;

use super::response::write_flag_list;
use crate::message::decode::{UnknownEncoding, transfer_decode};
use crate::message::{MessageSummary, SearchIndex, SectionText as MsgSection};
use crate::proto::imap::{FetchAttr, Section, SectionText};
use crate::store::MessageRecord;

/// What a FETCH needs loaded per message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// The parse summary.
    pub summary: bool,
    /// The raw message.
    pub body: bool,
    /// The search index.
    pub index: bool,
    /// A non-PEEK body item: `\Seen` is set.
    pub sets_seen: bool,
}

/// What `items` need.
pub fn needs(items: &[FetchAttr]) -> Needs {
    let mut n = Needs::default();
    for item in items {
        match item {
            FetchAttr::Envelope | FetchAttr::BodyStructure | FetchAttr::Body => n.summary = true,
            FetchAttr::BodySection { peek, section, .. } => {
                n.body = true;
                n.summary |= !section.part.is_empty() || section.text.is_some();
                n.sets_seen |= !peek;
            }
            FetchAttr::Binary { peek, part, .. } => {
                n.body = true;
                n.summary |= !part.is_empty();
                n.sets_seen |= !peek;
            }
            FetchAttr::BinarySize { part } => {
                n.body = true;
                n.summary |= !part.is_empty();
            }
            FetchAttr::Rfc822 | FetchAttr::Rfc822Text => {
                n.body = true;
                n.summary = true;
                n.sets_seen = true;
            }
            FetchAttr::Rfc822Header => {
                n.body = true;
                n.summary = true;
            }
            FetchAttr::Preview { .. } | FetchAttr::ThreadId => n.index = true,
            _ => {}
        }
    }
    n
}

/// One message's loaded data.
pub struct Loaded<'a> {
    /// Its UID.
    pub uid: u32,
    /// Its record.
    pub record: &'a MessageRecord,
    /// Loaded when [`Needs::summary`].
    pub summary: Option<&'a MessageSummary>,
    /// Loaded when [`Needs::body`].
    pub body: Option<&'a [u8]>,
    /// Loaded when [`Needs::index`].
    pub index: Option<&'a SearchIndex>,
    /// `\Recent` to this session (and IMAP4rev1).
    pub recent: bool,
}

/// Checks the BINARY items can be answered (RFC 3516 §4.3: a part whose
/// transfer encoding is unknown is `NO [UNKNOWN-CTE]`).
pub fn check_binary(items: &[FetchAttr], m: &Loaded<'_>) -> Result<(), UnknownEncoding> {
    for item in items {
        if let FetchAttr::Binary { part, .. } | FetchAttr::BinarySize { part } = item {
            binary_data(m, part)?;
        }
    }
    Ok(())
}

/// Writes one item (`NAME value`).
pub fn write_item(out: &mut Vec<u8>, item: &FetchAttr, m: &Loaded<'_>) {
    match item {
        FetchAttr::Uid => {
            let _ = write!(out, "UID {}", m.uid);
        }
        FetchAttr::Flags => {
            out.extend_from_slice(b"FLAGS ");
            write_flag_list(out, &m.record.flags, m.recent);
        }
        FetchAttr::InternalDate => {
            let _ = write!(
                out,
                "INTERNALDATE \"{}\"",
                crate::time::imap_internal_date(m.record.internal_date, 0)
            );
        }
        FetchAttr::Rfc822Size => {
            let _ = write!(out, "RFC822.SIZE {}", m.record.size);
        }
        FetchAttr::ModSeq => {
            let _ = write!(out, "MODSEQ ({})", m.record.modseq);
        }
        FetchAttr::SaveDate => {
            let _ = write!(
                out,
                "SAVEDATE \"{}\"",
                crate::time::imap_internal_date(m.record.saved, 0)
            );
        }
        FetchAttr::EmailId => {
            let _ = write!(out, "EMAILID (E{:x})", m.record.body);
        }
        FetchAttr::ThreadId => match m.index.map(|i| i.thread) {
            Some(t) if t != 0 => {
                let _ = write!(out, "THREADID (T{t:x})");
            }
            _ => out.extend_from_slice(b"THREADID NIL"),
        },
        FetchAttr::Preview { .. } => {
            out.extend_from_slice(b"PREVIEW ");
            let text = m.index.map(|i| i.preview.as_bytes()).unwrap_or_default();
            crate::proto::imap::encode::nstring(out, Some(text));
        }
        FetchAttr::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            summary(m).write_envelope(out);
        }
        FetchAttr::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            summary(m).write_body_structure(out, true);
        }
        FetchAttr::Body => {
            out.extend_from_slice(b"BODY ");
            summary(m).write_body_structure(out, false);
        }
        FetchAttr::BodySection {
            section, partial, ..
        } => {
            let _ = write!(out, "BODY[{}]", section_spec(section));
            let data = section_data(m.body.unwrap_or_default(), m.summary, section);
            write_partial(out, &data, *partial, false);
        }
        FetchAttr::Binary { part, partial, .. } => {
            let _ = write!(out, "BINARY[{}]", part_spec(part));
            let data = binary_data(m, part).unwrap_or_default();
            write_partial(out, &data, *partial, true);
        }
        FetchAttr::BinarySize { part } => {
            let size = binary_data(m, part).map(|d| d.len()).unwrap_or(0);
            let _ = write!(out, "BINARY.SIZE[{}] {size}", part_spec(part));
        }
        FetchAttr::Rfc822 => {
            out.extend_from_slice(b"RFC822 ");
            literal(out, m.body.unwrap_or_default(), false);
        }
        FetchAttr::Rfc822Header => {
            out.extend_from_slice(b"RFC822.HEADER ");
            let header = Section {
                part: Vec::new(),
                text: Some(SectionText::Header),
            };
            literal(
                out,
                &section_data(m.body.unwrap_or_default(), m.summary, &header),
                false,
            );
        }
        FetchAttr::Rfc822Text => {
            out.extend_from_slice(b"RFC822.TEXT ");
            let text = Section {
                part: Vec::new(),
                text: Some(SectionText::Text),
            };
            literal(
                out,
                &section_data(m.body.unwrap_or_default(), m.summary, &text),
                false,
            );
        }
    }
}

fn summary<'a>(m: &Loaded<'a>) -> &'a MessageSummary {
    // Invariant: `needs` loads the summary for every item that calls this.
    m.summary.expect("summary loaded for this item")
}

/// The bytes of `BODY[section]`. A part that does not exist is empty (as
/// Dovecot answers), not an error.
pub fn section_data<'a>(
    raw: &'a [u8],
    summary: Option<&MessageSummary>,
    section: &Section,
) -> Cow<'a, [u8]> {
    if section.part.is_empty() && section.text.is_none() {
        return Cow::Borrowed(raw);
    }
    let Some(summary) = summary else {
        return Cow::Borrowed(&[]);
    };
    let text = section.text.as_ref().map(|t| match t {
        SectionText::Header => MsgSection::Header,
        SectionText::HeaderFields { not, fields } => MsgSection::HeaderFields {
            not: *not,
            fields: fields.clone(),
        },
        SectionText::Text => MsgSection::Text,
        SectionText::Mime => MsgSection::Mime,
    });
    summary
        .section(raw, &section.part, text.as_ref())
        .unwrap_or(Cow::Borrowed(&[]))
}

/// `BINARY[part]` (RFC 3516 §4.2): the part's body with its transfer
/// encoding removed; `[]` is the whole message as stored.
fn binary_data<'a>(m: &Loaded<'a>, part: &[u32]) -> Result<Cow<'a, [u8]>, UnknownEncoding> {
    let raw = m.body.unwrap_or_default();
    if part.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    let Some(p) = m.summary.and_then(|s| s.part(part)) else {
        return Ok(Cow::Borrowed(&[]));
    };
    let body = p.body.slice(raw).unwrap_or_default();
    if matches!(p.kind, crate::message::PartKind::Single) {
        transfer_decode(p, body)
    } else {
        Ok(Cow::Borrowed(body))
    }
}

/// The section as echoed in the response: `1.2.HEADER.FIELDS (SUBJECT)`.
pub fn section_spec(section: &Section) -> String {
    let mut s: Vec<String> = section.part.iter().map(u32::to_string).collect();
    if let Some(text) = &section.text {
        s.push(match text {
            SectionText::Header => "HEADER".into(),
            SectionText::Text => "TEXT".into(),
            SectionText::Mime => "MIME".into(),
            SectionText::HeaderFields { not, fields } => {
                let names: Vec<String> = fields.iter().map(|f| f.to_ascii_uppercase()).collect();
                format!(
                    "HEADER.FIELDS{} ({})",
                    if *not { ".NOT" } else { "" },
                    names.join(" ")
                )
            }
        });
    }
    s.join(".")
}

fn part_spec(part: &[u32]) -> String {
    part.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The bytes `<origin.count>` selects (RFC 9051 §6.4.5).
pub fn partial_slice(data: &[u8], partial: Option<(u32, u32)>) -> &[u8] {
    match partial {
        None => data,
        Some((origin, count)) => {
            let start = (origin as usize).min(data.len());
            let end = start.saturating_add(count as usize).min(data.len());
            &data[start..end]
        }
    }
}

/// The value of a body item, with `<origin>` when partial: the response
/// names only the origin (RFC 9051 §7.5.2).
fn write_partial(out: &mut Vec<u8>, data: &[u8], partial: Option<(u32, u32)>, binary: bool) {
    if let Some((origin, _)) = partial {
        let _ = write!(out, "<{origin}>");
    }
    out.push(b' ');
    literal(out, partial_slice(data, partial), binary);
}

/// A literal; `~{n}` (literal8, RFC 3516 §4.3) when BINARY data holds NUL.
fn literal(out: &mut Vec<u8>, data: &[u8], binary: bool) {
    let tilde = if binary && data.contains(&0) { "~" } else { "" };
    let _ = write!(out, "{tilde}{{{}}}\r\n", data.len());
    out.extend_from_slice(data);
}
