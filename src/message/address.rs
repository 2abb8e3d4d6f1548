//! Address lists for the ENVELOPE (RFC 5322 §3.4, RFC 3501 §7.4.2 `address`).
//!
//! mail-parser decodes RFC 2047 encoded words in display names; IMAP servers
//! conventionally (Dovecot, Cyrus) send them as they appear in the message and let the
//! client decode, so this is a small raw-byte parser of its own. It is forgiving (every
//! input yields some list), linear, iterative, and bounded by a shared address budget.

use serde::{Deserialize, Serialize};

/// One `address` of an ENVELOPE address list: `(name adl mailbox host)`.
///
/// RFC 3501 §7.4.2: a group start is `(NIL NIL "group-name" NIL)` and a group end is
/// `(NIL NIL NIL NIL)`; both are represented as ordinary entries in the list. Values are
/// raw bytes from the header (quoted strings unquoted, encoded words kept as sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Display name (phrase), or the comment of a bare `addr-spec (Comment)`.
    pub name: Option<Vec<u8>>,
    /// Source route (`@a,@b`) of an obsolete route address (RFC 5322 §4.4).
    pub adl: Option<Vec<u8>>,
    /// Local part; for a group start, the group name.
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `NIL` only for group markers, empty when the address has no `@`.
    pub host: Option<Vec<u8>>,
}

enum Tok<'a> {
    /// An atom, dot-atom or domain literal, as sent.
    Atom(&'a [u8]),
    /// A quoted string, unquoted and unescaped.
    Quoted(Vec<u8>),
    /// The inside of a (possibly nested) comment.
    Comment(&'a [u8]),
    /// One of `< > @ , ; :`.
    Special(u8),
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Option<Tok<'a>> {
        let s = self.s;
        while self.pos < s.len() && s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let c = *s.get(start)?;
        self.pos += 1;
        match c {
            b'<' | b'>' | b'@' | b',' | b';' | b':' => Some(Tok::Special(c)),
            b'(' => {
                let mut depth = 1usize;
                while self.pos < s.len() {
                    match s[self.pos] {
                        b'\\' => self.pos += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(Tok::Comment(&s[start + 1..self.pos - 1]));
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                self.pos = self.pos.min(s.len());
                Some(Tok::Comment(&s[start + 1..self.pos]))
            }
            b'"' => {
                let mut out = Vec::new();
                while self.pos < s.len() {
                    let b = s[self.pos];
                    self.pos += 1;
                    match b {
                        b'"' => break,
                        b'\\' if self.pos < s.len() => {
                            out.push(s[self.pos]);
                            self.pos += 1;
                        }
                        b'\r' | b'\n' => {}
                        _ => out.push(b),
                    }
                }
                Some(Tok::Quoted(out))
            }
            b'[' => {
                while self.pos < s.len() && s[self.pos] != b']' {
                    self.pos += 1;
                }
                self.pos = (self.pos + 1).min(s.len());
                Some(Tok::Atom(&s[start..self.pos]))
            }
            _ => {
                while self.pos < s.len()
                    && !s[self.pos].is_ascii_whitespace()
                    && !b"<>@,;:\"([".contains(&s[self.pos])
                {
                    self.pos += 1;
                }
                Some(Tok::Atom(&s[start..self.pos]))
            }
        }
    }
}

/// The mailbox being collected between two separators.
#[derive(Default)]
struct Pending<'a> {
    /// Words of the display name (or of a bare addr-spec), in order.
    words: Vec<Vec<u8>>,
    /// The same tokens concatenated without spaces, plus `@`: a bare addr-spec.
    spec: Vec<u8>,
    /// `(route, addr-spec)` from `<...>`, when present.
    angle: Option<(Vec<u8>, Vec<u8>)>,
    comment: Option<&'a [u8]>,
}

impl Pending<'_> {
    fn phrase(&self) -> Option<Vec<u8>> {
        (!self.words.is_empty()).then(|| self.words.join(&b' '))
    }

    fn into_address(self) -> Option<Address> {
        let (name, adl, spec) = match &self.angle {
            Some((route, addr)) => (
                self.phrase(),
                (!route.is_empty()).then(|| route.clone()),
                addr.clone(),
            ),
            None if !self.spec.is_empty() => (
                self.comment.map(|c| c.trim_ascii().to_vec()),
                None,
                self.spec,
            ),
            None => return None,
        };
        let (mailbox, host) = match spec.iter().rposition(|&b| b == b'@') {
            Some(at) => (spec[..at].to_vec(), spec[at + 1..].to_vec()),
            None => (spec, Vec::new()),
        };
        Some(Address {
            name: name.filter(|n| !n.is_empty()),
            adl,
            mailbox: Some(mailbox),
            host: Some(host),
        })
    }
}

/// Parses an address-list header value (`From`, `To`, ...) into ENVELOPE entries.
///
/// `budget` is decremented per entry; when it runs out the rest of the value is
/// ignored (an open group is still closed, so the list stays well-formed).
pub(crate) fn parse_address_list(value: &[u8], budget: &mut usize) -> Vec<Address> {
    let mut out = Vec::new();
    let mut lx = Lexer { s: value, pos: 0 };
    let mut cur = Pending::default();
    let mut in_group = false;
    let push = |out: &mut Vec<Address>, a: Address, budget: &mut usize| {
        if *budget > 0 {
            *budget -= 1;
            out.push(a);
        }
    };
    loop {
        if *budget == 0 {
            break;
        }
        let Some(tok) = lx.next() else { break };
        match tok {
            Tok::Special(b',') => {
                if let Some(a) = std::mem::take(&mut cur).into_address() {
                    push(&mut out, a, budget);
                }
            }
            Tok::Special(b';') => {
                if let Some(a) = std::mem::take(&mut cur).into_address() {
                    push(&mut out, a, budget);
                }
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
            }
            Tok::Special(b':') if !in_group && cur.angle.is_none() => {
                let name = cur.phrase().unwrap_or_default();
                cur = Pending::default();
                let group = Address {
                    mailbox: Some(name),
                    ..Address::default()
                };
                if *budget > 0 {
                    push(&mut out, group, budget);
                    in_group = true;
                }
            }
            Tok::Special(b'<') => cur.angle = Some(angle_addr(&mut lx)),
            Tok::Special(b'@') => cur.spec.push(b'@'),
            Tok::Special(_) => {}
            Tok::Atom(a) => {
                cur.words.push(a.to_vec());
                cur.spec.extend_from_slice(a);
            }
            Tok::Quoted(q) => {
                cur.spec.extend_from_slice(&q);
                cur.words.push(q);
            }
            Tok::Comment(c) => {
                cur.comment.get_or_insert(c);
            }
        }
    }
    if let Some(a) = cur.into_address() {
        push(&mut out, a, budget);
    }
    if in_group {
        out.push(Address::default());
    }
    out
}

/// Reads an `angle-addr` after its `<`: `[route ":"] addr-spec ">"`.
fn angle_addr(lx: &mut Lexer<'_>) -> (Vec<u8>, Vec<u8>) {
    let mut route = Vec::new();
    let mut buf = Vec::new();
    while let Some(tok) = lx.next() {
        match tok {
            Tok::Special(b'>') => break,
            Tok::Special(b':') if route.is_empty() => route = std::mem::take(&mut buf),
            Tok::Special(c) => buf.push(c),
            Tok::Atom(a) => buf.extend_from_slice(a),
            Tok::Quoted(q) => buf.extend_from_slice(&q),
            Tok::Comment(_) => {}
        }
    }
    (route, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Vec<Address> {
        parse_address_list(v.as_bytes(), &mut 1000)
    }

    fn a(
        name: Option<&str>,
        adl: Option<&str>,
        mailbox: Option<&str>,
        host: Option<&str>,
    ) -> Address {
        let f = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
        Address {
            name: f(name),
            adl: f(adl),
            mailbox: f(mailbox),
            host: f(host),
        }
    }

    #[test]
    fn mailboxes() {
        assert_eq!(
            parse(
                r#" "Gray, Terry" <gray@cac.washington.edu>, imap@cac.washington.edu (IMAP list)"#
            ),
            vec![
                a(
                    Some("Gray, Terry"),
                    None,
                    Some("gray"),
                    Some("cac.washington.edu")
                ),
                a(
                    Some("IMAP list"),
                    None,
                    Some("imap"),
                    Some("cac.washington.edu")
                ),
            ]
        );
        assert_eq!(
            parse("=?utf-8?q?J=C3=B6rg?= Smith <js@x.example>"),
            vec![a(
                Some("=?utf-8?q?J=C3=B6rg?= Smith"),
                None,
                Some("js"),
                Some("x.example")
            )]
        );
        assert_eq!(
            parse("<@r1.example,@r2.example:joe@x.example>"),
            vec![a(
                None,
                Some("@r1.example,@r2.example"),
                Some("joe"),
                Some("x.example")
            )]
        );
        assert_eq!(
            parse("\"john doe\"@x"),
            vec![a(None, None, Some("john doe"), Some("x"))]
        );
        assert_eq!(
            parse("nohost"),
            vec![a(None, None, Some("nohost"), Some(""))]
        );
        assert_eq!(parse("  ,, "), vec![]);
    }

    #[test]
    fn groups() {
        let end = a(None, None, None, None);
        assert_eq!(
            parse("A Group: Ed Jones <c@a.test>, joe@where.test;, x@y"),
            vec![
                a(None, None, Some("A Group"), None),
                a(Some("Ed Jones"), None, Some("c"), Some("a.test")),
                a(None, None, Some("joe"), Some("where.test")),
                end.clone(),
                a(None, None, Some("x"), Some("y")),
            ]
        );
        assert_eq!(
            parse("undisclosed-recipients:;"),
            vec![
                a(None, None, Some("undisclosed-recipients"), None),
                end.clone()
            ]
        );
        // An unterminated group is closed.
        assert_eq!(
            parse("g: a@b"),
            vec![
                a(None, None, Some("g"), None),
                a(None, None, Some("a"), Some("b")),
                end
            ]
        );
    }

    #[test]
    fn budget_and_garbage() {
        let mut budget = 2;
        assert_eq!(parse_address_list(b"a@b, c@d, e@f", &mut budget).len(), 2);
        assert_eq!(budget, 0);
        let mut budget = 1;
        let l = parse_address_list(b"g: a@b, c@d;", &mut budget);
        assert_eq!(
            l,
            vec![a(None, None, Some("g"), None), a(None, None, None, None)]
        );
        for junk in [
            "((((",
            "\"unterminated",
            "<<<>>>",
            "[x",
            ":::;;;",
            "@@@",
            "\\",
            ")",
        ] {
            let _ = parse(junk);
        }
    }
}
