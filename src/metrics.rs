//! Counters for Prometheus (`GET /metrics`, text exposition format 0.0.4):
//! logins by protocol, mechanism and outcome, open sessions, deliveries,
//! and the store's flushes. Process-wide, so any layer can count without
//! being handed a registry; reading them is `render`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

static LOGINS: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>> =
    Mutex::new(BTreeMap::new());
static IMAP_SESSIONS: AtomicI64 = AtomicI64::new(0);
static SMTP_SESSIONS: AtomicI64 = AtomicI64::new(0);
static DELIVERED: AtomicU64 = AtomicU64::new(0);
static RECIPIENTS: AtomicU64 = AtomicU64::new(0);

/// A login's outcome.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// Logged in.
    Success,
    /// Refused.
    Failure,
    /// Could not be decided now (the IdP unreachable).
    Temporary,
}

/// Counts one login of `protocol` (`imap`, `smtp`) with `mechanism`
/// (`XOAUTH2`, `OAUTHBEARER`, `PLAIN`, `LOGIN`).
pub fn login(protocol: &'static str, mechanism: &'static str, outcome: Outcome) {
    let outcome = match outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Temporary => "temporary",
    };
    let mut m = LOGINS.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry((protocol, mechanism, outcome)).or_insert(0) += 1;
}

/// An open connection of one protocol; counted until dropped.
pub struct SessionGauge(&'static AtomicI64);

impl SessionGauge {
    /// Counts an IMAP (`true`) or SMTP connection.
    pub fn open(imap: bool) -> SessionGauge {
        let g = if imap { &IMAP_SESSIONS } else { &SMTP_SESSIONS };
        g.fetch_add(1, Ordering::Relaxed);
        SessionGauge(g)
    }
}

impl Drop for SessionGauge {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts one message stored for `recipients` local recipients.
pub fn delivered(recipients: usize) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
    RECIPIENTS.fetch_add(recipients as u64, Ordering::Relaxed);
}

/// The exposition text; `flushes` and `syncs` come from the store.
pub fn render(flushes: u64, syncs: u64) -> String {
    let mut out = String::new();
    out.push_str("# HELP tokenmail_logins_total Logins by protocol, mechanism and outcome.\n");
    out.push_str("# TYPE tokenmail_logins_total counter\n");
    {
        let m = LOGINS.lock().unwrap_or_else(|p| p.into_inner());
        for ((protocol, mechanism, outcome), n) in m.iter() {
            let _ = writeln!(
                out,
                "tokenmail_logins_total{{protocol=\"{protocol}\",mechanism=\"{mechanism}\",outcome=\"{outcome}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP tokenmail_sessions_open Open client connections.\n");
    out.push_str("# TYPE tokenmail_sessions_open gauge\n");
    let _ = writeln!(
        out,
        "tokenmail_sessions_open{{protocol=\"imap\"}} {}",
        IMAP_SESSIONS.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "tokenmail_sessions_open{{protocol=\"smtp\"}} {}",
        SMTP_SESSIONS.load(Ordering::Relaxed)
    );
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n");
    };
    counter(
        &mut out,
        "tokenmail_deliveries_total",
        "Messages stored by SMTP submission (durable before the 250).",
        DELIVERED.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "tokenmail_delivery_recipients_total",
        "Local recipients of those messages.",
        RECIPIENTS.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "tokenmail_store_flushes_total",
        "Disk flushes of the store (group commits).",
        flushes,
    );
    counter(
        &mut out,
        "tokenmail_store_syncs_total",
        "Durability waits those flushes served.",
        syncs,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lists_what_was_counted() {
        login("imap", "XOAUTH2", Outcome::Success);
        login("imap", "XOAUTH2", Outcome::Success);
        let g = SessionGauge::open(true);
        delivered(2);
        let text = render(5, 9);
        assert!(
            text.contains(
                "tokenmail_logins_total{protocol=\"imap\",mechanism=\"XOAUTH2\",outcome=\"success\"} "
            ),
            "{text}"
        );
        assert!(text.contains("tokenmail_store_flushes_total 5\n"));
        assert!(text.contains("# TYPE tokenmail_sessions_open gauge\n"));
        drop(g);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(!name.is_empty() && value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
