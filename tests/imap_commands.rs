//! IMAP commands over real sockets, one test per command family, with the
//! examples of the RFCs that define them; several sessions on one mailbox;
//! and a sweep that sends every command in every state.
//!
//! Each test names the RFC section it pins. Responses are compared exactly
//! where the RFC fixes them, and by the parts that matter elsewhere.

mod common;

use common::*;
use std::time::Duration;

const MSG1: &str = "From: Fred Foobar <foobar@Blurdybloop.example>\r\nTo: mooch@owatagu.siam.edu.example\r\nSubject: afternoon meeting\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

fn msg(subject: &str, body: &str) -> String {
    format!(
        "From: a@example.test\r\nTo: b@example.test\r\nSubject: {subject}\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@example.test>\r\n\r\n{body}\r\n"
    )
}

/// APPENDs `m` to `mailbox` and returns its UID.
async fn append(c: &mut Client, mailbox: &str, flags: &str, m: &str) -> u32 {
    let r = c
        .ok(
            "ap",
            &format!("APPEND {mailbox} ({flags}) {{{}+}}\r\n{m}", m.len()),
        )
        .await;
    response_code(r.last().unwrap(), "APPENDUID")[1]
        .parse()
        .unwrap()
}

/// Untagged lines of a response that start with `prefix`.
fn lines<'a>(r: &'a [String], prefix: &str) -> Vec<&'a str> {
    r.iter()
        .map(String::as_str)
        .filter(|l| l.starts_with(prefix))
        .collect()
}

fn tagged(r: &[String]) -> &str {
    r.last().unwrap()
}

// ---------------------------------------------------------------------------
// Mailboxes: CREATE, DELETE, RENAME, SUBSCRIBE, LIST, LSUB, STATUS
// ---------------------------------------------------------------------------

/// RFC 9051 §6.3.4-§6.3.6, RFC 3501 §6.3.8-9, RFC 5258, RFC 6154.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_hierarchy() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    // RFC 9051 §6.3.4: a trailing delimiter names the mailbox without it.
    c.ok("c1", "CREATE owatagusiam/").await;
    c.ok("c2", "CREATE owatagusiam/blurdybloop").await;
    let r = c.cmd("c3", "CREATE owatagusiam").await;
    assert!(tagged(&r).starts_with("c3 NO [ALREADYEXISTS]"), "{r:?}");
    let r = c.cmd("c4", "CREATE inbox").await;
    assert!(tagged(&r).starts_with("c4 NO"), "{r:?}");
    // A level that is not a mailbox is listed as \Noselect.
    c.ok("c5", "CREATE foo/bar/baz").await;
    let r = c.ok("l1", "LIST \"\" %").await;
    assert!(
        r.contains(&"* LIST (\\Noselect \\HasChildren) \"/\" foo".to_string()),
        "{r:#?}"
    );
    assert!(
        r.contains(&"* LIST (\\HasChildren) \"/\" owatagusiam".to_string()),
        "{r:#?}"
    );
    assert!(
        r.contains(&"* LIST (\\HasNoChildren \\Sent) \"/\" Sent".to_string()),
        "{r:#?}"
    );
    assert_eq!(
        lines(&r, "* LIST").first(),
        Some(&"* LIST (\\HasNoChildren) \"/\" INBOX")
    );
    let r = c.ok("l2", "LIST \"\" \"\"").await;
    assert_eq!(r[0], "* LIST (\\Noselect) \"/\" \"\"");
    let r = c.ok("l3", "LIST owatagusiam/ *").await;
    assert_eq!(
        lines(&r, "* LIST"),
        ["* LIST (\\HasNoChildren) \"/\" owatagusiam/blurdybloop"]
    );
    // RENAME moves the hierarchy (RFC 9051 §6.3.6).
    c.ok("r1", "RENAME owatagusiam sarasoop").await;
    let r = c.ok("l4", "LIST \"\" sara*").await;
    assert_eq!(
        lines(&r, "* LIST"),
        [
            "* LIST (\\HasChildren) \"/\" sarasoop",
            "* LIST (\\HasNoChildren) \"/\" sarasoop/blurdybloop"
        ]
    );
    let r = c.cmd("r2", "RENAME nosuch other").await;
    assert!(tagged(&r).starts_with("r2 NO [NONEXISTENT]"), "{r:?}");
    let r = c.cmd("r3", "RENAME sarasoop Sent").await;
    assert!(tagged(&r).starts_with("r3 NO [ALREADYEXISTS]"), "{r:?}");
    // DELETE keeps inferiors; the name becomes a \Noselect level.
    c.ok("d1", "DELETE sarasoop").await;
    let r = c.ok("l5", "LIST \"\" sara%").await;
    assert_eq!(
        lines(&r, "* LIST"),
        ["* LIST (\\Noselect \\HasChildren) \"/\" sarasoop"]
    );
    let r = c.cmd("d2", "DELETE INBOX").await;
    assert!(tagged(&r).starts_with("d2 NO"), "{r:?}");
    let r = c.cmd("d3", "DELETE sarasoop").await;
    assert!(tagged(&r).starts_with("d3 NO [NONEXISTENT]"), "{r:?}");
    // Special-use on CREATE (RFC 6154 §3) and the SPECIAL-USE selection.
    c.ok("s1", "CREATE MyArchive (USE (\\Archive))").await;
    let r = c.cmd("s2", "CREATE Bad (USE (\\Bogus))").await;
    assert!(tagged(&r).starts_with("s2 NO [USEATTR]"), "{r:?}");
    let r = c.ok("s3", "LIST (SPECIAL-USE) \"\" *").await;
    let names: Vec<&str> = lines(&r, "* LIST")
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Archive", "Drafts", "Junk", "MyArchive", "Sent", "Trash"]
    );
    // The RFC 3501 §6.3.8 regression: a multi-byte pattern.
    let r = c.ok("u1", "LIST \"\" \"€€\"").await;
    assert_eq!(r.len(), 1, "{r:?}");
    drop(c);
    server.stop().await;
}

/// RFC 9051 §6.3.7-8, RFC 3501 §6.3.9 LSUB, RFC 5258 §3.5 RECURSIVEMATCH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    for m in ["Lists/a", "Lists/b", "Gone"] {
        c.ok("c", &format!("CREATE {m}")).await;
    }
    c.ok("s1", "SUBSCRIBE Lists/a").await;
    c.ok("s2", "SUBSCRIBE Gone").await;
    c.ok("d", "DELETE Gone").await;
    // LSUB % shows the unsubscribed parent as \Noselect.
    let r = c.ok("l1", "LSUB \"\" %").await;
    assert!(
        r.contains(&"* LSUB (\\Noselect) \"/\" Lists".to_string()),
        "{r:#?}"
    );
    assert!(
        r.contains(&"* LSUB (\\Noselect) \"/\" Gone".to_string()),
        "{r:#?}"
    );
    let r = c.ok("l2", "LIST (SUBSCRIBED) \"\" *").await;
    assert!(
        r.contains(&"* LIST (\\HasNoChildren \\Subscribed) \"/\" Lists/a".to_string()),
        "{r:#?}"
    );
    assert!(
        r.contains(&"* LIST (\\NonExistent \\HasNoChildren \\Subscribed) \"/\" Gone".to_string()),
        "{r:#?}"
    );
    let r = c
        .ok(
            "l3",
            "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (CHILDREN)",
        )
        .await;
    assert!(
        r.contains(
            &"* LIST (\\NonExistent \\HasChildren) \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))"
                .to_string()
        ),
        "{r:#?}"
    );
    for bad in [
        "LIST (RECURSIVEMATCH) \"\" %",
        "LIST (IMAPTEST) \"\" %",
        "LIST \"\" % RETURN (IMAPTEST)",
    ] {
        let r = c.cmd("b", bad).await;
        assert!(tagged(&r).starts_with("b BAD"), "{bad}: {r:?}");
    }
    c.ok("u", "UNSUBSCRIBE Lists/a").await;
    let r = c.ok("l4", "LSUB \"\" Lists/*").await;
    assert_eq!(r.len(), 1, "{r:?}");
    drop(c);
    server.stop().await;
}

/// RFC 9051 §6.3.11 STATUS, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC
/// 5819 LIST-STATUS, RFC 8474 MAILBOXID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_list_status() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("s", "x");
    append(&mut c, "INBOX", "\\Seen", &m).await;
    append(&mut c, "INBOX", "\\Deleted", &m).await;
    let r = c
        .ok(
            "s1",
            "STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN DELETED SIZE)",
        )
        .await;
    assert_eq!(
        r[0],
        format!(
            "* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE {})",
            2 * m.len()
        )
    );
    let r = c.ok("s2", "STATUS INBOX (MAILBOXID HIGHESTMODSEQ)").await;
    assert!(r[0].starts_with("* STATUS INBOX (MAILBOXID (M"), "{r:?}");
    let r = c
        .ok("l", "LIST \"\" INBOX RETURN (STATUS (MESSAGES UNSEEN))")
        .await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" INBOX");
    assert_eq!(r[1], "* STATUS INBOX (MESSAGES 2 UNSEEN 1)");
    let r = c.cmd("s3", "STATUS nosuch (MESSAGES)").await;
    assert!(tagged(&r).starts_with("s3 NO [NONEXISTENT]"), "{r:?}");
    drop(c);
    server.stop().await;
}

/// RFC 3501 §5.1.3 modified UTF-7, RFC 6855 UTF8=ACCEPT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn international_mailbox_names() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    c.ok("c", "CREATE \"Entw&APw-rfe\"").await;
    let r = c.ok("l", "LIST \"\" Entw*").await;
    assert_eq!(
        lines(&r, "* LIST"),
        ["* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe"]
    );
    let r = c.cmd("b", "CREATE \"a&b\"").await;
    assert!(tagged(&r).starts_with("b NO"), "{r:?}");
    // Another session after ENABLE UTF8=ACCEPT sees and sends UTF-8.
    let mut u = imap_tls_login(&server, ALICE).await;
    let r = u.ok("e", "ENABLE UTF8=ACCEPT").await;
    assert_eq!(r[0], "* ENABLED UTF8=ACCEPT");
    let r = u.ok("l", "LIST \"\" Entw*").await;
    assert_eq!(
        lines(&r, "* LIST"),
        ["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\""]
    );
    u.ok("s", "SELECT \"Entwürfe\"").await;
    // Thunderbird sends `&` unencoded after UTF8=ACCEPT.
    u.ok("c", "CREATE \"Q&A\"").await;
    let r = c.ok("l2", "LIST \"\" Q*").await;
    assert_eq!(lines(&r, "* LIST"), ["* LIST (\\HasNoChildren) \"/\" Q&-A"]);
    drop((c, u));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// SELECT, \Recent, EXPUNGE, CLOSE
// ---------------------------------------------------------------------------

/// RFC 9051 §6.3.2, RFC 3501 §2.3.2 (\Recent belongs to one session),
/// §6.4.2 CLOSE, RFC 4315 UID EXPUNGE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_recent_and_expunge() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("r", "x");
    for _ in 0..4 {
        append(&mut c, "INBOX", "", &m).await;
    }
    let r = c.ok("e", "EXAMINE INBOX").await;
    assert!(r.contains(&"* 4 EXISTS".to_string()), "{r:#?}");
    assert!(r.contains(&"* 4 RECENT".to_string()), "{r:#?}");
    assert!(
        r.contains(&"* OK [UNSEEN 1] First unseen".to_string()),
        "{r:#?}"
    );
    assert!(tagged(&r).contains("[READ-ONLY]"));
    // EXAMINE does not take \Recent; SELECT does, once.
    let r = c.ok("s", "SELECT INBOX").await;
    assert!(r.contains(&"* 4 RECENT".to_string()), "{r:#?}");
    let mut other = imap_tls_login(&server, ALICE).await;
    let r = other.ok("s", "SELECT INBOX").await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:#?}");
    c.ok("st", "STORE 1:3 +FLAGS.SILENT (\\Deleted)").await;
    let r = c.ok("x", "UID EXPUNGE 2:3").await;
    assert_eq!(
        r[..2],
        ["* 3 EXPUNGE".to_string(), "* 2 EXPUNGE".to_string()]
    );
    // The other session hears of it at its next command.
    let r = other.ok("n", "NOOP").await;
    assert!(
        r.contains(&"* 3 EXPUNGE".to_string()) && r.contains(&"* 2 EXPUNGE".to_string()),
        "{r:#?}"
    );
    let r = c.ok("cl", "CLOSE").await;
    assert_eq!(r.len(), 1, "CLOSE expunges silently: {r:?}");
    let r = other.ok("n2", "NOOP").await;
    assert!(r.contains(&"* 1 EXPUNGE".to_string()), "{r:#?}");
    let r = c.cmd("f", "FETCH 1 FLAGS").await;
    assert!(
        tagged(&r).starts_with("f BAD"),
        "no mailbox after CLOSE: {r:?}"
    );
    drop((c, other));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// APPEND, COPY, MOVE
// ---------------------------------------------------------------------------

/// RFC 3502 MULTIAPPEND, RFC 4469 CATENATE, RFC 4315 APPENDUID/COPYUID,
/// RFC 6851 MOVE, RFC 7889 APPENDLIMIT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_copy_move() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let (a, b) = (msg("one", "first"), msg("two", "second"));
    let r = c
        .ok(
            "m",
            &format!(
                "APPEND INBOX (\\Seen) {{{}+}}\r\n{a} (\\Flagged) {{{}+}}\r\n{b}",
                a.len(),
                b.len()
            ),
        )
        .await;
    let code = response_code(tagged(&r), "APPENDUID");
    assert_eq!(code[1], "1:2");
    let r = c.cmd("t", "APPEND Nowhere {1+}\r\nx").await;
    assert!(tagged(&r).starts_with("t NO [TRYCREATE]"), "{r:?}");
    let validity = code[0];
    let r = c
        .ok(
            "cat",
            &format!(
                "APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY={validity}/;UID=1/;SECTION=HEADER\" TEXT {{7+}}\r\nbody!\r\n)"
            ),
        )
        .await;
    assert!(tagged(&r).contains("APPENDUID"), "{r:?}");
    let r = c
        .cmd(
            "bad",
            "APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=1\")",
        )
        .await;
    assert!(tagged(&r).starts_with("bad NO [BADURL"), "{r:?}");
    c.ok("sd", "SELECT Drafts").await;
    let r = c.ok("f", "FETCH 1 BODY.PEEK[]").await;
    assert!(r[0].contains("Subject: one\r\n"), "{r:?}");
    assert!(r[0].ends_with("\r\n\r\nbody!\r\n)"), "{r:?}");

    c.ok("si", "SELECT INBOX").await;
    let r = c.ok("cp", "COPY 1:2 Trash").await;
    let code = response_code(tagged(&r), "COPYUID");
    assert_eq!(code[1..], ["1:2", "1:2"]);
    let r = c.cmd("cp2", "COPY 1 Nowhere").await;
    assert!(tagged(&r).starts_with("cp2 NO [TRYCREATE]"), "{r:?}");
    // MOVE: COPYUID in an untagged OK, then the expunge (RFC 6851 §4.3).
    let r = c.ok("mv", "UID MOVE 2 Archive").await;
    assert!(
        r[0].starts_with("* OK [COPYUID ") && r[0].contains(" 2 1]"),
        "{r:?}"
    );
    assert_eq!(r[1], "* 2 EXPUNGE");
    let r = c.ok("s", "STATUS Archive (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS Archive (MESSAGES 1)");
    c.ok("ex", "EXAMINE Archive").await;
    let r = c.cmd("mv2", "MOVE 1 INBOX").await;
    assert!(tagged(&r).starts_with("mv2 NO [READ-ONLY]"), "{r:?}");
    let r = c.ok("ff", "FETCH 1 FLAGS").await;
    assert!(
        r[0].contains("\\Flagged"),
        "flags move with the message: {r:?}"
    );
    drop(c);
    server.stop().await;
}

/// RFC 9208: quota from `[limits]`, NO [OVERQUOTA] on APPEND and COPY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota() {
    let server = start_server_extra("[limits]\nquota_bytes = 4096\nquota_messages = 3\n").await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("q", &"x".repeat(1000));
    append(&mut c, "INBOX", "", &m).await;
    let r = c.ok("g", "GETQUOTAROOT INBOX").await;
    assert_eq!(r[0], "* QUOTAROOT INBOX \"\"");
    assert_eq!(r[1], "* QUOTA \"\" (STORAGE 2 4 MESSAGE 1 3)");
    let r = c.ok("g2", "GETQUOTA \"\"").await;
    assert_eq!(r[0], "* QUOTA \"\" (STORAGE 2 4 MESSAGE 1 3)");
    let r = c.cmd("sq", "SETQUOTA \"\" (STORAGE 100)").await;
    assert!(tagged(&r).starts_with("sq NO"), "{r:?}");
    append(&mut c, "INBOX", "", &m).await;
    append(&mut c, "INBOX", "", &m).await;
    let r = c
        .cmd("a", &format!("APPEND INBOX {{{}+}}\r\n{m}", m.len()))
        .await;
    assert!(tagged(&r).starts_with("a NO [OVERQUOTA]"), "{r:?}");
    c.ok("s", "SELECT INBOX").await;
    let r = c.cmd("c", "COPY 1 Trash").await;
    assert!(tagged(&r).starts_with("c NO [OVERQUOTA]"), "{r:?}");
    drop(c);
    // SMTP: the full mailbox is a temporary failure at RCPT (RFC 3463 4.2.2).
    let (mut s, _) = smtp_tls_login(&server, BOB).await;
    s.smtp_expect("MAIL FROM:<bob@example.test>", 250).await;
    let lines = s.smtp_expect("RCPT TO:<alice@example.test>", 452).await;
    assert!(lines[0].starts_with("452 4.2.2"), "{lines:?}");
    drop(s);
    server.stop().await;
}

/// RFC 5530 LIMIT: `[limits] max_keywords` caps a mailbox's keywords for
/// STORE and APPEND alike, and `max_mailboxes` caps CREATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_and_mailbox_limits() {
    let server = start_server_extra("[limits]\nmax_keywords = 3\nmax_mailboxes = 7\n").await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("k", "body");
    let r = c
        .cmd(
            "a",
            &format!("APPEND INBOX (k1 k2 k3 k4) {{{}+}}\r\n{m}", m.len()),
        )
        .await;
    assert!(tagged(&r).starts_with("a NO [LIMIT]"), "{r:?}");
    append(&mut c, "INBOX", "k1 k2 \\Seen", &m).await;
    c.ok("s", "SELECT INBOX").await;
    c.ok("t", "STORE 1 +FLAGS (k3)").await;
    let r = c.cmd("u", "STORE 1 +FLAGS (k4)").await;
    assert!(tagged(&r).starts_with("u NO [LIMIT]"), "{r:?}");
    // A keyword the mailbox knows is no new one.
    append(&mut c, "INBOX", "k1 K3", &m).await;

    let have = c.ok("l", "LIST \"\" *").await.len() - 1;
    for i in have..7 {
        c.ok("c", &format!("CREATE box{i}")).await;
    }
    let r = c.cmd("x", "CREATE onemore").await;
    assert!(tagged(&r).starts_with("x NO [LIMIT]"), "{r:?}");
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// FETCH
// ---------------------------------------------------------------------------

const MIXED: &str = "From: a@example.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n";

/// RFC 9051 §6.4.5 sections and partials, RFC 3516 BINARY, RFC 8970
/// PREVIEW, RFC 8474 EMAILID/THREADID, RFC 8514 SAVEDATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_items() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    append(&mut c, "INBOX", "", MIXED).await;
    append(&mut c, "INBOX", "", MSG1).await;
    c.ok("s", "SELECT INBOX").await;
    let r = c
        .ok(
            "f1",
            "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[1.MIME])",
        )
        .await;
    assert_eq!(
        literal_after(&r[0], "BODY[HEADER.FIELDS (SUBJECT)]"),
        "Subject: parts\r\n\r\n"
    );
    assert_eq!(
        literal_after(&r[0], "BODY[1.MIME]"),
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    let r = c
        .ok(
            "f2",
            "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Subject From)])",
        )
        .await;
    assert!(
        !r[0].contains("Subject:") && r[0].contains("MIME-Version"),
        "{r:?}"
    );
    let r = c
        .ok(
            "f3",
            "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2]<1.1>)",
        )
        .await;
    assert_eq!(literal_after(&r[0], "BINARY[1]"), "Grüße");
    assert!(r[0].contains("BINARY.SIZE[2] 3"), "{r:?}");
    assert!(r[0].contains("BINARY[2]<1> {1}\r\n\u{1}"), "{r:?}");
    let r = c
        .ok("f4", "FETCH 2 (BODY.PEEK[TEXT]<6.3> RFC822.HEADER)")
        .await;
    assert!(r[0].contains("BODY[TEXT]<6> {3}\r\nJoe"), "{r:?}");
    let r = c
        .ok("f5", "FETCH 2 (PREVIEW EMAILID THREADID SAVEDATE)")
        .await;
    assert!(
        r[0].contains("PREVIEW \"Hello Joe, do you think we can meet at 3:30 tomorrow?\""),
        "{r:?}"
    );
    assert!(
        r[0].contains("EMAILID (E") && r[0].contains("THREADID (T"),
        "{r:?}"
    );
    assert!(r[0].contains("SAVEDATE \""), "{r:?}");
    let r = c.ok("f6", "FETCH 2 (ENVELOPE)").await;
    assert!(
        r[0].starts_with("* 2 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\"))"),
        "{r:?}"
    );
    // RFC822 (no PEEK) sets \Seen and says so.
    let r = c.ok("f7", "FETCH 2 RFC822").await;
    assert!(r[0].contains("FLAGS (\\Recent \\Seen)"), "{r:?}");
    let r = c.cmd("f8", "FETCH 3 FLAGS").await;
    assert!(tagged(&r).starts_with("f8 BAD"), "{r:?}");
    let r = c.ok("f9", "UID FETCH 100:* (FLAGS)").await;
    assert!(
        r[0].starts_with("* 2 FETCH (UID 2 "),
        "`*` names the last UID: {r:?}"
    );
    drop(c);
    server.stop().await;
}

/// A FETCH larger than one slice comes out whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_fetch_is_streamed() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let big = msg("big", &"y".repeat(300 * 1024));
    for _ in 0..3 {
        append(&mut c, "INBOX", "", &big).await;
    }
    let small = msg("s", "z");
    // MULTIAPPEND takes up to 1000 messages at once.
    for _ in 0..2 {
        let mut cmd = String::from("APPEND INBOX");
        for _ in 0..750 {
            cmd.push_str(&format!(" {{{}+}}\r\n{small}", small.len()));
        }
        let r = c.cmd("m", &cmd).await;
        assert!(tagged(&r).starts_with("m OK"), "{}", tagged(&r));
    }
    c.ok("s", "SELECT INBOX").await;
    let r = c.ok("f", "FETCH 1:* (UID BODY.PEEK[])").await;
    assert_eq!(r.len(), 1504);
    for (i, line) in r[..1503].iter().enumerate() {
        assert!(
            line.starts_with(&format!("* {} FETCH (UID {} ", i + 1, i + 1)),
            "{i}"
        );
    }
    assert_eq!(literal_after(&r[1], "BODY[]"), big);
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// STORE, CONDSTORE, QRESYNC
// ---------------------------------------------------------------------------

/// RFC 9051 §6.4.6 every form; RFC 7162 §3.1.3 UNCHANGEDSINCE/MODIFIED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_forms_and_condstore() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("st", "x");
    for _ in 0..3 {
        append(&mut c, "INBOX", "", &m).await;
    }
    c.ok("s", "SELECT INBOX (CONDSTORE)").await;
    let r = c.ok("a", "STORE 1 +FLAGS (\\Seen $Work)").await;
    // A new keyword is announced before it is used.
    assert!(r[0].starts_with("* FLAGS ("), "{r:?}");
    assert!(r[0].contains("$Work"), "{r:?}");
    let fetch = lines(&r, "* 1 FETCH")[0];
    assert!(
        fetch.contains("FLAGS (\\Recent \\Seen $Work) MODSEQ ("),
        "{r:?}"
    );
    let r = c.ok("b", "STORE 1 -FLAGS.SILENT ($Work)").await;
    assert!(
        lines(&r, "* 1 FETCH")[0].starts_with("* 1 FETCH (MODSEQ ("),
        "{r:?}"
    );
    let r = c.ok("c", "STORE 2 FLAGS (\\Answered \\Draft)").await;
    assert!(
        r[0].contains("FLAGS (\\Recent \\Answered \\Draft)"),
        "{r:?}"
    );
    let r = c.ok("f", "FETCH 2 (MODSEQ)").await;
    let modseq: u64 = r[0]
        .rsplit_once("MODSEQ (")
        .unwrap()
        .1
        .trim_end_matches("))")
        .parse()
        .unwrap();
    // 2 changed since `modseq`? No: 3 may change, 2 may not.
    c.ok("t", "STORE 2 +FLAGS (\\Flagged)").await;
    let r = c
        .ok(
            "u",
            &format!("STORE 2:3 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Deleted)"),
        )
        .await;
    assert_eq!(tagged(&r), "u OK [MODIFIED 2] Conditional STORE failed");
    assert_eq!(lines(&r, "* 3 FETCH").len(), 1, "{r:?}");
    let r = c.ok("sr", "SEARCH MODSEQ 1 SEEN").await;
    assert!(r[0].starts_with("* SEARCH 1 (MODSEQ "), "{r:?}");
    let r = c.ok("fc", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)").await;
    assert_eq!(lines(&r, "* ").len(), 3, "{r:?}");
    drop(c);
    server.stop().await;
}

/// RFC 7162 §3.2.5: a client that was away resyncs with one SELECT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qresync_after_changes_elsewhere() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("q", "x");
    for _ in 0..5 {
        append(&mut c, "INBOX", "", &m).await;
    }
    c.ok("e", "ENABLE QRESYNC").await;
    let r = c.ok("s", "SELECT INBOX").await;
    let validity = response_code(lines(&r, "* OK [UIDVALIDITY")[0], "UIDVALIDITY")[0].to_string();
    let modseq = response_code(lines(&r, "* OK [HIGHESTMODSEQ")[0], "HIGHESTMODSEQ")[0].to_string();
    c.ok("l", "LOGOUT").await;

    let mut other = imap_tls_login(&server, ALICE).await;
    other.ok("s", "SELECT INBOX").await;
    other.ok("a", "STORE 2 +FLAGS (\\Seen)").await;
    other.ok("b", "STORE 4 +FLAGS (\\Deleted)").await;
    other.ok("x", "EXPUNGE").await;
    drop(other);

    let mut c = imap_tls_login(&server, ALICE).await;
    c.ok("e", "ENABLE QRESYNC").await;
    let r = c
        .ok(
            "s",
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq}))"),
        )
        .await;
    assert!(r.contains(&"* VANISHED (EARLIER) 4".to_string()), "{r:#?}");
    let fetches = lines(&r, "* 2 FETCH");
    assert_eq!(fetches.len(), 1, "{r:#?}");
    assert!(
        fetches[0].contains("UID 2 FLAGS (\\Seen) MODSEQ ("),
        "{r:#?}"
    );
    // VANISHED in UID FETCH (RFC 7162 §3.2.6) and for live expunges.
    let r = c
        .ok(
            "f",
            &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)"),
        )
        .await;
    assert_eq!(r[0], "* VANISHED (EARLIER) 4");
    c.ok("d", "STORE 1 +FLAGS (\\Deleted)").await;
    let r = c.ok("x", "EXPUNGE").await;
    assert_eq!(r[0], "* VANISHED 1");
    let r = c.cmd("b", "SELECT INBOX (QRESYNC (1))").await;
    assert!(tagged(&r).starts_with("b BAD"), "{r:?}");
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// SEARCH, SORT, THREAD
// ---------------------------------------------------------------------------

/// RFC 9051 §6.4.4 keys, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5267
/// PARTIAL and UPDATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_keys_and_results() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    append(&mut c, "INBOX", "\\Seen", MSG1).await;
    append(
        &mut c,
        "INBOX",
        "",
        &msg("Quarterly report", "numbers inside"),
    )
    .await;
    append(&mut c, "INBOX", "\\Flagged", MIXED).await;
    c.ok("s", "SELECT INBOX").await;
    let cases = [
        ("UNSEEN", "2 3"),
        ("FLAGGED", "3"),
        ("TEXT tomorrow", "1"),
        ("BODY \"grüße\"", "3"),
        ("SUBJECT REPORT", "2"),
        ("FROM foobar@blurdybloop.example", "1"),
        ("HEADER Message-Id B27397", "1"),
        ("HEADER X-Missing \"\"", ""),
        ("SENTBEFORE 1-Jan-2000", "1"),
        ("SENTSINCE 1-Dec-2026", "2 3"),
        ("LARGER 315", "1"),
        ("SMALLER 200", "2"),
        ("NOT SEEN OR FLAGGED TEXT numbers", "2 3"),
        ("1:2 UID 2:3", "2"),
        ("CHARSET UTF-8 BODY {7+}\r\ngrüße", "3"),
        ("SAVEDATESUPPORTED", "1 2 3"),
        ("YOUNGER 3600", "1 2 3"),
    ];
    for (key, expect) in cases {
        let r = c.ok("k", &format!("SEARCH {key}")).await;
        let want = if expect.is_empty() {
            "* SEARCH".to_string()
        } else {
            format!("* SEARCH {expect}")
        };
        assert_eq!(r[0], want, "SEARCH {key}");
    }
    let r = c.cmd("cs", "SEARCH CHARSET KOI8-R ALL").await;
    assert!(tagged(&r).starts_with("cs NO [BADCHARSET"), "{r:?}");
    let r = c.ok("e", "SEARCH RETURN (MIN MAX COUNT ALL) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"e\") MIN 1 MAX 3 COUNT 3 ALL 1:3");
    let r = c.ok("e2", "UID SEARCH RETURN () NOT ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"e2\") UID");
    let r = c.ok("p", "SEARCH RETURN (PARTIAL 2:9) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"p\") PARTIAL (2:9 2:3)");
    // SEARCHRES: $ is the saved result (RFC 5182 §2).
    let r = c.ok("sv", "SEARCH RETURN (SAVE) UNSEEN").await;
    assert_eq!(r.len(), 1, "SAVE alone answers nothing: {r:?}");
    let r = c.ok("f", "FETCH $ (UID)").await;
    assert_eq!(lines(&r, "* "), ["* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"]);
    // UPDATE: the client hears when the result changes (RFC 5267 §4.3).
    c.ok("up", "SEARCH RETURN (UPDATE) FLAGGED").await;
    let r = c.ok("st", "STORE 1 +FLAGS (\\Flagged)").await;
    assert!(
        r.contains(&"* ESEARCH (TAG \"up\") ADDTO (0 1)".to_string()),
        "{r:#?}"
    );
    c.ok("cu", "CANCELUPDATE \"up\"").await;
    let r = c.ok("st2", "STORE 1 -FLAGS (\\Flagged)").await;
    assert!(lines(&r, "* ESEARCH").is_empty(), "{r:#?}");
    drop(c);
    server.stop().await;
}

/// RFC 5256 SORT and THREAD, RFC 5957 DISPLAY, RFC 5267 ESORT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_and_thread() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let mails = [
        "From: Zed <z@example.test>\r\nSubject: Re: plans\r\nDate: Wed, 2 Dec 2026 10:00:00 +0000\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\nsecond\r\n",
        "From: Amy <a@example.test>\r\nSubject: plans\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\nfirst\r\n",
        "From: Bob <b@example.test>\r\nSubject: other\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\nMessage-ID: <c@x>\r\n\r\nthird\r\n",
    ];
    for m in mails {
        append(&mut c, "INBOX", "", m).await;
    }
    c.ok("s", "SELECT INBOX").await;
    let r = c.ok("a", "SORT (DATE) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 2 1 3");
    let r = c.ok("b", "SORT (SUBJECT REVERSE DATE) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 3 1 2");
    let r = c.ok("c", "UID SORT (DISPLAYFROM) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 2 3 1");
    let r = c
        .ok("d", "SORT RETURN (MIN COUNT ALL) (REVERSE DATE) UTF-8 ALL")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"d\") MIN 3 COUNT 3 ALL 3,1:2");
    let r = c.ok("t", "THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(r[0], "* THREAD (2 1)(3)");
    let r = c.ok("t2", "THREAD ORDEREDSUBJECT UTF-8 ALL").await;
    assert_eq!(r[0], "* THREAD (2 1)(3)");
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Several sessions on one mailbox
// ---------------------------------------------------------------------------

/// RFC 9051 §5.2, §7.5.1: other sessions' changes reach a session as
/// EXISTS, FETCH FLAGS and EXPUNGE, and never an EXPUNGE during FETCH,
/// STORE or SEARCH; at once during IDLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sessions_on_one_mailbox() {
    let server = start_server().await;
    let mut a = imap_tls_login(&server, ALICE).await;
    let mut b = imap_tls_login(&server, ALICE).await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let m = msg("ms", "x");
    for _ in 0..3 {
        append(&mut a, "INBOX", "", &m).await;
    }
    a.ok("s", "SELECT INBOX").await;
    b.ok("s", "SELECT INBOX").await;
    c.ok("s", "SELECT INBOX").await;
    // A flag change by `a` reaches `b` as FETCH FLAGS.
    a.ok("f", "STORE 2 +FLAGS (\\Answered)").await;
    let r = b.ok("n", "NOOP").await;
    assert_eq!(
        lines(&r, "* 2 FETCH"),
        ["* 2 FETCH (UID 2 FLAGS (\\Answered))"]
    );
    // An expunge by `a` is held back from `b`'s FETCH and SEARCH...
    a.ok("d", "STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    a.ok("x", "EXPUNGE").await;
    let r = b.ok("f", "FETCH 1:3 (UID)").await;
    assert!(lines(&r, "* 1 EXPUNGE").is_empty(), "{r:#?}");
    let r = b.ok("se", "SEARCH ALL").await;
    assert!(lines(&r, "* 1 EXPUNGE").is_empty(), "{r:#?}");
    // ...and given at the next command that allows it.
    let r = b.ok("n2", "NOOP").await;
    assert!(r.contains(&"* 1 EXPUNGE".to_string()), "{r:#?}");
    let r = b.ok("f2", "FETCH 1 (UID)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 2)", "numbers follow the expunge");
    // IDLE hears of a delivery at once (RFC 2177).
    c.send("i IDLE\r\n").await;
    assert!(c.line().await.starts_with('+'));
    // What `c` missed is reported at once: the expunge, then the flags
    // under the new numbers.
    assert_eq!(c.line().await, "* 1 EXPUNGE");
    assert_eq!(c.line().await, "* 1 FETCH (UID 2 FLAGS (\\Answered))");
    let (mut smtp, _) = smtp_tls_login(&server, BOB).await;
    smtp.smtp_expect("MAIL FROM:<bob@example.test>", 250).await;
    smtp.smtp_expect("RCPT TO:<alice@example.test>", 250).await;
    smtp.smtp_expect("DATA", 354).await;
    smtp.smtp_expect(&format!("{}\r\n.", msg("new", "arrived")), 250)
        .await;
    let exists = c
        .try_line(Duration::from_secs(5))
        .await
        .expect("EXISTS in IDLE");
    assert_eq!(exists, "* 3 EXISTS");
    let recent = c.line().await;
    assert_eq!(recent, "* 1 RECENT", "the first session to hear of it");
    c.send("DONE\r\n").await;
    assert_eq!(c.line().await, "i OK IDLE terminated");
    let r = a.ok("n3", "NOOP").await;
    // `a` keeps its own two \Recent; the new one went to `c`.
    assert!(
        r.contains(&"* 3 EXISTS".to_string()) && r.contains(&"* 2 RECENT".to_string()),
        "{r:#?}"
    );
    // A mailbox deleted under a session ends that session.
    a.ok("cr", "CREATE Doomed").await;
    b.ok("sd", "SELECT Doomed").await;
    a.ok("dl", "DELETE Doomed").await;
    b.send("n NOOP\r\n").await;
    let bye = b.line().await;
    assert!(bye.starts_with("* BYE"), "{bye}");
    drop((a, c, smtp));
    server.stop().await;
}

/// Sequence numbers stay each session's own: a session that has not yet
/// been told of an expunge still addresses messages by its old numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_numbers_are_per_session() {
    let server = start_server().await;
    let mut a = imap_tls_login(&server, ALICE).await;
    let mut b = imap_tls_login(&server, ALICE).await;
    let m = msg("seq", "x");
    for _ in 0..3 {
        append(&mut a, "INBOX", "", &m).await;
    }
    a.ok("s", "SELECT INBOX").await;
    b.ok("s", "SELECT INBOX").await;
    a.ok("d", "STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    a.ok("x", "EXPUNGE").await;
    // `b` still calls UID 3 number 3 until it is told of the expunge.
    let r = b.ok("st", "STORE 3 +FLAGS (\\Flagged)").await;
    assert_eq!(lines(&r, "* 3 FETCH")[0], "* 3 FETCH (FLAGS (\\Flagged))");
    let r = a.ok("f", "FETCH 2 (UID FLAGS)").await;
    assert_eq!(
        r[0], "* 2 FETCH (UID 3 FLAGS (\\Recent \\Flagged))",
        "{r:#?}"
    );
    drop((a, b));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// COMPRESS, NOTIFY, ENABLE, ID, NAMESPACE
// ---------------------------------------------------------------------------

/// RFC 4978: after the OK, both directions are DEFLATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_deflate() {
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let r = c.ok("z", "COMPRESS DEFLATE").await;
    assert_eq!(r[0], "z OK DEFLATE active");
    let mut out = Compress::new(Compression::default(), false);
    let mut inp = Decompress::new(false);
    let mut wire = Vec::with_capacity(4096);
    out.compress_vec(
        b"n1 NOOP\r\nn2 COMPRESS DEFLATE\r\n",
        &mut wire,
        FlushCompress::Sync,
    )
    .unwrap();
    c.send(&wire).await;
    let mut plain = Vec::with_capacity(4096);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&plain).contains("n2 ") {
        assert!(std::time::Instant::now() < deadline, "no compressed answer");
        let raw = c.raw_chunk(Duration::from_secs(5)).await;
        let mut chunk = Vec::with_capacity(raw.len() * 20 + 1024);
        inp.decompress_vec(&raw, &mut chunk, FlushDecompress::Sync)
            .unwrap();
        plain.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&plain);
    assert!(text.contains("n1 OK NOOP completed\r\n"), "{text}");
    assert!(text.contains("n2 NO [COMPRESSIONACTIVE]"), "{text}");
    drop(c);
    server.stop().await;
}

/// RFC 5465: STATUS of watched mailboxes at once, and changes without a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_reports_other_mailboxes() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    c.ok("c", "CREATE Lists").await;
    let r = c
        .ok(
            "n",
            "NOTIFY SET STATUS (mailboxes Lists (MessageNew MessageExpunge))",
        )
        .await;
    assert!(
        r[0].starts_with("* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY "),
        "{r:?}"
    );
    let mut other = imap_tls_login(&server, ALICE).await;
    append(&mut other, "Lists", "", &msg("n", "x")).await;
    let line = c
        .try_line(Duration::from_secs(5))
        .await
        .expect("a notification without a command");
    assert!(
        line.starts_with("* STATUS Lists (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "),
        "{line}"
    );
    let r = c.cmd("b", "NOTIFY SET (personal (AnnotationChange))").await;
    assert!(tagged(&r).starts_with("b NO [BADEVENT"), "{r:?}");
    c.ok("none", "NOTIFY NONE").await;
    drop((c, other));
    server.stop().await;
}

/// RFC 5161 ENABLE, RFC 2971 ID, RFC 2342 NAMESPACE, RFC 9051 IMAP4rev2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_id_namespace() {
    let server = start_server().await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let r = c
        .ok("i", "ID (\"name\" \"Thunderbird\" \"version\" \"140.0\")")
        .await;
    assert!(r[0].starts_with("* ID (\"name\" \"tokenmail\""), "{r:?}");
    let r = c.ok("n", "NAMESPACE").await;
    assert_eq!(r[0], "* NAMESPACE ((\"\" \"/\")) NIL NIL");
    let r = c.ok("e", "ENABLE CONDSTORE X-UNKNOWN QRESYNC").await;
    assert_eq!(r[0], "* ENABLED CONDSTORE QRESYNC");
    let r = c.ok("e2", "ENABLE CONDSTORE IMAP4rev2").await;
    assert_eq!(r[0], "* ENABLED IMAP4rev2");
    append(&mut c, "INBOX", "", &msg("r2", "x")).await;
    let r = c.ok("s", "SELECT INBOX").await;
    assert!(
        lines(&r, "* 1 RECENT").is_empty(),
        "no \\Recent in IMAP4rev2: {r:#?}"
    );
    assert!(r.contains(&"* LIST () \"/\" INBOX".to_string()), "{r:#?}");
    let r = c.ok("sr", "SEARCH ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"sr\") ALL 1");
    let r = c.cmd("e3", "ENABLE UTF8=ACCEPT").await;
    assert!(
        tagged(&r).starts_with("e3 BAD"),
        "not with a mailbox selected: {r:?}"
    );
    drop(c);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Every command in every state
// ---------------------------------------------------------------------------

/// Every command the server knows, with valid arguments, in each state:
/// BAD where the state does not allow it (RFC 9051 §6), and never
/// `NO [CANNOT]` (not implemented) where it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_in_every_state() {
    let server = start_server().await;
    let any = ["CAPABILITY", "NOOP", "ID NIL"];
    let auth = [
        "ENABLE CONDSTORE",
        "CREATE sweep",
        "SUBSCRIBE sweep",
        "UNSUBSCRIBE sweep",
        "LIST \"\" *",
        "LSUB \"\" *",
        "NAMESPACE",
        "STATUS INBOX (MESSAGES)",
        "GETQUOTAROOT INBOX",
        "RENAME sweep sweep2",
        "DELETE sweep2",
        "NOTIFY NONE",
        "APPEND INBOX {5+}\r\nHi!\r\n",
    ];
    let selected = [
        "CHECK",
        "FETCH 1 (FLAGS)",
        "UID FETCH 1:* (UID)",
        "STORE 1 +FLAGS (\\Seen)",
        "UID STORE 1 -FLAGS (\\Seen)",
        "SEARCH ALL",
        "UID SEARCH ALL",
        "SORT (DATE) UTF-8 ALL",
        "UID THREAD REFERENCES UTF-8 ALL",
        "COPY 1 Trash",
        "UID COPY 1 Trash",
        "EXPUNGE",
        "UID EXPUNGE 1",
        "MOVE 1 Trash",
        "UNSELECT",
    ];
    // Not authenticated: only the any-state commands.
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    c.line().await;
    for cmd in any {
        c.ok("a", cmd).await;
    }
    for cmd in auth.iter().chain(&selected) {
        let r = c.cmd("x", cmd).await;
        assert!(tagged(&r).starts_with("x BAD"), "{cmd} before login: {r:?}");
    }
    // Authenticated: the selected-state commands are BAD.
    let mut c = imap_tls_login(&server, ALICE).await;
    for cmd in any.iter().chain(&auth) {
        let r = c.cmd("y", cmd).await;
        assert!(!tagged(&r).contains("[CANNOT]"), "{cmd}: {r:?}");
        assert!(tagged(&r).starts_with("y OK"), "{cmd}: {r:?}");
    }
    for cmd in selected {
        let r = c.cmd("y", cmd).await;
        assert!(
            tagged(&r).starts_with("y BAD"),
            "{cmd} without a mailbox: {r:?}"
        );
    }
    // Selected: everything.
    c.ok("s", "SELECT INBOX").await;
    for cmd in any.iter().chain(&selected) {
        let r = c.cmd("z", cmd).await;
        assert!(tagged(&r).starts_with("z OK"), "{cmd}: {r:?}");
        if *cmd == "UNSELECT" {
            break;
        }
    }
    c.ok("s2", "SELECT INBOX").await;
    let r = c.cmd("e", "ENABLE UTF8=ACCEPT").await;
    assert!(tagged(&r).starts_with("e BAD"), "{r:?}");
    let r = c.ok("l", "LOGOUT").await;
    assert!(r[0].starts_with("* BYE"), "{r:?}");
    server.stop().await;
}
