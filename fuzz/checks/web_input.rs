//! Fuzzes what arrives from outside at the HTTP service and the login's
//! app-password check: URL query decoding, the Outlook autodiscover
//! request, app-password normalization, the control socket's JSON
//! requests, and the account page's cookies, form bodies and
//! `Accept-Language`. Nothing may panic, and what parses must hold what the types
//! promise.

use tokenmail::account::control::Request;
use tokenmail::auth::app_password::{LETTERS, normalize};
use tokenmail::proto::markup::escape as xml_escape;
use tokenmail::proto::urlencoded::{decode as percent_decode, pairs, param as query_param};
use tokenmail::web::portal::cookie::{Sealer, get as cookie_get};
use tokenmail::web::portal::text::negotiate;
use tokenmail::web::autoconfig::{autodiscover_address, url_host};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    if let Some(letters) = normalize(data) {
        assert_eq!(letters.len(), LETTERS);
        assert_eq!(normalize(letters.as_bytes()).as_deref(), Some(letters.as_str()));
    }
    let _ = serde_json::from_slice::<Request>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = percent_decode(text);
    assert!(decoded.len() <= text.len() * 3);
    let _ = query_param(text, "emailaddress");
    if let Some(addr) = autodiscover_address(text) {
        assert!(addr.contains('@') && addr.len() <= 320);
    }
    let escaped = xml_escape(text);
    assert!(!escaped.contains('<') && !escaped.contains('"'));
    let _ = url_host(text);
    assert!(pairs(text).len() <= 256);
    if let Some(v) = cookie_get([text], "tm_session") {
        assert!(!v.contains(';'));
        // A value nobody sealed never opens; one we sealed opens while
        // it fits in a cookie (2 KiB: a payload up to 1,400 bytes).
        let sealer = Sealer::new(&[0x5a; 32], "fuzz");
        assert!(sealer.open(v).is_none());
        let sealed = sealer.seal(v.as_bytes());
        if v.len() <= 1400 {
            assert_eq!(sealer.open(&sealed).as_deref(), Some(v.as_bytes()));
        }
    }
    let _ = negotiate(query_param(text, "lang").as_deref(), Some(text));
}
