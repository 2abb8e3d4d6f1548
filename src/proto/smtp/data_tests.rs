//! Tests of `DataReader`: terminators split at every offset, dot-stuffing,
//! bare line breaks, SMTP smuggling sequences and the limits.

use super::*;

const BIG: u64 = 1 << 20;

/// Feeds `chunks` one after another; returns (total consumed, end, output).
fn run_chunks(reader: &mut DataReader, chunks: &[&[u8]]) -> (usize, Option<DataEnd>, Vec<u8>) {
    let mut consumed = 0;
    let mut end = None;
    for chunk in chunks {
        let p = reader.feed(chunk);
        consumed += p.consumed;
        if p.end.is_some() {
            end = p.end;
            break;
        }
        assert_eq!(
            p.consumed,
            chunk.len(),
            "everything before the end is consumed"
        );
    }
    (consumed, end, reader.take_output())
}

fn read(input: &[u8]) -> (usize, Option<DataEnd>, Vec<u8>) {
    run_chunks(&mut DataReader::new(RFC_MAX_LINE_LEN, BIG), &[input])
}

#[test]
fn rfc5321_appendix_d1_message() {
    let input = b"Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n";
    let (consumed, end, out) = read(input);
    assert_eq!(end, Some(DataEnd::Complete));
    assert_eq!(consumed, input.len());
    // The second line was sent dot-stuffed: "...etc." stands for "..etc.".
    assert_eq!(out, b"Blah blah blah...\r\n..etc. etc. etc.\r\n");
}

#[test]
fn empty_message() {
    assert_eq!(read(b".\r\n"), (3, Some(DataEnd::Complete), vec![]));
    assert_eq!(read(b".\r\nQUIT\r\n"), (3, Some(DataEnd::Complete), vec![]));
}

#[test]
fn one_empty_line() {
    assert_eq!(
        read(b"\r\n.\r\n"),
        (5, Some(DataEnd::Complete), b"\r\n".to_vec())
    );
}

#[test]
fn pipelined_commands_are_left_unconsumed() {
    let input = b"Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<a@b>\r\n";
    let (consumed, end, out) = read(input);
    assert_eq!(end, Some(DataEnd::Complete));
    assert_eq!(&input[consumed..], b"MAIL FROM:<a@b>\r\n");
    assert_eq!(out, b"Subject: x\r\n\r\nhi\r\n");
}

#[test]
fn terminator_split_at_every_offset() {
    let input: &[u8] = b"Subject: t\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n";
    let expected = b"Subject: t\r\n\r\n.leading dot\r\nbody\r\n".to_vec();
    let end_at = input.len() - b"QUIT\r\n".len();
    for k in 0..=input.len() {
        let r = run_chunks(
            &mut DataReader::new(RFC_MAX_LINE_LEN, BIG),
            &[&input[..k], &input[k..]],
        );
        assert_eq!(
            r,
            (end_at, Some(DataEnd::Complete), expected.clone()),
            "split at {k}"
        );
    }
    for a in 0..=end_at {
        for b in a..=end_at {
            let chunks = [&input[..a], &input[a..b], &input[b..]];
            let r = run_chunks(&mut DataReader::new(RFC_MAX_LINE_LEN, BIG), &chunks);
            assert_eq!(
                r,
                (end_at, Some(DataEnd::Complete), expected.clone()),
                "split at {a}, {b}"
            );
        }
    }
}

#[test]
fn byte_by_byte() {
    let input = b"a\r\n..\r\n.b\r\nc\n.\r\n";
    let mut reader = DataReader::new(RFC_MAX_LINE_LEN, BIG);
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    let (consumed, end, out) = run_chunks(&mut reader, &chunks);
    // "c\n.\r\n": a "." line after a bare LF is an ordinary line.
    assert_eq!((consumed, end), (input.len(), None));
    assert_eq!(out, b"a\r\n.\r\nb\r\nc\r\n.\r\n");
    assert!(!reader.is_done());
    assert_eq!(reader.feed(b".").end, None);
    assert_eq!(reader.feed(b"\r").end, None);
    assert_eq!(reader.feed(b"\n").end, Some(DataEnd::Complete));
}

#[test]
fn dot_stuffing() {
    assert_eq!(read(b"..\r\n.\r\n").2, b".\r\n");
    assert_eq!(read(b"...\r\n.\r\n").2, b"..\r\n");
    assert_eq!(read(b"..x\r\n.\r\n").2, b".x\r\n");
    // Not properly stuffed: RFC 5321 §4.5.2 still drops the first dot.
    assert_eq!(read(b".x\r\n.\r\n").2, b"x\r\n");
    assert_eq!(read(b". \r\n.\r\n").2, b" \r\n");
    // Dots elsewhere on a line are untouched.
    assert_eq!(read(b"a.\r\nb..c\r\n.\r\n").2, b"a.\r\nb..c\r\n");
}

#[test]
fn bare_lf_becomes_crlf() {
    assert_eq!(read(b"a\nb\n\r\n.\r\n").2, b"a\r\nb\r\n\r\n");
    // A bare LF starts a line for unstuffing too.
    assert_eq!(read(b"a\n..b\r\n.\r\n").2, b"a\r\n.b\r\n");
}

#[test]
fn bare_cr_becomes_crlf() {
    assert_eq!(read(b"a\rb\r\n.\r\n").2, b"a\r\nb\r\n");
    assert_eq!(read(b"a\r\r\n.\r\n").2, b"a\r\n\r\n");
    assert_eq!(read(b"\r.\r\n.\r\n").2, b"\r\n.\r\n");
}

#[test]
fn smuggling_sequences_do_not_end_the_message() {
    let smuggled: [&[u8]; 6] = [
        b"a\n.\nMAIL FROM:<x@y>\r\n",
        b"a\n.\r\nMAIL FROM:<x@y>\r\n",
        b"a\r\n.\nMAIL FROM:<x@y>\r\n",
        b"a\r.\rMAIL FROM:<x@y>\r\n",
        b"a\r.\r\nMAIL FROM:<x@y>\r\n",
        b"a\r\n.\rMAIL FROM:<x@y>\r\n",
    ];
    for s in smuggled {
        let mut reader = DataReader::new(RFC_MAX_LINE_LEN, BIG);
        let p = reader.feed(s);
        assert_eq!(
            p,
            DataProgress {
                consumed: s.len(),
                end: None
            },
            "{:?}",
            String::from_utf8_lossy(s)
        );
        let out = reader.output();
        assert!(
            out.ends_with(b"\r\n.\r\nMAIL FROM:<x@y>\r\n"),
            "{:?}",
            String::from_utf8_lossy(out)
        );
        assert!(!has_bare_line_break(out));
        // The real terminator still works afterwards.
        assert_eq!(reader.feed(b".\r\n").end, Some(DataEnd::Complete));
    }
}

fn has_bare_line_break(out: &[u8]) -> bool {
    out.iter().enumerate().any(|(n, &b)| {
        (b == b'\n' && (n == 0 || out[n - 1] != b'\r'))
            || (b == b'\r' && out.get(n + 1) != Some(&b'\n'))
    })
}

#[test]
fn eight_bit_and_nul_pass_through() {
    let input = b"\x00\xff\xc3\xa9\r\n.\r\n";
    assert_eq!(read(input).2, b"\x00\xff\xc3\xa9\r\n");
}

#[test]
fn line_limit_counts_crlf() {
    let mut ok = vec![b'x'; 998];
    ok.extend_from_slice(b"\r\n.\r\n");
    assert_eq!(read(&ok).1, Some(DataEnd::Complete));
    let mut long = vec![b'x'; 999];
    long.extend_from_slice(b"\r\n.\r\n");
    assert_eq!(read(&long).1, Some(DataEnd::LineTooLong));
}

#[test]
fn line_limit_counts_the_stuffed_dot() {
    let mut r = DataReader::new(5, BIG);
    assert_eq!(r.feed(b"...\r\n.\r\n").end, Some(DataEnd::Complete));
    let mut r = DataReader::new(5, BIG);
    assert_eq!(r.feed(b"....\r\n.\r\n").end, Some(DataEnd::LineTooLong));
}

#[test]
fn too_long_line_reads_on_to_the_end() {
    let mut r = DataReader::new(10, BIG);
    let chunks: [&[u8]; 4] = [
        b"short\r\n",
        &[b'y'; 5000],
        b"\r\nmore\r\n.",
        b"\r\nRSET\r\n",
    ];
    let (consumed, end, out) = run_chunks(&mut r, &chunks);
    assert_eq!(end, Some(DataEnd::LineTooLong));
    assert_eq!(consumed, 7 + 5000 + 9 + 2);
    assert_eq!(
        out, b"short\r\nyyyyyyyy",
        "cut at the limit, nothing stored after"
    );
}

#[test]
fn output_after_a_limit_does_not_depend_on_chunking() {
    let input: &[u8] = b"ok\r\n0123456789abcdef\r\nmore text here\r\n.\r\n";
    for (line, size) in [(10, BIG), (RFC_MAX_LINE_LEN, 9), (10, 3)] {
        let whole = run_chunks(&mut DataReader::new(line, size), &[input]);
        for k in 1..input.len() {
            let chunks: Vec<&[u8]> = input.chunks(k).collect();
            let split = run_chunks(&mut DataReader::new(line, size), &chunks);
            assert_eq!(split, whole, "limits {line}/{size}, chunks of {k}");
        }
    }
}

#[test]
fn too_large_reads_on_to_the_end() {
    let mut r = DataReader::new(RFC_MAX_LINE_LEN, 5);
    let (consumed, end, out) = run_chunks(&mut r, &[b"abc\r\n", b"def\r\n", b".\r\nQUIT\r\n"]);
    assert_eq!(end, Some(DataEnd::TooLarge));
    assert_eq!(consumed, 13);
    assert_eq!(out, b"abc\r\n");
    assert_eq!(r.size(), 10);
}

#[test]
fn exactly_at_the_size_limit() {
    let mut r = DataReader::new(RFC_MAX_LINE_LEN, 5);
    assert_eq!(r.feed(b"abc\r\n.\r\n").end, Some(DataEnd::Complete));
    assert_eq!(r.output(), b"abc\r\n");
}

#[test]
fn too_large_wins_over_line_too_long() {
    let mut r = DataReader::new(4, 3);
    assert_eq!(r.feed(b"abcdef\r\n.\r\n").end, Some(DataEnd::TooLarge));
}

#[test]
fn after_the_end_nothing_is_consumed() {
    let mut r = DataReader::new(RFC_MAX_LINE_LEN, BIG);
    assert_eq!(r.feed(b"x\r\n.\r\n").consumed, 6);
    assert!(r.is_done());
    assert_eq!(
        r.feed(b"QUIT\r\n"),
        DataProgress {
            consumed: 0,
            end: Some(DataEnd::Complete)
        }
    );
    assert_eq!(r.output(), b"x\r\n");
}

#[test]
fn feed_into_a_caller_buffer_streams() {
    let mut r = DataReader::new(RFC_MAX_LINE_LEN, BIG);
    let mut disk = Vec::new();
    let mut buf = Vec::new();
    for chunk in [
        &b"line one\r\nline"[..],
        b" two\r\n..",
        b"three\r\n.",
        b"\r\n",
    ] {
        let p = r.feed_into(chunk, &mut buf);
        disk.append(&mut buf);
        if p.end.is_some() {
            break;
        }
    }
    assert_eq!(disk, b"line one\r\nline two\r\n.three\r\n");
}

#[test]
fn empty_feed_is_harmless() {
    let mut r = DataReader::new(RFC_MAX_LINE_LEN, BIG);
    assert_eq!(
        r.feed(b""),
        DataProgress {
            consumed: 0,
            end: None
        }
    );
    assert_eq!(r.feed(b".\r\n").end, Some(DataEnd::Complete));
}
