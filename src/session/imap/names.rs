//! Mailbox names between the wire and the store (RFC 9051 §5.1, §5.1.3;
//! RFC 6855 §3).
//!
//! The store keeps names in UTF-8 with `/` as the hierarchy delimiter and
//! `INBOX` spelled so. A client that enabled UTF8=ACCEPT sends and receives
//! UTF-8 (and Thunderbird then sends `&` unencoded); any other client uses
//! modified UTF-7, which is decoded strictly. A client that sends 8-bit
//! UTF-8 without enabling UTF8=ACCEPT is understood anyway.

use crate::proto::imap::{encode, mutf7};

/// The hierarchy delimiter.
pub const DELIMITER: char = '/';
/// Longest mailbox name, in bytes of UTF-8.
pub const MAX_NAME: usize = 1000;
/// Deepest hierarchy.
pub const MAX_LEVELS: usize = 32;

/// Why a name cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// Not valid modified UTF-7.
    BadMutf7,
    /// Empty levels, control characters, wildcards, too long or deep.
    Invalid,
}

impl NameError {
    /// A client-safe explanation.
    pub fn text(self) -> &'static str {
        match self {
            NameError::BadMutf7 => "Mailbox name is not valid modified UTF-7",
            NameError::Invalid => "Invalid mailbox name",
        }
    }
}

/// The stored form of a name as the client sent it: decoded, `INBOX` in
/// any case (also as the first level) becomes `INBOX`, one trailing
/// delimiter dropped (RFC 9051 §6.3.4: `CREATE foo/` creates `foo`).
pub fn from_wire(sent: &str, utf8: bool) -> Result<String, NameError> {
    let mut name = if utf8 || !sent.is_ascii() {
        sent.to_owned()
    } else {
        mutf7::decode(sent).map_err(|_| NameError::BadMutf7)?
    };
    if name.len() > 1 && name.ends_with(DELIMITER) {
        name.pop();
    }
    Ok(normalize_inbox(name))
}

/// `INBOX` (and `INBOX/...`) in canonical case.
pub fn normalize_inbox(name: String) -> String {
    let first = name.split(DELIMITER).next().unwrap_or_default();
    if first.eq_ignore_ascii_case("INBOX") && first != "INBOX" {
        format!("INBOX{}", &name[first.len()..])
    } else {
        name
    }
}

/// Checks a name that is about to be created or renamed to.
pub fn check_new(name: &str) -> Result<(), NameError> {
    let levels = name.split(DELIMITER);
    let bad = name.is_empty()
        || name.len() > MAX_NAME
        || name.split(DELIMITER).count() > MAX_LEVELS
        || name.chars().any(|c| c.is_control() || c == '*' || c == '%')
        || levels.into_iter().any(str::is_empty);
    if bad { Err(NameError::Invalid) } else { Ok(()) }
}

/// A LIST pattern as the client sent it, in stored form (wildcards kept).
/// A pattern that is not valid modified UTF-7 is taken as it is: it then
/// matches no stored name that needs encoding, and LIST answers OK.
pub fn pattern_from_wire(sent: &str, utf8: bool) -> Result<String, NameError> {
    if utf8 || !sent.is_ascii() {
        Ok(sent.to_owned())
    } else {
        Ok(mutf7::decode(sent).unwrap_or_else(|_| sent.to_owned()))
    }
}

/// Writes a stored name as the client expects it (`mailbox` in RFC 9051 §9).
pub fn write(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 {
        encode::astring_utf8(out, name.as_bytes());
    } else {
        encode::mailbox_name(out, &mutf7::encode(name));
    }
}

/// Whether `name` is below `parent` in the hierarchy.
pub fn is_inferior(name: &str, parent: &str) -> bool {
    name.len() > parent.len() + 1
        && name.starts_with(parent)
        && name[parent.len()..].starts_with(DELIMITER)
}

/// The names of the levels above `name`: `a/b/c` gives `a`, `a/b`.
pub fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(DELIMITER).map(move |(i, _)| &name[..i])
}

/// RFC 9051 §6.3.9 wildcards: `*` matches anything, `%` anything but the
/// delimiter. A leading `INBOX` matches case-insensitively. Linear in the
/// name per pattern character, iterative, and safe on any UTF-8.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern = normalize_inbox(pattern.to_owned());
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // reach[i]: the pattern so far can match n[..i].
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut carried = false;
                for i in 0..=n.len() {
                    if pc == '%' && i > 0 && n[i - 1] == DELIMITER {
                        carried = false;
                    }
                    carried |= reach[i];
                    next[i] = carried;
                }
            }
            c => {
                for i in 0..n.len() {
                    if reach[i] && n[i] == c {
                        next[i + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(from_wire("inbox", false).unwrap(), "INBOX");
        assert_eq!(from_wire("Inbox/Sub", false).unwrap(), "INBOX/Sub");
        assert_eq!(from_wire("INBOXES", false).unwrap(), "INBOXES");
        assert_eq!(from_wire("foo/", false).unwrap(), "foo");
        assert_eq!(from_wire("Entw&APw-rfe", false).unwrap(), "Entwürfe");
        assert_eq!(from_wire("Entwürfe", false).unwrap(), "Entwürfe");
        assert_eq!(from_wire("a&b", true).unwrap(), "a&b");
        assert_eq!(from_wire("a&b", false), Err(NameError::BadMutf7));
        let mut out = Vec::new();
        write(&mut out, "Entwürfe", false);
        assert_eq!(out, b"Entw&APw-rfe");
        let mut out = Vec::new();
        write(&mut out, "Entwürfe", true);
        assert_eq!(out, "\"Entwürfe\"".as_bytes());
    }

    #[test]
    fn new_names_are_checked() {
        assert!(check_new("a/b").is_ok());
        for bad in ["", "a//b", "/a", "a*", "50%", "a\u{7}", &"x/".repeat(40)] {
            assert!(check_new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc_wildcards() {
        let m = wildcard_match;
        assert!(m("*", "INBOX"));
        assert!(m("*", "a/b/c"));
        assert!(m("%", "Sent"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("inbox", "INBOX"));
        assert!(!m("Sent", "Sentx"));
        assert!(m("S*t", "Sent"));
        assert!(m("%/b", "a/b"));
        // Regression: a multi-byte pattern used to be sliced mid-character.
        assert!(!m("€€", "INBOX"));
        assert!(m("€€", "€€"));
        assert!(m("%t*4", "test3/test4"));
    }

    #[test]
    fn hierarchy() {
        assert!(is_inferior("a/b", "a"));
        assert!(!is_inferior("ab", "a"));
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a", "a/b"]);
    }
}
