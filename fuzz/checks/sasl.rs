//! Fuzzes every SASL decoder on arbitrary bytes: base64 (which must round
//! trip through the server's own encoding), response lines, OAUTHBEARER,
//! XOAUTH2, PLAIN, LOGIN and mechanism names. Nothing may panic, and what
//! parses must hold what the types promise.

use tokenmail::proto::sasl::{
    Mechanism, OAuthBearerReply, decode_base64, decode_response_line, encode_base64,
    oauthbearer_error, parse_login_username, parse_oauthbearer, parse_oauthbearer_reply,
    parse_plain, parse_xoauth2, xoauth2_error,
};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    if let Ok(decoded) = decode_base64(data) {
        let again = decode_base64(encode_base64(decoded.expose()).as_bytes());
        assert_eq!(again.as_ref(), Ok(&decoded));
    }
    let _ = decode_response_line(data);

    if let Ok(OAuthBearerReply::Credentials(c)) = parse_oauthbearer_reply(data) {
        assert!(!c.token.is_empty());
        assert!(c.token.expose().iter().all(|b| (0x21..=0x7e).contains(b)));
    }
    let _ = parse_oauthbearer(data);
    if let Ok(x) = parse_xoauth2(data) {
        assert!(!x.user.is_empty() && !x.token.is_empty());
    }
    if let Ok(p) = parse_plain(data) {
        assert!(!p.authcid.is_empty() && !p.password.is_empty());
        assert!(!p.password.expose().contains(&0));
    }
    let _ = parse_login_username(data);

    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(m) = Mechanism::from_name(text) {
            assert!(m.name().eq_ignore_ascii_case(text));
        }
        let _ = oauthbearer_error(text, Some(text), Some(text));
        let _ = xoauth2_error(text);
    }
}
