//! 200 concurrent IMAP sessions on five shared mailboxes, mixing APPEND,
//! FETCH, STORE, COPY, EXPUNGE and IDLE while mail is delivered over SMTP:
//! nothing deadlocks (every read has a timeout), no update is lost (every
//! keyword a STORE added to the shared messages is there at the end, every
//! acknowledged APPEND, COPY and EXPUNGE shows), and every session's view
//! converges: after the writes stop, a NOOP brings each one to exactly
//! what a fresh session sees.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::Barrier;

const ACCOUNTS: usize = 5;
const PER_ACCOUNT: usize = 40;
const OPS: usize = 12;
const SHARED: usize = 5;
const DELIVERIES: usize = 8;

fn user(a: usize) -> String {
    format!("conc{a}@example.test")
}

fn message(id: &str) -> String {
    format!(
        "From: x@example.test\r\nSubject: {id}\r\nMessage-ID: <{id}@example.test>\r\n\r\nbody {id}\r\n"
    )
}

/// UID -> flags (sorted, without `\Recent`) from `UID FETCH 1:* (UID FLAGS)`.
fn view(responses: &[String]) -> BTreeMap<u32, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for r in responses {
        let Some(rest) = r.split_once(" FETCH (").map(|(_, rest)| rest) else {
            continue;
        };
        let uid: u32 = rest
            .split("UID ")
            .nth(1)
            .and_then(|s| s.split([' ', ')']).next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no UID in {r:?}"));
        let flags = rest
            .split("FLAGS (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or("");
        let flags = flags
            .split_whitespace()
            .filter(|f| *f != "\\Recent")
            .map(str::to_owned)
            .collect();
        out.insert(uid, flags);
    }
    out
}

async fn append(c: &mut Client, tag: &str, mailbox: &str, id: &str) -> u32 {
    let m = message(id);
    let r = c
        .ok(tag, &format!("APPEND {mailbox} {{{}+}}\r\n{m}", m.len()))
        .await;
    response_code(r.last().unwrap(), "APPENDUID")[1]
        .parse()
        .unwrap()
}

/// What one worker did that must show at the end.
#[derive(Default)]
struct Done {
    kept: Vec<u32>,
    expunged: Vec<u32>,
    copies: usize,
    final_view: BTreeMap<u32, BTreeSet<String>>,
}

async fn worker(
    server: Arc<TestServer>,
    account: usize,
    index: usize,
    barrier: Arc<Barrier>,
) -> Done {
    let me = user(account);
    let mut c = imap_tls_login(&server, &me).await;
    c.ok("s", "SELECT INBOX").await;
    let mut done = Done::default();
    for op in 0..OPS {
        let tag = format!("t{op}");
        match (index + op) % 6 {
            0 => {
                let uid = append(&mut c, &tag, "INBOX", &format!("a{account}w{index}o{op}")).await;
                done.kept.push(uid);
            }
            1 => {
                c.ok(&tag, "UID FETCH 1:* (UID FLAGS)").await;
            }
            2 => {
                c.ok(
                    &tag,
                    &format!("UID STORE 1:{SHARED} +FLAGS.SILENT (kw{index})"),
                )
                .await;
            }
            3 => {
                if let Some(&uid) = done.kept.last() {
                    c.ok(&tag, &format!("UID COPY {uid} Archive")).await;
                    done.copies += 1;
                } else {
                    c.ok(&tag, "NOOP").await;
                }
            }
            4 => {
                if let Some(uid) = done.kept.pop() {
                    c.ok(&tag, &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
                        .await;
                    c.ok(&format!("{tag}x"), &format!("UID EXPUNGE {uid}"))
                        .await;
                    done.expunged.push(uid);
                } else {
                    c.ok(&tag, "CHECK").await;
                }
            }
            _ => {
                c.send(format!("{tag} IDLE\r\n")).await;
                loop {
                    let l = c.line().await;
                    if l.starts_with('+') {
                        break;
                    }
                    assert!(l.starts_with("* "), "{l:?}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                c.send("DONE\r\n").await;
                let r = c.read_until_tagged(&tag).await;
                assert_eq!(status(r.last().unwrap()), "OK", "{r:#?}");
            }
        }
    }
    barrier.wait().await;
    // Everyone has stopped writing; deliveries too. One NOOP catches up.
    c.ok("n", "NOOP").await;
    done.final_view = view(&c.ok("f", "UID FETCH 1:* (UID FLAGS)").await);
    done
}

async fn deliverer(server: Arc<TestServer>, n: usize, barrier: Arc<Barrier>) -> usize {
    let (mut s, _) = smtp_tls_login(&server, ALICE).await;
    let mut sent = 0;
    for i in 0..DELIVERIES {
        let rcpts: Vec<String> = (0..ACCOUNTS).map(user).collect();
        s.smtp_expect(&format!("MAIL FROM:<{ALICE}>"), 250).await;
        for r in &rcpts {
            s.smtp_expect(&format!("RCPT TO:<{r}>"), 250).await;
        }
        s.smtp_expect("DATA", 354).await;
        let m = message(&format!("d{n}i{i}"));
        s.send(format!("{m}.\r\n")).await;
        assert_eq!(s.smtp_reply().await.0, 250);
        sent += 1;
    }
    barrier.wait().await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sessions_converge() {
    // All 200 come from 127.0.0.1: above the per-address default of 100.
    let server = Arc::new(start_server_extra("[limits]\nmax_connections_per_ip = 1000\n").await);
    // The shared messages every worker adds its keyword to: UIDs 1..=SHARED.
    for a in 0..ACCOUNTS {
        let mut c = imap_tls_login(&server, &user(a)).await;
        for i in 0..SHARED {
            assert_eq!(
                append(&mut c, "p", "INBOX", &format!("shared{a}-{i}")).await,
                i as u32 + 1
            );
        }
    }
    let deliverers = 3;
    let barrier = Arc::new(Barrier::new(ACCOUNTS * PER_ACCOUNT + deliverers));
    let mut tasks = tokio::task::JoinSet::new();
    for a in 0..ACCOUNTS {
        for i in 0..PER_ACCOUNT {
            let (server, barrier) = (server.clone(), barrier.clone());
            tasks.spawn(async move { Ok::<_, usize>((a, worker(server, a, i, barrier).await)) });
        }
    }
    for n in 0..deliverers {
        let (server, barrier) = (server.clone(), barrier.clone());
        tasks.spawn(async move { Err(deliverer(server, n, barrier).await) });
    }
    let mut results: Vec<Vec<Done>> = (0..ACCOUNTS).map(|_| Vec::new()).collect();
    let mut delivered = 0;
    // The first task that fails fails the test at once (the others would
    // wait at the barrier for it forever).
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("a session task failed") {
            Ok((a, done)) => results[a].push(done),
            Err(sent) => delivered += sent,
        }
    }
    assert_eq!(delivered, deliverers * DELIVERIES);

    for (a, done) in results.iter().enumerate() {
        let mut fresh = imap_tls_login(&server, &user(a)).await;
        fresh.ok("s", "SELECT INBOX").await;
        let truth = view(&fresh.ok("f", "UID FETCH 1:* (UID FLAGS)").await);
        for (i, d) in done.iter().enumerate() {
            assert_eq!(
                d.final_view, truth,
                "account {a}, session {i}: its view did not converge"
            );
        }
        // No lost update: every worker's keyword is on every shared message.
        for uid in 1..=SHARED as u32 {
            let flags = &truth[&uid];
            for i in 0..PER_ACCOUNT {
                assert!(
                    flags.contains(&format!("kw{i}")),
                    "account {a}: kw{i} missing on UID {uid}: {flags:?}"
                );
            }
        }
        for d in done {
            for uid in &d.kept {
                assert!(
                    truth.contains_key(uid),
                    "account {a}: appended UID {uid} missing"
                );
            }
            for uid in &d.expunged {
                assert!(!truth.contains_key(uid), "account {a}: UID {uid} came back");
            }
        }
        let own: usize = done.iter().map(|d| d.kept.len()).sum();
        assert_eq!(
            truth.len(),
            SHARED + own + deliverers * DELIVERIES,
            "account {a}: messages unaccounted for"
        );
        let copies: usize = done.iter().map(|d| d.copies).sum();
        let r = fresh.ok("st", "STATUS Archive (MESSAGES)").await;
        assert!(
            r[0].contains(&format!("MESSAGES {copies}")),
            "account {a}: {r:?}, {copies} copies acknowledged"
        );
    }
    Arc::into_inner(server)
        .expect("all clients are done")
        .stop()
        .await;
}
