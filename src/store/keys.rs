//! Key layout of the one sled tree. Every key starts with a one-byte
//! prefix naming its kind; ids are big-endian so that prefix scans return
//! mailboxes, messages and changes in order.
//!
//! | prefix | key                              | value                        |
//! |--------|----------------------------------|------------------------------|
//! | `a`    | address                          | [`AccountRecord`]            |
//! | `i`    | account(8)                       | address                      |
//! | `m`    | account(8) mailbox(4)            | [`MailboxRecord`]            |
//! | `n`    | account(8) name                  | mailbox(4)                   |
//! | `u`    | account(8) name                  | empty: subscribed            |
//! | `e`    | account(8) mailbox(4) uid(4)     | [`MessageRecord`]            |
//! | `c`    | account(8) mailbox(4) modseq(8)  | [`ChangeRecord`]             |
//! | `d`    | account(8) mailbox(4) uid(4)     | empty: has `\Deleted`        |
//! | `v`    | account(8) mailbox(4) uid(4)     | empty: lacks `\Seen`         |
//! | `g`    | account(8) mailbox(4) block(4)   | bitmap of UIDs `block·1024 ..` (`uid_index.rs`) |
//! | `z`    | account(8) mailbox(4)            | empty: deleted, to be purged |
//! | `p`    | account(8)                       | [`CredentialsRecord`]: app passwords, revocation |
//! | `l`    | account(8)                       | [`LoginsRecord`]: recent logins |
//! | `k`    | (nothing)                        | the server's 32-byte secret (app-password fingerprints) |
//! | `b`    | body(8)                          | raw message (older stores)   |
//! | `s`    | body(8)                          | `MessageSummary` (older stores) |
//! | `x`    | body(8)                          | `SearchIndex`                |
//! | `j`    | body(8)                          | Subject lines for SEARCH     |
//! | `h`    | body(8)                          | other header lines (older stores) |
//! | `t`    | body(8)                          | body text (older stores)     |
//! | `r`    | body(8)                          | reference count (u32 BE)     |
//!
//! A message stored now has its summary, its header lines other than
//! Subject and its body text in its file (`blobs.rs`); the `s`, `h`, `t`
//! and `b` keys are read for messages stored by earlier versions.
//!
//! [`AccountRecord`]: super::records::AccountRecord
//! [`CredentialsRecord`]: super::records::CredentialsRecord
//! [`LoginsRecord`]: super::records::LoginsRecord
//! [`MailboxRecord`]: super::records::MailboxRecord
//! [`MessageRecord`]: super::records::MessageRecord
//! [`ChangeRecord`]: super::records::ChangeRecord

use super::{AccountId, MailboxId};

pub fn account(address: &str) -> Vec<u8> {
    prefixed(b'a', &[address.as_bytes()])
}

pub fn account_address(a: AccountId) -> Vec<u8> {
    prefixed(b'i', &[&a.0.to_be_bytes()])
}

/// Every `a` key.
pub const ACCOUNTS: &[u8] = b"a";

/// The address in an `a` key.
pub fn address_of_key(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(1..)?).ok()
}

pub fn credentials(a: AccountId) -> Vec<u8> {
    prefixed(b'p', &[&a.0.to_be_bytes()])
}

pub fn logins(a: AccountId) -> Vec<u8> {
    prefixed(b'l', &[&a.0.to_be_bytes()])
}

/// The server secret.
pub const SECRET: &[u8] = b"k";

pub fn mailbox(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'm', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

pub fn mailboxes_of(a: AccountId) -> Vec<u8> {
    prefixed(b'm', &[&a.0.to_be_bytes()])
}

pub fn mailbox_name(a: AccountId, name: &str) -> Vec<u8> {
    prefixed(b'n', &[&a.0.to_be_bytes(), name.as_bytes()])
}

pub fn subscription(a: AccountId, name: &str) -> Vec<u8> {
    prefixed(b'u', &[&a.0.to_be_bytes(), name.as_bytes()])
}

pub fn subscriptions_of(a: AccountId) -> Vec<u8> {
    prefixed(b'u', &[&a.0.to_be_bytes()])
}

/// The name in an `n` or `u` key.
pub fn name_of_key(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(9..)?).ok()
}

pub fn message(a: AccountId, m: MailboxId, uid: u32) -> Vec<u8> {
    prefixed(
        b'e',
        &[&a.0.to_be_bytes(), &m.0.to_be_bytes(), &uid.to_be_bytes()],
    )
}

pub fn messages_of(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'e', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

pub fn change(a: AccountId, m: MailboxId, modseq: u64) -> Vec<u8> {
    prefixed(
        b'c',
        &[
            &a.0.to_be_bytes(),
            &m.0.to_be_bytes(),
            &modseq.to_be_bytes(),
        ],
    )
}

pub fn changes_of(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'c', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

pub fn deleted(a: AccountId, m: MailboxId, uid: u32) -> Vec<u8> {
    prefixed(
        b'd',
        &[&a.0.to_be_bytes(), &m.0.to_be_bytes(), &uid.to_be_bytes()],
    )
}

pub fn deleted_of(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'd', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

pub fn unseen(a: AccountId, m: MailboxId, uid: u32) -> Vec<u8> {
    prefixed(
        b'v',
        &[&a.0.to_be_bytes(), &m.0.to_be_bytes(), &uid.to_be_bytes()],
    )
}

pub fn unseen_of(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'v', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

/// The UID index block holding UIDs `block * 1024 .. (block + 1) * 1024`.
pub fn uid_block(a: AccountId, m: MailboxId, block: u32) -> Vec<u8> {
    prefixed(
        b'g',
        &[&a.0.to_be_bytes(), &m.0.to_be_bytes(), &block.to_be_bytes()],
    )
}

pub fn uid_blocks_of(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'g', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

/// Every `g` key.
pub const UID_BLOCKS: &[u8] = b"g";

pub fn tombstone(a: AccountId, m: MailboxId) -> Vec<u8> {
    prefixed(b'z', &[&a.0.to_be_bytes(), &m.0.to_be_bytes()])
}

/// Every `z` key.
pub const TOMBSTONES: &[u8] = b"z";

/// The account and mailbox of a `z`, `m` or `g` key.
pub fn account_mailbox_of_key(key: &[u8]) -> Option<(AccountId, MailboxId)> {
    let a: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    let m: [u8; 4] = key.get(9..13)?.try_into().ok()?;
    Some((
        AccountId(u64::from_be_bytes(a)),
        MailboxId(u32::from_be_bytes(m)),
    ))
}

pub fn body(id: u64) -> Vec<u8> {
    prefixed(b'b', &[&id.to_be_bytes()])
}

pub fn summary(id: u64) -> Vec<u8> {
    prefixed(b's', &[&id.to_be_bytes()])
}

pub fn search_index(id: u64) -> Vec<u8> {
    prefixed(b'x', &[&id.to_be_bytes()])
}

/// Header lines of a message stored by an earlier version: every field
/// but Subject, or before the Subject split every field (see
/// `SledStore::header_text`). New messages keep them in their file.
pub fn header_text(id: u64) -> Vec<u8> {
    prefixed(b'h', &[&id.to_be_bytes()])
}

/// The Subject header lines.
pub fn subject_text(id: u64) -> Vec<u8> {
    prefixed(b'j', &[&id.to_be_bytes()])
}

pub fn body_text(id: u64) -> Vec<u8> {
    prefixed(b't', &[&id.to_be_bytes()])
}

pub fn refcount(id: u64) -> Vec<u8> {
    prefixed(b'r', &[&id.to_be_bytes()])
}

/// The trailing big-endian u32 of a message key: its UID.
pub fn uid_of_message_key(key: &[u8]) -> Option<u32> {
    let tail: [u8; 4] = key.get(key.len().checked_sub(4)?..)?.try_into().ok()?;
    Some(u32::from_be_bytes(tail))
}

/// The trailing big-endian u64 of a change key: its MODSEQ.
pub fn modseq_of_change_key(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The trailing big-endian u32 of a mailbox key: its id.
pub fn mailbox_id_of_key(key: &[u8]) -> Option<MailboxId> {
    uid_of_message_key(key).map(MailboxId)
}

fn prefixed(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    key.push(prefix);
    for p in parts {
        key.extend_from_slice(p);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keys_sort_by_uid() {
        let a = AccountId(7);
        let m = MailboxId(1);
        assert!(message(a, m, 2) < message(a, m, 10));
        assert!(message(a, m, 0xFFFF_FFFF) < message(a, MailboxId(2), 1));
        assert!(message(a, m, 9).starts_with(&messages_of(a, m)));
        assert_eq!(uid_of_message_key(&message(a, m, 258)), Some(258));
    }

    #[test]
    fn change_prefix_matches_change_keys() {
        let a = AccountId(1);
        let m = MailboxId(3);
        assert!(change(a, m, 5).starts_with(&changes_of(a, m)));
        assert!(!change(a, MailboxId(4), 5).starts_with(&changes_of(a, m)));
        assert_eq!(modseq_of_change_key(&change(a, m, 77)), Some(77));
    }

    #[test]
    fn names_and_ids_come_back_out_of_keys() {
        let a = AccountId(9);
        assert_eq!(name_of_key(&subscription(a, "a/b")), Some("a/b"));
        assert_eq!(name_of_key(&mailbox_name(a, "INBOX")), Some("INBOX"));
        assert_eq!(
            account_mailbox_of_key(&tombstone(a, MailboxId(4))),
            Some((a, MailboxId(4)))
        );
    }
}
