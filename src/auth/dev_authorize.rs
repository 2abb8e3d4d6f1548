//! The development issuer's sign-in: an OAuth 2.0 authorization endpoint
//! with a plain form (pick or type a demo user, no password) and a token
//! endpoint for the authorization code grant with PKCE and for refresh
//! tokens (RFC 6749 §4.1, §6; RFC 7636; OpenID Connect Core §3.1 for the
//! ID token), so that the account page and Thunderbird's sign-in work on
//! loopback with no other identity provider.
//!
//! Rules, as a real IdP would keep them for a public client:
//! - PKCE with S256 is required (OAuth 2.1; RFC 7636 §4.2);
//! - redirect URIs must be on a loopback host (`127.0.0.1`, `::1`,
//!   `localhost`, where Thunderbird catches `https://localhost`): the dev
//!   issuer signs any address, so it must not send codes anywhere else;
//! - a code lives 60 seconds and works once, for the same client and
//!   redirect URI (RFC 6749 §4.1.2, §4.1.3);
//! - the redirect carries `iss` (RFC 9207).
//!
//! Codes and refresh tokens live in memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::dev_issuer::{DevIssuer, json_response};

/// How long an authorization code may be redeemed.
const CODE_TTL: Duration = Duration::from_secs(60);

/// How long a refresh token works.
const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Access tokens from the token endpoint live this long.
pub const ACCESS_TTL_SECS: u64 = 3600;

/// Most outstanding codes and refresh tokens (old ones are dropped first).
const MAX_GRANTS: usize = 10_000;

/// Largest form body read.
const MAX_FORM: usize = 16 * 1024;

/// Demo users offered on the sign-in form.
pub const DEMO_USERS: [&str; 2] = ["alice@example.test", "bob@example.test"];

#[derive(Debug, Clone)]
struct Code {
    user: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: String,
    nonce: Option<String>,
    made: Instant,
}

#[derive(Debug, Clone)]
struct Refresh {
    user: String,
    client_id: String,
    scope: String,
    made: Instant,
}

/// Outstanding codes and refresh tokens.
#[derive(Debug, Default)]
pub struct Grants {
    codes: Mutex<HashMap<String, Code>>,
    refresh: Mutex<HashMap<String, Refresh>>,
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn insert_bounded<V>(map: &Mutex<HashMap<String, V>>, key: String, value: V, ttl: Duration, made: fn(&V) -> Instant) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MAX_GRANTS {
        m.retain(|_, v| made(v).elapsed() < ttl);
    }
    if m.len() >= MAX_GRANTS
        && let Some(oldest) = m.iter().min_by_key(|(_, v)| made(v)).map(|(k, _)| k.clone())
    {
        m.remove(&oldest);
    }
    m.insert(key, value);
}

use crate::proto::markup::escape as html_escape;
use crate::proto::urlencoded::{encode, parse as form};

/// Whether the dev issuer may send a code to `uri`: http(s) on a loopback host.
pub fn loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("https://").or_else(|| uri.strip_prefix("http://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The origin (`scheme://host:port`) of a URL, as a CSP source.
fn origin(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&uri[..uri.len() - rest.len() + end])
}

/// A page; its form may post to itself and, when given, be redirected to
/// `redirect_to`'s origin (browsers apply CSP `form-action` to the
/// redirect after a form post too).
fn page(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    page_for(status, body, None)
}

fn page_for(status: StatusCode, body: &str, redirect_to: Option<&str>) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>tokenmail development sign-in</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\
         input,button{{font-size:1rem;padding:.5rem;margin:.25rem 0}}input[type=email]{{width:100%}}\
         .note{{color:#666;font-size:.9rem}}</style></head><body>{body}</body></html>"
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(hyper::header::CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
    h.insert(hyper::header::CACHE_CONTROL, "no-store".parse().unwrap());
    let targets = match redirect_to.and_then(origin) {
        Some(o) if !o.contains([';', ',', ' ', '\'', '"']) => format!("'self' {o}"),
        _ => "'self'".to_owned(),
    };
    let csp = format!("default-src 'none'; style-src 'unsafe-inline'; form-action {targets}; frame-ancestors 'none'");
    if let Ok(v) = csp.parse() {
        h.insert("content-security-policy", v);
    }
    h.insert("x-frame-options", "DENY".parse().unwrap());
    r
}

fn redirect(to: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = to.parse() {
        r.headers_mut().insert(hyper::header::LOCATION, v);
    }
    r.headers_mut().insert(hyper::header::CACHE_CONTROL, "no-store".parse().unwrap());
    r
}

fn token_error(error: &str, description: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

/// The request parameters of an authorization request, checked.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    challenge: String,
    nonce: Option<String>,
    login_hint: Option<String>,
}

fn auth_request(p: &HashMap<String, String>) -> Result<AuthRequest, String> {
    let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    if get("response_type").as_deref() != Some("code") {
        return Err("response_type must be code".into());
    }
    let client_id = get("client_id").ok_or("client_id is missing")?;
    let redirect_uri = get("redirect_uri").ok_or("redirect_uri is missing")?;
    if !loopback_redirect(&redirect_uri) {
        return Err("redirect_uri must be on a loopback host for the development issuer".into());
    }
    let challenge = get("code_challenge").ok_or("PKCE is required: code_challenge is missing")?;
    if get("code_challenge_method").as_deref() != Some("S256") {
        return Err("code_challenge_method must be S256".into());
    }
    Ok(AuthRequest {
        client_id,
        redirect_uri,
        scope: get("scope").unwrap_or_else(|| "openid email mail.read mail.send".into()),
        state: get("state"),
        challenge,
        nonce: get("nonce"),
        login_hint: get("login_hint"),
    })
}

impl DevIssuer {
    /// Answers the dev issuer's sign-in paths; `None` for other paths.
    pub(in crate::auth) async fn sign_in(
        &self,
        req: Request<hyper::body::Incoming>,
    ) -> Option<Response<Full<Bytes>>> {
        let base = self.base_path();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let method = req.method().clone();
        if path != format!("{base}/authorize") && path != format!("{base}/token") {
            return None;
        }
        let body = if method == Method::POST {
            match Limited::new(req.into_body(), MAX_FORM).collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                Err(_) => return Some(token_error("invalid_request", "the form is too large")),
            }
        } else {
            String::new()
        };
        Some(match (path.ends_with("/authorize"), method) {
            (true, Method::GET) => self.authorize_form(&form(&query)),
            (true, Method::POST) => self.authorize_submit(&form(&body)),
            (false, Method::POST) => self.token_endpoint(&form(&body)),
            _ => token_error("invalid_request", "method not allowed"),
        })
    }

    fn authorize_form(&self, p: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let r = match auth_request(p) {
            Ok(r) => r,
            Err(e) => return page(StatusCode::BAD_REQUEST, &format!("<h1>Cannot sign in</h1><p>{}</p>", html_escape(&e))),
        };
        let hidden: String = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce"]
            .iter()
            .filter_map(|k| p.get(*k).map(|v| (k, v)))
            .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", html_escape(v)))
            .collect();
        let default = r.login_hint.as_deref().unwrap_or(DEMO_USERS[0]);
        let buttons: String = DEMO_USERS
            .iter()
            .map(|u| format!("<button type=\"submit\" name=\"pick\" value=\"{u}\" data-tm=\"pick\">{u}</button> "))
            .collect();
        page_for(
            StatusCode::OK,
            &format!(
                "<h1>Sign in</h1><p>The development issuer of <code>tokenmail dev</code> signs in \
                 <b>{client}</b> as any demo user, without a password.</p>\
                 <form method=\"post\" action=\"{base}/authorize\" data-tm=\"dev-sign-in\">{hidden}\
                 <p>{buttons}</p><label>or an address<br>\
                 <input type=\"email\" name=\"user\" value=\"{user}\"></label>\
                 <p><button type=\"submit\" data-tm=\"sign-in\">Sign in</button></p></form>\
                 <p class=\"note\">Scopes asked for: {scope}</p>",
                client = html_escape(&r.client_id),
                base = html_escape(self.base_path()),
                user = html_escape(default),
                scope = html_escape(&r.scope),
            ),
            Some(&r.redirect_uri),
        )
    }

    fn authorize_submit(&self, p: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let r = match auth_request(p) {
            Ok(r) => r,
            Err(e) => return page(StatusCode::BAD_REQUEST, &format!("<h1>Cannot sign in</h1><p>{}</p>", html_escape(&e))),
        };
        let user = p
            .get("pick")
            .filter(|v| !v.is_empty())
            .or_else(|| p.get("user"))
            .map(|u| u.trim().to_lowercase())
            .unwrap_or_default();
        if user.is_empty() || !user.contains('@') || user.len() > 254 {
            return page(StatusCode::BAD_REQUEST, "<h1>Cannot sign in</h1><p>Give an address.</p>");
        }
        let code = random_token();
        insert_bounded(
            &self.grants().codes,
            code.clone(),
            Code {
                user,
                client_id: r.client_id,
                redirect_uri: r.redirect_uri.clone(),
                scope: r.scope,
                challenge: r.challenge,
                nonce: r.nonce,
                made: Instant::now(),
            },
            CODE_TTL,
            |c| c.made,
        );
        let sep = if r.redirect_uri.contains('?') { '&' } else { '?' };
        let mut to = format!("{}{sep}code={}&iss={}", r.redirect_uri, encode(&code), encode(self.issuer()));
        if let Some(state) = r.state {
            to.push_str(&format!("&state={}", encode(&state)));
        }
        redirect(&to)
    }

    fn token_endpoint(&self, p: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
        match get("grant_type") {
            "authorization_code" => {
                let taken = self
                    .grants()
                    .codes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(get("code"));
                let Some(code) = taken.filter(|c| c.made.elapsed() < CODE_TTL) else {
                    return token_error("invalid_grant", "unknown, used or expired code");
                };
                if code.client_id != get("client_id") || code.redirect_uri != get("redirect_uri") {
                    return token_error("invalid_grant", "client_id or redirect_uri differ from the authorization request");
                }
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, get("code_verifier").as_bytes());
                if get("code_verifier").len() < 43 || URL_SAFE_NO_PAD.encode(digest.as_ref()) != code.challenge {
                    return token_error("invalid_grant", "code_verifier does not match the code_challenge");
                }
                self.issue(&code.user, &code.client_id, &code.scope, code.nonce.as_deref())
            }
            "refresh_token" => {
                let taken = self
                    .grants()
                    .refresh
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(get("refresh_token"));
                let Some(r) = taken.filter(|r| r.made.elapsed() < REFRESH_TTL) else {
                    return token_error("invalid_grant", "unknown or expired refresh token");
                };
                if !get("client_id").is_empty() && get("client_id") != r.client_id {
                    return token_error("invalid_grant", "the refresh token belongs to another client");
                }
                self.issue(&r.user, &r.client_id, &r.scope, None)
            }
            _ => token_error("unsupported_grant_type", "authorization_code or refresh_token"),
        }
    }

    /// The token response: an access token, a new refresh token (the old
    /// one was used up: rotation), and an ID token when `openid` was asked.
    fn issue(&self, user: &str, client_id: &str, scope: &str, nonce: Option<&str>) -> Response<Full<Bytes>> {
        let access = match self.mint(user, scope, ACCESS_TTL_SECS) {
            Ok(t) => t,
            Err(e) => return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": "server_error", "error_description": e.to_string()})),
        };
        let refresh = random_token();
        insert_bounded(
            &self.grants().refresh,
            refresh.clone(),
            Refresh {
                user: user.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                made: Instant::now(),
            },
            REFRESH_TTL,
            |r| r.made,
        );
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECS,
            "refresh_token": refresh,
            "scope": scope,
        });
        if scope.split_whitespace().any(|s| s == "openid") {
            let now = crate::time::now();
            let mut claims = json!({
                "iss": self.issuer(),
                "aud": client_id,
                "sub": user,
                "email": user,
                "email_verified": true,
                "iat": now,
                "exp": now + ACCESS_TTL_SECS as i64,
            });
            if let Some(n) = nonce {
                claims["nonce"] = json!(n);
            }
            let mut header = self.header();
            header.typ = Some("JWT".into());
            match self.sign(&header, &claims) {
                Ok(t) => body["id_token"] = json!(t),
                Err(e) => tracing::warn!(error = %e, "cannot sign an ID token"),
            }
        }
        json_response(StatusCode::OK, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_redirects() {
        assert!(loopback_redirect("https://localhost"));
        assert!(loopback_redirect("http://127.0.0.1:8081/account/callback"));
        assert!(loopback_redirect("http://[::1]:9/cb"));
        assert!(!loopback_redirect("https://evil.example/cb"));
        assert!(!loopback_redirect("https://localhost@evil.example/"));
        assert!(!loopback_redirect("javascript:alert(1)"));
        assert!(!loopback_redirect("https://127.0.0.1.evil.example/"));
    }

    #[test]
    fn redirect_origins() {
        assert_eq!(origin("http://127.0.0.1:8081/account/callback?x"), Some("http://127.0.0.1:8081"));
        assert_eq!(origin("https://localhost"), Some("https://localhost"));
        assert_eq!(origin("nothing"), None);
    }

    #[test]
    fn forms_decode() {
        let f = form("a=1&b=x%20y+z&c=%2");
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "x y z");
        assert_eq!(f["c"], "%2");
    }

    #[test]
    fn an_authorization_request_needs_pkce() {
        let mut p = form("response_type=code&client_id=c&redirect_uri=https%3A%2F%2Flocalhost");
        assert!(auth_request(&p).unwrap_err().contains("PKCE"));
        p.insert("code_challenge".into(), "x".into());
        p.insert("code_challenge_method".into(), "plain".into());
        assert!(auth_request(&p).is_err());
        p.insert("code_challenge_method".into(), "S256".into());
        assert!(auth_request(&p).is_ok());
    }
}
