//! The IMAP driver: frames commands (lines and literals, RFC 9051 §4.3,
//! RFC 7888), parses them, runs the [`ImapSession`], and carries out its
//! flows: SASL lines, STARTTLS, IDLE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn::{Connection, Line, ReadStop};
use crate::proto::imap::{CommandFramer, FrameError, Framed, FramerLimits, parse_command};
use crate::session::Shared;
use crate::session::imap::{ImapFlow, ImapSession};

/// Runs one IMAP connection to its end.
pub async fn drive(
    mut conn: Connection,
    shared: Arc<Shared>,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let mut session = ImapSession::new(shared.clone(), peer, conn.is_tls());
    session.greeting();
    let limits = &shared.config.limits;
    let mut framer = CommandFramer::new(framer_limits(limits, false));
    let mut logged = false;
    loop {
        if flush(&mut conn, &mut session).await.is_err() {
            return;
        }
        if !logged && let Some(address) = session.address() {
            tracing::Span::current().record("user", address);
            logged = true;
            framer.set_limits(framer_limits(limits, true));
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
        let framed = framer.feed(&mut conn.buf);
        let flow = match framed {
            Framed::Incomplete => {
                let read = if session.wants_notifications() && !framer.is_mid_command() {
                    // RFC 5465 §5: with NOTIFY, changes are sent while the
                    // client is quiet, not only when it sends a command.
                    wait_notifying(&mut conn, &mut session, &shared, idle).await
                } else {
                    conn.fill(idle).await.map(|_| ())
                };
                match read {
                    Ok(()) => continue,
                    Err(stop) => return goodbye(&mut conn, stop).await,
                }
            }
            Framed::NeedContinuation { .. } => {
                if conn
                    .write_all(b"+ Ready for literal data\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            Framed::Error(e) => {
                let reply = frame_error_reply(&e);
                if conn.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            // A command that arrives after the token expired, or after
            // the session's credential was revoked, is not run.
            Framed::Complete(_) if conn.ended().is_some() => {
                let stop = conn.ended().unwrap_or(ReadStop::Expired);
                return goodbye(&mut conn, stop).await;
            }
            Framed::Complete(bytes) => match parse_command(&bytes) {
                Ok(cmd) => session.command(cmd).await,
                Err(e) => {
                    let tag = e.tag.unwrap_or_else(|| "*".into());
                    let reply = format!("{tag} BAD {}\r\n", e.message.replace(['\r', '\n'], " "));
                    if conn.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    continue;
                }
            },
        };
        let started_tls = flow == ImapFlow::StartTls;
        let flow = match follow(flow, &mut conn, &mut session, &shared, &acceptor, idle).await {
            Ok(flow) => flow,
            Err(stop) => return goodbye(&mut conn, stop).await,
        };
        if started_tls {
            // The cleartext buffer was dropped; so is any framing state.
            framer.reset();
        }
        if matches!(flow, ImapFlow::Close) {
            let _ = flush(&mut conn, &mut session).await;
            conn.close().await;
            return;
        }
    }
}

/// Carries out what a command asked for beyond its response; returns the
/// flow it ended in (`Command` or `Close`).
async fn follow(
    mut flow: ImapFlow,
    conn: &mut Connection,
    session: &mut ImapSession,
    shared: &Shared,
    acceptor: &tokio_rustls::TlsAcceptor,
    idle: Duration,
) -> Result<ImapFlow, ReadStop> {
    loop {
        match flow {
            ImapFlow::Command | ImapFlow::Close => return Ok(flow),
            ImapFlow::More => {
                flush(conn, session).await.map_err(ReadStop::Io)?;
                flow = session.resume().await;
            }
            ImapFlow::Compress => {
                flush(conn, session).await.map_err(ReadStop::Io)?;
                conn.start_deflate();
                return Ok(ImapFlow::Command);
            }
            ImapFlow::StartTls => {
                flush(conn, session).await.map_err(ReadStop::Io)?;
                conn.start_tls(acceptor).await.map_err(ReadStop::Io)?;
                session.tls_started();
                return Ok(ImapFlow::Command);
            }
            ImapFlow::AuthLine => {
                flush(conn, session).await.map_err(ReadStop::Io)?;
                let line = match conn
                    .read_line(shared.config.limits.max_auth_line, idle)
                    .await?
                {
                    Some(line) => line,
                    None => b"*".to_vec(),
                };
                flow = session.auth_line(&line).await;
            }
            ImapFlow::Idle => {
                idle_loop(conn, session, shared).await?;
                return Ok(session.flow_after_idle());
            }
        }
    }
}

/// RFC 2177: until the client sends DONE, pass every committed change in
/// the account on as untagged responses, at once.
async fn idle_loop(
    conn: &mut Connection,
    session: &mut ImapSession,
    shared: &Shared,
) -> Result<(), ReadStop> {
    let Some(account) = session.account() else {
        return Ok(());
    };
    let mut changes = shared.store.watch(account);
    changes.mark_unchanged();
    let idle = Duration::from_secs(shared.config.limits.idle_authenticated_secs);
    poll(session);
    loop {
        flush(conn, session).await.map_err(ReadStop::Io)?;
        match conn.take_line(shared.config.limits.max_line) {
            Line::Complete(line) => {
                session.idle_done(&line);
                return flush(conn, session).await.map_err(ReadStop::Io);
            }
            Line::TooLong => {
                session.idle_done(b"");
                return flush(conn, session).await.map_err(ReadStop::Io);
            }
            Line::Incomplete => {}
        }
        tokio::select! {
            r = conn.fill(idle) => { r?; }
            changed = changes.changed() => {
                if changed.is_err() {
                    // The store dropped the channel; re-subscribe.
                    changes = shared.store.watch(account);
                }
                poll(session);
                if session.flow_after_idle() == ImapFlow::Close {
                    return flush(conn, session).await.map_err(ReadStop::Io);
                }
            }
        }
    }
}

fn poll(session: &mut ImapSession) {
    if let Err(e) = session.poll_updates(true) {
        tracing::error!(error = %e, "cannot read mailbox changes");
    }
    session.poll_notify();
}

/// Waits for client bytes while passing the account's changes to the
/// session as they become durable (NOTIFY outside IDLE).
async fn wait_notifying(
    conn: &mut Connection,
    session: &mut ImapSession,
    shared: &Shared,
    idle: Duration,
) -> Result<(), ReadStop> {
    let Some(account) = session.account() else {
        return conn.fill(idle).await.map(|_| ());
    };
    let mut changes = shared.store.watch(account);
    changes.mark_unchanged();
    loop {
        tokio::select! {
            r = conn.fill(idle) => return r.map(|_| ()),
            changed = changes.changed() => {
                if changed.is_err() {
                    changes = shared.store.watch(account);
                }
                poll(session);
                flush(conn, session).await.map_err(ReadStop::Io)?;
                if session.flow_after_idle() == ImapFlow::Close {
                    return Err(ReadStop::Closed);
                }
            }
        }
    }
}

async fn flush(conn: &mut Connection, session: &mut ImapSession) -> std::io::Result<()> {
    let out = session.take_output();
    conn.write_all(&out).await
}

/// What the framer accepts: before login a literal can only be a LOGIN
/// argument, so it is held to `max_literal_unauthenticated` and a command
/// to two of them plus an auth line, so that an unauthenticated client
/// cannot make the server buffer a message-sized literal.
fn framer_limits(limits: &crate::config::Limits, logged_in: bool) -> FramerLimits {
    let max_line = limits.max_auth_line.max(limits.max_line);
    if logged_in {
        FramerLimits {
            max_line,
            max_literal: limits.max_message_size,
            max_command: limits.max_message_size + 64 * 1024,
        }
    } else {
        FramerLimits {
            max_line,
            max_literal: limits.max_literal_unauthenticated,
            max_command: max_line as u64 + 2 * limits.max_literal_unauthenticated,
        }
    }
}

fn frame_error_reply(e: &FrameError) -> String {
    match e {
        FrameError::LineTooLong => "* BAD Line too long\r\n".into(),
        FrameError::CommandTooLong => "* BAD Command too long\r\n".into(),
        FrameError::LiteralTooLarge { tag, len } => {
            let tag = tag.clone().unwrap_or_else(|| "*".into());
            format!("{tag} NO [TOOBIG] Literal of {len} octets is too large\r\n")
        }
    }
}

/// RFC 9051 §7.1.5: BYE before closing, when the client can hear it.
async fn goodbye(conn: &mut Connection, stop: ReadStop) {
    let text: &[u8] = match stop {
        ReadStop::Timeout => b"* BYE Idle for too long\r\n",
        ReadStop::Shutdown => b"* BYE Server shutting down\r\n",
        // What Exchange Online does too (`BYE Session invalidated -
        // AccessTokenExpired`); RFC 9051 §7.1.5, §7.1 ALERT.
        ReadStop::Expired => b"* BYE [ALERT] access token expired\r\n",
        ReadStop::Revoked => b"* BYE [ALERT] access revoked; sign in again\r\n",
        ReadStop::Closed => return,
        ReadStop::Io(e) => return tracing::debug!(error = %e, "connection error"),
    };
    let _ = conn.write_all(text).await;
    conn.close().await;
}
