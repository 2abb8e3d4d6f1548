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
//! - Other sessions are notified through [`MailStore::watch`] after the
//!   transaction commits, never before, so what they read is there.
//! - Methods are synchronous and short: no lock is held across an `.await`.
//! - UIDVALIDITY is fixed when a mailbox is created; UIDs only grow, and an
//!   expunged UID is never reused (RFC 9051 §2.3.1.1).

mod flush;
mod keys;
mod records;
mod sled_store;

use std::future::Future;
use std::pin::Pin;

pub use records::{ChangeKind, MailboxRecord, MessageRecord};
pub use sled_store::SledStore;

use crate::message::MessageSummary;

/// Identifies an account inside one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u64);

/// Identifies a mailbox inside its account.
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

/// One message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The message exactly as it will be served.
    pub raw: &'a [u8],
    /// Its parse, computed once (see [`MessageSummary::parse`]).
    pub summary: &'a MessageSummary,
    /// Initial flags, in wire form (`\Seen`, keywords).
    pub flags: Vec<String>,
    /// INTERNALDATE as Unix seconds, with the sender's offset in minutes.
    pub internal_date: i64,
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
pub trait MailStore: Send + Sync + 'static {
    /// The account of `address` (lower-cased by the caller), if it exists.
    fn account(&self, address: &str) -> StoreResult<Option<AccountId>>;

    /// The account of `address`, created with [`DEFAULT_MAILBOXES`] when
    /// missing; the flag says whether it was created now. Not durable until `sync`.
    fn ensure_account(&self, address: &str) -> StoreResult<(AccountId, bool)>;

    /// All mailboxes of an account, ordered by name.
    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>>;

    /// One mailbox by name (`INBOX` is matched case-insensitively by the caller).
    fn mailbox_by_name(&self, account: AccountId, name: &str) -> StoreResult<Option<MailboxInfo>>;

    /// One mailbox by id.
    fn mailbox(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Option<MailboxInfo>>;

    /// Creates a mailbox with a fresh UIDVALIDITY.
    fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> StoreResult<MailboxInfo>;

    /// Marks a mailbox subscribed or not (RFC 9051 §6.3.7).
    fn set_subscribed(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        subscribed: bool,
    ) -> StoreResult<()>;

    /// Appends messages to mailboxes in one atomic transaction (a delivery
    /// to several recipients, or one APPEND). Committed, not yet durable.
    fn append(
        &self,
        targets: &[(AccountId, MailboxId)],
        message: &NewMessage<'_>,
    ) -> StoreResult<Vec<AppendReceipt>>;

    /// The UIDs of a mailbox, ascending.
    fn uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>>;

    /// The UIDs of a mailbox's messages flagged `\Deleted`, ascending,
    /// from an index (what EXPUNGE removes).
    fn deleted_uids(&self, account: AccountId, mailbox: MailboxId) -> StoreResult<Vec<u32>>;

    /// A message's record: flags, dates, size, MODSEQ, where its body is.
    fn message(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
    ) -> StoreResult<Option<MessageRecord>>;

    /// The parse stored at delivery.
    fn summary(&self, record: &MessageRecord) -> StoreResult<MessageSummary>;

    /// The raw message bytes.
    fn body(&self, record: &MessageRecord) -> StoreResult<Vec<u8>>;

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

    /// The change log of a mailbox after `modseq`, oldest first.
    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Vec<Change>>;

    /// Makes everything committed so far durable (group commit).
    fn sync(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// A receiver that changes whenever something in the account commits.
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
