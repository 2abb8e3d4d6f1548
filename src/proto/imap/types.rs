//! The command AST: what a client asked for, already checked against the
//! grammar of RFC 9051 §9 (and RFC 3501 §9 for IMAP4rev1 clients).
//!
//! Values here are produced only by [`super::parse_command`]; the session code
//! matches on them and never sees raw bytes. Names that IMAP treats as
//! case-insensitive tokens (capabilities, LIST options, SEARCH RETURN options)
//! are upper-cased by the parser; strings (mailbox names, search text) keep
//! the case the client sent.

use std::fmt;

use crate::proto::secret::Secret;

use super::datetime::DateTime;
use super::items::{
    FetchAttr, Flag, ListReturn, ListSelect, SearchKey, SearchReturn, SortCriterion, StatusItem,
    StoreMode, ThreadAlgorithm,
};
use super::notify::NotifySpec;
use super::sequence::SequenceSet;

/// One tagged command line (with any literals), as sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag, echoed in the tagged response (RFC 9051 §2.2.1).
    pub tag: String,
    /// What the command asks for.
    pub body: CommandBody,
}

/// Every command the server understands (RFC 9051 §6 and the extensions in
/// shared/RFCS.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// RFC 9051 §6.1.1
    Capability,
    /// RFC 9051 §6.1.2
    Noop,
    /// RFC 9051 §6.1.3
    Logout,
    /// RFC 9051 §6.2.1
    StartTls,
    /// RFC 9051 §6.2.2, with the SASL-IR initial response of RFC 4959.
    Authenticate {
        /// The SASL mechanism name, upper-cased.
        mechanism: String,
        /// The initial response, still base64 text as sent; `=` means an
        /// empty response (RFC 4959 §3).
        initial_response: Option<Secret>,
    },
    /// RFC 9051 §6.2.3
    Login {
        /// The user name as sent.
        username: String,
        /// The password (or token), never logged.
        password: Secret,
    },
    /// RFC 2971 §3.1; `None` for `ID NIL`. Pairs are (field, value).
    Id(Option<Vec<(String, Option<String>)>>),
    /// RFC 5161 §3.1; capability names upper-cased.
    Enable(Vec<String>),
    /// RFC 9051 §6.3.2, with the CONDSTORE and QRESYNC parameters of
    /// RFC 7162 §3.1.8, §3.2.5.
    Select {
        /// Mailbox name as sent; `INBOX` in any case becomes `INBOX`.
        mailbox: String,
        /// The parameters.
        params: SelectParams,
    },
    /// RFC 9051 §6.3.3
    Examine {
        /// Mailbox name as sent.
        mailbox: String,
        /// The parameters.
        params: SelectParams,
    },
    /// RFC 9051 §6.3.4, with `(USE (...))` of RFC 6154 §3.
    Create {
        /// Decoded mailbox name.
        mailbox: String,
        /// Special-use attributes as sent, backslash included (`\Sent`).
        special_use: Vec<String>,
    },
    /// RFC 9051 §6.3.5
    Delete {
        /// Decoded mailbox name.
        mailbox: String,
    },
    /// RFC 9051 §6.3.6
    Rename {
        /// Existing mailbox name.
        from: String,
        /// New mailbox name.
        to: String,
    },
    /// RFC 9051 §6.3.7
    Subscribe {
        /// Decoded mailbox name.
        mailbox: String,
    },
    /// RFC 9051 §6.3.8
    Unsubscribe {
        /// Decoded mailbox name.
        mailbox: String,
    },
    /// RFC 9051 §6.3.9 (LIST-EXTENDED, RFC 5258; LIST-STATUS, RFC 5819).
    List {
        /// The reference name (not INBOX-normalized).
        reference: String,
        /// One or more mailbox patterns, wildcards `*` and `%` kept.
        patterns: Vec<String>,
        /// Selection options.
        select: ListSelect,
        /// Return options.
        ret: ListReturn,
        /// The command used the extended syntax (RFC 5258 §3: select or
        /// return options, or a pattern list), which changes how `""` and
        /// `\NonExistent` are treated.
        extended: bool,
    },
    /// RFC 3501 §6.3.9 (deprecated in IMAP4rev2).
    Lsub {
        /// The reference name.
        reference: String,
        /// The mailbox pattern.
        pattern: String,
    },
    /// RFC 9051 §6.3.10 (RFC 2342).
    Namespace,
    /// RFC 9051 §6.3.11
    Status {
        /// Decoded mailbox name.
        mailbox: String,
        /// Requested items, in the client's order, at least one.
        items: Vec<StatusItem>,
    },
    /// RFC 9051 §6.3.12, with MULTIAPPEND (RFC 3502), CATENATE (RFC 4469)
    /// and the UTF8 data item (RFC 6855 §4).
    Append {
        /// Mailbox name as sent.
        mailbox: String,
        /// One or more messages, all appended or none.
        messages: Vec<AppendMessage>,
    },
    /// RFC 3501 §6.4.1 (removed in IMAP4rev2; treat as NOOP).
    Check,
    /// RFC 9051 §6.4.1
    Close,
    /// RFC 9051 §6.4.2 (RFC 3691).
    Unselect,
    /// RFC 9051 §6.4.3
    Expunge,
    /// RFC 9051 §6.4.9 `UID EXPUNGE` (RFC 4315 §2.1).
    UidExpunge(SequenceSet),
    /// RFC 9051 §6.4.4, with ESEARCH (RFC 4731), SEARCHRES (RFC 5182),
    /// CONTEXT=SEARCH (RFC 5267) and CONDSTORE `MODSEQ`.
    Search {
        /// `UID SEARCH`.
        uid: bool,
        /// The `CHARSET` argument as sent.
        charset: Option<String>,
        /// The criteria; several top-level keys are folded into `And`.
        criteria: SearchKey,
        /// `RETURN (...)` options; `Some(vec![])` for `RETURN ()`.
        ret: Option<Vec<SearchReturn>>,
    },
    /// RFC 5256 §3 SORT, with ESORT / CONTEXT=SORT `RETURN` (RFC 5267 §3).
    Sort {
        /// `UID SORT`.
        uid: bool,
        /// `RETURN (...)` options, if given.
        ret: Option<Vec<SearchReturn>>,
        /// The sort criteria, at least one.
        criteria: Vec<SortCriterion>,
        /// The charset, as sent.
        charset: String,
        /// The search criteria.
        search: SearchKey,
    },
    /// RFC 5256 §3 THREAD.
    Thread {
        /// `UID THREAD`.
        uid: bool,
        /// The algorithm.
        algorithm: ThreadAlgorithm,
        /// The charset, as sent.
        charset: String,
        /// The search criteria.
        search: SearchKey,
    },
    /// RFC 5267 §4.2 CANCELUPDATE: the tags of the searches to stop updating.
    CancelUpdate(Vec<String>),
    /// RFC 9208 §4.2 GETQUOTA.
    GetQuota {
        /// The quota root.
        root: String,
    },
    /// RFC 9208 §4.3 GETQUOTAROOT.
    GetQuotaRoot {
        /// Mailbox name as sent.
        mailbox: String,
    },
    /// RFC 9208 §4.1 SETQUOTA: (resource, limit) pairs.
    SetQuota {
        /// The quota root.
        root: String,
        /// Resource names upper-cased, with their limits.
        limits: Vec<(String, u64)>,
    },
    /// RFC 4978 §3 COMPRESS, the algorithm upper-cased.
    Compress(String),
    /// RFC 5465 §3 NOTIFY.
    Notify(NotifySpec),
    /// RFC 9051 §6.4.5, with CONDSTORE/QRESYNC modifiers (RFC 7162 §3.1.4, §3.2.6).
    Fetch {
        /// `UID FETCH`.
        uid: bool,
        /// Messages to fetch.
        set: SequenceSet,
        /// Attributes, macros already expanded.
        items: Vec<FetchAttr>,
        /// `CHANGEDSINCE n`.
        changed_since: Option<u64>,
        /// `VANISHED` (only accepted with `UID FETCH` and `CHANGEDSINCE`).
        vanished: bool,
    },
    /// RFC 9051 §6.4.6, with `UNCHANGEDSINCE` (RFC 7162 §3.1.3).
    Store {
        /// `UID STORE`.
        uid: bool,
        /// Messages to change.
        set: SequenceSet,
        /// `FLAGS`, `+FLAGS` or `-FLAGS`.
        mode: StoreMode,
        /// `.SILENT` was given.
        silent: bool,
        /// The flags (possibly empty).
        flags: Vec<Flag>,
        /// `UNCHANGEDSINCE n`.
        unchanged_since: Option<u64>,
    },
    /// RFC 9051 §6.4.7
    Copy {
        /// `UID COPY`.
        uid: bool,
        /// Messages to copy.
        set: SequenceSet,
        /// Destination mailbox.
        mailbox: String,
    },
    /// RFC 9051 §6.4.8 (RFC 6851).
    Move {
        /// `UID MOVE`.
        uid: bool,
        /// Messages to move.
        set: SequenceSet,
        /// Destination mailbox.
        mailbox: String,
    },
    /// RFC 9051 §6.3.13 (RFC 2177); the `DONE` line is read with
    /// [`super::read_line`].
    Idle,
}

impl CommandBody {
    /// The command name as a client spells it, for logs and responses
    /// (`"UID FETCH"` for UID forms).
    pub fn name(&self) -> &'static str {
        use CommandBody as C;
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::StartTls => "STARTTLS",
            C::Authenticate { .. } => "AUTHENTICATE",
            C::Login { .. } => "LOGIN",
            C::Id(_) => "ID",
            C::Enable(_) => "ENABLE",
            C::Select { .. } => "SELECT",
            C::Examine { .. } => "EXAMINE",
            C::Create { .. } => "CREATE",
            C::Delete { .. } => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe { .. } => "SUBSCRIBE",
            C::Unsubscribe { .. } => "UNSUBSCRIBE",
            C::List { .. } => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Namespace => "NAMESPACE",
            C::Status { .. } => "STATUS",
            C::Append { .. } => "APPEND",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge => "EXPUNGE",
            C::UidExpunge(_) => "UID EXPUNGE",
            C::Search { uid: false, .. } => "SEARCH",
            C::Search { uid: true, .. } => "UID SEARCH",
            C::Sort { uid: false, .. } => "SORT",
            C::Sort { uid: true, .. } => "UID SORT",
            C::Thread { uid: false, .. } => "THREAD",
            C::Thread { uid: true, .. } => "UID THREAD",
            C::CancelUpdate(_) => "CANCELUPDATE",
            C::GetQuota { .. } => "GETQUOTA",
            C::GetQuotaRoot { .. } => "GETQUOTAROOT",
            C::SetQuota { .. } => "SETQUOTA",
            C::Compress(_) => "COMPRESS",
            C::Notify(_) => "NOTIFY",
            C::Fetch { uid: false, .. } => "FETCH",
            C::Fetch { uid: true, .. } => "UID FETCH",
            C::Store { uid: false, .. } => "STORE",
            C::Store { uid: true, .. } => "UID STORE",
            C::Copy { uid: false, .. } => "COPY",
            C::Copy { uid: true, .. } => "UID COPY",
            C::Move { uid: false, .. } => "MOVE",
            C::Move { uid: true, .. } => "UID MOVE",
            C::Idle => "IDLE",
        }
    }
}

/// SELECT and EXAMINE parameters (RFC 4466 §2.1, RFC 7162 §3.1.8, §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectParams {
    /// `CONDSTORE` was given.
    pub condstore: bool,
    /// `QRESYNC (...)` was given.
    pub qresync: Option<QresyncParams>,
}

/// `qresync-param = "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
/// [SP seq-match-data] ")"` (RFC 7162 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QresyncParams {
    /// The UIDVALIDITY the client last knew.
    pub uidvalidity: u32,
    /// The MODSEQ the client last knew.
    pub modseq: u64,
    /// The UIDs the client knows, if it said.
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`: message numbers and their UIDs.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// One message of an APPEND (RFC 3502 `append-message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set on the new message.
    pub flags: Vec<Flag>,
    /// INTERNALDATE to record, if given.
    pub date: Option<DateTime>,
    /// The message, or how to build it.
    pub data: AppendData,
}

/// `append-data = literal / literal8 / append-data-ext` (RFC 4466 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendData {
    /// The message bytes (a literal, a literal8, or `UTF8 (literal8)`).
    Literal(Vec<u8>),
    /// `CATENATE (cat-part ...)` (RFC 4469 §5).
    Catenate(Vec<CatenatePart>),
}

/// `cat-part = text-literal / url` (RFC 4469 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatenatePart {
    /// `TEXT literal`.
    Text(Vec<u8>),
    /// `URL astring`: an IMAP URL (RFC 5092) of a message or part.
    Url(String),
}

/// A command that could not be parsed: answered `tag BAD message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when one could be read; otherwise the answer is untagged
    /// (`* BAD message`).
    pub tag: Option<String>,
    /// A short explanation, safe to send: it never echoes client bytes.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{tag}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}
