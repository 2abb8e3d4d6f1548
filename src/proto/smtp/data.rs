//! The message text after DATA: an incremental, I/O-free reader that finds
//! the end `<CRLF>.<CRLF>`, undoes dot-stuffing and enforces the limits
//! (RFC 5321 §4.1.1.4, §4.5.2, §4.5.3.1.6, §4.5.3.1.7).
//!
//! # Line endings and SMTP smuggling
//!
//! Only `<CRLF>.<CRLF>` ends the message; the start of DATA counts as
//! following a CRLF, so a first line of "." is an empty message. A bare LF
//! or a bare CR (one not part of CRLF) is stored as CRLF, so the stored
//! message has canonical line endings, and `<LF>.<LF>`, `<LF>.<CRLF>`,
//! `<CRLF>.<LF>` or `<CR>.<CR>` never end it: they are the sequences used
//! to smuggle a second message past servers that disagree on where DATA
//! ends. A bare line break does start a new line for dot-unstuffing.
//!
//! # Streaming
//!
//! [`DataReader::feed_into`] appends to a buffer the caller owns, which it
//! may flush to disk and clear between calls; [`DataReader::feed`] keeps
//! the text in the reader instead. The reader never buffers input: every
//! byte fed before the terminator is consumed at once.

/// The longest text line RFC 5321 §4.5.3.1.6 lets a client send,
/// including its CRLF.
pub const RFC_MAX_LINE_LEN: usize = 1000;

/// How the message ended, once `<CRLF>.<CRLF>` has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEnd {
    /// Within the limits; the output is the whole message.
    Complete,
    /// The message passed the size limit: answer 552 5.3.4 (RFC 1870 §6.3,
    /// RFC 5321 §4.5.3.1.10). The output is cut at the limit (or earlier,
    /// at a too-long line); discard it.
    TooLarge,
    /// A line passed the line limit: answer 5xx (RFC 5321 §4.5.3.1.6,
    /// §4.5.3.1.10). The output is cut inside that line, at the limit;
    /// discard it. `TooLarge` wins when both happened.
    LineTooLong,
}

/// What one [`DataReader::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataProgress {
    /// Input bytes used. Equals the input's length while `end` is `None`;
    /// once the terminator is seen it counts up to and including its final
    /// LF, and the bytes after it are the client's next commands
    /// (RFC 2920 §3.1).
    pub consumed: usize,
    /// `Some` once the terminator has been read.
    pub end: Option<DataEnd>,
}

/// Where the reader is within a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line; `hard` when the previous line ended in a
    /// real CRLF (or at the start of the message), so a "." line here is
    /// the terminator.
    LineStart { hard: bool },
    /// Read a "." at the start of a line, not yet stored.
    Dot { hard: bool },
    /// Read "." CR at the start of a line.
    DotCr { hard: bool },
    /// Inside a line.
    Mid,
    /// Read a CR inside a line, not yet stored.
    Cr,
    /// Read the terminator.
    Done(DataEnd),
}

/// An incremental reader of the text after DATA (RFC 5321 §4.1.1.4).
///
/// Feed it the bytes as they arrive; it writes the unstuffed message with
/// CRLF line endings (the CRLF before the final "." belongs to the message,
/// RFC 5321 §4.1.1.4) and says when the terminator has been seen. After a
/// limit is passed it stores nothing more but keeps reading to the
/// terminator, so the session can answer after the dot and stay in step.
#[derive(Debug, Clone)]
pub struct DataReader {
    /// Where the reader is within a line.
    state: State,
    /// Longest line allowed as sent, CRLF included.
    max_line_len: usize,
    /// Largest message allowed, as stored.
    max_size: u64,
    /// Octets of the current line as sent so far, CRLF excluded.
    line_len: usize,
    /// Octets of the message as stored so far, counted past the limit.
    size: u64,
    /// `size` passed `max_size`; nothing more is stored.
    too_large: bool,
    /// A line passed `max_line_len`; nothing more is stored.
    line_too_long: bool,
    /// The stored message when fed through [`DataReader::feed`].
    output: Vec<u8>,
}

impl DataReader {
    /// A reader for one message. `max_line_len` counts the octets of a line
    /// as sent, dot-stuffing and CRLF included ([`RFC_MAX_LINE_LEN`] is the
    /// RFC's; `usize::MAX` turns the check off). `max_size` counts the
    /// octets of the stored message, after unstuffing, CRLFs included
    /// (the SIZE limit of RFC 1870).
    pub fn new(max_line_len: usize, max_size: u64) -> Self {
        DataReader {
            state: State::LineStart { hard: true },
            max_line_len,
            max_size,
            line_len: 0,
            size: 0,
            too_large: false,
            line_too_long: false,
            output: Vec::new(),
        }
    }

    /// Reads `input`, storing the message in the reader's own buffer
    /// ([`DataReader::output`], [`DataReader::take_output`]).
    pub fn feed(&mut self, input: &[u8]) -> DataProgress {
        let mut output = std::mem::take(&mut self.output);
        let progress = self.feed_into(input, &mut output);
        self.output = output;
        progress
    }

    /// Reads `input`, appending the message text to `out`. After the
    /// terminator it consumes nothing and repeats how the message ended.
    pub fn feed_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> DataProgress {
        let mut i = 0;
        loop {
            if let State::Done(end) = self.state {
                return DataProgress {
                    consumed: i,
                    end: Some(end),
                };
            }
            let Some(&byte) = input.get(i) else {
                return DataProgress {
                    consumed: i,
                    end: None,
                };
            };
            if self.state == State::Mid {
                let run = input[i..].iter().position(|&b| b == b'\r' || b == b'\n');
                let run = run.unwrap_or(input.len() - i);
                if run > 0 {
                    self.content(&input[i..i + run], out);
                    i += run;
                    continue;
                }
            }
            if self.step(byte, out) {
                i += 1;
            }
        }
    }

    /// The message stored by [`DataReader::feed`] so far.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Takes the message stored by [`DataReader::feed`] so far, leaving the
    /// reader's buffer empty (to stream it out piece by piece).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Octets of the message read so far, after unstuffing, counted on past
    /// the size limit.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True once the terminator has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Handles one byte outside the fast path of [`State::Mid`]. Returns
    /// false when the byte must be read again in the new state.
    fn step(&mut self, byte: u8, out: &mut Vec<u8>) -> bool {
        match (self.state, byte) {
            (State::LineStart { hard }, b'.') => {
                self.count_line(1);
                self.state = State::Dot { hard };
            }
            (State::LineStart { .. } | State::Mid, b'\r') => self.state = State::Cr,
            (State::LineStart { .. } | State::Mid, b'\n') => self.line_break(false, out),
            (State::LineStart { .. } | State::Mid, _) => {
                self.content(&[byte], out);
                self.state = State::Mid;
            }
            (State::Dot { hard }, b'\r') => self.state = State::DotCr { hard },
            (State::Dot { .. }, b'\n') => {
                self.store(b".", out);
                self.line_break(false, out);
            }
            // RFC 5321 §4.5.2: a leading "." with more on the line is dropped.
            (State::Dot { .. }, _) => {
                self.state = State::Mid;
                return false;
            }
            (State::DotCr { hard: true }, b'\n') => self.state = State::Done(self.outcome()),
            (State::DotCr { hard: false }, b'\n') => {
                self.store(b".", out);
                self.line_break(true, out);
            }
            (State::DotCr { .. }, _) => {
                self.store(b".", out);
                self.line_break(false, out);
                return false;
            }
            (State::Cr, b'\n') => self.line_break(true, out),
            (State::Cr, _) => {
                self.line_break(false, out);
                return false;
            }
            (State::Done(_), _) => return false,
        }
        true
    }

    /// Ends the current line with a stored CRLF; `hard` when the client
    /// sent a real CRLF.
    fn line_break(&mut self, hard: bool, out: &mut Vec<u8>) {
        self.store(b"\r\n", out);
        self.line_len = 0;
        self.state = State::LineStart { hard };
    }

    /// Stores line content, counting it against the line limit. Only the
    /// part within the limit is stored, so what is stored does not depend
    /// on how the input was split.
    fn content(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let room = self
            .max_line_len
            .saturating_sub(2)
            .saturating_sub(self.line_len);
        let (fits, over) = bytes.split_at(bytes.len().min(room));
        self.count_line(fits.len());
        self.store(fits, out);
        if !over.is_empty() {
            self.count_line(over.len());
            self.store(over, out);
        }
    }

    /// Counts octets of the current line as sent; two more are left for
    /// its CRLF (RFC 5321 §4.5.3.1.6).
    fn count_line(&mut self, n: usize) {
        self.line_len = self.line_len.saturating_add(n);
        if self.line_len > self.max_line_len.saturating_sub(2) {
            self.line_too_long = true;
        }
    }

    /// Appends message octets to `out` up to the first limit passed,
    /// counting all of them.
    fn store(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if !self.too_large && !self.line_too_long {
            let room =
                usize::try_from(self.max_size.saturating_sub(self.size)).unwrap_or(usize::MAX);
            out.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.size > self.max_size {
            self.too_large = true;
        }
    }

    /// How the message ends, given the limits passed on the way.
    fn outcome(&self) -> DataEnd {
        if self.too_large {
            DataEnd::TooLarge
        } else if self.line_too_long {
            DataEnd::LineTooLong
        } else {
            DataEnd::Complete
        }
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
