//! The HTTP service on `[http]` (CONTRACT.md "HTTP"): autoconfig for mail
//! programs, Outlook autodiscover, the Thunderbird add-on, RFC 9728
//! protected resource metadata,
//! `/healthz` and Prometheus `/metrics`; cleartext on `listen` (loopback
//! or behind a reverse proxy) and TLS with the `[tls]` certificate on
//! `listen_tls`. HTTP/1.1 by hyper.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | listeners, connections, the routes |
//! | `autoconfig.rs` | Mozilla autoconfig and Outlook autodiscover documents |
//! | `xpi.rs` | the Thunderbird add-on that registers the IdP |
//! | `mobileconfig.rs` | the Apple configuration profile with an app password |
//! | `portal/` | the account page: OIDC sign-in, app passwords, sign out everywhere |

pub mod autoconfig;
pub mod mobileconfig;
pub mod portal;
pub mod xpi;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::account::Accounts;
use crate::auth::{HttpClient, Validator};
use crate::config::Config;
use crate::store::MailStore;
use autoconfig::OAuthClient;

/// Largest request body read (an autodiscover request is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Concurrent HTTP connections.
const MAX_CONNECTIONS: usize = 1024;

/// How long the request head and a TLS handshake may take.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the IdP's endpoints, read from its discovery document, are
/// used before they are read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

type Body = Full<Bytes>;

/// An identity provider's endpoints, from its discovery document
/// (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `userinfo_endpoint`, when it has one.
    pub userinfo_endpoint: Option<String>,
}

/// What the routes need.
pub struct Web {
    config: Arc<Config>,
    store: Arc<dyn MailStore>,
    http: HttpClient,
    /// The account page, when `[portal]` is configured.
    portal: Option<portal::Portal>,
    /// Discovered endpoints by issuer, with when they were read.
    discovery: tokio::sync::Mutex<HashMap<String, (Instant, Discovered)>>,
}

impl Web {
    /// The service of `config` over `store`; the account page signs in
    /// through `validator` and changes accounts through `accounts`.
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn MailStore>,
        http: HttpClient,
        accounts: Arc<Accounts>,
        validator: Arc<Validator>,
    ) -> Result<Arc<Web>, String> {
        let portal = portal::Portal::new(&config, accounts, validator)?;
        Ok(Arc::new(Web {
            config,
            store,
            http,
            portal,
            discovery: tokio::sync::Mutex::new(HashMap::new()),
        }))
    }

    /// The endpoints of `issuer`, from its discovery document, read again
    /// after an hour; while the IdP is unreachable the last good ones are
    /// used, and with none the error says why.
    pub async fn discover(&self, issuer: &str) -> Result<Discovered, String> {
        let mut cache = self.discovery.lock().await;
        if let Some((at, d)) = cache.get(issuer)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let fetched = match self.http.get_json(&url).await {
            Ok(doc) => {
                let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                match (field("authorization_endpoint"), field("token_endpoint")) {
                    (Some(authorization_endpoint), Some(token_endpoint)) => Ok(Discovered {
                        authorization_endpoint,
                        token_endpoint,
                        userinfo_endpoint: field("userinfo_endpoint"),
                    }),
                    _ => Err("the discovery document names no authorization or token endpoint".to_owned()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        match fetched {
            Ok(d) => {
                cache.insert(issuer.to_owned(), (Instant::now(), d.clone()));
                Ok(d)
            }
            Err(why) => {
                tracing::warn!(%url, error = %why, "cannot read the issuer's discovery document");
                cache.get(issuer).map(|(_, d)| d.clone()).ok_or(why)
            }
        }
    }

    /// The OAuth client settings of `[mail_clients]`, with the endpoints
    /// from its issuer's discovery document.
    pub async fn mail_client_oauth(&self) -> Option<OAuthClient> {
        let mc = self.config.mail_clients.as_ref()?;
        let d = self.discover(&mc.issuer).await.ok()?;
        Some(OAuthClient {
            issuer: mc.issuer.clone(),
            scope: mc.scopes.clone(),
            auth_url: d.authorization_endpoint,
            token_url: d.token_endpoint,
            client_id: mc.client_id.clone(),
        })
    }
}

/// Binds the `[http]` listeners: (listener, TLS?) pairs.
pub async fn bind(config: &Config) -> std::io::Result<Vec<(TcpListener, bool)>> {
    let mut out = Vec::new();
    for (list, tls) in [
        (&config.http.listeners.listen, false),
        (&config.http.listeners.listen_tls, true),
    ] {
        for addr in list {
            let l = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("http listener {addr}: {e}"))
            })?;
            tracing::info!(%addr, tls, "listening (http)");
            out.push((l, tls));
        }
    }
    Ok(out)
}

/// Serves one listener until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    web: Arc<Web>,
    mut stop: watch::Receiver<bool>,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue;
        };
        let web = web.clone();
        let tls = tls.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let web = web.clone();
                async move { Ok::<_, Infallible>(route(&web, req, peer).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEAD_TIMEOUT);
            let result = match tls {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        r = conn.as_mut() => r,
                        _ = stop.changed() => { conn.as_mut().graceful_shutdown(); conn.await }
                    }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(tcp), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        r = conn.as_mut() => r,
                        _ = stop.changed() => { conn.as_mut().graceful_shutdown(); conn.await }
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "http connection ended with an error");
            }
        });
    }
}

pub(crate) fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", body)
}

async fn route(web: &Web, req: Request<hyper::body::Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    let lower = path.to_ascii_lowercase();
    match lower.as_str() {
        "/.well-known/autoconfig/mail/config-v1.1.xml" | "/mail/config-v1.1.xml" if get => {
            mozilla(web, crate::proto::urlencoded::param(&query, "emailaddress")).await
        }
        "/autodiscover/autodiscover.xml" if method == Method::POST => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"),
            };
            outlook(web, &String::from_utf8_lossy(&body))
        }
        p if p == "/account" || p.starts_with("/account/") => {
            let cookies: Vec<String> = req
                .headers()
                .get_all(hyper::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            let header = |name| {
                req.headers()
                    .get(name)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let accept_language = header(hyper::header::ACCEPT_LANGUAGE);
            let user_agent = header(hyper::header::USER_AGENT);
            let body = if method == Method::POST {
                match Limited::new(req.into_body(), MAX_BODY).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"),
                }
            } else {
                Bytes::new()
            };
            let preq = portal::PortalRequest {
                method: &method,
                path: p,
                query: &query,
                cookies: cookies.iter().map(String::as_str).collect(),
                accept_language: accept_language.as_deref(),
                user_agent: user_agent.as_deref(),
                body: &body,
                peer: peer.ip(),
            };
            portal::handle(web, &preq).await
        }
        "/.well-known/oauth-protected-resource" if get => protected_resource(web),
        "/thunderbird/tokenmail-oauth.xpi" if get => addon(web).await,
        "/healthz" if get => text(StatusCode::OK, "ok\n"),
        "/metrics" if get => {
            let (flushes, syncs) = web.store.flush_stats();
            respond(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                crate::metrics::render(flushes, syncs),
            )
        }
        "/.well-known/autoconfig/mail/config-v1.1.xml"
        | "/mail/config-v1.1.xml"
        | "/.well-known/oauth-protected-resource"
        | "/healthz"
        | "/metrics"
        | "/thunderbird/tokenmail-oauth.xpi"
        | "/autodiscover/autodiscover.xml" => {
            tracing::debug!(%peer, %method, %path, "method not allowed");
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The domain an address belongs to, when it is one of ours.
fn local_domain<'a>(config: &'a Config, email: Option<&str>) -> Result<&'a str, ()> {
    match email {
        None => Ok(config.domains[0].as_str()),
        Some(e) => {
            let domain = e.trim().rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).ok_or(())?;
            config.domains.iter().find(|d| **d == domain).map(String::as_str).ok_or(())
        }
    }
}

async fn mozilla(web: &Web, email: Option<String>) -> Response<Body> {
    let email = email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
    let Ok(domain) = local_domain(&web.config, email.as_deref()) else {
        return text(StatusCode::NOT_FOUND, "not an address of this server\n");
    };
    let oauth = web.mail_client_oauth().await;
    let xml = autoconfig::mozilla(
        domain,
        email.as_deref(),
        &autoconfig::endpoints(&web.config),
        oauth.as_ref(),
    );
    respond(StatusCode::OK, "text/xml; charset=utf-8", xml)
}

fn outlook(web: &Web, body: &str) -> Response<Body> {
    let Some(email) = autoconfig::autodiscover_address(body) else {
        return text(StatusCode::BAD_REQUEST, "no EMailAddress in the request\n");
    };
    if local_domain(&web.config, Some(&email)).is_err() {
        return text(StatusCode::NOT_FOUND, "not an address of this server\n");
    }
    let xml = autoconfig::outlook(&email.to_lowercase(), &autoconfig::endpoints(&web.config));
    respond(StatusCode::OK, "text/xml; charset=utf-8", xml)
}

/// The add-on for this server's host name, registering `[mail_clients]`'s
/// IdP; 503 while the IdP's endpoints are unknown (its discovery document
/// could not be read yet), 404 without `[mail_clients]`.
async fn addon(web: &Web) -> Response<Body> {
    if web.config.mail_clients.is_none() {
        return text(StatusCode::NOT_FOUND, "no [mail_clients] is configured\n");
    }
    let Some(oauth) = web.mail_client_oauth().await else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the identity provider's endpoints are not known yet; try again\n",
        );
    };
    let host = &web.config.hostname;
    let bytes = xpi::xpi(host, &xpi::hostnames(&web.config), &oauth);
    let mut r = respond(StatusCode::OK, "application/x-xpinstall", bytes);
    r.headers_mut().insert(
        hyper::header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"tokenmail-oauth.xpi\""),
    );
    r
}

/// RFC 9728 §2-3: who issues tokens for this resource and which scopes it
/// knows. Mail programs present the token in SASL, not in a header; the
/// registered values name only HTTP methods, so the list says `header`
/// for tools that will probe with one.
fn protected_resource(web: &Web) -> Response<Body> {
    let issuers = web.config.trusted_issuers();
    let mut scopes: Vec<String> = Vec::new();
    for i in &issuers {
        for s in [&i.read_scope, &i.send_scope] {
            if !s.is_empty() && !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
    }
    let doc = serde_json::json!({
        "resource": web.config.http.public_url,
        "resource_name": format!("{} mail", web.config.hostname),
        "authorization_servers": issuers.iter().map(|i| i.issuer.clone()).collect::<Vec<_>>(),
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
    });
    respond(StatusCode::OK, "application/json", doc.to_string())
}
