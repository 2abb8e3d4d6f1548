//! Connection limits from `[limits]`: per client address, per account, the
//! TLS handshake time and the write timeout. Each is answered in the
//! protocol where the client can hear it, and the server goes on serving
//! everyone else. The whole server runs in-process on loopback.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; returns how many bytes
/// came, or `None` if it stayed open for `within`.
async fn read_to_close(tcp: &mut TcpStream, within: Duration) -> Option<usize> {
    let mut total = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(total),
            Ok(Ok(n)) => total += n,
        }
    }
}

/// One address cannot hold more than `max_connections_per_ip`: the next
/// connection on a cleartext port gets a BYE greeting, on the TLS port is
/// closed; another address still gets in, and a freed slot is reusable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let server = start_server_extra("[limits]\nmax_connections_per_ip = 3\n").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
        assert!(c.line().await.starts_with("* OK"));
        held.push(c);
    }
    let mut plain = Client::connect(server.imap, "imap").await;
    assert_eq!(
        plain.line().await,
        "* BYE [UNAVAILABLE] Too many connections from your address"
    );
    let mut tcp = TcpStream::connect(("127.0.0.1", server.imaps))
        .await
        .unwrap();
    assert_eq!(
        read_to_close(&mut tcp, Duration::from_secs(5)).await,
        Some(0),
        "the TLS port should close a fourth connection at once"
    );
    let mut smtp = Client::connect(server.smtp, "smtp").await;
    let (code, lines) = smtp.smtp_reply().await;
    assert_eq!(code, 421, "{lines:?}");

    // Another address is not affected.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if socket.bind("127.0.0.2:0".parse().unwrap()).is_ok() {
        let tcp = socket
            .connect(([127, 0, 0, 1], server.imaps).into())
            .await
            .unwrap();
        let mut other = Client::tls_over(&server, tcp, "imap").await;
        assert!(other.line().await.starts_with("* OK"));
    }

    // A slot given back can be taken again.
    drop(held.pop());
    let start = Instant::now();
    loop {
        let mut c = Client::connect(server.imap, "imap").await;
        let greeting = c.line().await;
        if greeting.starts_with("* OK") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{greeting}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// RFC 5530 §3 LIMIT: an account with `max_connections_per_account`
/// sessions cannot log in another until one ends; the refused session
/// stays usable, and submission answers 454.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_per_account_are_capped() {
    let server = start_server_extra("[limits]\nmax_connections_per_account = 2\n").await;
    let a = imap_tls_login(&server, ALICE).await;
    let _b = imap_tls_login(&server, ALICE).await;
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    let login = format!(
        "AUTHENTICATE OAUTHBEARER {}",
        oauthbearer(ALICE, &server.token(ALICE))
    );
    let r = c.cmd("l", &login).await;
    assert!(r.last().unwrap().starts_with("l NO [LIMIT]"), "{r:#?}");
    c.ok("n", "NOOP").await;
    // Bob is another account.
    let _bob = imap_tls_login(&server, BOB).await;
    // Submission counts the same sessions.
    let mut s = Client::connect_tls(&server, server.smtps, "smtp").await;
    assert_eq!(s.smtp_reply().await.0, 220);
    s.smtp_expect("EHLO client.example.test", 250).await;
    let (code, lines) = s
        .smtp(&format!(
            "AUTH XOAUTH2 {}",
            xoauth2(ALICE, &server.token(ALICE))
        ))
        .await;
    assert_eq!(code, 454, "{lines:?}");
    // One session ends: the next login gets in.
    drop(a);
    let start = Instant::now();
    loop {
        let r = c.cmd("m", &login).await;
        if status(r.last().unwrap()) == "OK" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{r:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// A client that opens the TLS port and sends nothing, or sends STARTTLS
/// and then nothing, is dropped after `tls_handshake_secs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_tls_handshakes_time_out() {
    let server = start_server_extra("[limits]\ntls_handshake_secs = 1\n").await;
    let start = Instant::now();
    let mut tcp = TcpStream::connect(("127.0.0.1", server.imaps))
        .await
        .unwrap();
    assert!(
        read_to_close(&mut tcp, Duration::from_secs(10))
            .await
            .is_some(),
        "a silent client on the TLS port was never dropped"
    );
    assert!(start.elapsed() < Duration::from_secs(5));

    let mut tcp = TcpStream::connect(("127.0.0.1", server.imap))
        .await
        .unwrap();
    let mut greeting = vec![0u8; 512];
    let n = tcp.read(&mut greeting).await.unwrap();
    assert!(greeting[..n].starts_with(b"* OK"));
    tcp.write_all(b"s STARTTLS\r\n").await.unwrap();
    let start = Instant::now();
    let got = read_to_close(&mut tcp, Duration::from_secs(10)).await;
    assert!(
        got.is_some(),
        "a stalled STARTTLS handshake was never dropped"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // The server goes on.
    let mut c = imap_tls_login(&server, ALICE).await;
    c.ok("n", "NOOP").await;
    server.stop().await;
}

/// A client that asks for much and reads nothing is dropped after
/// `write_timeout_secs`, and the server goes on serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped() {
    let server = start_server_extra("[limits]\nwrite_timeout_secs = 1\n").await;
    let mut c = imap_tls_login(&server, ALICE).await;
    let body = format!("Subject: big\r\n\r\n{}\r\n", "z".repeat(1 << 20));
    c.send(format!("a APPEND INBOX {{{}+}}\r\n{body}\r\n", body.len()))
        .await;
    let r = c.read_until_tagged("a").await;
    assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
    c.ok("s", "SELECT INBOX").await;
    // 64 MB of responses asked for; none read.
    let fetches: String = (0..64)
        .map(|i| format!("f{i} FETCH 1 BODY[]\r\n"))
        .collect();
    c.send(fetches).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // While it is stalled in a write, its own mailbox takes new mail at once,
    // and STATUS counts it: nothing waits for the stalled session.
    let started = std::time::Instant::now();
    let mut writer = imap_tls_login(&server, ALICE).await;
    let m = "Subject: meanwhile\r\n\r\nhi\r\n";
    writer
        .ok("w", &format!("APPEND INBOX {{{}+}}\r\n{m}", m.len()))
        .await;
    let r = writer.ok("x", "STATUS INBOX (MESSAGES)").await;
    assert!(r[0].contains("MESSAGES 2"), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}: the mailbox waited for the stalled session",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Meanwhile and after, others are served.
    let mut other = imap_tls_login(&server, BOB).await;
    other.ok("n", "NOOP").await;
    // The stalled connection was cut: draining it ends well short of 64 MB.
    let mut total = 0usize;
    loop {
        match c.try_fill(Duration::from_secs(10)).await {
            Some(0) | None => break,
            Some(n) => total += n,
        }
    }
    assert!(
        total < 32 << 20,
        "{total} bytes: the connection was not dropped"
    );
    server.stop().await;
}

/// An address that reaches `[auth] max_failures` is not heard any more:
/// the failure that reaches it, and every later attempt, end the
/// connection (IMAP `BYE` and `NO [UNAVAILABLE]`, SMTP `421`). Broken SASL
/// messages count as failures too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_addresses_are_disconnected() {
    let server = start_server_extra("max_failures = 3\n").await;
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    // Two XOAUTH2 messages that are not XOAUTH2 ("garbage") and a bad token:
    // three failures.
    for tag in ["m1", "m2"] {
        let r = c.cmd(tag, "AUTHENTICATE XOAUTH2 Z2FyYmFnZQ==").await;
        assert_eq!(status(r.last().unwrap()), "BAD", "{r:#?}");
    }
    let r = c.cmd("f", &format!("LOGIN {ALICE} not-a-token")).await;
    assert!(
        r.iter().any(|l| l.starts_with("* BYE")),
        "the third failure should end the session: {r:#?}"
    );
    assert!(
        r.last().unwrap().starts_with("f NO [UNAVAILABLE]"),
        "{r:#?}"
    );
    assert!(c.closed().await, "a blocked client kept its connection");

    // A new connection from the address: its first attempt ends it.
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    let login = format!(
        "AUTHENTICATE OAUTHBEARER {}",
        oauthbearer(ALICE, &server.token(ALICE))
    );
    let r = c.cmd("a", &login).await;
    assert!(r.iter().any(|l| l.starts_with("* BYE")), "{r:#?}");
    assert!(c.closed().await);

    let mut s = Client::connect_tls(&server, server.smtps, "smtp").await;
    assert_eq!(s.smtp_reply().await.0, 220);
    s.smtp_expect("EHLO client.example.test", 250).await;
    let (code, _) = s.smtp("AUTH PLAIN AGFsaWNlAGJhZA==").await;
    assert_eq!(code, 421);
    assert!(s.closed().await);
    server.stop().await;
}

/// Below the block, a failing client keeps its session and may retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_below_the_block_keep_the_session() {
    let server = start_server_extra("max_failures = 3\n").await;
    let mut c = Client::connect_tls(&server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    let r = c.cmd("f", &format!("LOGIN {ALICE} not-a-token")).await;
    assert!(r.last().unwrap().starts_with("f NO"), "{r:#?}");
    let r = c.cmd("g", "AUTHENTICATE XOAUTH2 Z2FyYmFnZQ==").await;
    assert_eq!(status(r.last().unwrap()), "BAD", "{r:#?}");
    let login = format!(
        "AUTHENTICATE OAUTHBEARER {}",
        oauthbearer(ALICE, &server.token(ALICE))
    );
    c.ok("a", &login).await;
    server.stop().await;
}
