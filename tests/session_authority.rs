//! A session lasts as long as the authority it logged in with: a
//! token-authenticated IMAP or SMTP session ends when the token expires
//! (after the validator's 60 s leeway), unless `[auth]
//! end_sessions_at_expiry = false`. The whole server runs in-process on
//! loopback; tokens are minted with an `exp` 57 s in the past, so they are
//! accepted and run out three seconds later.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Seconds before `exp` + leeway for the tokens below.
const LEFT: i64 = 3;

fn short_token(server: &TestServer, user: &str) -> String {
    server.token_expiring(user, LEFT - 60, "short-lived")
}

async fn imap_login_with(server: &TestServer, user: &str, token: &str) -> Client {
    let mut c = Client::connect_tls(server, server.imaps, "imap").await;
    assert!(c.line().await.starts_with("* OK"));
    c.ok(
        "l",
        &format!("AUTHENTICATE OAUTHBEARER {}", oauthbearer(user, token)),
    )
    .await;
    c
}

/// RFC 9051 §7.1.5 BYE with ALERT (§7.1): an idling client is told at once
/// when its token runs out, and the connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_idle_ends_when_the_token_expires() {
    let server = start_server().await;
    let mut c = imap_login_with(&server, ALICE, &short_token(&server, ALICE)).await;
    c.ok("s", "SELECT INBOX").await;
    let start = Instant::now();
    c.send("i IDLE\r\n").await;
    assert!(c.line().await.starts_with("+ "));
    let bye = c.line().await;
    assert_eq!(bye, "* BYE [ALERT] access token expired");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(9),
        "BYE after {took:?}"
    );
    assert!(c.closed().await, "the connection stayed open after BYE");
    server.stop().await;
}

/// A command sent after expiry is not run: the answer is the BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_command_after_expiry_gets_bye() {
    let server = start_server().await;
    let mut c = imap_login_with(&server, ALICE, &short_token(&server, ALICE)).await;
    c.ok("n", "NOOP").await;
    tokio::time::sleep(Duration::from_secs(LEFT as u64 + 1)).await;
    c.send("x SELECT INBOX\r\n").await;
    assert_eq!(c.line().await, "* BYE [ALERT] access token expired");
    assert!(c.closed().await);
    server.stop().await;
}

/// RFC 5321 §3.8: after expiry the submission session answers 421 4.7.0
/// and closes; no mail goes out on a token that has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_next_command_after_expiry_gets_421() {
    let server = start_server().await;
    let mut c = Client::connect_tls(&server, server.smtps, "smtp").await;
    assert_eq!(c.smtp_reply().await.0, 220);
    c.smtp_expect("EHLO client.example.test", 250).await;
    let token = short_token(&server, ALICE);
    c.smtp_expect(&format!("AUTH XOAUTH2 {}", xoauth2(ALICE, &token)), 235)
        .await;
    c.smtp_expect(&format!("MAIL FROM:<{ALICE}>"), 250).await;
    tokio::time::sleep(Duration::from_secs(LEFT as u64 + 1)).await;
    let (code, lines) = c.smtp(&format!("RCPT TO:<{BOB}>")).await;
    assert_eq!(code, 421, "{lines:?}");
    assert!(lines[0].contains("4.7.0"), "{lines:?}");
    assert!(c.closed().await);
    server.stop().await;
}

/// `[auth] end_sessions_at_expiry = false` keeps sessions open past expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_outlive_tokens_when_configured() {
    let server = start_server_extra("end_sessions_at_expiry = false\n").await;
    let mut c = imap_login_with(&server, ALICE, &short_token(&server, ALICE)).await;
    tokio::time::sleep(Duration::from_secs(LEFT as u64 + 1)).await;
    c.ok("s", "SELECT INBOX").await;
    server.stop().await;
}
