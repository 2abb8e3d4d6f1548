//! SASL mechanisms (RFC 4422) as pure decoders, shared by IMAP
//! `AUTHENTICATE` and SMTP `AUTH`. No I/O; credentials are [`Secret`]s so
//! they never reach a log.
//!
//! The session decodes each client line with [`decode_response_line`] (or
//! an initial response with [`decode_base64`]) and hands the bytes to the
//! mechanism's parser:
//!
//! - [`parse_oauthbearer_reply`] for OAUTHBEARER (RFC 7628 §3.1, GS2 header
//!   of RFC 5801 §4). On failure the server sends
//!   [`oauthbearer_error`] as a challenge (RFC 7628 §3.2.2), the client
//!   answers `\x01` ([`OAuthBearerReply::Dummy`]) and the exchange fails.
//! - [`parse_xoauth2`] for XOAUTH2; its error challenge is
//!   [`xoauth2_error`], answered by an empty line.
//! - [`parse_plain`] for PLAIN (RFC 4616).
//! - LOGIN: send [`LOGIN_USERNAME_CHALLENGE`], check the answer with
//!   [`parse_login_username`], send [`LOGIN_PASSWORD_CHALLENGE`]; the
//!   answer is the password.
//!
//! Every error is a [`SaslError`] whose `Display` is safe to send.
//!
//! [`Secret`]: crate::proto::secret::Secret

mod error;
mod gs2;
mod kv;
mod login;
mod mechanism;
mod oauthbearer;
mod plain;
mod response;
mod xoauth2;

pub use error::SaslError;
pub use login::{LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE, parse_login_username};
pub use mechanism::Mechanism;
pub use oauthbearer::{
    OAuthBearer, OAuthBearerReply, oauthbearer_error, parse_oauthbearer, parse_oauthbearer_reply,
};
pub use plain::{Plain, parse_plain};
pub use response::{ClientResponse, decode_base64, decode_response_line, encode_base64};
pub use xoauth2::{XOAuth2, parse_xoauth2, xoauth2_error};
