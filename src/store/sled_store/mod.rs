//! The sled backend of [`MailStore`]: one tree, keys as in [`super::keys`],
//! every write one sled transaction under the account's lock, durability by
//! [`GroupFlusher`], visibility to other sessions by [`Durability`].
//!
//! - `mailboxes.rs`: accounts, mailboxes, subscriptions, `\Recent`.
//! - `credentials.rs`: the account list, app passwords, revocation, logins.
//! - `messages.rs`: append, copy and move, flags, expunge, reads.
//! - `purge.rs`: the background removal of deleted mailboxes' messages.
//! - `uid_index.rs`: the per-mailbox bitmaps of UIDs that SELECT reads.

mod credentials;
mod mailboxes;
mod messages;
mod purge;
mod uid_index;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use tokio::sync::watch;

use super::blobs::{BlobPart, Blobs, PartRead};
use super::durable::{Durability, Watermark};
use super::flush::GroupFlusher;
use super::keys;
use super::records::{self, ChangeRecord, Record};
use super::{
    AccountId, AppendReceipt, BoxFuture, Change, ChangeKind, CopyReceipt, DurableMailbox, FlagOp,
    FlagUpdate, MailStore, MailboxId, MailboxInfo, MailboxRecord, MessageRecord, NewMessage,
    StoreError, StoreResult, Usage, has_flag,
};
use crate::message::{HeaderPart, HeaderText, MessageSummary, SearchIndex};

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Senders of the per-account change notifications.
type Watchers = Arc<Mutex<HashMap<AccountId, watch::Sender<u64>>>>;

/// Mail storage in an embedded sled database.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    flusher: GroupFlusher,
    durability: Arc<Durability>,
    watchers: Watchers,
    blobs: Arc<Blobs>,
    purger: purge::Purger,
}

impl SledStore {
    /// Keeps a rebuilt header text: both parts.
    fn keep_header_text(&self, body: u64, headers: &HeaderText) -> StoreResult<()> {
        self.keep_derived(
            body,
            &[
                (keys::subject_text(body), headers.subject.as_bytes()),
                (keys::header_text(body), headers.other.as_bytes()),
            ],
        )
    }

    /// Stores values rebuilt from a message (an index, header lines, text
    /// of a message stored by an older version), in one transaction that
    /// first checks the body is still referenced: a message expunged since
    /// its record was read must not get its keys back, for nothing would
    /// ever remove them. `Expunged` then.
    fn keep_derived(&self, body: u64, entries: &[(Vec<u8>, &[u8])]) -> StoreResult<()> {
        self.transaction(|tx| {
            let alive = tx.get(keys::refcount(body))?.is_some()
                // Bodies from before reference counts have a summary key.
                || tx.get(keys::summary(body))?.is_some();
            if !alive {
                return Err(ConflictableTransactionError::Abort(StoreError::Expunged));
            }
            for (key, value) in entries {
                tx.insert(key.as_slice(), *value)?;
            }
            Ok(())
        })
    }

    /// Opens (or creates) the database in `dir` with the default 16 MiB
    /// cache (`[store] cache_mb`).
    pub fn open(dir: &Path) -> StoreResult<SledStore> {
        Self::open_with(dir, crate::config::StoreConfig::default().cache_mb << 20)
    }

    /// Opens (or creates) the database in `dir`, its page cache bounded to
    /// `cache_bytes`; upgrades old records and resumes the purge of
    /// mailboxes deleted before a restart.
    pub fn open_with(dir: &Path, cache_bytes: u64) -> StoreResult<SledStore> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(cache_bytes)
            .open()?;
        let tree = db.open_tree("mail")?;
        migrate(&tree)?;
        uid_index::repair(&tree)?;
        let blobs = Arc::new(Blobs::open(&dir.join("messages")).map_err(blob_error)?);
        // Files a crash left without a committed reference.
        let orphans = blobs
            .collect(|id| tree.contains_key(keys::refcount(id)).unwrap_or(true))
            .map_err(blob_error)?;
        if orphans > 0 {
            tracing::info!(orphans, "store: removed message files a crash left behind");
        }
        let durability = Arc::new(Durability::new());
        let watchers: Watchers = Arc::default();
        let notify = watchers.clone();
        let on_durable = Box::new(move |accounts: &[AccountId]| {
            let watchers = notify.lock().unwrap_or_else(|p| p.into_inner());
            for a in accounts {
                if let Some(tx) = watchers.get(a) {
                    tx.send_modify(|v| *v += 1);
                }
            }
        });
        let purger = purge::Purger::start(tree.clone(), blobs.clone())?;
        // sled 0.34 keeps its log in `DIR/db`; see `flush.rs` for why we
        // fsync it ourselves.
        let log = std::fs::File::open(dir.join("db")).map_err(blob_error)?;
        Ok(SledStore {
            flusher: GroupFlusher::new(
                db.clone(),
                log,
                durability.clone(),
                blobs.clone(),
                on_durable,
            ),
            db,
            tree,
            durability,
            watchers,
            blobs,
            purger,
        })
    }

    /// Flushes everything; used at shutdown.
    pub fn flush_blocking(&self) -> StoreResult<()> {
        let doomed = self.blobs.take_doomed();
        self.db.flush()?;
        self.blobs.remove(&doomed);
        Ok(())
    }

    /// A part of a message's file; `None` when the file predates that
    /// part (look in sled), `Expunged` when the file is gone.
    fn blob_part(&self, record: &MessageRecord, part: BlobPart) -> StoreResult<Option<Vec<u8>>> {
        match self
            .blobs
            .read_part(record.body, record.size, part)
            .map_err(blob_error)?
        {
            PartRead::Found(bytes) => Ok(Some(bytes)),
            PartRead::Legacy => Ok(None),
            // Stored before message files existed: everything is in sled.
            PartRead::Missing if self.tree.contains_key(keys::summary(record.body))? => Ok(None),
            PartRead::Missing => Err(StoreError::Expunged),
        }
    }

    fn get_record<T: Record>(&self, key: &[u8]) -> StoreResult<Option<T>> {
        self.tree.get(key)?.map(|v| records::decode(&v)).transpose()
    }

    fn transaction<T>(&self, f: impl Fn(&TransactionalTree) -> TxResult<T>) -> StoreResult<T> {
        self.tree.transaction(f).map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Database(e),
        })
    }

    /// Registers commits (mailbox, before, after) with the watermarks.
    fn committed(&self, a: AccountId, changed: &[(MailboxId, Watermark, Watermark)]) {
        for &(m, before, after) in changed {
            if before != after {
                self.durability.committed(a, m, before, after);
            }
        }
    }
}

/// Upgrades version-1 mailbox records, moving their `subscribed` flag to
/// `u` keys. Idempotent, so a crash half-way is harmless.
fn migrate(tree: &sled::Tree) -> StoreResult<()> {
    let mut batch = sled::Batch::default();
    let mut changed = false;
    for item in tree.scan_prefix(b"m") {
        let (k, v) = item?;
        if v.first() != Some(&1) {
            continue;
        }
        let rec: MailboxRecord = records::decode(&v)?;
        let Some((a, m)) = keys::account_mailbox_of_key(&k) else {
            continue;
        };
        if records::v1_subscribed(&v) == Some(true) {
            batch.insert(keys::subscription(a, &rec.name), &[]);
        }
        // Version 1 had no unseen index.
        for item in tree.scan_prefix(keys::messages_of(a, m)) {
            let (mk, mv) = item?;
            let msg: MessageRecord = records::decode(&mv)?;
            if !has_flag(&msg.flags, "\\Seen")
                && let Some(uid) = keys::uid_of_message_key(&mk)
            {
                batch.insert(keys::unseen(a, m, uid), &[]);
            }
        }
        batch.insert(k, records::encode(&rec));
        changed = true;
    }
    if changed {
        tree.apply_batch(batch)?;
        tree.flush()?;
        tracing::info!("store: upgraded mailbox records to format 2");
    }
    Ok(())
}

fn blob_error(e: std::io::Error) -> StoreError {
    StoreError::Files(e)
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn decode_tx<T: Record>(bytes: &[u8]) -> TxResult<T> {
    records::decode(bytes).map_err(ConflictableTransactionError::Abort)
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unabortable(e: UnabortableTransactionError) -> ConflictableTransactionError<StoreError> {
    e.into()
}

fn watermark(rec: &MailboxRecord) -> Watermark {
    Watermark {
        modseq: rec.highestmodseq,
        uidnext: rec.uidnext,
    }
}

fn load_mailbox_tx(tx: &TransactionalTree, a: AccountId, m: MailboxId) -> TxResult<MailboxRecord> {
    match tx.get(keys::mailbox(a, m))? {
        Some(v) => decode_tx(&v),
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

/// Keeps the flag indexes in step with a message's flags (`None`: the
/// message is gone): `d` keys for `\Deleted`, so EXPUNGE finds its
/// messages without reading every record, and `v` keys for messages
/// without `\Seen`, so SELECT finds the first unseen one.
fn index_flags_tx(
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
    if flags.is_some_and(|f| !has_flag(f, "\\Seen")) {
        tx.insert(keys::unseen(a, m, uid), &[])?;
    } else {
        tx.remove(keys::unseen(a, m, uid))?;
    }
    Ok(())
}

/// Adds the keywords among `flags` to the mailbox's list.
fn note_keywords(record: &mut MailboxRecord, flags: &[String]) {
    for f in flags {
        if !f.starts_with('\\') && !has_flag(&record.keywords, f) {
            record.keywords.push(f.clone());
        }
    }
}

/// Adds one reference to a body (a copy).
fn retain_body_tx(tx: &TransactionalTree, body: u64) -> TxResult<()> {
    let count = refcount_tx(tx, body)?;
    tx.insert(keys::refcount(body), &(count + 1).to_be_bytes())?;
    Ok(())
}

/// Drops one reference to a body; the last one removes its summary and
/// search data, and returns the body id so that its files are removed once
/// this transaction is durable (see `blobs.rs`). Bodies stored before the
/// files existed are in `b`/`t` keys, removed here too.
fn release_body_tx(tx: &TransactionalTree, body: u64) -> TxResult<Option<u64>> {
    let count = refcount_tx(tx, body)?;
    if count <= 1 {
        tx.remove(keys::refcount(body))?;
        tx.remove(keys::body(body))?;
        tx.remove(keys::summary(body))?;
        tx.remove(keys::search_index(body))?;
        tx.remove(keys::header_text(body))?;
        tx.remove(keys::subject_text(body))?;
        tx.remove(keys::body_text(body))?;
        Ok(Some(body))
    } else {
        tx.insert(keys::refcount(body), &(count - 1).to_be_bytes())?;
        Ok(None)
    }
}

fn refcount_tx(tx: &TransactionalTree, body: u64) -> TxResult<u32> {
    Ok(match tx.get(keys::refcount(body)).map_err(unabortable)? {
        Some(v) => u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0, 0, 0, 1])),
        None => 1,
    })
}

impl MailStore for SledStore {
    fn account(&self, address: &str) -> StoreResult<Option<AccountId>> {
        self.account_impl(address)
    }

    fn ensure_account(&self, address: &str) -> StoreResult<(AccountId, bool)> {
        self.ensure_account_impl(address)
    }

    fn usage(&self, account: AccountId) -> StoreResult<Usage> {
        self.usage_impl(account)
    }

    fn accounts(&self) -> StoreResult<Vec<super::AccountEntry>> {
        self.accounts_impl()
    }

    fn credentials(&self, account: AccountId) -> StoreResult<super::CredentialsRecord> {
        self.credentials_impl(account)
    }

    fn update_credentials(
        &self,
        account: AccountId,
        change: &dyn Fn(&mut super::CredentialsRecord) -> StoreResult<()>,
    ) -> StoreResult<super::CredentialsRecord> {
        self.update_credentials_impl(account, change)
    }

    fn logins(&self, account: AccountId) -> StoreResult<Vec<super::LoginRecord>> {
        self.logins_impl(account)
    }

    fn record_login(&self, account: AccountId, login: super::LoginRecord) -> StoreResult<()> {
        self.record_login_impl(account, login)
    }

    fn secret(&self) -> StoreResult<[u8; 32]> {
        self.secret_impl()
    }

    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>> {
        self.mailboxes_impl(account)
    }

    fn mailbox_by_name(&self, account: AccountId, name: &str) -> StoreResult<Option<MailboxInfo>> {
        self.mailbox_by_name_impl(account, name)
    }

    fn mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<MailboxInfo>> {
        self.mailbox_impl(account, mailbox)
    }

    fn durable_mailbox(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> StoreResult<Option<DurableMailbox>> {
        let _lock = self.durability.lock(account);
        let Some(info) = self.mailbox_impl(account, mailbox)? else {
            return Ok(None);
        };
        let durable = self
            .durability
            .watermark(account, mailbox, watermark(&info.record));
        Ok(Some(DurableMailbox { info, durable }))
    }

    fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> StoreResult<MailboxInfo> {
        self.create_mailbox_impl(account, name, special_use)
    }

    fn delete_mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<()> {
        self.delete_mailbox_impl(account, mailbox)
    }

    fn rename_mailbox(&self, account: AccountId, from: &str, to: &str) -> StoreResult<()> {
        self.rename_mailbox_impl(account, from, to)
    }

    fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>> {
        self.subscriptions_impl(account)
    }

    fn set_subscribed(&self, account: AccountId, name: &str, subscribed: bool) -> StoreResult<()> {
        self.set_subscribed_impl(account, name, subscribed)
    }

    fn claim_recent(&self, account: AccountId, mailbox: MailboxId, upto: u32) -> StoreResult<u32> {
        self.claim_recent_impl(account, mailbox, upto)
    }

    fn append(
        &self,
        targets: &[(AccountId, MailboxId)],
        message: &NewMessage<'_>,
    ) -> StoreResult<Vec<AppendReceipt>> {
        self.append_impl(targets, message)
    }

    fn append_batch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> StoreResult<Vec<AppendReceipt>> {
        self.append_batch_impl(account, mailbox, messages)
    }

    fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
        remove: bool,
    ) -> StoreResult<CopyReceipt> {
        self.copy_impl(account, from, uids, to, remove)
    }

    fn uid_ranges(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<(u32, u32)>> {
        {
            // Under the account's lock no transaction runs, so the count
            // and the bitmaps are of one state.
            let _lock = self.durability.lock(account);
            let Some(rec) = self.get_record::<MailboxRecord>(&keys::mailbox(account, mailbox))?
            else {
                return Ok(Vec::new());
            };
            let (ranges, count) = uid_index::read(&self.tree, account, mailbox)?;
            if count == u64::from(rec.exists) {
                return Ok(ranges);
            }
            tracing::warn!(
                account = account.0,
                mailbox = mailbox.0,
                indexed = count,
                exists = rec.exists,
                "store: the UID index disagrees with the mailbox; reading its records"
            );
        }
        Ok(uid_index::ranges_of(&self.scanned_uids(account, mailbox)?))
    }

    fn deleted_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        self.uids_under(&keys::deleted_of(account, mailbox), "deleted key")
    }

    fn first_unseen(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<u32>> {
        match self
            .tree
            .scan_prefix(keys::unseen_of(account, mailbox))
            .keys()
            .next()
        {
            Some(k) => Ok(keys::uid_of_message_key(&k?)),
            None => Ok(None),
        }
    }

    fn unseen_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        self.uids_under(&keys::unseen_of(account, mailbox), "unseen key")
    }

    fn message(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
    ) -> StoreResult<Option<MessageRecord>> {
        self.get_record(&keys::message(account, mailbox, uid))
    }

    fn scan_messages(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        first: u32,
        last: u32,
        visit: &mut dyn FnMut(u32, MessageRecord) -> bool,
    ) -> StoreResult<()> {
        self.scan_messages_impl(account, mailbox, first, last, visit)
    }

    fn summary(&self, record: &MessageRecord) -> StoreResult<MessageSummary> {
        match self.blob_part(record, BlobPart::Summary)? {
            Some(bytes) => Ok(records::decode(&bytes)?),
            // Stored before summaries moved into the files: in sled until
            // the last reference goes.
            None => self
                .get_record(&keys::summary(record.body))?
                .ok_or(StoreError::Expunged),
        }
    }

    fn body(&self, record: &MessageRecord) -> StoreResult<Vec<u8>> {
        if let Some(raw) = self
            .blobs
            .read(record.body, record.size)
            .map_err(blob_error)?
        {
            return Ok(raw);
        }
        // Stored before message files existed.
        self.tree
            .get(keys::body(record.body))?
            .map(|v| v.to_vec())
            .ok_or(StoreError::Expunged)
    }

    fn search_index(&self, record: &MessageRecord) -> StoreResult<SearchIndex> {
        // A missing or outdated index (a message stored before this format)
        // is rebuilt from the message, once.
        if let Ok(Some(idx)) = self.get_record(&keys::search_index(record.body)) {
            return Ok(idx);
        }
        let raw = self.body(record)?;
        let summary = self.summary(record)?;
        let (idx, headers) = SearchIndex::build_with_headers(&raw, &summary);
        let body = record.body;
        self.keep_derived(
            body,
            &[
                (keys::search_index(body), &records::encode(&idx)),
                (keys::subject_text(body), headers.subject.as_bytes()),
                (keys::header_text(body), headers.other.as_bytes()),
            ],
        )?;
        Ok(idx)
    }

    fn header_text(&self, record: &MessageRecord, part: HeaderPart) -> StoreResult<Vec<u8>> {
        if part == HeaderPart::Subject
            && let Some(s) = self.tree.get(keys::subject_text(record.body))?
        {
            return Ok(s.to_vec());
        }
        if part == HeaderPart::Other
            && let Some(h) = self.blob_part(record, BlobPart::Headers)?
        {
            return Ok(h);
        }
        // Stored before the split, `h` holds every field's lines, Subject
        // included: right for either part.
        if let Some(h) = self.tree.get(keys::header_text(record.body))? {
            return Ok(h.to_vec());
        }
        let raw = self.body(record)?;
        let summary = self.summary(record)?;
        let headers = crate::message::header_text(&raw, &summary);
        self.keep_header_text(record.body, &headers)?;
        Ok(match part {
            HeaderPart::Subject => headers.subject,
            HeaderPart::Other => headers.other,
        }
        .into_bytes())
    }

    fn body_text(&self, record: &MessageRecord) -> StoreResult<String> {
        if let Some(t) = self.blob_part(record, BlobPart::Text)? {
            return Ok(String::from_utf8_lossy(&t).into_owned());
        }
        // Stored before message files existed.
        if let Some(t) = self.tree.get(keys::body_text(record.body))? {
            return Ok(String::from_utf8_lossy(&t).into_owned());
        }
        let raw = self.body(record)?;
        let summary = self.summary(record)?;
        let text = crate::message::body_text(&raw, &summary);
        self.keep_derived(
            record.body,
            &[(keys::body_text(record.body), text.as_bytes())],
        )?;
        Ok(text)
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
        self.store_flags_impl(account, mailbox, uids, op, flags, unchanged_since)
    }

    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> StoreResult<Vec<u32>> {
        self.expunge_impl(account, mailbox, uids)
    }

    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        after: u64,
        upto: u64,
    ) -> StoreResult<Vec<Change>> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let start = keys::change(account, mailbox, after.saturating_add(1));
        let end = keys::change(account, mailbox, upto);
        let mut out = Vec::new();
        for item in self.tree.range(start..=end) {
            let (k, v) = item?;
            let modseq = keys::modseq_of_change_key(&k).ok_or(StoreError::Corrupt {
                what: "change key",
                detail: String::new(),
            })?;
            let rec: ChangeRecord = records::decode(&v)?;
            out.push(Change {
                modseq,
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
    /// The UIDs in the keys under `prefix` (`e` or `d` keys of a mailbox).
    /// The mailboxes whose UID index differs from their message records,
    /// and those of index blocks left behind by a mailbox that is gone:
    /// a consistency check, empty on a healthy store.
    pub fn verify_uid_index(&self) -> StoreResult<Vec<(AccountId, MailboxId)>> {
        uid_index::verify(&self.tree)
    }

    /// A mailbox's UIDs from its message records, not the UID index.
    pub fn scanned_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        self.uids_under(&keys::messages_of(account, mailbox), "message key")
    }

    fn uids_under(&self, prefix: &[u8], what: &'static str) -> StoreResult<Vec<u32>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(prefix).keys() {
            let k = item?;
            out.push(keys::uid_of_message_key(&k).ok_or(StoreError::Corrupt {
                what,
                detail: String::new(),
            })?);
        }
        Ok(out)
    }
}
