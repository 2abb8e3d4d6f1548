//! `application/x-www-form-urlencoded` (the WHATWG URL Standard §5): URL
//! queries and HTML form bodies, as the HTTP service and the development
//! issuer read and write them. Pure.

use std::collections::HashMap;

/// Decodes one component: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits stays as it is. Invalid UTF-8 becomes U+FFFD.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes one component: everything but `A-Z a-z 0-9 - . _ ~` as `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// All `name=value` pairs of a query or form body; a repeated name keeps
/// its last value.
pub fn parse(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Every `name=value` pair in order, repeated names kept (a form's
/// checkboxes), at most 256 of them.
pub fn pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .take(256)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first value of `name` (compared without case), decoded.
pub fn param(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        decode(k).eq_ignore_ascii_case(name).then(|| decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_round_trips() {
        assert_eq!(decode("a+b%20c"), "a b c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%41"), "%zzA");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode(&encode("a b&c=é/?")), "a b&c=é/?");
        let f = parse("a=1&b=x%20y+z&c=%2&a=2");
        assert_eq!((f["a"].as_str(), f["b"].as_str(), f["c"].as_str()), ("2", "x y z", "%2"));
        assert_eq!(param("X=1&EmailAddress=a%40b", "emailaddress").as_deref(), Some("a@b"));
        assert_eq!(param("x=1", "y"), None);
        assert_eq!(
            param("a=1&emailaddress=alice%40example.test", "emailaddress").as_deref(),
            Some("alice@example.test")
        );
        assert_eq!(param("EmailAddress=a+b", "emailaddress").as_deref(), Some("a b"));
        assert_eq!(param("x=1", "emailaddress"), None);
    }
}
