//! The sled backend of [`MailStore`]: one tree, keys as in [`super::keys`],
//! every write one sled transaction, durability by [`GroupFlusher`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use tokio::sync::watch;

use super::flush::GroupFlusher;
use super::keys;
use super::records::{self, AccountRecord, ChangeRecord};
use super::{
    AccountId, AppendReceipt, BoxFuture, Change, ChangeKind, DEFAULT_MAILBOXES, FlagOp, FlagUpdate,
    MailStore, MailboxId, MailboxInfo, MailboxRecord, MessageRecord, NewMessage, StoreError,
    StoreResult, canonical_flag, has_flag,
};
use crate::message::MessageSummary;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Mail storage in an embedded sled database.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    flusher: GroupFlusher,
    watchers: Mutex<HashMap<AccountId, watch::Sender<u64>>>,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> StoreResult<SledStore> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let tree = db.open_tree("mail")?;
        Ok(SledStore {
            flusher: GroupFlusher::new(db.clone()),
            db,
            tree,
            watchers: Mutex::new(HashMap::new()),
        })
    }

    /// Flushes everything; used at shutdown.
    pub fn flush_blocking(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
    }

    fn notify(&self, account: AccountId) {
        let watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = watchers.get(&account) {
            tx.send_modify(|v| *v += 1);
        }
    }

    fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        key: &[u8],
    ) -> StoreResult<Option<T>> {
        self.tree
            .get(key)?
            .map(|v| records::decode(what, &v))
            .transpose()
    }

    fn transaction<T>(&self, f: impl Fn(&TransactionalTree) -> TxResult<T>) -> StoreResult<T> {
        self.tree.transaction(f).map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Database(e),
        })
    }

    fn create_account(&self, address: &str) -> StoreResult<(AccountId, bool)> {
        let id = AccountId(self.db.generate_id()? + 1);
        let now = unix_now();
        self.transaction(|tx| {
            if let Some(existing) = tx.get(keys::account(address))? {
                let rec: AccountRecord = decode_tx("account", &existing)?;
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
            }
            tx.insert(keys::account(address), records::encode(&account))?;
            tx.insert(keys::account_address(id), address.as_bytes())?;
            Ok((id, true))
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn decode_tx<T: serde::de::DeserializeOwned>(what: &'static str, bytes: &[u8]) -> TxResult<T> {
    records::decode(what, bytes).map_err(ConflictableTransactionError::Abort)
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unabortable(e: UnabortableTransactionError) -> ConflictableTransactionError<StoreError> {
    e.into()
}

/// Creates a mailbox inside a transaction, updating the account record
/// (which the caller writes back).
fn create_mailbox_tx(
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
    let uidvalidity = (unix_now() as u32).max(account.last_uidvalidity + 1);
    account.last_uidvalidity = uidvalidity;
    let record = MailboxRecord {
        name: name.to_owned(),
        uidvalidity,
        uidnext: 1,
        highestmodseq: 1,
        special_use: special_use.map(str::to_owned),
        subscribed: true,
        exists: 0,
        seen: 0,
        deleted: 0,
        size: 0,
    };
    tx.insert(keys::mailbox(aid, id), records::encode(&record))?;
    tx.insert(keys::mailbox_name(aid, name), &id.0.to_be_bytes())?;
    Ok(MailboxInfo { id, record })
}

fn load_mailbox_tx(tx: &TransactionalTree, a: AccountId, m: MailboxId) -> TxResult<MailboxRecord> {
    match tx.get(keys::mailbox(a, m))? {
        Some(v) => decode_tx("mailbox", &v),
        None => abort(StoreError::NoSuchMailbox),
    }
}

/// Records `kind` for `uid` at `modseq`, dropping the message's previous
/// log entry at `old_modseq` so the log holds one entry per message.
fn log_change_tx(
    tx: &TransactionalTree,
    a: AccountId,
    m: MailboxId,
    old_modseq: Option<u64>,
    modseq: u64,
    uid: u32,
    kind: ChangeKind,
) -> TxResult<()> {
    if let Some(old) = old_modseq {
        tx.remove(keys::change(a, m, old))?;
    }
    tx.insert(
        keys::change(a, m, modseq),
        records::encode(&ChangeRecord { uid, kind }),
    )?;
    Ok(())
}

fn adjust_counts(record: &mut MailboxRecord, flags: &[String], sign: i64) {
    let step = |v: &mut u32| *v = (*v as i64 + sign).max(0) as u32;
    if has_flag(flags, "\\Seen") {
        step(&mut record.seen);
    }
    if has_flag(flags, "\\Deleted") {
        step(&mut record.deleted);
    }
}

/// Keeps the `\Deleted` index (`d` keys) in step with a message's flags,
/// so EXPUNGE finds its messages without reading every record.
fn index_deleted_tx(
    tx: &TransactionalTree,
    a: AccountId,
    m: MailboxId,
    uid: u32,
    flags: Option<&[String]>,
) -> TxResult<()> {
    if flags.is_some_and(|f| has_flag(f, "\\Deleted")) {
        tx.insert(keys::deleted(a, m, uid), &[])?;
    } else {
        tx.remove(keys::deleted(a, m, uid))?;
    }
    Ok(())
}

fn apply_flag_op(current: &[String], op: FlagOp, flags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match op {
        FlagOp::Replace => Vec::new(),
        FlagOp::Add | FlagOp::Remove => current.to_vec(),
    };
    match op {
        FlagOp::Replace | FlagOp::Add => {
            for f in flags {
                if !has_flag(&out, f) {
                    out.push(canonical_flag(f));
                }
            }
        }
        FlagOp::Remove => out.retain(|f| !has_flag(flags, f)),
    }
    // \Recent is session state, never stored (RFC 9051 removed it).
    out.retain(|f| !f.eq_ignore_ascii_case("\\Recent"));
    out
}

impl MailStore for SledStore {
    fn account(&self, address: &str) -> StoreResult<Option<AccountId>> {
        Ok(self
            .get_record::<AccountRecord>("account", &keys::account(address))?
            .map(|r| AccountId(r.id)))
    }

    fn ensure_account(&self, address: &str) -> StoreResult<(AccountId, bool)> {
        match self.account(address)? {
            Some(id) => Ok((id, false)),
            None => self.create_account(address),
        }
    }

    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(keys::mailboxes_of(account)) {
            let (k, v) = item?;
            let id = keys::mailbox_id_of_key(&k).ok_or(StoreError::Corrupt {
                what: "mailbox key",
                detail: String::new(),
            })?;
            out.push(MailboxInfo {
                id,
                record: records::decode("mailbox", &v)?,
            });
        }
        out.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        Ok(out)
    }

    fn mailbox_by_name(&self, account: AccountId, name: &str) -> StoreResult<Option<MailboxInfo>> {
        let Some(id) = self.tree.get(keys::mailbox_name(account, name))? else {
            return Ok(None);
        };
        let id = MailboxId(u32::from_be_bytes(id.as_ref().try_into().map_err(
            |_| StoreError::Corrupt {
                what: "mailbox name",
                detail: String::new(),
            },
        )?));
        self.mailbox(account, id)
    }

    fn mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<MailboxInfo>> {
        Ok(self
            .get_record::<MailboxRecord>("mailbox", &keys::mailbox(account, mailbox))?
            .map(|record| MailboxInfo {
                id: mailbox,
                record,
            }))
    }

    fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> StoreResult<MailboxInfo> {
        let address_key = self.account_key(account)?;
        let info = self.transaction(|tx| {
            let Some(v) = tx.get(&address_key)? else {
                return abort(StoreError::NoSuchAccount);
            };
            let mut rec: AccountRecord = decode_tx("account", &v)?;
            let info = create_mailbox_tx(tx, &mut rec, name, special_use)?;
            tx.insert(address_key.as_slice(), records::encode(&rec))?;
            Ok(info)
        })?;
        self.notify(account);
        Ok(info)
    }

    fn set_subscribed(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        subscribed: bool,
    ) -> StoreResult<()> {
        self.transaction(|tx| {
            let mut rec = load_mailbox_tx(tx, account, mailbox)?;
            rec.subscribed = subscribed;
            tx.insert(keys::mailbox(account, mailbox), records::encode(&rec))?;
            Ok(())
        })
    }

    fn append(
        &self,
        targets: &[(AccountId, MailboxId)],
        message: &NewMessage<'_>,
    ) -> StoreResult<Vec<AppendReceipt>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let body_id = self.db.generate_id()?;
        let summary = records::encode(message.summary);
        let flags: Vec<String> = apply_flag_op(&[], FlagOp::Replace, &message.flags);
        let size = message.raw.len() as u64;
        let receipts = self.transaction(|tx| {
            tx.insert(keys::body(body_id), message.raw)?;
            tx.insert(keys::summary(body_id), summary.as_slice())?;
            tx.insert(
                keys::refcount(body_id),
                &(targets.len() as u32).to_be_bytes(),
            )?;
            let mut receipts = Vec::with_capacity(targets.len());
            for &(a, m) in targets {
                let mut mbox = load_mailbox_tx(tx, a, m)?;
                let uid = mbox.uidnext;
                mbox.uidnext += 1;
                mbox.highestmodseq += 1;
                let modseq = mbox.highestmodseq;
                mbox.exists += 1;
                mbox.size += size;
                adjust_counts(&mut mbox, &flags, 1);
                let rec = MessageRecord {
                    body: body_id,
                    flags: flags.clone(),
                    internal_date: message.internal_date,
                    size,
                    modseq,
                };
                tx.insert(keys::message(a, m, uid), records::encode(&rec))?;
                if has_flag(&flags, "\\Deleted") {
                    index_deleted_tx(tx, a, m, uid, Some(&flags))?;
                }
                log_change_tx(tx, a, m, None, modseq, uid, ChangeKind::Added)?;
                tx.insert(keys::mailbox(a, m), records::encode(&mbox))?;
                receipts.push(AppendReceipt {
                    uidvalidity: mbox.uidvalidity,
                    uid,
                    modseq,
                });
            }
            Ok(receipts)
        })?;
        let mut notified: Vec<AccountId> = targets.iter().map(|t| t.0).collect();
        notified.dedup();
        for a in notified {
            self.notify(a);
        }
        Ok(receipts)
    }

    fn uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        let mut out = Vec::new();
        for item in self
            .tree
            .scan_prefix(keys::messages_of(account, mailbox))
            .keys()
        {
            let k = item?;
            out.push(keys::uid_of_message_key(&k).ok_or(StoreError::Corrupt {
                what: "message key",
                detail: String::new(),
            })?);
        }
        Ok(out)
    }

    fn deleted_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        let mut out = Vec::new();
        for item in self
            .tree
            .scan_prefix(keys::deleted_of(account, mailbox))
            .keys()
        {
            let k = item?;
            let uid = keys::uid_of_message_key(&k).ok_or(StoreError::Corrupt {
                what: "deleted key",
                detail: String::new(),
            })?;
            out.push(uid);
        }
        Ok(out)
    }

    fn message(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
    ) -> StoreResult<Option<MessageRecord>> {
        self.get_record("message", &keys::message(account, mailbox, uid))
    }

    fn summary(&self, record: &MessageRecord) -> StoreResult<MessageSummary> {
        self.get_record("summary", &keys::summary(record.body))?
            .ok_or(StoreError::Corrupt {
                what: "summary",
                detail: format!("missing for body {}", record.body),
            })
    }

    fn body(&self, record: &MessageRecord) -> StoreResult<Vec<u8>> {
        self.tree
            .get(keys::body(record.body))?
            .map(|v| v.to_vec())
            .ok_or(StoreError::Corrupt {
                what: "body",
                detail: format!("missing body {}", record.body),
            })
    }

    fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> StoreResult<(Vec<FlagUpdate>, Vec<u32>)> {
        let result = self.transaction(|tx| {
            let mut mbox = load_mailbox_tx(tx, account, mailbox)?;
            let mut updates = Vec::new();
            let mut failed = Vec::new();
            for &uid in uids {
                let key = keys::message(account, mailbox, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let mut rec: MessageRecord = decode_tx("message", &v)?;
                if unchanged_since.is_some_and(|u| rec.modseq > u) {
                    failed.push(uid);
                    continue;
                }
                let new_flags = apply_flag_op(&rec.flags, op, flags);
                if new_flags == rec.flags {
                    continue;
                }
                adjust_counts(&mut mbox, &rec.flags, -1);
                adjust_counts(&mut mbox, &new_flags, 1);
                mbox.highestmodseq += 1;
                let old = rec.modseq;
                rec.modseq = mbox.highestmodseq;
                rec.flags = new_flags;
                tx.insert(key, records::encode(&rec))?;
                index_deleted_tx(tx, account, mailbox, uid, Some(&rec.flags))?;
                log_change_tx(
                    tx,
                    account,
                    mailbox,
                    Some(old),
                    rec.modseq,
                    uid,
                    ChangeKind::Flags,
                )?;
                updates.push(FlagUpdate {
                    uid,
                    flags: rec.flags,
                    modseq: rec.modseq,
                });
            }
            tx.insert(keys::mailbox(account, mailbox), records::encode(&mbox))?;
            Ok((updates, failed))
        })?;
        if !result.0.is_empty() {
            self.notify(account);
        }
        Ok(result)
    }

    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> StoreResult<Vec<u32>> {
        let removed = self.transaction(|tx| {
            let mut mbox = load_mailbox_tx(tx, account, mailbox)?;
            let mut removed = Vec::new();
            for &uid in uids {
                let key = keys::message(account, mailbox, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let rec: MessageRecord = decode_tx("message", &v)?;
                tx.remove(key)?;
                index_deleted_tx(tx, account, mailbox, uid, None)?;
                release_body_tx(tx, rec.body)?;
                adjust_counts(&mut mbox, &rec.flags, -1);
                mbox.exists = mbox.exists.saturating_sub(1);
                mbox.size = mbox.size.saturating_sub(rec.size);
                mbox.highestmodseq += 1;
                log_change_tx(
                    tx,
                    account,
                    mailbox,
                    Some(rec.modseq),
                    mbox.highestmodseq,
                    uid,
                    ChangeKind::Expunged,
                )?;
                removed.push(uid);
            }
            tx.insert(keys::mailbox(account, mailbox), records::encode(&mbox))?;
            Ok(removed)
        })?;
        if !removed.is_empty() {
            self.notify(account);
        }
        Ok(removed)
    }

    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Vec<Change>> {
        let start = keys::change(account, mailbox, modseq.saturating_add(1));
        let prefix = keys::changes_of(account, mailbox);
        let mut out = Vec::new();
        for item in self.tree.range(start..) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            let tail: [u8; 8] = k[k.len() - 8..]
                .try_into()
                .map_err(|_| StoreError::Corrupt {
                    what: "change key",
                    detail: String::new(),
                })?;
            let rec: ChangeRecord = records::decode("change", &v)?;
            out.push(Change {
                modseq: u64::from_be_bytes(tail),
                uid: rec.uid,
                kind: rec.kind,
            });
        }
        Ok(out)
    }

    fn sync(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.flusher.sync())
    }

    fn watch(&self, account: AccountId) -> watch::Receiver<u64> {
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        // Drop senders nobody listens to any more, so the map stays small.
        watchers.retain(|_, tx| tx.receiver_count() > 0);
        watchers
            .entry(account)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    fn flush_stats(&self) -> (u64, u64) {
        self.flusher.stats()
    }
}

impl SledStore {
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
}

/// Drops one reference to a body; the last one removes body and summary.
fn release_body_tx(tx: &TransactionalTree, body: u64) -> TxResult<()> {
    let count = match tx.get(keys::refcount(body)).map_err(unabortable)? {
        Some(v) => u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0, 0, 0, 1])),
        None => 1,
    };
    if count <= 1 {
        tx.remove(keys::refcount(body))?;
        tx.remove(keys::body(body))?;
        tx.remove(keys::summary(body))?;
    } else {
        tx.insert(keys::refcount(body), &(count - 1).to_be_bytes())?;
    }
    Ok(())
}
