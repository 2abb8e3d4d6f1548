//! Fuzzes the SMTP codec: `parse_command` on every line of arbitrary bytes,
//! and `DataReader` fed the same bytes whole and in uneven chunks. Nothing
//! may panic; chunking must not change what the reader consumes, stores or
//! reports; a complete message has only CRLF line endings and no line over
//! the limit. The MX's removal of forged `Authentication-Results` fields
//! runs on the same bytes: it only ever removes, never one of another
//! authserv-id, and a second pass finds nothing more.

use tokenmail::proto::smtp::{DataEnd, DataReader, parse_command};
use tokenmail::session::smtp::sender_auth::strip_ours;

const MAX_LINE: usize = 40;
const MAX_SIZE: u64 = 2048;

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let _ = parse_command(data);
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match parse_command(line) {
            Ok(command) => assert!(!command.verb().is_empty()),
            Err(e) => assert!(!e.reply().to_bytes().is_empty()),
        }
    }

    // The first byte picks the chunk size, so splits land everywhere.
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(seed % 16) + 1;
    let mut whole = DataReader::new(MAX_LINE, MAX_SIZE);
    let once = whole.feed(input);
    let mut pieces = DataReader::new(MAX_LINE, MAX_SIZE);
    let (mut consumed, mut end) = (0, None);
    for piece in input.chunks(chunk) {
        let progress = pieces.feed(piece);
        consumed += progress.consumed;
        if progress.end.is_some() {
            end = progress.end;
            break;
        }
        assert_eq!(progress.consumed, piece.len());
    }
    assert_eq!((consumed, end), (once.consumed, once.end));
    assert_eq!(whole.output(), pieces.output());
    assert!(whole.output().len() as u64 <= MAX_SIZE);

    if once.end == Some(DataEnd::Complete) {
        let out = whole.output();
        for (n, &b) in out.iter().enumerate() {
            if b == b'\n' {
                assert!(n > 0 && out[n - 1] == b'\r', "bare LF stored");
            }
            if b == b'\r' {
                assert_eq!(out.get(n + 1), Some(&b'\n'), "bare CR stored");
            }
        }
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() < MAX_LINE, "line over the limit stored");
        }
    }
    let stripped = strip_ours(data, "mx.example.test");
    assert!(stripped.len() <= data.len());
    assert_eq!(strip_ours(&stripped, "mx.example.test"), stripped);
}
