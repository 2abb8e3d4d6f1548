//! Accounts as a list, and their sign-in state: app passwords, the last
//! revocation (`p` keys), recent logins (`l` keys), the server secret (`k`).

use sled::transaction::ConflictableTransactionError;

use super::{SledStore, decode_tx};
use crate::store::keys;
use crate::store::records::{self, AccountRecord, CredentialsRecord, LoginRecord, LoginsRecord};
use crate::store::{AccountEntry, AccountId, StoreError, StoreResult};

impl SledStore {
    pub(super) fn accounts_impl(&self) -> StoreResult<Vec<AccountEntry>> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(keys::ACCOUNTS) {
            let (key, value) = kv?;
            let Some(address) = keys::address_of_key(&key) else {
                continue;
            };
            let rec: AccountRecord = records::decode(&value)?;
            out.push(AccountEntry {
                address: address.to_owned(),
                id: AccountId(rec.id),
                created: rec.created,
            });
        }
        Ok(out)
    }

    pub(super) fn credentials_impl(&self, account: AccountId) -> StoreResult<CredentialsRecord> {
        Ok(self
            .get_record::<CredentialsRecord>(&keys::credentials(account))?
            .unwrap_or_default())
    }

    pub(super) fn update_credentials_impl(
        &self,
        account: AccountId,
        change: &dyn Fn(&mut CredentialsRecord) -> StoreResult<()>,
    ) -> StoreResult<CredentialsRecord> {
        if !self.tree.contains_key(keys::account_address(account))? {
            return Err(StoreError::NoSuchAccount);
        }
        let key = keys::credentials(account);
        self.transaction(|tx| {
            let mut rec = match tx.get(&key)? {
                Some(v) => decode_tx::<CredentialsRecord>(&v)?,
                None => CredentialsRecord::default(),
            };
            change(&mut rec).map_err(ConflictableTransactionError::Abort)?;
            tx.insert(key.as_slice(), records::encode(&rec))?;
            Ok(rec)
        })
    }

    pub(super) fn logins_impl(&self, account: AccountId) -> StoreResult<Vec<LoginRecord>> {
        Ok(self
            .get_record::<LoginsRecord>(&keys::logins(account))?
            .unwrap_or_default()
            .logins)
    }

    pub(super) fn record_login_impl(
        &self,
        account: AccountId,
        login: LoginRecord,
    ) -> StoreResult<()> {
        let key = keys::logins(account);
        let mut failed = None;
        self.tree.fetch_and_update(&key, |old| {
            let mut rec = match old.map(records::decode::<LoginsRecord>) {
                Some(Ok(r)) => r,
                Some(Err(e)) => {
                    failed = Some(e);
                    LoginsRecord::default()
                }
                None => LoginsRecord::default(),
            };
            rec.logins.push(login.clone());
            let excess = rec.logins.len().saturating_sub(LoginsRecord::KEEP);
            rec.logins.drain(..excess);
            Some(records::encode(&rec))
        })?;
        match failed {
            // An unreadable list is replaced by the new login alone.
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(super) fn secret_impl(&self) -> StoreResult<[u8; 32]> {
        if let Some(v) = self.tree.get(keys::SECRET)?
            && let Ok(secret) = <[u8; 32]>::try_from(v.as_ref())
        {
            return Ok(secret);
        }
        let mut fresh = [0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh).map_err(|_| StoreError::Corrupt {
            what: "secret",
            detail: "the system's random source failed".into(),
        })?;
        // Two callers racing: the first value written wins for both.
        let won = self
            .tree
            .compare_and_swap(keys::SECRET, None as Option<&[u8]>, Some(&fresh[..]))?;
        match won {
            Ok(()) => Ok(fresh),
            Err(current) => current
                .current
                .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok())
                .ok_or(StoreError::Corrupt {
                    what: "secret",
                    detail: "not 32 bytes".into(),
                }),
        }
    }
}
