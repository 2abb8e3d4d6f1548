//! Messages: append (one or a batch), copy and move, flag changes,
//! expunge, and range scans of message records.

use std::collections::HashMap;

use sled::transaction::TransactionalTree;

use super::{
    SledStore, TxResult, adjust_counts, decode_tx, index_flags_tx, load_mailbox_tx, log_change_tx,
    note_keywords, release_body_tx, retain_body_tx, uid_index, unix_now, watermark,
};
use crate::store::blobs::NewBlob;
use crate::store::durable::Watermark;
use crate::store::keys;
use crate::store::records::{self, MailboxRecord, MessageRecord};
use crate::store::{
    AccountId, AppendReceipt, ChangeKind, CopyReceipt, FlagOp, FlagUpdate, MailboxId, NewMessage,
    StoreError, StoreResult, canonical_flag, has_flag,
};

/// A mailbox record loaded once per transaction and written back at the end.
struct Loaded {
    record: MailboxRecord,
    before: Watermark,
}

impl SledStore {
    pub(super) fn append_impl(
        &self,
        targets: &[(AccountId, MailboxId)],
        message: &NewMessage<'_>,
    ) -> StoreResult<Vec<AppendReceipt>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let body_id = self.db.generate_id()?;
        let parts = encoded_parts(message);
        // The files are durable before any record names them (blobs.rs).
        self.blobs
            .write_all(&[new_blob(body_id, message, &parts)])
            .map_err(StoreError::Files)?;
        let flags = apply_flag_op(&[], FlagOp::Replace, &message.flags);
        let size = message.raw.len() as u64;
        let now = unix_now();
        let accounts: Vec<AccountId> = targets.iter().map(|t| t.0).collect();
        let _locks = self.durability.lock_many(&accounts);
        let committed = self.transaction(|tx| {
            insert_body_tx(tx, body_id, &parts, &message.parsed.headers.subject)?;
            tx.insert(
                keys::refcount(body_id),
                &(targets.len() as u32).to_be_bytes(),
            )?;
            let mut boxes: HashMap<(AccountId, MailboxId), Loaded> = HashMap::new();
            let mut receipts = Vec::with_capacity(targets.len());
            for &(a, m) in targets {
                let mbox = loaded(tx, &mut boxes, a, m)?;
                let rec = MessageRecord {
                    body: body_id,
                    flags: flags.clone(),
                    internal_date: message.internal_date,
                    size,
                    modseq: 0,
                    saved: now,
                    sent: message
                        .parsed
                        .index
                        .sent_date
                        .unwrap_or(message.internal_date),
                };
                receipts.push(add_message_tx(tx, a, m, &mut mbox.record, rec)?);
            }
            Ok((receipts, write_back(tx, boxes)?))
        });
        let (receipts, changed) = match committed {
            Ok(v) => v,
            Err(e) => {
                // Nothing names the files: they go at once.
                self.blobs.remove(&[body_id]);
                return Err(e);
            }
        };
        for (a, m, before, after) in changed {
            self.committed(a, &[(m, before, after)]);
        }
        Ok(receipts)
    }

    pub(super) fn append_batch_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> StoreResult<Vec<AppendReceipt>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut bodies = Vec::with_capacity(messages.len());
        for m in messages {
            bodies.push((self.db.generate_id()?, encoded_parts(m)));
        }
        let files: Vec<NewBlob<'_>> = bodies
            .iter()
            .zip(messages)
            .map(|((id, parts), m)| new_blob(*id, m, parts))
            .collect();
        self.blobs.write_all(&files).map_err(StoreError::Files)?;
        let now = unix_now();
        let _lock = self.durability.lock(account);
        let committed = self.transaction(|tx| {
            let mut mbox = load_mailbox_tx(tx, account, mailbox)?;
            let before = watermark(&mbox);
            let mut receipts = Vec::with_capacity(messages.len());
            for (message, (body_id, parts)) in messages.iter().zip(&bodies) {
                insert_body_tx(tx, *body_id, parts, &message.parsed.headers.subject)?;
                tx.insert(keys::refcount(*body_id), &1u32.to_be_bytes())?;
                let rec = MessageRecord {
                    body: *body_id,
                    flags: apply_flag_op(&[], FlagOp::Replace, &message.flags),
                    internal_date: message.internal_date,
                    size: message.raw.len() as u64,
                    modseq: 0,
                    saved: now,
                    sent: message
                        .parsed
                        .index
                        .sent_date
                        .unwrap_or(message.internal_date),
                };
                receipts.push(add_message_tx(tx, account, mailbox, &mut mbox, rec)?);
            }
            tx.insert(keys::mailbox(account, mailbox), records::encode(&mbox))?;
            Ok((receipts, before, watermark(&mbox)))
        });
        let (receipts, before, after) = match committed {
            Ok(v) => v,
            Err(e) => {
                let ids: Vec<u64> = bodies.iter().map(|b| b.0).collect();
                self.blobs.remove(&ids);
                return Err(e);
            }
        };
        self.committed(account, &[(mailbox, before, after)]);
        Ok(receipts)
    }

    pub(super) fn copy_impl(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
        remove: bool,
    ) -> StoreResult<CopyReceipt> {
        let now = unix_now();
        let _lock = self.durability.lock(account);
        let (receipt, changed) = self.transaction(|tx| {
            let mut boxes: HashMap<(AccountId, MailboxId), Loaded> = HashMap::new();
            loaded(tx, &mut boxes, account, from)?;
            loaded(tx, &mut boxes, account, to)?;
            let mut receipt = CopyReceipt::default();
            for &uid in uids {
                let key = keys::message(account, from, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let rec: MessageRecord = decode_tx(&v)?;
                if remove {
                    let src = &mut loaded(tx, &mut boxes, account, from)?.record;
                    remove_message_tx(tx, account, from, src, uid, &rec)?;
                } else {
                    retain_body_tx(tx, rec.body)?;
                }
                let copy = MessageRecord {
                    saved: now,
                    modseq: 0,
                    ..rec
                };
                let dst = &mut loaded(tx, &mut boxes, account, to)?.record;
                let r = add_message_tx(tx, account, to, dst, copy)?;
                receipt.uidvalidity = r.uidvalidity;
                receipt.pairs.push((uid, r.uid));
            }
            if receipt.pairs.is_empty() {
                receipt.uidvalidity = loaded(tx, &mut boxes, account, to)?.record.uidvalidity;
            }
            Ok((receipt, write_back(tx, boxes)?))
        })?;
        for (a, m, before, after) in changed {
            self.committed(a, &[(m, before, after)]);
        }
        Ok(receipt)
    }

    pub(super) fn scan_messages_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        first: u32,
        last: u32,
        visit: &mut dyn FnMut(u32, MessageRecord) -> bool,
    ) -> StoreResult<()> {
        if first > last {
            return Ok(());
        }
        let start = keys::message(account, mailbox, first);
        let end = keys::message(account, mailbox, last);
        for item in self.tree.range(start..=end) {
            let (k, v) = item?;
            let uid = keys::uid_of_message_key(&k).ok_or(StoreError::Corrupt {
                what: "message key",
                detail: String::new(),
            })?;
            if !visit(uid, records::decode(&v)?) {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn store_flags_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> StoreResult<(Vec<FlagUpdate>, Vec<u32>)> {
        let _lock = self.durability.lock(account);
        let (updates, failed, before, after) = self.transaction(|tx| {
            let mut mbox = load_mailbox_tx(tx, account, mailbox)?;
            let before = watermark(&mbox);
            let mut updates = Vec::new();
            let mut failed = Vec::new();
            for &uid in uids {
                let key = keys::message(account, mailbox, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let mut rec: MessageRecord = decode_tx(&v)?;
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
                note_keywords(&mut mbox, &new_flags);
                mbox.highestmodseq += 1;
                let old = rec.modseq;
                rec.modseq = mbox.highestmodseq;
                rec.flags = new_flags;
                tx.insert(key, records::encode(&rec))?;
                index_flags_tx(tx, account, mailbox, uid, Some(&rec.flags))?;
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
            if !updates.is_empty() {
                tx.insert(keys::mailbox(account, mailbox), records::encode(&mbox))?;
            }
            Ok((updates, failed, before, watermark(&mbox)))
        })?;
        self.committed(account, &[(mailbox, before, after)]);
        Ok((updates, failed))
    }

    pub(super) fn expunge_impl(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> StoreResult<Vec<u32>> {
        let _lock = self.durability.lock(account);
        let (removed, freed, before, after) = self.transaction(|tx| {
            let mut mbox = load_mailbox_tx(tx, account, mailbox)?;
            let before = watermark(&mbox);
            let mut removed = Vec::new();
            let mut freed = Vec::new();
            for &uid in uids {
                let key = keys::message(account, mailbox, uid);
                let Some(v) = tx.get(&key)? else { continue };
                let rec: MessageRecord = decode_tx(&v)?;
                remove_message_tx(tx, account, mailbox, &mut mbox, uid, &rec)?;
                freed.extend(release_body_tx(tx, rec.body)?);
                removed.push(uid);
            }
            if !removed.is_empty() {
                tx.insert(keys::mailbox(account, mailbox), records::encode(&mbox))?;
            }
            Ok((removed, freed, before, watermark(&mbox)))
        })?;
        for body in freed {
            self.blobs.remove_after_flush(body);
        }
        self.committed(account, &[(mailbox, before, after)]);
        Ok(removed)
    }
}

/// What a new message keeps: the encoded summary (its file) and search
/// index (sled).
struct EncodedParts {
    summary: Vec<u8>,
    index: Vec<u8>,
}

fn encoded_parts(m: &NewMessage<'_>) -> EncodedParts {
    EncodedParts {
        summary: records::encode(&m.parsed.summary),
        index: records::encode(&m.parsed.index),
    }
}

/// The file of a new body: raw message, summary, header lines, text.
fn new_blob<'a>(id: u64, m: &'a NewMessage<'_>, parts: &'a EncodedParts) -> NewBlob<'a> {
    NewBlob {
        id,
        raw: m.raw,
        summary: &parts.summary,
        headers: m.parsed.headers.other.as_bytes(),
        text: m.parsed.text.as_bytes(),
    }
}

/// Records what sled keeps of a new body: the search index and the Subject
/// lines, which SORT and SUBJECT read for every message. The rest is in
/// its file (see `blobs.rs`).
fn insert_body_tx(
    tx: &TransactionalTree,
    body: u64,
    parts: &EncodedParts,
    subject: &str,
) -> TxResult<()> {
    tx.insert(keys::search_index(body), parts.index.as_slice())?;
    tx.insert(keys::subject_text(body), subject.as_bytes())?;
    Ok(())
}

/// The mailbox `(a, m)` of this transaction, loaded on first use.
fn loaded<'b>(
    tx: &TransactionalTree,
    boxes: &'b mut HashMap<(AccountId, MailboxId), Loaded>,
    a: AccountId,
    m: MailboxId,
) -> TxResult<&'b mut Loaded> {
    use std::collections::hash_map::Entry;
    match boxes.entry((a, m)) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let record = load_mailbox_tx(tx, a, m)?;
            let before = watermark(&record);
            Ok(e.insert(Loaded { record, before }))
        }
    }
}

/// Writes back every loaded mailbox; returns (account, mailbox, before, after).
fn write_back(
    tx: &TransactionalTree,
    boxes: HashMap<(AccountId, MailboxId), Loaded>,
) -> TxResult<Vec<(AccountId, MailboxId, Watermark, Watermark)>> {
    let mut out = Vec::with_capacity(boxes.len());
    for ((a, m), l) in boxes {
        let after = watermark(&l.record);
        if after != l.before {
            tx.insert(keys::mailbox(a, m), records::encode(&l.record))?;
        }
        out.push((a, m, l.before, after));
    }
    Ok(out)
}

/// Adds `rec` to the mailbox under the next UID and MODSEQ, keeping the
/// counters, the `\Deleted` index and the change log.
pub(super) fn add_message_tx(
    tx: &TransactionalTree,
    a: AccountId,
    m: MailboxId,
    mbox: &mut MailboxRecord,
    mut rec: MessageRecord,
) -> TxResult<AppendReceipt> {
    let uid = mbox.uidnext;
    mbox.uidnext += 1;
    mbox.highestmodseq += 1;
    rec.modseq = mbox.highestmodseq;
    mbox.exists += 1;
    mbox.size += rec.size;
    adjust_counts(mbox, &rec.flags, 1);
    note_keywords(mbox, &rec.flags);
    index_flags_tx(tx, a, m, uid, Some(&rec.flags))?;
    log_change_tx(tx, a, m, None, rec.modseq, uid, ChangeKind::Added)?;
    tx.insert(keys::message(a, m, uid), records::encode(&rec))?;
    uid_index::mark_tx(tx, a, m, uid, true)?;
    Ok(AppendReceipt {
        uidvalidity: mbox.uidvalidity,
        uid,
        modseq: rec.modseq,
    })
}

/// Removes one message's record from its mailbox (not its body), logging
/// the expunge at a new MODSEQ.
pub(super) fn remove_message_tx(
    tx: &TransactionalTree,
    a: AccountId,
    m: MailboxId,
    mbox: &mut MailboxRecord,
    uid: u32,
    rec: &MessageRecord,
) -> TxResult<()> {
    tx.remove(keys::message(a, m, uid))?;
    uid_index::mark_tx(tx, a, m, uid, false)?;
    index_flags_tx(tx, a, m, uid, None)?;
    adjust_counts(mbox, &rec.flags, -1);
    mbox.exists = mbox.exists.saturating_sub(1);
    mbox.size = mbox.size.saturating_sub(rec.size);
    mbox.highestmodseq += 1;
    log_change_tx(
        tx,
        a,
        m,
        Some(rec.modseq),
        mbox.highestmodseq,
        uid,
        ChangeKind::Expunged,
    )
}

/// The flags after a STORE; `\Recent` is session state, never stored
/// (RFC 9051 removed it; RFC 3501 §2.3.2 says it cannot be changed).
pub(super) fn apply_flag_op(current: &[String], op: FlagOp, flags: &[String]) -> Vec<String> {
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
    out.retain(|f| !f.eq_ignore_ascii_case("\\Recent"));
    out
}
