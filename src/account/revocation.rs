//! Ending sessions whose authority was withdrawn: "sign out everywhere"
//! and revoked app passwords (docs/accounts.md).
//!
//! Each account with open sessions has one [`watch`] channel carrying its
//! [`SignInState`]; every session holds a receiver in its
//! [`SessionAuthority`], which the connection's read waits on beside the
//! socket (`server/conn.rs`). A change is published after it is durable;
//! each session then decides from its own credential whether it may go on,
//! without touching the store. An idle session costs one receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::auth::Credential;
use crate::store::CredentialsRecord;

/// How long after a revocation a token without `iat` may have been issued
/// before it: such a token is refused unless it expires later than this
/// after the revocation (access tokens live minutes to hours).
pub const IATLESS_TOKEN_WINDOW_SECS: i64 = 24 * 3600;

/// What an account's sessions need to know to decide whether they may go on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInState {
    /// Unix seconds of the last "sign out everywhere"; 0 when never.
    pub revoked_at: i64,
    /// Ids of the app passwords in force.
    pub app_passwords: Vec<String>,
}

impl SignInState {
    /// From the stored record.
    pub fn of(record: &CredentialsRecord) -> SignInState {
        SignInState {
            revoked_at: record.revoked_at,
            app_passwords: record.app_passwords.iter().map(|p| p.id.clone()).collect(),
        }
    }

    /// Whether a login with `credential` (whose token expires at
    /// `expires_at`) is still allowed.
    pub fn admits(&self, credential: &Credential, expires_at: i64) -> bool {
        match credential {
            Credential::AppPassword { id, .. } => self.app_passwords.iter().any(|p| p == id),
            Credential::Token { .. } if self.revoked_at == 0 => true,
            // RFC 7519 §4.1.6: `iat` is when the token was issued. Issued
            // before the revocation (no leeway): refused.
            Credential::Token {
                issued_at: Some(iat),
            } => *iat >= self.revoked_at,
            Credential::Token { issued_at: None } => {
                expires_at > self.revoked_at.saturating_add(IATLESS_TOKEN_WINDOW_SECS)
            }
        }
    }
}

/// The channels of the accounts that have sessions, by address.
#[derive(Default)]
pub struct Revocations {
    channels: Mutex<HashMap<String, watch::Sender<Arc<SignInState>>>>,
    /// Subscriptions since the last sweep of unused channels.
    since_sweep: std::sync::atomic::AtomicUsize,
}

/// Channels are swept of accounts without sessions every this many
/// subscriptions.
const SWEEP_EVERY: usize = 1024;

impl Revocations {
    /// A receiver for a session of `address`; `load` reads the state from
    /// the store when no session of the account holds a channel yet.
    pub fn subscribe(
        &self,
        address: &str,
        load: impl FnOnce() -> SignInState,
    ) -> watch::Receiver<Arc<SignInState>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let n = self
            .since_sweep
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n >= SWEEP_EVERY {
            self.since_sweep
                .store(0, std::sync::atomic::Ordering::Relaxed);
            channels.retain(|_, tx| tx.receiver_count() > 0);
        }
        if let Some(tx) = channels.get(address)
            && tx.receiver_count() > 0
        {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(load()));
        channels.insert(address.to_owned(), tx);
        rx
    }

    /// Tells the sessions of `address` its new state.
    pub fn publish(&self, address: &str, state: SignInState) {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = channels.get(address) {
            tx.send_replace(Arc::new(state));
        }
    }

    /// Sessions of `address` that hold a receiver.
    pub fn sessions(&self, address: &str) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.get(address).map_or(0, watch::Sender::receiver_count)
    }
}

/// What a session logged in with, and the channel that says whether it
/// still may.
pub struct SessionAuthority {
    rx: watch::Receiver<Arc<SignInState>>,
    credential: Credential,
    expires_at: i64,
}

impl SessionAuthority {
    /// A session's authority over `rx`.
    pub fn new(
        rx: watch::Receiver<Arc<SignInState>>,
        credential: Credential,
        expires_at: i64,
    ) -> SessionAuthority {
        SessionAuthority {
            rx,
            credential,
            expires_at,
        }
    }

    /// Whether the session may go on.
    pub fn admitted(&self) -> bool {
        self.rx.borrow().admits(&self.credential, self.expires_at)
    }

    /// Completes once the session may no longer go on.
    pub async fn revoked(&mut self) {
        loop {
            if !self.admitted() {
                return;
            }
            if self.rx.changed().await.is_err() {
                // The account's channel is gone: nothing can revoke now.
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(iat: Option<i64>) -> Credential {
        Credential::Token { issued_at: iat }
    }

    #[test]
    fn a_revocation_refuses_tokens_issued_before_it() {
        let never = SignInState::default();
        assert!(never.admits(&token(Some(5)), 100));
        assert!(never.admits(&token(None), 100));
        let s = SignInState {
            revoked_at: 1000,
            app_passwords: vec!["a1".into()],
        };
        assert!(!s.admits(&token(Some(999)), 5000));
        assert!(s.admits(&token(Some(1000)), 5000));
        assert!(!s.admits(&token(None), 1000 + 3600));
        assert!(s.admits(&token(None), 1000 + IATLESS_TOKEN_WINDOW_SECS + 1));
        let app = |id: &str| Credential::AppPassword {
            id: id.into(),
            name: "x".into(),
        };
        assert!(s.admits(&app("a1"), i64::MAX));
        assert!(!s.admits(&app("a2"), i64::MAX));
    }

    #[tokio::test]
    async fn sessions_end_when_their_credential_goes() {
        let r = Revocations::default();
        let load = || SignInState {
            revoked_at: 0,
            app_passwords: vec!["a1".into(), "a2".into()],
        };
        let app = |id: &str| Credential::AppPassword {
            id: id.into(),
            name: "x".into(),
        };
        let mut one = SessionAuthority::new(r.subscribe("u@x", load), app("a1"), i64::MAX);
        let mut two = SessionAuthority::new(r.subscribe("u@x", load), app("a2"), i64::MAX);
        let mut tok = SessionAuthority::new(r.subscribe("u@x", load), token(Some(10)), 99);
        assert_eq!(r.sessions("u@x"), 3);
        r.publish(
            "u@x",
            SignInState {
                revoked_at: 0,
                app_passwords: vec!["a2".into()],
            },
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), one.revoked())
            .await
            .expect("the session of a1 ends");
        let still = tokio::time::timeout(std::time::Duration::from_millis(50), two.revoked()).await;
        assert!(still.is_err(), "a2 goes on");
        r.publish(
            "u@x",
            SignInState {
                revoked_at: 50,
                app_passwords: vec![],
            },
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), two.revoked())
            .await
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), tok.revoked())
            .await
            .unwrap();
    }

    #[test]
    fn unused_channels_are_swept() {
        let r = Revocations::default();
        for i in 0..(SWEEP_EVERY + 10) {
            drop(r.subscribe(&format!("u{i}@x"), SignInState::default));
        }
        assert!(r.channels.lock().unwrap().len() < SWEEP_EVERY);
    }
}
