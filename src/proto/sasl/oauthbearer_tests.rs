//! Tests of OAUTHBEARER: RFC 7628 §4 byte for byte, the forms real clients
//! send, and refusals.

use super::*;
use crate::proto::sasl::{decode_base64, encode_base64};

const RFC_TOKEN: &[u8] = b"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";

fn b64(text: &str) -> Vec<u8> {
    decode_base64(text.as_bytes()).unwrap().into_inner()
}

fn creds(msg: &[u8]) -> OAuthBearer {
    parse_oauthbearer(msg).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(msg)))
}

#[test]
fn rfc7628_section_4_1_imap() {
    let msg = b64(concat!(
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhv",
        "c3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI",
        "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQ",
        "EB"
    ));
    assert_eq!(
        msg,
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    );
    assert_eq!(
        creds(&msg),
        OAuthBearer {
            authzid: Some("user@example.com".into()),
            token: Secret::new(RFC_TOKEN),
            host: Some("server.example.com".into()),
            port: Some(143),
        }
    );
}

#[test]
fn rfc7628_section_4_1_smtp() {
    let msg = b64(concat!(
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2Vy",
        "dmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmd",
        "DRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
    ));
    let c = creds(&msg);
    assert_eq!(c.port, Some(587));
    assert_eq!(c.token.expose(), RFC_TOKEN);
}

#[test]
fn rfc7628_section_4_3_failed_exchange() {
    // The client asks for the scope with an empty auth value.
    let msg =
        b64("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9AQE=");
    assert_eq!(
        msg,
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=\x01\x01"
    );
    assert_eq!(parse_oauthbearer(&msg), Err(SaslError::MissingToken));
    // The server's error challenge, byte for byte.
    let json = oauthbearer_error(
        "invalid_token",
        Some("example_scope"),
        Some("https://example.com/.well-known/openid-config"),
    );
    assert_eq!(
        encode_base64(json.as_bytes()),
        concat!(
            "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxl",
            "X3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4",
            "YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWcifQ=="
        )
    );
    // The second exchange of §4.3, with the full discovery URL.
    let json = oauthbearer_error(
        "invalid_token",
        Some("example_scope"),
        Some("https://example.com/.well-known/openid-configuration"),
    );
    assert_eq!(
        encode_base64(json.as_bytes()),
        concat!(
            "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxl",
            "X3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4",
            "YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9u",
            "In0="
        )
    );
    // The client's dummy reply "AQ==".
    assert_eq!(
        parse_oauthbearer_reply(&b64("AQ==")),
        Ok(OAuthBearerReply::Dummy)
    );
}

#[test]
fn rfc7628_section_4_4_erratum_form_is_refused() {
    // §4.4 shows "n,user=...," which is not a gs2-header.
    let msg = b64(
        "bix1c2VyPXNvbWV1c2VyQGV4YW1wbGUuY29tLAFhdXRoPUJlYXJlciB2RjlkZnQ0cW1UYzJOdmIzUmxja0JoZEhSaGRtbHpkR0V1WTI5dENnPT0BAQ==",
    );
    assert!(msg.starts_with(b"n,user=someuser@example.com,\x01"));
    assert!(matches!(
        parse_oauthbearer(&msg),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn k9_without_host_and_port() {
    let c = creds(b"n,a=user@example.com,\x01auth=Bearer eyJhbGciOi.x.y\x01\x01");
    assert_eq!(c.authzid.as_deref(), Some("user@example.com"));
    assert_eq!(c.token.expose(), b"eyJhbGciOi.x.y");
    assert_eq!((c.host, c.port), (None, None));
}

#[test]
fn curl_with_host_and_port() {
    let c = creds(b"n,a=user,\x01host=mail.example.com\x01port=587\x01auth=Bearer tok\x01\x01");
    assert_eq!(c.authzid.as_deref(), Some("user"));
    assert_eq!(c.host.as_deref(), Some("mail.example.com"));
    assert_eq!(c.port, Some(587));
}

#[test]
fn without_authzid_and_other_gs2_flags() {
    for msg in [
        &b"n,,\x01auth=Bearer t\x01\x01"[..],
        b"y,,\x01auth=Bearer t\x01\x01",
        b"F,n,,\x01auth=Bearer t\x01\x01",
    ] {
        let c = creds(msg);
        assert_eq!(c.authzid, None);
        assert_eq!(c.token.expose(), b"t");
    }
}

#[test]
fn authzid_escapes() {
    let c = creds(b"n,a=odd=2Cname=3Dx@example.com,\x01auth=Bearer t\x01\x01");
    assert_eq!(c.authzid.as_deref(), Some("odd,name=x@example.com"));
    let c = creds("n,a=jöhn@exämple.de,\x01auth=Bearer t\x01\x01".as_bytes());
    assert_eq!(c.authzid.as_deref(), Some("jöhn@exämple.de"));
    assert_eq!(
        parse_oauthbearer(b"n,a=\xff,\x01auth=Bearer t\x01\x01"),
        Err(SaslError::InvalidUtf8)
    );
    assert!(matches!(
        parse_oauthbearer(b"n,a=a=2D,\x01auth=Bearer t\x01\x01"),
        Err(SaslError::Malformed(_))
    ));
    assert!(matches!(
        parse_oauthbearer(b"n,a=a,b,\x01auth=Bearer t\x01\x01"),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn scheme_is_case_insensitive() {
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let msg = format!("n,,\x01auth={scheme} t\x01\x01");
        assert_eq!(creds(msg.as_bytes()).token.expose(), b"t");
    }
}

#[test]
fn sixteen_kib_token() {
    let token = "A".repeat(16 * 1024);
    let msg = format!("n,a=u@example.com,\x01auth=Bearer {token}\x01\x01");
    let wire = encode_base64(msg.as_bytes());
    let c = creds(&b64(&wire));
    assert_eq!(c.token.expose(), token.as_bytes());
}

#[test]
fn unknown_keys_are_ignored() {
    let c = creds(b"n,,\x01mthd=POST\x01qs=\x01path=/\x01Auth=Bearer t\x01x=\xff\x01\x01");
    assert_eq!(c.token.expose(), b"t");
}

#[test]
fn channel_binding_is_refused() {
    let msg = b"p=tls-unique,a=u,\x01auth=Bearer t\x01\x01";
    assert_eq!(
        parse_oauthbearer(msg),
        Err(SaslError::ChannelBindingUnsupported)
    );
}

#[test]
fn dummy_replies() {
    assert_eq!(
        parse_oauthbearer_reply(b"\x01"),
        Ok(OAuthBearerReply::Dummy)
    );
    assert_eq!(parse_oauthbearer_reply(b""), Ok(OAuthBearerReply::Dummy));
    assert!(parse_oauthbearer(b"\x01").is_err());
    assert!(matches!(
        parse_oauthbearer_reply(b"n,,\x01auth=Bearer t\x01\x01"),
        Ok(OAuthBearerReply::Credentials(_))
    ));
}

#[test]
fn refusals() {
    let malformed = [
        &b"n,,auth=Bearer t\x01\x01"[..],
        b"n,,\x01auth=Bearer t\x01",
        b"n,,\x01auth=Bearer t",
        b"n,,\x01auth=Bearer t\x01\x01\x01",
        b"n,,\x01auth=Bearer t\x01\x01x",
        b"n,,\x01=x\x01auth=Bearer t\x01\x01",
        b"n,,\x01port=abc\x01auth=Bearer t\x01\x01",
        b"n,,\x01port=70000\x01auth=Bearer t\x01\x01",
        b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01",
        b"\x01\x01",
        b"user=a\x01auth=Bearer t\x01\x01",
    ];
    for msg in malformed {
        assert!(
            matches!(parse_oauthbearer(msg), Err(SaslError::Malformed(_))),
            "{:?} gave {:?}",
            String::from_utf8_lossy(msg),
            parse_oauthbearer(msg)
        );
    }
    assert_eq!(
        parse_oauthbearer(b"n,,\x01host=h\x01\x01"),
        Err(SaslError::MissingToken)
    );
    assert_eq!(
        parse_oauthbearer(b"n,,\x01auth=Bearer \x01\x01"),
        Err(SaslError::MissingToken)
    );
    assert_eq!(
        parse_oauthbearer(b"n,,\x01auth=OAuth realm=\"Example\"\x01\x01"),
        Err(SaslError::UnsupportedScheme)
    );
}

#[test]
fn error_json_escapes_and_omits() {
    assert_eq!(
        oauthbearer_error("invalid_token", None, None),
        r#"{"status":"invalid_token"}"#
    );
    assert_eq!(
        oauthbearer_error("400", Some("a \"b\"\\"), None),
        r#"{"status":"400","scope":"a \"b\"\\"}"#
    );
    let json: serde_json::Value =
        serde_json::from_str(&oauthbearer_error("x\n", Some("s"), Some("u"))).unwrap();
    assert_eq!(json["status"], "x\n");
    assert_eq!(json["openid-configuration"], "u");
}

#[test]
fn debug_hides_the_token() {
    let c = creds(b"n,,\x01auth=Bearer supersecret\x01\x01");
    assert!(!format!("{c:?}").contains("supersecret"));
}
