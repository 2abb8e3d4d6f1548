//! Robustness: nesting bombs, limits, the postcard round trip, and structural
//! invariants over deterministically mutated messages (a cheap stand-in for the
//! cargo-fuzz target in `fuzz/fuzz_targets/message_summary.rs`).

use super::super::walk::count_lines;
use super::super::*;
use super::known::{alternative, forwarded, rfc3501_example};
use super::{crlf, section};

/// `levels` nested multiparts around one text part.
fn multipart_bomb(levels: usize) -> Vec<u8> {
    let mut raw = Vec::new();
    for i in 0..levels {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}x\r\n\r\n--b{i}x\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"\r\nleaf\r\n");
    for i in (0..levels).rev() {
        raw.extend_from_slice(format!("--b{i}x--\r\n").as_bytes());
    }
    raw
}

/// `levels` nested message/rfc822 parts around one text part.
fn message_bomb(levels: usize) -> Vec<u8> {
    let mut raw = b"Content-Type: message/rfc822\r\n\r\n".repeat(levels);
    raw.extend_from_slice(b"Subject: x\r\n\r\nend\r\n");
    raw
}

/// Depth of the part tree (a leaf is 1) and number of parts in it.
fn shape(p: &Part) -> (usize, usize) {
    match &p.kind {
        PartKind::Single => (1, 1),
        PartKind::Message { root, .. } => {
            let (d, n) = shape(root);
            (d + 1, n + 1)
        }
        PartKind::Multipart(children) => children
            .iter()
            .map(shape)
            .fold((1, 1), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn)),
    }
}

#[test]
fn forty_level_multipart_bomb() {
    let raw = multipart_bomb(40);
    let s = MessageSummary::parse(&raw);
    assert_eq!(shape(&s.root), (MAX_DEPTH + 1, MAX_DEPTH + 1));
    let path = vec![1; MAX_DEPTH];
    let deepest = s.part(&path).unwrap();
    assert_eq!(
        (deepest.media_type.as_str(), deepest.media_subtype.as_str()),
        ("APPLICATION", "OCTET-STREAM")
    );
    assert_eq!(
        deepest.header.slice(&raw).unwrap(),
        b"Content-Type: multipart/mixed; boundary=b32x\r\n\r\n"
    );
    let body = section(&raw, &path, None).unwrap();
    assert!(body.starts_with(b"--b32x\r\nContent-Type: multipart/mixed; boundary=b33x"));
    // Its own boundary is not opened, so it runs to its parent's delimiter.
    assert!(
        body.ends_with(b"--b33x--\r\n--b32x--"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(s.part(&[1; MAX_DEPTH + 1]), None);
    check(&raw);
}

#[test]
fn message_bombs_do_not_overflow_the_stack() {
    // 40 levels: capped like multiparts.
    let raw = message_bomb(40);
    let s = MessageSummary::parse(&raw);
    assert_eq!(shape(&s.root).0, MAX_DEPTH + 1);
    check(&raw);
    // 100,000 levels (3.2 MB) overflow mail-parser's `MessageParser::parse`; here they
    // are one more opaque leaf. The same bomb inside a base64-encoded message/rfc822 is
    // never decoded at all.
    let raw = message_bomb(100_000);
    let s = MessageSummary::parse(&raw);
    assert_eq!(shape(&s.root).0, MAX_DEPTH + 1);
    let mut encoded =
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    for line in raw.chunks(76) {
        // Base64-looking lines: what is inside is never looked at.
        encoded.extend(
            line.iter()
                .map(|&b| if b.is_ascii_alphanumeric() { b } else { b'+' }),
        );
        encoded.extend_from_slice(b"\r\n");
    }
    let s = MessageSummary::parse(&encoded);
    assert_eq!(shape(&s.root), (2, 2));
}

#[test]
fn part_count_is_capped() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=w\r\n\r\n".to_vec();
    for _ in 0..MAX_PARTS + 500 {
        raw.extend_from_slice(b"--w\r\n\r\nx\r\n");
    }
    raw.extend_from_slice(b"--w--\r\nepilogue\r\n");
    let s = MessageSummary::parse(&raw);
    assert_eq!(shape(&s.root).1, MAX_PARTS);
    // Parts past the cap are not listed, but the multipart still ends where it should.
    assert_eq!(s.root.body.end as usize, raw.len());
    assert_eq!(section(&raw, &[MAX_PARTS as u32 - 1], None).unwrap(), b"x");
    assert_eq!(section(&raw, &[MAX_PARTS as u32], None), None);
}

#[test]
fn address_count_is_capped() {
    let mut raw = b"To: ".to_vec();
    for i in 0..MAX_ADDRESSES + 10 {
        raw.extend_from_slice(format!("u{i}@x, ").as_bytes());
    }
    raw.extend_from_slice(b"\r\nCc: g: a@b;\r\n\r\n");
    let s = MessageSummary::parse(&raw);
    assert_eq!(s.envelope.to.len(), MAX_ADDRESSES);
    assert!(s.envelope.cc.is_empty());
}

/// Seeds for the mutation test and the round trip.
fn samples() -> Vec<Vec<u8>> {
    vec![
        rfc3501_example(true),
        alternative(),
        forwarded(),
        multipart_bomb(3),
        message_bomb(3),
        crlf(&[
            "Content-Type: multipart/digest; boundary=d",
            "",
            "--d",
            "",
            "Subject: one",
            "",
            "x",
            "--d--",
        ]),
        b"garbage".to_vec(),
    ]
}

#[test]
fn postcard_round_trip() {
    for raw in samples() {
        let s = MessageSummary::parse(&raw);
        let bytes = postcard::to_allocvec(&s).unwrap();
        let back: MessageSummary = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
    }
}

#[test]
fn invariants_hold_under_mutation() {
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b"--",
        b"--outer",
        b"--inner--",
        b"--b1\r\n",
        b"--b2--\r\n",
        b":",
        b";",
        b"\"",
        b"(",
        b")",
        b"<",
        b">",
        b",",
        b"\\",
        b"\0",
        b"\xff",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"To: g: a@b, <@r:c@d>;\r\n",
        b"filename*0*=x''%FF;",
        b"\r\n ",
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n.max(1) as u64) as usize
    };
    // MESSAGE_MUTATIONS=100000 cargo test --release invariants  for a longer run.
    let rounds: usize = std::env::var("MESSAGE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for seed in samples() {
        check(&seed);
        for _ in 0..rounds {
            let mut raw = seed.clone();
            for _ in 0..1 + next(4) {
                let at = next(raw.len() + 1);
                match next(4) {
                    0 => raw.insert(at, next(256) as u8),
                    1 => drop(raw.splice(at..at, TOKENS[next(TOKENS.len())].iter().copied())),
                    2 => drop(raw.drain(at..(at + next(40)).min(raw.len()))),
                    _ => raw.truncate(at),
                }
            }
            if std::panic::catch_unwind(|| check(&raw)).is_err() {
                panic!("failed on {:?}", String::from_utf8_lossy(&raw));
            }
        }
    }
}

/// Parses `raw` and checks everything that must hold for any input.
fn check(raw: &[u8]) {
    let s = MessageSummary::parse(raw);
    assert_eq!(s.size, raw.len() as u64);
    let root = &s.root;
    assert_eq!(root.header.start, 0);
    assert_eq!(root.body.end, s.size);
    check_message(root, raw, &mut vec![], &s);
    for extensible in [false, true] {
        let mut out = Vec::new();
        s.write_body_structure(&mut out, extensible);
        assert_well_formed(&out);
    }
    let mut out = Vec::new();
    s.write_envelope(&mut out);
    assert_well_formed(&out);
    let back: MessageSummary = postcard::from_bytes(&postcard::to_allocvec(&s).unwrap()).unwrap();
    assert!(back == s);
    assert!(s.section(raw, &[], None).unwrap() == raw);
    let header = s.section(raw, &[], Some(&SectionText::Header)).unwrap();
    let text = s.section(raw, &[], Some(&SectionText::Text)).unwrap();
    assert!(header == root.header.slice(raw).unwrap() && text == root.body.slice(raw).unwrap());
    assert!(raw.starts_with(&header) && raw.ends_with(&text));
}

/// Checks the parts of the message whose root part is `root`, numbered under `path`.
fn check_message(root: &Part, raw: &[u8], path: &mut Vec<u32>, s: &MessageSummary) {
    match &root.kind {
        PartKind::Multipart(children) => {
            assert!(!children.is_empty());
            let mut last = root.body.start;
            for (i, child) in children.iter().enumerate() {
                assert!(child.header.start >= last, "children overlap");
                assert!(child.body.end <= root.body.end, "child outside its parent");
                last = child.body.end;
                path.push(i as u32 + 1);
                check_part(child, raw, path, s);
                path.pop();
            }
        }
        _ => {
            path.push(1);
            check_part(root, raw, path, s);
            path.pop();
        }
    }
}

/// Spans are ordered, and every section of the part is the right slice.
fn check_part(p: &Part, raw: &[u8], path: &mut Vec<u32>, s: &MessageSummary) {
    assert!(
        p.header.start <= p.header.end
            && p.header.end <= p.body.start
            && p.body.start <= p.body.end
    );
    let body = p.body.slice(raw).unwrap();
    assert!(s.part(path) == Some(p));
    assert!(s.section(raw, path, None).unwrap() == body);
    assert!(
        s.section(raw, path, Some(&SectionText::Mime)).unwrap() == p.header.slice(raw).unwrap()
    );
    match &p.kind {
        PartKind::Single => assert_eq!(p.lines, count_lines(body)),
        PartKind::Message { root, .. } => {
            assert_eq!(p.lines, count_lines(body));
            assert_eq!(
                (root.header.start, root.body.end),
                (p.body.start, p.body.end)
            );
            let text = s.section(raw, path, Some(&SectionText::Text)).unwrap();
            assert!(text == root.body.slice(raw).unwrap());
            let header = s.section(raw, path, Some(&SectionText::Header)).unwrap();
            assert!(header == root.header.slice(raw).unwrap());
            check_message(root, raw, path, s);
        }
        PartKind::Multipart(_) => {
            assert!(s.section(raw, path, Some(&SectionText::Text)).is_none());
            check_message(p, raw, path, s);
        }
    }
}

/// Checks that `out` is one balanced parenthesized IMAP list of NIL, numbers, quoted
/// strings and literals whose lengths are right.
fn assert_well_formed(out: &[u8]) {
    let mut depth = 0i64;
    let mut i = 0;
    while i < out.len() {
        match out[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                assert!(
                    depth >= 0 && (depth > 0 || i == out.len() - 1),
                    "{}",
                    String::from_utf8_lossy(out)
                );
            }
            b'"' => {
                i += 1;
                while out[i] != b'"' {
                    assert!(out[i] != b'\r' && out[i] != b'\n' && out[i] < 0x80 && out[i] != 0);
                    i += if out[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => {
                let close = i + out[i..].iter().position(|&b| b == b'}').unwrap();
                let n: usize = std::str::from_utf8(&out[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(&out[close + 1..close + 3], b"\r\n");
                assert!(!out[close + 3..close + 3 + n].contains(&0));
                i = close + 2 + n;
            }
            b' ' | b'0'..=b'9' | b'N' | b'I' | b'L' => {}
            other => panic!(
                "unexpected {:?} in {}",
                other as char,
                String::from_utf8_lossy(out)
            ),
        }
        i += 1;
    }
    assert_eq!(depth, 0);
}
