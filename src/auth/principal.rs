//! [`Principal`]: the proof that a login succeeded.
//!
//! Like the proof types in rustls, a `Principal` can only be built inside `crate::auth`, and
//! only [`Validator::validate`](super::Validator::validate) does so, after checking the
//! token's signature and claims. Code elsewhere that holds a `Principal` therefore holds a
//! validated login; "authenticated without verification" cannot be written.

use std::fmt;

/// A signed-in user, as established by a validated access token.
///
/// It never holds the token itself, so `Debug` (and any log line built from it) cannot leak
/// a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// Trimmed, lower-cased mailbox address, one `@`, domain in the served domains.
    address: String,
    /// The `iss` claim, equal to a configured issuer.
    issuer: String,
    /// The `sub` claim, when present (RFC 9068 §2.2).
    subject: Option<String>,
    /// The `jti` claim, when present: lets logs name a token without showing it.
    jti: Option<String>,
    /// Granted scopes, from `scope` or `scp`.
    scopes: Vec<String>,
    /// The `exp` claim in seconds since the Unix epoch (an app password's
    /// expiry, or `i64::MAX` for none).
    expires_at: i64,
    /// What the login presented.
    credential: Credential,
}

/// What a login presented: a token or an app password. Revocation
/// (docs/accounts.md) ends sessions by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token, with its `iat` when it had one.
    Token {
        /// Unix seconds.
        issued_at: Option<i64>,
    },
    /// An app password, by its id.
    AppPassword {
        /// The id `app-password list` shows.
        id: String,
        /// Its name, shown as the client of the login.
        name: String,
    },
}

impl Principal {
    /// Only the validator may call this; see the module docs.
    pub(in crate::auth) fn new(
        address: String,
        issuer: String,
        subject: Option<String>,
        jti: Option<String>,
        scopes: Vec<String>,
        expires_at: i64,
        credential: Credential,
    ) -> Principal {
        Principal {
            address,
            issuer,
            subject,
            jti,
            scopes,
            expires_at,
            credential,
        }
    }

    /// A login with an app password; only `auth::app_password` calls this,
    /// after the password verified.
    pub(in crate::auth) fn app_password(
        address: String,
        id: String,
        name: String,
        expires: Option<i64>,
    ) -> Principal {
        Principal {
            address,
            issuer: "app-password".into(),
            subject: None,
            jti: None,
            scopes: Vec::new(),
            expires_at: expires.unwrap_or(i64::MAX),
            credential: Credential::AppPassword { id, name },
        }
    }

    /// What the login presented.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The mailbox address, lower-cased (e.g. `alice@example.test`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The issuer that signed the token (its `iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token's `sub`, when it had one.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The token's `jti`, when it had one.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The token's `exp`, seconds since the Unix epoch. A session may end itself then.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// The last second the token is still accepted: `exp` plus the
    /// validator's leeway (RFC 7519 §4.1.4). A session that logged in with
    /// it ends then (`[auth] end_sessions_at_expiry`).
    pub fn valid_until(&self) -> i64 {
        self.expires_at.saturating_add(super::claims::LEEWAY_SECS)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("address", &self.address)
            .field("issuer", &self.issuer)
            .field("jti", &self.jti)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}
