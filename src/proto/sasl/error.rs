//! Why a SASL message was refused (RFC 4422 §3.6).

/// A SASL client message that cannot be used. `Display` gives a short text
/// that is safe to send to the client; it never echoes the message, which
/// may hold a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// Not base64 (RFC 4648 §4), as SMTP and IMAP require (RFC 4954 §4,
    /// RFC 9051 §6.2.2): SMTP answers 501 5.5.2, IMAP `BAD`.
    #[error("invalid base64")]
    BadBase64,
    /// The decoded message does not follow the mechanism's grammar; the
    /// text says which part.
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    /// The GS2 header asks for channel binding (`p=`), which this server
    /// does not offer (RFC 5801 §4, RFC 7628 §3.1).
    #[error("channel binding is not supported")]
    ChannelBindingUnsupported,
    /// No `auth=` key, or `auth=` with no token. An empty `auth=` is how a
    /// client asks for the error challenge with the scope and discovery
    /// URL (RFC 7628 §4.3), so answer it with that challenge.
    #[error("no bearer token")]
    MissingToken,
    /// `auth=` names an HTTP scheme other than `Bearer` (RFC 7628 §3.1,
    /// RFC 6750 §2.1).
    #[error("unsupported authorization scheme")]
    UnsupportedScheme,
    /// No user name: XOAUTH2 without `user=`, PLAIN or LOGIN with an empty
    /// one.
    #[error("no user name")]
    MissingUser,
    /// PLAIN or LOGIN with an empty password (RFC 4616 §2: `passwd = 1*SAFE`).
    #[error("no password")]
    MissingPassword,
    /// A name that must be UTF-8 is not (RFC 4616 §2, RFC 5801 §4).
    #[error("invalid UTF-8")]
    InvalidUtf8,
}
