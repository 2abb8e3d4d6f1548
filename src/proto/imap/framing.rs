//! Splitting the client's byte stream into whole commands (RFC 9051 §2.2,
//! §4.3, §7.5; LITERAL+/LITERAL-, RFC 7888).
//!
//! An IMAP command is a line, unless that line ends in a literal
//! announcement `{n}`, `{n+}` or `~{n}`: then `n` bytes of literal data
//! follow, and after them the command goes on with another line. The
//! [`CommandFramer`] does no I/O: the driver appends what it reads to a
//! buffer and calls [`CommandFramer::feed`] until it answers
//! [`Framed::Incomplete`].
//!
//! # Resynchronization after an error
//! Every [`Framed::Error`] drops the command under way; the driver answers
//! it (`BAD`, or `NO` for a literal over the limit) and keeps feeding.
//! The framer then skips what the client will still send for that command:
//! - [`FrameError::LineTooLong`]: the rest of the line, through its LF. If the
//!   skipped line ends in a non-synchronizing `{n+}`, those `n` bytes and the
//!   lines after them are skipped as well, up to the end of the command.
//! - [`FrameError::LiteralTooLarge`] / [`FrameError::CommandTooLong`] for a
//!   synchronizing `{n}`: nothing, since no continuation is sent the client
//!   sends no literal; the next line is a new command.
//! - the same for a non-synchronizing `{n+}` (or `~{n+}`): the `n` bytes the
//!   client sends anyway, then the rest of that command as above.
//!
//! Empty lines between commands are ignored.

use super::primitives::is_tag_char;

/// The sizes a client controls; every one is capped (STYLE.md principle 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerLimits {
    /// Longest line, without its CRLF; a line is the text between literals.
    pub max_line: usize,
    /// Largest single literal.
    pub max_literal: u64,
    /// Largest whole command: lines, line ends and literals together.
    pub max_command: u64,
}

impl Default for FramerLimits {
    /// 64 KiB lines, 64 MiB literals, 65 MiB commands.
    fn default() -> Self {
        FramerLimits {
            max_line: 64 * 1024,
            max_literal: 64 << 20,
            max_command: 65 << 20,
        }
    }
}

/// What [`CommandFramer::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// More bytes are needed; `buf` has been consumed entirely.
    Incomplete,
    /// A synchronizing literal `{n}` was announced and accepted: send
    /// `+ Ready for literal data\r\n`, then keep feeding.
    NeedContinuation {
        /// The announced length.
        literal_len: u64,
    },
    /// One whole command, for [`super::parse_command`].
    Complete(Vec<u8>),
    /// The command was dropped; see the module docs for what is skipped next.
    Error(FrameError),
}

/// Why a command was dropped by the framer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A line exceeded `max_line` (answer `* BAD`, no tag is known reliably).
    LineTooLong,
    /// A literal exceeded `max_literal` (answer `tag NO [TOOBIG]` or `BAD`).
    LiteralTooLarge {
        /// The command's tag, if its first line had a readable one.
        tag: Option<String>,
        /// The announced length.
        len: u64,
    },
    /// The command as a whole exceeded `max_command`.
    CommandTooLong,
}

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Announcement {
    /// Length; `u64::MAX` when the digits overflow.
    len: u64,
    /// `{n}` (true) rather than `{n+}`.
    sync: bool,
}

/// Where the framer is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a line into `line`.
    Line,
    /// Copying `remaining` literal bytes into `command`.
    Literal { remaining: u64 },
    /// Dropping the rest of a rejected command's line; `line` keeps only its
    /// last bytes, to see whether it ends in a `{n+}`.
    DiscardLine,
    /// Dropping a rejected command's non-synchronizing literal.
    DiscardLiteral { remaining: u64 },
}

/// How many trailing bytes of a discarded line are kept: enough for
/// `~{` + 20 digits + `+}\r`.
const TAIL: usize = 32;

/// An incremental, I/O-free splitter of the client stream into commands.
#[derive(Debug)]
pub struct CommandFramer {
    limits: FramerLimits,
    state: State,
    /// The command so far (previous lines and literals).
    command: Vec<u8>,
    /// The line being collected, or the tail of a discarded line.
    line: Vec<u8>,
}

impl CommandFramer {
    /// A framer at the start of a command.
    pub fn new(limits: FramerLimits) -> Self {
        CommandFramer {
            limits,
            state: State::Line,
            command: Vec::new(),
            line: Vec::new(),
        }
    }

    /// Replaces the limits for what follows (a command already under way
    /// keeps the literal lengths it was granted): IMAP allows larger
    /// literals once the client has logged in.
    pub fn set_limits(&mut self, limits: FramerLimits) {
        self.limits = limits;
    }

    /// Drops any partial command (e.g. plaintext buffered before STARTTLS
    /// took effect, which must never be executed: CVE-2011-0411).
    pub fn reset(&mut self) {
        *self = CommandFramer::new(self.limits);
    }

    /// Discards input through the next LF, as after a [`read_line`] error.
    pub fn skip_line(&mut self) {
        self.reset();
        self.state = State::DiscardLine;
    }

    /// Whether part of a command has been consumed and not yet returned.
    pub fn is_mid_command(&self) -> bool {
        !(self.state == State::Line && self.command.is_empty() && self.line.is_empty())
    }

    /// Consumes bytes from the front of `buf` and reports the next event.
    /// Call again until it answers [`Framed::Incomplete`].
    pub fn feed(&mut self, buf: &mut Vec<u8>) -> Framed {
        loop {
            match self.state {
                State::Line => {
                    if let Some(event) = self.feed_line(buf) {
                        return event;
                    }
                }
                State::Literal { remaining } => {
                    let n = take_len(buf, remaining);
                    self.command.extend(buf.drain(..n));
                    if let Some(left) = self.continue_literal(remaining, n, false) {
                        self.state = State::Literal { remaining: left };
                        return Framed::Incomplete;
                    }
                }
                State::DiscardLiteral { remaining } => {
                    let n = take_len(buf, remaining);
                    buf.drain(..n);
                    if let Some(left) = self.continue_literal(remaining, n, true) {
                        self.state = State::DiscardLiteral { remaining: left };
                        return Framed::Incomplete;
                    }
                }
                State::DiscardLine => {
                    let nl = buf.iter().position(|&b| b == b'\n');
                    let end = nl.unwrap_or(buf.len());
                    self.line
                        .extend_from_slice(&buf[end.saturating_sub(TAIL)..end]);
                    let excess = self.line.len().saturating_sub(TAIL);
                    self.line.drain(..excess);
                    buf.drain(..nl.map_or(end, |p| p + 1));
                    if nl.is_none() {
                        return Framed::Incomplete;
                    }
                    let ann = announcement(&self.line);
                    self.line.clear();
                    self.state = after_rejected(ann);
                }
            }
        }
    }

    /// After `n` of `remaining` literal bytes: `Some(left)` while bytes are
    /// missing, else switches to the line after the literal.
    fn continue_literal(&mut self, remaining: u64, n: usize, discard: bool) -> Option<u64> {
        let left = remaining - n as u64;
        if left > 0 {
            return Some(left);
        }
        self.state = if discard {
            State::DiscardLine
        } else {
            State::Line
        };
        None
    }

    /// One step in the `Line` state; `None` to keep looping.
    fn feed_line(&mut self, buf: &mut Vec<u8>) -> Option<Framed> {
        let nl = buf.iter().position(|&b| b == b'\n');
        let take = nl.map_or(buf.len(), |p| p + 1);
        // +2 leaves room for the CRLF; the exact check is below.
        if self.line.len() + take > self.limits.max_line.saturating_add(2) {
            self.command.clear();
            let excess = self.line.len().saturating_sub(TAIL);
            self.line.drain(..excess);
            self.state = State::DiscardLine;
            return Some(Framed::Error(FrameError::LineTooLong));
        }
        self.line.extend(buf.drain(..take));
        if nl.is_none() {
            return Some(Framed::Incomplete);
        }
        let line = std::mem::take(&mut self.line);
        let text = strip_eol(&line);
        if self.command.is_empty() && text.is_empty() {
            return None;
        }
        let ann = announcement(&line);
        if text.len() > self.limits.max_line {
            return Some(self.reject(FrameError::LineTooLong, ann));
        }
        let total = (self.command.len() + line.len()) as u64;
        if total > self.limits.max_command {
            return Some(self.reject(FrameError::CommandTooLong, ann));
        }
        self.command.extend_from_slice(&line);
        let Some(ann) = ann else {
            return Some(Framed::Complete(std::mem::take(&mut self.command)));
        };
        if ann.len > self.limits.max_literal {
            let tag = command_tag(&self.command);
            return Some(self.reject(FrameError::LiteralTooLarge { tag, len: ann.len }, Some(ann)));
        }
        if total.saturating_add(ann.len) > self.limits.max_command {
            return Some(self.reject(FrameError::CommandTooLong, Some(ann)));
        }
        self.state = State::Literal { remaining: ann.len };
        if ann.sync {
            return Some(Framed::NeedContinuation {
                literal_len: ann.len,
            });
        }
        None
    }

    /// Drops the command and arranges to skip what the client still sends.
    fn reject(&mut self, error: FrameError, ann: Option<Announcement>) -> Framed {
        self.command.clear();
        self.line.clear();
        self.state = after_rejected(ann);
        Framed::Error(error)
    }
}

/// The state after a rejected command's line that ended with `ann`: only a
/// non-synchronizing literal is still coming.
fn after_rejected(ann: Option<Announcement>) -> State {
    match ann {
        Some(Announcement { len, sync: false }) => State::DiscardLiteral { remaining: len },
        _ => State::Line,
    }
}

/// How many of `remaining` bytes `buf` can supply now.
fn take_len(buf: &[u8], remaining: u64) -> usize {
    usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()))
}

/// A line without its LF or CRLF.
fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `literal = "{" number64 ["+"] "}" CRLF`, `literal8 = "~{" number64 ["+"] "}" CRLF`
/// (RFC 9051 §9, RFC 7888 §8): whether `line` ends in a literal announcement.
/// Atoms cannot contain `{` and a quoted string would end in `"`, so a
/// trailing `{digits}` is always a literal in a well-formed command.
fn announcement(line: &[u8]) -> Option<Announcement> {
    let text = strip_eol(line).strip_suffix(b"}")?;
    let (text, sync) = match text.strip_suffix(b"+") {
        Some(t) => (t, false),
        None => (text, true),
    };
    let open = text.iter().rposition(|&b| b == b'{')?;
    let digits = &text[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    Some(Announcement {
        len: len.unwrap_or(u64::MAX),
        sync,
    })
}

/// The tag at the start of a command, if it is a valid one.
fn command_tag(command: &[u8]) -> Option<String> {
    let end = command.iter().position(|&b| !is_tag_char(b))?;
    (end > 0 && command[end] == b' ').then(|| super::primitives::ascii_string(&command[..end]))
}

/// Reads one line, for AUTHENTICATE continuation responses and IDLE's `DONE`
/// (RFC 9051 §6.2.2, RFC 2177 §3). Returns the line without its CRLF (or LF),
/// `Ok(None)` if no whole line is buffered yet.
///
/// A line longer than `max` is an error. If its LF was already buffered the
/// whole line is consumed; otherwise `buf` is cleared and the rest of the
/// line is still to come: call [`CommandFramer::skip_line`] so it is dropped.
///
/// # Errors
/// [`FrameError::LineTooLong`] as described above.
pub fn read_line(buf: &mut Vec<u8>, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(p) => {
            let mut line: Vec<u8> = buf.drain(..=p).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                Err(FrameError::LineTooLong)
            } else {
                Ok(Some(line))
            }
        }
        // +1: a CR may be waiting for its LF.
        None if buf.len() > max.saturating_add(1) => {
            buf.clear();
            Err(FrameError::LineTooLong)
        }
        None => Ok(None),
    }
}
