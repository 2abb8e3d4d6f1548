//! The values commands carry: flags, STATUS items, FETCH attributes and
//! sections, SEARCH keys, LIST return options (RFC 9051 §6.3, §6.4, §9).

use std::fmt;
use std::hash::{Hash, Hasher};

use super::datetime::Date;
use super::sequence::SequenceSet;

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListSelect {
    /// `SUBSCRIBED`: subscribed names, existing or not.
    pub subscribed: bool,
    /// `REMOTE`: also remote mailboxes (there are none here).
    pub remote: bool,
    /// `RECURSIVEMATCH`: also parents of matching names (`CHILDINFO`).
    pub recursive_match: bool,
    /// `SPECIAL-USE`: only mailboxes with a special-use attribute.
    pub special_use: bool,
}

/// LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListReturn {
    /// `SUBSCRIBED`
    pub subscribed: bool,
    /// `CHILDREN` (RFC 3348 attributes)
    pub children: bool,
    /// `SPECIAL-USE`
    pub special_use: bool,
    /// `STATUS (...)`: a STATUS response per listed mailbox.
    pub status: Option<Vec<StatusItem>>,
}

/// A STATUS data item (RFC 9051 §6.3.11; RFC 8438; RFC 7162; RFC 7889).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (IMAP4rev1 only)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE` (RFC 8438)
    Size,
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
    /// `MAILBOXID` (RFC 8474)
    MailboxId,
}

impl StatusItem {
    /// The item's name on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::MailboxId => "MAILBOXID",
        }
    }
}

/// A message flag (RFC 9051 §2.3.2).
///
/// Keywords and extension flags compare (and hash) ASCII case-insensitively,
/// as IMAP requires, while keeping the case the client first used.
#[derive(Debug, Clone)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// `\Recent` (IMAP4rev1; never settable, but parsed so the session can refuse it)
    Recent,
    /// A keyword such as `$Forwarded` or `NonJunk`, as sent.
    Keyword(String),
    /// Another system flag, backslash included (`\Foo`).
    Extension(String),
}

impl Flag {
    /// The wire form: `\Seen`, a keyword as-is, an extension with its backslash.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Recent => "\\Recent",
            Flag::Keyword(k) => k,
            Flag::Extension(e) => e,
        }
    }
}

impl PartialEq for Flag {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Flag::Keyword(a), Flag::Keyword(b)) | (Flag::Extension(a), Flag::Extension(b)) => {
                a.eq_ignore_ascii_case(b)
            }
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for Flag {}

impl Hash for Flag {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let Flag::Keyword(s) | Flag::Extension(s) = self {
            for b in s.bytes() {
                state.write_u8(b.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How STORE changes flags (RFC 9051 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A FETCH data item (RFC 9051 §6.4.5; BINARY, RFC 3516; MODSEQ, RFC 7162).
/// The macros `ALL`, `FAST` and `FULL` are expanded by the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    /// `FLAGS`
    Flags,
    /// `UID`
    Uid,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `ENVELOPE`
    Envelope,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `BODY` without a section: the non-extensible BODYSTRUCTURE.
    Body,
    /// `MODSEQ`
    ModSeq,
    /// `RFC822` (same as `BODY[]`, sets `\Seen`)
    Rfc822,
    /// `RFC822.HEADER` (same as `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.TEXT` (same as `BODY[TEXT]`)
    Rfc822Text,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// Which part.
        section: Section,
        /// `<origin.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `.PEEK`
        peek: bool,
        /// Part numbers; empty for the whole message.
        part: Vec<u32>,
        /// `<origin.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516).
    BinarySize {
        /// Part numbers; empty for the whole message.
        part: Vec<u32>,
    },
    /// `PREVIEW` or `PREVIEW (LAZY)` (RFC 8970 §3.1).
    Preview {
        /// `LAZY`: the server may answer NIL rather than compute it now.
        lazy: bool,
    },
    /// `SAVEDATE` (RFC 8514 §3.1).
    SaveDate,
    /// `EMAILID` (RFC 8474 §5.1).
    EmailId,
    /// `THREADID` (RFC 8474 §5.2).
    ThreadId,
}

/// A body section specifier (RFC 9051 §6.4.5): `BODY[]` has an empty `part`
/// and no `text`; `BODY[1.2.MIME]` has part `[1, 2]` and text `Mime`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Part numbers, outermost first.
    pub part: Vec<u32>,
    /// What of that part.
    pub text: Option<SectionText>,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (...)` or `HEADER.FIELDS.NOT (...)`; names as sent.
    HeaderFields {
        /// `.NOT`
        not: bool,
        /// Field names, at least one.
        fields: Vec<String>,
    },
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number).
    Mime,
}

/// A SEARCH criterion (RFC 9051 §6.4.4; `MODSEQ`, RFC 7162 §3.1.5).
/// Strings are decoded as UTF-8, invalid sequences replaced (the session
/// rejects charsets it does not support before searching).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SearchKey {
    All,
    Answered,
    Deleted,
    Draft,
    Flagged,
    New,
    Old,
    Recent,
    Seen,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    Keyword(String),
    Unkeyword(String),
    Bcc(String),
    Body(String),
    Cc(String),
    From(String),
    Subject(String),
    Text(String),
    To(String),
    /// `HEADER field-name string`
    Header(String, String),
    Before(Date),
    On(Date),
    Since(Date),
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    /// Sizes above `u32::MAX` saturate.
    Larger(u32),
    Smaller(u32),
    Uid(SequenceSet),
    SequenceSet(SequenceSet),
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// A parenthesized list of two or more keys, or several top-level keys.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry-name entry-type] n`; the entry is ignored.
    ModSeq(u64),
    /// `SAVEDBEFORE date` (RFC 8514 §4).
    SavedBefore(Date),
    /// `SAVEDON date`
    SavedOn(Date),
    /// `SAVEDSINCE date`
    SavedSince(Date),
    /// `SAVEDATESUPPORTED`
    SaveDateSupported,
    /// `OLDER n` (RFC 5032 WITHIN): INTERNALDATE more than n seconds ago.
    Older(u32),
    /// `YOUNGER n`: INTERNALDATE at most n seconds ago.
    Younger(u32),
    /// `EMAILID id` (RFC 8474 §6).
    EmailId(String),
    /// `THREADID id`
    ThreadId(String),
}

/// A SEARCH/SORT `RETURN` option (RFC 4731 §3.1, RFC 5182 §2, RFC 5267 §4.1, §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (SEARCHRES)
    Save,
    /// `UPDATE` (CONTEXT=SEARCH)
    Update,
    /// `CONTEXT` (CONTEXT=SEARCH, informational)
    Context,
    /// `PARTIAL lo:hi`, 1-based positions in the result, `lo <= hi`.
    Partial(u32, u32),
}

/// A SORT key (RFC 5256 §3, RFC 5957 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `ARRIVAL`: INTERNALDATE.
    Arrival,
    /// `CC`: the first Cc address's mailbox.
    Cc,
    /// `DATE`: the Date header, else INTERNALDATE.
    Date,
    /// `FROM`: the first From address's mailbox.
    From,
    /// `SIZE`: RFC822.SIZE.
    Size,
    /// `SUBJECT`: the base subject.
    Subject,
    /// `TO`: the first To address's mailbox.
    To,
    /// `DISPLAYFROM`: the first From address's display name, else its address.
    DisplayFrom,
    /// `DISPLAYTO`
    DisplayTo,
}

/// `sort-criterion = ["REVERSE" SP] sort-key` (RFC 5256 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// `REVERSE`
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
}
