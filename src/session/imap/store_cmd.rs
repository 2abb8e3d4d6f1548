//! STORE (RFC 9051 §6.4.6), EXPUNGE and UID EXPUNGE (§6.4.3, RFC 4315
//! §2.1), CLOSE (§6.4.1) and UNSELECT (RFC 3691).

use super::response::flag_list;
use super::{CommandError, CommandResult, ImapSession, State, no, ok};
use crate::proto::imap::{Flag, SequenceSet, StoreMode};
use crate::store::FlagOp;

impl ImapSession {
    /// STORE / UID STORE FLAGS, +FLAGS, -FLAGS (.SILENT).
    pub(super) async fn store(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag],
        unchanged_since: Option<u64>,
    ) -> CommandResult {
        let State::Selected(login, sel) = &mut self.state else {
            unreachable!("allowed() checked")
        };
        if sel.read_only {
            return Err(no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        if !uid_mode && sel.seq_out_of_range(set) {
            return Err(CommandError::Bad("Invalid message sequence number".into()));
        }
        let op = match mode {
            StoreMode::Replace => FlagOp::Replace,
            StoreMode::Add => FlagOp::Add,
            StoreMode::Remove => FlagOp::Remove,
        };
        let flags: Vec<String> = flags
            .iter()
            .filter(|f| !matches!(f, Flag::Recent))
            .map(|f| f.as_str().to_string())
            .collect();
        let messages = sel.resolve(set, uid_mode);
        let uids: Vec<u32> = messages.iter().map(|m| m.1).collect();
        let store = self.shared.store.clone();
        let (updates, failed) =
            store.store_flags(login.account, sel.id, &uids, op, &flags, unchanged_since)?;
        for u in &updates {
            sel.own_changes.insert(u.uid, u.modseq);
        }
        let mut lines = Vec::new();
        if !silent {
            // RFC 9051 §6.4.6: the new flags of every message in the set.
            for (seq, uid) in &messages {
                if failed.contains(uid) {
                    continue;
                }
                let flags = match updates.iter().find(|u| u.uid == *uid) {
                    Some(u) => u.flags.clone(),
                    None => match store.message(login.account, sel.id, *uid)? {
                        Some(r) => r.flags,
                        None => continue,
                    },
                };
                let uid_part = if uid_mode {
                    format!("UID {uid} ")
                } else {
                    String::new()
                };
                lines.push(format!(
                    "{seq} FETCH ({uid_part}FLAGS {})",
                    flag_list(&flags)
                ));
            }
        }
        for line in lines {
            self.untagged(&line);
        }
        if !failed.is_empty() {
            // RFC 7162 §3.1.3.
            let list: Vec<String> = failed.iter().map(u32::to_string).collect();
            return Ok((
                Some(format!("MODIFIED {}", list.join(","))),
                "Conditional STORE failed".into(),
            ));
        }
        ok("STORE completed")
    }

    /// EXPUNGE, or UID EXPUNGE when `only` is given: removes messages marked
    /// `\Deleted` and reports each removal.
    pub(super) async fn expunge(&mut self, only: Option<&SequenceSet>) -> CommandResult {
        if let State::Selected(_, sel) = &self.state
            && sel.read_only
        {
            return Err(no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let removed = self.expunge_deleted(only).await?;
        let State::Selected(_, sel) = &mut self.state else {
            unreachable!("checked above")
        };
        let mut lines = Vec::new();
        for uid in removed {
            if let Some(seq) = sel.seq_of(uid) {
                sel.uids.remove(seq as usize - 1);
                lines.push(format!("{seq} EXPUNGE"));
            }
        }
        for line in lines {
            self.untagged(&line);
        }
        ok("EXPUNGE completed")
    }

    /// Removes the `\Deleted` messages (of `only`, when given) from the
    /// store and waits until that is durable; returns their UIDs.
    async fn expunge_deleted(
        &mut self,
        only: Option<&SequenceSet>,
    ) -> Result<Vec<u32>, CommandError> {
        let State::Selected(login, sel) = &self.state else {
            unreachable!("allowed() checked")
        };
        let store = self.shared.store.clone();
        let mut doomed = store.deleted_uids(login.account, sel.id)?;
        if let Some(set) = only {
            let wanted: std::collections::HashSet<u32> =
                sel.resolve(set, true).into_iter().map(|m| m.1).collect();
            doomed.retain(|uid| wanted.contains(uid));
        }
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        let removed = store.expunge(login.account, sel.id, &doomed)?;
        store.sync().await?;
        Ok(removed)
    }

    /// CLOSE (expunges silently when read-write) and UNSELECT.
    pub(super) async fn close(&mut self, expunge: bool) -> CommandResult {
        if expunge
            && let State::Selected(_, sel) = &self.state
            && !sel.read_only
        {
            self.expunge_deleted(None).await?;
        }
        self.state.deselect();
        ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }
}
