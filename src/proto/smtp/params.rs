//! ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2) and the MAIL
//! parameters this server understands: SIZE (RFC 1870), BODY (RFC 6152,
//! RFC 3030), SMTPUTF8 (RFC 6531) and AUTH (RFC 4954 §5).

use nom::{
    IResult, Parser,
    bytes::complete::take_while1,
    character::complete::{char, space1},
    combinator::{opt, verify},
    multi::separated_list1,
    sequence::preceded,
};

/// The `BODY=` parameter of MAIL (RFC 6152 §2, RFC 3030 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `BODY=7BIT` (RFC 6152 §2).
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152 §2).
    EightBitMime,
    /// `BODY=BINARYMIME`, only with BDAT (RFC 3030 §3).
    BinaryMime,
}

/// The parameters of `MAIL FROM` (RFC 5321 §4.1.1.2), the known ones
/// decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n`, the client's estimate in octets (RFC 1870 §6); a value too
    /// big for `u64` saturates, to be refused as too large.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152 §2, RFC 3030 §3).
    pub body: Option<Body>,
    /// `SMTPUTF8` was given (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `AUTH=`, xtext-decoded (RFC 4954 §5, RFC 3461 §4); `<>` when the
    /// client does not vouch for the sender.
    pub auth: Option<String>,
    /// Other parameters, keyword upper-cased and value as sent, for the
    /// session to accept or refuse with 555 (RFC 5321 §4.1.1.11).
    pub other: Vec<(String, Option<String>)>,
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` (RFC 5321 §4.1.2).
fn esmtp_keyword(i: &str) -> IResult<&str, &str> {
    verify(
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-'),
        |k: &str| !k.starts_with('-'),
    )
    .parse(i)
}

/// `esmtp-value = 1*(%d33-60 / %d62-126)` (RFC 5321 §4.1.2)
/// `=/ UTF8-non-ascii` (RFC 6531 §3.3).
fn esmtp_value(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| matches!(c, '!'..='<' | '>'..='~') || !c.is_ascii()).parse(i)
}

/// `esmtp-param = esmtp-keyword ["=" esmtp-value]` (RFC 5321 §4.1.2).
fn esmtp_param(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    (esmtp_keyword, opt(preceded(char('='), esmtp_value))).parse(i)
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)` and
/// `Rcpt-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321 §4.1.2);
/// runs of spaces are let through.
pub(crate) fn esmtp_params(i: &str) -> IResult<&str, Vec<(&str, Option<&str>)>> {
    separated_list1(space1, esmtp_param).parse(i)
}

/// `size-value ::= 1*20DIGIT` (RFC 1870 §6).
fn size_value(i: &str) -> IResult<&str, &str> {
    verify(take_while1(|c: char| c.is_ascii_digit()), |d: &str| {
        d.len() <= 20
    })
    .parse(i)
}

/// `xtext = *( xchar / hexchar )`, `hexchar = "+" HEXDIG HEXDIG`
/// (RFC 3461 §4), decoded; lower-case hex digits are let through.
pub(crate) fn decode_xtext(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            b'=' => return None,
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// Decodes the `SIZE`, `BODY`, `SMTPUTF8` and `AUTH` parameters of MAIL
/// and keeps the rest. Keywords are case-insensitive (RFC 5321 §2.4).
/// Errors are short client-safe texts for a 501 reply.
pub(crate) fn mail_params(raw: &[(&str, Option<&str>)]) -> Result<MailParams, &'static str> {
    let mut params = MailParams::default();
    for &(keyword, value) in raw {
        let keyword = keyword.to_ascii_uppercase();
        match (keyword.as_str(), value) {
            ("SIZE", Some(v)) if params.size.is_none() => params.size = Some(parse_size(v)?),
            ("BODY", Some(v)) if params.body.is_none() => params.body = Some(parse_body(v)?),
            ("SMTPUTF8", None) if !params.smtputf8 => params.smtputf8 = true,
            ("AUTH", Some(v)) if params.auth.is_none() => {
                params.auth = Some(decode_xtext(v).ok_or("Invalid AUTH= value")?)
            }
            ("SIZE" | "BODY" | "SMTPUTF8" | "AUTH", _) => {
                return Err("Invalid or repeated parameter");
            }
            _ => params.other.push((keyword, value.map(str::to_string))),
        }
    }
    Ok(params)
}

/// Parses a `SIZE=` value (RFC 1870 §6), saturating at `u64::MAX`.
fn parse_size(v: &str) -> Result<u64, &'static str> {
    match size_value(v) {
        Ok(("", digits)) => Ok(digits.parse().unwrap_or(u64::MAX)),
        _ => Err("Invalid SIZE= value"),
    }
}

/// Parses a `BODY=` value: `body-value ::= "7BIT" / "8BITMIME"` (RFC 6152
/// §2) `/ "BINARYMIME"` (RFC 3030 §3), any case.
fn parse_body(v: &str) -> Result<Body, &'static str> {
    match v.to_ascii_uppercase().as_str() {
        "7BIT" => Ok(Body::SevenBit),
        "8BITMIME" => Ok(Body::EightBitMime),
        "BINARYMIME" => Ok(Body::BinaryMime),
        _ => Err("Unknown BODY= value"),
    }
}

/// The parameters of RCPT with keywords upper-cased and values as sent.
pub(crate) fn rcpt_params(raw: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    raw.iter()
        .map(|&(k, v)| (k.to_ascii_uppercase(), v.map(str::to_string)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Vec<(&str, Option<&str>)> {
        let (rest, p) = esmtp_params(s).unwrap();
        assert_eq!(rest, "");
        p
    }

    #[test]
    fn grammar() {
        assert_eq!(
            params("SIZE=123 BODY=8BITMIME"),
            vec![("SIZE", Some("123")), ("BODY", Some("8BITMIME"))]
        );
        assert_eq!(params("SMTPUTF8"), vec![("SMTPUTF8", None)]);
        assert_eq!(params("X-A=ü"), vec![("X-A", Some("ü"))]);
        assert!(esmtp_params("=x").is_err());
        assert!(esmtp_params("-A").is_err());
    }

    #[test]
    fn known_parameters() {
        let p = mail_params(&params(
            "size=123 body=8bitmime SMTPUTF8 AUTH=a+2Bb@c NOTIFY=NEVER",
        ))
        .unwrap();
        assert_eq!(p.size, Some(123));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert!(p.smtputf8);
        assert_eq!(p.auth.as_deref(), Some("a+b@c"));
        assert_eq!(
            p.other,
            vec![("NOTIFY".to_string(), Some("NEVER".to_string()))]
        );
    }

    #[test]
    fn bad_values() {
        assert!(mail_params(&params("SIZE=abc")).is_err());
        assert!(mail_params(&params("SIZE")).is_err());
        assert!(mail_params(&params("SIZE=1 SIZE=2")).is_err());
        assert!(mail_params(&params("BODY=9BIT")).is_err());
        assert!(mail_params(&params("SMTPUTF8=yes")).is_err());
        assert!(mail_params(&params("AUTH=a+zz")).is_err());
        assert!(mail_params(&params("SIZE=123456789012345678901")).is_err());
    }

    #[test]
    fn huge_size_saturates() {
        let p = mail_params(&params("SIZE=99999999999999999999")).unwrap();
        assert_eq!(p.size, Some(u64::MAX));
    }

    #[test]
    fn xtext() {
        assert_eq!(decode_xtext("<>").as_deref(), Some("<>"));
        assert_eq!(decode_xtext("a+3Db").as_deref(), Some("a=b"));
        assert_eq!(decode_xtext("a+3").as_deref(), None);
        assert_eq!(decode_xtext("a=b").as_deref(), None);
    }
}
