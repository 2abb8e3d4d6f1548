//! Mail storage: accounts, mailboxes, messages, and the change log IMAP
//! sessions follow.
//!
//! [`MailStore`] is the interface every backend implements; [`SledStore`]
//! is the one backend today, and `tests/store_conformance.rs` runs the same
//! suite against any implementation.
//!
//! ## Durability and concurrency rules
//! - A write (delivery, APPEND, flag change, expunge) is one atomic
//!   transaction. It is *committed* when the method returns and *durable*
//!   once [`MailStore::sync`] has returned after it. Protocol code
//!   acknowledges (SMTP `250`, IMAP `APPEND OK`) only after `sync`.
//! - `sync` is a group commit: concurrent callers share one disk flush.
//! - Other sessions hear of a change only once it is durable: through
//!   [`MailStore::watch`], which fires after the flush, and through the
//!   durable watermark (see `durable.rs`) that bounds what the change log
//!   and SELECT show them.
//! - Methods are synchronous: no lock is held across an `.await`. All
//!   writes to one account are serialized by that account's lock.
//! - UIDVALIDITY is fixed when a mailbox is created; UIDs only grow, and an
//!   expunged UID is never reused (RFC 9051 §2.3.1.1).

mod blobs;
mod durable;
mod flush;
mod keys;
mod records;
mod sled_store;

use std::future::Future;
use std::pin::Pin;

pub use durable::Watermark;
pub use records::{
    AppPasswordRecord, ChangeKind, CredentialsRecord, LoginRecord, MailboxRecord, MessageRecord,
};
pub use sled_store::SledStore;

pub use crate::message::HeaderPart;
use crate::message::{MessageSummary, Parsed, SearchIndex};

/// Identifies an account inside one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u64);

/// Identifies a mailbox inside its account. Never reused within the
/// account, so it is also the mailbox's OBJECTID (RFC 8474 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxId(pub u32);

/// Errors from storage. What the client sees is decided by the protocol
/// layer; these carry the internal cause for the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, corruption).
    #[error("database: {0}")]
    Database(#[from] sled::Error),
    /// A stored record did not decode.
    #[error("corrupt record {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The named mailbox does not exist.
    #[error("no such mailbox")]
    NoSuchMailbox,
    /// A mailbox of that name exists already.
    #[error("mailbox already exists")]
    MailboxExists,
    /// The account does not exist.
    #[error("no such account")]
    NoSuchAccount,
    /// The operation is not allowed on this mailbox (e.g. deleting INBOX).
    #[error("{0}")]
    NotAllowed(&'static str),
    /// Flushing to disk failed: nothing since the last good flush may be acknowledged.
    #[error("flush to disk failed: {0}")]
    Flush(String),
    /// A message file could not be written or read.
    #[error("message file: {0}")]
    Files(#[source] std::io::Error),
    /// The message was expunged (its contents released) after its record
    /// was read: another session removed it meanwhile. Sessions treat the
    /// message as gone (RFC 2180 §4.1).
    #[error("message expunged meanwhile")]
    Expunged,
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A mailbox as LIST, SELECT and STATUS see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Its id inside the account.
    pub id: MailboxId,
    /// Its record: name, UIDVALIDITY, counters.
    pub record: MailboxRecord,
}

/// What a committed APPEND or delivery produced (RFC 4315 APPENDUID needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The new message's UID.
    pub uid: u32,
    /// The MODSEQ of the change.
    pub modseq: u64,
}

/// What a committed COPY or MOVE produced (RFC 4315 COPYUID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyReceipt {
    /// The destination's UIDVALIDITY.
    pub uidvalidity: u32,
    /// (source UID, new UID) for every message copied, in source order.
    pub pairs: Vec<(u32, u32)>,
}

/// One message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The message exactly as it will be served.
    pub raw: &'a [u8],
    /// Its parse, computed once (see [`Parsed::of`]).
    pub parsed: &'a Parsed,
    /// Initial flags, in wire form (`\Seen`, keywords).
    pub flags: Vec<String>,
    /// INTERNALDATE as Unix seconds, with the sender's offset in minutes.
    pub internal_date: i64,
}

/// How much an account stores (RFC 9208 `STORAGE` and `MESSAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Octets over all mailboxes.
    pub bytes: u64,
    /// Messages over all mailboxes.
    pub messages: u64,
}

/// One account as `accounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    /// Its address.
    pub address: String,
    /// Its id.
    pub id: AccountId,
    /// Unix seconds at creation.
    pub created: i64,
}

/// How STORE changes flags (RFC 9051 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// Replace the flag list.
    Replace,
    /// Add flags.
    Add,
    /// Remove flags.
    Remove,
}

/// A flag change that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    /// The message.
    pub uid: u32,
    /// Its flags after the change.
    pub flags: Vec<String>,
    /// Its new MODSEQ.
    pub modseq: u64,
}

/// One entry of a mailbox's change log, newer than some MODSEQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// When it happened.
    pub modseq: u64,
    /// The message it concerns.
    pub uid: u32,
    /// What happened.
    pub kind: ChangeKind,
}

/// A mailbox read together with what of it is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableMailbox {
    /// The mailbox as committed.
    pub info: MailboxInfo,
    /// What of it other sessions may be told about.
    pub durable: Watermark,
}

/// The standard mailboxes every new account gets (RFC 6154 attributes).
pub const DEFAULT_MAILBOXES: [(&str, Option<&str>); 6] = [
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
    ("Archive", Some("\\Archive")),
];

/// A mail store backend. See the module docs for the durability rules.
///
/// Every method is synchronous. The ones that can touch many records or
/// large values (append, copy, expunge, delete, scans) should be called
/// off the async worker threads (`tokio::task::block_in_place`).
pub trait MailStore: Send + Sync + 'static {
    /// The account of `address` (lower-cased by the caller), if it exists.
    fn account(&self, address: &str) -> StoreResult<Option<AccountId>>;

    /// The account of `address`, created with [`DEFAULT_MAILBOXES`] (all
    /// subscribed) when missing; the flag says whether it was created now.
    /// Not durable until `sync`.
    fn ensure_account(&self, address: &str) -> StoreResult<(AccountId, bool)>;

    /// What the account stores, summed over its mailboxes.
    fn usage(&self, account: AccountId) -> StoreResult<Usage>;

    /// Every account, by address.
    fn accounts(&self) -> StoreResult<Vec<AccountEntry>>;

    /// The account's sign-in state (empty when never set).
    fn credentials(&self, account: AccountId) -> StoreResult<CredentialsRecord>;

    /// Changes the account's sign-in state atomically: `change` gets the
    /// current record (it may run more than once, so it must not have
    /// other effects) and the changed record is returned. Not durable
    /// until `sync`.
    fn update_credentials(
        &self,
        account: AccountId,
        change: &dyn Fn(&mut CredentialsRecord) -> StoreResult<()>,
    ) -> StoreResult<CredentialsRecord>;

    /// The account's newest logins, newest last.
    fn logins(&self, account: AccountId) -> StoreResult<Vec<LoginRecord>>;

    /// Records a login, keeping the newest `LoginsRecord::KEEP`. Needs no
    /// `sync`: losing the last few to a crash is harmless.
    fn record_login(&self, account: AccountId, login: LoginRecord) -> StoreResult<()>;

    /// The server's 32-byte secret, made on first use.
    fn secret(&self) -> StoreResult<[u8; 32]>;

    /// All mailboxes of an account, ordered by name.
    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>>;

    /// One mailbox by its exact name (the caller normalizes `INBOX`).
    fn mailbox_by_name(&self, account: AccountId, name: &str) -> StoreResult<Option<MailboxInfo>>;

    /// One mailbox by id.
    fn mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<MailboxInfo>>;

    /// One mailbox and its durable watermark, read consistently.
    fn durable_mailbox(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> StoreResult<Option<DurableMailbox>>;

    /// Creates a mailbox with a fresh UIDVALIDITY.
    fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> StoreResult<MailboxInfo>;

    /// Deletes a mailbox and its messages (RFC 9051 §6.3.5). Inferior
    /// names and subscriptions are left alone. The messages are purged in
    /// the background; the mailbox is gone at once.
    fn delete_mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<()>;

    /// Renames `from` and every name below it to `to` (RFC 9051 §6.3.6),
    /// keeping ids and UIDVALIDITY, and moves their subscriptions. `INBOX`
    /// is different: its messages move to a new mailbox `to`, and INBOX
    /// stays, empty.
    fn rename_mailbox(&self, account: AccountId, from: &str, to: &str) -> StoreResult<()>;

    /// The subscribed names, which need not exist (RFC 9051 §6.3.7).
    fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>>;

    /// Subscribes or unsubscribes a name (RFC 9051 §6.3.7, §6.3.8).
    fn set_subscribed(&self, account: AccountId, name: &str, subscribed: bool) -> StoreResult<()>;

    /// Claims the messages from the mailbox's `\Recent` floor up to (not
    /// including) `upto` for the calling session, and returns the old
    /// floor: UIDs from it to `upto` are `\Recent` to that session only
    /// (RFC 3501 §2.3.2). Not durable, by design.
    fn claim_recent(&self, account: AccountId, mailbox: MailboxId, upto: u32) -> StoreResult<u32>;

    /// Appends one message to mailboxes in one atomic transaction (a
    /// delivery to several recipients, or one APPEND). Committed, not yet durable.
    fn append(
        &self,
        targets: &[(AccountId, MailboxId)],
        message: &NewMessage<'_>,
    ) -> StoreResult<Vec<AppendReceipt>>;

    /// Appends several messages to one mailbox, all or none (MULTIAPPEND,
    /// RFC 3502 §3), in order, with consecutive UIDs.
    fn append_batch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> StoreResult<Vec<AppendReceipt>>;

    /// Copies messages to `to` (RFC 9051 §6.4.7), or moves them when
    /// `remove` is set (RFC 6851: copy and expunge in one transaction).
    /// Flags and INTERNALDATE are kept. UIDs missing from `from` are skipped.
    fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
        remove: bool,
    ) -> StoreResult<CopyReceipt>;

    /// The UIDs of a mailbox as ascending, inclusive, non-adjacent ranges:
    /// what SELECT numbers (RFC 9051 §2.3.1.2), read without touching
    /// every message where the store keeps an index.
    fn uid_ranges(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<(u32, u32)>>;

    /// The UIDs of a mailbox, ascending.
    fn uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>> {
        Ok(self
            .uid_ranges(account, mailbox)?
            .into_iter()
            .flat_map(|(first, last)| first..=last)
            .collect())
    }

    /// The UIDs of a mailbox's messages flagged `\Deleted`, ascending,
    /// from an index (what EXPUNGE removes).
    fn deleted_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>>;

    /// The first UID of a message without `\\Seen`, from an index.
    fn first_unseen(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<u32>>;

    /// The UIDs of messages without `\\Seen`, ascending, from an index.
    fn unseen_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>>;

    /// A message's record: flags, dates, size, MODSEQ, where its body is.
    fn message(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
    ) -> StoreResult<Option<MessageRecord>>;

    /// Visits the records of the messages with UIDs in `first..=last`, in
    /// UID order, with one range scan; `visit` returns false to stop.
    fn scan_messages(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        first: u32,
        last: u32,
        visit: &mut dyn FnMut(u32, MessageRecord) -> bool,
    ) -> StoreResult<()>;

    /// The parse stored at delivery.
    fn summary(&self, record: &MessageRecord) -> StoreResult<MessageSummary>;

    /// The raw message bytes.
    fn body(&self, record: &MessageRecord) -> StoreResult<Vec<u8>>;

    /// The search index stored at delivery (built and kept now for a
    /// message stored before indexes existed).
    fn search_index(&self, record: &MessageRecord) -> StoreResult<SearchIndex>;

    /// The lower-cased header lines stored at delivery, for the header
    /// keys: the Subject lines or the other fields' (a message stored
    /// before the two were apart may answer all its lines for either).
    fn header_text(&self, record: &MessageRecord, part: HeaderPart) -> StoreResult<Vec<u8>>;

    /// The lower-cased body text stored at delivery, for SEARCH BODY/TEXT.
    fn body_text(&self, record: &MessageRecord) -> StoreResult<String>;

    /// Changes flags of the given messages; returns what changed. Messages
    /// whose MODSEQ is above `unchanged_since` are left alone and reported
    /// in the second list (RFC 7162 §3.1.3).
    fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> StoreResult<(Vec<FlagUpdate>, Vec<u32>)>;

    /// Removes the given messages; returns the UIDs really removed.
    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> StoreResult<Vec<u32>>;

    /// The change log of a mailbox after `after` and up to `upto`
    /// (inclusive), oldest first.
    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        after: u64,
        upto: u64,
    ) -> StoreResult<Vec<Change>>;

    /// Makes everything committed so far durable (group commit).
    fn sync(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// A receiver that changes whenever changes in the account become durable.
    fn watch(&self, account: AccountId) -> tokio::sync::watch::Receiver<u64>;

    /// How many disk flushes and how many `sync` calls there were (for benchmarks).
    fn flush_stats(&self) -> (u64, u64);
}

/// Normalizes a flag to its canonical wire form: system flags in their
/// RFC 9051 §2.3.2 capitalization, keywords unchanged.
pub fn canonical_flag(flag: &str) -> String {
    const SYSTEM: [&str; 6] = [
        "\\Seen",
        "\\Answered",
        "\\Flagged",
        "\\Deleted",
        "\\Draft",
        "\\Recent",
    ];
    SYSTEM
        .iter()
        .find(|s| s.eq_ignore_ascii_case(flag))
        .map(|s| s.to_string())
        .unwrap_or_else(|| flag.to_string())
}

/// True when `flags` contains `flag`, compared case-insensitively (RFC 9051 §2.3.2).
pub fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}
