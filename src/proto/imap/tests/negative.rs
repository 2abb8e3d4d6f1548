//! Inputs that must be refused, with the tag when it can be read and a
//! message that does not echo the client's bytes.

use super::*;

#[test]
fn errors_carry_the_tag_when_readable() {
    assert_eq!(parse_err(b"").tag, None);
    assert_eq!(parse_err(b"\r\n").tag, None);
    assert_eq!(parse_err(b"+a NOOP\r\n").tag, None);
    assert_eq!(parse_err(b"(a NOOP\r\n").tag, None);
    let e = parse_err(b"a\r\n");
    assert_eq!(
        (e.tag.as_deref(), e.message.as_str()),
        (Some("a"), "Missing command")
    );
    let e = parse_err(b"a17 XYZZY secret-token\r\n");
    assert_eq!(
        (e.tag.as_deref(), e.message.as_str()),
        (Some("a17"), "Unknown command")
    );
    let e = parse_err(b"a UID XYZZY 1\r\n");
    assert_eq!(e.message, "Unknown UID command");
    let e = parse_err(b"a SELECT\r\n");
    assert_eq!(
        (e.tag.as_deref(), e.message.as_str()),
        (Some("a"), "Invalid arguments to SELECT")
    );
}

#[test]
fn messages_never_echo_input() {
    let inputs: &[&[u8]] = &[
        b"a XYZZY secret\r\n",
        b"a LOGIN secret\r\n",
        b"a FETCH 1 (SECRET)\r\n",
        b"a SEARCH SECRET\r\n",
        b"a STATUS x (SECRET)\r\n",
    ];
    for input in inputs {
        let e = parse_err(input);
        assert!(!e.message.to_ascii_lowercase().contains("secret"), "{e:?}");
    }
}

#[test]
fn malformed_commands() {
    let cases: &[&[u8]] = &[
        b"a NOOP",                     // no CRLF
        b"a NOOP extra\r\n",           // trailing arguments
        b"a NOOP\r\n\r\n",             // two line ends
        b"a  NOOP\r\n",                // double space
        b"a LOGIN user\r\n",           // missing password
        b"a LOGIN {5}\r\nabc pw\r\n",  // literal longer than the data
        b"a LOGIN {3}x\r\nabc pw\r\n", // junk in literal header
        b"a LOGIN \"unterminated pw\r\n",
        b"a LOGIN \"bad\\escape\" pw\r\n",
        b"a LOGIN ~{3}\r\nabc pw\r\n",   // literal8 only in APPEND
        b"a SELECT {2}\r\n\xc3\x28\r\n", // invalid UTF-8 mailbox
        b"a SELECT INBOX (QRESYNC (67890007))\r\n",
        b"a LIST (RECURSIVEMATCH) \"\" %\r\n",
        b"a LIST (BOGUS) \"\" %\r\n",
        b"a NOTIFY SET\r\n",
        b"a SORT (DATE) ALL\r\n",
        b"a THREAD FOO UTF-8 ALL\r\n",
        b"a GETQUOTA\r\n",
        b"a COMPRESS\r\n",
        b"a SELECT INBOX ()\r\n",
        b"a CREATE x (FOO)\r\n",
        b"a CREATE x (USE (Sent))\r\n",
        b"a RENAME x\r\n",
        b"a LIST \"\"\r\n",
        b"a LIST \"\" % RETURN (FOO)\r\n",
        b"a LIST \"\" ()\r\n",
        b"a STATUS x ()\r\n",
        b"a STATUS x (MESSAGES FOO)\r\n",
        b"a APPEND x (\\Seen) \"hello\"\r\n", // message not a literal
        b"a APPEND x \"31-Feb-2020 00:00:00 +0000\" {1}\r\na\r\n",
        b"a FETCH 0 FLAGS\r\n",
        b"a FETCH 1 (FLAGS\r\n",
        b"a FETCH 1 ()\r\n",
        b"a FETCH 1 (ALL)\r\n",
        b"a FETCH 1 BODY[1.0]\r\n",
        b"a FETCH 1 FLAGS (VANISHED)\r\n",
        b"a UID FETCH 1 FLAGS (VANISHED)\r\n",
        b"a FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
        b"a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n",
        b"a FETCH 1 FLAGS (FOO)\r\n",
        b"a STORE 1 FLAGS.LOUD (\\Seen)\r\n",
        b"a STORE 1 +FLAGS\r\n",
        b"a STORE 1 (FOO 1) FLAGS ()\r\n",
        b"a SEARCH\r\n",
        b"a SEARCH \r\n",
        b"a SEARCH CHARSET\r\n",
        b"a SEARCH RETURN (MIN)\r\n",
        b"a SEARCH ALL ALL \r\n",
        b"a SEARCH BEFORE 1-Jan-99\r\n",
        b"a COPY 1:2\r\n",
        b"a UID EXPUNGE\r\n",
        b"a UID EXPUNGE 1:x\r\n",
        b"a ID (\"a\")\r\n",
        b"a ID (key \"value\")\r\n",
        b"a ENABLE\r\n",
        b"a AUTHENTICATE\r\n",
        b"a AUTHENTICATE PLAIN abc!\r\n",
        b"a CAPABILITY\r\nb NOOP\r\n", // two commands
    ];
    for input in cases {
        let e = parse_err(input);
        assert_eq!(e.tag.as_deref(), Some("a"), "{input:?}");
        assert!(!e.message.is_empty());
    }
}

#[test]
fn search_nesting_is_bounded() {
    let ok = format!("a SEARCH {}ALL\r\n", "NOT ".repeat(MAX_SEARCH_DEPTH - 1));
    assert!(parse_command(ok.as_bytes()).is_ok());
    for deep in [
        format!("a SEARCH {}ALL\r\n", "NOT ".repeat(100_000)),
        format!(
            "a SEARCH {}ALL{}\r\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
        format!(
            "a SEARCH {}ALL{}\r\n",
            "OR (".repeat(50_000),
            " ALL)".repeat(50_000)
        ),
    ] {
        let e = parse_err(deep.as_bytes());
        assert_eq!(e.message, "SEARCH criteria nested too deeply");
    }
}
