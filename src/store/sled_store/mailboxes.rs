//! Accounts, mailboxes, subscriptions and the `\Recent` floor.

use sled::transaction::TransactionalTree;

use super::messages::{add_message_tx, remove_message_tx};
use super::{SledStore, TxResult, abort, decode_tx, load_mailbox_tx, unix_now, watermark};
use crate::store::keys;
use crate::store::records::{self, AccountRecord, MailboxRecord, MessageRecord};
use crate::store::{
    AccountId, DEFAULT_MAILBOXES, MailboxId, MailboxInfo, StoreError, StoreResult, Usage,
};

/// The hierarchy delimiter of stored names.
const DELIMITER: char = '/';

impl SledStore {
    pub(super) fn account_impl(&self, address: &str) -> StoreResult<Option<AccountId>> {
        Ok(self
            .get_record::<AccountRecord>(&keys::account(address))?
            .map(|r| AccountId(r.id)))
    }

    pub(super) fn ensure_account_impl(&self, address: &str) -> StoreResult<(AccountId, bool)> {
        if let Some(id) = self.account_impl(address)? {
            return Ok((id, false));
        }
        let id = AccountId(self.db.generate_id()? + 1);
        let now = unix_now();
        let _lock = self.durability.lock(id);
        self.transaction(|tx| {
            if let Some(existing) = tx.get(keys::account(address))? {
                let rec: AccountRecord = decode_tx(&existing)?;
                return Ok((AccountId(rec.id), false));
            }
            let mut account = AccountRecord {
                id: id.0,
                next_mailbox: 1,
                last_uidvalidity: 0,
                created: now,
            };
            for (name, special) in DEFAULT_MAILBOXES {
                create_mailbox_tx(tx, &mut account, name, special)?;
                tx.insert(keys::subscription(id, name), &[])?;
            }
            tx.insert(keys::account(address), records::encode(&account))?;
            tx.insert(keys::account_address(id), address.as_bytes())?;
            Ok((id, true))
        })
    }

    /// The `a` key of an account id, through the `i` index.
    fn account_key(&self, account: AccountId) -> StoreResult<Vec<u8>> {
        let address = self
            .tree
            .get(keys::account_address(account))?
            .ok_or(StoreError::NoSuchAccount)?;
        let address = std::str::from_utf8(&address).map_err(|e| StoreError::Corrupt {
            what: "account address",
            detail: e.to_string(),
        })?;
        Ok(keys::account(address))
    }

    pub(super) fn usage_impl(&self, account: AccountId) -> StoreResult<Usage> {
        let mut usage = Usage::default();
        for b in self.mailboxes_impl(account)? {
            usage.bytes += b.record.size;
            usage.messages += u64::from(b.record.exists);
        }
        Ok(usage)
    }

    pub(super) fn mailboxes_impl(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(keys::mailboxes_of(account)) {
            let (k, v) = item?;
            let id = keys::mailbox_id_of_key(&k).ok_or(StoreError::Corrupt {
                what: "mailbox key",
                detail: String::new(),
            })?;
            out.push(MailboxInfo {
                id,
                record: records::decode(&v)?,
            });
        }
        out.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        Ok(out)
    }

    pub(super) fn mailbox_by_name_impl(
        &self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<MailboxInfo>> {
        let Some(id) = self.tree.get(keys::mailbox_name(account, name))? else {
            return Ok(None);
        };
        self.mailbox_impl(account, mailbox_id(&id)?)
    }

    pub(super) fn mailbox_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> StoreResult<Option<MailboxInfo>> {
        Ok(self
            .get_record::<MailboxRecord>(&keys::mailbox(account, mailbox))?
            .map(|record| MailboxInfo {
                id: mailbox,
                record,
            }))
    }

    pub(super) fn create_mailbox_impl(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> StoreResult<MailboxInfo> {
        let address_key = self.account_key(account)?;
        let _lock = self.durability.lock(account);
        let info = self.transaction(|tx| {
            let Some(v) = tx.get(&address_key)? else {
                return abort(StoreError::NoSuchAccount);
            };
            let mut rec: AccountRecord = decode_tx(&v)?;
            let info = create_mailbox_tx(tx, &mut rec, name, special_use)?;
            tx.insert(address_key.as_slice(), records::encode(&rec))?;
            Ok(info)
        })?;
        self.durability.wake_after_flush(account);
        Ok(info)
    }

    pub(super) fn delete_mailbox_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> StoreResult<()> {
        let _lock = self.durability.lock(account);
        self.transaction(|tx| {
            let rec = load_mailbox_tx(tx, account, mailbox)?;
            if rec.name == "INBOX" {
                return abort(StoreError::NotAllowed("INBOX cannot be deleted"));
            }
            tx.remove(keys::mailbox(account, mailbox))?;
            tx.remove(keys::mailbox_name(account, &rec.name))?;
            tx.insert(keys::tombstone(account, mailbox), &[])?;
            Ok(())
        })?;
        self.durability.forget(account, mailbox);
        self.durability.wake_after_flush(account);
        self.purger.purge(account, mailbox);
        Ok(())
    }

    pub(super) fn rename_mailbox_impl(
        &self,
        account: AccountId,
        from: &str,
        to: &str,
    ) -> StoreResult<()> {
        if from == to {
            return Err(StoreError::MailboxExists);
        }
        if from == "INBOX" {
            return self.rename_inbox(account, to);
        }
        if is_inferior(to, from) {
            return Err(StoreError::NotAllowed(
                "A mailbox cannot be moved below itself",
            ));
        }
        let boxes = self.mailboxes_impl(account)?;
        let moving: Vec<&MailboxInfo> = boxes
            .iter()
            .filter(|b| b.record.name == from || is_inferior(&b.record.name, from))
            .collect();
        if !moving.iter().any(|b| b.record.name == from) {
            return Err(StoreError::NoSuchMailbox);
        }
        let subscriptions = self.subscriptions_impl(account)?;
        let renamed = |name: &str| format!("{to}{}", &name[from.len()..]);
        let _lock = self.durability.lock(account);
        self.transaction(|tx| {
            for b in &moving {
                let new_name = renamed(&b.record.name);
                if tx.get(keys::mailbox_name(account, &new_name))?.is_some() {
                    return abort(StoreError::MailboxExists);
                }
                let mut rec = load_mailbox_tx(tx, account, b.id)?;
                tx.remove(keys::mailbox_name(account, &rec.name))?;
                rec.name = new_name;
                tx.insert(
                    keys::mailbox_name(account, &rec.name),
                    &b.id.0.to_be_bytes(),
                )?;
                tx.insert(keys::mailbox(account, b.id), records::encode(&rec))?;
            }
            for name in subscriptions
                .iter()
                .filter(|n| n.as_str() == from || is_inferior(n, from))
            {
                tx.remove(keys::subscription(account, name))?;
                tx.insert(keys::subscription(account, &renamed(name)), &[])?;
            }
            Ok(())
        })?;
        self.durability.wake_after_flush(account);
        Ok(())
    }

    /// RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox
    /// and leaves INBOX empty; its inferiors stay where they are.
    fn rename_inbox(&self, account: AccountId, to: &str) -> StoreResult<()> {
        let inbox = self
            .mailbox_by_name_impl(account, "INBOX")?
            .ok_or(StoreError::NoSuchMailbox)?;
        let uids = self.uids_under(&keys::messages_of(account, inbox.id), "message key")?;
        let address_key = self.account_key(account)?;
        let now = unix_now();
        let _lock = self.durability.lock(account);
        let (before, after) = self.transaction(|tx| {
            let Some(v) = tx.get(&address_key)? else {
                return abort(StoreError::NoSuchAccount);
            };
            let mut acct: AccountRecord = decode_tx(&v)?;
            let mut dest = create_mailbox_tx(tx, &mut acct, to, None)?;
            tx.insert(address_key.as_slice(), records::encode(&acct))?;
            let mut src = load_mailbox_tx(tx, account, inbox.id)?;
            let before = watermark(&src);
            for &uid in &uids {
                let key = keys::message(account, inbox.id, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let rec: MessageRecord = decode_tx(&v)?;
                remove_message_tx(tx, account, inbox.id, &mut src, uid, &rec)?;
                let moved = MessageRecord {
                    modseq: 0,
                    saved: now,
                    ..rec
                };
                add_message_tx(tx, account, dest.id, &mut dest.record, moved)?;
            }
            // Nobody has selected the new mailbox yet: nothing is recent
            // to anyone, so the first session to select it sees all.
            tx.insert(
                keys::mailbox(account, dest.id),
                records::encode(&dest.record),
            )?;
            tx.insert(keys::mailbox(account, inbox.id), records::encode(&src))?;
            Ok((before, watermark(&src)))
        })?;
        self.committed(account, &[(inbox.id, before, after)]);
        self.durability.wake_after_flush(account);
        Ok(())
    }

    pub(super) fn subscriptions_impl(&self, account: AccountId) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for item in self
            .tree
            .scan_prefix(keys::subscriptions_of(account))
            .keys()
        {
            let k = item?;
            let name = keys::name_of_key(&k).ok_or(StoreError::Corrupt {
                what: "subscription key",
                detail: String::new(),
            })?;
            out.push(name.to_owned());
        }
        Ok(out)
    }

    pub(super) fn set_subscribed_impl(
        &self,
        account: AccountId,
        name: &str,
        subscribed: bool,
    ) -> StoreResult<()> {
        let key = keys::subscription(account, name);
        if subscribed {
            self.tree.insert(key, &[])?;
        } else {
            self.tree.remove(key)?;
        }
        self.durability.wake_after_flush(account);
        Ok(())
    }

    pub(super) fn claim_recent_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        upto: u32,
    ) -> StoreResult<u32> {
        let _lock = self.durability.lock(account);
        self.transaction(|tx| {
            let mut rec = load_mailbox_tx(tx, account, mailbox)?;
            let floor = rec.recent_floor;
            let upto = upto.min(rec.uidnext);
            if upto > floor {
                rec.recent_floor = upto;
                tx.insert(keys::mailbox(account, mailbox), records::encode(&rec))?;
            }
            Ok(floor)
        })
    }
}

/// Whether `name` is below `parent` in the hierarchy.
fn is_inferior(name: &str, parent: &str) -> bool {
    name.len() > parent.len() + 1
        && name.starts_with(parent)
        && name[parent.len()..].starts_with(DELIMITER)
}

fn mailbox_id(bytes: &[u8]) -> StoreResult<MailboxId> {
    let raw: [u8; 4] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        what: "mailbox name",
        detail: String::new(),
    })?;
    Ok(MailboxId(u32::from_be_bytes(raw)))
}

/// Creates a mailbox inside a transaction, updating the account record
/// (which the caller writes back).
pub(super) fn create_mailbox_tx(
    tx: &TransactionalTree,
    account: &mut AccountRecord,
    name: &str,
    special_use: Option<&str>,
) -> TxResult<MailboxInfo> {
    let aid = AccountId(account.id);
    if tx.get(keys::mailbox_name(aid, name))?.is_some() {
        return abort(StoreError::MailboxExists);
    }
    let id = MailboxId(account.next_mailbox);
    account.next_mailbox += 1;
    // RFC 9051 §2.3.1.1: UIDVALIDITY must grow when a name is reused; time
    // keeps it unique across accounts' histories, the counter within one.
    let now = unix_now();
    let uidvalidity = (now as u32).max(account.last_uidvalidity + 1);
    account.last_uidvalidity = uidvalidity;
    let record = MailboxRecord {
        name: name.to_owned(),
        uidvalidity,
        uidnext: 1,
        highestmodseq: 1,
        special_use: special_use.map(str::to_owned),
        exists: 0,
        seen: 0,
        deleted: 0,
        size: 0,
        recent_floor: 1,
        created: now,
        keywords: Vec::new(),
    };
    tx.insert(keys::mailbox(aid, id), records::encode(&record))?;
    tx.insert(keys::mailbox_name(aid, name), &id.0.to_be_bytes())?;
    Ok(MailboxInfo { id, record })
}

#[cfg(test)]
mod tests {
    use super::is_inferior;

    #[test]
    fn inferiors() {
        assert!(is_inferior("a/b", "a"));
        assert!(is_inferior("a/b/c", "a/b"));
        assert!(!is_inferior("ab", "a"));
        assert!(!is_inferior("a", "a"));
        assert!(!is_inferior("a/", "a"));
    }
}
