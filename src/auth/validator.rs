//! [`Validator`]: from an access token to a [`Principal`], or an [`AuthError`].
//!
//! The steps, in order, each refusing with its own error:
//!
//! 1. Shape: a compact JWS (RFC 7515 §7.1, RFC 7519 §7.2) of three base64url parts whose
//!    header and claims are JSON objects. A JWE (five parts) is malformed here.
//! 2. Header: `alg` on the allowlist (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA),
//!    so `none` and every `HS*` are refused before any key is touched (RFC 8725 §3.1, §2.1
//!    algorithm confusion); no `crit` (RFC 7515 §4.1.11: we understand no extension);
//!    `typ`, when present, `at+jwt` (RFC 9068 §2.1) or `JWT` (Entra ID, ESIA). Key hints in
//!    the header (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys come only from the
//!    configured issuer's JWKS (RFC 8725 §3.10).
//! 3. Issuer: the unverified `iss` selects the configured issuer by exact string match
//!    (RFC 9068 §4, RFC 8725 §3.8); its JWKS, and nothing else, may verify the token.
//! 4. Key: by `kid` from that issuer's cache ([`super::jwks`]); the key's type, curve and
//!    `alg` must fit the header's `alg`.
//! 5. Signature (RFC 7515 §5.2).
//! 6. Claims (RFC 7519 §4.1, RFC 9068 §4): `exp` required, `nbf` and `iat` checked when
//!    present, 60 s leeway; `aud` contains the configured audience; the purpose's scope;
//!    the address from `user_claim`, in a served domain.
//!
//! Tokens never reach a log: a log line names a token by its `jti` or by the first bytes of
//! its SHA-256 ([`fingerprint`]).
//!
//! Concurrency: a `Validator` is immutable apart from the key caches (see
//! [`super::jwks`]); share it as `Arc<Validator>`.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::claims;
use super::http::HttpClient;
use super::jwks::{KeyCache, KeyCacheSettings, KeyError, allowed_algorithm, discovery_url};
use super::principal::{Credential, Principal};

pub use super::error::AuthError;

/// Longest token accepted. Real ones run 1-3 KB (CLIENTS.md); this only bounds work.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// One trusted identity provider (the `[[issuer]]` configuration block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    /// Must equal the token's `iss` exactly.
    pub issuer: String,
    /// Where the keys are; `None` means OIDC discovery at
    /// `issuer + "/.well-known/openid-configuration"`.
    pub jwks_uri: Option<String>,
    /// The token's `aud` must contain this.
    pub audience: String,
    /// The string claim that names the mailbox address (e.g. `email`).
    pub user_claim: String,
    /// Scope required for IMAP; `""` requires none.
    pub read_scope: String,
    /// Scope required for SMTP submission; `""` requires none.
    pub send_scope: String,
}

/// What the login is for, which decides the scope it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// IMAP: needs `read_scope`.
    Imap,
    /// SMTP submission: needs `send_scope`.
    Submission,
}

impl IssuerSettings {
    fn scope_for(&self, purpose: Purpose) -> &str {
        match purpose {
            Purpose::Imap => &self.read_scope,
            Purpose::Submission => &self.send_scope,
        }
    }
}

pub(super) struct Issuer {
    pub(super) settings: IssuerSettings,
    keys: Arc<KeyCache>,
}

/// Validates access tokens against the configured issuers. Share as `Arc<Validator>`.
pub struct Validator {
    issuers: Vec<Issuer>,
    /// Lower-cased served domains.
    pub(super) local_domains: Vec<String>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field(
                "issuers",
                &self
                    .issuers
                    .iter()
                    .map(|i| &i.settings.issuer)
                    .collect::<Vec<_>>(),
            )
            .field("local_domains", &self.local_domains)
            .finish()
    }
}

impl Validator {
    /// A validator for these issuers and served domains, fetching keys through `http`.
    /// Nothing is fetched until the first token of an issuer arrives.
    pub fn new(issuers: Vec<IssuerSettings>, local_domains: Vec<String>, http: HttpClient) -> Self {
        Self::with_cache_settings(issuers, local_domains, http, KeyCacheSettings::default())
    }

    /// As [`Validator::new`], with other key-fetch timing.
    pub fn with_cache_settings(
        issuers: Vec<IssuerSettings>,
        local_domains: Vec<String>,
        http: HttpClient,
        cache: KeyCacheSettings,
    ) -> Self {
        let issuers = issuers
            .into_iter()
            .map(|settings| Issuer {
                keys: Arc::new(KeyCache::new(
                    settings.issuer.clone(),
                    settings.jwks_uri.clone(),
                    http.clone(),
                    cache,
                )),
                settings,
            })
            .collect();
        let local_domains = local_domains
            .iter()
            .map(|d| d.trim().to_lowercase())
            .collect();
        Validator {
            issuers,
            local_domains,
        }
    }

    /// Refreshes every issuer's key set that is past its freshness (its JWKS
    /// `Cache-Control: max-age`, at most an hour), so a key the IdP withdrew
    /// is dropped without waiting for a login; run periodically by the server.
    pub async fn refresh_stale_keys(&self) {
        for issuer in &self.issuers {
            issuer.keys.refresh_if_stale().await;
        }
    }

    /// The settings of the configured issuer `issuer`.
    pub fn issuer_settings(&self, issuer: &str) -> Option<&IssuerSettings> {
        self.issuers
            .iter()
            .find(|i| i.settings.issuer == issuer)
            .map(|i| &i.settings)
    }

    /// The discovery URL of the first issuer, for the `openid-configuration` member of the
    /// RFC 7628 §3.2.2 failure JSON.
    pub fn openid_configuration(&self) -> Option<String> {
        self.issuers
            .first()
            .map(|i| discovery_url(&i.settings.issuer))
    }

    /// The scope the first issuer requires for `purpose`, for the failure JSON's `scope`.
    pub fn required_scope(&self, purpose: Purpose) -> String {
        self.issuers
            .first()
            .map(|i| i.settings.scope_for(purpose).to_owned())
            .unwrap_or_default()
    }

    /// Validates `token` for `purpose`; see the module docs for the steps.
    pub async fn validate(&self, token: &str, purpose: Purpose) -> Result<Principal, AuthError> {
        let result = self.check(token, purpose).await;
        match &result {
            Ok(p) => tracing::debug!(token = %fingerprint(token), jti = ?p.jti(),
                address = p.address(), issuer = p.issuer(), ?purpose, "token accepted"),
            Err(e) => tracing::info!(token = %fingerprint(token), error = %e, ?purpose,
                "token refused"),
        }
        result
    }

    async fn check(&self, token: &str, purpose: Purpose) -> Result<Principal, AuthError> {
        let (issuer, claims) = self.verify(token, is_access_token_type).await?;
        let iss = issuer.settings.issuer.as_str();

        // Step 6: the claims, now authentic.
        let settings = &issuer.settings;
        let expires_at = claims::check_times(&claims, now())?;
        if !claims::audience_contains(&claims, &settings.audience) {
            return Err(AuthError::WrongAudience);
        }
        let scopes = claims::scopes(&claims);
        let required = settings.scope_for(purpose);
        if !required.is_empty() && !scopes.iter().any(|s| s == required) {
            return Err(AuthError::InsufficientScope {
                required: required.to_owned(),
            });
        }
        let address = claims::address(&claims, &settings.user_claim, &self.local_domains)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Principal::new(
            address,
            iss.to_owned(),
            text("sub"),
            text("jti"),
            scopes,
            expires_at,
            Credential::Token {
                issued_at: claims::numeric_date(&claims, "iat")?,
            },
        ))
    }

    /// Steps 1 to 5 of the module docs: the shape, the header (with `typ`
    /// checked by `typ_ok` when present), the issuer by `iss`, the key and
    /// the signature. Returns the issuer and the now authentic claims.
    pub(super) async fn verify(
        &self,
        token: &str,
        typ_ok: fn(&str) -> bool,
    ) -> Result<(&Issuer, Map<String, Value>), AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header = decode_object(header_b64)?;

        // Step 2: the header alone decides whether we touch a key at all.
        let alg_name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(AuthError::Malformed)?;
        let alg = allowed_algorithm(alg_name)
            .ok_or_else(|| AuthError::AlgorithmNotAllowed(alg_name.to_owned()))?;
        if header.contains_key("crit") {
            return Err(AuthError::Malformed);
        }
        match header.get("typ") {
            None => {}
            Some(Value::String(typ)) if typ_ok(typ) => {}
            Some(_) => return Err(AuthError::Malformed),
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(AuthError::Malformed),
        };

        // Step 3: pick the issuer by the (still unverified) `iss`.
        let claims = decode_object(claims_b64)?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(AuthError::WrongIssuer)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.settings.issuer == iss)
            .ok_or(AuthError::UnknownIssuer)?;

        // Steps 4 and 5.
        let key = issuer.keys.key_for(kid, alg).await.map_err(|e| match e {
            KeyError::Unknown => AuthError::UnknownKey,
            KeyError::AlgorithmMismatch => AuthError::AlgorithmNotAllowed(alg_name.to_owned()),
            KeyError::Unavailable(why) => AuthError::KeysUnavailable(why),
        })?;
        let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
        match jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), &key.key, alg) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(AuthError::BadSignature),
        }
        Ok((issuer, claims))
    }
}

/// `typ` values accepted (RFC 9068 §2.1 `at+jwt`; `JWT` as Entra ID and ESIA send), compared
/// case-insensitively with an optional `application/` prefix (RFC 7515 §4.1.9).
fn is_access_token_type(typ: &str) -> bool {
    let lower = typ.to_ascii_lowercase();
    let bare = lower.strip_prefix("application/").unwrap_or(&lower);
    bare == "at+jwt" || bare == "jwt"
}

/// Base64url (no padding, RFC 7515 §2) of a JSON object.
fn decode_object(part: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AuthError::Malformed),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A log-safe name for a token: `sha256:` and the first 6 bytes of its SHA-256 in hex.
/// Enough to match log lines for one token, useless for replaying it.
pub fn fingerprint(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let hex: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
#[path = "validator_tests.rs"]
mod tests;
