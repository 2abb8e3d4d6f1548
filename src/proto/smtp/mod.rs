//! The SMTP submission codec: command lines in, replies out, and the
//! message text after DATA. No I/O, no tokio, no storage.
//!
//! - [`parse_command`] turns one line (without CRLF) into a [`Command`]
//!   (RFC 5321 §4.1.1, RFC 6409, RFC 4954 §4, RFC 3030 §2, RFC 3207 §4,
//!   RFC 2033 §4.1), with the parameters of SIZE (RFC 1870), BODY
//!   (RFC 6152, RFC 3030) and SMTPUTF8 (RFC 6531) decoded; a
//!   [`SyntaxError`] knows its 500/501 [`Reply`].
//! - [`Reply`] writes single and multi-line replies with enhanced status
//!   codes (RFC 5321 §4.2, RFC 2034, RFC 3463).
//! - [`DataReader`] reads the text after DATA incrementally: dot-unstuffing,
//!   canonical CRLF, line and size limits, and only `<CRLF>.<CRLF>` as the
//!   end (RFC 5321 §4.1.1.4, §4.5.2, §4.5.3.1).
//!
//! Line framing (finding CRLF, the command-line limit of RFC 5321
//! §4.5.3.1.4, BDAT chunks) and the session state machine live elsewhere;
//! pipelining (RFC 2920) works because every parser here takes exactly one
//! line and [`DataReader`] stops at the terminator.

mod address;
mod command;
mod data;
mod params;
mod reply;

pub use address::{MAX_DOMAIN_LEN, MAX_MAILBOX_LEN};
pub use command::{Command, ReversePath, SyntaxError, SyntaxErrorKind, parse_command};
pub use data::{DataEnd, DataProgress, DataReader, RFC_MAX_LINE_LEN};
pub use params::{Body, MailParams};
pub use reply::Reply;
