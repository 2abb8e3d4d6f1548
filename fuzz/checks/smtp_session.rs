//! Fuzzes a whole SMTP session (STYLE: "fuzz whole sessions"): each
//! input is a stream of client bytes, cut into command lines, SASL lines and
//! DATA exactly as the network driver does, and run through an
//! `SmtpSession` on a real sled store. Any panic is a bug: a session must
//! answer 4xx/5xx and go on.
//!
//! The first byte picks the starting state, so every state is reached:
//! fresh, after EHLO, logged in, or inside a transaction with a recipient;
//! bits 3-4 pick the role: submission, the MX (with BDAT) or LMTP.
//! Set-up happens once per process: a development issuer on loopback, a
//! store in a temporary directory, and a valid token.

#[path = "world.rs"]
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use tokenmail::proto::smtp::{DataEnd, DataReader};
use tokenmail::session::Shared;
use tokenmail::session::smtp::{DataOutcome, Role, SmtpFlow, SmtpSession};

/// RFC 5321 §4.5.3.1.6: 998 characters and the CRLF.
const MAX_LINE: usize = 1000;
const MAX_AUTH_LINE: usize = 16 * 1024;

struct World {
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    auth: Vec<u8>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let world::World { rt, shared, token } = world::build("max_recipients = 5\n");
        let plain =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{token}", world::USER));
        let auth = format!("AUTH PLAIN {plain}\r\n").into_bytes();
        // The logged-in states are only reached if this login works.
        let mut probe = SmtpSession::new(shared.clone(), "127.0.0.1:1".parse().unwrap(), true, Role::Submission);
        rt.block_on(probe.command(&auth[..auth.len() - 2]));
        let reply = probe.take_output();
        assert!(
            reply.starts_with(b"235"),
            "fuzz login refused: {}",
            String::from_utf8_lossy(&reply)
        );
        World { rt, shared, auth }
    })
}

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let Some((&state, data)) = data.split_first() else {
        return;
    };
    let w = world();
    let role = match (state >> 3) & 3 {
        1 => Role::Inbound,
        2 => Role::Lmtp,
        _ => Role::Submission,
    };
    let mut buf = Vec::new();
    if state & 3 >= 1 {
        let hello: &[u8] = if role == Role::Lmtp { b"LHLO" } else { b"EHLO" };
        buf.extend_from_slice(hello);
        buf.extend_from_slice(b" fuzz.example.test\r\n");
    }
    if state & 3 >= 2 {
        buf.extend_from_slice(&w.auth);
    }
    if state & 3 == 3 {
        buf.extend_from_slice(b"MAIL FROM:<fuzz@example.test>\r\nRCPT TO:<fuzz@example.test>\r\n");
    }
    buf.extend_from_slice(data);
    // Bit 2: the implicit-TLS port (AUTH offered) or the cleartext one.
    let tls = state & 4 == 0;
    w.rt.block_on(async {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut session = SmtpSession::new(w.shared.clone(), peer, tls, role);
        session.greeting();
        let mut flow = SmtpFlow::Command;
        for _ in 0..256 {
            flow = match flow {
                SmtpFlow::Close => break,
                SmtpFlow::StartTls => {
                    session.tls_started();
                    SmtpFlow::Command
                }
                SmtpFlow::Command => match next_line(&mut buf, MAX_AUTH_LINE) {
                    Line::Full(line) if line.len() > MAX_LINE => {
                        session.line_too_long();
                        SmtpFlow::Command
                    }
                    Line::Full(line) => session.command(&line).await,
                    Line::TooLong => {
                        session.line_too_long();
                        SmtpFlow::Command
                    }
                    Line::End => break,
                },
                SmtpFlow::AuthLine => match next_line(&mut buf, MAX_AUTH_LINE) {
                    Line::Full(line) => session.auth_line(&line).await,
                    Line::TooLong | Line::End => session.auth_line(b"*").await,
                },
                SmtpFlow::Data { max_size } => {
                    let mut reader = DataReader::new(MAX_LINE, max_size);
                    let progress = reader.feed(&buf);
                    buf.drain(..progress.consumed);
                    let outcome = match progress.end {
                        Some(DataEnd::Complete) => DataOutcome::Message(reader.take_output()),
                        Some(DataEnd::TooLarge) => DataOutcome::TooLarge,
                        Some(DataEnd::LineTooLong) => DataOutcome::LineTooLong,
                        None => break,
                    };
                    session.data(outcome).await
                }
                SmtpFlow::Chunk { size, last, keep } => {
                    let Ok(n) = usize::try_from(size) else { break };
                    if buf.len() < n {
                        break;
                    }
                    let chunk: Vec<u8> = buf.drain(..n).collect();
                    session.chunk(if keep { chunk } else { Vec::new() }, last).await
                }
            };
            let out = session.take_output();
            assert!(
                out.is_empty() || out.ends_with(b"\r\n"),
                "reply without CRLF"
            );
        }
    });
}

enum Line {
    Full(Vec<u8>),
    TooLong,
    End,
}

/// The next line of the stream without its line end, as the driver reads
/// it: a line over `max` is discarded through its LF.
fn next_line(buf: &mut Vec<u8>, max: usize) -> Line {
    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
        return Line::End;
    };
    let mut line: Vec<u8> = buf.drain(..=lf).collect();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > max {
        Line::TooLong
    } else {
        Line::Full(line)
    }
}
