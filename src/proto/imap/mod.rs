//! The IMAP command codec: bytes in, typed commands out; no I/O, no storage.
//!
//! Three layers, each speaking only to its neighbour:
//! 1. [`CommandFramer`] splits the client stream into whole commands, asks
//!    for `+` continuations on synchronizing literals, and enforces the line,
//!    literal and command size limits (RFC 9051 §2.2, §7.5; RFC 7888).
//! 2. [`parse_command`] turns one framed command into a [`Command`]
//!    (RFC 9051 §9 grammar, with the IMAP4rev1 forms of RFC 3501 §9 and the
//!    extensions listed in shared/RFCS.md). Errors carry the tag and a
//!    client-safe message for `tag BAD message`.
//! 3. [`encode`] writes strings, mailbox names and flag lists into responses.
//!
//! The parsers are written with nom, one function per ABNF rule, named after
//! the rule and quoting it in the doc comment. Recursion exists only in
//! SEARCH keys, bounded by [`MAX_SEARCH_DEPTH`]; every other repetition is a
//! loop. Nothing here panics on any input (see the `fuzz/fuzz_targets/imap_command.rs`
//! target and the mutation test in `tests.rs`).
//!
//! Not supported (refused with BAD): LIST option values, SEARCH `FUZZY`
//! and other extension keys not listed in `items.rs`.

mod datetime;
pub mod encode;
mod fetch;
mod framing;
mod items;
mod list;
mod mailbox;
pub mod mutf7;
mod notify;
mod parser;
mod primitives;
mod search;
mod sequence;
mod sort;
mod store;
mod strings;
mod types;

#[cfg(test)]
mod tests;

pub use datetime::{Date, DateTime};
pub use fetch::parse_section;
pub use framing::{CommandFramer, FrameError, Framed, FramerLimits, read_line};
pub use items::{
    FetchAttr, Flag, ListReturn, ListSelect, SearchKey, SearchReturn, Section, SectionText,
    SortCriterion, SortKey, StatusItem, StoreMode, ThreadAlgorithm,
};
pub use mailbox::MAX_APPEND_PARTS;
pub use notify::{Event, EventGroup, MailboxFilter, NotifySpec};
pub use parser::parse_command;
pub use search::MAX_SEARCH_DEPTH;
pub use sequence::{SeqBound, SeqRange, SequenceSet};
pub use types::{
    AppendData, AppendMessage, CatenatePart, Command, CommandBody, ParseError, QresyncParams,
    SelectParams,
};
