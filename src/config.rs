//! The configuration file: parsed once at start, validated completely, and
//! then immutable. Every limit an attacker could push against lives here.
//!
//! The keys named in `../shared/CONTRACT.md` are fixed; everything else is
//! an addition with a default. An error names the key and what is wrong, on
//! one line, so `tokenmail check-config` and `serve` can print it as is.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::http::check_url_scheme;

/// What went wrong reading the configuration, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// TOML syntax or a value of the wrong type.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A value that parsed but is not acceptable.
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration was read from (for messages).
    pub path: PathBuf,
    /// Used in greetings and Received headers.
    pub hostname: String,
    /// Mail for these domains is delivered locally; lower-cased.
    pub domains: Vec<String>,
    /// sled database and generated files.
    pub data_dir: PathBuf,
    /// Certificate and key; required as soon as any listener is configured.
    pub tls: Option<TlsConfig>,
    /// IMAP listeners.
    pub imap: Listeners,
    /// Submission listeners.
    pub submission: Listeners,
    /// Trusted identity providers.
    pub issuers: Vec<IssuerConfig>,
    /// The optional local development issuer.
    pub dev_issuer: Option<DevIssuerConfig>,
    /// Sizes and counts that bound what a client can make us do.
    pub limits: Limits,
    /// Storage tuning (`[store]`).
    pub store: StoreConfig,
    /// Failed-login throttling.
    pub auth: AuthConfig,
    /// The HTTP service: autoconfig, the account page, metrics (`[http]`).
    pub http: HttpConfig,
    /// The account page's sign-in (`[portal]`).
    pub portal: Option<PortalConfig>,
    /// What autoconfig and the add-on tell mail programs (`[mail_clients]`).
    pub mail_clients: Option<MailClientsConfig>,
    /// The MX: mail from other servers for `domains` (`[smtp_in]`).
    pub smtp_in: SmtpInConfig,
    /// LMTP from an MTA in front (`[lmtp]`, RFC 2033).
    pub lmtp: Vec<SocketAddr>,
    /// DNS servers for SPF, DKIM and DMARC (`[dns] nameservers`); empty:
    /// the system's.
    pub nameservers: Vec<SocketAddr>,
}

/// `[smtp_in]`: where other servers deliver mail for `domains`.
#[derive(Debug, Clone, Default)]
pub struct SmtpInConfig {
    /// Cleartext listeners; STARTTLS is offered, not required.
    pub listen: Vec<SocketAddr>,
    /// How long a client must wait for the banner; one that talks before
    /// it is dropped (zero: no wait).
    pub greeting_delay: std::time::Duration,
    /// Messages one client address (IPv6: /64) may start per minute; 0:
    /// no limit.
    pub max_messages_per_minute: u32,
}

/// `[http]`: where the HTTP service listens and how people reach it.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Cleartext: loopback or behind a reverse proxy; and TLS with `[tls]`.
    pub listeners: Listeners,
    /// How people reach it (links, redirect URIs), without a trailing `/`:
    /// `https://{hostname}` unless configured.
    pub public_url: String,
}

/// `[portal]`: the account page signs people in against this issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// One of the trusted issuers.
    pub issuer: String,
    /// The IdP client of the account page.
    pub client_id: String,
    /// Its secret; without it, a public client with PKCE.
    pub client_secret_file: Option<PathBuf>,
    /// The scopes the sign-in asks for, space-separated; `openid` always.
    #[serde(default = "default_portal_scopes")]
    pub scopes: String,
}

fn default_portal_scopes() -> String {
    "openid email profile".into()
}

/// `[mail_clients]`: the IdP client mail programs use (public, PKCE).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailClientsConfig {
    /// One of the trusted issuers.
    pub issuer: String,
    /// The client id mail programs present.
    pub client_id: String,
    /// The scopes they ask for, space-separated.
    #[serde(default = "default_mail_client_scopes")]
    pub scopes: String,
}

fn default_mail_client_scopes() -> String {
    "openid email offline_access mail.read mail.send".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    listen_tls: Vec<String>,
    public_url: Option<String>,
}

/// PEM certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, RSA or SEC1).
    pub key: PathBuf,
}

/// Cleartext (STARTTLS) and implicit-TLS listening addresses of one service.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    /// Cleartext, upgraded with STARTTLS before any authentication.
    pub listen: Vec<SocketAddr>,
    /// TLS from the first byte (RFC 8314).
    pub listen_tls: Vec<SocketAddr>,
}

impl Listeners {
    /// True when the service has no listener at all.
    pub fn is_empty(&self) -> bool {
        self.listen.is_empty() && self.listen_tls.is_empty()
    }
}

/// One trusted identity provider (`[[issuer]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Must equal the token's `iss` exactly.
    pub issuer: String,
    /// Else OIDC discovery at issuer + "/.well-known/openid-configuration".
    pub jwks_uri: Option<String>,
    /// The token's `aud` must contain it.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The claim that names the mailbox address.
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// Required for IMAP ("" requires none).
    #[serde(default = "default_read_scope")]
    pub read_scope: String,
    /// Required for submission ("" requires none).
    #[serde(default = "default_send_scope")]
    pub send_scope: String,
}

/// `[dev_issuer]`: a local issuer for trials and tests, trusted like any other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIssuerConfig {
    /// The issuer URL; plain http on a loopback address, served by tokenmail.
    pub issuer: String,
    /// Its private key, created if missing.
    pub key: PathBuf,
    /// The audience its tokens carry (default "tokenmail").
    #[serde(default = "default_audience")]
    pub audience: String,
}

/// Limits on what one client may send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest message accepted by submission and APPEND, in bytes (SMTP SIZE).
    pub max_message_size: u64,
    /// Longest command line, literals excluded (IMAP) or whole line (SMTP).
    pub max_line: usize,
    /// Longest SASL line (AUTHENTICATE / AUTH and their continuations).
    pub max_auth_line: usize,
    /// Largest IMAP literal before login (a LOGIN password or token sent as
    /// a literal); after login literals may be up to `max_message_size`.
    pub max_literal_unauthenticated: u64,
    /// Concurrent connections across all listeners.
    pub max_connections: usize,
    /// Concurrent connections from one client IP address.
    pub max_connections_per_ip: usize,
    /// Concurrent logged-in sessions of one account (IMAP and submission).
    pub max_connections_per_account: usize,
    /// Seconds a TLS handshake (implicit or after STARTTLS) may take.
    pub tls_handshake_secs: u64,
    /// Seconds one write to a client may take before the connection is
    /// dropped (a client that stops reading).
    pub write_timeout_secs: u64,
    /// Seconds an unauthenticated connection may stay idle.
    pub idle_unauthenticated_secs: u64,
    /// Seconds an authenticated connection may stay idle (RFC 9051 §5.4: ≥ 30 min).
    pub idle_authenticated_secs: u64,
    /// Recipients per SMTP transaction.
    pub max_recipients: usize,
    /// Mailboxes per account.
    pub max_mailboxes: usize,
    /// Distinct keywords (user flags) per mailbox, hence per message.
    pub max_keywords: usize,
    /// Deepest nesting of MIME containers (multipart, message/rfc822) that is
    /// parsed; deeper ones are served as one opaque part.
    pub max_mime_depth: usize,
    /// Most MIME parts listed per message; the rest stay in their parent's body.
    pub max_mime_parts: usize,
    /// Storage quota per account in bytes (RFC 9208 STORAGE); 0: none.
    pub quota_bytes: u64,
    /// Message quota per account (RFC 9208 MESSAGE); 0: none.
    pub quota_messages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 50 * 1024 * 1024,
            max_line: 64 * 1024,
            max_auth_line: 64 * 1024,
            max_literal_unauthenticated: 16 * 1024,
            max_connections: 10_000,
            max_connections_per_ip: 100,
            max_connections_per_account: 50,
            tls_handshake_secs: 10,
            write_timeout_secs: 60,
            idle_unauthenticated_secs: 60,
            idle_authenticated_secs: 31 * 60,
            max_recipients: 100,
            max_mailboxes: 10_000,
            max_keywords: 256,
            max_mime_depth: crate::message::MAX_DEPTH,
            max_mime_parts: crate::message::MAX_PARTS,
            quota_bytes: 0,
            quota_messages: 0,
        }
    }
}

/// Storage tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Memory for the database's page cache, in MiB. sled holds only the
    /// small records (flags, MODSEQs, the change log, the search index);
    /// message bytes, summaries and header lines are files read through
    /// the OS page cache, so a small value costs little speed. sled's
    /// in-memory nodes take several times their accounted size for small
    /// records: with the default of 4 the server levels off near 26 MB
    /// under imaptest's stress mix (docs/imap.md, "Storage").
    pub cache_mb: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { cache_mb: 4 }
    }
}

/// Throttling of failed logins per client IP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Delay after the first failure, in milliseconds; doubles per failure.
    pub failure_delay_ms: u64,
    /// Longest delay, in milliseconds.
    pub max_failure_delay_ms: u64,
    /// Failures in `failure_window_secs` after which the IP is refused outright.
    pub max_failures: u32,
    /// The window over which failures are counted, in seconds.
    pub failure_window_secs: u64,
    /// Extra PEM CA certificates trusted when fetching JWKS over https.
    pub ca_file: Option<PathBuf>,
    /// End a session when the token it logged in with expires (after the
    /// 60 s leeway): IMAP `* BYE [ALERT]`, SMTP `421 4.7.0`.
    pub end_sessions_at_expiry: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            failure_delay_ms: 1000,
            max_failure_delay_ms: 15_000,
            max_failures: 20,
            failure_window_secs: 600,
            ca_file: None,
            end_sessions_at_expiry: true,
        }
    }
}

impl AuthConfig {
    /// The limiter settings these values describe.
    pub fn limiter_settings(&self) -> crate::auth::LimiterSettings {
        crate::auth::LimiterSettings {
            base_delay: Duration::from_millis(self.failure_delay_ms),
            max_delay: Duration::from_millis(self.max_failure_delay_ms),
            max_failures: self.max_failures,
            window: Duration::from_secs(self.failure_window_secs),
        }
    }
}

fn default_audience() -> String {
    "tokenmail".into()
}
fn default_user_claim() -> String {
    "email".into()
}
fn default_read_scope() -> String {
    "mail.read".into()
}
fn default_send_scope() -> String {
    "mail.send".into()
}

/// The file as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    hostname: String,
    domains: Vec<String>,
    data_dir: PathBuf,
    tls: Option<TlsConfig>,
    #[serde(default)]
    imap: RawListeners,
    #[serde(default)]
    submission: RawSubmission,
    #[serde(default)]
    issuer: Vec<IssuerConfig>,
    dev_issuer: Option<DevIssuerConfig>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    auth: AuthConfig,
    #[serde(default)]
    http: RawHttp,
    portal: Option<PortalConfig>,
    mail_clients: Option<MailClientsConfig>,
    #[serde(default)]
    smtp_in: RawSmtpIn,
    #[serde(default)]
    lmtp: RawLmtp,
    #[serde(default)]
    dns: RawDns,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    #[serde(default)]
    nameservers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtpIn {
    #[serde(default)]
    listen: Vec<String>,
    greeting_delay: Option<String>,
    #[serde(default = "default_messages_per_minute")]
    max_messages_per_minute: u32,
}

fn default_messages_per_minute() -> u32 {
    120
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLmtp {
    #[serde(default)]
    listen: Vec<String>,
}

/// A duration as the config writes it: a whole number with a unit, `s`,
/// `m`, `h` or `d` (`"3s"`, `"5m"`, `"2h"`, `"5d"`); a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(n.checked_mul(scale)?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListeners {
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    listen_tls: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubmission {
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    listen_tls: Vec<String>,
    /// Alias of `limits.max_message_size`, where admins look for it first.
    max_message_size: Option<u64>,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` is for messages and
    /// for resolving nothing else (paths in the file are used as written).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: one_line_toml_error(&e, text),
        })?;
        Validator { path }.validate(raw)
    }

    /// Every issuer tokens may come from: the configured ones, plus the dev
    /// issuer when no `[[issuer]]` block already names it.
    pub fn trusted_issuers(&self) -> Vec<crate::auth::IssuerSettings> {
        let mut out: Vec<_> = self
            .issuers
            .iter()
            .map(|i| crate::auth::IssuerSettings {
                issuer: i.issuer.clone(),
                jwks_uri: i.jwks_uri.clone(),
                audience: i.audience.clone(),
                user_claim: i.user_claim.clone(),
                read_scope: i.read_scope.clone(),
                send_scope: i.send_scope.clone(),
            })
            .collect();
        if let Some(dev) = &self.dev_issuer
            && !out.iter().any(|i| i.issuer == dev.issuer)
        {
            out.push(crate::auth::IssuerSettings {
                issuer: dev.issuer.clone(),
                jwks_uri: None,
                audience: dev.audience.clone(),
                user_claim: default_user_claim(),
                read_scope: default_read_scope(),
                send_scope: default_send_scope(),
            });
        }
        out
    }

    /// True when `domain` is one of ours (case-insensitive).
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Turns toml's multi-line error into one line that quotes the offending
/// line, which names the key.
fn one_line_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("line {line_no} (`{line}`): {message}")
        }
        None => message,
    }
}

struct Validator<'a> {
    path: &'a Path,
}

impl Validator<'_> {
    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        if raw.hostname.trim().is_empty() || raw.hostname.contains(char::is_whitespace) {
            return Err(self.invalid("hostname", "must be a host name without spaces"));
        }
        let domains = self.domains(&raw.domains)?;
        if raw.data_dir.as_os_str().is_empty() {
            return Err(self.invalid("data_dir", "must not be empty"));
        }
        let imap = self.listeners("imap", &raw.imap.listen, &raw.imap.listen_tls)?;
        let submission = self.listeners(
            "submission",
            &raw.submission.listen,
            &raw.submission.listen_tls,
        )?;
        let smtp_in_listen = self.listeners("smtp_in", &raw.smtp_in.listen, &[])?.listen;
        let greeting_delay = match &raw.smtp_in.greeting_delay {
            None => std::time::Duration::ZERO,
            Some(t) => match parse_duration(t) {
                Some(d) if d <= std::time::Duration::from_secs(60) => d,
                _ => {
                    return Err(self.invalid(
                        "smtp_in.greeting_delay",
                        format!("{t:?} is not a duration of at most 60s like \"3s\""),
                    ));
                }
            },
        };
        let lmtp = self.listeners("lmtp", &raw.lmtp.listen, &[])?.listen;
        let nameservers = raw
            .dns
            .nameservers
            .iter()
            .enumerate()
            .map(|(n, a)| {
                a.parse::<SocketAddr>()
                    .or_else(|_| a.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        self.invalid(format!("dns.nameservers[{n}]"), format!("{a:?} is not an IP or IP:port"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if (!imap.is_empty() || !submission.is_empty() || !smtp_in_listen.is_empty() || !lmtp.is_empty())
            && raw.tls.is_none()
        {
            return Err(self.invalid(
                "tls",
                "a [tls] section with cert and key is required to serve IMAP, submission, smtp_in or lmtp",
            ));
        }
        let http_listeners = self.listeners("http", &raw.http.listen, &raw.http.listen_tls)?;
        if !http_listeners.listen_tls.is_empty() && raw.tls.is_none() {
            return Err(self.invalid("tls", "a [tls] section is required for http.listen_tls"));
        }
        let public_url = match &raw.http.public_url {
            Some(u) => {
                check_url_scheme(u).map_err(|m| self.invalid("http.public_url", m))?;
                u.trim_end_matches('/').to_owned()
            }
            None => format!("https://{}", raw.hostname.trim()),
        };
        if let Some(tls) = &raw.tls {
            crate::server::tls::load_server_config(&tls.cert, &tls.key)
                .map_err(|e| self.invalid(e.key(), e.to_string()))?;
        }
        for (n, issuer) in raw.issuer.iter().enumerate() {
            self.issuer(n, issuer)?;
        }
        if let Some(dev) = &raw.dev_issuer {
            self.dev_issuer(dev)?;
        }
        let known = |iss: &str| {
            raw.issuer.iter().any(|i| i.issuer == iss)
                || raw.dev_issuer.as_ref().is_some_and(|d| d.issuer == iss)
        };
        if let Some(p) = &raw.portal {
            if !known(&p.issuer) {
                return Err(self.invalid("portal.issuer", "must be the issuer of an [[issuer]] block"));
            }
            if p.client_id.trim().is_empty() {
                return Err(self.invalid("portal.client_id", "must not be empty"));
            }
            if !p.scopes.split_ascii_whitespace().any(|s| s == "openid") {
                return Err(self.invalid("portal.scopes", "must contain openid"));
            }
            if let Some(f) = &p.client_secret_file
                && !f.is_file()
            {
                return Err(self.invalid(
                    "portal.client_secret_file",
                    format!("{} is not a readable file", f.display()),
                ));
            }
        }
        if let Some(m) = &raw.mail_clients {
            if !known(&m.issuer) {
                return Err(self.invalid(
                    "mail_clients.issuer",
                    "must be the issuer of an [[issuer]] block",
                ));
            }
            if m.client_id.trim().is_empty() {
                return Err(self.invalid("mail_clients.client_id", "must not be empty"));
            }
        }
        if raw.issuer.is_empty() && raw.dev_issuer.is_none() {
            return Err(self.invalid(
                "issuer",
                "at least one [[issuer]] (or a [dev_issuer]) is needed, or nobody can log in",
            ));
        }
        let mut limits = raw.limits;
        if let Some(size) = raw.submission.max_message_size {
            limits.max_message_size = size;
        }
        self.limits(&limits)?;
        if let Some(ca) = &raw.auth.ca_file
            && !ca.is_file()
        {
            return Err(self.invalid(
                "auth.ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
        Ok(Config {
            path: self.path.to_owned(),
            hostname: raw.hostname.trim().to_owned(),
            domains,
            data_dir: raw.data_dir,
            tls: raw.tls,
            imap,
            submission,
            issuers: raw.issuer,
            dev_issuer: raw.dev_issuer,
            limits,
            store: raw.store,
            auth: raw.auth,
            http: HttpConfig {
                listeners: http_listeners,
                public_url,
            },
            portal: raw.portal,
            mail_clients: raw.mail_clients,
            smtp_in: SmtpInConfig {
                listen: smtp_in_listen,
                greeting_delay,
                max_messages_per_minute: raw.smtp_in.max_messages_per_minute,
            },
            lmtp,
            nameservers,
        })
    }

    fn domains(&self, raw: &[String]) -> Result<Vec<String>, ConfigError> {
        if raw.is_empty() {
            return Err(self.invalid("domains", "must list at least one domain"));
        }
        raw.iter()
            .enumerate()
            .map(|(n, d)| {
                let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
                let ok = !d.is_empty()
                    && !d.contains('@')
                    && d.split('.').all(|label| {
                        !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                    });
                if ok {
                    Ok(d)
                } else {
                    Err(self.invalid(format!("domains[{n}]"), "is not a domain name"))
                }
            })
            .collect()
    }

    fn listeners(
        &self,
        section: &str,
        listen: &[String],
        listen_tls: &[String],
    ) -> Result<Listeners, ConfigError> {
        let parse = |key: &str, list: &[String]| -> Result<Vec<SocketAddr>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(n, a)| {
                    a.parse::<SocketAddr>().map_err(|_| {
                        self.invalid(
                            format!("{section}.{key}[{n}]"),
                            format!("{a:?} is not an IP:port address"),
                        )
                    })
                })
                .collect()
        };
        Ok(Listeners {
            listen: parse("listen", listen)?,
            listen_tls: parse("listen_tls", listen_tls)?,
        })
    }

    fn issuer(&self, n: usize, issuer: &IssuerConfig) -> Result<(), ConfigError> {
        let key = |k: &str| format!("issuer[{n}].{k}");
        check_url_scheme(&issuer.issuer).map_err(|m| self.invalid(key("issuer"), m))?;
        if let Some(uri) = &issuer.jwks_uri {
            check_url_scheme(uri).map_err(|m| self.invalid(key("jwks_uri"), m))?;
        }
        if issuer.audience.trim().is_empty() {
            return Err(self.invalid(key("audience"), "must not be empty"));
        }
        if issuer.user_claim.trim().is_empty() {
            return Err(self.invalid(key("user_claim"), "must not be empty"));
        }
        Ok(())
    }

    fn dev_issuer(&self, dev: &DevIssuerConfig) -> Result<(), ConfigError> {
        check_url_scheme(&dev.issuer).map_err(|m| self.invalid("dev_issuer.issuer", m))?;
        if !crate::auth::http::is_loopback_url(&dev.issuer) || !dev.issuer.starts_with("http://") {
            return Err(self.invalid(
                "dev_issuer.issuer",
                "must be an http:// URL on a loopback address, served by tokenmail itself",
            ));
        }
        if dev.key.as_os_str().is_empty() {
            return Err(self.invalid("dev_issuer.key", "must name a file"));
        }
        Ok(())
    }

    fn limits(&self, limits: &Limits) -> Result<(), ConfigError> {
        if limits.max_message_size < 1024 {
            return Err(self.invalid("limits.max_message_size", "must be at least 1024 bytes"));
        }
        if limits.max_line < 1024 {
            return Err(self.invalid("limits.max_line", "must be at least 1024 bytes"));
        }
        if limits.max_auth_line < 16 * 1024 {
            return Err(self.invalid(
                "limits.max_auth_line",
                "must be at least 16384 bytes: real access tokens are several KB",
            ));
        }
        if !(1024..=limits.max_message_size).contains(&limits.max_literal_unauthenticated) {
            return Err(self.invalid(
                "limits.max_literal_unauthenticated",
                "must be at least 1024 bytes and at most max_message_size",
            ));
        }
        for (key, value) in [
            ("limits.max_connections", limits.max_connections),
            (
                "limits.max_connections_per_ip",
                limits.max_connections_per_ip,
            ),
            (
                "limits.max_connections_per_account",
                limits.max_connections_per_account,
            ),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1"));
            }
        }
        if !(1..=crate::message::DEPTH_CEILING).contains(&limits.max_mime_depth) {
            return Err(self.invalid(
                "limits.max_mime_depth",
                format!("must be 1 to {}", crate::message::DEPTH_CEILING),
            ));
        }
        if !(1..=crate::message::PARTS_CEILING).contains(&limits.max_mime_parts) {
            return Err(self.invalid(
                "limits.max_mime_parts",
                format!("must be 1 to {}", crate::message::PARTS_CEILING),
            ));
        }
        for (key, value) in [
            ("limits.tls_handshake_secs", limits.tls_handshake_secs),
            ("limits.write_timeout_secs", limits.write_timeout_secs),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1 second"));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Config {
    /// What `check-config` prints: what would be served.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "hostname: {}", self.hostname)?;
        writeln!(f, "domains: {}", self.domains.join(", "))?;
        writeln!(f, "data_dir: {}", self.data_dir.display())?;
        let list = |v: &[SocketAddr]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        writeln!(f, "imap (STARTTLS): {}", list(&self.imap.listen))?;
        writeln!(f, "imap (TLS): {}", list(&self.imap.listen_tls))?;
        writeln!(
            f,
            "submission (STARTTLS): {}",
            list(&self.submission.listen)
        )?;
        writeln!(f, "submission (TLS): {}", list(&self.submission.listen_tls))?;
        writeln!(f, "http: {}", list(&self.http.listeners.listen))?;
        writeln!(f, "http (TLS): {}", list(&self.http.listeners.listen_tls))?;
        writeln!(f, "public url: {}", self.http.public_url)?;
        for i in self.trusted_issuers() {
            writeln!(
                f,
                "issuer: {} (audience {:?}, user claim {:?}, read scope {:?}, send scope {:?})",
                i.issuer, i.audience, i.user_claim, i.read_scope, i.send_scope
            )?;
        }
        if let Some(dev) = &self.dev_issuer {
            writeln!(f, "dev issuer key: {}", dev.key.display())?;
        }
        write!(
            f,
            "max message size: {} bytes",
            self.limits.max_message_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
hostname = "mail.example.test"
domains = ["Example.TEST"]
data_dir = "/tmp/x"

[[issuer]]
issuer = "https://id.example.test/realms/mail"
audience = "tokenmail"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("t.toml"))
    }

    #[test]
    fn good_config_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.domains, vec!["example.test"]);
        assert_eq!(c.issuers[0].user_claim, "email");
        assert_eq!(c.issuers[0].read_scope, "mail.read");
        assert_eq!(c.limits.max_message_size, 50 * 1024 * 1024);
        assert!(c.imap.is_empty());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse(&format!("{GOOD}\nbogus = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let e = parse(&GOOD.replace(r#"["Example.TEST"]"#, r#""example.test""#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domains"), "{e}");
    }

    #[test]
    fn plain_http_issuer_must_be_loopback() {
        let e = parse(&GOOD.replace("https://id.example.test", "http://id.example.test"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("issuer[0].issuer"), "{e}");
        let ok = parse(&GOOD.replace("https://id.example.test", "http://127.0.0.1:9000"));
        assert!(ok.is_ok());
    }

    #[test]
    fn listeners_need_tls() {
        let e = parse(&format!("{GOOD}\n[imap]\nlisten = [\"127.0.0.1:1143\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tls`"), "{e}");
    }

    #[test]
    fn bad_listen_address_is_named() {
        let text = GOOD.replace(
            "[[issuer]]",
            "[submission]\nlisten = [\"localhost\"]\n\n[[issuer]]",
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("submission.listen[0]"), "{e}");
    }

    #[test]
    fn dev_issuer_is_trusted_implicitly() {
        let text = format!(
            "{GOOD}\n[dev_issuer]\nissuer = \"http://127.0.0.1:8080/dev\"\nkey = \"/tmp/k.pem\"\n"
        );
        let c = parse(&text).unwrap();
        let issuers = c.trusted_issuers();
        assert_eq!(issuers.len(), 2);
        assert_eq!(issuers[1].issuer, "http://127.0.0.1:8080/dev");
        assert_eq!(issuers[1].audience, "tokenmail");
    }

    #[test]
    fn mime_limits_are_bounded() {
        let c = parse(GOOD).unwrap();
        assert_eq!(
            (c.limits.max_mime_depth, c.limits.max_mime_parts),
            (32, 10_000)
        );
        for bad in [
            "max_mime_depth = 0",
            "max_mime_depth = 65",
            "max_mime_parts = 0",
        ] {
            let e = parse(&format!("{GOOD}\n[limits]\n{bad}\n"))
                .unwrap_err()
                .to_string();
            let key = bad.split(' ').next().unwrap();
            assert!(e.contains(&format!("limits.{key}")), "{e}");
        }
        let c = parse(&format!("{GOOD}\n[limits]\nmax_mime_depth = 64\n")).unwrap();
        assert_eq!(c.limits.max_mime_depth, 64);
    }
}
