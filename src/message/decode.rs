//! Content-Transfer-Encoding decoding (RFC 2045 §6) for `BINARY[...]`
//! (RFC 3516 §4) and for the text SEARCH reads, and charset conversion of
//! text parts (RFC 2046 §4.1.2) to UTF-8.
//!
//! The decoders are mail-parser's; this module only picks them by the
//! part's fields and says what cannot be decoded.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;

use super::bodystructure::Part;

/// A Content-Transfer-Encoding this server cannot undo (RFC 3516 §4.3:
/// answered `NO [UNKNOWN-CTE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownEncoding;

/// The part's body with its transfer encoding removed. 7bit, 8bit and
/// binary are returned as they are; base64 and quoted-printable are
/// decoded (leniently: garbage characters in base64 are skipped, as mail
/// readers do).
pub fn transfer_decode<'a>(part: &Part, body: &'a [u8]) -> Result<Cow<'a, [u8]>, UnknownEncoding> {
    match &part.encoding[..] {
        b"7BIT" | b"8BIT" | b"BINARY" => Ok(Cow::Borrowed(body)),
        b"BASE64" => Ok(Cow::Owned(
            base64_decode(body).unwrap_or_else(|| lenient_base64(body)),
        )),
        b"QUOTED-PRINTABLE" => Ok(Cow::Owned(
            quoted_printable_decode(body).unwrap_or_else(|| body.to_vec()),
        )),
        _ => Err(UnknownEncoding),
    }
}

/// Base64 with anything outside the alphabet dropped and a broken tail cut.
fn lenient_base64(body: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    let whole = clean.len() / 4 * 4;
    let mut padded = clean[..whole].to_vec();
    match clean.len() - whole {
        2 => padded.extend_from_slice(&[clean[whole], clean[whole + 1], b'=', b'=']),
        3 => padded.extend_from_slice(&[clean[whole], clean[whole + 1], clean[whole + 2], b'=']),
        _ => {}
    }
    base64_decode(&padded).unwrap_or_default()
}

/// A text part's decoded body as UTF-8, by its `charset` parameter
/// (US-ASCII/UTF-8 when absent; unknown charsets read as UTF-8, lossily).
pub fn text_of(part: &Part, body: &[u8]) -> String {
    let decoded = transfer_decode(part, body).unwrap_or(Cow::Borrowed(body));
    let charset = part
        .params
        .iter()
        .find(|(n, _)| n == "CHARSET")
        .map(|(_, v)| v.as_str());
    match charset.and_then(|c| charset_decoder(c.as_bytes())) {
        Some(decode) => decode(&decoded),
        None => String::from_utf8_lossy(&decoded).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageSummary;

    fn first_part(raw: &[u8]) -> Part {
        MessageSummary::parse(raw).root
    }

    #[test]
    fn decodes_by_encoding_and_charset() {
        let raw = b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n";
        let part = first_part(raw);
        let body = part.body.slice(raw).unwrap();
        assert_eq!(text_of(&part, body), "Grüße\r\n");
        let raw = b"Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n";
        let part = first_part(raw);
        let body = part.body.slice(raw).unwrap();
        assert_eq!(&*transfer_decode(&part, body).unwrap(), b"hello");
        let raw = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n";
        let part = first_part(raw);
        assert_eq!(transfer_decode(&part, b"x"), Err(UnknownEncoding));
        assert_eq!(lenient_base64(b"aGVsbG8*!"), b"hello");
    }
}
