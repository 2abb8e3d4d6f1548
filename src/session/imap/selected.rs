//! The selected mailbox: the session's view of message sequence numbers
//! (RFC 9051 §2.3.1.2) and how it follows the store's change log, so that
//! other sessions' deliveries, flag changes and expunges reach this client
//! as `EXISTS`, `FETCH (FLAGS)` and `EXPUNGE` (RFC 9051 §7.4.1, §5.5).

use std::collections::{BTreeSet, HashMap};

use super::response::flag_list;
use super::{ImapSession, State};
use crate::proto::imap::{CommandBody, SequenceSet};
use crate::store::{ChangeKind, MailboxId, StoreResult};

/// What a session knows about its selected mailbox.
pub struct Selected {
    /// The mailbox.
    pub id: MailboxId,
    /// EXAMINE, or SELECT of a mailbox we may not change.
    pub read_only: bool,
    /// UIDs in sequence order: message n is `uids[n - 1]`.
    pub uids: Vec<u32>,
    /// The last change-log MODSEQ this session has accounted for.
    pub modseq: u64,
    /// Flag changes this session made itself and already reported: the
    /// log entry with this (uid, modseq) needs no untagged FETCH.
    pub own_changes: HashMap<u32, u64>,
}

impl Selected {
    /// The sequence number of `uid`, if present.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// Resolves a sequence set (or UID set) to (seq, uid) pairs in order.
    /// `*` is the last message (RFC 9051 §9 `seq-number`); UIDs that do not
    /// exist are skipped, as the RFC requires for UID commands.
    pub fn resolve(&self, set: &SequenceSet, uid_mode: bool) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        if self.uids.is_empty() {
            return out;
        }
        let star = if uid_mode {
            *self.uids.last().expect("not empty")
        } else {
            self.uids.len() as u32
        };
        let mut seen = BTreeSet::new();
        for (lo, hi) in set.iter_resolved(star) {
            if uid_mode {
                let start = self.uids.partition_point(|&u| u < lo);
                let end = self.uids.partition_point(|&u| u <= hi);
                for i in start..end {
                    seen.insert(i as u32 + 1);
                }
            } else {
                for seq in lo.max(1)..=hi.min(star) {
                    seen.insert(seq);
                }
            }
        }
        for seq in seen {
            out.push((seq, self.uids[seq as usize - 1]));
        }
        out
    }

    /// True when a non-UID sequence set names a message that does not exist
    /// (RFC 9051 §6.4.8: that is a `BAD`).
    pub fn seq_out_of_range(&self, set: &SequenceSet) -> bool {
        let max = self.uids.len() as u32;
        set.iter_resolved(max.max(1)).any(|(_, hi)| hi > max)
    }
}

/// RFC 9051 §7.4.1: EXPUNGE may not be sent during FETCH, STORE and SEARCH
/// (their non-UID forms), since the client could not match numbers.
pub fn may_send_expunge(body: &CommandBody) -> bool {
    !matches!(
        body,
        CommandBody::Fetch { uid: false, .. }
            | CommandBody::Store { uid: false, .. }
            | CommandBody::Search { uid: false, .. }
            | CommandBody::Copy { uid: false, .. }
    )
}

impl ImapSession {
    /// Reports what changed in the selected mailbox since the session last
    /// looked. With `allow_expunge` false, stops before the first expunge
    /// of a message the client knows, leaving it for later.
    pub fn poll_updates(&mut self, allow_expunge: bool) -> StoreResult<()> {
        let State::Selected(login, sel) = &mut self.state else {
            return Ok(());
        };
        let changes = self
            .shared
            .store
            .changes_since(login.account, sel.id, sel.modseq)?;
        if changes.is_empty() {
            return Ok(());
        }
        let known_max = sel.uids.last().copied().unwrap_or(0);
        let mut announced = sel.uids.len();
        let mut arrived = BTreeSet::new();
        let mut lines = Vec::new();
        for change in changes {
            match change.kind {
                ChangeKind::Expunged => {
                    if let Some(seq) = sel.seq_of(change.uid) {
                        if !allow_expunge {
                            break;
                        }
                        sel.uids.remove(seq as usize - 1);
                        announced -= 1;
                        lines.push(format!("{seq} EXPUNGE"));
                    }
                    arrived.remove(&change.uid);
                }
                ChangeKind::Added | ChangeKind::Flags if change.uid > known_max => {
                    arrived.insert(change.uid);
                }
                ChangeKind::Added => {}
                ChangeKind::Flags => {
                    let own = sel.own_changes.remove(&change.uid) == Some(change.modseq);
                    if let (false, Some(seq)) = (own, sel.seq_of(change.uid))
                        && let Some(rec) =
                            self.shared
                                .store
                                .message(login.account, sel.id, change.uid)?
                    {
                        lines.push(format!(
                            "{seq} FETCH (UID {} FLAGS {})",
                            change.uid,
                            flag_list(&rec.flags)
                        ));
                    }
                }
            }
            sel.modseq = change.modseq;
        }
        sel.uids.extend(arrived);
        if sel.uids.len() != announced {
            lines.push(format!("{} EXISTS", sel.uids.len()));
        }
        for line in lines {
            self.untagged(&line);
        }
        Ok(())
    }
}
