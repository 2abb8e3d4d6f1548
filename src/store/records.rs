//! The values stored under the keys of [`super::keys`], encoded with
//! postcard behind a one-byte format version. postcard is not
//! self-describing, so changing a record means a new version: each record
//! type names its current [`Record::VERSION`] and knows how to read the
//! versions before it ([`Record::upgrade`]); a record of an unknown
//! version is refused, never misread.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::StoreError;

/// A record type with a format version.
pub trait Record: Serialize + DeserializeOwned {
    /// The version written in front of new records.
    const VERSION: u8;
    /// What the record is, for error messages.
    const WHAT: &'static str;
    /// Reads a record written in an older `version`; `None` when that
    /// version was never a format of this record.
    fn upgrade(version: u8, bytes: &[u8]) -> Option<Result<Self, postcard::Error>> {
        let _ = (version, bytes);
        None
    }
}

/// An account (`a` + address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's id.
    pub id: u64,
    /// The next mailbox id to hand out; ids are never reused, so a
    /// deleted mailbox's leftovers can never be mistaken for a new one's.
    pub next_mailbox: u32,
    /// The last UIDVALIDITY handed out, so that a re-created mailbox never
    /// reuses one (RFC 9051 §2.3.1.1).
    pub last_uidvalidity: u32,
    /// Unix seconds at creation.
    pub created: i64,
}

impl Record for AccountRecord {
    const VERSION: u8 = 1;
    const WHAT: &'static str = "account";
}

/// An account's sign-in state (`p` + account): its app passwords and its
/// last "sign out everywhere" (docs/accounts.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsRecord {
    /// Unix seconds of the last revocation; 0 when never. Tokens whose
    /// `iat` is earlier are refused, sessions that began earlier end.
    pub revoked_at: i64,
    /// The app passwords in force, oldest first.
    pub app_passwords: Vec<AppPasswordRecord>,
}

impl Record for CredentialsRecord {
    const VERSION: u8 = 1;
    const WHAT: &'static str = "credentials";
}

/// One app password: never the password itself, only what checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordRecord {
    /// Short public id (`app-password revoke --id`).
    pub id: String,
    /// What the person called it ("Phone", "Calendar").
    pub name: String,
    /// Protocols it may log in to, as a bit set (`account::Protocols`).
    pub protocols: u8,
    /// Unix seconds at creation.
    pub created: i64,
    /// Unix seconds after which it is refused; `None`: never.
    pub expires: Option<i64>,
    /// A keyed 64-bit fingerprint of the password: a login compares it
    /// before it spends an Argon2id hash (`account/password.rs`).
    pub fingerprint: u64,
    /// Argon2id hash in PHC string form.
    pub hash: String,
    /// Last successful login: Unix seconds and client address.
    pub last_used: Option<(i64, String)>,
}

/// One login of an account, for the account page (`l` + account keeps the
/// newest few).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// Unix seconds.
    pub at: i64,
    /// The client's address.
    pub ip: String,
    /// `imap`, `smtp`, `pop3` or `web`.
    pub protocol: String,
    /// SASL mechanism or `app-password` / `oidc`.
    pub mechanism: String,
    /// The client's IMAP `ID` name and version, or the app password's name.
    pub client: Option<String>,
}

/// The newest logins of an account (`l` + account), newest last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginsRecord {
    /// At most [`LoginsRecord::KEEP`].
    pub logins: Vec<LoginRecord>,
}

impl LoginsRecord {
    /// How many logins are kept.
    pub const KEEP: usize = 20;
}

impl Record for LoginsRecord {
    const VERSION: u8 = 1;
    const WHAT: &'static str = "logins";
}

/// A mailbox (`m` + account + mailbox). The counters are kept by every
/// write so that STATUS and SELECT need no scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxRecord {
    /// Its name in UTF-8, `/`-separated hierarchy, `INBOX` for the inbox.
    pub name: String,
    /// UIDVALIDITY (RFC 9051 §2.3.1.1).
    pub uidvalidity: u32,
    /// The UID the next message gets.
    pub uidnext: u32,
    /// The MODSEQ of the latest change (RFC 7162 §3.1.1).
    pub highestmodseq: u64,
    /// The RFC 6154 attribute, like `\Sent`.
    pub special_use: Option<String>,
    /// Number of messages.
    pub exists: u32,
    /// Number of messages with `\Seen`.
    pub seen: u32,
    /// Number of messages with `\Deleted`.
    pub deleted: u32,
    /// Sum of message sizes (RFC 8438 STATUS SIZE).
    pub size: u64,
    /// The first UID no session has yet been told about: messages from here
    /// on are `\Recent` to the next session that selects the mailbox
    /// (RFC 3501 §2.3.2).
    pub recent_floor: u32,
    /// Unix seconds at creation.
    pub created: i64,
    /// Keywords ever set on a message here, in order of first use (the
    /// FLAGS response, RFC 9051 §7.3.5).
    pub keywords: Vec<String>,
}

/// Version 1 of [`MailboxRecord`]: subscriptions lived in the record and
/// there was no `\Recent` floor.
#[derive(Deserialize)]
struct MailboxRecordV1 {
    name: String,
    uidvalidity: u32,
    uidnext: u32,
    highestmodseq: u64,
    special_use: Option<String>,
    #[allow(dead_code)]
    subscribed: bool,
    exists: u32,
    seen: u32,
    deleted: u32,
    size: u64,
}

impl Record for MailboxRecord {
    const VERSION: u8 = 2;
    const WHAT: &'static str = "mailbox";
    fn upgrade(version: u8, bytes: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| {
            postcard::from_bytes::<MailboxRecordV1>(bytes).map(|v| MailboxRecord {
                name: v.name,
                uidvalidity: v.uidvalidity,
                uidnext: v.uidnext,
                highestmodseq: v.highestmodseq,
                special_use: v.special_use,
                exists: v.exists,
                seen: v.seen,
                deleted: v.deleted,
                size: v.size,
                // Everything older than the upgrade counts as seen already.
                recent_floor: v.uidnext,
                created: 0,
                keywords: Vec::new(),
            })
        })
    }
}

impl MailboxRecord {
    /// Messages without `\Seen`.
    pub fn unseen(&self) -> u32 {
        self.exists.saturating_sub(self.seen)
    }
}

/// Whether a version-1 mailbox record was subscribed (the open-time
/// migration moves that into `u` keys).
pub fn v1_subscribed(bytes: &[u8]) -> Option<bool> {
    match bytes.split_first() {
        Some((1, rest)) => postcard::from_bytes::<MailboxRecordV1>(rest)
            .ok()
            .map(|v| v.subscribed),
        _ => None,
    }
}

/// A message in a mailbox (`e` + account + mailbox + uid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Where its bytes, summary and search data are (`b`/`s`/`x` + body);
    /// shared by the copies of one message, and its EMAILID (RFC 8474).
    pub body: u64,
    /// Flags in canonical wire form.
    pub flags: Vec<String>,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// Size in octets (RFC822.SIZE).
    pub size: u64,
    /// MODSEQ of its last change.
    pub modseq: u64,
    /// When it was saved in this mailbox, Unix seconds (RFC 8514 SAVEDATE).
    pub saved: i64,
    /// Its sent date for SORT (RFC 5256 §2.2): the Date field, else the
    /// INTERNALDATE; here so that sorting by date reads nothing else.
    pub sent: i64,
}

/// Version 1 of [`MessageRecord`]: no save date.
#[derive(Deserialize)]
struct MessageRecordV1 {
    body: u64,
    flags: Vec<String>,
    internal_date: i64,
    size: u64,
    modseq: u64,
}

impl Record for MessageRecord {
    const VERSION: u8 = 2;
    const WHAT: &'static str = "message";
    fn upgrade(version: u8, bytes: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| {
            postcard::from_bytes::<MessageRecordV1>(bytes).map(|v| MessageRecord {
                body: v.body,
                flags: v.flags,
                internal_date: v.internal_date,
                size: v.size,
                modseq: v.modseq,
                saved: v.internal_date,
                sent: v.internal_date,
            })
        })
    }
}

/// What a change-log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// The message arrived.
    Added,
    /// Its flags changed.
    Flags,
    /// It was expunged.
    Expunged,
}

/// A change-log entry (`c` + account + mailbox + modseq). Each message has
/// at most one live entry: a newer change replaces the older one, and an
/// expunge stays, so QRESYNC can report it (RFC 7162 §3.2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The message.
    pub uid: u32,
    /// What happened.
    pub kind: ChangeKind,
}

impl Record for ChangeRecord {
    const VERSION: u8 = 1;
    const WHAT: &'static str = "change";
}

impl Record for crate::message::MessageSummary {
    const VERSION: u8 = 1;
    const WHAT: &'static str = "summary";
}

impl Record for crate::message::SearchIndex {
    /// Version 1 carried the header text, now its own record; a version-1
    /// index is rebuilt from the message when read.
    const VERSION: u8 = 2;
    const WHAT: &'static str = "search index";
}

/// Encodes a record behind its version byte.
pub fn encode<T: Record>(value: &T) -> Vec<u8> {
    // Invariant: postcard only fails for unsupported serde features (maps
    // with unknown length, `deserialize_any`), which these types don't use.
    let out = vec![T::VERSION];
    postcard::to_extend(value, out).expect("records are postcard-encodable")
}

/// Decodes a record of the current or an older version.
pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: T::WHAT,
        detail,
    };
    match bytes.split_first() {
        Some((&v, rest)) if v == T::VERSION => {
            postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))
        }
        Some((&v, rest)) => match T::upgrade(v, rest) {
            Some(r) => r.map_err(|e| corrupt(e.to_string())),
            None => Err(corrupt(format!("unknown record format {v}"))),
        },
        None => Err(corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_their_format_version() {
        let rec = ChangeRecord {
            uid: 7,
            kind: ChangeKind::Flags,
        };
        let bytes = encode(&rec);
        assert_eq!(bytes[0], ChangeRecord::VERSION);
        assert_eq!(decode::<ChangeRecord>(&bytes).unwrap(), rec);
        let mut future = bytes.clone();
        future[0] = ChangeRecord::VERSION + 1;
        assert!(matches!(
            decode::<ChangeRecord>(&future),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(decode::<ChangeRecord>(&[]).is_err());
    }

    #[derive(Serialize)]
    struct MessageV1Out {
        body: u64,
        flags: Vec<String>,
        internal_date: i64,
        size: u64,
        modseq: u64,
    }

    #[test]
    fn version_1_records_are_upgraded() {
        let v1 = MessageV1Out {
            body: 3,
            flags: vec!["\\Seen".into()],
            internal_date: 1_700_000_000,
            size: 10,
            modseq: 4,
        };
        let mut bytes = vec![1u8];
        bytes = postcard::to_extend(&v1, bytes).unwrap();
        let rec: MessageRecord = decode(&bytes).unwrap();
        assert_eq!((rec.saved, rec.sent), (1_700_000_000, 1_700_000_000));
        assert_eq!(rec.flags, vec!["\\Seen".to_string()]);
        assert_eq!(decode::<MessageRecord>(&encode(&rec)).unwrap(), rec);
    }
}
