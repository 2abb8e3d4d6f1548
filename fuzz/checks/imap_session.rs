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

#[path = "world.rs"]
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokenmail::proto::imap::{CommandFramer, Framed, FramerLimits, parse_command, read_line};
use tokenmail::session::Shared;
use tokenmail::session::imap::{ImapFlow, ImapSession};

struct World {
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    login: Vec<u8>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let world::World { rt, shared, token } = world::build("");
        let login = format!("L LOGIN {} {token}\r\n", world::USER).into_bytes();
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
