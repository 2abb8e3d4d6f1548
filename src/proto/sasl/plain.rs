//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while},
    combinator::all_consuming,
};

use super::SaslError;
use crate::proto::secret::Secret;

/// A decoded PLAIN message (RFC 4616 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    /// The identity to act as, when it differs from `authcid`.
    pub authzid: Option<String>,
    /// The identity whose password this is.
    pub authcid: String,
    /// The password, or a token some clients send in its place. Kept as
    /// bytes: only NUL is excluded.
    pub password: Secret,
}

/// `UTF8NUL = %x00` (RFC 4616 §2).
fn utf8_nul(i: &[u8]) -> IResult<&[u8], &[u8]> {
    tag(&b"\0"[..]).parse(i)
}

/// `*SAFE`, `SAFE = UTF1 / UTF2 / UTF3 / UTF4` (RFC 4616 §2): any bytes but
/// NUL; the `1*` of `authcid` and `passwd` and the UTF-8 of the names are
/// checked afterwards, to give precise errors.
fn safe(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(|b: u8| b != 0).parse(i)
}

/// The three fields of a PLAIN message: authzid, authcid, passwd.
type Fields<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd` (RFC 4616 §2).
fn message(i: &[u8]) -> IResult<&[u8], Fields<'_>> {
    (safe, utf8_nul, safe, utf8_nul, safe)
        .map(|(z, _, c, _, p)| (z, c, p))
        .parse(i)
}

/// Parses a decoded PLAIN message (RFC 4616 §2). An empty authzid means
/// none; authcid and password must not be empty.
pub fn parse_plain(msg: &[u8]) -> Result<Plain, SaslError> {
    let (_, (authzid, authcid, password)) = all_consuming(message)
        .parse(msg)
        .map_err(|_| SaslError::Malformed("expected authzid NUL authcid NUL password"))?;
    if authcid.is_empty() {
        return Err(SaslError::MissingUser);
    }
    if password.is_empty() {
        return Err(SaslError::MissingPassword);
    }
    let utf8 = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::InvalidUtf8);
    Ok(Plain {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(utf8(authzid)?)
        },
        authcid: utf8(authcid)?,
        password: Secret::new(password),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sasl::decode_base64;

    #[test]
    fn rfc4616_section4_examples() {
        let p = parse_plain(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!((p.authzid, p.authcid.as_str()), (None, "tim"));
        assert_eq!(p.password.expose(), b"tanstaaftanstaaf");
        let p = parse_plain(b"Ursel\0Kurt\0xipj3plmq").unwrap();
        assert_eq!(
            (p.authzid.as_deref(), p.authcid.as_str()),
            (Some("Ursel"), "Kurt")
        );
        assert_eq!(p.password.expose(), b"xipj3plmq");
    }

    #[test]
    fn rfc4954_section7_example() {
        // "C: AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=" is "test\0test\01234".
        let p = parse_plain(decode_base64(b"dGVzdAB0ZXN0ADEyMzQ=").unwrap().expose()).unwrap();
        assert_eq!(
            (p.authzid.as_deref(), p.authcid.as_str()),
            (Some("test"), "test")
        );
        assert_eq!(p.password.expose(), b"1234");
    }

    #[test]
    fn utf8_names_and_8bit_passwords() {
        let p = parse_plain("\0jöhn\0pässwörd".as_bytes()).unwrap();
        assert_eq!(p.authcid, "jöhn");
        let p = parse_plain(b"\0john\0\xff\xfe").unwrap();
        assert_eq!(p.password.expose(), b"\xff\xfe");
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_plain(b"\0\0pw"), Err(SaslError::MissingUser));
        assert_eq!(parse_plain(b"\0tim\0"), Err(SaslError::MissingPassword));
        assert_eq!(parse_plain(b"\0\xff\0pw"), Err(SaslError::InvalidUtf8));
        assert_eq!(parse_plain(b"\xff\0tim\0pw"), Err(SaslError::InvalidUtf8));
        for bad in [&b""[..], b"tim", b"tim\0pw", b"a\0b\0c\0d"] {
            assert!(
                matches!(parse_plain(bad), Err(SaslError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let p = parse_plain(b"\0tim\0hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
