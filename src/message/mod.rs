//! The stored form of a message: parsed once at delivery or APPEND, rendered by FETCH.
//!
//! [`MessageSummary::parse`] runs when a message enters the store. It records the
//! ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2), the MIME part tree with everything
//! BODY and BODYSTRUCTURE report (RFC 2045-2047, RFC 2231 parameters), and the byte
//! range of every part's header and body. FETCH never parses again: ENVELOPE, BODY and
//! BODYSTRUCTURE are rendered from the summary, and `BODY[section]`
//! (RFC 3501 §6.4.5 / RFC 9051 §6.4.5) is a slice of the raw message.
//!
//! Input is attacker controlled and fuzzed: parsing never fails or panics, nesting is
//! capped at [`MAX_DEPTH`] containers and [`MAX_PARTS`] parts, and nothing recurses
//! deeper than that cap. Header field values are parsed with mail-parser 0.11
//! (Content-Type and Content-Disposition parameters, Date); why the MIME walk itself
//! is done here is explained in `walk.rs`.
//!
//! Layout: `summary` (the stored type), `envelope` and `address` (ENVELOPE),
//! `bodystructure` (the part tree and its rendering), `walk` (building the tree),
//! `mime` (a part's Content-* fields),
//! `section` (`BODY[section]`), `header` (field splitting, `HEADER.FIELDS`),
//! `wire` (IMAP strings).

mod address;
mod binary;
mod bodystructure;
pub mod decode;
mod envelope;
mod header;
mod index;
mod mime;
mod section;
mod summary;
pub mod thread;
mod walk;
mod wire;

#[cfg(test)]
mod tests;

pub use address::Address;
pub use bodystructure::{Disposition, Part, PartKind, Span};
pub use envelope::Envelope;
pub use header::header_fields;
pub use index::{HeaderPart, HeaderText, PREVIEW_CHARS, SearchIndex, body_text, header_text};

/// Everything computed from a message when it is stored: the summary
/// FETCH renders from, and the index and body text SEARCH reads. The one
/// place a new message is parsed.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// ENVELOPE, BODYSTRUCTURE, part offsets.
    pub summary: MessageSummary,
    /// Sort and thread keys, preview.
    pub index: SearchIndex,
    /// The lower-cased, decoded header lines header keys search.
    pub headers: HeaderText,
    /// The lower-cased body text.
    pub text: String,
}

impl Parsed {
    /// Prepares a message for storing: parts holding NUL bytes are
    /// re-encoded in base64 (see `binary.rs`), then the message is parsed.
    /// Returns the bytes to store and their parse.
    pub fn prepare(raw: Vec<u8>) -> (Vec<u8>, Parsed) {
        let summary = MessageSummary::parse(&raw);
        let raw = match binary::without_nul(&raw, &summary) {
            Some(converted) => converted,
            None => {
                let (index, headers) = SearchIndex::build_with_headers(&raw, &summary);
                let text = body_text(&raw, &summary);
                return (
                    raw,
                    Parsed {
                        summary,
                        index,
                        headers,
                        text,
                    },
                );
            }
        };
        let parsed = Parsed::of(&raw);
        (raw, parsed)
    }

    /// Parses `raw` once for everything the store keeps about it.
    pub fn of(raw: &[u8]) -> Parsed {
        let summary = MessageSummary::parse(raw);
        let (index, headers) = SearchIndex::build_with_headers(raw, &summary);
        let text = body_text(raw, &summary);
        Parsed {
            summary,
            index,
            headers,
            text,
        }
    }
}
pub use section::SectionText;
pub use summary::MessageSummary;
pub use walk::{DEPTH_CEILING, MAX_ADDRESSES, MAX_DEPTH, MAX_PARTS, PARTS_CEILING, set_limits};
