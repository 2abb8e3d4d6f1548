//! OAUTHBEARER (RFC 7628): the client's message and the server's error
//! challenge.

use nom::{
    IResult, Parser,
    bytes::complete::take_while1,
    combinator::{all_consuming, map_res},
    multi::many0,
    sequence::delimited,
};

use super::SaslError;
use super::gs2::{CbFlag, decode_saslname, gs2_header};
use super::kv::{KvPair, bearer_token, kvpair, kvsep, set_once};
use crate::proto::secret::Secret;

/// The client's initial response (RFC 7628 §3.1), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthBearer {
    /// The GS2 `a=` authzid, unescaped (RFC 5801 §4); the user the client
    /// says it acts for, to be checked against the token.
    pub authzid: Option<String>,
    /// The bearer token of `auth=Bearer TOKEN` (RFC 6750 §2.1).
    pub token: Secret,
    /// `host=`, the name the client connected to (RFC 7628 §3.1).
    pub host: Option<String>,
    /// `port=`, the port the client connected to (RFC 7628 §3.1).
    pub port: Option<u16>,
}

/// Any client message of an OAUTHBEARER exchange (RFC 7628 §3.1, §3.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthBearerReply {
    /// A full client response with a token.
    Credentials(OAuthBearer),
    /// The dummy `%x01` that answers an error challenge (RFC 7628 §3.2.3);
    /// an empty response counts too, as K-9 and Thunderbird send one. The
    /// server then fails the exchange (SMTP 535 5.7.8, IMAP `NO`).
    Dummy,
}

/// `port = 1*DIGIT` (RFC 7628 §3.1: "a decimal positive integer string
/// without leading zeros"), as a `u16`; leading zeros are let through.
fn port(i: &[u8]) -> IResult<&[u8], u16> {
    map_res(take_while1(|b: u8| b.is_ascii_digit()), |d: &[u8]| {
        std::str::from_utf8(d)
            .map_err(|_| ())
            .and_then(|d| d.parse::<u16>().map_err(|_| ()))
    })
    .parse(i)
}

/// `kvsep *kvpair kvsep`, what follows the gs2-header in `client-resp =
/// (gs2-header kvsep *kvpair kvsep) / kvsep` (RFC 7628 §3.1).
fn kvpairs(i: &[u8]) -> IResult<&[u8], Vec<KvPair<'_>>> {
    delimited(kvsep, many0(kvpair), kvsep).parse(i)
}

/// Parses any OAUTHBEARER client message, decoded from base64:
/// `client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep` (RFC 7628 §3.1).
/// Unknown keys are ignored; `auth`, `host` and `port` (in any case) may
/// appear once.
pub fn parse_oauthbearer_reply(msg: &[u8]) -> Result<OAuthBearerReply, SaslError> {
    if msg.is_empty() || all_consuming(kvsep).parse(msg).is_ok() {
        return Ok(OAuthBearerReply::Dummy);
    }
    let (rest, header) = gs2_header(msg).map_err(|_| SaslError::Malformed("invalid GS2 header"))?;
    if let CbFlag::Required(_) = header.cb {
        return Err(SaslError::ChannelBindingUnsupported);
    }
    let (_, pairs) = all_consuming(kvpairs)
        .parse(rest)
        .map_err(|_| SaslError::Malformed("invalid key/value list"))?;
    let (mut auth, mut host, mut port_value) = (None, None, None);
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_slice() {
            b"auth" => set_once(&mut auth, value)?,
            b"host" => set_once(&mut host, value)?,
            b"port" => set_once(&mut port_value, value)?,
            _ => {}
        }
    }
    let authzid = header.authzid.map(decode_saslname).transpose()?;
    let token = bearer_token(auth.ok_or(SaslError::MissingToken)?)?;
    let host = host
        .map(|h| String::from_utf8(h.to_vec()).map_err(|_| SaslError::InvalidUtf8))
        .transpose()?;
    let port = port_value
        .map(|p| {
            all_consuming(port)
                .parse(p)
                .map(|(_, n)| n)
                .map_err(|_| SaslError::Malformed("invalid port"))
        })
        .transpose()?;
    Ok(OAuthBearerReply::Credentials(OAuthBearer {
        authzid,
        token,
        host,
        port,
    }))
}

/// Parses an initial OAUTHBEARER response (RFC 7628 §3.1), refusing the
/// dummy reply that only answers an error challenge (RFC 7628 §3.2.3).
pub fn parse_oauthbearer(msg: &[u8]) -> Result<OAuthBearer, SaslError> {
    match parse_oauthbearer_reply(msg)? {
        OAuthBearerReply::Credentials(c) => Ok(c),
        OAuthBearerReply::Dummy => Err(SaslError::Malformed("unexpected dummy response")),
    }
}

/// A JSON string literal, escaped by serde_json.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The error result of RFC 7628 §3.2.2, as JSON (not yet base64):
/// `{"status":…,"scope":…,"openid-configuration":…}` in that order, the
/// last two only when given. `status` is an OAuth error code such as
/// `invalid_token`; K-9 refreshes its token and retries on `"400"`.
pub fn oauthbearer_error(
    status: &str,
    scope: Option<&str>,
    openid_configuration: Option<&str>,
) -> String {
    let mut json = format!("{{\"status\":{}", json_string(status));
    if let Some(scope) = scope {
        json.push_str(&format!(",\"scope\":{}", json_string(scope)));
    }
    if let Some(url) = openid_configuration {
        json.push_str(&format!(",\"openid-configuration\":{}", json_string(url)));
    }
    json.push('}');
    json
}

#[cfg(test)]
#[path = "oauthbearer_tests.rs"]
mod tests;
