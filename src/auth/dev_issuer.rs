//! The development issuer: a local OAuth 2.0 issuer for trials and tests.
//!
//! It holds one ES256 key (P-256, PKCS#8 PEM on disk, created with mode 0600 when missing),
//! mints RFC 9068 access tokens, and serves its OIDC discovery document and JWKS over plain
//! HTTP on loopback, exactly as a real identity provider would. Its tokens get no special
//! treatment: the server configures it as an ordinary `[[issuer]]` and validates its tokens
//! through the same [`Validator`](super::Validator), discovery and key cache. There is no
//! bypass to abuse.
//!
//! Concurrency: a `DevIssuer` is immutable except for a request counter; share it as
//! `Arc<DevIssuer>`. [`DevIssuer::serve`] runs one task per connection, each bounded by a
//! header-read timeout, with at most [`MAX_CONNECTIONS`] at once.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::http::{Scheme, Url};

/// Most concurrent HTTP connections [`DevIssuer::serve`] handles; more are closed at once.
pub const MAX_CONNECTIONS: usize = 64;

/// The `client_id` claim of minted tokens.
pub const DEV_CLIENT_ID: &str = "tokenmail-dev";

/// Longest token lifetime [`DevIssuer::mint`] accepts (one year).
pub const MAX_TTL_SECS: u64 = 365 * 24 * 3600;

/// What went wrong with the development issuer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// Reading or creating the key file failed.
    #[error("dev issuer key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file holds no usable P-256 private key.
    #[error("dev issuer key {path}: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The issuer URL is unusable for this purpose.
    #[error("dev issuer URL {0}")]
    BadIssuer(String),
    /// A mint request was refused (empty user, bad lifetime).
    #[error("cannot mint token: {0}")]
    BadRequest(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A local token issuer. See the module docs.
pub struct DevIssuer {
    issuer: String,
    audience: String,
    kid: String,
    key: EncodingKey,
    /// Public JWK with `kid`, `alg` and `use`.
    jwk: Value,
    /// Paths below the issuer: its URL path without a trailing `/` (`""` at the root).
    base_path: String,
    requests: AtomicU64,
    /// Codes and refresh tokens of the sign-in (`dev_authorize.rs`).
    grants: super::dev_authorize::Grants,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// Loads the key at `key_path` (PKCS#8 or SEC1 PEM, P-256), or creates one there when
    /// the file is missing: parent directories are made, the file gets mode 0600, and it
    /// appears atomically (two processes racing both end up with the same key).
    pub fn load_or_create(
        issuer: &str,
        key_path: &Path,
        audience: &str,
    ) -> Result<DevIssuer, DevIssuerError> {
        let url = Url::parse(issuer)
            .map_err(|e| DevIssuerError::BadIssuer(format!("{issuer:?}: {e}")))?;
        if audience.is_empty() {
            return Err(DevIssuerError::BadIssuer(
                "audience must not be empty".into(),
            ));
        }
        let pkcs8 = match std::fs::read(key_path) {
            Ok(pem) => parse_key(&pem).map_err(|reason| DevIssuerError::BadKey {
                path: key_path.to_owned(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(key_path)?,
            Err(source) => {
                return Err(DevIssuerError::Io {
                    path: key_path.to_owned(),
                    source,
                });
            }
        };
        let key = EncodingKey::from_ec_der(&pkcs8);
        let bad = |e: jsonwebtoken::errors::Error| DevIssuerError::BadKey {
            path: key_path.to_owned(),
            reason: e.to_string(),
        };
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(bad)?;
        // RFC 7638 thumbprint: stable for the key, so a restart keeps the same `kid`.
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(bad)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwk = serde_json::to_value(&jwk).map_err(|e| DevIssuerError::Sign(e.to_string()))?;
        let path = url.path.split(['?', '#']).next().unwrap_or_default();
        Ok(DevIssuer {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            kid,
            key,
            jwk,
            base_path: path.trim_end_matches('/').to_owned(),
            requests: AtomicU64::new(0),
            grants: super::dev_authorize::Grants::default(),
        })
    }

    /// The URL path below which it serves, without a trailing `/`.
    pub(in crate::auth) fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The sign-in's outstanding grants.
    pub(in crate::auth) fn grants(&self) -> &super::dev_authorize::Grants {
        &self.grants
    }

    /// The issuer URL, as the `iss` of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` of minted tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// HTTP requests answered so far by [`DevIssuer::serve`] (any path).
    pub fn requests_served(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Mints an RFC 9068 access token for `user` (put in `sub` and `email`) with the
    /// space-separated `scopes`, valid for `ttl_secs` from now.
    pub fn mint(&self, user: &str, scopes: &str, ttl_secs: u64) -> Result<String, DevIssuerError> {
        if user.trim().is_empty() {
            return Err(DevIssuerError::BadRequest("empty user".into()));
        }
        if ttl_secs == 0 || ttl_secs > MAX_TTL_SECS {
            return Err(DevIssuerError::BadRequest(format!(
                "ttl must be 1..={MAX_TTL_SECS} seconds"
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).map_err(|e| DevIssuerError::Sign(e.to_string()))?;
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user,
            "email": user,
            "scope": scopes,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_secs,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "client_id": DEV_CLIENT_ID,
        });
        self.sign(&self.header(), &claims)
    }

    /// The header of minted tokens: `{"alg":"ES256","typ":"at+jwt","kid":…}`.
    pub(in crate::auth) fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        header
    }

    /// Signs arbitrary claims with the issuer key (tests build bad tokens with it).
    pub(in crate::auth) fn sign(
        &self,
        header: &Header,
        claims: &Value,
    ) -> Result<String, DevIssuerError> {
        jsonwebtoken::encode(header, claims, &self.key)
            .map_err(|e| DevIssuerError::Sign(e.to_string()))
    }

    /// The JWK Set (RFC 7517 §5) with the one public key.
    pub fn jwks_json(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }

    /// Its OpenID Connect Discovery 1.0 document: the issuer, its keys, the
    /// sign-in endpoints (`dev_authorize.rs`) and what its tokens hold.
    pub fn discovery_json(&self) -> Value {
        let base = self.issuer.trim_end_matches('/');
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{base}/jwks"),
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "email", "offline_access", "mail.read", "mail.send"],
            "claims_supported": ["iss", "aud", "sub", "email", "scope", "iat", "nbf", "exp", "jti", "client_id"],
        })
    }

    /// Where to listen: host and port of the issuer URL, which must be `http://` on a
    /// loopback address (`localhost` means 127.0.0.1).
    pub fn listen_addr(&self) -> Result<SocketAddr, DevIssuerError> {
        let url = Url::parse(&self.issuer).map_err(DevIssuerError::BadIssuer)?;
        let ip = match url.host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) if url.host == "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Err(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        if url.scheme != Scheme::Http || !ip.is_loopback() {
            return Err(DevIssuerError::BadIssuer(format!(
                "{:?}: the development issuer serves only http:// on a loopback address",
                self.issuer
            )));
        }
        Ok(SocketAddr::new(ip, url.port))
    }

    /// Serves discovery and JWKS on `listener` until `shutdown` completes:
    /// `GET <path>/.well-known/openid-configuration`, `GET <path>/jwks`, and the RFC 8414
    /// §3.1 forms `/.well-known/openid-configuration<path>` and
    /// `/.well-known/oauth-authorization-server<path>`; 404 otherwise. On shutdown it stops
    /// accepting and asks open connections to finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let handler: Handler = Arc::new(move |req: Request<hyper::body::Incoming>| {
            let issuer = Arc::clone(&self);
            Box::pin(async move {
                issuer.requests.fetch_add(1, Ordering::Relaxed);
                let base = issuer.base_path.as_str();
                let discovery = [
                    format!("{base}/.well-known/openid-configuration"),
                    format!("/.well-known/openid-configuration{base}"),
                    format!("/.well-known/oauth-authorization-server{base}"),
                ];
                let path = req.uri().path().to_owned();
                if discovery.contains(&path) {
                    return respond(&req, &|_: &str| Some(issuer.discovery_json()));
                }
                if path == format!("{base}/jwks") {
                    return respond(&req, &|_: &str| Some(issuer.jwks_json()));
                }
                match issuer.sign_in(req).await {
                    Some(r) => r,
                    None => json_response(StatusCode::NOT_FOUND, &json!({"error": "not found"})),
                }
            })
        });
        serve_requests(listener, shutdown, handler).await;
    }
}

/// Parses a PEM private key into PKCS#8 DER, converting SEC1 (`EC PRIVATE KEY`), and checks
/// it is a P-256 key.
fn parse_key(pem: &[u8]) -> Result<Vec<u8>, String> {
    let der = match PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| format!("not a PEM private key: {e}"))?
    {
        PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        PrivateKeyDer::Sec1(k) => {
            let pair = EcdsaKeyPair::from_private_key_der(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                k.secret_sec1_der(),
            )
            .map_err(|e| format!("not a P-256 key: {e}"))?;
            pair.to_pkcs8v1()
                .map_err(|e| format!("cannot convert SEC1 key: {e}"))?
                .as_ref()
                .to_vec()
        }
        _ => return Err("not an EC private key (want PKCS#8 P-256)".into()),
    };
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
        .map_err(|e| format!("not a P-256 key: {e}"))?;
    Ok(der)
}

/// Creates a new P-256 key at `path` as PKCS#8 PEM, mode 0600. The key is written to a
/// temporary file and hard-linked into place, which fails if `path` appeared meanwhile: then
/// the other process's key wins and is loaded instead.
fn create_key(path: &Path) -> Result<Vec<u8>, DevIssuerError> {
    let io = |source| DevIssuerError::Io {
        path: path.to_owned(),
        source,
    };
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|e| DevIssuerError::Sign(e.to_string()))?;
    let pem = pem_encode("PRIVATE KEY", pkcs8.as_ref());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|e| DevIssuerError::Sign(e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", URL_SAFE_NO_PAD.encode(nonce)));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created development issuer key");
            Ok(pkcs8.as_ref().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = std::fs::read(path).map_err(io)?;
            parse_key(&pem).map_err(|reason| DevIssuerError::BadKey {
                path: path.to_owned(),
                reason,
            })
        }
        Err(e) => Err(io(e)),
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A request handler for [`serve_requests`].
pub(in crate::auth) type Handler = Arc<
    dyn Fn(Request<hyper::body::Incoming>) -> std::pin::Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

/// Serves GET requests for JSON documents: `route(path)` gives the document or `None` (404).
/// Tests stand up fake issuers with it.
#[cfg(test)]
pub(in crate::auth) async fn serve_json<F>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    route: F,
) where
    F: Fn(&str) -> Option<Value> + Send + Sync + 'static,
{
    let route = Arc::new(route);
    let handler: Handler = Arc::new(move |req| {
        let route = Arc::clone(&route);
        Box::pin(async move { respond(&req, route.as_ref()) })
    });
    serve_requests(listener, shutdown, handler).await;
}

/// Accepts HTTP/1.1 connections on `listener` until `shutdown`, one task
/// each (at most [`MAX_CONNECTIONS`]), every request answered by `handler`.
pub(in crate::auth) async fn serve_requests(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handler: Handler,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "dev issuer accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            continue;
        };
        let handler = Arc::clone(&handler);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let fut = handler(req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "dev issuer connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(stop_tx);
}

fn respond<B>(
    req: &Request<B>,
    route: &(impl Fn(&str) -> Option<Value> + ?Sized),
) -> Response<Full<Bytes>> {
    let (status, body) = if req.method() != Method::GET && req.method() != Method::HEAD {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "method not allowed"}),
        )
    } else {
        match route(req.uri().path()) {
            Some(doc) => (StatusCode::OK, doc),
            None => (StatusCode::NOT_FOUND, json!({"error": "not found"})),
        }
    };
    json_response(status, &body)
}

/// A JSON response that is not cached.
pub(in crate::auth) fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
#[path = "dev_issuer_tests.rs"]
mod tests;
