//! LOGIN, the obsolete but ubiquitous mechanism (draft-murchison-sasl-login):
//! the server asks `Username:` then `Password:`, each in base64, and the
//! client answers one base64 line each (RFC 4954 §4 framing).

use super::SaslError;

/// The first challenge, base64 of `Username:`.
pub const LOGIN_USERNAME_CHALLENGE: &str = "VXNlcm5hbWU6";

/// The second challenge, base64 of `Password:`.
pub const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// Checks the decoded answer to [`LOGIN_USERNAME_CHALLENGE`]: a non-empty
/// UTF-8 name (as PLAIN's authcid, RFC 4616 §2). An initial response to
/// `AUTH LOGIN` (RFC 4954 §4) is this same user name.
pub fn parse_login_username(decoded: &[u8]) -> Result<String, SaslError> {
    if decoded.is_empty() {
        return Err(SaslError::MissingUser);
    }
    String::from_utf8(decoded.to_vec()).map_err(|_| SaslError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sasl::{decode_base64, encode_base64};

    #[test]
    fn challenges_are_the_usual_ones() {
        assert_eq!(encode_base64(b"Username:"), LOGIN_USERNAME_CHALLENGE);
        assert_eq!(encode_base64(b"Password:"), LOGIN_PASSWORD_CHALLENGE);
    }

    #[test]
    fn usernames() {
        let decoded = decode_base64(b"dGVzdEBleGFtcGxlLmNvbQ==").unwrap();
        assert_eq!(
            parse_login_username(decoded.expose()).unwrap(),
            "test@example.com"
        );
        assert_eq!(parse_login_username(b""), Err(SaslError::MissingUser));
        assert_eq!(parse_login_username(b"\xff"), Err(SaslError::InvalidUtf8));
    }
}
