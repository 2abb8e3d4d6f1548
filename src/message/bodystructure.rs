//! The MIME part tree and its BODY / BODYSTRUCTURE rendering (RFC 3501 §7.4.2,
//! RFC 9051 §7.5.2).
//!
//! ```text
//! body            = "(" (body-type-1part / body-type-mpart) ")"
//! body-type-1part = (body-type-basic / body-type-msg / body-type-text)
//!                   [SP body-ext-1part]
//! body-type-basic = media-basic SP body-fields
//! body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
//! body-type-text  = media-text SP body-fields SP body-fld-lines
//! body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
//!                   body-fld-enc SP body-fld-octets
//! body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
//! body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//! body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
//! ```
//!
//! BODYSTRUCTURE (`extensible = true`) always sends the full extension data; BODY sends
//! none. The tree depth is capped when it is built (see `walk`), so the recursion
//! here is bounded.

use serde::{Deserialize, Serialize};

use super::envelope::Envelope;
use super::wire::{write_nstring, write_number, write_string};

/// A byte range `start..end` into the raw message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u64,
    /// Offset just past the last byte; never less than `start`.
    pub end: u64,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u64,
            end: end.max(start) as u64,
        }
    }

    /// Length in octets.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of this range in `raw`; `None` if `raw` is not the message the summary
    /// was built from (too short).
    pub fn slice<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.start).ok()?;
        let end = usize::try_from(self.end).ok()?;
        raw.get(start..end)
    }
}

/// `body-fld-dsp`: a Content-Disposition (RFC 2183) with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    /// Disposition type as mail-parser gives it (lower case), e.g. `attachment`.
    pub kind: String,
    /// Parameters as mail-parser gives them (names lower case, RFC 2231 merged).
    pub params: Vec<(String, String)>,
}

/// What a part contains, beyond its own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartKind {
    /// A leaf: `body-type-basic`, or `body-type-text` when the type is TEXT.
    Single,
    /// `message/rfc822` (or `message/global`): the encapsulated message.
    Message {
        /// The encapsulated message's ENVELOPE (all `NIL` when it could not be read).
        envelope: Box<Envelope>,
        /// Its root part; `root.header` is the encapsulated message's header.
        root: Box<Part>,
    },
    /// `multipart/*`: at least one child.
    Multipart(Vec<Part>),
}

/// One MIME part (RFC 2045 §5-8, RFC 2046) with everything BODYSTRUCTURE needs and the
/// byte ranges that `BODY[section]` slices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The part's MIME header, including the blank line that ends it (for the root
    /// part, the message header). `BODY[n.MIME]`.
    pub header: Span,
    /// The body: after the header, up to (not including) the CRLF that precedes the
    /// next boundary delimiter (RFC 2046 §5.1.1). `BODY[n]`; its length is
    /// `body-fld-octets`.
    pub body: Span,
    /// Media type, upper case (`"TEXT"`).
    pub media_type: String,
    /// Media subtype, upper case (`"PLAIN"`).
    pub media_subtype: String,
    /// Content-Type parameters: names upper case, values as mail-parser decoded them
    /// (RFC 2231 continuations merged).
    pub params: Vec<(String, String)>,
    /// `Content-ID`, raw.
    pub id: Option<Vec<u8>>,
    /// `Content-Description`, raw (encoded words kept).
    pub description: Option<Vec<u8>>,
    /// `Content-Transfer-Encoding` token, upper case; `7BIT` when absent.
    pub encoding: Vec<u8>,
    /// `Content-MD5`, raw.
    pub md5: Option<Vec<u8>>,
    /// `Content-Disposition` (RFC 2183).
    pub disposition: Option<Disposition>,
    /// `Content-Language` tags.
    pub language: Vec<Vec<u8>>,
    /// `Content-Location`, raw.
    pub location: Option<Vec<u8>>,
    /// Number of lines in the body (`body-fld-lines`); a final line without a line
    /// break counts. Only sent for TEXT and MESSAGE/RFC822 parts.
    pub lines: u64,
    /// Leaf, encapsulated message, or multipart.
    pub kind: PartKind,
}

impl Part {
    /// Writes the `body` production; `extensible` selects BODYSTRUCTURE over BODY.
    pub fn write(&self, out: &mut Vec<u8>, extensible: bool) {
        out.push(b'(');
        match &self.kind {
            PartKind::Multipart(children) => {
                for child in children {
                    child.write(out, extensible);
                }
                out.push(b' ');
                write_string(out, self.media_subtype.as_bytes());
                if extensible {
                    out.push(b' ');
                    write_params(out, &self.params);
                    self.write_common_ext(out);
                }
            }
            kind => {
                write_string(out, self.media_type.as_bytes());
                out.push(b' ');
                write_string(out, self.media_subtype.as_bytes());
                out.push(b' ');
                write_params(out, &self.params);
                out.push(b' ');
                write_nstring(out, self.id.as_deref());
                out.push(b' ');
                write_nstring(out, self.description.as_deref());
                out.push(b' ');
                write_string(out, &self.encoding);
                out.push(b' ');
                write_number(out, self.body.len());
                if let PartKind::Message { envelope, root } = kind {
                    out.push(b' ');
                    envelope.write(out);
                    out.push(b' ');
                    root.write(out, extensible);
                    out.push(b' ');
                    write_number(out, self.lines);
                } else if self.media_type == "TEXT" {
                    out.push(b' ');
                    write_number(out, self.lines);
                }
                if extensible {
                    out.push(b' ');
                    write_nstring(out, self.md5.as_deref());
                    self.write_common_ext(out);
                }
            }
        }
        out.push(b')');
    }

    /// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`, shared by both extensions.
    fn write_common_ext(&self, out: &mut Vec<u8>) {
        out.push(b' ');
        match &self.disposition {
            Some(d) => {
                out.push(b'(');
                write_string(out, d.kind.as_bytes());
                out.push(b' ');
                write_params(out, &d.params);
                out.push(b')');
            }
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        if self.language.is_empty() {
            out.extend_from_slice(b"NIL");
        } else {
            out.push(b'(');
            for (i, tag) in self.language.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_string(out, tag);
            }
            out.push(b')');
        }
        out.push(b' ');
        write_nstring(out, self.location.as_deref());
    }
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn write_params(out: &mut Vec<u8>, params: &[(String, String)]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_string(out, name.as_bytes());
        out.push(b' ');
        write_string(out, value.as_bytes());
    }
    out.push(b')');
}
