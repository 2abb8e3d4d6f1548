//! Accounts and what may sign in to them: creation, the list, app
//! passwords and "sign out everywhere" (docs/accounts.md, CONTRACT.md
//! "Accounts, app passwords and revocation").
//!
//! One [`Accounts`] serves both ways in: the running server's control
//! socket (`control.rs`), whose changes reach open sessions at once
//! (`revocation.rs`), and the command line on a stopped server, which opens
//! the store itself. Every change is durable before it is reported.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`Accounts`]: the operations, their rules and errors |
//! | `revocation.rs` | per-account channels that end sessions |
//! | `control.rs` | the control socket: server, client, requests |

pub mod control;
pub mod revocation;

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::app_password::{self, AppPasswordError, Protocols};
use crate::auth::{Credential, Principal, Purpose};
use crate::config::Config;
use crate::store::{
    AccountId, AppPasswordRecord, CredentialsRecord, LoginRecord, MailStore, StoreError,
};
use revocation::{Revocations, SessionAuthority, SignInState};

/// App passwords one account may hold.
pub const MAX_APP_PASSWORDS: usize = 50;

/// Longest app-password name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A login like the account's last one (same address, protocol, mechanism
/// and client) within this many seconds is not recorded again, and an app
/// password's last use is not rewritten: a phone that logs in every minute
/// costs no write.
const RECORD_AGAIN_SECS: i64 = 60;

/// Why an account operation failed; the text is what the command line
/// prints.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The address is not in one of `domains`.
    #[error("{address:?} is not an address in one of the domains {domains:?}")]
    NotLocal {
        /// As given.
        address: String,
        /// The configured domains.
        domains: Vec<String>,
    },
    /// No account has this address.
    #[error("no account {0}")]
    NoSuchAccount(String),
    /// The account has no app password of this id.
    #[error("{address} has no app password {id:?}")]
    NoSuchAppPassword {
        /// The account.
        address: String,
        /// The id asked for.
        id: String,
    },
    /// A request's value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The account holds [`MAX_APP_PASSWORDS`].
    #[error("{0} has {MAX_APP_PASSWORDS} app passwords, the most it may; revoke one first")]
    TooManyAppPasswords(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Making a password failed.
    #[error("app password: {0}")]
    Password(#[from] AppPasswordError),
}

/// One account as `account list` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    /// Its address.
    pub address: String,
    /// Messages over all mailboxes.
    pub messages: u64,
    /// Octets over all mailboxes.
    pub bytes: u64,
    /// Unix seconds at creation.
    pub created: i64,
}

/// A new app password: shown once, never stored.
pub struct NewAppPassword {
    /// The password in its shown form.
    pub password: String,
    /// Its id.
    pub id: String,
}

/// The account operations of one store.
pub struct Accounts {
    store: Arc<dyn MailStore>,
    config: Arc<Config>,
    secret: [u8; 32],
    revocations: Revocations,
}

impl Accounts {
    /// The operations on `store`, by the rules of `config`.
    pub fn new(store: Arc<dyn MailStore>, config: Arc<Config>) -> Result<Arc<Accounts>, StoreError> {
        let secret = store.secret()?;
        Ok(Arc::new(Accounts {
            store,
            config,
            secret,
            revocations: Revocations::default(),
        }))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn MailStore> {
        &self.store
    }

    /// `address` trimmed and lower-cased, if it is in one of `domains`.
    pub fn local_address(&self, address: &str) -> Result<String, AccountError> {
        let address = address.trim().to_lowercase();
        match address.rsplit_once('@') {
            Some((local, domain))
                if !local.is_empty() && !local.contains('@') && self.config.is_local_domain(domain) =>
            {
                Ok(address)
            }
            _ => Err(AccountError::NotLocal {
                address,
                domains: self.config.domains.clone(),
            }),
        }
    }

    fn existing(&self, address: &str) -> Result<(String, AccountId), AccountError> {
        let address = self.local_address(address)?;
        match self.store.account(&address)? {
            Some(id) => Ok((address, id)),
            None => Err(AccountError::NoSuchAccount(address)),
        }
    }

    /// Creates the account with its standard mailboxes; false when it
    /// existed already.
    pub async fn create(&self, address: &str) -> Result<bool, AccountError> {
        let address = self.local_address(address)?;
        let (_, created) = self.store.ensure_account(&address)?;
        if created {
            self.store.sync().await?;
            tracing::info!(address, "account created");
        }
        Ok(created)
    }

    /// Every account with its usage, by address.
    pub fn list(&self) -> Result<Vec<AccountLine>, AccountError> {
        let mut out = Vec::new();
        for a in self.store.accounts()? {
            let usage = self.store.usage(a.id)?;
            out.push(AccountLine {
                address: a.address,
                messages: usage.messages,
                bytes: usage.bytes,
                created: a.created,
            });
        }
        out.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(out)
    }

    /// "Sign out everywhere": revokes every app password and refuses
    /// tokens issued before the returned second (Unix time). The command
    /// waits until that second has begun before it returns, so that a
    /// token issued before the command returned has an earlier `iat`, and
    /// one issued after it does not. Sessions end as soon as this is
    /// durable.
    pub async fn revoke(&self, address: &str) -> Result<i64, AccountError> {
        let (address, id) = self.existing(address)?;
        // The next whole second: every token issued until now has an `iat`
        // before it.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let revoked_at = now_ms / 1000 + 1;
        let rec = self.store.update_credentials(id, &|c: &mut CredentialsRecord| {
            c.revoked_at = c.revoked_at.max(revoked_at);
            c.app_passwords.clear();
            Ok(())
        })?;
        self.store.sync().await?;
        self.revocations.publish(&address, SignInState::of(&rec));
        tracing::info!(address, revoked_at, "signed out everywhere");
        let wait = (revoked_at * 1000 - now_ms).max(0) as u64;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        Ok(revoked_at)
    }

    /// Makes an app password for `protocols`, expiring after `ttl_secs`
    /// when given.
    pub async fn create_app_password(
        &self,
        address: &str,
        name: &str,
        protocols: Protocols,
        ttl_secs: Option<u64>,
    ) -> Result<NewAppPassword, AccountError> {
        let (address, id) = self.existing(address)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AccountError::Invalid(format!(
                "an app password's name is 1 to {MAX_NAME_CHARS} printable characters"
            )));
        }
        if protocols.0 & !Protocols::ALL.0 != 0 || protocols.0 == 0 {
            return Err(AccountError::Invalid("no valid protocol given".into()));
        }
        let password = app_password::generate()?;
        let letters = app_password::normalize(password.as_bytes())
            .ok_or_else(|| AccountError::Invalid("generated password does not normalize".into()))?;
        let hash = crate::session::imap::blocking(|| app_password::hash(&letters))?;
        let now = crate::time::now();
        let expires = match ttl_secs {
            Some(0) => return Err(AccountError::Invalid("--ttl must be at least 1 second".into())),
            Some(t) => Some(now.saturating_add(i64::try_from(t).unwrap_or(i64::MAX))),
            None => None,
        };
        let mut random = [0u8; 6];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| AppPasswordError::Random)?;
        let pid: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let record = AppPasswordRecord {
            id: pid.clone(),
            name: name.to_owned(),
            protocols: protocols.0,
            created: now,
            expires,
            fingerprint: app_password::fingerprint(&self.secret, &letters),
            hash,
            last_used: None,
        };
        let addr = address.clone();
        let rec = self.store.update_credentials(id, &|c: &mut CredentialsRecord| {
            if c.app_passwords.len() >= MAX_APP_PASSWORDS {
                return Err(StoreError::NotAllowed("too many app passwords"));
            }
            c.app_passwords.retain(|p| p.id != record.id);
            c.app_passwords.push(record.clone());
            Ok(())
        });
        let rec = match rec {
            Err(StoreError::NotAllowed(_)) => return Err(AccountError::TooManyAppPasswords(addr)),
            r => r?,
        };
        self.store.sync().await?;
        self.revocations.publish(&address, SignInState::of(&rec));
        tracing::info!(address, id = pid, "app password created");
        Ok(NewAppPassword { password, id: pid })
    }

    /// The account's app passwords, oldest first.
    pub fn app_passwords(&self, address: &str) -> Result<Vec<AppPasswordRecord>, AccountError> {
        let (_, id) = self.existing(address)?;
        Ok(self.store.credentials(id)?.app_passwords)
    }

    /// Revokes one app password; the sessions that logged in with it end.
    pub async fn revoke_app_password(&self, address: &str, pid: &str) -> Result<(), AccountError> {
        let (address, id) = self.existing(address)?;
        let pid = pid.trim();
        let rec = self.store.update_credentials(id, &|c: &mut CredentialsRecord| {
            let before = c.app_passwords.len();
            c.app_passwords.retain(|p| p.id != pid);
            if c.app_passwords.len() == before {
                return Err(StoreError::NotAllowed("no such app password"));
            }
            Ok(())
        });
        let rec = match rec {
            Err(StoreError::NotAllowed(_)) => {
                return Err(AccountError::NoSuchAppPassword {
                    address,
                    id: pid.to_owned(),
                });
            }
            r => r?,
        };
        self.store.sync().await?;
        self.revocations.publish(&address, SignInState::of(&rec));
        tracing::info!(address, id = pid, "app password revoked");
        Ok(())
    }

    /// Whether a validated token may still log in: refused when it was
    /// issued before the account's last revocation.
    pub fn token_admitted(&self, principal: &Principal) -> Result<bool, StoreError> {
        let Some(id) = self.store.account(principal.address())? else {
            return Ok(true);
        };
        let rec = self.store.credentials(id)?;
        Ok(SignInState::of(&rec).admits(principal.credential(), principal.expires_at()))
    }

    /// Logs in with an app password: the [`Principal`] when `typed` is one
    /// of the account's app passwords for `purpose`, else `None`. Costs one
    /// HMAC unless a stored fingerprint matches; then one Argon2id hash,
    /// off the async workers.
    pub async fn password_login(
        &self,
        address: &str,
        typed: &[u8],
        purpose: Purpose,
        peer: IpAddr,
    ) -> Result<Option<Principal>, StoreError> {
        let Ok(address) = self.local_address(address) else {
            return Ok(None);
        };
        let Some(id) = self.store.account(&address)? else {
            return Ok(None);
        };
        let records = self.store.credentials(id)?.app_passwords;
        let now = crate::time::now();
        let secret = self.secret;
        let typed = typed.to_vec();
        let addr = address.clone();
        let found = tokio::task::spawn_blocking(move || {
            app_password::check(&addr, &records, &secret, &typed, purpose, now)
                .map(|(i, p)| (records[i].last_used.clone(), p))
        })
        .await
        .map_err(|e| StoreError::Flush(format!("app password check: {e}")))?;
        let Some((last_used, principal)) = found else {
            return Ok(None);
        };
        let ip = peer.to_string();
        let stale = last_used.is_none_or(|(at, last_ip)| at + RECORD_AGAIN_SECS <= now || last_ip != ip);
        if stale && let Credential::AppPassword { id: pid, .. } = principal.credential() {
            let pid = pid.clone();
            // Not synced: a last-use time lost to a crash is harmless.
            let _ = self.store.update_credentials(id, &|c: &mut CredentialsRecord| {
                if let Some(p) = c.app_passwords.iter_mut().find(|p| p.id == pid) {
                    p.last_used = Some((now, ip.clone()));
                }
                Ok(())
            });
        }
        Ok(Some(principal))
    }

    /// The channel that ends the session of `principal` when its
    /// credential is revoked.
    pub fn authority(&self, principal: &Principal) -> SessionAuthority {
        let rx = self.revocations.subscribe(principal.address(), || {
            match self.store.account(principal.address()) {
                Ok(Some(id)) => self
                    .store
                    .credentials(id)
                    .map(|c| SignInState::of(&c))
                    .unwrap_or_default(),
                _ => SignInState::default(),
            }
        });
        SessionAuthority::new(rx, principal.credential().clone(), principal.expires_at())
    }

    /// Records a login for the account page, unless it repeats the last one
    /// within a minute.
    pub fn record_login(
        &self,
        account: AccountId,
        principal: &Principal,
        protocol: &str,
        mechanism: &str,
        client: Option<String>,
        peer: IpAddr,
    ) {
        let client = match principal.credential() {
            Credential::AppPassword { name, .. } => client.or_else(|| Some(name.clone())),
            Credential::Token { .. } => client,
        };
        self.record(account, protocol, mechanism, client, peer);
    }

    /// Records a sign-in on the account page (protocol `web`, mechanism
    /// `OIDC`) from the browser `client`.
    pub fn record_web_login(&self, account: AccountId, client: Option<String>, peer: IpAddr) {
        self.record(account, "web", "OIDC", client, peer);
    }

    fn record(
        &self,
        account: AccountId,
        protocol: &str,
        mechanism: &str,
        client: Option<String>,
        peer: IpAddr,
    ) {
        let login = LoginRecord {
            at: crate::time::now(),
            ip: peer.to_string(),
            protocol: protocol.to_owned(),
            mechanism: mechanism.to_owned(),
            client,
        };
        let repeat = self.store.logins(account).ok().and_then(|l| l.last().cloned()).is_some_and(|last| {
            last.at + RECORD_AGAIN_SECS > login.at
                && last.ip == login.ip
                && last.protocol == login.protocol
                && last.mechanism == login.mechanism
                && last.client == login.client
        });
        if !repeat && let Err(e) = self.store.record_login(account, login) {
            tracing::warn!(error = %e, "cannot record a login");
        }
    }

    /// The account of an account-page session that signed in at
    /// `signed_in_at` (Unix seconds): `None` when the account is gone or
    /// signed out everywhere since (the same rule as for a token's `iat`).
    pub fn web_session(&self, address: &str, signed_in_at: i64) -> Result<Option<AccountId>, StoreError> {
        let Some(id) = self.store.account(address)? else {
            return Ok(None);
        };
        let rec = self.store.credentials(id)?;
        Ok((signed_in_at >= rec.revoked_at).then_some(id))
    }

    /// The store's secret, from which the account page derives its keys.
    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// Sessions of `address` that would hear a revocation.
    pub fn sessions(&self, address: &str) -> usize {
        self.revocations.sessions(address)
    }
}
