//! Fuzzes the IMAP command codec: the parser on arbitrary bytes, and the
//! framer fed the same bytes in uneven chunks under small limits, with every
//! framed command parsed too. Neither may panic, and the framer must always
//! consume what it is given.

use tokenmail::proto::imap::{CommandFramer, Framed, FramerLimits, parse_command, read_line};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let _ = parse_command(data);

    // The first byte picks the chunk size, so splits land everywhere.
    let (chunk, input) = match data.split_first() {
        Some((&c, rest)) => (usize::from(c % 32) + 1, rest),
        None => return,
    };
    let limits = FramerLimits {
        max_line: 64,
        max_literal: 32,
        max_command: 256,
    };
    let mut framer = CommandFramer::new(limits);
    let mut buf = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        // Each event consumes input or changes state, so this is bounded;
        // the cap only guards against a framer bug turning into a hang.
        for _ in 0..=input.len() + 1 {
            match framer.feed(&mut buf) {
                Framed::Incomplete => break,
                Framed::Complete(command) => {
                    let _ = parse_command(&command);
                }
                Framed::NeedContinuation { literal_len } => assert!(literal_len <= 32),
                Framed::Error(_) => {}
            }
        }
        assert!(
            buf.is_empty(),
            "Incomplete must mean the buffer was used up"
        );
    }

    let mut rest = input.to_vec();
    while let Ok(Some(_)) = read_line(&mut rest, 16) {}
}
