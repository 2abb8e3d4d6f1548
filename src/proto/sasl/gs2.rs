//! The GS2 header that starts an OAUTHBEARER message (RFC 5801 §4, as
//! RFC 7628 §3.1 uses it).

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, tag_no_case, take_while1},
    combinator::{opt, recognize},
    multi::many1_count,
    sequence::{preceded, terminated},
};

use super::SaslError;

/// `gs2-cb-flag` (RFC 5801 §4): what the client says about channel binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CbFlag<'a> {
    /// `n`: the client does not support channel binding.
    NotSupported,
    /// `y`: the client supports it but thinks the server does not.
    ClientOnly,
    /// `p=cb-name`: the client requires channel binding of this type.
    Required(&'a [u8]),
}

/// A parsed `gs2-header`; the authzid still carries its `=2C`/`=3D`
/// escapes (see [`decode_saslname`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gs2Header<'a> {
    /// The channel-binding flag.
    pub cb: CbFlag<'a>,
    /// `a=` as sent, if present.
    pub authzid: Option<&'a [u8]>,
}

/// `gs2-nonstd-flag = "F"` (RFC 5801 §4); accepted and ignored, it only
/// concerns GSS-API token framing.
fn gs2_nonstd_flag(i: &[u8]) -> IResult<&[u8], &[u8]> {
    tag(&b"F"[..]).parse(i)
}

/// `cb-name = 1*(ALPHA / DIGIT / "." / "-")` (RFC 5801 §4).
fn cb_name(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-').parse(i)
}

/// `gs2-cb-flag = ("p=" cb-name) / "n" / "y"` (RFC 5801 §4).
fn gs2_cb_flag(i: &[u8]) -> IResult<&[u8], CbFlag<'_>> {
    alt((
        preceded(tag(&b"p="[..]), cb_name).map(CbFlag::Required),
        tag(&b"n"[..]).map(|_| CbFlag::NotSupported),
        tag(&b"y"[..]).map(|_| CbFlag::ClientOnly),
    ))
    .parse(i)
}

/// `UTF8-char-safe = UTF8-1-safe / UTF8-2 / UTF8-3 / UTF8-4`,
/// `UTF8-1-safe = %x01-2B / %x2D-3C / %x3E-7F` (RFC 5801 §4): any byte
/// but NUL, `,` and `=`; the UTF-8 itself is checked after unescaping.
fn is_utf8_char_safe(b: u8) -> bool {
    b != 0 && b != b',' && b != b'='
}

/// `saslname = 1*(UTF8-char-safe / "=2C" / "=3D")` (RFC 5801 §4); the
/// escapes are accepted in either case.
fn saslname(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(many1_count(alt((
        take_while1(is_utf8_char_safe),
        tag_no_case(&b"=2C"[..]),
        tag_no_case(&b"=3D"[..]),
    ))))
    .parse(i)
}

/// `gs2-authzid = "a=" saslname` (RFC 5801 §4).
fn gs2_authzid(i: &[u8]) -> IResult<&[u8], &[u8]> {
    preceded(tag(&b"a="[..]), saslname).parse(i)
}

/// `gs2-header = [gs2-nonstd-flag ","] gs2-cb-flag "," [gs2-authzid] ","`
/// (RFC 5801 §4).
pub(crate) fn gs2_header(i: &[u8]) -> IResult<&[u8], Gs2Header<'_>> {
    (
        opt(terminated(gs2_nonstd_flag, tag(&b","[..]))),
        terminated(gs2_cb_flag, tag(&b","[..])),
        terminated(opt(gs2_authzid), tag(&b","[..])),
    )
        .map(|(_, cb, authzid)| Gs2Header { cb, authzid })
        .parse(i)
}

/// Undoes the `=2C` (`,`) and `=3D` (`=`) escapes of a `saslname`
/// (RFC 5801 §4) and checks the result is UTF-8.
pub(crate) fn decode_saslname(name: &[u8]) -> Result<String, SaslError> {
    let mut out = Vec::with_capacity(name.len());
    let mut rest = name;
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'=' {
            out.push(b);
            rest = tail;
            continue;
        }
        let escape = tail
            .get(..2)
            .ok_or(SaslError::Malformed("bad escape in authzid"))?;
        out.push(match escape.to_ascii_uppercase().as_slice() {
            b"2C" => b',',
            b"3D" => b'=',
            _ => return Err(SaslError::Malformed("bad escape in authzid")),
        });
        rest = &tail[2..];
    }
    String::from_utf8(out).map_err(|_| SaslError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &[u8]) -> Option<(&[u8], Gs2Header<'_>)> {
        gs2_header(s).ok()
    }

    #[test]
    fn forms() {
        let none = Gs2Header {
            cb: CbFlag::NotSupported,
            authzid: None,
        };
        assert_eq!(header(b"n,,\x01"), Some((&b"\x01"[..], none)));
        assert_eq!(header(b"y,,").unwrap().1.cb, CbFlag::ClientOnly);
        assert_eq!(header(b"F,n,,").unwrap().1, none);
        assert_eq!(
            header(b"p=tls-unique,,").unwrap().1.cb,
            CbFlag::Required(b"tls-unique")
        );
        assert_eq!(
            header(b"n,a=user@example.com,").unwrap().1.authzid,
            Some(&b"user@example.com"[..])
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            &b""[..],
            b"n",
            b"n,",
            b"x,,",
            b"n,a=,",
            b"n,user=a,",
            b"n,a=a,b,",
            b"p=,,",
            b"n,a=a=2D,",
        ] {
            let parsed = gs2_header(bad);
            let complete = matches!(parsed, Ok((rest, _)) if rest.is_empty());
            assert!(!complete, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn saslname_escapes() {
        assert_eq!(decode_saslname(b"a=2Cb=3Dc").unwrap(), "a,b=c");
        assert_eq!(decode_saslname(b"a=2cb=3dc").unwrap(), "a,b=c");
        assert_eq!(decode_saslname("jöhn".as_bytes()).unwrap(), "jöhn");
        assert!(decode_saslname(b"a=2").is_err());
        assert!(decode_saslname(b"a=41").is_err());
        assert_eq!(decode_saslname(b"\xff"), Err(SaslError::InvalidUtf8));
    }
}
