//! [`MessageSummary`]: everything FETCH needs, computed once at delivery or APPEND.
//!
//! RFC 3501 §7.4.2 / RFC 9051 §7.5.2 define ENVELOPE, BODY and BODYSTRUCTURE as
//! functions of the message; computing them means parsing the MIME structure, which is
//! too slow to redo on every FETCH of a large mailbox. The summary is stored next to
//! the raw message (serialized with postcard, so serde attributes are plain: no
//! untagged enums, no skipped or flattened fields) and FETCH renders from it, slicing
//! the raw bytes for `BODY[section]`.

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;
use serde::{Deserialize, Serialize};

use super::bodystructure::Part;
use super::envelope::Envelope;
use super::header::Fields;
use super::walk::Walker;

/// The parsed form of one stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// Size of the raw message in octets (`RFC822.SIZE`).
    pub size: u64,
    /// The top-level ENVELOPE.
    pub envelope: Envelope,
    /// The root part: its `header` span is the message header (`BODY[HEADER]`), its
    /// `body` span the message text (`BODY[TEXT]`).
    pub root: Part,
    /// The `Date:` header as Unix seconds, for `SEARCH SENTBEFORE/SENTON/SENTSINCE`
    /// (RFC 3501 §6.4.4); `None` when absent or unparseable.
    pub sent_date: Option<i64>,
}

impl MessageSummary {
    /// Parses a raw message. Never fails and never panics: input that is not a message
    /// at all becomes a single `TEXT/PLAIN` part with an empty header whose body is
    /// every byte.
    pub fn parse(raw: &[u8]) -> MessageSummary {
        let mut walker = Walker::new(raw);
        let header = walker.top_header();
        let envelope = Envelope::from_header(header, &mut walker.addresses_left);
        let sent_date = sent_date(header);
        let root = walker.root();
        MessageSummary {
            size: raw.len() as u64,
            envelope,
            root,
            sent_date,
        }
    }

    /// Writes the `envelope` production (RFC 3501 §7.4.2):
    /// `(date subject (from) (sender) (reply-to) (to) (cc) (bcc) in-reply-to message-id)`.
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        self.envelope.write(out);
    }

    /// Writes the `body` production: BODYSTRUCTURE with `extensible`, BODY without.
    pub fn write_body_structure(&self, out: &mut Vec<u8>, extensible: bool) {
        self.root.write(out, extensible);
    }

    /// Length of the message header including its blank line (`RFC822.HEADER`).
    pub fn header_len(&self) -> u64 {
        self.root.header.len()
    }
}

/// The first `Date:` field as Unix seconds, parsed by mail-parser (RFC 5322 §3.3,
/// including the obsolete forms).
fn sent_date(header: &[u8]) -> Option<i64> {
    let field = Fields::new(header).find(|f| f.name.eq_ignore_ascii_case(b"date"))?;
    let mut value = field.value.to_vec();
    value.push(b'\n');
    match MessageStream::new(&value).parse_date() {
        HeaderValue::DateTime(dt) if dt.is_valid() => Some(dt.to_timestamp()),
        _ => None,
    }
}
