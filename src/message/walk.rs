//! Building the part tree from the raw message (RFC 2045 §5-6, RFC 2046 §5.1, §5.2.1).
//!
//! mail-parser parses the field values (see `mime`: Content-Type and
//! Content-Disposition with their RFC 2231 / RFC 2047 parameters); the MIME structure
//! is walked here, over the raw bytes, for three reasons:
//! - `MessageParser::parse` builds nested `message/rfc822` parts as nested `Message`
//!   values with no depth limit. 100,000 levels (3.2 MB) overflow the stack when the
//!   result is dropped, and the same inside a base64-encoded `message/rfc822` overflows
//!   inside mail-parser itself, which aborts the process. Input here is attacker
//!   controlled, so the depth must be capped before anything is built.
//! - Its offsets for parts nested in an encoded `message/rfc822` are relative to the
//!   decoded bytes, and its boundary match also accepts `--boundary` in mid-line;
//!   IMAP section offsets must be exact positions in the stored message.
//! - It decodes every body (base64, charsets), which FETCH never needs.
//!
//! One pass, linear in the message size times the (capped) number of open boundaries.
//! Recursion is bounded by [`MAX_DEPTH`]; the number of parts by [`MAX_PARTS`]
//! (the defaults; `[limits] max_mime_depth` and `max_mime_parts` change them for the
//! process through [`set_limits`], up to [`DEPTH_CEILING`] and [`PARTS_CEILING`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::bodystructure::{Part, PartKind, Span};
use super::envelope::Envelope;
use super::header::{is_blank, is_field_start, line_end};
use super::mime::{MimeFields, describe, opaque, plain_text, set_type};

/// Deepest nesting of multipart and message/rfc822 containers, by default. A container
/// deeper than this becomes an opaque `APPLICATION/OCTET-STREAM` leaf covering its bytes.
pub const MAX_DEPTH: usize = 32;
/// Most parts recorded per message, by default. Once reached, containers become opaque
/// leaves and further parts of an open multipart are not listed (their bytes stay in
/// its body).
pub const MAX_PARTS: usize = 10_000;
/// The deepest nesting a configuration may allow: the walk recurses once per level.
pub const DEPTH_CEILING: usize = 64;
/// The most parts a configuration may allow.
pub const PARTS_CEILING: usize = 100_000;

static DEPTH: AtomicUsize = AtomicUsize::new(MAX_DEPTH);
static PARTS: AtomicUsize = AtomicUsize::new(MAX_PARTS);

/// Sets the nesting and part limits of every later walk in this process (the server
/// calls it once at start from `[limits]`; the values are clamped to 1..=ceiling).
/// Messages are walked at delivery, so a change applies to messages delivered after it.
pub fn set_limits(max_depth: usize, max_parts: usize) {
    DEPTH.store(max_depth.clamp(1, DEPTH_CEILING), Ordering::Relaxed);
    PARTS.store(max_parts.clamp(1, PARTS_CEILING), Ordering::Relaxed);
}
/// Most ENVELOPE addresses kept per message, over all encapsulated messages.
pub const MAX_ADDRESSES: usize = 10_000;

/// A boundary delimiter line (RFC 2046 §5.1.1) found in the raw message.
#[derive(Debug, Clone, Copy)]
struct Delim {
    /// Offset of the line's first `-`.
    line: usize,
    /// Index in the stack of open boundaries of the boundary it matches.
    level: usize,
    /// `--boundary--`: the close delimiter.
    close: bool,
    /// Offset of the line after it.
    next: usize,
}

/// Walks one raw message. See the module docs.
pub(crate) struct Walker<'a> {
    raw: &'a [u8],
    /// Boundaries of the open multiparts, outermost first.
    boundaries: Vec<Vec<u8>>,
    max_depth: usize,
    parts_left: usize,
    pub(crate) addresses_left: usize,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Walker {
            raw,
            boundaries: Vec::new(),
            max_depth: DEPTH.load(Ordering::Relaxed),
            parts_left: PARTS.load(Ordering::Relaxed),
            addresses_left: MAX_ADDRESSES,
        }
    }

    /// The top-level header block.
    pub(crate) fn top_header(&self) -> &'a [u8] {
        &self.raw[..self.scan_header(0).0]
    }

    /// The root part of the message, with the whole tree below it.
    pub(crate) fn root(&mut self) -> Part {
        self.part(0, 0, false).0
    }

    /// Parses the part whose header starts at `start` (a line start). Returns it and
    /// the delimiter that ended it (`None`: end of message).
    fn part(&mut self, start: usize, depth: usize, digest_child: bool) -> (Part, Option<Delim>) {
        self.parts_left = self.parts_left.saturating_sub(1);
        let (hdr_end, early) = self.scan_header(start);
        let mut part = describe(&MimeFields::parse(&self.raw[start..hdr_end]), digest_child);
        part.header = Span::new(start, hdr_end);
        let can_nest = early.is_none() && depth < self.max_depth && self.parts_left > 0;
        let is_message = part.media_type == "MESSAGE"
            && (part.media_subtype == "RFC822" || part.media_subtype == "GLOBAL");

        if part.media_type == "MULTIPART" {
            let boundary = part
                .params
                .iter()
                .find(|(n, _)| n == "BOUNDARY")
                .map(|(_, v)| v.as_bytes().to_vec());
            match boundary.filter(|b| !b.is_empty()) {
                Some(b) if can_nest => {
                    self.boundaries.push(b);
                    let first = self.next_delimiter(hdr_end);
                    if let Some(d) = first.filter(|d| d.level == self.boundaries.len() - 1) {
                        return self.multipart(part, d, depth, hdr_end);
                    }
                    // No delimiter of its own: not really a multipart.
                    self.boundaries.pop();
                    set_type(&mut part, "TEXT", "PLAIN");
                    return self.leaf(part, hdr_end, first);
                }
                _ if early.is_none() && !can_nest => opaque(&mut part),
                _ => set_type(&mut part, "TEXT", "PLAIN"),
            }
        } else if is_message
            && can_nest
            && matches!(&part.encoding[..], b"7BIT" | b"8BIT" | b"BINARY")
        {
            let (root, end) = self.part(hdr_end, depth + 1, false);
            let header = root.header.slice(self.raw).unwrap_or_default();
            let envelope = Envelope::from_header(header, &mut self.addresses_left);
            part.body = Span::new(hdr_end, root.body.end as usize);
            part.lines = count_lines(part.body.slice(self.raw).unwrap_or_default());
            part.kind = PartKind::Message {
                envelope: Box::new(envelope),
                root: Box::new(root),
            };
            return (part, end);
        } else if is_message && early.is_none() && !can_nest {
            opaque(&mut part);
        }

        let end = if early.is_some() {
            early
        } else {
            self.next_delimiter(hdr_end)
        };
        let (mut part, end) = self.leaf(part, hdr_end, end);
        if is_message && part.media_type == "MESSAGE" {
            // Encoded (RFC 2046 §5.2.1 forbids it) or cut short: an encapsulated message
            // with an empty header whose body is the part's bytes.
            let root = plain_text(Span::new(hdr_end, hdr_end), part.body, part.lines);
            part.kind = PartKind::Message {
                envelope: Box::default(),
                root: Box::new(root),
            };
        }
        (part, end)
    }

    /// The children of a multipart whose first delimiter is `first`.
    fn multipart(
        &mut self,
        mut part: Part,
        first: Delim,
        depth: usize,
        body_start: usize,
    ) -> (Part, Option<Delim>) {
        let own = self.boundaries.len() - 1;
        let digest = part.media_subtype == "DIGEST";
        let mut children = Vec::new();
        let mut d = first;
        let end = loop {
            if d.close {
                // The epilogue runs to the next delimiter of an enclosing multipart.
                self.boundaries.pop();
                break self.next_delimiter(d.next);
            }
            let found = if self.parts_left == 0 {
                self.next_delimiter(d.next)
            } else {
                let (child, end) = self.part(d.next, depth + 1, digest);
                children.push(child);
                end
            };
            match found {
                Some(n) if n.level == own => d = n,
                other => {
                    // End of message, or an enclosing boundary: close delimiter missing.
                    self.boundaries.pop();
                    break other;
                }
            }
        };
        if children.is_empty() {
            // `body-type-mpart` needs at least one body; Dovecot reports an empty text part.
            let at = Span::new(first.line, first.line);
            children.push(plain_text(at, at, 0));
        }
        // An empty last part that starts right after a delimiter line ends after the
        // line break the next delimiter claims; the multipart must still contain it.
        let last_end = children.last().map_or(0, |c| c.body.end as usize);
        part.body = Span::new(body_start, self.end_before(end, body_start).max(last_end));
        part.kind = PartKind::Multipart(children);
        (part, end)
    }

    /// Finishes a leaf whose body starts at `body_start` and is ended by `end`.
    fn leaf(&self, mut part: Part, body_start: usize, end: Option<Delim>) -> (Part, Option<Delim>) {
        part.body = Span::new(body_start, self.end_before(end, body_start));
        part.lines = count_lines(part.body.slice(self.raw).unwrap_or_default());
        (part, end)
    }

    /// Finds the end of the header block starting at `start`: just past its blank
    /// line, or before the line break preceding a delimiter line (the part ends inside
    /// its header), or at the end of the message. A block whose first line is not a header field is no header at all:
    /// the part starts with its body (this is how garbage becomes a text/plain body).
    fn scan_header(&self, start: usize) -> (usize, Option<Delim>) {
        let raw = self.raw;
        if start >= raw.len() {
            return (raw.len(), None);
        }
        if let Some(d) = self.delimiter_at(start) {
            return (start, Some(d));
        }
        let first_end = line_end(raw, start);
        if is_blank(&raw[start..first_end]) {
            return (first_end, None);
        }
        if !is_field_start(&raw[start..first_end]) {
            return (start, None);
        }
        let mut pos = first_end;
        while pos < raw.len() {
            if let Some(d) = self.delimiter_at(pos) {
                return (self.end_before(Some(d), start), Some(d));
            }
            let end = line_end(raw, pos);
            if is_blank(&raw[pos..end]) {
                return (end, None);
            }
            pos = end;
        }
        (raw.len(), None)
    }

    /// The delimiter on the line starting at `line`, if any. Boundaries are matched as
    /// prefixes of the line (RFC 2046 §5.1.1 requires they be unique as such), the
    /// innermost first, so that an inner boundary extending an outer one still works.
    fn delimiter_at(&self, line: usize) -> Option<Delim> {
        let rest = self.raw.get(line..)?.strip_prefix(b"--")?;
        let (level, boundary) = self
            .boundaries
            .iter()
            .enumerate()
            .rev()
            .find(|(_, b)| rest.starts_with(b))?;
        Some(Delim {
            line,
            level,
            close: rest[boundary.len()..].starts_with(b"--"),
            next: line_end(self.raw, line),
        })
    }

    /// The first delimiter line at or after `from` (a line start).
    fn next_delimiter(&self, mut from: usize) -> Option<Delim> {
        if self.boundaries.is_empty() {
            return None;
        }
        while from < self.raw.len() {
            if let Some(d) = self.delimiter_at(from) {
                return Some(d);
            }
            from = line_end(self.raw, from);
        }
        None
    }

    /// Where a body ended by `end` stops: before the line break that precedes the
    /// delimiter, which belongs to the delimiter (RFC 2046 §5.1.1); never before `floor`.
    fn end_before(&self, end: Option<Delim>, floor: usize) -> usize {
        let Some(d) = end else { return self.raw.len() };
        let before = &self.raw[..d.line];
        let cut = if before.ends_with(b"\r\n") {
            2
        } else {
            usize::from(before.ends_with(b"\n"))
        };
        (d.line - cut).max(floor)
    }
}

/// `body-fld-lines`: line breaks, plus one for a last line without one.
pub(crate) fn count_lines(body: &[u8]) -> u64 {
    let breaks = body.iter().filter(|&&b| b == b'\n').count() as u64;
    breaks + u64::from(body.last().is_some_and(|&b| b != b'\n'))
}
