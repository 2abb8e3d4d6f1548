//! OpenID Connect ID tokens (OIDC Core §2, §3.1.3.7), for the account
//! page's sign-in: the same signature checks and key cache as access
//! tokens ([`Validator::verify`]), then the ID token's own claim rules.
//!
//! The differences from an access token: `typ`, when present, is `JWT`
//! (an RFC 9068 `at+jwt` access token is refused, so a token meant for a
//! resource cannot stand in for a sign-in); `aud` contains the page's
//! client id and `azp`, when present, is that client; `nonce` is the one
//! the sign-in sent; `sub` is required; the address may be missing (an
//! IdP that conforms to OIDC Core §5.4 puts scope claims only in UserInfo),
//! and is then read from UserInfo with [`Validator::userinfo_address`].

use serde_json::{Map, Value};

use super::claims;
use super::error::AuthError;
use super::validator::{Validator, fingerprint};

/// A verified sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken {
    /// `iss`, the expected issuer.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// The address from the issuer's `user_claim`, when the ID token has it.
    pub address: Option<String>,
    /// `iat`, Unix seconds, when present.
    pub issued_at: Option<i64>,
}

/// `typ` of an ID token: absent or `JWT` (RFC 7519 §5.1), with an
/// optional `application/` prefix.
fn is_id_token_type(typ: &str) -> bool {
    let lower = typ.to_ascii_lowercase();
    lower.strip_prefix("application/").unwrap_or(&lower) == "jwt"
}

impl Validator {
    /// Validates an ID token from `issuer` for `client_id`, sent in reply
    /// to a sign-in that sent `nonce` (OIDC Core §3.1.3.7).
    pub async fn validate_id_token(
        &self,
        token: &str,
        issuer: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<IdToken, AuthError> {
        let result = self.check_id_token(token, issuer, client_id, nonce).await;
        match &result {
            Ok(t) => tracing::debug!(token = %fingerprint(token), issuer, subject = t.subject,
                "ID token accepted"),
            Err(e) => tracing::info!(token = %fingerprint(token), issuer, error = %e,
                "ID token refused"),
        }
        result
    }

    async fn check_id_token(
        &self,
        token: &str,
        issuer: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<IdToken, AuthError> {
        let (found, claims) = self.verify(token, is_id_token_type).await?;
        // §3.1.3.7 step 2: exactly the issuer the sign-in went to.
        if found.settings.issuer != issuer {
            return Err(AuthError::UnknownIssuer);
        }
        // Steps 3-5: our client in `aud`; `azp`, when present, is us.
        if !claims::audience_contains(&claims, client_id) {
            return Err(AuthError::WrongAudience);
        }
        match claims.get("azp") {
            None => {}
            Some(Value::String(azp)) if azp == client_id => {}
            Some(_) => return Err(AuthError::NotThisSignIn),
        }
        // Steps 9-10: `exp` ahead, `iat` not in the future.
        claims::check_times(&claims, crate::time::now())?;
        // Step 11: the nonce of this sign-in.
        match claims.get("nonce") {
            Some(Value::String(n)) if n == nonce => {}
            _ => return Err(AuthError::NotThisSignIn),
        }
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
            _ => return Err(AuthError::Malformed),
        };
        let address = match claims::address(&claims, &found.settings.user_claim, &self.local_domains) {
            Ok(a) => Some(a),
            Err(AuthError::MissingAddress) if !claims.contains_key(&found.settings.user_claim) => None,
            Err(e) => return Err(e),
        };
        Ok(IdToken {
            issuer: issuer.to_owned(),
            subject,
            address,
            issued_at: claims::numeric_date(&claims, "iat")?,
        })
    }

    /// The address in a UserInfo response (OIDC Core §5.3.2) for a sign-in
    /// whose ID token named `subject`: the response's `sub` must be the
    /// same (§5.3.4, against token substitution), and the issuer's
    /// `user_claim` an address in a served domain.
    pub fn userinfo_address(
        &self,
        issuer: &str,
        subject: &str,
        userinfo: &Map<String, Value>,
    ) -> Result<String, AuthError> {
        if userinfo.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(AuthError::NotThisSignIn);
        }
        let settings = self.issuer_settings(issuer).ok_or(AuthError::UnknownIssuer)?;
        claims::address(userinfo, &settings.user_claim, &self.local_domains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_token_types() {
        assert!(is_id_token_type("JWT"));
        assert!(is_id_token_type("application/jwt"));
        assert!(!is_id_token_type("at+jwt"));
        assert!(!is_id_token_type("logout+jwt"));
    }
}
