//! The submission driver: reads lines and DATA from the connection, runs
//! the [`SmtpSession`] and writes its replies. PIPELINING (RFC 2920)
//! needs nothing special: commands already in the buffer are processed in
//! order, and replies go out after each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn::{Connection, ReadStop};
use crate::proto::smtp::{DataEnd, DataProgress, DataReader};
use crate::session::Shared;
use crate::session::smtp::{DataOutcome, SmtpFlow, SmtpSession};

/// RFC 5321 §4.5.3.1.4: 512 octets for a command line; we allow more for
/// long parameter lists. `AUTH` with an initial response may be as long as
/// `limits.max_auth_line` (RFC 4954 §4: tokens run to several KB).
const MAX_COMMAND_LINE: usize = 4096;

/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with CRLF.
const MAX_TEXT_LINE: usize = 1000;

/// Runs one submission connection to its end.
pub async fn drive(
    mut conn: Connection,
    shared: Arc<Shared>,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let mut session = SmtpSession::new(shared.clone(), peer, conn.is_tls());
    session.greeting();
    let limits = &shared.config.limits;
    let mut flow = SmtpFlow::Command;
    let mut logged = false;
    loop {
        if write(&mut conn, &mut session).await.is_err() {
            return;
        }
        if !logged && let Some(address) = session.address() {
            tracing::Span::current().record("user", address);
            logged = true;
            if shared.config.auth.end_sessions_at_expiry
                && let Some(until) = session.valid_until()
            {
                conn.set_deadline(until);
            }
            if let Some(p) = session.principal() {
                conn.set_authority(shared.accounts.authority(p));
            }
        }
        let idle = Duration::from_secs(if logged {
            limits.idle_authenticated_secs
        } else {
            limits.idle_unauthenticated_secs
        });
        flow = match flow {
            SmtpFlow::Close => break,
            SmtpFlow::StartTls => {
                if let Err(e) = conn.start_tls(&acceptor).await {
                    tracing::debug!(error = %e, "STARTTLS handshake failed");
                    return;
                }
                session.tls_started();
                SmtpFlow::Command
            }
            SmtpFlow::Command => match conn.read_line(limits.max_auth_line, idle).await {
                // The next command after the token expired is answered
                // 421 (RFC 5321 §3.8), as is a wait that outlasts it.
                Ok(Some(_)) if conn.ended().is_some() => {
                    let stop = conn.ended().unwrap_or(ReadStop::Expired);
                    return goodbye(&mut conn, stop).await;
                }
                Ok(Some(line)) if line.len() > MAX_COMMAND_LINE && !is_auth(&line) => {
                    session.line_too_long();
                    SmtpFlow::Command
                }
                Ok(Some(line)) => session.command(&line).await,
                Ok(None) => {
                    session.line_too_long();
                    SmtpFlow::Command
                }
                Err(stop) => return goodbye(&mut conn, stop).await,
            },
            SmtpFlow::AuthLine => match conn.read_line(limits.max_auth_line, idle).await {
                Ok(Some(line)) => session.auth_line(&line).await,
                Ok(None) => session.auth_line(b"*").await,
                Err(stop) => return goodbye(&mut conn, stop).await,
            },
            SmtpFlow::Data { max_size } => match read_data(&mut conn, max_size, idle).await {
                Ok(outcome) => session.data(outcome).await,
                Err(stop) => return goodbye(&mut conn, stop).await,
            },
        };
    }
    let _ = write(&mut conn, &mut session).await;
    conn.close().await;
}

fn is_auth(line: &[u8]) -> bool {
    line.len() > 5 && line[..5].eq_ignore_ascii_case(b"AUTH ")
}

async fn write(conn: &mut Connection, session: &mut SmtpSession) -> std::io::Result<()> {
    let out = session.take_output();
    conn.write_all(&out).await
}

/// Reads the message after 354 up to `<CRLF>.<CRLF>` (RFC 5321 §4.1.1.4).
async fn read_data(
    conn: &mut Connection,
    max_size: u64,
    idle: Duration,
) -> Result<DataOutcome, ReadStop> {
    let mut reader = DataReader::new(MAX_TEXT_LINE, max_size);
    loop {
        let DataProgress { consumed, end } = reader.feed(&conn.buf);
        conn.buf.drain(..consumed);
        match end {
            Some(DataEnd::Complete) => return Ok(DataOutcome::Message(reader.take_output())),
            Some(DataEnd::TooLarge) => return Ok(DataOutcome::TooLarge),
            Some(DataEnd::LineTooLong) => return Ok(DataOutcome::LineTooLong),
            None => {}
        }
        conn.fill(idle).await?;
    }
}

/// RFC 5321 §4.5.3.2: say why before closing, when the client can hear it.
async fn goodbye(conn: &mut Connection, stop: ReadStop) {
    let text: &[u8] = match stop {
        ReadStop::Timeout => b"421 4.4.2 Idle for too long; closing\r\n",
        ReadStop::Shutdown => b"421 4.3.2 Server shutting down\r\n",
        ReadStop::Expired => b"421 4.7.0 Access token expired; closing\r\n",
        ReadStop::Revoked => b"421 4.7.0 Access revoked; closing\r\n",
        ReadStop::Closed => return,
        ReadStop::Io(e) => return tracing::debug!(error = %e, "connection error"),
    };
    let _ = conn.write_all(text).await;
    conn.close().await;
}
