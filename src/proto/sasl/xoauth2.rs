//! XOAUTH2, Google's pre-standard bearer-token mechanism, still the only
//! one Thunderbird desktop and nodemailer speak. Its format is
//! `user=USER ^A auth=Bearer TOKEN ^A ^A`; the error challenge is
//! `{"status":"401","schemes":"bearer","scope":"..."}`, answered by the
//! client with an empty line.

use nom::{
    IResult, Parser,
    combinator::{all_consuming, opt},
    multi::{many0_count, many1},
    sequence::terminated,
};

use super::SaslError;
use super::kv::{KvPair, bearer_token, kvsep, pair, set_once};
use crate::proto::secret::Secret;

/// A decoded XOAUTH2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XOAuth2 {
    /// `user=`, the mailbox the client signs in to, to be checked against
    /// the token.
    pub user: String,
    /// The bearer token of `auth=Bearer TOKEN` (RFC 6750 §2.1).
    pub token: Secret,
}

/// `xoauth2-resp = 1*(key "=" value [kvsep]) *kvsep`: Google's
/// `user=… ^A auth=… ^A ^A`, with `key`, `value` and `kvsep` of RFC 7628
/// §3.1, leniently: the pairs in any order, the final `^A`s optional. A
/// pair without its `^A` can only be the last, as `value` runs to `^A`.
fn xoauth2_resp(i: &[u8]) -> IResult<&[u8], Vec<KvPair<'_>>> {
    terminated(many1(terminated(pair, opt(kvsep))), many0_count(kvsep)).parse(i)
}

/// Parses a decoded XOAUTH2 message. `user` and `auth` (in any case) are
/// required, once each; other keys are ignored.
pub fn parse_xoauth2(msg: &[u8]) -> Result<XOAuth2, SaslError> {
    let (_, pairs) = all_consuming(xoauth2_resp)
        .parse(msg)
        .map_err(|_| SaslError::Malformed("invalid key/value list"))?;
    let (mut user, mut auth) = (None, None);
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_slice() {
            b"user" => set_once(&mut user, value)?,
            b"auth" => set_once(&mut auth, value)?,
            _ => {}
        }
    }
    let user = user
        .filter(|u| !u.is_empty())
        .ok_or(SaslError::MissingUser)?;
    let user = String::from_utf8(user.to_vec()).map_err(|_| SaslError::InvalidUtf8)?;
    let token = bearer_token(auth.ok_or(SaslError::MissingToken)?)?;
    Ok(XOAuth2 { user, token })
}

/// The XOAUTH2 error challenge as JSON (not yet base64):
/// `{"status":"401","schemes":"bearer","scope":SCOPE}`, escaped by
/// serde_json.
pub fn xoauth2_error(scope: &str) -> String {
    let scope = serde_json::Value::String(scope.to_owned());
    format!("{{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":{scope}}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sasl::{decode_base64, encode_base64};

    fn ok(msg: &[u8]) -> XOAuth2 {
        parse_xoauth2(msg).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(msg)))
    }

    #[test]
    fn googles_example() {
        let msg = decode_base64(
            b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==",
        )
        .unwrap();
        let x = ok(msg.expose());
        assert_eq!(x.user, "someuser@example.com");
        assert_eq!(
            x.token.expose(),
            b"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
        );
    }

    #[test]
    fn thunderbird_form() {
        let x = ok(b"user=alice@example.org\x01auth=Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig\x01\x01");
        assert_eq!(x.user, "alice@example.org");
        assert_eq!(x.token.expose(), b"eyJhbGciOiJSUzI1NiJ9.e30.sig");
    }

    #[test]
    fn lenient_forms() {
        for msg in [
            &b"user=u@e\x01auth=Bearer t\x01"[..],
            b"user=u@e\x01auth=Bearer t",
            b"auth=Bearer t\x01user=u@e\x01\x01",
            b"auth=bearer t\x01user=u@e",
            b"user=u@e\x01host=x\x01auth=Bearer t\x01\x01",
        ] {
            let x = ok(msg);
            assert_eq!((x.user.as_str(), x.token.expose()), ("u@e", &b"t"[..]));
        }
    }

    #[test]
    fn sixteen_kib_token() {
        let token = "x".repeat(16 * 1024);
        let msg = format!("user=u@e\x01auth=Bearer {token}\x01\x01");
        let decoded = decode_base64(encode_base64(msg.as_bytes()).as_bytes()).unwrap();
        assert_eq!(ok(decoded.expose()).token.expose(), token.as_bytes());
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse_xoauth2(b"auth=Bearer t\x01\x01"),
            Err(SaslError::MissingUser)
        );
        assert_eq!(
            parse_xoauth2(b"user=\x01auth=Bearer t\x01\x01"),
            Err(SaslError::MissingUser)
        );
        assert_eq!(
            parse_xoauth2(b"user=u\x01\x01"),
            Err(SaslError::MissingToken)
        );
        assert_eq!(
            parse_xoauth2(b"user=u\x01auth=\x01\x01"),
            Err(SaslError::MissingToken)
        );
        assert_eq!(
            parse_xoauth2(b"user=u\x01auth=Basic x\x01\x01"),
            Err(SaslError::UnsupportedScheme)
        );
        assert_eq!(
            parse_xoauth2(b"user=\xff\x01auth=Bearer t\x01\x01"),
            Err(SaslError::InvalidUtf8)
        );
        for bad in [
            &b""[..],
            b"\x01",
            b"\x01\x01",
            b"user=u\x01\x01auth=Bearer t\x01\x01",
            b"user u\x01auth=Bearer t",
            b"user=u\x01user=v\x01auth=Bearer t",
            b"n,a=u,\x01auth=Bearer t\x01\x01",
        ] {
            assert!(
                matches!(parse_xoauth2(bad), Err(SaslError::Malformed(_))),
                "{:?} gave {:?}",
                String::from_utf8_lossy(bad),
                parse_xoauth2(bad)
            );
        }
    }

    #[test]
    fn error_challenge() {
        let json = xoauth2_error("https://mail.google.com/");
        assert_eq!(
            json,
            r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#
        );
        assert_eq!(
            encode_base64(json.as_bytes()),
            "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
        );
        assert_eq!(
            xoauth2_error("a\"b"),
            r#"{"status":"401","schemes":"bearer","scope":"a\"b"}"#
        );
    }
}
