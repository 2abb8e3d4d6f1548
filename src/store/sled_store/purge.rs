//! Removing a deleted mailbox's messages in the background.
//!
//! DELETE (RFC 9051 §6.3.5) removes the mailbox's record and name in one
//! small transaction and leaves a tombstone (`z` key). The mailbox is gone
//! for every reader at once; its messages, change log and `\Deleted` index
//! are removed here afterwards, in batches, so deleting a mailbox of
//! 100,000 messages neither blocks the account nor builds one huge
//! transaction. Mailbox ids are never reused, so the leftovers can never
//! be mistaken for a new mailbox's. The tombstone goes last; one still
//! present when the store opens is purged again (every step is
//! idempotent).

use std::sync::mpsc;
use std::thread;

use sled::transaction::{ConflictableTransactionError, TransactionError};

use std::sync::Arc;

use super::release_body_tx;
use crate::store::blobs::Blobs;
use crate::store::keys;
use crate::store::records::{self, MessageRecord};
use crate::store::{AccountId, MailboxId, StoreError, StoreResult};

/// Messages removed per transaction.
const BATCH: usize = 512;

/// The purge worker: a thread fed with deleted mailboxes.
pub struct Purger {
    tx: Option<mpsc::Sender<(AccountId, MailboxId)>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Purger {
    /// Lets the worker finish what it was given and waits for it, so the
    /// database is closed when the store is (a reopen finds it unlocked).
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Purger {
    /// Starts the worker and queues the tombstones left from before.
    pub fn start(tree: sled::Tree, blobs: Arc<Blobs>) -> StoreResult<Purger> {
        let (tx, rx) = mpsc::channel::<(AccountId, MailboxId)>();
        for item in tree.scan_prefix(keys::TOMBSTONES).keys() {
            if let Some(target) = keys::account_mailbox_of_key(&item?) {
                let _ = tx.send(target);
            }
        }
        let thread = thread::Builder::new()
            .name("tokenmail-purge".into())
            .spawn(move || {
                // Ends when the store (the last sender) is dropped.
                for (a, m) in rx {
                    if let Err(e) = purge(&tree, &blobs, a, m) {
                        tracing::error!(error = %e, "purging a deleted mailbox failed; it is retried at the next start");
                    }
                }
            })
            .map_err(|e| StoreError::Flush(format!("cannot start the purge thread: {e}")))?;
        Ok(Purger {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a deleted mailbox for purging.
    pub fn purge(&self, a: AccountId, m: MailboxId) {
        if let Some(tx) = &self.tx {
            let _ = tx.send((a, m));
        }
    }
}

fn purge(tree: &sled::Tree, blobs: &Blobs, a: AccountId, m: MailboxId) -> StoreResult<()> {
    let mut unreferenced = Vec::new();
    loop {
        let batch: Vec<(sled::IVec, sled::IVec)> = tree
            .scan_prefix(keys::messages_of(a, m))
            .take(BATCH)
            .collect::<Result<_, _>>()?;
        if batch.is_empty() {
            break;
        }
        let freed = tree
            .transaction(|tx| {
                let mut freed = Vec::new();
                for (k, v) in &batch {
                    let rec: MessageRecord =
                        records::decode(v).map_err(ConflictableTransactionError::Abort)?;
                    tx.remove(k.clone())?;
                    freed.extend(release_body_tx(tx, rec.body)?);
                }
                Ok(freed)
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Database(e),
            })?;
        unreferenced.extend(freed);
    }
    for prefix in [
        keys::changes_of(a, m),
        keys::deleted_of(a, m),
        keys::unseen_of(a, m),
        keys::uid_blocks_of(a, m),
    ] {
        loop {
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for k in tree.scan_prefix(&prefix).keys().take(BATCH * 8) {
                batch.remove(k?);
                n += 1;
            }
            if n == 0 {
                break;
            }
            tree.apply_batch(batch)?;
        }
    }
    tree.remove(keys::tombstone(a, m))?;
    // The message files go once nothing durable refers to them; a crash
    // before this leaves orphans, which the next open collects.
    tree.flush()?;
    blobs.remove(&unreferenced);
    Ok(())
}
