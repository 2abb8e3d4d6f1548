//! The account page's cookies (RFC 6265): values sealed with HMAC-SHA256
//! under a key derived from the store's secret, so the server keeps no
//! session table. Pure apart from the key.
//!
//! A sealed value is `base64url(payload) "." base64url(tag)`; a value
//! whose tag does not verify (in constant time) is treated as absent.
//! Each use (the session, a sign-in in progress, CSRF tokens) has its own
//! key, so a value made for one cannot stand in for another.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest cookie value read; a sealed session is about 200 bytes.
const MAX_VALUE: usize = 2048;

/// Seals and opens values for one purpose.
pub struct Sealer {
    key: hmac::Key,
}

impl Sealer {
    /// The sealer for `purpose`, its key HMAC-SHA256(`secret`, `purpose`).
    pub fn new(secret: &[u8; 32], purpose: &str) -> Sealer {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&root, purpose.as_bytes());
        Sealer {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// `payload` with its tag.
    pub fn seal(&self, payload: &[u8]) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), self.tag(payload))
    }

    /// The payload of a value [`Sealer::seal`] made, or `None`.
    pub fn open(&self, value: &str) -> Option<Vec<u8>> {
        if value.len() > MAX_VALUE {
            return None;
        }
        let (payload, tag) = value.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, &payload, &tag).ok()?;
        Some(payload)
    }

    /// The tag of `data`, base64url: a CSRF token when `data` is a
    /// session's id.
    pub fn tag(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, data))
    }

    /// Whether `tag` is the tag of `data`, in constant time.
    pub fn verify(&self, data: &[u8], tag: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(tag)
            .is_ok_and(|t| hmac::verify(&self.key, data, &t).is_ok())
    }
}

/// The value of cookie `name` in `Cookie` header fields (RFC 6265 §5.4:
/// `name=value` pairs separated by `;`), the first one when repeated.
pub fn get<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers.into_iter().find_map(|h| {
        h.split(';').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
    })
}

/// A `Set-Cookie` field value (RFC 6265 §4.1, RFC 6265bis `SameSite`):
/// always `Secure; HttpOnly; SameSite=Lax`; `max_age` 0 removes it.
pub fn set(name: &str, value: &str, path: &str, max_age: i64) -> String {
    format!("{name}={value}; Path={path}; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let a = Sealer::new(&[7; 32], "session");
        let b = Sealer::new(&[7; 32], "login");
        let c = Sealer::new(&[8; 32], "session");
        let v = a.seal(b"{\"a\":1}");
        assert_eq!(a.open(&v).as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(b.open(&v), None);
        assert_eq!(c.open(&v), None);
        let (p, t) = v.split_once('.').unwrap();
        let forged = format!("{}.{t}", URL_SAFE_NO_PAD.encode(b"{\"a\":2}"));
        assert_eq!(a.open(&forged), None);
        assert_eq!(a.open(p), None);
        assert_eq!(a.open(""), None);
        assert_eq!(a.open(&"x.".repeat(2000)), None);
        assert!(a.verify(b"id", &a.tag(b"id")));
        assert!(!a.verify(b"id2", &a.tag(b"id")));
        assert!(!b.verify(b"id", &a.tag(b"id")));
        assert!(!a.verify(b"id", "!!"));
    }

    #[test]
    fn cookie_headers() {
        let h = ["a=1; tm_session=abc.def", "tm_session=second"];
        assert_eq!(get(h, "tm_session"), Some("abc.def"));
        assert_eq!(get(h, "a"), Some("1"));
        assert_eq!(get(["x=\"q\""], "x"), Some("q"));
        assert_eq!(get(h, "tm"), None);
        assert_eq!(
            set("tm_session", "v", "/account/", 60),
            "tm_session=v; Path=/account/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
        );
    }
}
