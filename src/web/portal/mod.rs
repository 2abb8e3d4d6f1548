//! The account page at `/account/` (CONTRACT.md "HTTP", docs/accounts.md):
//! a person signs in with the `[portal]` identity provider and sees their
//! client settings, makes and revokes app passwords, sees recent logins
//! and signs out everywhere.
//!
//! Sign-in is the OpenID Connect authorization code flow (OIDC Core §3.1)
//! with PKCE S256 (RFC 7636), `state` and `nonce`, the RFC 9207 `iss`
//! check, and the ID token verified with the same key cache as IMAP
//! logins (`auth/id_token.rs`). The first sign-in creates the mailbox.
//!
//! No session table: the session is a cookie sealed with a key derived
//! from the store's secret (`cookie.rs`) holding the address, when it
//! signed in and when it ends; "sign out everywhere" ends it like every
//! other session of the account (signed in before the revocation). The
//! sign-in in progress (state, nonce, PKCE verifier) is a second sealed
//! cookie, good for ten minutes. Cookies are `Secure`, `HttpOnly`,
//! `SameSite=Lax`; every form carries a CSRF token bound to the session;
//! the Content-Security-Policy allows no script and no other origin.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the routes and the sign-in flow |
//! | `cookie.rs` | sealed cookie values |
//! | `page.rs` | the HTML |
//! | `text.rs` | English and Russian |

pub mod cookie;
pub mod page;
pub mod text;

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::header::{HeaderValue, LOCATION, SET_COOKIE};
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::autoconfig::{self, Endpoint};
use super::{Body, Web, respond};
use crate::account::{AccountError, Accounts};
use crate::auth::app_password::Protocols;
use crate::auth::{AuthError, HttpError, Validator};
use crate::config::Config;
use crate::metrics::Outcome;
use crate::proto::urlencoded;
use cookie::Sealer;
use page::{AccountView, Notice};
use text::Lang;

/// How long a page session lasts.
const SESSION_SECS: i64 = 8 * 3600;

/// How long a sign-in may take at the IdP.
const LOGIN_SECS: i64 = 600;

/// The session cookie.
const SESSION_COOKIE: &str = "tm_session";

/// The sign-in in progress.
const LOGIN_COOKIE: &str = "tm_login";

/// The chosen language.
const LANG_COOKIE: &str = "tm_lang";

/// The name of the app password a downloaded Apple profile carries.
const PROFILE_PASSWORD_NAME: &str = "Apple Mail profile";

/// What the page's responses allow the browser: this server's stylesheet
/// and forms, nothing else; never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The account page's settings and keys.
pub struct Portal {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    scopes: String,
    accounts: Arc<Accounts>,
    validator: Arc<Validator>,
    session: Sealer,
    login: Sealer,
    csrf: Sealer,
}

/// A page session, sealed in [`SESSION_COOKIE`].
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    /// The address.
    a: String,
    /// Unix seconds at sign-in.
    t: i64,
    /// Unix seconds at which it ends.
    e: i64,
    /// A random id, which CSRF tokens are bound to.
    n: String,
}

/// A sign-in in progress, sealed in [`LOGIN_COOKIE`].
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// `state` (RFC 6749 §10.12).
    s: String,
    /// `nonce` (OIDC Core §3.1.2.1).
    n: String,
    /// The PKCE `code_verifier` (RFC 7636 §4.1).
    v: String,
    /// Unix seconds at which it ends.
    e: i64,
}

/// What a route needs of a request.
pub struct PortalRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, lower-cased.
    pub path: &'a str,
    /// The query string.
    pub query: &'a str,
    /// The `Cookie` header fields.
    pub cookies: Vec<&'a str>,
    /// `Accept-Language`.
    pub accept_language: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The form body of a `POST`.
    pub body: &'a [u8],
    /// The client's address (the TCP peer; a reverse proxy's
    /// `X-Forwarded-For` is not trusted).
    pub peer: IpAddr,
}

/// `n` random bytes, base64url.
fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    // Invariant: the system RNG does not fail on Linux once booted; a
    // failure would leave zeros, so refuse to go on rather than sign in
    // with a predictable state.
    aws_lc_rs::rand::fill(&mut b).expect("the system random number generator works");
    URL_SAFE_NO_PAD.encode(b)
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(code_verifier))`.
fn s256(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// A short name for a browser's `User-Agent`, as the page lists sign-ins:
/// `Firefox 146`, `Chrome 148`, `Yandex Browser 25`.
fn browser_name(ua: Option<&str>) -> Option<String> {
    let ua = ua?;
    for (token, name) in [
        ("YaBrowser/", "Yandex Browser"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ] {
        if let Some((_, rest)) = ua.split_once(token) {
            let major: String = rest.chars().take_while(char::is_ascii_digit).take(4).collect();
            return Some(if major.is_empty() { name.to_owned() } else { format!("{name} {major}") });
        }
    }
    Some("browser".to_owned())
}

impl Portal {
    /// The page of `config`'s `[portal]`, or `None` without one; an
    /// unreadable client secret file is an error.
    pub fn new(
        config: &Config,
        accounts: Arc<Accounts>,
        validator: Arc<Validator>,
    ) -> Result<Option<Portal>, String> {
        let Some(p) = &config.portal else {
            return Ok(None);
        };
        let client_secret = match &p.client_secret_file {
            None => None,
            Some(path) => {
                let s = std::fs::read_to_string(path)
                    .map_err(|e| format!("portal.client_secret_file {}: {e}", path.display()))?;
                let s = s.trim().to_owned();
                if s.is_empty() {
                    return Err(format!("portal.client_secret_file {} is empty", path.display()));
                }
                Some(s)
            }
        };
        let secret = *accounts.secret();
        Ok(Some(Portal {
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret,
            redirect_uri: format!("{}/account/callback", config.http.public_url),
            scopes: p.scopes.clone(),
            accounts,
            validator,
            session: Sealer::new(&secret, "tokenmail account page session v1"),
            login: Sealer::new(&secret, "tokenmail account page sign-in v1"),
            csrf: Sealer::new(&secret, "tokenmail account page csrf v1"),
        }))
    }

    /// The signed-in session of a request, if it is valid and the account
    /// has not signed out everywhere since.
    fn session(&self, req: &PortalRequest<'_>) -> Option<Session> {
        let raw = cookie::get(req.cookies.iter().copied(), SESSION_COOKIE)?;
        let s: Session = serde_json::from_slice(&self.session.open(raw)?).ok()?;
        if s.e <= crate::time::now() {
            return None;
        }
        match self.accounts.web_session(&s.a, s.t) {
            Ok(Some(_)) => Some(s),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot check an account page session");
                None
            }
        }
    }

    fn csrf_token(&self, s: &Session) -> String {
        self.csrf.tag(s.n.as_bytes())
    }
}

/// Adds the page's security headers and cookies to an HTML response.
fn html(status: StatusCode, body: String, cookies: &[String]) -> Response<Body> {
    let mut r = respond(status, "text/html; charset=utf-8", body);
    add_headers(&mut r, cookies);
    r
}

fn add_headers(r: &mut Response<Body>, cookies: &[String]) {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(SET_COOKIE, v);
        }
    }
}

/// `303 See Other` to `location` (a path here, or the IdP).
fn see_other(location: &str, cookies: &[String]) -> Response<Body> {
    let mut r = respond(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    add_headers(&mut r, cookies);
    r
}

fn clear(name: &str) -> String {
    cookie::set(name, "", "/account/", 0)
}

/// The whole `/account` tree.
pub async fn handle(web: &Web, req: &PortalRequest<'_>) -> Response<Body> {
    let chosen = urlencoded::param(req.query, "lang");
    let lang_cookie = cookie::get(req.cookies.iter().copied(), LANG_COOKIE);
    let lang = text::negotiate(chosen.as_deref().or(lang_cookie), req.accept_language);
    let mut cookies = Vec::new();
    if let Some(l) = chosen.as_deref().and_then(Lang::parse) {
        cookies.push(cookie::set(LANG_COOKIE, l.tag(), "/account/", 365 * 86400));
    }
    let host = web.config.hostname.as_str();
    let get = *req.method == Method::GET || *req.method == Method::HEAD;
    let post = *req.method == Method::POST;
    match req.path {
        "/account/style.css" if get => {
            let mut r = respond(StatusCode::OK, "text/css; charset=utf-8", page::STYLE);
            r.headers_mut()
                .insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
            return r;
        }
        "/account" if get => return see_other("/account/", &cookies),
        _ => {}
    }
    let Some(portal) = web.portal.as_ref() else {
        let body = page::message(lang, host, lang.text().not_configured, false);
        return html(StatusCode::NOT_FOUND, body, &cookies);
    };
    match req.path {
        "/account/" if get => show(web, portal, req, lang, cookies),
        "/account/login" if get => start(web, portal, lang, cookies).await,
        "/account/callback" if get => finish(web, portal, req, lang, cookies).await,
        "/account/app-passwords"
        | "/account/app-passwords/revoke"
        | "/account/mobileconfig"
        | "/account/sign-out"
        | "/account/sign-out-everywhere"
            if post =>
        {
            act(web, portal, req, lang, cookies).await
        }
        "/account/" | "/account/login" | "/account/callback" | "/account/app-passwords"
        | "/account/app-passwords/revoke" | "/account/mobileconfig" | "/account/sign-out"
        | "/account/sign-out-everywhere" => {
            super::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => super::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The account page, or the sign-in page without a session.
fn show(web: &Web, portal: &Portal, req: &PortalRequest<'_>, lang: Lang, cookies: Vec<String>) -> Response<Body> {
    let Some(s) = portal.session(req) else {
        return html(StatusCode::OK, page::sign_in(lang, &web.config.hostname, None), &cookies);
    };
    let t = lang.text();
    let notice = match urlencoded::param(req.query, "done").as_deref() {
        Some("revoked") => Some(Notice::Done(t.revoked_notice)),
        _ => None,
    };
    account_page(web, portal, &s, lang, StatusCode::OK, notice, None, &cookies)
}

#[allow(clippy::too_many_arguments)]
fn account_page(
    web: &Web,
    portal: &Portal,
    s: &Session,
    lang: Lang,
    status: StatusCode,
    notice: Option<Notice<'_>>,
    new_password: Option<(&str, &str)>,
    cookies: &[String],
) -> Response<Body> {
    let store = portal.accounts.store();
    let (passwords, logins) = match store.account(&s.a) {
        Ok(Some(id)) => (
            store.credentials(id).map(|c| c.app_passwords).unwrap_or_default(),
            store.logins(id).unwrap_or_default(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let endpoints = autoconfig::endpoints(&web.config);
    let csrf = portal.csrf_token(s);
    let view = AccountView {
        lang,
        hostname: &web.config.hostname,
        address: &s.a,
        csrf: &csrf,
        endpoints: &endpoints,
        addon: web.config.mail_clients.is_some(),
        app_passwords: &passwords,
        logins: &logins,
        new_password,
        notice,
        now: crate::time::now(),
    };
    html(status, page::account(&view), cookies)
}

/// `/account/login`: sends the browser to the IdP's authorization
/// endpoint (OIDC Core §3.1.2.1) with a fresh state, nonce and PKCE
/// challenge, remembered in the sealed sign-in cookie.
async fn start(web: &Web, portal: &Portal, lang: Lang, mut cookies: Vec<String>) -> Response<Body> {
    let t = lang.text();
    let d = match web.discover(&portal.issuer).await {
        Ok(d) => d,
        Err(_) => {
            let body = page::sign_in(lang, &web.config.hostname, Some(Notice::Error(t.sign_in_failed, t.err_unavailable)));
            return html(StatusCode::SERVICE_UNAVAILABLE, body, &cookies);
        }
    };
    let pending = Pending {
        s: random(16),
        n: random(16),
        v: random(32),
        e: crate::time::now() + LOGIN_SECS,
    };
    let enc = urlencoded::encode;
    let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{sep}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}\
         &code_challenge={}&code_challenge_method=S256&ui_locales={}",
        d.authorization_endpoint,
        enc(&portal.client_id),
        enc(&portal.redirect_uri),
        enc(&portal.scopes),
        enc(&pending.s),
        enc(&pending.n),
        enc(&s256(&pending.v)),
        lang.tag(),
    );
    let sealed = portal.login.seal(&serde_json::to_vec(&pending).unwrap_or_default());
    cookies.push(cookie::set(LOGIN_COOKIE, &sealed, "/account/", LOGIN_SECS));
    see_other(&url, &cookies)
}

/// Why a sign-in failed, as the page says it.
enum SignInFailure {
    /// The sign-in cookie is missing, expired or for another attempt.
    Expired,
    /// The IdP refused, or what it sent does not verify.
    Refused,
    /// The IdP could not be reached.
    Unavailable,
    /// The identity names no address here.
    NoAddress,
}

impl From<HttpError> for SignInFailure {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::OAuth { .. } | HttpError::Status(400..=499) | HttpError::Json(_) => SignInFailure::Refused,
            _ => SignInFailure::Unavailable,
        }
    }
}

impl From<AuthError> for SignInFailure {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::KeysUnavailable(_) => SignInFailure::Unavailable,
            AuthError::MissingAddress | AuthError::ForeignDomain(_) => SignInFailure::NoAddress,
            _ => SignInFailure::Refused,
        }
    }
}

/// `/account/callback`: the IdP's redirect back (OIDC Core §3.1.2.5).
async fn finish(
    web: &Web,
    portal: &Portal,
    req: &PortalRequest<'_>,
    lang: Lang,
    mut cookies: Vec<String>,
) -> Response<Body> {
    cookies.push(clear(LOGIN_COOKIE));
    match sign_in(web, portal, req).await {
        Ok(address) => {
            let session = Session {
                a: address,
                t: crate::time::now(),
                e: crate::time::now() + SESSION_SECS,
                n: random(16),
            };
            let sealed = portal.session.seal(&serde_json::to_vec(&session).unwrap_or_default());
            cookies.push(cookie::set(SESSION_COOKIE, &sealed, "/account/", SESSION_SECS));
            see_other("/account/", &cookies)
        }
        Err(f) => {
            match f {
                SignInFailure::Expired => {}
                SignInFailure::Unavailable => crate::metrics::login("web", "OIDC", Outcome::Temporary),
                _ => crate::metrics::login("web", "OIDC", Outcome::Failure),
            }
            let t = lang.text();
            let (status, why) = match f {
                SignInFailure::Expired => (StatusCode::BAD_REQUEST, t.err_expired),
                SignInFailure::Refused => (StatusCode::FORBIDDEN, t.err_refused),
                SignInFailure::Unavailable => (StatusCode::BAD_GATEWAY, t.err_unavailable),
                SignInFailure::NoAddress => (StatusCode::FORBIDDEN, t.err_address),
            };
            let body = page::sign_in(lang, &web.config.hostname, Some(Notice::Error(t.sign_in_failed, why)));
            html(status, body, &cookies)
        }
    }
}

/// The checks and exchanges of a callback; the signed-in address, its
/// account created when new.
async fn sign_in(web: &Web, portal: &Portal, req: &PortalRequest<'_>) -> Result<String, SignInFailure> {
    let q = |k: &str| urlencoded::param(req.query, k);
    let pending: Pending = cookie::get(req.cookies.iter().copied(), LOGIN_COOKIE)
        .and_then(|v| portal.login.open(v))
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(SignInFailure::Expired)?;
    // RFC 6749 §10.12: the redirect belongs to the sign-in this browser began.
    if pending.e <= crate::time::now() || q("state").as_deref() != Some(pending.s.as_str()) {
        return Err(SignInFailure::Expired);
    }
    if let Some(error) = q("error") {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "the IdP refused a page sign-in");
        return Err(SignInFailure::Refused);
    }
    // RFC 9207 §2.4: a response naming another issuer is a mix-up attack.
    if let Some(iss) = q("iss")
        && iss != portal.issuer
    {
        tracing::warn!(iss = %iss.chars().take(200).collect::<String>(), "page sign-in answered by another issuer");
        return Err(SignInFailure::Refused);
    }
    let code = q("code").filter(|c| !c.is_empty() && c.len() <= 4096).ok_or(SignInFailure::Refused)?;
    let d = web.discover(&portal.issuer).await.map_err(|_| SignInFailure::Unavailable)?;
    // RFC 6749 §4.1.3 with RFC 7636 §4.5; a public client names itself,
    // a confidential one authenticates with HTTP Basic (§2.3.1).
    let enc = urlencoded::encode;
    let mut form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        enc(&code),
        enc(&portal.redirect_uri),
        enc(&pending.v)
    );
    let basic = portal.client_secret.as_deref().map(|s| (portal.client_id.as_str(), s));
    if basic.is_none() {
        form += &format!("&client_id={}", enc(&portal.client_id));
    }
    let tokens = web.http.post_form(&d.token_endpoint, &form, basic).await.map_err(|e| {
        tracing::warn!(error = %e, "page sign-in: token request failed");
        SignInFailure::from(e)
    })?;
    let field = |k: &str| tokens.get(k).and_then(|v| v.as_str());
    let id_token = field("id_token").ok_or_else(|| {
        tracing::warn!("page sign-in: the token response has no id_token");
        SignInFailure::Refused
    })?;
    let idt = portal
        .validator
        .validate_id_token(id_token, &portal.issuer, &portal.client_id, &pending.n)
        .await?;
    let address = match idt.address {
        Some(a) => a,
        None => {
            // OIDC Core §5.4: scope claims may come only from UserInfo.
            let (Some(url), Some(access)) = (d.userinfo_endpoint.as_deref(), field("access_token")) else {
                return Err(SignInFailure::NoAddress);
            };
            let info = web.http.get_json_bearer(url, access).await.map_err(|e| {
                tracing::warn!(error = %e, "page sign-in: UserInfo request failed");
                SignInFailure::from(e)
            })?;
            let info = info.as_object().ok_or(SignInFailure::Refused)?;
            portal.validator.userinfo_address(&portal.issuer, &idt.subject, info)?
        }
    };
    portal.accounts.create(&address).await.map_err(|e| {
        tracing::warn!(error = %e, "page sign-in: cannot create the account");
        SignInFailure::Unavailable
    })?;
    match portal.accounts.store().account(&address) {
        Ok(Some(id)) => portal.accounts.record_web_login(id, browser_name(req.user_agent), req.peer),
        _ => return Err(SignInFailure::Unavailable),
    }
    crate::metrics::login("web", "OIDC", Outcome::Success);
    tracing::info!(address, subject = idt.subject, "signed in to the account page");
    Ok(address)
}

/// The forms: each needs the session and its CSRF token.
async fn act(
    web: &Web,
    portal: &Portal,
    req: &PortalRequest<'_>,
    lang: Lang,
    mut cookies: Vec<String>,
) -> Response<Body> {
    let t = lang.text();
    let host = &web.config.hostname;
    let form = urlencoded::pairs(&String::from_utf8_lossy(req.body));
    let value = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(s) = portal.session(req) else {
        return html(StatusCode::FORBIDDEN, page::sign_in(lang, host, Some(Notice::Error(t.err_form, t.form_expired))), &cookies);
    };
    if !value("csrf").is_some_and(|tok| portal.csrf.verify(s.n.as_bytes(), tok)) {
        tracing::info!(address = s.a, path = req.path, "account page form without a valid CSRF token");
        return html(StatusCode::FORBIDDEN, page::message(lang, host, t.form_expired, false), &cookies);
    }
    let accounts = &portal.accounts;
    match req.path {
        "/account/app-passwords" => {
            let name = value("name").unwrap_or("").trim().to_owned();
            let mut protocols = Protocols(0);
            for (k, v) in &form {
                if k == "scope"
                    && let Ok(p) = Protocols::parse(v)
                {
                    protocols = Protocols(protocols.0 | p.0);
                }
            }
            let why = if name.is_empty() || name.chars().count() > crate::account::MAX_NAME_CHARS {
                Some(t.err_name)
            } else if protocols.0 == 0 {
                Some(t.err_scope)
            } else {
                None
            };
            if let Some(why) = why {
                return account_page(web, portal, &s, lang, StatusCode::BAD_REQUEST, Some(Notice::Error(t.err_form, why)), None, &cookies);
            }
            match accounts.create_app_password(&s.a, &name, protocols, None).await {
                Ok(p) => account_page(web, portal, &s, lang, StatusCode::OK, None, Some((&name, &p.password)), &cookies),
                Err(e) => {
                    let why = match e {
                        AccountError::TooManyAppPasswords(_) => t.err_too_many,
                        AccountError::Invalid(_) => t.err_name,
                        _ => t.err_unavailable,
                    };
                    account_page(web, portal, &s, lang, StatusCode::BAD_REQUEST, Some(Notice::Error(t.err_form, why)), None, &cookies)
                }
            }
        }
        "/account/app-passwords/revoke" => {
            match accounts.revoke_app_password(&s.a, value("id").unwrap_or("")).await {
                // Post/Redirect/Get: a reload does not repeat the form.
                Ok(()) | Err(AccountError::NoSuchAppPassword { .. }) => see_other("/account/?done=revoked", &cookies),
                Err(e) => {
                    tracing::warn!(error = %e, "account page: cannot revoke an app password");
                    account_page(web, portal, &s, lang, StatusCode::INTERNAL_SERVER_ERROR, Some(Notice::Error(t.err_form, t.err_unavailable)), None, &cookies)
                }
            }
        }
        "/account/mobileconfig" => mobileconfig(web, portal, &s, lang, &cookies).await,
        "/account/sign-out" => {
            cookies.push(clear(SESSION_COOKIE));
            html(StatusCode::OK, page::message(lang, host, t.signed_out, true), &cookies)
        }
        "/account/sign-out-everywhere" => match accounts.revoke(&s.a).await {
            Ok(_) => {
                cookies.push(clear(SESSION_COOKIE));
                html(StatusCode::OK, page::message(lang, host, t.everywhere_done, true), &cookies)
            }
            Err(e) => {
                tracing::warn!(error = %e, "account page: cannot sign out everywhere");
                account_page(web, portal, &s, lang, StatusCode::INTERNAL_SERVER_ERROR, Some(Notice::Error(t.err_form, t.err_unavailable)), None, &cookies)
            }
        },
        _ => super::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The servers an Apple profile names: IMAP and submission, implicit TLS
/// preferred.
fn profile_servers(config: &Config) -> Option<(Endpoint, Endpoint)> {
    let eps = autoconfig::endpoints(config);
    let pick = |proto: &str| eps.iter().find(|e| e.protocol == proto).cloned();
    Some((pick("imap")?, pick("smtp")?))
}

/// `/account/mobileconfig`: a new app password for IMAP and SMTP, in an
/// Apple configuration profile.
async fn mobileconfig(web: &Web, portal: &Portal, s: &Session, lang: Lang, cookies: &[String]) -> Response<Body> {
    let t = lang.text();
    let Some((imap, smtp)) = profile_servers(&web.config) else {
        return super::text(StatusCode::NOT_FOUND, "this server serves no IMAP or no submission\n");
    };
    let protocols = Protocols(Protocols::IMAP.0 | Protocols::SMTP.0);
    let p = match portal.accounts.create_app_password(&s.a, PROFILE_PASSWORD_NAME, protocols, None).await {
        Ok(p) => p,
        Err(e) => {
            let why = match e {
                AccountError::TooManyAppPasswords(_) => t.err_too_many,
                _ => t.err_unavailable,
            };
            return account_page(web, portal, s, lang, StatusCode::BAD_REQUEST, Some(Notice::Error(t.err_form, why)), None, cookies);
        }
    };
    let doc = super::mobileconfig::profile(&super::mobileconfig::Profile {
        address: &s.a,
        password: &p.password,
        imap: &imap,
        smtp: &smtp,
        hostname: &web.config.hostname,
        uuids: [super::mobileconfig::random_uuid(), super::mobileconfig::random_uuid()],
    });
    let mut r = respond(StatusCode::OK, "application/x-apple-aspen-config", doc);
    let filename = format!("attachment; filename=\"{}.mobileconfig\"", web.config.hostname.replace(['"', '\\'], ""));
    if let Ok(v) = HeaderValue::from_str(&filename) {
        r.headers_mut().insert(hyper::header::CONTENT_DISPOSITION, v);
    }
    add_headers(&mut r, cookies);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // RFC 7636 Appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random(32).len(), 43);
        assert_ne!(random(16), random(16));
    }

    #[test]
    fn browser_names() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.7778.167 Safari/537.36";
        assert_eq!(browser_name(Some(chrome)).as_deref(), Some("Chrome 148"));
        let ya = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/124.0 YaBrowser/24.6.0.0 Safari/537.36";
        assert_eq!(browser_name(Some(ya)).as_deref(), Some("Yandex Browser 24"));
        assert_eq!(browser_name(Some("Mozilla/5.0 Firefox/146.0")).as_deref(), Some("Firefox 146"));
        assert_eq!(browser_name(Some("curl/8")).as_deref(), Some("browser"));
        assert_eq!(browser_name(None), None);
    }
}
