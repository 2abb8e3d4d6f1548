//! Writing strings into responses in the form the client can read back
//! (RFC 9051 §4.3, §9): atom when it can, quoted when it is safe, literal
//! otherwise. Literals are always synchronizing-style `{n}` (servers never
//! send `{n+}`).

use super::items::Flag;
use super::primitives::is_astring_char;

/// The longest string written as a quoted string; longer ones become
/// literals so that no response line grows without bound.
pub const MAX_QUOTED: usize = 1024;

/// Whether `s` may be written as a quoted string: 7-bit, no NUL, CR or LF
/// (RFC 3501 §9 `QUOTED-CHAR`; 8-bit text goes in a literal, which every
/// client version reads).
fn quotable(s: &[u8]) -> bool {
    s.len() <= MAX_QUOTED
        && s.iter()
            .all(|&b| matches!(b, 0x01..=0x7f) && b != b'\r' && b != b'\n')
}

/// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, escaping `"` and `\`. The caller
/// must have checked [`quotable`].
fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `literal = "{" number64 "}" CRLF *CHAR8` (RFC 9051 §9).
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// `string = quoted / literal`: quoted when safe, else a literal.
pub fn quoted_or_literal(out: &mut Vec<u8>, s: &[u8]) {
    if quotable(s) {
        write_quoted(out, s)
    } else {
        literal(out, s)
    }
}

/// `astring = 1*ASTRING-CHAR / string`: an atom when possible (never `NIL`,
/// which a reader of an nstring would take for nil), else a string.
pub fn astring(out: &mut Vec<u8>, s: &[u8]) {
    let atom_ok = !s.is_empty()
        && s.len() <= MAX_QUOTED
        && s.iter().all(|&b| is_astring_char(b))
        && !s.eq_ignore_ascii_case(b"NIL");
    if atom_ok {
        out.extend_from_slice(s)
    } else {
        quoted_or_literal(out, s)
    }
}

/// An astring for a client that enabled UTF8=ACCEPT (RFC 6855 §3): UTF-8
/// may go in a quoted string (`QUOTED-CHAR =/ UTF8-2 / UTF8-3 / UTF8-4`).
pub fn astring_utf8(out: &mut Vec<u8>, s: &[u8]) {
    let quotable_utf8 = s.len() <= MAX_QUOTED
        && std::str::from_utf8(s).is_ok()
        && !s.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'));
    if s.is_ascii() || !quotable_utf8 {
        astring(out, s)
    } else {
        write_quoted(out, s)
    }
}

/// `nstring = string / nil`.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => quoted_or_literal(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// `mailbox = "INBOX" / astring` (RFC 9051 §9); the name as stored
/// (modified UTF-7 or, with UTF8=ACCEPT, UTF-8).
pub fn mailbox_name(out: &mut Vec<u8>, name: &str) {
    astring(out, name.as_bytes());
}

/// `flag-list = "(" [flag *(SP flag)] ")"` (RFC 9051 §9), e.g. `(\Seen foo)`.
pub fn write_flags(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(f.as_str().as_bytes());
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::strings::{astring as parse_astring, nstring as parse_nstring};

    fn enc(f: fn(&mut Vec<u8>, &[u8]), s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out, s);
        out
    }

    #[test]
    fn astring_forms() {
        assert_eq!(enc(astring, b"INBOX"), b"INBOX");
        assert_eq!(enc(astring, b"a]b"), b"a]b");
        assert_eq!(enc(astring, b""), b"\"\"");
        assert_eq!(enc(astring, b"nil"), b"\"nil\"");
        assert_eq!(enc(astring, b"two words"), b"\"two words\"");
        assert_eq!(enc(astring, b"say \"hi\"\\"), b"\"say \\\"hi\\\"\\\\\"");
        assert_eq!(enc(astring, b"a\r\nb"), b"{4}\r\na\r\nb");
        assert_eq!(enc(astring, "é".as_bytes()), b"{2}\r\n\xc3\xa9");
        let long = vec![b'x'; MAX_QUOTED + 1];
        assert!(enc(astring, &long).starts_with(b"{1025}\r\n"));
    }

    #[test]
    fn round_trips_through_the_parser() {
        let samples: [&[u8]; 9] = [
            b"x",
            b"",
            b"NIL",
            b"a b",
            b"\"\\",
            b"\r\n",
            b"\x00\xff",
            b"%*",
            &[b'q'; 2000],
        ];
        for s in samples {
            let mut out = enc(astring, s);
            out.push(b' ');
            let (rest, back) = parse_astring(&out).unwrap();
            assert_eq!((rest, back.as_slice()), (&b" "[..], s));
            let mut out = Vec::new();
            nstring(&mut out, Some(s));
            assert_eq!(parse_nstring(&out).unwrap().1.as_deref(), Some(s));
        }
        let mut out = Vec::new();
        nstring(&mut out, None);
        assert_eq!(out, b"NIL");
        assert_eq!(parse_nstring(&out).unwrap().1, None);
    }

    #[test]
    fn flags_and_mailboxes() {
        let mut out = Vec::new();
        write_flags(
            &mut out,
            &[
                Flag::Seen,
                Flag::Keyword("foo".into()),
                Flag::Extension("\\X".into()),
            ],
        );
        assert_eq!(out, b"(\\Seen foo \\X)");
        let mut out = Vec::new();
        write_flags(&mut out, &[]);
        assert_eq!(out, b"()");
        let mut out = Vec::new();
        mailbox_name(&mut out, "Sent Items");
        assert_eq!(out, b"\"Sent Items\"");
    }
}
