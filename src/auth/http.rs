//! A minimal HTTP/1.1 client for an identity provider: `GET` of OIDC discovery documents,
//! JWK sets and UserInfo (OIDC Core §5.3), and the form `POST` of a token request
//! (RFC 6749 §4.1.3).
//!
//! Only what that needs: one request per connection (`Connection: close`), no
//! redirects (RFC 8414 §3 and OIDC Discovery §4 expect the document at the URL itself; a
//! redirect is refused as a non-200 status), no cookies, no proxies. `https://` is verified
//! against the webpki roots plus optional extra CA certificates; plain `http://` is used only
//! for loopback hosts, so a key set can never travel unauthenticated over a network.
//!
//! Every request has one overall deadline (connect, TLS, request and body together) and the
//! body is capped, so an unresponsive or hostile identity provider costs at most
//! [`REQUEST_TIMEOUT`] and [`MAX_BODY`] per fetch.
//!
//! Concurrency: [`HttpClient`] is immutable after construction and cheap to clone; each call
//! owns its connection, whose driver task is aborted when the call returns or is cancelled.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// Overall deadline for one request: connect, TLS handshake, request and response body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response body accepted. Real JWK sets are a few KiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a fetch failed. The text is for logs; none of it reaches a mail client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL could not be parsed or has an unsupported scheme.
    #[error("bad URL: {0}")]
    BadUrl(String),
    /// `http://` to a host that is not loopback.
    #[error("refusing cleartext http:// to non-loopback host {0}; use https://")]
    Insecure(String),
    /// The extra CA certificates could not be read.
    #[error("bad CA certificate PEM: {0}")]
    BadCa(String),
    /// Name resolution or TCP connect failed.
    #[error("connect to {host}: {reason}")]
    Connect {
        /// The host that was dialled.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with {host}: {reason}")]
    Tls {
        /// The host that was dialled.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// An HTTP protocol error.
    #[error("HTTP: {0}")]
    Protocol(String),
    /// The deadline passed.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The status was not 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// An OAuth endpoint refused the request with an error response
    /// (RFC 6749 §5.2): its `error` code and description.
    #[error("HTTP status {status}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// The status.
        status: u16,
        /// The `error` member.
        error: String,
        /// The `error_description` member, at most 200 characters.
        description: Option<String>,
    },
    /// The body exceeded [`MAX_BODY`].
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The body was not JSON.
    #[error("response is not JSON: {0}")]
    Json(String),
}

/// The scheme of a parsed URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// An absolute `http`/`https` URL split into the parts a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: Scheme,
    /// Lower-cased host; IPv6 without brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The `Host` header value: host (bracketed for IPv6) plus `:port` when not the default.
    pub(crate) authority: String,
    /// Path and query, always starting with `/`; the fragment is dropped.
    pub(crate) path: String,
}

impl Url {
    /// Splits an absolute URL (RFC 3986 §3). Rejects user info, which has no use here and
    /// is a classic way to disguise the real host.
    pub(crate) fn parse(url: &str) -> Result<Url, String> {
        if url
            .chars()
            .any(|c| c.is_ascii_control() || c.is_whitespace())
        {
            return Err("URL contains whitespace or control characters".into());
        }
        let (scheme, rest) = url.split_once("://").ok_or("URL has no scheme://")?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(format!("unsupported scheme {other:?}")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err("URL must not contain user info".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("unclosed [ in host")?;
            host.parse::<Ipv6Addr>()
                .map_err(|_| format!("bad IPv6 address {host:?}"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("junk after ]")?),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("URL has no host".into());
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(format!("bad port {p:?}")),
            },
        };
        let host = host.to_ascii_lowercase();
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let authority = if port == default_port {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Url {
            scheme,
            host,
            port,
            authority,
            path,
        })
    }

    /// True when the host is `localhost` or a loopback IP (127.0.0.0/8, `::1`, or
    /// `::ffff:127.x.y.z`).
    pub(crate) fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// True for `localhost` and loopback IP literals.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => is_loopback_ip(ip),
        Err(_) => false,
    }
}

fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// True when `url` parses and its host is loopback (whatever the scheme).
pub fn is_loopback_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| u.is_loopback())
}

/// The rule for issuer and JWKS URLs in configuration (CONTRACT.md): `https://` anywhere,
/// `http://` only for loopback hosts. The error names what is wrong, for one clear line.
pub fn check_url_scheme(url: &str) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    match parsed.scheme {
        Scheme::Https => Ok(()),
        Scheme::Http if parsed.is_loopback() => Ok(()),
        Scheme::Http => Err(format!(
            "{url:?}: http:// is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost); use https://"
        )),
    }
}

/// A small `GET`-and-parse-JSON client. Clone freely: the TLS configuration is shared.
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds a client trusting the webpki roots plus every certificate in `extra_ca_pem`
    /// (for an identity provider with a private CA). When that PEM is unusable the error is
    /// logged and only the webpki roots are trusted; use [`HttpClient::try_new`] to refuse
    /// it instead (configuration checks should).
    pub fn new(extra_ca_pem: Option<Vec<u8>>) -> HttpClient {
        match Self::try_new(extra_ca_pem) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "ignoring the extra CA certificates");
                Self::webpki_only()
            }
        }
    }

    fn webpki_only() -> HttpClient {
        // Invariant: without extra certificates the only failure left is the crypto
        // provider lacking the default TLS versions, which aws-lc-rs always has.
        Self::try_new(None).expect("aws-lc-rs supports the default TLS versions")
    }

    /// As [`HttpClient::new`], but fails when `extra_ca_pem` holds no usable certificate.
    pub fn try_new(extra_ca_pem: Option<Vec<u8>>) -> Result<HttpClient, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = extra_ca_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| HttpError::BadCa(e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| HttpError::BadCa(e.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(HttpError::BadCa("no CERTIFICATE block found".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::BadCa(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout: REQUEST_TIMEOUT,
        })
    }

    /// The same client with another overall deadline (tests use short ones).
    pub fn with_timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    /// `GET url`, require status 200, and parse the body (at most [`MAX_BODY`]) as JSON.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, HttpError> {
        Ok(self.get_json_cached(url).await?.0)
    }

    /// As [`Self::get_json`], with how long the response may be cached:
    /// its `Cache-Control` `max-age` (RFC 9111 §5.2.2.1), zero for
    /// `no-cache` or `no-store`, `None` without either.
    pub async fn get_json_cached(
        &self,
        url: &str,
    ) -> Result<(serde_json::Value, Option<Duration>), HttpError> {
        self.json(url, Outgoing::default()).await
    }

    /// `GET url` with `Authorization: Bearer token` (RFC 6750 §2.1), as a
    /// UserInfo request is made (OIDC Core §5.3.1).
    pub async fn get_json_bearer(
        &self,
        url: &str,
        token: &str,
    ) -> Result<serde_json::Value, HttpError> {
        let out = Outgoing {
            authorization: Some(format!("Bearer {token}")),
            form: None,
        };
        Ok(self.json(url, out).await?.0)
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body, as a
    /// token request is made (RFC 6749 §4.1.3), optionally with HTTP Basic
    /// client authentication (`client_id`, secret; RFC 6749 §2.3.1, each
    /// form-encoded first). A refusal with an OAuth error body becomes
    /// [`HttpError::OAuth`].
    pub async fn post_form(
        &self,
        url: &str,
        form: &str,
        basic: Option<(&str, &str)>,
    ) -> Result<serde_json::Value, HttpError> {
        use base64::Engine;
        let authorization = basic.map(|(id, secret)| {
            let enc = crate::proto::urlencoded::encode;
            let pair = format!("{}:{}", enc(id), enc(secret));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let out = Outgoing {
            authorization,
            form: Some(form.to_owned()),
        };
        Ok(self.json(url, out).await?.0)
    }

    async fn json(
        &self,
        url: &str,
        out: Outgoing,
    ) -> Result<(serde_json::Value, Option<Duration>), HttpError> {
        let parsed = Url::parse(url).map_err(HttpError::BadUrl)?;
        if parsed.scheme == Scheme::Http && !parsed.is_loopback() {
            return Err(HttpError::Insecure(parsed.host));
        }
        let (body, max_age) = tokio::time::timeout(self.timeout, self.send(&parsed, &out))
            .await
            .map_err(|_| HttpError::Timeout(self.timeout))??;
        let json = serde_json::from_slice(&body).map_err(|e| HttpError::Json(e.to_string()))?;
        Ok((json, max_age))
    }

    async fn send(&self, url: &Url, out: &Outgoing) -> Result<(Bytes, Option<Duration>), HttpError> {
        let tcp = connect(url).await?;
        match url.scheme {
            Scheme::Http => request(TokioIo::new(tcp), url, out).await,
            Scheme::Https => {
                let name = match url.host.parse::<IpAddr>() {
                    Ok(ip) => ServerName::IpAddress(ip.into()),
                    Err(_) => ServerName::try_from(url.host.clone())
                        .map_err(|e| HttpError::BadUrl(e.to_string()))?,
                };
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| HttpError::Tls {
                        host: url.host.clone(),
                        reason: e.to_string(),
                    })?;
                request(TokioIo::new(tls), url, out).await
            }
        }
    }
}

/// What a request carries beyond its URL: a `GET` without a form, a
/// `POST` with one.
#[derive(Default)]
struct Outgoing {
    /// The `Authorization` field value. Never logged.
    authorization: Option<String>,
    /// A form body, making the request a `POST`.
    form: Option<String>,
}

/// Resolves and dials the host, trying each address in turn. For cleartext `http://` only
/// loopback addresses are dialled, even when a name like `localhost` resolves elsewhere.
async fn connect(url: &Url) -> Result<TcpStream, HttpError> {
    let connect_err = |reason: String| HttpError::Connect {
        host: url.host.clone(),
        reason,
    };
    let addrs: Vec<SocketAddr> = match url.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, url.port)],
        Err(_) if url.host == "localhost" => vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), url.port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), url.port),
        ],
        Err(_) => tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|e| connect_err(e.to_string()))?
            .collect(),
    };
    let mut last = String::from("no address");
    for addr in addrs {
        if url.scheme == Scheme::Http && !is_loopback_ip(addr.ip()) {
            last = format!("{addr} is not loopback");
            continue;
        }
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(connect_err(last))
}

/// Aborts the connection driver when the request ends, also on timeout or cancellation.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn request<T>(
    io: TokioIo<T>,
    url: &Url,
    out: &Outgoing,
) -> Result<(Bytes, Option<Duration>), HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: hyper::Error| HttpError::Protocol(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(protocol)?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "HTTP client connection ended with an error");
        }
    }));
    let method = if out.form.is_some() {
        hyper::Method::POST
    } else {
        hyper::Method::GET
    };
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url.path.as_str())
        .header(hyper::header::HOST, url.authority.as_str())
        .header(
            hyper::header::ACCEPT,
            "application/json, application/jwk-set+json",
        )
        .header(
            hyper::header::USER_AGENT,
            concat!("tokenmail/", env!("CARGO_PKG_VERSION")),
        )
        .header(hyper::header::CONNECTION, "close");
    if let Some(a) = &out.authorization {
        req = req.header(hyper::header::AUTHORIZATION, a.as_str());
    }
    if out.form.is_some() {
        req = req.header(
            hyper::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    }
    let body = Full::new(Bytes::from(out.form.clone().unwrap_or_default()));
    let req = req
        .body(body)
        .map_err(|e| HttpError::BadUrl(e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(protocol)?;
    let status = resp.status().as_u16();
    if status != 200 {
        if out.form.is_some() && (400..500).contains(&status) {
            return Err(oauth_error(status, resp.into_body()).await);
        }
        return Err(HttpError::Status(status));
    }
    let max_age = resp
        .headers()
        .get_all(hyper::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(cache_max_age)
        .min();
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HttpError::TooLarge(MAX_BODY)
            } else {
                HttpError::Protocol(e.to_string())
            }
        })?;
    Ok((body.to_bytes(), max_age))
}

/// An RFC 6749 §5.2 error response: its `error` and `error_description`,
/// or the bare status when the body is not one.
async fn oauth_error(status: u16, body: hyper::body::Incoming) -> HttpError {
    let Ok(body) = Limited::new(body, 16 * 1024).collect().await else {
        return HttpError::Status(status);
    };
    let doc: serde_json::Value = match serde_json::from_slice(&body.to_bytes()) {
        Ok(v) => v,
        Err(_) => return HttpError::Status(status),
    };
    let text = |k: &str| {
        doc.get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
    };
    match text("error") {
        Some(error) => HttpError::OAuth {
            status,
            error,
            description: text("error_description"),
        },
        None => HttpError::Status(status),
    }
}

/// The freshness a `Cache-Control` field value gives (RFC 9111 §5.2.2):
/// `max-age=N` seconds, zero for `no-cache` / `no-store`; `None` when it
/// says neither. Directive names are case-insensitive; a quoted number is
/// accepted (§5.2).
pub(crate) fn cache_max_age(value: &str) -> Option<Duration> {
    let mut found = None;
    for directive in value.split(',') {
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(secs) = arg.and_then(|a| a.parse::<u64>().ok())
        {
            found = Some(Duration::from_secs(secs));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        let secs = |v: &str| cache_max_age(v).map(|d| d.as_secs());
        assert_eq!(secs("max-age=3600"), Some(3600));
        assert_eq!(secs("public, Max-Age=\"600\", must-revalidate"), Some(600));
        assert_eq!(secs("no-cache"), Some(0));
        assert_eq!(secs("private, no-store"), Some(0));
        assert_eq!(secs("public"), None);
        assert_eq!(secs("max-age=soon"), None);
        assert_eq!(secs("s-maxage=5"), None);
    }

    #[test]
    fn splits_urls() {
        let u = Url::parse("https://ID.example.test/realms/mail").unwrap();
        assert_eq!(
            (
                u.scheme,
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str()
            ),
            (
                Scheme::Https,
                "id.example.test",
                443,
                "id.example.test",
                "/realms/mail"
            )
        );
        let u = Url::parse("http://[::1]:8080/dev/jwks?x=1#frag").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str()
            ),
            ("::1", 8080, "[::1]:8080", "/dev/jwks?x=1")
        );
        let u = Url::parse("http://127.0.0.1:80").unwrap();
        assert_eq!(
            (u.port, u.authority.as_str(), u.path.as_str()),
            (80, "127.0.0.1", "/")
        );
        let u = Url::parse("https://h?q").unwrap();
        assert_eq!(u.path, "/?q");
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "id.example.test/x",
            "ftp://h/",
            "https://user@h/",
            "https://127.0.0.1@evil.test/",
            "https:///path",
            "https://h:0/",
            "https://h:99999/",
            "https://h:+80/",
            "https://[::1/",
            "https://[zz]/",
            "https://h /",
            "https://h/\n",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cleartext_only_for_loopback() {
        for ok in [
            "https://id.example.test/realms/mail",
            "http://127.0.0.1:8080/dev",
            "http://127.3.2.1/",
            "http://[::1]:8080/dev",
            "http://localhost:9000",
            "HTTP://LOCALHOST/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(check_url_scheme(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://id.example.test/realms/mail",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://localhost.evil.test/",
            "http://128.0.0.1/",
            "file:///etc/passwd",
        ] {
            assert!(check_url_scheme(bad).is_err(), "{bad}");
        }
        assert!(is_loopback_url("http://127.0.0.1:1/"));
        assert!(!is_loopback_url("https://example.test/"));
    }

    #[tokio::test]
    async fn client_refuses_cleartext_to_remote_hosts() {
        let client = HttpClient::new(None);
        let err = client.get_json("http://192.0.2.1/jwks").await.unwrap_err();
        assert!(matches!(err, HttpError::Insecure(_)), "{err}");
    }

    #[tokio::test]
    async fn bad_extra_ca_is_an_error() {
        assert!(matches!(
            HttpClient::try_new(Some(b"junk".to_vec())),
            Err(HttpError::BadCa(_))
        ));
        // `new` logs and falls back to the webpki roots.
        let _ = HttpClient::new(Some(b"junk".to_vec()));
    }

    #[tokio::test]
    async fn non_200_size_cap_and_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                n += 1;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let resp: Vec<u8> = match n {
                    1 => b"HTTP/1.1 302 Found\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n"
                        .to_vec(),
                    2 => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                            MAX_BODY + 10
                        )
                        .into_bytes();
                        r.extend(std::iter::repeat_n(b' ', MAX_BODY + 10));
                        r
                    }
                    3 => b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}".to_vec(),
                    4 => b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnot".to_vec(),
                    _ => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        Vec::new()
                    }
                };
                let _ = s.write_all(&resp).await;
            }
        });
        let client = HttpClient::new(None).with_timeout(Duration::from_millis(500));
        let url = format!("http://127.0.0.1:{port}/x");
        assert!(matches!(
            client.get_json(&url).await,
            Err(HttpError::Status(302))
        ));
        assert!(matches!(
            client.get_json(&url).await,
            Err(HttpError::TooLarge(_))
        ));
        assert_eq!(
            client.get_json(&url).await.unwrap(),
            serde_json::json!({"a": 1})
        );
        assert!(matches!(
            client.get_json(&url).await,
            Err(HttpError::Json(_))
        ));
        assert!(matches!(
            client.get_json(&url).await,
            Err(HttpError::Timeout(_))
        ));
    }

    #[tokio::test]
    async fn https_with_an_extra_ca() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = rustls_pki_types::PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key.into())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let body = br#"{"keys":[]}"#;
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        let url = format!("https://localhost:{port}/certs");
        let trusted = HttpClient::try_new(Some(ck.cert.pem().into_bytes())).unwrap();
        assert_eq!(
            trusted.get_json(&url).await.unwrap(),
            serde_json::json!({"keys": []})
        );
        let untrusted = HttpClient::new(None);
        assert!(matches!(
            untrusted.get_json(&url).await,
            Err(HttpError::Tls { .. })
        ));
    }
}
