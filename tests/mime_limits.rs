//! `[limits] max_mime_depth` and `max_mime_parts` reach the parse at
//! delivery: a message nested deeper than the limit is served with the
//! deeper container as one opaque part, and a multipart with more parts than
//! the limit lists only that many. (A file of its own: the limits are
//! process-wide, and the other test binaries use the defaults.)

mod common;

use common::*;

/// A message of `levels` nested multipart/mixed containers around one
/// text part.
fn nested(levels: usize) -> String {
    let mut m = String::from("From: a@example.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for i in 0..levels {
        m += &format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n");
    }
    m += "Content-Type: text/plain\r\n\r\ninnermost\r\n";
    for i in (0..levels).rev() {
        m += &format!("--b{i}--\r\n");
    }
    m
}

/// A multipart/mixed of `n` text parts.
fn wide(n: usize) -> String {
    let mut m = String::from(
        "From: a@example.test\r\nSubject: wide\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"w\"\r\n\r\n",
    );
    for i in 0..n {
        m += &format!("--w\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n");
    }
    m + "--w--\r\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mime_limits_from_config_shape_bodystructure() {
    let server = start_server_extra("[limits]\nmax_mime_depth = 3\nmax_mime_parts = 4\n").await;
    let mut c = imap_tls_login(&server, ALICE).await;
    for m in [nested(2), nested(6), wide(10)] {
        c.ok("a", &format!("APPEND INBOX {{{}+}}\r\n{m}", m.len()))
            .await;
    }
    c.ok("s", "SELECT INBOX").await;
    let r = c.ok("f", "FETCH 1:3 (BODYSTRUCTURE)").await.join("\n");
    let line = |n: usize| {
        r.lines()
            .find(|l| l.starts_with(&format!("* {n} FETCH")))
            .unwrap_or_else(|| panic!("no FETCH {n} in {r}"))
            .to_string()
    };
    // Within the limit: two containers, then the text part.
    let shallow = line(1);
    assert!(
        shallow.contains("\"MIXED\"") && shallow.contains("\"TEXT\" \"PLAIN\""),
        "{shallow}"
    );
    // Six levels with a limit of three: no text part is reached; the
    // container at the limit is one opaque application/octet-stream.
    let deep = line(2);
    assert!(!deep.contains("\"TEXT\" \"PLAIN\""), "{deep}");
    assert!(deep.contains("\"APPLICATION\" \"OCTET-STREAM\""), "{deep}");
    assert_eq!(deep.matches("\"MIXED\"").count(), 3, "{deep}");
    // Ten parts with a limit of four parts in all (the multipart is one).
    let many = line(3);
    assert_eq!(many.matches("\"TEXT\" \"PLAIN\"").count(), 3, "{many}");
    drop(c);
    server.stop().await;
}
