//! Protocol tests over real sockets: the whole server started in-process on
//! loopback with free ports, a temporary data directory, a self-signed
//! certificate and its own development issuer, driven with raw TCP and TLS
//! exactly as a client would (no client library in between).
//!
//! Each test pins one behaviour and names the RFC section it comes from.
//! Every read has a timeout, so a server that stops answering fails the test
//! instead of hanging it.
//!
//! Set `RUST_LOG=tokenmail=debug` to see the server's log while debugging.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;

// ---------------------------------------------------------------------------
// STARTTLS and authentication before TLS
// ---------------------------------------------------------------------------

/// RFC 9051 §6.2.1 and CVE-2011-0411: commands pipelined after STARTTLS in
/// cleartext must be discarded, never executed inside the TLS session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_starttls_discards_pipelined_plaintext() {
    let server = start_server().await;
    let mut c = Client::connect(server.imap, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    c.send("a STARTTLS\r\nb LOGIN x y\r\n").await;
    let reply = c.line().await;
    assert!(reply.starts_with("a OK"), "STARTTLS got {reply:?}");
    c.starttls(&server).await;
    let responses = c.cmd("c", "NOOP").await;
    assert!(
        responses.iter().all(|r| !r.starts_with("b ")),
        "the pipelined LOGIN was executed: {responses:#?}"
    );
    let first_tagged = responses.iter().find(|r| !r.starts_with("* ")).unwrap();
    assert!(first_tagged.starts_with("c OK"), "{responses:#?}");
    // Nothing for `b` shows up later either.
    let responses = c.cmd("d", "NOOP").await;
    assert!(
        responses.iter().all(|r| !r.starts_with("b ")),
        "{responses:#?}"
    );
    assert!(responses.last().unwrap().starts_with("d OK"));
    drop(c);
    server.stop().await;
}

/// RFC 3207 §4.2 and CVE-2011-0411, for submission: the MAIL command sent
/// in the same packet as STARTTLS must not be executed after the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_starttls_discards_pipelined_plaintext() {
    let server = start_server().await;
    let mut c = Client::connect(server.smtp, "smtp").await;
    assert_eq!(c.smtp_reply().await.0, 220);
    c.smtp_expect("EHLO x", 250).await;
    c.send("STARTTLS\r\nMAIL FROM:<a@example.test>\r\n").await;
    let (code, lines) = c.smtp_reply().await;
    assert_eq!(code, 220, "STARTTLS got {lines:?}");
    c.starttls(&server).await;
    let (code, lines) = c.smtp("NOOP").await;
    assert_eq!(code, 250, "first reply inside TLS is not NOOP's: {lines:?}");
    assert!(lines[0].starts_with("250 2.0.0"), "{lines:?}");
    // The session state was reset (RFC 3207 §4.2): EHLO works and offers AUTH now.
    let ehlo = c.smtp_expect("EHLO x", 250).await;
    assert!(ehlo.iter().any(|l| l[4..].starts_with("AUTH ")), "{ehlo:?}");
    drop(c);
    server.stop().await;
}

/// RFC 9051 §6.2.3 (LOGINDISABLED), §6.2.2 and RFC 3207 §4 / RFC 4954 §4:
/// nothing that carries a credential is offered or accepted before TLS, not
/// even with a valid token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_before_tls() {
    let server = start_server().await;
    let token = server.token(ALICE);

    let mut c = Client::connect(server.imap, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    let caps = c.ok("a", "CAPABILITY").await;
    let cap = caps
        .iter()
        .find(|r| r.starts_with("* CAPABILITY "))
        .expect("CAPABILITY response");
    let words: Vec<&str> = cap.split(' ').collect();
    assert!(words.contains(&"LOGINDISABLED"), "{cap}");
    assert!(words.contains(&"STARTTLS"), "{cap}");
    assert!(!cap.contains("AUTH="), "{cap}");
    let r = c.cmd("b", "AUTHENTICATE PLAIN").await;
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    let plain = B64.encode(format!("\0{ALICE}\0{token}"));
    let r = c.cmd("c", &format!("AUTHENTICATE PLAIN {plain}")).await;
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    let r = c.cmd("d", &format!("LOGIN {ALICE} {token}")).await;
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    let r = c
        .cmd(
            "e",
            &format!("AUTHENTICATE OAUTHBEARER {}", oauthbearer(ALICE, &token)),
        )
        .await;
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    // Still not logged in.
    let r = c.cmd("f", "SELECT INBOX").await;
    assert_eq!(status(r.last().unwrap()), "BAD", "{r:#?}");

    let mut s = Client::connect(server.smtp, "smtp").await;
    assert_eq!(s.smtp_reply().await.0, 220);
    let ehlo = s.smtp_expect("EHLO x", 250).await;
    assert!(
        ehlo.iter()
            .all(|l| !l[4..].to_ascii_uppercase().starts_with("AUTH")),
        "{ehlo:?}"
    );
    assert!(ehlo.iter().any(|l| &l[4..] == "STARTTLS"), "{ehlo:?}");
    s.smtp_expect(&format!("AUTH PLAIN {plain}"), 530).await;
    s.smtp_expect(&format!("AUTH XOAUTH2 {}", xoauth2(ALICE, &token)), 530)
        .await;
    s.smtp_expect("MAIL FROM:<alice@example.test>", 530).await;
    drop((c, s));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// IMAP robustness
// ---------------------------------------------------------------------------

/// Sends `command` in a state that does not allow it: the tagged answer is
/// BAD or NO (never OK, never a continuation), and NOOP still works after.
async fn assert_refused(c: &mut Client, state: &str, n: &mut u32, command: &str) {
    *n += 1;
    let tag = format!("w{n}");
    c.send(format!("{tag} {command}\r\n")).await;
    let r = c.read_until_tagged(&tag).await;
    let st = status(r.last().unwrap());
    assert!(
        st == "BAD" || st == "NO",
        "{state}: {command:?} was not refused: {r:#?}"
    );
    let noop = format!("n{n}");
    let r = c.cmd(&noop, "NOOP").await;
    assert_eq!(
        status(r.last().unwrap()),
        "OK",
        "{state}: NOOP after {command:?}: {r:#?}"
    );
}

/// RFC 9051 §3 and §6: each command is valid only in some states; in the
/// others the server answers BAD (or NO) and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_wrong_state_sweep() {
    let server = start_server().await;
    let mut n = 0;

    // Not authenticated (over TLS, so only the state forbids these).
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    for command in [
        "SELECT INBOX",
        "EXAMINE INBOX",
        "CREATE Foo",
        "LIST \"\" \"*\"",
        "STATUS INBOX (MESSAGES)",
        "APPEND INBOX {5+}\r\nhello",
        "IDLE",
        "FETCH 1 FLAGS",
        "STORE 1 +FLAGS (\\Seen)",
        "EXPUNGE",
        "CLOSE",
        "UNSELECT",
        "UID FETCH 1 FLAGS",
        "UID STORE 1 +FLAGS (\\Seen)",
        "UID EXPUNGE 1",
        "SEARCH ALL",
        "COPY 1 Trash",
        "MOVE 1 Trash",
        "CHECK",
    ] {
        assert_refused(&mut c, "not authenticated", &mut n, command).await;
    }
    // The session still works: log in, then sweep the authenticated state.
    c.ok(
        "l",
        &format!(
            "AUTHENTICATE OAUTHBEARER {}",
            oauthbearer(ALICE, &server.token(ALICE))
        ),
    )
    .await;
    for command in [
        "FETCH 1 FLAGS",
        "STORE 1 +FLAGS (\\Seen)",
        "EXPUNGE",
        "CLOSE",
        "UNSELECT",
        "UID FETCH 1 FLAGS",
        "UID STORE 1 +FLAGS (\\Seen)",
        "UID EXPUNGE 1",
        "SEARCH ALL",
        "COPY 1 Trash",
        "MOVE 1 Trash",
        "CHECK",
    ] {
        assert_refused(&mut c, "authenticated", &mut n, command).await;
    }
    // Selected: the not-authenticated commands are refused.
    let r = c.ok("s", "SELECT INBOX").await;
    assert!(r.last().unwrap().contains("[READ-WRITE]"), "{r:#?}");
    let token = server.token(ALICE);
    for command in [
        "AUTHENTICATE PLAIN".to_string(),
        format!("AUTHENTICATE OAUTHBEARER {}", oauthbearer(ALICE, &token)),
        format!("LOGIN {ALICE} {token}"),
        "STARTTLS".to_string(),
    ] {
        assert_refused(&mut c, "selected", &mut n, &command).await;
    }
    // Still selected and working (UID FETCH: a plain `1:*` in an empty
    // mailbox is itself a BAD, RFC 9051 §9 seq-number).
    c.ok("f", "UID FETCH 1:* (FLAGS)").await;
    c.ok("k", "CHECK").await;
    c.ok("u", "UNSELECT").await;

    // STARTTLS in the cleartext session after STARTTLS: refused, session goes on.
    let mut p = Client::connect(server.imap, "imap-starttls").await;
    assert!(p.line().await.starts_with("* OK"));
    p.ok("t", "STARTTLS").await;
    p.starttls(&server).await;
    assert_refused(&mut p, "after STARTTLS", &mut n, "STARTTLS").await;
    drop((c, p));
    server.stop().await;
}

/// RFC 9051 §7.1.5 (BAD for syntax errors, untagged when the tag is
/// unknown), §7.1 (`NO [TOOBIG]` for a literal over the limit, sent before
/// any continuation): garbage gets BAD or NO and the next command is
/// understood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_malformed_commands_keep_session() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    c.ok("s", "SELECT INBOX").await;

    // Deterministic "random" bytes: a small LCG, without CR/LF, ending in
    // an ordinary character so no literal is announced.
    let mut x: u32 = 0x1234_5678;
    let mut random: Vec<u8> = (0..300)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    random.extend_from_slice(b"x\r\n");
    let long_line = format!(
        "a FETCH 1 (BODY[HEADER.FIELDS ({})])\r\n",
        "X".repeat(70 * 1024)
    )
    .into_bytes();

    let garbage: Vec<Vec<u8>> = vec![
        b"a FETCH\r\n".to_vec(),
        b"a FETCH 1 (BODY[\r\n".to_vec(),
        b"a FETCH 1:* (FLAGS\r\n".to_vec(),
        b"a SELECT\r\n".to_vec(),
        b"* NOOP\r\n".to_vec(),
        b"+ NOOP\r\n".to_vec(),
        b"a NOOP extra\r\n".to_vec(),
        b"a BLURDYBLOOP\r\n".to_vec(),
        b"a UID\r\n".to_vec(),
        b"a STORE 1 +FLAGS (\\Seen\r\n".to_vec(),
        b"a APPEND\r\n".to_vec(),
        b"a LOGIN\r\n".to_vec(),
        b"a\r\n".to_vec(),
        b"   \r\n".to_vec(),
        b"a FETCH 1 FLAGS\r\n".to_vec(), // no message 1 in an empty INBOX
        b"a APPEND INBOX {99999999999}\r\n".to_vec(),
        b"a APPEND INBOX {99999999999999999999999999}\r\n".to_vec(),
        long_line,
        random,
        b"\x00\x01\x02\xff\xfe\r\n".to_vec(),
    ];
    for (i, bytes) in garbage.iter().enumerate() {
        let tag = format!("z{i}");
        let mut out = bytes.clone();
        out.extend_from_slice(format!("{tag} NOOP\r\n").as_bytes());
        c.send(&out).await;
        let r = c.read_until_tagged(&tag).await;
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
        let (before, last) = r.split_at(r.len() - 1);
        assert!(
            before.iter().any(|l| matches!(status(l), "BAD" | "NO")),
            "garbage {shown:?} was not answered with BAD/NO: {r:#?}"
        );
        assert!(
            before.iter().all(|l| !l.starts_with("a OK")),
            "garbage {shown:?} succeeded: {r:#?}"
        );
        assert_eq!(status(&last[0]), "OK", "NOOP after {shown:?}: {r:#?}");
    }
    // An empty line alone is skipped silently.
    c.send("\r\n").await;
    let r = c.cmd("e", "NOOP").await;
    assert_eq!(r, vec!["e OK NOOP completed".to_string()]);
    drop(c);
    server.stop().await;
}

/// RFC 9051 §6.2.2 and RFC 4959: an AUTHENTICATE line carrying a 20 KiB
/// token is read whole (real tokens are several KB); the failure is the
/// XOAUTH2 error challenge, then NO after the client's empty response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_long_auth_line() {
    let server = start_server().await;
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    let junk: String = (0..20 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let ir = xoauth2(ALICE, &junk);
    assert!(ir.len() > 20 * 1024);
    c.send(format!("a AUTHENTICATE XOAUTH2 {ir}\r\n")).await;
    let challenge = c.line().await;
    assert!(
        challenge.starts_with("+ "),
        "expected the XOAUTH2 error challenge, got {challenge:?}"
    );
    let json = B64
        .decode(challenge[2..].trim())
        .expect("challenge is base64");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("challenge is JSON");
    assert_eq!(json["status"], "401", "{json}");
    c.send("\r\n").await;
    let r = c.read_until_tagged("a").await;
    assert!(r.iter().all(|l| status(l) != "BAD"), "{r:#?}");
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    c.ok("b", "NOOP").await;
    drop(c);
    server.stop().await;
}

/// Before login a literal can only be a LOGIN argument: one larger than
/// `[limits] max_literal_unauthenticated` (16 KiB) is refused without a
/// continuation, so a client that has not logged in cannot make the
/// server hold a message-sized literal; a token-sized one is fine, and
/// after login APPEND may send literals up to the message size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_literal_limit_before_login() {
    let server = start_server().await;
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    c.send("a LOGIN {17000}\r\n").await;
    let r = c.line().await;
    assert!(r.starts_with("a NO [TOOBIG]"), "{r:?}");
    // A non-synchronizing one is read and dropped, not kept.
    c.send(format!("b LOGIN {{17000+}}\r\n{}\r\n", "x".repeat(17000)))
        .await;
    let r = c.line().await;
    assert!(r.starts_with("b NO [TOOBIG]"), "{r:?}");
    c.ok("n", "NOOP").await;
    // A token sent as a literal fits.
    let token = server.token(ALICE);
    assert!(token.len() < 16 * 1024);
    c.send(format!("l LOGIN {ALICE} {{{}}}\r\n", token.len()))
        .await;
    assert!(c.line().await.starts_with("+ "));
    c.send(format!("{token}\r\n")).await;
    let r = c.read_until_tagged("l").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    // Logged in: large literals are accepted.
    let body = format!("Subject: big\r\n\r\n{}\r\n", "y".repeat(100_000));
    c.send(format!("p APPEND INBOX {{{}}}\r\n", body.len()))
        .await;
    let r = c.line().await;
    assert!(r.starts_with("+ "), "{r:?}");
    c.send(format!("{body}\r\n")).await;
    let r = c.read_until_tagged("p").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// IMAP mailbox behaviour
// ---------------------------------------------------------------------------

/// RFC 2177 §3: while idling, new mail is reported at once as EXISTS; DONE
/// ends IDLE with the tagged OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_idle_wakes_on_delivery() {
    let server = start_server().await;
    let mut a = imap_tls_login(&server, ALICE).await;
    let r = a.ok("s", "SELECT INBOX").await;
    assert!(r.contains(&"* 0 EXISTS".to_string()), "{r:#?}");
    a.send("i IDLE\r\n").await;
    let plus = a.line().await;
    assert!(plus.starts_with("+ "), "{plus:?}");

    let (mut b, _) = smtp_tls_login(&server, BOB).await;
    b.smtp_expect("MAIL FROM:<bob@example.test>", 250).await;
    b.smtp_expect("RCPT TO:<alice@example.test>", 250).await;
    b.smtp_expect("DATA", 354).await;
    b.send("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: wake up\r\n\r\nHello.\r\n.\r\n").await;
    let (code, lines) = b.smtp_reply().await;
    assert_eq!(code, 250, "{lines:?}");
    let delivered = Instant::now();

    let exists = a.try_line(Duration::from_secs(2)).await;
    assert_eq!(
        exists.as_deref(),
        Some("* 1 EXISTS"),
        "no EXISTS within 2 s of delivery"
    );
    assert!(delivered.elapsed() < Duration::from_secs(2));
    a.send("DONE\r\n").await;
    let r = a.read_until_tagged("i").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    let r = a
        .ok("f", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await;
    assert_eq!(
        literal_after(&r[0], "BODY[HEADER.FIELDS (SUBJECT)]"),
        "Subject: wake up\r\n\r\n"
    );
    b.smtp_expect("QUIT", 221).await;
    drop((a, b));
    server.stop().await;
}

const MULTIPART: &str = concat!(
    "From: alice@example.test\r\n",
    "To: alice@example.test\r\n",
    "Subject: Roundtrip test\r\n",
    "Date: Mon, 2 Jan 2023 10:00:00 +0000\r\n",
    "Message-ID: <roundtrip@example.test>\r\n",
    "MIME-Version: 1.0\r\n",
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n",
    "\r\n",
    "preamble\r\n",
    "--XYZ\r\n",
    "Content-Type: text/plain; charset=us-ascii\r\n",
    "\r\n",
    "Hello part one.\r\n",
    "Second line.\r\n",
    "\r\n",
    "--XYZ\r\n",
    "Content-Type: application/octet-stream\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "\r\n",
    "AAECAwQF\r\n",
    "--XYZ--\r\n",
);

const SIMPLE: &str = "From: alice@example.test\r\nSubject: Second\r\n\r\nJust text.\r\n";

/// RFC 9051 §6.3.12 (APPEND, synchronizing literal), RFC 7888 (LITERAL+),
/// RFC 4315 §3 (APPENDUID), §6.4.5 and §7.5.2 (FETCH items), §6.4.6
/// (STORE), §7.4.1 (EXPUNGE), §2.3.1.1 (UIDs are stable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_append_fetch_roundtrip() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;

    // Synchronizing literal: the data goes only after "+".
    c.send(format!("a1 APPEND INBOX {{{}}}\r\n", MULTIPART.len()))
        .await;
    let plus = c.line().await;
    assert!(
        plus.starts_with("+"),
        "expected a continuation request, got {plus:?}"
    );
    c.send(format!("{MULTIPART}\r\n")).await;
    let r = c.read_until_tagged("a1").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    let first = response_code(r.last().unwrap(), "APPENDUID");
    let (validity, uid1): (u32, u32) = (first[0].parse().unwrap(), first[1].parse().unwrap());

    // Non-synchronizing literal (LITERAL+): no "+" is sent.
    c.send(format!(
        "a2 APPEND INBOX (\\Flagged) {{{}+}}\r\n{SIMPLE}\r\n",
        SIMPLE.len()
    ))
    .await;
    let r = c.read_until_tagged("a2").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    let second = response_code(r.last().unwrap(), "APPENDUID");
    assert_eq!(second[0], first[0], "UIDVALIDITY changed between APPENDs");
    let uid2: u32 = second[1].parse().unwrap();
    assert!(uid2 > uid1, "UIDs must ascend: {uid1} then {uid2}");

    let r = c.ok("s", "SELECT INBOX").await;
    assert!(r.contains(&"* 2 EXISTS".to_string()), "{r:#?}");
    assert!(
        r.iter()
            .any(|l| l == &format!("* OK [UIDVALIDITY {validity}] UIDs valid")),
        "{r:#?}"
    );

    // Both are \Recent to this first session (RFC 3501 §2.3.2).
    let r = c.ok("f1", "FETCH 1:2 (UID RFC822.SIZE FLAGS)").await;
    assert_eq!(
        r[0],
        format!(
            "* 1 FETCH (UID {uid1} RFC822.SIZE {} FLAGS (\\Recent))",
            MULTIPART.len()
        )
    );
    assert_eq!(
        r[1],
        format!(
            "* 2 FETCH (UID {uid2} RFC822.SIZE {} FLAGS (\\Recent \\Flagged))",
            SIMPLE.len()
        )
    );

    let r = c.ok("f2", "FETCH 1 (BODYSTRUCTURE)").await;
    assert_eq!(
        r[0],
        concat!(
            r#"* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 31 2 NIL NIL NIL NIL)"#,
            r#"("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 8 NIL NIL NIL NIL)"#,
            r#" "MIXED" ("BOUNDARY" "XYZ") NIL NIL NIL))"#,
        )
    );

    let r = c
        .ok(
            "f3",
            "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[2])",
        )
        .await;
    assert_eq!(
        literal_after(&r[0], "BODY[HEADER.FIELDS (SUBJECT)]"),
        "Subject: Roundtrip test\r\n\r\n"
    );
    assert_eq!(literal_after(&r[0], "BODY[2]"), "AAECAwQF");
    assert!(!r[0].contains("FLAGS"), "PEEK must not set \\Seen: {r:#?}");

    // BODY[1] without PEEK sets \Seen (RFC 9051 §6.4.5) and says so.
    let r = c.ok("f4", "FETCH 1 (BODY[1])").await;
    assert_eq!(
        literal_after(&r[0], "BODY[1]"),
        "Hello part one.\r\nSecond line.\r\n"
    );
    assert!(r[0].contains("FLAGS (\\Recent \\Seen)"), "{r:#?}");

    let r = c.ok("f5", "FETCH 2 (BODY.PEEK[])").await;
    assert_eq!(literal_after(&r[0], "BODY[]"), SIMPLE);

    // RFC 9051 §6.4.6: the new flags (in any order).
    let r = c.ok("st", "STORE 1 +FLAGS (\\Deleted)").await;
    let flags = r[0]
        .strip_prefix("* 1 FETCH (FLAGS (")
        .and_then(|f| f.strip_suffix("))"))
        .unwrap_or_else(|| panic!("{r:#?}"));
    let mut flags: Vec<&str> = flags.split(' ').collect();
    flags.sort_unstable();
    assert_eq!(flags, ["\\Deleted", "\\Recent", "\\Seen"], "{r:#?}");
    let r = c.ok("x", "EXPUNGE").await;
    assert_eq!(r[..r.len() - 1], ["* 1 EXPUNGE".to_string()], "{r:#?}");

    // The second message is now number 1, with its UID unchanged.
    let r = c.ok("f6", "FETCH 1 (UID FLAGS)").await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (UID {uid2} FLAGS (\\Recent \\Flagged))")
    );
    let r = c.ok("f7", &format!("UID FETCH {uid2} (RFC822.SIZE)")).await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (UID {uid2} RFC822.SIZE {})", SIMPLE.len())
    );
    let r = c.ok("f8", &format!("UID FETCH {uid1} (FLAGS)")).await;
    assert_eq!(r.len(), 1, "an expunged UID must return nothing: {r:#?}");

    // After reselecting (and from a new session), the same UIDVALIDITY and UID.
    c.ok("u", "UNSELECT").await;
    drop(c);
    let mut c = imap_tls_login(&server, ALICE).await;
    let r = c.ok("s", "SELECT INBOX").await;
    assert!(r.contains(&"* 1 EXISTS".to_string()), "{r:#?}");
    assert!(
        r.iter()
            .any(|l| l == &format!("* OK [UIDVALIDITY {validity}] UIDs valid")),
        "{r:#?}"
    );
    let r = c.ok("f", "FETCH 1 (UID)").await;
    assert_eq!(r[0], format!("* 1 FETCH (UID {uid2})"));
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Submission rules
// ---------------------------------------------------------------------------

/// RFC 6409 §6.1 (sender must be the user: 553), RFC 5321 §4.1.1.3 and
/// RFC 3463 (unknown user 5.1.1, no relaying 5.7.1), §4.5.2 (dot-stuffing
/// undone), §2.3.8 (stored with CRLF line ends), RFC 1870 §6.3 (SIZE=
/// over the limit: 552).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_rules() {
    let server = start_server().await;
    // Alice's account exists once she has logged in.
    let mut imap = imap_tls_login(&server, ALICE).await;
    let (mut s, ehlo) = smtp_tls_login(&server, ALICE).await;

    let lines = s.smtp_expect("MAIL FROM:<bob@example.test>", 553).await;
    assert!(lines[0].starts_with("553 5.7.1"), "{lines:?}");

    let size: u64 = ehlo
        .iter()
        .find_map(|l| l[4..].strip_prefix("SIZE "))
        .expect("EHLO advertises SIZE")
        .parse()
        .expect("SIZE value");
    let lines = s
        .smtp_expect(
            &format!("MAIL FROM:<alice@example.test> SIZE={}", size + 1),
            552,
        )
        .await;
    assert!(lines[0].starts_with("552 5.3.4"), "{lines:?}");

    s.smtp_expect("MAIL FROM:<alice@example.test>", 250).await;
    let lines = s.smtp_expect("RCPT TO:<nobody@example.test>", 550).await;
    assert!(lines[0].starts_with("550 5.1.1"), "{lines:?}");
    let lines = s
        .smtp_expect("RCPT TO:<someone@foreign.example>", 550)
        .await;
    assert!(lines[0].starts_with("550 5.7.1"), "{lines:?}");
    s.smtp_expect("RCPT TO:<alice@example.test>", 250).await;
    s.smtp_expect("DATA", 354).await;
    s.send(concat!(
        "From: alice@example.test\r\n",
        "To: alice@example.test\r\n",
        "Subject: smtp rules\n", // a bare LF in the header
        "\r\n",
        "line one\n",
        "..dotted after lf\n",
        "..dotted after crlf\r\n",
        "last\r\n",
        ".\r\n",
    ))
    .await;
    let (code, lines) = s.smtp_reply().await;
    assert_eq!(code, 250, "{lines:?}");

    imap.ok("s", "SELECT INBOX").await;
    let r = imap.ok("f", "FETCH 1 (BODY.PEEK[])").await;
    let stored = literal_after(&r[0], "BODY[]");
    let bytes = stored.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert!(
                i > 0 && bytes[i - 1] == b'\r',
                "bare LF stored at {i}: {stored:?}"
            );
        }
    }
    assert!(stored.contains("\r\nSubject: smtp rules\r\n\r\nline one\r\n.dotted after lf\r\n.dotted after crlf\r\nlast\r\n"), "{stored:?}");
    assert!(
        !stored.contains("\n.."),
        "dot-stuffing not undone: {stored:?}"
    );
    assert!(stored.ends_with("last\r\n"), "{stored:?}");
    s.smtp_expect("QUIT", 221).await;
    drop((s, imap));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Token failures
// ---------------------------------------------------------------------------

/// RFC 7628 §3.2.2-§3.2.3: a refused OAUTHBEARER token is answered with an
/// error challenge (JSON with "status"), the client sends %x01, and the
/// exchange fails: `535 5.7.8` in SMTP (RFC 4954 §6), `NO` in IMAP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_error_challenge() {
    let server = start_server().await;
    let expired = server.expired_token(ALICE);

    let mut s = Client::connect_tls(&server, server.smtps, "smtp").await;
    assert_eq!(s.smtp_reply().await.0, 220);
    s.smtp_expect("EHLO x", 250).await;
    let lines = s
        .smtp_expect(
            &format!("AUTH OAUTHBEARER {}", oauthbearer(ALICE, &expired)),
            334,
        )
        .await;
    let json = B64
        .decode(lines[0][4..].trim())
        .expect("334 text is base64");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("error challenge is JSON");
    assert_eq!(json["status"], "invalid_token", "{json}");
    let lines = s.smtp_expect("AQ==", 535).await;
    assert!(lines[0].starts_with("535 5.7.8"), "{lines:?}");
    // The session goes on: a valid token now works.
    s.smtp_expect(
        &format!(
            "AUTH OAUTHBEARER {}",
            oauthbearer(ALICE, &server.token(ALICE))
        ),
        235,
    )
    .await;

    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    c.send(format!(
        "a AUTHENTICATE OAUTHBEARER {}\r\n",
        oauthbearer(ALICE, &expired)
    ))
    .await;
    let challenge = c.line().await;
    assert!(challenge.starts_with("+ "), "{challenge:?}");
    let json = B64
        .decode(challenge[2..].trim())
        .expect("challenge is base64");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("error challenge is JSON");
    assert_eq!(json["status"], "invalid_token", "{json}");
    c.send("AQ==\r\n").await;
    let r = c.read_until_tagged("a").await;
    assert_eq!(status(r.last().unwrap()), "NO", "{r:#?}");
    c.ok(
        "b",
        &format!(
            "AUTHENTICATE OAUTHBEARER {}",
            oauthbearer(ALICE, &server.token(ALICE))
        ),
    )
    .await;
    drop((s, c));
    server.stop().await;
}

/// Regression: AUTHENTICATE without an initial response (imaplib's way)
/// lost the exchange after the error challenge, so the client's `AQ==` was
/// never answered with the tagged NO (RFC 7628 §3.2.3).
#[tokio::test]
async fn imap_sasl_without_initial_response_ends_with_tagged_no() {
    let server = start_server().await;
    let expired = server.expired_token(ALICE);
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    for (tag, mech, message, reply) in [
        ("a", "OAUTHBEARER", oauthbearer(ALICE, &expired), "AQ=="),
        ("b", "XOAUTH2", xoauth2(ALICE, &expired), ""),
    ] {
        c.send(format!("{tag} AUTHENTICATE {mech}\r\n")).await;
        assert_eq!(
            c.line().await.trim_end(),
            "+",
            "{mech}: the first challenge is empty"
        );
        c.send(format!("{message}\r\n")).await;
        let challenge = c.line().await;
        assert!(
            challenge.starts_with("+ ") && challenge.len() > 3,
            "{mech}: {challenge:?}"
        );
        c.send(format!("{reply}\r\n")).await;
        let r = c.read_until_tagged(tag).await;
        assert_eq!(status(r.last().unwrap()), "NO", "{mech}: {r:#?}");
    }
    // And a good token, the same way, logs in.
    c.send("c AUTHENTICATE XOAUTH2\r\n").await;
    assert_eq!(c.line().await.trim_end(), "+");
    c.send(format!("{}\r\n", xoauth2(ALICE, &server.token(ALICE))))
        .await;
    let r = c.read_until_tagged("c").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    drop(c);
    server.stop().await;
}

/// Connects to the implicit-TLS IMAP port from `source` (an address on lo).
async fn imap_tls_from(server: &TestServer, source: &str) -> std::io::Result<Client> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(source.parse::<SocketAddr>().expect("source address"))?;
    let tcp = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], server.imaps)))
        .await?;
    let mut c = Client::tls_over(server, tcp, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    Ok(c)
}

/// Times one LOGIN and returns its tagged status.
async fn timed_login(c: &mut Client, tag: &str, user: &str, password: &str) -> (String, Duration) {
    let start = Instant::now();
    let r = c.cmd(tag, &format!("LOGIN {user} {password}")).await;
    (status(r.last().unwrap()).to_string(), start.elapsed())
}

/// The failed-login throttle is per client address (RFC 9051 §11 asks for
/// protection against password guessing; `[auth]` in the configuration):
/// failures from 127.0.0.1 slow 127.0.0.1 but not a login from 127.0.0.2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_ip_do_not_slow_others() {
    let server = start_server_with(Delays {
        failure_ms: 1_000,
        max_failure_ms: 5_000,
    })
    .await;
    // Bob's first login creates his mailbox (a durable write); do it before
    // timing, on a connection of its own from the same address.
    if let Ok(mut warm) = imap_tls_from(&server, "127.0.0.2:0").await {
        let (st, _) = timed_login(&mut warm, "w", BOB, &server.token(BOB)).await;
        assert_eq!(st, "OK");
    }
    let mut other = match imap_tls_from(&server, "127.0.0.2:0").await {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: cannot connect from 127.0.0.2 on this machine: {e}");
            server.stop().await;
            return;
        }
    };
    let mut one = imap_tls_from(&server, "127.0.0.1:0")
        .await
        .expect("connect from 127.0.0.1");

    // Warm the key cache with a valid login, so timings below are the throttle's.
    let (st, _) = timed_login(&mut one, "w", ALICE, &server.token(ALICE)).await;
    assert_eq!(st, "OK");
    let mut one = imap_tls_from(&server, "127.0.0.1:0")
        .await
        .expect("connect from 127.0.0.1");
    // Two failures: the next attempt from 127.0.0.1 waits 1 s · 2 = 2 s. The
    // margins are wide so a loaded debug build on two cores cannot blur them.
    for tag in ["f1", "f2"] {
        let (st, _) = timed_login(&mut one, tag, ALICE, "not-a-token").await;
        assert_eq!(st, "NO");
    }

    let (st, took) = timed_login(&mut other, "o", BOB, &server.token(BOB)).await;
    assert_eq!(st, "OK");
    println!("valid login from 127.0.0.2 after two failures from 127.0.0.1: {took:?}");
    assert!(
        took < Duration::from_millis(1_000),
        "a login from 127.0.0.2 took {took:?}: slowed by 127.0.0.1's failures"
    );

    // Control: 127.0.0.1 itself is slowed, so the throttle is really on.
    let (st, took) = timed_login(&mut one, "c", ALICE, &server.token(ALICE)).await;
    assert_eq!(st, "OK");
    println!("valid login from 127.0.0.1 after its two failures: {took:?}");
    assert!(
        took >= Duration::from_millis(1_800),
        "127.0.0.1 was not slowed after two failures: {took:?}"
    );
    drop((one, other));
    server.stop().await;
}
