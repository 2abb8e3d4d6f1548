//! IMAP string output for ENVELOPE and BODYSTRUCTURE.
//!
//! RFC 3501 §4.3 / RFC 9051 §4.3: a `string` is either a quoted string or a literal.
//! Quoted strings may hold only 7-bit `TEXT-CHAR`s (no CR, LF or NUL) and escape `"`
//! and `\`; everything else (8-bit header bytes sent by non-conforming mailers, folded
//! values, very long values) goes out as a literal `{n}\r\n...`.
//!
//! This is a deliberately small, self-contained writer: the IMAP codec has its own, and
//! this module must not depend on it (the message summary is rendered by the store
//! layer as well as by the session).

use std::io::Write as _;

/// Longest value written as a quoted string. Longer values become literals so that a
/// client reading line by line never sees one unbounded line per header value.
const MAX_QUOTED: usize = 1024;

/// Writes `s` as an IMAP `string`: quoted when it can be, a literal otherwise.
///
/// NUL cannot appear in either form (RFC 3501 §4.3 `CHAR8` is %x01-ff), so a NUL byte
/// in a header value is sent as a space; the length of the value is unchanged.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() <= MAX_QUOTED
        && s.iter()
            .all(|&b| matches!(b, 0x01..=0x7f) && b != b'\r' && b != b'\n');
    if quotable {
        out.reserve(s.len() + 2);
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{{{}}}\r\n", s.len());
        out.extend(s.iter().map(|&b| if b == 0 { b' ' } else { b }));
    }
}

/// Writes an IMAP `nstring`: `NIL` for `None`, otherwise [`write_string`].
pub(crate) fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes a decimal `number`.
pub(crate) fn write_number(out: &mut Vec<u8>, n: u64) {
    let _ = write!(out, "{n}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, v);
        out
    }

    #[test]
    fn quoted_with_escapes() {
        assert_eq!(s(b"plain"), b"\"plain\"");
        assert_eq!(s(b""), b"\"\"");
        assert_eq!(s(br#"a "b" \c"#), br#""a \"b\" \\c""#);
    }

    #[test]
    fn literal_for_8bit_crlf_nul_and_long() {
        assert_eq!(s("Jörg".as_bytes()), b"{5}\r\nJ\xc3\xb6rg");
        assert_eq!(s(b"a\r\n b"), b"{5}\r\na\r\n b");
        assert_eq!(s(b"a\0b"), b"{3}\r\na b");
        let long = vec![b'x'; MAX_QUOTED + 1];
        let out = s(&long);
        assert!(out.starts_with(b"{1025}\r\nxxx"));
        assert_eq!(out.len(), 8 + long.len());
        assert_eq!(s(&long[..MAX_QUOTED])[0], b'"');
    }

    #[test]
    fn nstring() {
        let mut out = Vec::new();
        write_nstring(&mut out, None);
        out.push(b' ');
        write_nstring(&mut out, Some(b"x"));
        assert_eq!(out, b"NIL \"x\"");
    }
}
