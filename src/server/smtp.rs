//! The SMTP driver for submission, the MX and LMTP: reads lines, DATA and
//! BDAT chunks from the connection, runs the [`SmtpSession`] and writes
//! its replies. PIPELINING (RFC 2920) needs nothing special: commands
//! already in the buffer are processed in order, and replies go out after
//! each. On the MX, a client that talks before the delayed banner is
//! dropped (`smtp_in.greeting_delay`: spam engines do not wait).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn::{Connection, ReadStop};
use crate::proto::smtp::{DataEnd, DataProgress, DataReader};
use crate::session::Shared;
use crate::session::smtp::{DataOutcome, Role, SmtpFlow, SmtpSession};

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
    role: Role,
) {
    let delay = shared.config.smtp_in.greeting_delay;
    if role == Role::Inbound && !delay.is_zero() && talks_first(&mut conn, delay).await {
        tracing::info!(%peer, "dropped: the client talked before the greeting");
        let _ = conn
            .write_all(b"554 5.7.0 You talked before the greeting; goodbye\r\n")
            .await;
        conn.close().await;
        return;
    }
    let mut session = SmtpSession::new(shared.clone(), peer, conn.is_tls(), role);
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
            SmtpFlow::Chunk { size, last, keep } => match read_chunk(&mut conn, size, keep, idle).await {
                Ok(chunk) => session.chunk(chunk, last).await,
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

/// Whether the client sends anything within `delay`, before the banner
/// (RFC 5321 §4.3.1: the client waits for it).
async fn talks_first(conn: &mut Connection, delay: Duration) -> bool {
    match tokio::time::timeout(delay, conn.fill(delay + Duration::from_secs(1))).await {
        Ok(Ok(n)) => n > 0 || !conn.buf.is_empty(),
        // Closed or failed before the banner: nothing to greet.
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

/// The `size` octets of a BDAT chunk (RFC 3030 §2), exactly: kept when
/// `keep`, else read and dropped as they come (a chunk the session
/// refuses, or one past the size limit, must still be consumed).
async fn read_chunk(
    conn: &mut Connection,
    size: u64,
    keep: bool,
    idle: Duration,
) -> Result<Vec<u8>, ReadStop> {
    let mut out = Vec::with_capacity(if keep { size.min(1 << 20) as usize } else { 0 });
    let mut left = size;
    loop {
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(conn.buf.len());
        if keep {
            out.extend_from_slice(&conn.buf[..take]);
        }
        conn.buf.drain(..take);
        left -= take as u64;
        if left == 0 {
            return Ok(out);
        }
        conn.fill(idle).await?;
    }
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
