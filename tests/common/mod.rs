//! The harness the socket-level tests share: the whole server started
//! in-process on loopback with free ports, a temporary data directory, a
//! self-signed certificate and its own development issuer, and a raw
//! client with timeouts that reads IMAP literals and SMTP replies.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use tokenmail::auth::DevIssuer;
use tokenmail::config::Config;

/// How long any single read may wait before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub const ALICE: &str = "alice@example.test";
pub const BOB: &str = "bob@example.test";

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// A running server and what a client needs to talk to it.
pub struct TestServer {
    pub imap: u16,
    pub imaps: u16,
    pub smtp: u16,
    pub smtps: u16,
    pub issuer: DevIssuer,
    pub issuer_key: PathBuf,
    pub tls: TlsConnector,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<Result<(), tokenmail::server::ServerError>>>,
    pub _dir: tempfile::TempDir,
}

/// Failed-login delays of a server (`[auth]`).
pub struct Delays {
    pub failure_ms: u64,
    pub max_failure_ms: u64,
}

/// A server with short failure delays, so failing logins do not slow tests.
pub async fn start_server() -> TestServer {
    start_server_with(Delays {
        failure_ms: 10,
        max_failure_ms: 50,
    })
    .await
}

/// Free loopback ports: all bound at once (so they differ), then released.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local addr").port())
}

pub async fn start_server_with(delays: Delays) -> TestServer {
    start_server_config(delays, "").await
}

/// A server with short failure delays and `extra` TOML appended to its
/// configuration: new tables (e.g. `[limits]`), or keys before any table
/// header, which land in `[auth]`.
pub async fn start_server_extra(extra: &str) -> TestServer {
    start_server_config(
        Delays {
            failure_ms: 10,
            max_failure_ms: 50,
        },
        extra,
    )
    .await
}

async fn start_server_config(delays: Delays, extra: &str) -> TestServer {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");

    // Self-signed certificate for localhost / 127.0.0.1 (as `tokenmail dev` makes it).
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, ck.cert.pem()).expect("write cert");
    std::fs::write(&key_path, ck.signing_key.serialize_pem()).expect("write key");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ck.cert.der().clone())
        .expect("trust the test certificate");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();

    // Ports are picked free, then bound by the server: another test may
    // take one in between, so a start that finds its port taken retries.
    let mut attempt = 0;
    let (imap, imaps, smtp, smtps, issuer, issuer_key, tx, task) = 'attempt: loop {
        attempt += 1;
        let [imap, imaps, smtp, smtps, issuer_port] = free_ports::<5>();
        let issuer_url = format!("http://127.0.0.1:{issuer_port}/dev");
        let issuer_key = dir.path().join("dev-issuer.pem");
        let text = format!(
            r#"
    hostname = "localhost"
    domains = ["example.test"]
    data_dir = "{data}"

    [tls]
    cert = "{cert}"
    key = "{key}"

    [imap]
    listen = ["127.0.0.1:{imap}"]
    listen_tls = ["127.0.0.1:{imaps}"]

    [submission]
    listen = ["127.0.0.1:{smtp}"]
    listen_tls = ["127.0.0.1:{smtps}"]

    [dev_issuer]
    issuer = "{issuer_url}"
    key = "{issuer_key}"

    [auth]
    failure_delay_ms = {failure_ms}
    max_failure_delay_ms = {max_failure_ms}

    {extra}
    "#,
            data = dir.path().join("data").display(),
            cert = cert_path.display(),
            key = key_path.display(),
            issuer_key = issuer_key.display(),
            failure_ms = delays.failure_ms,
            max_failure_ms = delays.max_failure_ms,
        );
        let config_path = dir.path().join("tokenmail.toml");
        let config = Arc::new(Config::parse(&text, &config_path).expect("valid test config"));
        // The test mints with the same key the server's issuer serves (created here).
        let issuer =
            DevIssuer::load_or_create(&issuer_url, &issuer_key, "tokenmail").expect("dev issuer");

        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(tokenmail::server::run(config, async move {
            let _ = rx.await;
        }));

        // Ready once every listener accepts.
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in [issuer_port, imap, imaps, smtp, smtps] {
            loop {
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    break;
                }
                if task.is_finished() {
                    let result = task.await;
                    // Another test took a port between free_ports and the
                    // bind: pick new ones.
                    if attempt < 4 && format!("{result:?}").contains("AddrInUse") {
                        continue 'attempt;
                    }
                    panic!("server stopped during start: {result:?}");
                }
                assert!(
                    Instant::now() < deadline,
                    "server did not listen on port {port} within 10 s"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        break (imap, imaps, smtp, smtps, issuer, issuer_key, tx, task);
    };
    TestServer {
        imap,
        imaps,
        smtp,
        smtps,
        issuer,
        issuer_key,
        tls: TlsConnector::from(Arc::new(client)),
        shutdown: Some(tx),
        task: Some(task),
        _dir: dir,
    }
}

impl TestServer {
    /// A valid token for `user` with both scopes.
    pub fn token(&self, user: &str) -> String {
        self.issuer
            .mint(user, "mail.read mail.send", 3600)
            .expect("mint token")
    }

    /// A token signed by the right key, with the right claims, that expired
    /// an hour ago (well past the validator's leeway).
    pub fn expired_token(&self, user: &str) -> String {
        self.token_expiring(user, -3600, "expired-test-token")
    }

    /// A valid token whose `exp` is `secs` from now (negative: in the past;
    /// the validator accepts 60 s past `exp`).
    pub fn token_expiring(&self, user: &str, secs: i64, jti: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let pem = std::fs::read(&self.issuer_key).expect("read issuer key");
        let der =
            match rustls::pki_types::PrivateKeyDer::from_pem_slice(&pem).expect("issuer key PEM") {
                rustls::pki_types::PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
                other => panic!("issuer key is not PKCS#8: {other:?}"),
            };
        let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.issuer.kid().to_string());
        let exp = now + secs;
        let claims = serde_json::json!({
            "iss": self.issuer.issuer(),
            "aud": self.issuer.audience(),
            "sub": user,
            "email": user,
            "scope": "mail.read mail.send",
            "iat": exp - 3600,
            "nbf": exp - 3600,
            "exp": exp,
            "jti": jti,
        });
        jsonwebtoken::encode(&header, &claims, &key).expect("sign token")
    }

    /// Stops the server as SIGTERM would and checks it ends cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().expect("server task");
        let result = tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("server did not stop within 15 s");
        result
            .expect("server task panicked")
            .expect("server ended with an error");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A failed test never reaches `stop`; end the server anyway.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------
// A raw client: line reading with timeouts, IMAP literals, SMTP replies
// ---------------------------------------------------------------------------

pub enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// During the STARTTLS switch.
    None,
}

/// One client connection with its own read buffer (so nothing is read
/// past what a test asked for without the test seeing it).
pub struct Client {
    pub io: Io,
    pub buf: Vec<u8>,
    pub what: &'static str,
}

impl Client {
    pub async fn connect(port: u16, what: &'static str) -> Client {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        Client {
            io: Io::Plain(tcp),
            buf: Vec::new(),
            what,
        }
    }

    pub async fn connect_tls(server: &TestServer, port: u16, what: &'static str) -> Client {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        Client::tls_over(server, tcp, what).await
    }

    pub async fn tls_over(server: &TestServer, tcp: TcpStream, what: &'static str) -> Client {
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
        let tls = tokio::time::timeout(READ_TIMEOUT, server.tls.connect(name, tcp))
            .await
            .expect("TLS handshake timed out")
            .expect("TLS handshake");
        Client {
            io: Io::Tls(Box::new(tls)),
            buf: Vec::new(),
            what,
        }
    }

    /// Switches to TLS after a STARTTLS reply. The server must not have sent
    /// anything after that reply in cleartext.
    pub async fn starttls(&mut self, server: &TestServer) {
        assert!(
            self.buf.is_empty(),
            "{}: cleartext bytes after the STARTTLS reply: {:?}",
            self.what,
            String::from_utf8_lossy(&self.buf)
        );
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::None) else {
            panic!("already TLS")
        };
        let upgraded = Client::tls_over(server, tcp, self.what).await;
        self.io = upgraded.io;
    }

    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        let result = match &mut self.io {
            Io::Plain(s) => s.write_all(bytes).await.and(s.flush().await),
            Io::Tls(s) => s.write_all(bytes).await.and(s.flush().await),
            Io::None => panic!("no stream"),
        };
        result.unwrap_or_else(|e| panic!("{}: write failed: {e}", self.what));
    }

    /// Reads more bytes; `Ok(0)` at end of stream.
    pub async fn fill(&mut self, within: Duration) -> Option<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let read = async {
            match &mut self.io {
                Io::Plain(s) => s.read(&mut chunk).await,
                Io::Tls(s) => s.read(&mut chunk).await,
                Io::None => panic!("no stream"),
            }
        };
        match tokio::time::timeout(within, read).await {
            Err(_) => None,
            Ok(Err(e)) => panic!("{}: read failed: {e}", self.what),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(n)
            }
        }
    }

    /// Reads and drops what arrives within `within`: `Some(n)` bytes,
    /// `Some(0)` at the end of the stream or a reset, `None` on timeout.
    pub async fn try_fill(&mut self, within: Duration) -> Option<usize> {
        let mut chunk = vec![0u8; 64 * 1024];
        let read = async {
            match &mut self.io {
                Io::Plain(s) => s.read(&mut chunk).await,
                Io::Tls(s) => s.read(&mut chunk).await,
                Io::None => Ok(0),
            }
        };
        match tokio::time::timeout(within, read).await {
            Err(_) => None,
            Ok(Err(_)) => Some(0),
            Ok(Ok(n)) => Some(n),
        }
    }

    /// Whether the server closes the connection (end of stream or reset)
    /// within [`READ_TIMEOUT`] without sending anything more.
    pub async fn closed(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut chunk = [0u8; 1024];
        let read = async {
            match &mut self.io {
                Io::Plain(s) => s.read(&mut chunk).await,
                Io::Tls(s) => s.read(&mut chunk).await,
                Io::None => Ok(0),
            }
        };
        matches!(
            tokio::time::timeout(READ_TIMEOUT, read).await,
            Ok(Err(_) | Ok(0))
        )
    }

    /// Whatever bytes are buffered or arrive next (for compressed streams).
    pub async fn raw_chunk(&mut self, within: Duration) -> Vec<u8> {
        if self.buf.is_empty() {
            self.fill(within).await;
        }
        std::mem::take(&mut self.buf)
    }

    /// The next line (without CRLF) within `within`, or None on timeout.
    pub async fn try_line(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.fill(left).await {
                None => return None,
                Some(0) => panic!(
                    "{}: connection closed by the server (pending: {:?})",
                    self.what,
                    String::from_utf8_lossy(&self.buf)
                ),
                Some(_) => {}
            }
        }
    }

    /// The next line; fails the test after [`READ_TIMEOUT`].
    pub async fn line(&mut self) -> String {
        match self.try_line(READ_TIMEOUT).await {
            Some(l) => l,
            None => panic!(
                "{}: no line from the server within {READ_TIMEOUT:?}",
                self.what
            ),
        }
    }

    /// Exactly `n` bytes.
    pub async fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            match self.fill(READ_TIMEOUT).await {
                None => panic!("{}: literal of {n} bytes did not arrive", self.what),
                Some(0) => panic!("{}: connection closed inside a literal", self.what),
                Some(_) => {}
            }
        }
        self.buf.drain(..n).collect()
    }

    // ---- IMAP ----

    /// One IMAP response, its literals inlined as `{n}\r\n<bytes>`.
    pub async fn response(&mut self) -> String {
        let mut text = self.line().await;
        while let Some(n) = literal_len(&text) {
            let data = self.exact(n).await;
            text.push_str("\r\n");
            text.push_str(&String::from_utf8_lossy(&data));
            let rest = self.line().await;
            text.push_str(&rest);
        }
        text
    }

    /// Responses up to and including the one tagged `tag` (the last one).
    /// A continuation request (`+`) on the way fails the test.
    pub async fn read_until_tagged(&mut self, tag: &str) -> Vec<String> {
        let prefix = format!("{tag} ");
        let mut out = Vec::new();
        loop {
            let r = self.response().await;
            assert!(
                !r.starts_with('+'),
                "{}: unexpected continuation request {r:?} (waiting for {tag}); so far {out:#?}",
                self.what
            );
            let done = r.starts_with(&prefix);
            out.push(r);
            if done {
                return out;
            }
        }
    }

    /// Sends `tag command` and returns the responses through the tagged one.
    pub async fn cmd(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(format!("{tag} {command}\r\n")).await;
        self.read_until_tagged(tag).await
    }

    /// As [`Client::cmd`], asserting the tagged status is OK.
    pub async fn ok(&mut self, tag: &str, command: &str) -> Vec<String> {
        let r = self.cmd(tag, command).await;
        assert_eq!(
            status(r.last().unwrap()),
            "OK",
            "{}: {command:?} got {r:#?}",
            self.what
        );
        r
    }

    // ---- SMTP ----

    /// One SMTP reply: its code and every line (RFC 5321 §4.2.1).
    pub async fn smtp_reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            assert!(l.len() >= 3, "{}: not an SMTP reply: {l:?}", self.what);
            let code: u16 = l[..3]
                .parse()
                .unwrap_or_else(|_| panic!("{}: not an SMTP reply: {l:?}", self.what));
            let last = l.as_bytes().get(3) != Some(&b'-');
            lines.push(l);
            if last {
                return (code, lines);
            }
        }
    }

    pub async fn smtp(&mut self, command: &str) -> (u16, Vec<String>) {
        self.send(format!("{command}\r\n")).await;
        self.smtp_reply().await
    }

    /// Sends `command` and asserts the reply code.
    pub async fn smtp_expect(&mut self, command: &str, code: u16) -> Vec<String> {
        let (got, lines) = self.smtp(command).await;
        assert_eq!(got, code, "{}: {command:?} got {lines:?}", self.what);
        lines
    }
}

/// `{n}` (or `{n+}`) at the end of a response line: a literal follows.
pub fn literal_len(line: &str) -> Option<usize> {
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    let digits = inner[open + 1..].trim_end_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The status word of a tagged or untagged response: `OK`, `NO`, `BAD`, …
pub fn status(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

/// The bytes of the first literal after `item` in a FETCH response.
pub fn literal_after<'a>(response: &'a str, item: &str) -> &'a str {
    let at = response
        .find(item)
        .unwrap_or_else(|| panic!("{item} not in {response:?}"))
        + item.len();
    let rest = &response[at..];
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let close = rest
        .find("}\r\n")
        .unwrap_or_else(|| panic!("no literal after {item} in {response:?}"));
    let n: usize = rest[1..close].parse().expect("literal length");
    &rest[close + 3..close + 3 + n]
}

pub fn oauthbearer(user: &str, token: &str) -> String {
    B64.encode(format!("n,a={user},\x01auth=Bearer {token}\x01\x01"))
}

pub fn xoauth2(user: &str, token: &str) -> String {
    B64.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// An IMAP session on the implicit-TLS port, logged in as `user` with
/// AUTHENTICATE OAUTHBEARER and SASL-IR (RFC 7628, RFC 4959).
pub async fn imap_tls_login(server: &TestServer, user: &str) -> Client {
    let mut c = Client::connect_tls(server, server.imaps, "imap").await;
    let greeting = c.line().await;
    assert!(greeting.starts_with("* OK"), "{greeting:?}");
    c.ok(
        "l1",
        &format!(
            "AUTHENTICATE OAUTHBEARER {}",
            oauthbearer(user, &server.token(user))
        ),
    )
    .await;
    c
}

/// A submission session on the implicit-TLS port, after EHLO and AUTH
/// XOAUTH2 as `user`; returns it with the EHLO lines.
pub async fn smtp_tls_login(server: &TestServer, user: &str) -> (Client, Vec<String>) {
    let mut c = Client::connect_tls(server, server.smtps, "smtp").await;
    let (code, _) = c.smtp_reply().await;
    assert_eq!(code, 220);
    let ehlo = c.smtp_expect("EHLO client.example.test", 250).await;
    c.smtp_expect(
        &format!("AUTH XOAUTH2 {}", xoauth2(user, &server.token(user))),
        235,
    )
    .await;
    (c, ehlo)
}

/// The `[CODE a b]` arguments of a tagged response.
pub fn response_code<'a>(tagged: &'a str, code: &str) -> Vec<&'a str> {
    let start = tagged
        .find(&format!("[{code} "))
        .unwrap_or_else(|| panic!("no [{code}] in {tagged:?}"));
    let rest = &tagged[start + code.len() + 2..];
    rest[..rest.find(']').expect("closing ]")]
        .split(' ')
        .collect()
}
