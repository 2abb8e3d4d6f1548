//! The UID index: which UIDs a mailbox holds, as bitmaps of 1,024 UIDs per
//! `g` key (see `keys.rs`), kept in the same transactions as the message
//! records. SELECT reads a 100,000-message mailbox's UIDs from about a
//! hundred 128-byte values instead of walking 100,000 message keys.
//!
//! A block's value is its bitmap, bit `uid % 1024` in byte `/ 8`, least
//! significant bit first, with trailing zero bytes left off; a block with
//! no UID has no key. The message records stay the truth: a mailbox whose
//! bitmaps do not count `exists` UIDs is read by scanning its records, and
//! [`repair`] rebuilds such bitmaps when the store opens (stores written
//! before this index, or by an older version after it).

use std::collections::HashMap;

use sled::transaction::TransactionalTree;

use super::TxResult;
use crate::store::keys;
use crate::store::records::{self, MailboxRecord};
use crate::store::{AccountId, MailboxId, StoreError, StoreResult};

/// UIDs per block.
pub(super) const BLOCK_UIDS: u32 = 1024;

/// Sets (`present`) or clears the bit of `uid` in its block.
pub(super) fn mark_tx(
    tx: &TransactionalTree,
    a: AccountId,
    m: MailboxId,
    uid: u32,
    present: bool,
) -> TxResult<()> {
    let key = keys::uid_block(a, m, uid / BLOCK_UIDS);
    let mut bits = tx.get(&key)?.map(|v| v.to_vec()).unwrap_or_default();
    set_bit(&mut bits, uid % BLOCK_UIDS, present);
    if bits.is_empty() {
        tx.remove(key)?;
    } else {
        tx.insert(key, bits)?;
    }
    Ok(())
}

/// The mailbox's UIDs as ascending inclusive ranges, and how many there are.
pub(super) fn read(
    tree: &sled::Tree,
    a: AccountId,
    m: MailboxId,
) -> StoreResult<(Vec<(u32, u32)>, u64)> {
    let mut ranges = Vec::new();
    let mut count = 0;
    for item in tree.scan_prefix(keys::uid_blocks_of(a, m)) {
        let (k, v) = item?;
        let block = keys::uid_of_message_key(&k).ok_or(StoreError::Corrupt {
            what: "UID index key",
            detail: String::new(),
        })?;
        count += push_ranges(block, &v, &mut ranges)?;
    }
    Ok((ranges, count))
}

/// Replaces the mailbox's bitmaps by ones built from `uids` (ascending).
fn rebuild(tree: &sled::Tree, a: AccountId, m: MailboxId, uids: &[u32]) -> StoreResult<()> {
    let mut batch = sled::Batch::default();
    for k in tree.scan_prefix(keys::uid_blocks_of(a, m)).keys() {
        batch.remove(k?);
    }
    let mut block: Option<(u32, Vec<u8>)> = None;
    for &uid in uids {
        let b = uid / BLOCK_UIDS;
        if block.as_ref().is_some_and(|(n, _)| *n != b)
            && let Some((n, bits)) = block.take()
        {
            batch.insert(keys::uid_block(a, m, n), bits);
        }
        let (_, bits) = block.get_or_insert_with(|| (b, Vec::new()));
        set_bit(bits, uid % BLOCK_UIDS, true);
    }
    if let Some((n, bits)) = block {
        batch.insert(keys::uid_block(a, m, n), bits);
    }
    tree.apply_batch(batch)?;
    Ok(())
}

/// At open, before anything else writes: rebuilds the bitmaps of every
/// mailbox whose bitmaps do not count its `exists`, and corrects an
/// `exists` that does not count its message records. Reads only the
/// small `g` values and the mailbox records unless something is off.
pub(super) fn repair(tree: &sled::Tree) -> StoreResult<()> {
    let mut counted: HashMap<(AccountId, MailboxId), u64> = HashMap::new();
    for item in tree.scan_prefix(keys::UID_BLOCKS) {
        let (k, v) = item?;
        if let Some(am) = keys::account_mailbox_of_key(&k) {
            *counted.entry(am).or_default() += count_bits(&v);
        }
    }
    let mut rebuilt = 0u64;
    for item in tree.scan_prefix(b"m") {
        let (k, v) = item?;
        let Some((a, m)) = keys::account_mailbox_of_key(&k) else {
            continue;
        };
        let mut rec: MailboxRecord = records::decode(&v)?;
        if counted.get(&(a, m)).copied().unwrap_or(0) == u64::from(rec.exists) {
            continue;
        }
        let mut uids = Vec::new();
        for key in tree.scan_prefix(keys::messages_of(a, m)).keys() {
            if let Some(uid) = keys::uid_of_message_key(&key?) {
                uids.push(uid);
            }
        }
        rebuild(tree, a, m, &uids)?;
        rebuilt += 1;
        if u64::from(rec.exists) != uids.len() as u64 {
            tracing::warn!(
                account = a.0,
                mailbox = m.0,
                recorded = rec.exists,
                found = uids.len(),
                "store: a mailbox's message count was off; corrected"
            );
            rec.exists = uids.len() as u32;
            tree.insert(&k, records::encode(&rec))?;
        }
    }
    if rebuilt > 0 {
        tree.flush()?;
        tracing::info!(mailboxes = rebuilt, "store: built the UID index");
    }
    Ok(())
}

/// See [`super::SledStore::verify_uid_index`].
pub(super) fn verify(tree: &sled::Tree) -> StoreResult<Vec<(AccountId, MailboxId)>> {
    let mut out = Vec::new();
    for k in tree.scan_prefix(b"m").keys() {
        let Some((a, m)) = keys::account_mailbox_of_key(&k?) else {
            continue;
        };
        let mut uids = Vec::new();
        for key in tree.scan_prefix(keys::messages_of(a, m)).keys() {
            if let Some(uid) = keys::uid_of_message_key(&key?) {
                uids.push(uid);
            }
        }
        if read(tree, a, m)?.0 != ranges_of(&uids) {
            out.push((a, m));
        }
    }
    for k in tree.scan_prefix(keys::UID_BLOCKS).keys() {
        let Some((a, m)) = keys::account_mailbox_of_key(&k?) else {
            continue;
        };
        if out.last() != Some(&(a, m))
            && !tree.contains_key(keys::mailbox(a, m))?
            && !tree.contains_key(keys::tombstone(a, m))?
        {
            out.push((a, m));
        }
    }
    Ok(out)
}

/// Ascending UIDs as inclusive ranges.
pub(super) fn ranges_of(uids: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &uid in uids {
        match out.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(uid) => *end = uid,
            _ => out.push((uid, uid)),
        }
    }
    out
}

/// Sets or clears bit `i` of a trimmed bitmap, trimming it again.
fn set_bit(bits: &mut Vec<u8>, i: u32, on: bool) {
    let byte = (i / 8) as usize;
    let mask = 1u8 << (i % 8);
    if on {
        if bits.len() <= byte {
            bits.resize(byte + 1, 0);
        }
        bits[byte] |= mask;
    } else if let Some(b) = bits.get_mut(byte) {
        *b &= !mask;
        while bits.last() == Some(&0) {
            bits.pop();
        }
    }
}

fn count_bits(bits: &[u8]) -> u64 {
    bits.iter().map(|b| u64::from(b.count_ones())).sum()
}

/// Appends the UIDs of block `block` to `ranges`, joining a range that
/// ends just before; returns how many UIDs the block holds.
fn push_ranges(block: u32, bits: &[u8], ranges: &mut Vec<(u32, u32)>) -> StoreResult<u64> {
    if bits.len() > (BLOCK_UIDS / 8) as usize {
        return Err(StoreError::Corrupt {
            what: "UID index block",
            detail: format!("{} bytes", bits.len()),
        });
    }
    let base = block.checked_mul(BLOCK_UIDS).ok_or(StoreError::Corrupt {
        what: "UID index key",
        detail: format!("block {block}"),
    })?;
    let mut count = 0;
    for (w, chunk) in bits.chunks(8).enumerate() {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let mut word = u64::from_le_bytes(word);
        let mut at = base + (w as u32) * 64;
        count += u64::from(word.count_ones());
        while word != 0 {
            let skip = word.trailing_zeros();
            word >>= skip;
            at += skip;
            let run = word.trailing_ones();
            // `run` may be 64 (all ones): shifting by 64 is not allowed.
            word = word.checked_shr(run).unwrap_or(0);
            let last = at + (run - 1);
            match ranges.last_mut() {
                Some((_, end)) if end.checked_add(1) == Some(at) => *end = last,
                _ => ranges.push((at, last)),
            }
            // Past the highest UID when the run ends at `u32::MAX`, and
            // then never read.
            at = at.wrapping_add(run);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges_of(uids: &[u32]) -> (Vec<(u32, u32)>, u64) {
        let mut blocks: Vec<(u32, Vec<u8>)> = Vec::new();
        for &uid in uids {
            let b = uid / BLOCK_UIDS;
            if blocks.last().is_none_or(|(n, _)| *n != b) {
                blocks.push((b, Vec::new()));
            }
            set_bit(&mut blocks.last_mut().unwrap().1, uid % BLOCK_UIDS, true);
        }
        let mut ranges = Vec::new();
        let mut count = 0;
        for (b, bits) in &blocks {
            count += push_ranges(*b, bits, &mut ranges).unwrap();
        }
        (ranges, count)
    }

    #[test]
    fn runs_across_words_and_blocks() {
        let mut uids: Vec<u32> = (1..=5000).collect();
        uids.retain(|u| ![64, 1023, 1024, 3000].contains(u));
        uids.extend([8191, 8192, 8193, 1 << 31]);
        let (ranges, count) = ranges_of(&uids);
        assert_eq!(count, uids.len() as u64);
        assert_eq!(
            ranges,
            vec![
                (1, 63),
                (65, 1022),
                (1025, 2999),
                (3001, 5000),
                (8191, 8193),
                (1 << 31, 1 << 31)
            ]
        );
    }

    #[test]
    fn full_words_and_the_highest_uid() {
        let uids: Vec<u32> = (u32::MAX - 200..=u32::MAX).collect();
        assert_eq!(ranges_of(&uids).0, vec![(u32::MAX - 200, u32::MAX)]);
        let uids: Vec<u32> = (0..1024).collect();
        assert_eq!(ranges_of(&uids), (vec![(0, 1023)], 1024));
    }

    #[test]
    fn clearing_trims_and_empties() {
        let mut bits = Vec::new();
        set_bit(&mut bits, 700, true);
        set_bit(&mut bits, 3, true);
        assert_eq!(bits.len(), 88);
        set_bit(&mut bits, 700, false);
        assert_eq!(bits, vec![8]);
        set_bit(&mut bits, 900, false);
        assert_eq!(bits, vec![8]);
        set_bit(&mut bits, 3, false);
        assert!(bits.is_empty());
    }

    /// A store without the index (written before it) gets it at open, and
    /// a wrong `exists` is corrected from the records.
    #[test]
    fn open_builds_a_missing_index() {
        use crate::message::Parsed;
        use crate::store::{MailStore, NewMessage};
        let dir = tempfile::tempdir().unwrap();
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let parsed = Parsed::of(raw);
        let (a, inbox) = {
            let s = super::super::SledStore::open(dir.path()).unwrap();
            let (a, _) = s.ensure_account("old@example.test").unwrap();
            let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
            let msg = NewMessage {
                raw,
                parsed: &parsed,
                flags: Vec::new(),
                internal_date: 0,
            };
            for _ in 0..1500 {
                s.append(&[(a, inbox)], &msg).unwrap();
            }
            s.expunge(a, inbox, &[7, 1100]).unwrap();
            // As an older version left it: no `g` keys, a count off by one.
            for k in s.tree.scan_prefix(keys::UID_BLOCKS).keys() {
                s.tree.remove(k.unwrap()).unwrap();
            }
            let key = keys::mailbox(a, inbox);
            let mut rec: MailboxRecord =
                records::decode(&s.tree.get(&key).unwrap().unwrap()).unwrap();
            rec.exists += 1;
            s.tree.insert(&key, records::encode(&rec)).unwrap();
            s.flush_blocking().unwrap();
            (a, inbox)
        };
        let s = super::super::SledStore::open(dir.path()).unwrap();
        assert_eq!(s.verify_uid_index().unwrap(), vec![]);
        assert_eq!(read(&s.tree, a, inbox).unwrap().1, 1498);
        assert_eq!(
            s.uid_ranges(a, inbox).unwrap(),
            vec![(1, 6), (8, 1099), (1101, 1500)]
        );
        assert_eq!(s.mailbox(a, inbox).unwrap().unwrap().record.exists, 1498);
    }

    #[test]
    fn oversized_block_is_corrupt() {
        let mut ranges = Vec::new();
        assert!(push_ranges(0, &[1; 129], &mut ranges).is_err());
    }
}
