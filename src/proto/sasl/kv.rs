//! The key/value pairs shared by OAUTHBEARER (RFC 7628 §3.1) and Google's
//! XOAUTH2, and the bearer credentials in their `auth` value
//! (RFC 6750 §2.1).

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while, take_while1},
    combinator::all_consuming,
    sequence::{separated_pair, terminated},
};

use super::SaslError;
use crate::proto::secret::Secret;

/// A `key "=" value` pair as sent (RFC 7628 §3.1).
pub(crate) type KvPair<'a> = (&'a [u8], &'a [u8]);

/// `kvsep = %x01` (RFC 7628 §3.1).
pub(crate) fn kvsep(i: &[u8]) -> IResult<&[u8], &[u8]> {
    tag(&b"\x01"[..]).parse(i)
}

/// `key = 1*(ALPHA)` (RFC 7628 §3.1).
pub(crate) fn key(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphabetic()).parse(i)
}

/// `value = *(VCHAR / SP / HTAB / CR / LF )` (RFC 7628 §3.1), widened to
/// any byte but `kvsep`: unknown keys must be ignored (RFC 7628 §3.1), so
/// their values must not make the message fail.
pub(crate) fn value(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(|b: u8| b != 0x01).parse(i)
}

/// `key "=" value`, the pair without its `kvsep`.
pub(crate) fn pair(i: &[u8]) -> IResult<&[u8], KvPair<'_>> {
    separated_pair(key, tag(&b"="[..]), value).parse(i)
}

/// `kvpair = key "=" value kvsep` (RFC 7628 §3.1).
pub(crate) fn kvpair(i: &[u8]) -> IResult<&[u8], KvPair<'_>> {
    terminated(pair, kvsep).parse(i)
}

/// `auth-scheme = token` (RFC 9110 §11.1), here anything up to a space.
fn auth_scheme(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b != b' ').parse(i)
}

/// `1*SP` (RFC 6750 §2.1).
fn spaces(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b == b' ').parse(i)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
/// (RFC 6750 §2.1), widened to `access-token = 1*VSCHAR` without space
/// (RFC 6749 §A.12) so opaque tokens of any issuer pass.
fn b64token(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| (0x21..=0x7e).contains(&b)).parse(i)
}

/// The token of an `auth` value: `credentials = "Bearer" 1*SP b64token`
/// (RFC 6750 §2.1). The scheme is case-insensitive (RFC 7628 §4); trailing
/// white space is dropped.
pub(crate) fn bearer_token(auth: &[u8]) -> Result<Secret, SaslError> {
    let Ok((rest, scheme)) = auth_scheme(auth) else {
        return Err(SaslError::MissingToken);
    };
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return Err(SaslError::UnsupportedScheme);
    }
    let rest = rest.trim_ascii_end();
    if rest.is_empty() {
        return Err(SaslError::MissingToken);
    }
    // The scheme ran up to a space, so `rest` starts with one.
    let (token, _) = spaces(rest).map_err(|_| SaslError::Malformed("no space after Bearer"))?;
    all_consuming(b64token)
        .parse(token)
        .map(|(_, t)| Secret::new(t))
        .map_err(|_| SaslError::Malformed("invalid characters in token"))
}

/// Checks that a known key appears once, storing its value.
pub(crate) fn set_once<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) -> Result<(), SaslError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(SaslError::Malformed("repeated key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(s: &[u8]) -> Result<Vec<u8>, SaslError> {
        bearer_token(s).map(Secret::into_inner)
    }

    #[test]
    fn bearer_scheme_any_case() {
        for auth in [
            &b"Bearer abc"[..],
            b"bearer abc",
            b"BEARER abc",
            b"BeArEr   abc",
            b"Bearer abc \r\n",
        ] {
            assert_eq!(
                token(auth).unwrap(),
                b"abc",
                "{:?}",
                String::from_utf8_lossy(auth)
            );
        }
        assert_eq!(
            token(b"Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==").unwrap(),
            b"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        );
    }

    #[test]
    fn bearer_refusals() {
        assert_eq!(token(b""), Err(SaslError::MissingToken));
        assert_eq!(token(b"Bearer"), Err(SaslError::MissingToken));
        assert_eq!(token(b"Bearer   "), Err(SaslError::MissingToken));
        assert_eq!(
            token(b"Basic dXNlcjpwYXNz"),
            Err(SaslError::UnsupportedScheme)
        );
        assert_eq!(
            token(b"OAuth realm=\"Example\""),
            Err(SaslError::UnsupportedScheme)
        );
        assert_eq!(token(b"Bearerabc"), Err(SaslError::UnsupportedScheme));
        assert!(matches!(token(b"Bearer a b"), Err(SaslError::Malformed(_))));
        assert!(matches!(
            token(b"Bearer \tabc"),
            Err(SaslError::Malformed(_))
        ));
        assert!(matches!(
            token("Bearer tökén".as_bytes()),
            Err(SaslError::Malformed(_))
        ));
    }

    #[test]
    fn pairs() {
        assert_eq!(
            kvpair(b"host=a\x01rest"),
            Ok((&b"rest"[..], (&b"host"[..], &b"a"[..])))
        );
        assert_eq!(
            kvpair(b"auth=\x01"),
            Ok((&b""[..], (&b"auth"[..], &b""[..])))
        );
        assert!(kvpair(b"=a\x01").is_err());
        assert!(kvpair(b"h1=a\x01").is_err());
        assert!(kvpair(b"host=a").is_err());
    }
}
