//! Fuzzes a whole IMAP session, not just the parser (STYLE: "fuzz whole
//! sessions"): each input is a stream of client bytes, framed, parsed and
//! run through an `ImapSession` on a real sled store. Any panic is a bug: a
//! session must answer BAD/NO and go on.
//!
//! The first byte picks the starting state, so each is reached: not
//! authenticated, authenticated (a LOGIN with a valid token first), or
//! selected (LOGIN and SELECT INBOX first); and whether the connection is
//! TLS (the implicit-TLS port) or cleartext before STARTTLS.
//!
//! Set-up happens once per process: a development issuer on loopback (the
//! validator fetches its keys over HTTP, as from any IdP), a store in a
//! temporary directory, and a valid token.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokenmail::auth::{DevIssuer, HttpClient, LoginLimiter, Validator};
use tokenmail::config::Config;
use tokenmail::proto::imap::{CommandFramer, Framed, FramerLimits, parse_command, read_line};
use tokenmail::session::Shared;
use tokenmail::session::imap::{ImapFlow, ImapSession};
use tokenmail::store::SledStore;

struct World {
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    login: Vec<u8>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let issuer_url = format!("http://{}/dev", listener.local_addr().unwrap());
        let key = dir.path().join("dev.pem");
        let text = format!(
            "hostname = \"fuzz.example.test\"\ndomains = [\"example.test\"]\ndata_dir = {:?}\n\
             [dev_issuer]\nissuer = {issuer_url:?}\nkey = {key:?}\n\
             [limits]\nmax_message_size = 65536\n\
             [auth]\nfailure_delay_ms = 0\nmax_failure_delay_ms = 0\nmax_failures = 1000000\n",
            dir.path()
        );
        let config = Arc::new(Config::parse(&text, std::path::Path::new("fuzz.toml")).unwrap());
        let issuer = Arc::new(DevIssuer::load_or_create(&issuer_url, &key, "tokenmail").unwrap());
        rt.spawn(issuer.clone().serve(listener, std::future::pending()));
        let token = issuer
            .mint("fuzz@example.test", "mail.read mail.send", 365 * 86_400)
            .unwrap();
        let store = Arc::new(SledStore::open(&dir.path().join("store")).unwrap());
        let validator = Arc::new(Validator::new(
            config.trusted_issuers(),
            config.domains.clone(),
            HttpClient::new(None),
        ));
        let limiter = Arc::new(LoginLimiter::new(config.auth.limiter_settings()));
        let shared = Arc::new(Shared::new(config, store, validator, limiter));
        let login = format!("L LOGIN fuzz@example.test {token}\r\n").into_bytes();
        World { rt, shared, login }
    })
}

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let Some((&state, data)) = data.split_first() else {
        return;
    };
    let w = world();
    let mut buf = Vec::new();
    if state % 3 >= 1 {
        buf.extend_from_slice(&w.login);
    }
    if state % 3 == 2 {
        buf.extend_from_slice(b"S SELECT INBOX\r\n");
    }
    buf.extend_from_slice(data);
    let tls = state & 0x80 == 0;
    w.rt.block_on(async {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut session = ImapSession::new(w.shared.clone(), peer, tls);
        session.greeting();
        let mut framer = CommandFramer::new(FramerLimits {
            max_line: 4096,
            max_literal: 65_536,
            max_command: 70_000,
        });
        // Commands, with SASL, IDLE and STARTTLS continuations taken from
        // the same stream, as the network driver would.
        for _ in 0..256 {
            let bytes = match framer.feed(&mut buf) {
                Framed::Complete(bytes) => bytes,
                Framed::NeedContinuation { .. } | Framed::Error(_) => continue,
                Framed::Incomplete => break,
            };
            let Ok(cmd) = parse_command(&bytes) else {
                continue;
            };
            let mut flow = session.command(cmd).await;
            loop {
                match flow {
                    ImapFlow::AuthLine => {
                        let line = next_line(&mut buf);
                        flow = session.auth_line(&line).await;
                    }
                    ImapFlow::More => {
                        let _ = session.take_output();
                        flow = session.resume().await;
                    }
                    _ => break,
                }
            }
            match flow {
                ImapFlow::Idle => {
                    let _ = session.poll_updates(true);
                    session.idle_done(&next_line(&mut buf));
                }
                ImapFlow::StartTls => session.tls_started(),
                ImapFlow::Close => break,
                ImapFlow::Command | ImapFlow::AuthLine | ImapFlow::More | ImapFlow::Compress => {}
            }
            let _ = session.take_output();
        }
    });
}

/// The next line of the stream (without its line end), or `*` (cancel)
/// when there is none.
fn next_line(buf: &mut Vec<u8>) -> Vec<u8> {
    match read_line(buf, 64 * 1024) {
        Ok(Some(line)) => line,
        _ => b"*".to_vec(),
    }
}
