//! What other sessions may see: only changes that are on disk.
//!
//! A sled transaction is visible to every reader the moment it commits,
//! but it is durable only after the next flush. A session that announced
//! a UID before the flush could, after a power loss, see that UID handed
//! to a different message under the same UIDVALIDITY. So writers register
//! each commit here, and readers that tell clients about other sessions'
//! changes (the change log, SELECT's message list, IDLE wake-ups) read
//! through the *durable watermark*: the MODSEQ and UIDNEXT of the last
//! state of the mailbox that a finished flush covered.
//!
//! ## Ordering
//! - Every write to an account runs under that account's lock
//!   ([`Durability::lock`]), and registers its commit before releasing it.
//!   So the first registration of a mailbox that has no entry sees the
//!   pre-commit state, which is the durable one.
//! - A flush leader calls [`Durability::snapshot`] after it fixed the
//!   ticket count and before it flushes: every registered commit was made
//!   before the flush started, so the flush covers it. After a successful
//!   flush, [`Durability::flushed`] raises the watermarks and reports
//!   which accounts to wake.
//! - Readers take the account lock while they read a mailbox record and
//!   its watermark together ([`Durability::watermark`]), so they never pair
//!   a record that includes a commit with a map that has not yet heard of it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{AccountId, MailboxId};

/// The latest state of a mailbox that is known to be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    /// Changes up to this MODSEQ are durable.
    pub modseq: u64,
    /// Messages below this UID are durable.
    pub uidnext: u32,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    durable: Watermark,
    latest: Watermark,
}

/// Number of account lock stripes.
const STRIPES: usize = 64;

/// Account write locks and the durable watermarks of mailboxes with
/// changes not yet flushed.
pub struct Durability {
    locks: Vec<Mutex<()>>,
    marks: Mutex<Marks>,
}

#[derive(Default)]
struct Marks {
    mailboxes: HashMap<(AccountId, MailboxId), Mark>,
    /// Accounts with changes outside any mailbox's MODSEQ (a mailbox
    /// created, renamed or deleted) to announce after the next flush.
    accounts: Vec<AccountId>,
}

/// A snapshot taken at the start of a flush.
pub struct Snapshot {
    mailboxes: Vec<((AccountId, MailboxId), Watermark)>,
    accounts: Vec<AccountId>,
}

impl Durability {
    /// No pending changes.
    pub fn new() -> Self {
        Durability {
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            marks: Mutex::new(Marks::default()),
        }
    }

    /// The write lock of `account`. Never held across an `.await`.
    pub fn lock(&self, account: AccountId) -> MutexGuard<'_, ()> {
        self.locks[stripe(account)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The write locks of several accounts, taken in stripe order so that
    /// two multi-recipient deliveries cannot deadlock.
    pub fn lock_many(&self, accounts: &[AccountId]) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = accounts.iter().map(|&a| stripe(a)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|s| self.locks[s].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }

    fn marks(&self) -> MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a commit that moved the mailbox from `before` to `after`.
    /// The caller holds the account's lock.
    pub fn committed(&self, a: AccountId, m: MailboxId, before: Watermark, after: Watermark) {
        self.marks()
            .mailboxes
            .entry((a, m))
            .and_modify(|mark| mark.latest = after)
            .or_insert(Mark {
                durable: before,
                latest: after,
            });
    }

    /// The durable state of a mailbox whose record says `current`; the
    /// caller holds the account's lock (or accepts a stale answer).
    pub fn watermark(&self, a: AccountId, m: MailboxId, current: Watermark) -> Watermark {
        self.marks()
            .mailboxes
            .get(&(a, m))
            .map_or(current, |mark| mark.durable)
    }

    /// Asks for the sessions of `a` to be woken after the next flush.
    pub fn wake_after_flush(&self, a: AccountId) {
        let mut marks = self.marks();
        if !marks.accounts.contains(&a) {
            marks.accounts.push(a);
        }
    }

    /// What every registered commit reached, at the start of a flush.
    pub fn snapshot(&self) -> Snapshot {
        let mut marks = self.marks();
        Snapshot {
            mailboxes: marks
                .mailboxes
                .iter()
                .map(|(k, m)| (*k, m.latest))
                .collect(),
            accounts: std::mem::take(&mut marks.accounts),
        }
    }

    /// After a successful flush that started at `snapshot`: raises the
    /// watermarks, forgets mailboxes that caught up, and returns the
    /// accounts whose sessions should look for changes.
    pub fn flushed(&self, snapshot: Snapshot) -> Vec<AccountId> {
        let mut marks = self.marks();
        let mut woken = snapshot.accounts;
        for (key, reached) in snapshot.mailboxes {
            let Some(mark) = marks.mailboxes.get_mut(&key) else {
                continue;
            };
            if reached.modseq > mark.durable.modseq {
                mark.durable = reached;
                woken.push(key.0);
            }
            if mark.durable == mark.latest {
                marks.mailboxes.remove(&key);
            }
        }
        woken.sort_unstable();
        woken.dedup();
        woken
    }

    /// Forgets a mailbox (after DELETE, whose record is gone).
    pub fn forget(&self, a: AccountId, m: MailboxId) {
        self.marks().mailboxes.remove(&(a, m));
    }
}

impl Default for Durability {
    fn default() -> Self {
        Self::new()
    }
}

fn stripe(a: AccountId) -> usize {
    (a.0 % STRIPES as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(modseq: u64, uidnext: u32) -> Watermark {
        Watermark { modseq, uidnext }
    }

    #[test]
    fn watermark_rises_only_with_flushes_that_cover_the_commit() {
        let d = Durability::new();
        let (a, m) = (AccountId(1), MailboxId(1));
        assert_eq!(d.watermark(a, m, w(5, 3)), w(5, 3));
        d.committed(a, m, w(5, 3), w(6, 4));
        assert_eq!(d.watermark(a, m, w(6, 4)), w(5, 3));
        let snap = d.snapshot();
        // A commit after the snapshot is not covered by that flush.
        d.committed(a, m, w(6, 4), w(7, 5));
        assert_eq!(d.flushed(snap), vec![a]);
        assert_eq!(d.watermark(a, m, w(7, 5)), w(6, 4));
        let snap = d.snapshot();
        assert_eq!(d.flushed(snap), vec![a]);
        assert_eq!(d.watermark(a, m, w(7, 5)), w(7, 5));
        assert!(d.marks().mailboxes.is_empty());
        // Nothing pending: a flush wakes nobody.
        assert!(d.flushed(d.snapshot()).is_empty());
        d.wake_after_flush(a);
        assert_eq!(d.flushed(d.snapshot()), vec![a]);
        assert!(d.flushed(d.snapshot()).is_empty());
    }
}
