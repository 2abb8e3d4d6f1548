//! The values stored under the keys of [`super::keys`], encoded with
//! postcard behind a one-byte format version ([`FORMAT`]). postcard is not
//! self-describing, so changing a record means a new version and a
//! migration; a record of an unknown version is refused, never misread.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::StoreError;

/// An account (`a` + address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's id.
    pub id: u64,
    /// The next mailbox id to hand out.
    pub next_mailbox: u32,
    /// The last UIDVALIDITY handed out, so that a re-created mailbox never
    /// reuses one (RFC 9051 §2.3.1.1).
    pub last_uidvalidity: u32,
    /// Unix seconds at creation.
    pub created: i64,
}

/// A mailbox (`m` + account + mailbox). The counters are kept by every
/// write so that STATUS and SELECT need no scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxRecord {
    /// Its name, `/`-separated hierarchy, `INBOX` for the inbox.
    pub name: String,
    /// UIDVALIDITY (RFC 9051 §2.3.1.1).
    pub uidvalidity: u32,
    /// The UID the next message gets.
    pub uidnext: u32,
    /// The MODSEQ of the latest change (RFC 7162 §3.1.1).
    pub highestmodseq: u64,
    /// The RFC 6154 attribute, like `\Sent`.
    pub special_use: Option<String>,
    /// Whether the mailbox is subscribed.
    pub subscribed: bool,
    /// Number of messages.
    pub exists: u32,
    /// Number of messages with `\Seen`.
    pub seen: u32,
    /// Number of messages with `\Deleted`.
    pub deleted: u32,
    /// Sum of message sizes (RFC 8438 STATUS SIZE).
    pub size: u64,
}

impl MailboxRecord {
    /// Messages without `\Seen`.
    pub fn unseen(&self) -> u32 {
        self.exists.saturating_sub(self.seen)
    }
}

/// A message in a mailbox (`e` + account + mailbox + uid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Where its bytes and summary are (`b`/`s` + body).
    pub body: u64,
    /// Flags in canonical wire form.
    pub flags: Vec<String>,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// Size in octets (RFC822.SIZE).
    pub size: u64,
    /// MODSEQ of its last change.
    pub modseq: u64,
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
/// at most one live entry: a newer change replaces the older one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The message.
    pub uid: u32,
    /// What happened.
    pub kind: ChangeKind,
}

/// The record format version written in front of every record.
pub const FORMAT: u8 = 1;

/// Encodes a record.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Invariant: postcard only fails for unsupported serde features (maps
    // with unknown length, `deserialize_any`), which these types don't use.
    let out = vec![FORMAT];
    postcard::to_extend(value, out).expect("records are postcard-encodable")
}

/// Decodes a record, naming what it was on failure.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { what, detail };
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string())),
        Some((version, _)) => Err(corrupt(format!("unknown record format {version}"))),
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
        assert_eq!(bytes[0], FORMAT);
        assert_eq!(decode::<ChangeRecord>("change", &bytes).unwrap(), rec);
        let mut future = bytes.clone();
        future[0] = FORMAT + 1;
        assert!(matches!(
            decode::<ChangeRecord>("change", &future),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(decode::<ChangeRecord>("change", &[]).is_err());
    }
}
