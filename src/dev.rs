//! `tokenmail dev`: a one-command trial on this machine. Makes a directory
//! with a self-signed certificate, a configuration whose `[dev_issuer]`
//! tokenmail serves itself, and accounts for alice and bob; prints client
//! settings, tokens and working curl lines; then serves until Ctrl-C.
//! Running it again reuses the directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::DevIssuer;
use crate::config::Config;
use crate::store::MailStore;

/// The demo users.
pub const USERS: [&str; 2] = ["alice@example.test", "bob@example.test"];

/// Why the trial could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate: {0}")]
    Cert(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Server(#[from] crate::server::ServerError),
    #[error("dev issuer: {0}")]
    Issuer(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Prepares `dir` (creating what is missing) and returns its config path.
pub fn prepare(dir: &Path) -> Result<PathBuf, DevError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !cert.exists() || !key.exists() {
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let ck =
            rcgen::generate_simple_self_signed(names).map_err(|e| DevError::Cert(e.to_string()))?;
        std::fs::write(&cert, ck.cert.pem()).map_err(io(&cert))?;
        write_private(&key, ck.signing_key.serialize_pem().as_bytes())?;
    }
    let config = dir.join("tokenmail.toml");
    if !config.exists() {
        let text = format!(
            r#"# Written by `tokenmail dev`; edit freely, it is reused.
hostname = "localhost"
domains = ["example.test"]
data_dir = "{data}"

[tls]
cert = "{cert}"
key = "{key}"

[imap]
listen = ["127.0.0.1:1143"]
listen_tls = ["127.0.0.1:1993"]

[submission]
listen = ["127.0.0.1:1587"]
listen_tls = ["127.0.0.1:1465"]

[dev_issuer]
issuer = "http://127.0.0.1:8080/dev"
key = "{issuer_key}"

# The account page, autoconfig, autodiscover, /healthz and /metrics.
[http]
listen = ["127.0.0.1:8081"]
listen_tls = ["127.0.0.1:8443"]
public_url = "http://127.0.0.1:8081"

# The account page (/account/) signs people in with the dev issuer.
[portal]
issuer = "http://127.0.0.1:8080/dev"
client_id = "tokenmail-dev"

# What autoconfig tells mail programs about signing in.
[mail_clients]
issuer = "http://127.0.0.1:8080/dev"
client_id = "tokenmail-dev"
scopes = "openid email offline_access mail.read mail.send"
"#,
            data = dir.join("data").display(),
            cert = cert.display(),
            key = key.display(),
            issuer_key = dir.join("dev-issuer.pem").display(),
        );
        std::fs::write(&config, text).map_err(io(&config))?;
    }
    Ok(config)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}

/// What to print: settings, tokens and curl lines.
pub fn instructions(config: &Config, dir: &Path, tokens: &[(String, String)]) -> String {
    let mut s = String::new();
    let imaps = config
        .imap
        .listen_tls
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let imap = config
        .imap
        .listen
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let smtps = config
        .submission
        .listen_tls
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let smtp = config
        .submission
        .listen
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let cacert = dir.join("cert.pem");
    let _ = writeln!(s, "tokenmail dev: serving from {}", dir.display());
    let _ = writeln!(s, "  config:      {}", config.path.display());
    let _ = writeln!(s, "  IMAP:        {imaps} (TLS), {imap} (STARTTLS)");
    let _ = writeln!(s, "  submission:  {smtps} (TLS), {smtp} (STARTTLS)");
    if let Some(dev) = &config.dev_issuer {
        let _ = writeln!(
            s,
            "  issuer:      {} (discovery: {}/.well-known/openid-configuration)",
            dev.issuer, dev.issuer
        );
    }
    if !config.http.listeners.is_empty() {
        if config.portal.is_some() {
            let _ = writeln!(s, "  account page: {}/account/", config.http.public_url);
        }
        let _ = writeln!(
            s,
            "  autoconfig:  {}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.test",
            config.http.public_url
        );
        if config.mail_clients.is_some() {
            let _ = writeln!(
                s,
                "  Thunderbird: {}/thunderbird/tokenmail-oauth.xpi (add-on: sign in with the dev issuer)",
                config.http.public_url
            );
        }
    }
    let _ = writeln!(s, "  certificate: {} (self-signed)", cacert.display());
    let _ = writeln!(
        s,
        "  login:       SASL OAUTHBEARER or XOAUTH2 with the token (or LOGIN/PLAIN with the token as password,\n               or an app password: tokenmail app-password create --config CONFIG --user ADDRESS --name NAME)"
    );
    for (user, token) in tokens {
        let _ = writeln!(
            s,
            "\ntoken for {user} (also in {}):\n{token}",
            dir.join(token_file(user)).display()
        );
    }
    if let [(alice, _), (bob, _)] = tokens {
        let msg = dir.join("hello.eml");
        let token = |user: &str| format!("\"$(cat {})\"", dir.join(token_file(user)).display());
        let curl = format!("curl --cacert {}", cacert.display());
        let _ = writeln!(s, "\nList alice's INBOX over IMAP:");
        let _ = writeln!(
            s,
            "  {curl} --oauth2-bearer {} -u {alice}: imaps://{imaps}/INBOX",
            token(alice)
        );
        let _ = writeln!(s, "Send a message from alice to bob over submission:");
        let _ = writeln!(
            s,
            "  {curl} --oauth2-bearer {} -u {alice}: smtps://{smtps} --mail-from {alice} --mail-rcpt {bob} --upload-file {}",
            token(alice),
            msg.display()
        );
        let _ = writeln!(s, "Read it as bob (the first message of bob's INBOX):");
        let _ = writeln!(
            s,
            "  {curl} --oauth2-bearer {} -u {bob}: 'imaps://{imaps}/INBOX;UID=1'",
            token(bob)
        );
        let _ = writeln!(
            s,
            "New tokens: tokenmail token --config {} --user {alice}",
            config.path.display()
        );
    }
    s
}

fn token_file(user: &str) -> String {
    format!("{}.token", user.split('@').next().unwrap_or(user))
}

/// Runs the trial: prepare, create the demo accounts, print, serve.
pub async fn run(
    dir: &Path,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DevError> {
    let config_path = prepare(dir)?;
    let config = Arc::new(Config::load(&config_path)?);
    let dir = config_path.parent().unwrap_or(dir).to_owned();
    let dev = config
        .dev_issuer
        .as_ref()
        .ok_or_else(|| DevError::Issuer("the dev config has no [dev_issuer]".into()))?;
    let issuer = DevIssuer::load_or_create(&dev.issuer, &dev.key, &dev.audience)
        .map_err(|e| DevError::Issuer(e.to_string()))?;
    let store = crate::server::open_store(&config)?;
    let mut tokens = Vec::new();
    for user in USERS {
        store.ensure_account(user)?;
        let token = issuer
            .mint(user, "mail.read mail.send", 12 * 3600)
            .map_err(|e| DevError::Issuer(e.to_string()))?;
        let path = dir.join(token_file(user));
        write_private(&path, format!("{token}\n").as_bytes())?;
        tokens.push((user.to_string(), token));
    }
    store.flush_blocking()?;
    let msg = dir.join("hello.eml");
    if !msg.exists() {
        let text = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Hello from tokenmail\r\n\r\nSent with an access token instead of a password.\r\n";
        std::fs::write(&msg, text).map_err(io(&msg))?;
    }
    println!("{}", instructions(&config, &dir, &tokens));
    crate::server::run_with_store(config, Arc::new(store), shutdown).await?;
    Ok(())
}
