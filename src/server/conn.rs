//! The buffered connection both protocol drivers use: a [`Stream`], the
//! bytes read but not yet consumed, and the STARTTLS switch.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::deflate::Deflate;
use crate::account::revocation::SessionAuthority;
use super::tls::Stream;

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadStop {
    /// The peer closed the connection.
    Closed,
    /// Nothing arrived within the idle limit.
    Timeout,
    /// The server is shutting down.
    Shutdown,
    /// The session's authority ended (its token expired).
    Expired,
    /// The session's credential was revoked: "sign out everywhere", or its
    /// app password (docs/accounts.md).
    Revoked,
    /// A socket error.
    Io(io::Error),
}

/// What [`Connection::take_line`] found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its CRLF (or bare LF).
    Complete(Vec<u8>),
    /// No line end yet: read more.
    Incomplete,
    /// The line is longer than allowed; its bytes are being discarded up to
    /// the next line end, and this is reported once.
    TooLong,
}

/// Spare room made in the read buffer before each read.
const READ_ROOM: usize = 4096;

/// A client connection with its read buffer.
pub struct Connection {
    stream: Option<Stream>,
    /// Bytes read and not yet consumed by the framer.
    pub buf: Vec<u8>,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    shutdown: watch::Receiver<bool>,
    /// COMPRESS=DEFLATE, once started (RFC 4978).
    deflate: Option<Deflate>,
    /// When the session's login stops being valid: reads end then.
    deadline: Option<tokio::time::Instant>,
    /// How long a STARTTLS handshake and each write may take.
    timeouts: Timeouts,
    /// What the session logged in with, and whether it still may go on.
    authority: Option<SessionAuthority>,
}

/// The time limits of a connection's handshakes and writes (`[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `tls_handshake_secs`.
    pub handshake: Duration,
    /// `write_timeout_secs`: a client that does not read what it asked for
    /// within this is dropped, so it cannot hold a session's task forever.
    pub write: Duration,
}

impl Timeouts {
    /// From the configured limits.
    pub fn of(limits: &crate::config::Limits) -> Timeouts {
        Timeouts {
            handshake: Duration::from_secs(limits.tls_handshake_secs),
            write: Duration::from_secs(limits.write_timeout_secs),
        }
    }
}

impl Connection {
    /// Wraps a stream.
    pub fn new(stream: Stream, shutdown: watch::Receiver<bool>, timeouts: Timeouts) -> Self {
        Connection {
            stream: Some(stream),
            buf: Vec::with_capacity(4096),
            discarding: false,
            shutdown,
            deflate: None,
            deadline: None,
            timeouts,
            authority: None,
        }
    }

    /// Compresses both directions from now on (RFC 4978 §3). Bytes already
    /// read were sent before the switch, so they stay as they are.
    pub fn start_deflate(&mut self) {
        self.deflate = Some(Deflate::new());
    }

    /// True when TLS is active.
    pub fn is_tls(&self) -> bool {
        self.stream.as_ref().is_some_and(Stream::is_tls)
    }

    fn stream(&mut self) -> io::Result<&mut Stream> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::other("connection is closed"))
    }

    /// Takes one line of at most `max` bytes from the buffer.
    pub fn take_line(&mut self, max: usize) -> Line {
        let newline = self.buf.iter().position(|&b| b == b'\n');
        if self.discarding {
            match newline {
                Some(p) => {
                    self.buf.drain(..=p);
                    self.discarding = false;
                    return self.take_line(max);
                }
                None => {
                    self.buf.clear();
                    return Line::Incomplete;
                }
            }
        }
        match newline {
            Some(p) if p <= max + 1 => {
                let mut line: Vec<u8> = self.buf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Line::Complete(line)
            }
            Some(p) => {
                self.buf.drain(..=p);
                Line::TooLong
            }
            None if self.buf.len() > max + 1 => {
                self.buf.clear();
                self.discarding = true;
                Line::TooLong
            }
            None => Line::Incomplete,
        }
    }

    /// Reads one line of at most `max` bytes, waiting at most `idle` for
    /// each read; `Ok(None)` when the line was too long (it is discarded).
    pub async fn read_line(
        &mut self,
        max: usize,
        idle: Duration,
    ) -> Result<Option<Vec<u8>>, ReadStop> {
        loop {
            match self.take_line(max) {
                Line::Complete(line) => return Ok(Some(line)),
                Line::TooLong => return Ok(None),
                Line::Incomplete => {
                    self.fill(idle).await?;
                }
            }
        }
    }

    /// Ends every later read with [`ReadStop::Expired`] at `unix_secs`
    /// (a token's `valid_until`): the wait for a client ends then, also in
    /// IDLE.
    pub fn set_deadline(&mut self, unix_secs: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let left = Duration::from_secs(unix_secs.saturating_sub(now).max(0) as u64);
        self.deadline = tokio::time::Instant::now().checked_add(left);
    }

    /// Ends every later read with [`ReadStop::Revoked`] once `authority`
    /// is withdrawn, also in IDLE.
    pub fn set_authority(&mut self, authority: SessionAuthority) {
        self.authority = Some(authority);
    }

    /// Why the session may not go on, if it may not: its token expired or
    /// its credential was revoked. A command that arrives then is not run.
    pub fn ended(&self) -> Option<ReadStop> {
        if self.expired() {
            Some(ReadStop::Expired)
        } else if self.authority.as_ref().is_some_and(|a| !a.admitted()) {
            Some(ReadStop::Revoked)
        } else {
            None
        }
    }

    /// Whether the deadline of [`Self::set_deadline`] has passed.
    pub fn expired(&self) -> bool {
        self.deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
    }

    /// Reads more bytes into `buf`, waiting at most `idle`.
    pub async fn fill(&mut self, idle: Duration) -> Result<usize, ReadStop> {
        if let Some(stop) = self.ended() {
            return Err(stop);
        }
        // A large command (an APPEND) grew the buffer; an idle connection
        // should not keep that memory.
        if self.buf.is_empty() && self.buf.capacity() > 256 * 1024 {
            self.buf = Vec::with_capacity(4096);
        }
        // Compressed input already here comes first.
        if let Some(d) = self.deflate.as_mut()
            && d.has_pending()
        {
            let n = d
                .inflate(&mut self.buf)
                .map_err(|_| ReadStop::Io(io::Error::other("corrupt DEFLATE stream")))?;
            if n > 0 {
                return Ok(n);
            }
        }
        let mut shutdown = self.shutdown.clone();
        if *shutdown.borrow() {
            return Err(ReadStop::Shutdown);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(ReadStop::Io(io::Error::other("connection is closed")));
        };
        // Read straight into the buffer's spare room (compressed input into
        // the decompressor's), so a connection waiting here holds no read
        // chunk of its own: 10,000 idle sessions cost 10,000 small buffers.
        let target = match self.deflate.as_mut() {
            Some(d) => d.input(),
            None => &mut self.buf,
        };
        target.reserve(READ_ROOM);
        let deadline = self.deadline;
        let expiry = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let authority = self.authority.as_mut();
        let revoked = async move {
            match authority {
                Some(a) => a.revoked().await,
                None => std::future::pending().await,
            }
        };
        let n = tokio::select! {
            r = tokio::time::timeout(idle, stream.read_buf(target)) => match r {
                Err(_) => return Err(ReadStop::Timeout),
                Ok(Err(e)) => return Err(ReadStop::Io(e)),
                Ok(Ok(0)) => return Err(ReadStop::Closed),
                Ok(Ok(n)) => n,
            },
            _ = shutdown.changed() => return Err(ReadStop::Shutdown),
            () = expiry => return Err(ReadStop::Expired),
            () = revoked => return Err(ReadStop::Revoked),
        };
        match self.deflate.as_mut() {
            Some(d) => d
                .inflate(&mut self.buf)
                .map_err(|_| ReadStop::Io(io::Error::other("corrupt DEFLATE stream"))),
            None => Ok(n),
        }
    }

    /// Writes and flushes `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let compressed;
        let bytes = match self.deflate.as_mut() {
            Some(d) => {
                compressed = d.deflate(bytes);
                &compressed[..]
            }
            None => bytes,
        };
        let limit = self.timeouts.write;
        let stream = self.stream()?;
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(limit, write).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read for write_timeout_secs",
            )),
        }
    }

    /// Performs the STARTTLS handshake. Whatever the client sent after the
    /// STARTTLS command in cleartext is discarded first, never executed
    /// inside TLS (CVE-2011-0411, RFC 3207 §4.2, RFC 9051 §6.2.1).
    pub async fn start_tls(&mut self, acceptor: &tokio_rustls::TlsAcceptor) -> io::Result<()> {
        self.buf.clear();
        self.discarding = false;
        let stream = self
            .stream
            .take()
            .ok_or_else(|| io::Error::other("connection is closed"))?;
        match tokio::time::timeout(self.timeouts.handshake, stream.upgrade(acceptor)).await {
            Ok(upgraded) => self.stream = Some(upgraded?),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake took longer than tls_handshake_secs",
                ));
            }
        }
        Ok(())
    }

    /// Closes the write side politely.
    pub async fn close(&mut self) {
        if let Some(s) = self.stream.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.shutdown()).await;
        }
    }
}
