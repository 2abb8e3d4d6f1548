//! Fuzzes what arrives from outside at the HTTP service and the login's
//! app-password check: URL query decoding, the Outlook autodiscover
//! request, app-password normalization and the control socket's JSON
//! requests. Nothing may panic, and what parses must hold what the types
//! promise.

use tokenmail::account::control::Request;
use tokenmail::auth::app_password::{LETTERS, normalize};
use tokenmail::proto::markup::escape as xml_escape;
use tokenmail::proto::urlencoded::{decode as percent_decode, param as query_param};
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
}
