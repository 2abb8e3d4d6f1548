//! Base64 SASL responses and challenges as SMTP and IMAP carry them
//! (RFC 4954 §4, RFC 9051 §6.2.2, RFC 4648 §4).

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::SaslError;
use crate::proto::secret::Secret;

/// Standard alphabet, padding optional, stray low bits tolerated.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard alphabet with padding, for what the server sends.
const CANONICAL: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decodes a base64 SASL response (RFC 4648 §4, standard alphabet). Padding
/// may be left out; `=` alone is the empty response (RFC 4954 §4), and so
/// is empty text.
pub fn decode_base64(text: &[u8]) -> Result<Secret, SaslError> {
    if text == b"=" {
        return Ok(Secret::default());
    }
    LENIENT
        .decode(text)
        .map(Secret::new)
        .map_err(|_| SaslError::BadBase64)
}

/// Encodes a challenge, such as the error JSON of RFC 7628 §3.2.2, in
/// padded standard base64 (RFC 4648 §4).
pub fn encode_base64(bytes: &[u8]) -> String {
    CANONICAL.encode(bytes)
}

/// One line a client sent in answer to a challenge (RFC 4954 §4,
/// RFC 9051 §6.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientResponse {
    /// `*`: the client abandons the exchange (SMTP 501, IMAP `BAD`).
    Cancel,
    /// The decoded response; empty for an empty line or `=`.
    Response(Secret),
}

/// Decodes a continuation line: `*` cancels, anything else is base64
/// (RFC 4954 §4, RFC 9051 §6.2.2). An empty line is an empty response, as
/// Thunderbird, K-9 and nodemailer send after an error challenge.
pub fn decode_response_line(line: &[u8]) -> Result<ClientResponse, SaslError> {
    if line == b"*" {
        return Ok(ClientResponse::Cancel);
    }
    decode_base64(line).map(ClientResponse::Response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<Vec<u8>, SaslError> {
        decode_base64(s.as_bytes()).map(Secret::into_inner)
    }

    #[test]
    fn padding_is_optional() {
        assert_eq!(dec("AQ==").unwrap(), b"\x01");
        assert_eq!(dec("AQ").unwrap(), b"\x01");
        assert_eq!(dec("AQ=").unwrap(), b"\x01");
        assert_eq!(dec("dGVzdAB0ZXN0ADEyMzQ=").unwrap(), b"test\0test\x001234");
    }

    #[test]
    fn empty_responses() {
        assert_eq!(dec("=").unwrap(), b"");
        assert_eq!(dec("").unwrap(), b"");
    }

    #[test]
    fn bad_base64() {
        for bad in [
            "A", "AQ===", "A*==", "AQ==AQ==", " AQ==", "AQ==\r\n", "-_8=",
        ] {
            assert_eq!(dec(bad), Err(SaslError::BadBase64), "{bad:?}");
        }
    }

    #[test]
    fn encode_is_padded() {
        assert_eq!(encode_base64(b"\x01"), "AQ==");
        assert_eq!(encode_base64(b"Username:"), "VXNlcm5hbWU6");
        assert_eq!(encode_base64(b""), "");
    }

    #[test]
    fn response_lines() {
        assert_eq!(decode_response_line(b"*"), Ok(ClientResponse::Cancel));
        assert_eq!(
            decode_response_line(b""),
            Ok(ClientResponse::Response(Secret::default()))
        );
        assert_eq!(
            decode_response_line(b"AQ=="),
            Ok(ClientResponse::Response(Secret::new(b"\x01".to_vec())))
        );
        assert_eq!(decode_response_line(b"**"), Err(SaslError::BadBase64));
    }

    #[test]
    fn sixteen_kib_round_trip() {
        let raw: Vec<u8> = (0..16 * 1024).map(|n| (n % 251) as u8).collect();
        let text = encode_base64(&raw);
        assert_eq!(decode_base64(text.as_bytes()).unwrap().expose(), &raw[..]);
        assert_eq!(
            decode_base64(text.trim_end_matches('=').as_bytes())
                .unwrap()
                .expose(),
            &raw[..]
        );
    }
}
