//! Known-answer tests from the examples of RFC 3501 §6, RFC 9051 §6 and the
//! extension RFCs; negative tests; framing; and a mutation test that stands
//! in for the fuzzer in `cargo test`.

use super::*;
use crate::proto::secret::Secret;

fn parse(s: &str) -> CommandBody {
    match parse_command(s.as_bytes()) {
        Ok(c) => c.body,
        Err(e) => panic!("{s:?}: {e:?}"),
    }
}

fn parse_err(s: &[u8]) -> ParseError {
    match parse_command(s) {
        Ok(c) => panic!("{s:?} parsed as {c:?}"),
        Err(e) => e,
    }
}

fn set(s: &str) -> SequenceSet {
    // Parsed through a command so the test does not reach into private parsers.
    match parse(&format!("t UID EXPUNGE {s}\r\n")) {
        CommandBody::UidExpunge(set) => set,
        other => panic!("{other:?}"),
    }
}

fn date(year: i32, month: u32, day: u32) -> Date {
    Date { year, month, day }
}

mod any_state;
mod framer;
mod mailboxes;
mod messages;
mod mutation;
mod negative;
