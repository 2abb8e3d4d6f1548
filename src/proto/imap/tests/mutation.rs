//! A deterministic stand-in for the fuzzer that runs in `cargo test`:
//! mutate valid commands and check that nothing panics, that the framer
//! never loses track of its input, and that what parses is stable.

use super::*;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "a LOGIN {5}\r\nhello \"pw\"\r\n",
    "a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
    "a ID (\"name\" \"x\" \"os\" NIL)\r\n",
    "a SELECT INBOX (CONDSTORE)\r\n",
    "a CREATE x (USE (\\Sent))\r\n",
    "a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
    "a STATUS x (UIDNEXT MESSAGES)\r\n",
    "a APPEND x (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nabc\r\n",
    "a UID SEARCH RETURN (MIN) CHARSET UTF-8 OR (SEEN NOT FROM {1}\r\nx) SINCE 1-Feb-1994 1:*,$\r\n",
    "a SEARCH MODSEQ \"/flags/\\\\draft\" all 5 HEADER a b\r\n",
    "a UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (A B)]<0.10> BINARY[1]) (CHANGEDSINCE 1 VANISHED)\r\n",
    "a STORE 1,2:* (UNCHANGEDSINCE 3) -FLAGS.SILENT (\\Deleted $x)\r\n",
    "a UID MOVE 1:2 \"x y\"\r\n",
    "a ENABLE CONDSTORE\r\n",
];

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"{3}\r\n",
    b"{9+}\r\n",
    b"~{2}\r\n",
    b"(",
    b")",
    b"\"",
    b"\\",
    b" ",
    b"\r\n",
    b"\n",
    b"*",
    b"$",
    b":",
    b",",
    b"NOT ",
    b"OR ",
    b"[",
    b"]",
    b"<",
    b"0",
    b"4294967296",
    b"99999999999999999999",
    b"\xff",
    b"\0",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(2) {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if at < input.len() => input[at] = rng.next() as u8,
            1 if at < input.len() => {
                let end = (at + rng.below(8)).min(input.len());
                input.drain(at..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, t.iter().copied());
            }
            3 => input.truncate(at),
            _ => {
                let end = (at + rng.below(16)).min(input.len());
                let span = input[at..end].to_vec();
                input.splice(at..at, span);
            }
        }
    }
}

#[test]
fn mutated_commands_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let limits = FramerLimits {
        max_line: 48,
        max_literal: 16,
        max_command: 96,
    };
    let (mut parsed, mut framed) = (0, 0);
    for round in 0..60_000 {
        let mut input = SEEDS[round % SEEDS.len()].as_bytes().to_vec();
        mutate(&mut rng, &mut input);
        if let Ok(cmd) = parse_command(&input) {
            parsed += 1;
            // Parsing is a function of the bytes: same input, same answer.
            assert_eq!(parse_command(&input), Ok(cmd));
        }
        let mut framer = CommandFramer::new(limits);
        let mut buf = Vec::new();
        for chunk in input.chunks(1 + rng.below(20)) {
            buf.extend_from_slice(chunk);
            for _ in 0..=input.len() {
                match framer.feed(&mut buf) {
                    Framed::Incomplete => break,
                    Framed::Complete(cmd) => {
                        framed += 1;
                        assert!(cmd.ends_with(b"\n"));
                        let _ = parse_command(&cmd);
                    }
                    Framed::NeedContinuation { literal_len } => assert!(literal_len <= 16),
                    Framed::Error(_) => {}
                }
            }
            assert!(buf.is_empty());
        }
        let _ = read_line(&mut input, 8);
    }
    // The mutations must leave enough valid input to reach deep rules.
    eprintln!("parsed {parsed}, framed {framed}");
    assert!(
        parsed > 4_000 && framed > 20_000,
        "parsed {parsed}, framed {framed}"
    );
}
