//! Protocol sessions: I/O-free state machines that turn parsed commands
//! into responses, calling the store and the token validator. The network
//! drivers in `server/` own the sockets, TLS, framing and timeouts.

pub mod imap;
pub mod rate;
pub mod sasl;
pub mod slots;
pub mod smtp;

use std::sync::Arc;

use crate::account::Accounts;
use crate::auth::{LoginLimiter, Principal, Validator};
use crate::config::Config;
use crate::store::{AccountId, MailStore, StoreError};

/// What every session shares: configuration, storage and authentication.
pub struct Shared {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Mail storage.
    pub store: Arc<dyn MailStore>,
    /// Token validation.
    pub validator: Arc<Validator>,
    /// Failed-login throttle.
    pub limiter: Arc<LoginLimiter>,
    /// Connections per client address and sessions per account.
    pub slots: Arc<slots::Slots>,
    /// App passwords and revocation.
    pub accounts: Arc<Accounts>,
    /// Messages per minute per client address on the MX.
    pub inbound_rate: rate::MessageRate,
    /// SPF, DKIM and DMARC of mail on the MX; `None` when its resolver
    /// could not be made (mail is then taken without the checks).
    pub sender_auth: Option<smtp::sender_auth::SenderAuth>,
}

impl Shared {
    /// The state every session shares, its slot caps from `config.limits`.
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn MailStore>,
        validator: Arc<Validator>,
        limiter: Arc<LoginLimiter>,
        accounts: Arc<Accounts>,
    ) -> Shared {
        let slots = slots::Slots::new(
            config.limits.max_connections_per_ip,
            config.limits.max_connections_per_account,
        );
        let inbound_rate = rate::MessageRate::new(config.smtp_in.max_messages_per_minute);
        let sender_auth = if config.smtp_in.listen.is_empty() {
            None
        } else {
            match smtp::sender_auth::SenderAuth::new(&config.nameservers) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::error!(error = %e, "no DNS resolver: mail on the MX is taken without SPF, DKIM and DMARC checks");
                    None
                }
            }
        };
        Shared {
            inbound_rate,
            sender_auth,
            config,
            store,
            validator,
            limiter,
            slots,
            accounts,
        }
    }

    /// The account of a logged-in principal, created with its standard
    /// mailboxes on the first valid login (CONTRACT.md) and made durable
    /// before the login is confirmed.
    pub async fn open_account(&self, principal: &Principal) -> Result<AccountId, StoreError> {
        let (account, created) = self.store.ensure_account(principal.address())?;
        if created {
            self.store.sync().await?;
            tracing::info!(
                address = principal.address(),
                "account created on first login"
            );
        }
        Ok(account)
    }
}
