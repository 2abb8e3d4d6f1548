//! Header field utilities over raw bytes (RFC 5322 §2.2, §3.6; RFC 2045 §3).
//!
//! A header block is split into fields the way IMAP needs them for
//! `BODY[HEADER.FIELDS (...)]` (RFC 3501 §6.4.5 / RFC 9051 §6.4.5): a field is its first
//! line plus every following line that starts with SP or HTAB (folding), and the block
//! ends at the first empty line. Nothing here allocates per byte or recurses, and
//! nothing fails: lines without a colon are kept as nameless fields.

/// One header field as it appears in the raw message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field name without the colon and trailing whitespace; empty for a line that
    /// has no colon (malformed input), which no `HEADER.FIELDS` name matches.
    pub name: &'a [u8],
    /// Everything after the colon, folding included, without the final line break.
    pub value: &'a [u8],
    /// The whole field, final line break included.
    pub raw: &'a [u8],
}

/// Iterator over the fields of a header block. See [`Fields::blank_line`].
pub(crate) struct Fields<'a> {
    header: &'a [u8],
    pos: usize,
    blank: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(header: &'a [u8]) -> Self {
        Fields {
            header,
            pos: 0,
            blank: None,
        }
    }

    /// The empty line that ended the block, once iteration has reached it (`None` for
    /// a header with no terminating blank line, i.e. a message without a body).
    pub(crate) fn blank_line(&self) -> Option<&'a [u8]> {
        self.blank
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let h = self.header;
        let start = self.pos;
        if start >= h.len() {
            return None;
        }
        let first_end = line_end(h, start);
        if is_blank(&h[start..first_end]) {
            self.blank = Some(&h[start..first_end]);
            self.pos = h.len();
            return None;
        }
        let mut end = first_end;
        while end < h.len() && matches!(h[end], b' ' | b'\t') {
            end = line_end(h, end);
        }
        self.pos = end;
        let raw = &h[start..end];
        let first = &h[start..first_end];
        let (name, value) = match first.iter().position(|&b| b == b':') {
            Some(colon) => (trim_end(&first[..colon]), &raw[colon + 1..]),
            None => (&b""[..], raw),
        };
        Some(Field {
            name,
            value: strip_line_break(value),
            raw,
        })
    }
}

/// Offset just past the `\n` that ends the line starting at `pos`, or `s.len()`.
pub(crate) fn line_end(s: &[u8], pos: usize) -> usize {
    match s
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
    {
        Some(i) => pos + i + 1,
        None => s.len(),
    }
}

/// Whether a line (with its line break) is empty: `CRLF`, or a bare `LF`.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line == b"\r\n" || line == b"\n"
}

/// Whether `line` starts a header field: `field-name ":"` where field-name is one or
/// more printable US-ASCII characters other than colon (RFC 5322 §3.6.8), optionally
/// followed by whitespace before the colon (obsolete syntax, RFC 5322 §4.5).
pub(crate) fn is_field_start(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = trim_end(&line[..colon]);
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

/// Unfolds a field value (drops every CR and LF, keeping the whitespace that followed
/// them, RFC 5322 §2.2.3) and trims surrounding whitespace.
pub(crate) fn unfold_trim(value: &[u8]) -> Vec<u8> {
    let v: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let start = v.iter().position(|&b| !is_wsp(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|&b| !is_wsp(b)).map_or(start, |i| i + 1);
    v[start..end].to_vec()
}

/// The `BODY[HEADER.FIELDS (...)]` / `BODY[HEADER.FIELDS.NOT (...)]` subset of a
/// header block (RFC 3501 §6.4.5, RFC 9051 §6.4.5).
///
/// Keeps the fields whose name matches one of `fields` case-insensitively (or, with
/// `not`, those that match none), each with its folded continuation lines, in message
/// order, then the blank line that ended the header. Per the RFC the blank line "is
/// included in all header fetches, except in the case of a message which has no body
/// and no blank line", so a header without one gets none appended.
pub fn header_fields(header: &[u8], fields: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut iter = Fields::new(header);
    for field in iter.by_ref() {
        let matched = !field.name.is_empty()
            && fields
                .iter()
                .any(|f| f.as_bytes().eq_ignore_ascii_case(field.name));
        if matched != not {
            out.extend_from_slice(field.raw);
        }
    }
    if let Some(blank) = iter.blank_line() {
        out.extend_from_slice(blank);
    }
    out
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    &s[..end]
}

fn strip_line_break(s: &[u8]) -> &[u8] {
    let s = s.strip_suffix(b"\n").unwrap_or(s);
    s.strip_suffix(b"\r").unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &[u8] = b"Subject: hello\r\n world\r\nFrom: a@b\r\nbogus line\r\nX-A : 1\r\n\r\n";

    #[test]
    fn splits_fields_with_folding() {
        let mut it = Fields::new(H);
        let f: Vec<_> = it.by_ref().collect();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].value, b" hello\r\n world");
        assert_eq!(f[0].raw, b"Subject: hello\r\n world\r\n");
        assert_eq!(f[2].name, b"");
        assert_eq!(f[3].name, b"X-A");
        assert_eq!(it.blank_line(), Some(&b"\r\n"[..]));
        assert_eq!(unfold_trim(f[0].value), b"hello world");
    }

    #[test]
    fn fields_subset() {
        let names = vec!["subject".to_string(), "x-a".to_string()];
        assert_eq!(
            header_fields(H, &names, false),
            b"Subject: hello\r\n world\r\nX-A : 1\r\n\r\n"
        );
        assert_eq!(
            header_fields(H, &names, true),
            b"From: a@b\r\nbogus line\r\n\r\n"
        );
        assert_eq!(header_fields(H, &["none".into()], false), b"\r\n");
        // No blank line (a message without a body): none is added.
        assert_eq!(
            header_fields(b"Subject: x\r\nTo: y\r\n", &["to".into()], false),
            b"To: y\r\n"
        );
    }

    #[test]
    fn field_start() {
        assert!(is_field_start(b"Subject: x\r\n"));
        assert!(is_field_start(b"Subject : x\r\n"));
        assert!(is_field_start(b"X:\n"));
        assert!(!is_field_start(b"From a@b Mon Jan 1 00:00:00 2024\n"));
        assert!(!is_field_start(b" folded: x\r\n"));
        assert!(!is_field_start(b": x\r\n"));
        assert!(!is_field_start(b"no colon\r\n"));
    }
}
