//! The framer: lines, literals split across reads, LITERAL+, limits and
//! resynchronization; and `read_line`.

use super::*;

fn small() -> FramerLimits {
    FramerLimits {
        max_line: 64,
        max_literal: 100,
        max_command: 300,
    }
}

/// Feeds `chunks` one after the other, collecting every event but
/// `Incomplete`.
fn run(limits: FramerLimits, chunks: &[&[u8]]) -> Vec<Framed> {
    let mut framer = CommandFramer::new(limits);
    let mut buf = Vec::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match framer.feed(&mut buf) {
                Framed::Incomplete => break,
                e => events.push(e),
            }
        }
        assert!(
            buf.is_empty(),
            "Incomplete must mean the buffer was used up"
        );
    }
    events
}

fn complete(s: &[u8]) -> Framed {
    Framed::Complete(s.to_vec())
}

#[test]
fn lines_and_pipelining() {
    assert_eq!(
        run(small(), &[b"a NOOP\r\nb CAPABILITY\r\nc LOG", b"OUT\n"]),
        vec![
            complete(b"a NOOP\r\n"),
            complete(b"b CAPABILITY\r\n"),
            complete(b"c LOGOUT\n")
        ]
    );
    assert_eq!(
        run(small(), &[b"\r\n\n", b"\r\na NOOP\r\n"]),
        vec![complete(b"a NOOP\r\n")]
    );
}

#[test]
fn byte_at_a_time() {
    let input: &[u8] = b"a LOGIN {5}\r\nhello {6+}\r\nsecret\r\nb NOOP\r\n";
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(small(), &chunks),
        vec![
            Framed::NeedContinuation { literal_len: 5 },
            complete(b"a LOGIN {5}\r\nhello {6+}\r\nsecret\r\n"),
            complete(b"b NOOP\r\n"),
        ]
    );
}

#[test]
fn synchronizing_literal_split_across_feeds() {
    let mut framer = CommandFramer::new(small());
    let mut buf = b"a LOGIN {5}\r\n".to_vec();
    assert_eq!(
        framer.feed(&mut buf),
        Framed::NeedContinuation { literal_len: 5 }
    );
    assert!(buf.is_empty());
    assert!(framer.is_mid_command());
    buf.extend_from_slice(b"hel");
    assert_eq!(framer.feed(&mut buf), Framed::Incomplete);
    buf.extend_from_slice(b"lo {2}\r\n");
    assert_eq!(
        framer.feed(&mut buf),
        Framed::NeedContinuation { literal_len: 2 }
    );
    buf.extend_from_slice(b"pw\r\n");
    let Framed::Complete(cmd) = framer.feed(&mut buf) else {
        panic!()
    };
    assert_eq!(
        parse_command(&cmd).unwrap().body,
        CommandBody::Login {
            username: "hello".into(),
            password: Secret::new(b"pw".to_vec())
        }
    );
    assert_eq!(framer.feed(&mut buf), Framed::Incomplete);
    assert!(!framer.is_mid_command());
}

#[test]
fn literal_plus_needs_no_continuation() {
    assert_eq!(
        run(small(), &[b"a APPEND x ~{4+}\r\na\r\n\0 {0+}\r\n\r\n"]),
        vec![complete(b"a APPEND x ~{4+}\r\na\r\n\0 {0+}\r\n\r\n")]
    );
}

#[test]
fn zero_length_literals() {
    let events = run(small(), &[b"a LOGIN {0}\r\n", b" {0}\r\n", b"\r\n"]);
    assert_eq!(events.len(), 3);
    let Framed::Complete(cmd) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(
        parse_command(cmd).unwrap().body,
        CommandBody::Login {
            username: String::new(),
            password: Secret::new(Vec::new())
        }
    );
}

#[test]
fn too_big_synchronizing_literal_expects_no_bytes() {
    assert_eq!(
        run(small(), &[b"a7 APPEND x {101}\r\n", b"b NOOP\r\n"]),
        vec![
            Framed::Error(FrameError::LiteralTooLarge {
                tag: Some("a7".into()),
                len: 101
            }),
            complete(b"b NOOP\r\n"),
        ]
    );
    assert_eq!(
        run(
            small(),
            &[b"a APPEND x {99999999999999999999999}\r\nb NOOP\r\n"]
        ),
        vec![
            Framed::Error(FrameError::LiteralTooLarge {
                tag: Some("a".into()),
                len: u64::MAX
            }),
            complete(b"b NOOP\r\n"),
        ]
    );
}

#[test]
fn too_big_non_synchronizing_literal_is_skipped() {
    let literal = [b'x'; 150];
    assert_eq!(
        run(
            small(),
            &[
                b"a APPEND x {150+}\r\n",
                &literal[..70],
                &literal[70..],
                b" {3+}\r\nabc\r\nb NOOP\r\n"
            ]
        ),
        vec![
            Framed::Error(FrameError::LiteralTooLarge {
                tag: Some("a".into()),
                len: 150
            }),
            complete(b"b NOOP\r\n"),
        ]
    );
}

#[test]
fn command_too_long() {
    // Each literal fits, the command does not.
    assert_eq!(
        run(
            small(),
            &[
                b"a LOGIN {100}\r\n",
                &[b'u'; 100],
                b" {100}\r\n",
                &[b'p'; 100],
                b" {100+}\r\n",
                &[b'z'; 100],
                b"\r\nb NOOP\r\n"
            ]
        ),
        vec![
            Framed::NeedContinuation { literal_len: 100 },
            Framed::NeedContinuation { literal_len: 100 },
            Framed::Error(FrameError::CommandTooLong),
            complete(b"b NOOP\r\n"),
        ]
    );
}

#[test]
fn line_too_long_skips_to_end_of_line() {
    let long = [b'x'; 200];
    assert_eq!(
        run(small(), &[b"a LOGIN ", &long, &long, b"\r\nb NOOP\r\n"]),
        vec![
            Framed::Error(FrameError::LineTooLong),
            complete(b"b NOOP\r\n")
        ]
    );
    // Whole line in one buffer, ending in a non-synchronizing literal whose
    // bytes must be skipped too.
    let mut input = b"a SEARCH TEXT ".to_vec();
    input.extend_from_slice(&long);
    input.extend_from_slice(b" {5+}\r\nhello\r\nb NOOP\r\n");
    assert_eq!(
        run(small(), &[&input]),
        vec![
            Framed::Error(FrameError::LineTooLong),
            complete(b"b NOOP\r\n")
        ]
    );
    // The same, byte by byte.
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(small(), &chunks),
        vec![
            Framed::Error(FrameError::LineTooLong),
            complete(b"b NOOP\r\n")
        ]
    );
    // Exactly at the limit is fine, with CRLF or LF.
    let mut at_limit = b"a NOOP ".to_vec();
    at_limit.resize(64, b'y');
    at_limit.extend_from_slice(b"\r\n");
    assert_eq!(
        run(small(), &[&at_limit]),
        vec![Framed::Complete(at_limit.clone())]
    );
    at_limit.remove(64);
    assert_eq!(
        run(small(), &[&at_limit]),
        vec![Framed::Complete(at_limit.clone())]
    );
    at_limit.insert(0, b'z');
    assert_eq!(
        run(small(), &[&at_limit]),
        vec![Framed::Error(FrameError::LineTooLong)]
    );
}

#[test]
fn sixteen_kib_authenticate_line() {
    let token = "QUJD".repeat(4096);
    let line = format!("a AUTHENTICATE XOAUTH2 {token}\r\n");
    let chunks: Vec<&[u8]> = line.as_bytes().chunks(1500).collect();
    let events = run(FramerLimits::default(), &chunks);
    let [Framed::Complete(cmd)] = events.as_slice() else {
        panic!("{events:?}")
    };
    let CommandBody::Authenticate {
        initial_response: Some(resp),
        ..
    } = parse_command(cmd).unwrap().body
    else {
        panic!()
    };
    assert_eq!(resp.expose(), token.as_bytes());
    // The same size as a continuation line.
    let mut buf = format!("{token}\r\n").into_bytes();
    assert_eq!(
        read_line(&mut buf, 64 * 1024).unwrap().unwrap(),
        token.as_bytes()
    );
    assert!(buf.is_empty());
}

#[test]
fn read_line_cases() {
    let mut buf = b"DON".to_vec();
    assert_eq!(read_line(&mut buf, 10), Ok(None));
    buf.extend_from_slice(b"E\r\nx NOOP\r\n");
    assert_eq!(read_line(&mut buf, 10), Ok(Some(b"DONE".to_vec())));
    assert_eq!(buf, b"x NOOP\r\n");
    let mut buf = b"*\n".to_vec();
    assert_eq!(read_line(&mut buf, 10), Ok(Some(b"*".to_vec())));
    let mut buf = b"0123456789A\r\nb NOOP\r\n".to_vec();
    assert_eq!(read_line(&mut buf, 10), Err(FrameError::LineTooLong));
    assert_eq!(buf, b"b NOOP\r\n");
    // Too long before its LF arrives: the framer skips the rest.
    let mut buf = b"0123456789AB".to_vec();
    assert_eq!(read_line(&mut buf, 10), Err(FrameError::LineTooLong));
    assert!(buf.is_empty());
    let mut framer = CommandFramer::new(small());
    framer.skip_line();
    buf.extend_from_slice(b"rest of the line\r\nb NOOP\r\n");
    assert_eq!(framer.feed(&mut buf), complete(b"b NOOP\r\n"));
}

#[test]
fn reset_drops_partial_command() {
    let mut framer = CommandFramer::new(small());
    let mut buf = b"a LOGIN {5}\r\nhel".to_vec();
    assert_eq!(
        framer.feed(&mut buf),
        Framed::NeedContinuation { literal_len: 5 }
    );
    assert_eq!(framer.feed(&mut buf), Framed::Incomplete);
    framer.reset();
    buf.extend_from_slice(b"b NOOP\r\n");
    assert_eq!(framer.feed(&mut buf), complete(b"b NOOP\r\n"));
}
