//! Sign-in with OAuth 2.0 access tokens: JWT validation, issuer keys, the development issuer,
//! and the failed-login limiter.
//!
//! A mail client presents a bearer token (SASL OAUTHBEARER, RFC 7628, or XOAUTH2); the
//! session hands it to [`Validator::validate`], which either returns a [`Principal`] — the
//! only proof of a valid login, constructible only here — or an [`AuthError`] whose
//! [`AuthError::oauth_status`] is what the client is told.
//!
//! | file | what |
//! |---|---|
//! | `validator.rs` | the checks of RFC 7519, RFC 9068 and RFC 8725, in order |
//! | `id_token.rs` | OpenID Connect ID tokens, for the account page's sign-in |
//! | `claims.rs` | the claim rules (times, audience, scopes, address) as pure functions |
//! | `jwks.rs` | per-issuer key cache: OIDC Discovery, RFC 7517 JWK Sets, refetch rules |
//! | `http.rs` | the small HTTPS `GET` client the cache uses, and the URL rules for config |
//! | `dev_issuer.rs` | a local ES256 issuer serving discovery and JWKS like a real IdP |
//! | `dev_authorize.rs` | its sign-in: authorization code + PKCE, refresh tokens |
//! | `limiter.rs` | per-client delays and blocking after failed logins |
//! | `app_password.rs` | app passwords: generation, fingerprint, Argon2id |
//! | `principal.rs`, `error.rs` | the result types |
//!
//! # Security rules
//!
//! * Keys come only from the JWKS of the issuer configured for the token's exact `iss`;
//!   header key hints (`jku`, `jwk`, `x5u`, `x5c`) are ignored.
//! * The algorithm allowlist is fixed (RS*, PS*, ES256, ES384, EdDSA); `none` and HMAC are
//!   refused from the header alone, before any key is used (RFC 8725 §3.1).
//! * Tokens never reach logs or `Debug` output; logs name a token by `jti` or by a SHA-256
//!   prefix ([`fingerprint`]).
//! * Key sets travel over https, or plain http on loopback only ([`check_url_scheme`]).
//!
//! # Concurrency
//!
//! [`Validator`], [`DevIssuer`] and [`LoginLimiter`] are shared as `Arc`s. No
//! `std::sync::Mutex` is ever held across `.await`; the one lock held across `.await` is each
//! issuer's single-flight fetch mutex (see `jwks.rs`), which only key fetches take.

pub mod app_password;
mod claims;
pub mod dev_authorize;
pub mod dev_issuer;
pub mod error;
pub mod http;
pub mod id_token;
pub mod jwks;
pub mod limiter;
pub mod principal;
pub mod validator;

pub use dev_issuer::{DEV_CLIENT_ID, DevIssuer, DevIssuerError, MAX_TTL_SECS};
pub use error::AuthError;
pub use http::{HttpClient, HttpError, check_url_scheme, is_loopback_url};
pub use jwks::KeyCacheSettings;
pub use limiter::{LimiterSettings, LoginLimiter};
pub use principal::{Credential, Principal};
pub use id_token::IdToken;
pub use validator::{IssuerSettings, MAX_TOKEN_LEN, Purpose, Validator, fingerprint};
