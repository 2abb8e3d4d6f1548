//! Figures for the three hot paths, each as a ratio against a baseline run
//! in the same process (these machines are noisy; absolute numbers drift):
//!
//! 1. logins: full token validation (discovery + JWKS cache hit, claims,
//!    scopes, address) against bare signature verification of the same token;
//! 2. delivery: durable appends from many concurrent sessions (group
//!    commit) against one session appending alone, and how many syncs share
//!    a disk flush;
//! 3. FETCH: rendering ENVELOPE + BODYSTRUCTURE from the stored summary
//!    against re-parsing the message each time.
//!
//! Run: `cargo bench --bench core` (add `-- quick` for a short run).
//! Under `cargo test --all-targets` (no `--bench` flag) it runs a tiny smoke
//! pass, so the benchmark keeps compiling and working.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenmail::auth::{DevIssuer, HttpClient, IssuerSettings, Purpose, Validator};
use tokenmail::message::{MessageSummary, Parsed};
use tokenmail::store::{MailStore, NewMessage, SledStore};

const MESSAGE: &[u8] = b"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>, carol@example.test\r\n\
Subject: =?utf-8?q?Quarterly_report?=\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <q3@example.test>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Numbers attached.\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Numbers attached.</p>\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"q3.pdf\"\r\nContent-Disposition: attachment; filename=\"q3.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n--b1--\r\n";

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

async fn logins(iterations: usize) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}/dev", listener.local_addr().unwrap());
    let issuer = Arc::new(
        DevIssuer::load_or_create(&issuer_url, &dir.path().join("k.pem"), "tokenmail").unwrap(),
    );
    let (_stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(issuer.clone().serve(listener, async move {
        let _ = stop_rx.await;
    }));
    let settings = IssuerSettings {
        issuer: issuer_url.clone(),
        jwks_uri: None,
        audience: "tokenmail".into(),
        user_claim: "email".into(),
        read_scope: "mail.read".into(),
        send_scope: "mail.send".into(),
    };
    let validator = Validator::new(
        vec![settings],
        vec!["example.test".into()],
        HttpClient::new(None),
    );
    let token = issuer
        .mint("alice@example.test", "mail.read mail.send", 3600)
        .unwrap();
    validator
        .validate(&token, Purpose::Imap)
        .await
        .expect("warm-up login");

    // Baseline: only the signature check, with the same key.
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(issuer.jwks_json()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.validate_aud = false;
    let start = Instant::now();
    for _ in 0..iterations {
        jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
    }
    let bare = rate(iterations, start.elapsed());

    let start = Instant::now();
    for _ in 0..iterations {
        validator.validate(&token, Purpose::Imap).await.unwrap();
    }
    let full = rate(iterations, start.elapsed());
    println!(
        "logins: {full:.0}/s full validation, {bare:.0}/s bare ES256 verify; ratio {:.2}",
        full / bare
    );
    println!(
        "logins: HTTP requests to the issuer after {} logins: {}",
        iterations + 1,
        issuer.requests_served()
    );
}

async fn deliveries(per_session: usize, sessions: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let (account, _) = store.ensure_account("bob@example.test").unwrap();
    let inbox = store.mailbox_by_name(account, "INBOX").unwrap().unwrap().id;
    let summary = Arc::new(Parsed::of(MESSAGE));

    async fn deliver(
        store: &SledStore,
        account: tokenmail::store::AccountId,
        inbox: tokenmail::store::MailboxId,
        parsed: &Parsed,
    ) {
        let msg = NewMessage {
            raw: MESSAGE,
            parsed,
            flags: vec![],
            internal_date: 0,
        };
        store.append(&[(account, inbox)], &msg).unwrap();
        store.sync().await.unwrap();
    }

    // Baseline: one session, each delivery waits for its own flush.
    let total = per_session * sessions;
    let start = Instant::now();
    for _ in 0..total {
        deliver(&store, account, inbox, &summary).await;
    }
    let alone = start.elapsed();
    let (f0, s0) = store.flush_stats();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let (store, summary) = (store.clone(), summary.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_session {
                deliver(&store, account, inbox, &summary).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let together = start.elapsed();
    let (f1, s1) = store.flush_stats();
    let (flushes, syncs) = (f1 - f0, s1 - s0);
    println!(
        "delivery: {total} durable appends alone {:.0}/s ({:.2} ms each); {sessions} concurrent sessions {:.0}/s; ratio {:.2}",
        rate(total, alone),
        alone.as_secs_f64() * 1000.0 / total as f64,
        rate(total, together),
        alone.as_secs_f64() / together.as_secs_f64()
    );
    println!(
        "delivery: {syncs} syncs shared {flushes} disk flushes ({:.1} syncs per flush)",
        syncs as f64 / flushes.max(1) as f64
    );
}

fn fetch_rendering(iterations: usize) {
    let stored = postcard::to_allocvec(&MessageSummary::parse(MESSAGE)).unwrap();
    let mut out = Vec::with_capacity(4096);
    let start = Instant::now();
    for _ in 0..iterations {
        let s: MessageSummary = postcard::from_bytes(&stored).unwrap();
        out.clear();
        s.write_envelope(&mut out);
        s.write_body_structure(&mut out, true);
    }
    let stored_rate = rate(iterations, start.elapsed());
    let start = Instant::now();
    for _ in 0..iterations {
        let s = MessageSummary::parse(MESSAGE);
        out.clear();
        s.write_envelope(&mut out);
        s.write_body_structure(&mut out, true);
    }
    let reparse_rate = rate(iterations, start.elapsed());
    println!(
        "fetch: ENVELOPE+BODYSTRUCTURE from the stored summary {stored_rate:.0}/s, re-parsing {reparse_rate:.0}/s; ratio {:.1}",
        stored_rate / reparse_rate
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let quick = args.iter().any(|a| a == "quick");
    let (logins_n, per_session, fetch_n) = match (benching, quick) {
        (true, false) => (2000, 20, 20_000),
        (true, true) => (400, 4, 4000),
        (false, _) => (20, 1, 50),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(logins(logins_n));
    rt.block_on(deliveries(per_session, 32));
    fetch_rendering(fetch_n);
}
