//! `BODY[section]` extraction (RFC 3501 §6.4.5 / RFC 9051 §6.4.5 `section`).
//!
//! ```text
//! section          = "[" [section-spec] "]"
//! section-spec     = section-msgtext / (section-part ["." section-text])
//! section-msgtext  = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//! section-part     = nz-number *("." nz-number)
//! section-text     = section-msgtext / "MIME"
//! ```
//!
//! Every section is a slice of the raw message, except `HEADER.FIELDS`, which filters
//! the header's fields. Nothing is parsed here.

use std::borrow::Cow;

use super::bodystructure::{Part, PartKind, Span};
use super::header::header_fields;
use super::summary::MessageSummary;

/// The text part of a section specifier, after any part numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`: the header of the (encapsulated) message, blank line included.
    Header,
    /// `HEADER.FIELDS (...)`, or `HEADER.FIELDS.NOT (...)` when `not`.
    HeaderFields {
        /// `HEADER.FIELDS.NOT`: keep the fields *not* named.
        not: bool,
        /// Field names, matched case-insensitively.
        fields: Vec<String>,
    },
    /// `TEXT`: the body of the (encapsulated) message.
    Text,
    /// `MIME`: the MIME header of a numbered part; only valid after part numbers.
    Mime,
}

impl MessageSummary {
    /// The bytes of `BODY[part.text]`. `raw` must be the message this summary was
    /// parsed from.
    ///
    /// - `[]` is the whole message; `[HEADER]`, `[TEXT]`, `[HEADER.FIELDS ...]` refer
    ///   to the top-level message.
    /// - A non-multipart message has exactly one part, `1`, its body. A multipart's
    ///   parts are numbered from 1. For a `message/rfc822` part `n`, `n.1`, ... are the
    ///   parts of the encapsulated message and `n.HEADER` / `n.TEXT` its header and text.
    /// - `[n]` is the part's body without its MIME header (for a multipart, the raw body
    ///   with its boundaries; for message/rfc822, the whole encapsulated message);
    ///   `[n.MIME]` is that MIME header.
    ///
    /// Returns `None` when the part does not exist, for `MIME` without part numbers,
    /// and for `HEADER`/`TEXT` after a part that is not `message/rfc822`.
    pub fn section<'a>(
        &self,
        raw: &'a [u8],
        part: &[u32],
        text: Option<&SectionText>,
    ) -> Option<Cow<'a, [u8]>> {
        if part.is_empty() {
            return match text {
                None => slice(
                    Span {
                        start: 0,
                        end: self.size,
                    },
                    raw,
                ),
                Some(SectionText::Mime) => None,
                Some(text) => message_text(&self.root, raw, text),
            };
        }
        let found = self.part(part)?;
        match (text, &found.kind) {
            (None, _) => slice(found.body, raw),
            (Some(SectionText::Mime), _) => slice(found.header, raw),
            (Some(text), PartKind::Message { root, .. }) => message_text(root, raw, text),
            (Some(_), _) => None,
        }
    }

    /// The part with the given (non-empty) section number, if it exists.
    pub fn part(&self, numbers: &[u32]) -> Option<&Part> {
        let (&first, rest) = numbers.split_first()?;
        let mut current = numbered_child(&self.root, first)?;
        for &n in rest {
            current = match &current.kind {
                PartKind::Multipart(children) => children.get(index(n)?)?,
                PartKind::Message { root, .. } => numbered_child(root, n)?,
                PartKind::Single => return None,
            };
        }
        Some(current)
    }
}

/// Part `n` of a message whose root part is `root`: the root's children when it is a
/// multipart, otherwise the root itself as part 1.
fn numbered_child(root: &Part, n: u32) -> Option<&Part> {
    match &root.kind {
        PartKind::Multipart(children) => children.get(index(n)?),
        _ => (n == 1).then_some(root),
    }
}

fn index(n: u32) -> Option<usize> {
    usize::try_from(n.checked_sub(1)?).ok()
}

/// `HEADER`, `HEADER.FIELDS` or `TEXT` of the message whose root part is `root`.
fn message_text<'a>(root: &Part, raw: &'a [u8], text: &SectionText) -> Option<Cow<'a, [u8]>> {
    match text {
        SectionText::Header => slice(root.header, raw),
        SectionText::Text => slice(root.body, raw),
        SectionText::HeaderFields { not, fields } => Some(Cow::Owned(header_fields(
            root.header.slice(raw)?,
            fields,
            *not,
        ))),
        SectionText::Mime => None,
    }
}

fn slice(span: Span, raw: &[u8]) -> Option<Cow<'_, [u8]>> {
    span.slice(raw).map(Cow::Borrowed)
}
