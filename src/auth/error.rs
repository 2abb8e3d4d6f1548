//! [`AuthError`]: why a token was refused, and how that maps to the wire.

/// Why an access token was refused.
///
/// The `Display` text is for server logs; it never contains the token. What a client sees
/// is only [`AuthError::oauth_status`] (the RFC 7628 §3.2.2 / RFC 6750 §3.1 error code), so
/// the mapping to the wire lives in this one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a compact JWS with a JSON header and claims (RFC 7519 §7.2), a required claim
    /// has the wrong type, the header carries `crit`, or `typ` is not an access-token type.
    #[error("malformed token")]
    Malformed,
    /// The unverified `iss` names no configured issuer.
    #[error("token issuer is not a configured issuer")]
    UnknownIssuer,
    /// The header's `alg` is not on the allowlist (`none`, `HS*`, …) or disagrees with the
    /// key's `alg` (RFC 8725 §3.1).
    #[error("signature algorithm {0:?} not allowed")]
    AlgorithmNotAllowed(String),
    /// No key in the issuer's JWKS matches the token's `kid` (after one rate-limited refetch).
    #[error("no key of the issuer matches the token")]
    UnknownKey,
    /// The signature does not verify with the selected key.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past (RFC 7519 §4.1.4), beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` is ahead (RFC 7519 §4.1.5), beyond the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is ahead (RFC 7519 §4.1.6), beyond the leeway.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `aud` is missing or does not contain the configured audience (RFC 7519 §4.1.3).
    #[error("token audience does not include this server")]
    WrongAudience,
    /// `iss` is missing or not a string (RFC 7519 §4.1.1).
    #[error("token names no issuer")]
    WrongIssuer,
    /// The token lacks the scope this service needs (RFC 6750 §3.1).
    #[error("token lacks scope {required:?}")]
    InsufficientScope {
        /// The scope that was required.
        required: String,
    },
    /// The user claim is missing, not a string, or not an address with exactly one `@`.
    #[error("token names no mailbox address")]
    MissingAddress,
    /// The address's domain is not served here.
    #[error("address domain {0:?} is not served here")]
    ForeignDomain(String),
    /// The token was issued before the account's last "sign out everywhere"
    /// (`iat` earlier than the revocation; docs/accounts.md).
    #[error("token issued before the account signed out everywhere; sign in again")]
    Revoked,
    /// An ID token's `nonce` is not the one its sign-in sent, or its
    /// `azp` names another client (OIDC Core §3.1.3.7): a replayed or
    /// substituted ID token.
    #[error("ID token does not belong to this sign-in (nonce or azp)")]
    NotThisSignIn,
    /// The issuer's keys could not be fetched and none are cached: a temporary failure.
    #[error("issuer keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// The error code for the RFC 7628 §3.2.2 failure JSON (`status`), from RFC 6750 §3.1:
    /// `insufficient_scope` when only a scope is missing, `invalid_token` for every other
    /// problem with the token (RFC 6750 lists expired, malformed and otherwise invalid tokens
    /// there; `invalid_request` is for a malformed request, which the SASL layer decides).
    /// A temporary key outage answers `temporarily_unavailable` (RFC 6749 §4.1.2.1), so a
    /// client does not discard a good token.
    pub fn oauth_status(&self) -> &'static str {
        match self {
            AuthError::InsufficientScope { .. } => "insufficient_scope",
            AuthError::KeysUnavailable(_) => "temporarily_unavailable",
            _ => "invalid_token",
        }
    }

    /// True when retrying later with the same token may succeed (the identity provider was
    /// unreachable); the session should answer with a temporary failure, not "bad token".
    pub fn is_temporary(&self) -> bool {
        matches!(self, AuthError::KeysUnavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::AuthError;

    #[test]
    fn wire_mapping() {
        assert_eq!(AuthError::Expired.oauth_status(), "invalid_token");
        assert_eq!(AuthError::Malformed.oauth_status(), "invalid_token");
        assert_eq!(
            AuthError::InsufficientScope {
                required: "mail.read".into()
            }
            .oauth_status(),
            "insufficient_scope"
        );
        let down = AuthError::KeysUnavailable("connect refused".into());
        assert!(down.is_temporary());
        assert_ne!(down.oauth_status(), "invalid_token");
        assert!(!AuthError::BadSignature.is_temporary());
    }
}
