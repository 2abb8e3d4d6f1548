//! EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 9051 §6.4.9, RFC 4315
//! §2.1): the messages flagged `\Deleted` go, durably, before the answer.

use crate::proto::imap::SequenceSet;
use crate::session::imap::uidmap::compact_set;
use crate::session::imap::{CommandError, CommandResult, ImapSession, State, blocking_for, no, ok};

impl ImapSession {
    /// EXPUNGE, or UID EXPUNGE when `only` is given: removes messages
    /// marked `\Deleted` and reports each removal (`VANISHED` once QRESYNC
    /// is on, RFC 7162 §3.2.10).
    pub(in crate::session::imap) async fn cmd_expunge(
        &mut self,
        only: Option<&SequenceSet>,
    ) -> CommandResult {
        if let State::Selected(_, sel) = &self.state
            && sel.read_only
        {
            return Err(no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let removed = self.expunge_deleted(only).await?;
        self.report_expunged(&removed);
        ok("EXPUNGE completed")
    }

    /// Takes `uids` (ascending) out of the session's view and reports them.
    pub(in crate::session::imap) fn report_expunged(&mut self, uids: &[u32]) {
        self.update_searches(&[], &[], uids);
        let qresync = self.enabled.qresync;
        let (_, sel) = self.state.selected_mut();
        let seqs = sel.uids.remove_sorted(uids);
        sel.recent.remove_sorted(uids);
        sel.saved.remove_sorted(uids);
        if seqs.is_empty() {
            return;
        }
        if qresync {
            self.untagged(&format!("VANISHED {}", compact_set(uids.iter().copied())));
        } else {
            for seq in seqs.iter().rev() {
                self.untagged(&format!("{seq} EXPUNGE"));
            }
        }
    }

    /// Removes the `\Deleted` messages this session knows (of `only`, when
    /// given) and waits until that is durable; returns their UIDs.
    pub(in crate::session::imap) async fn expunge_deleted(
        &mut self,
        only: Option<&SequenceSet>,
    ) -> Result<Vec<u32>, CommandError> {
        let (login, sel) = self.state.selected_mut();
        let account = login.account;
        let store = self.shared.store.clone();
        let mut doomed = store.deleted_uids(account, sel.id)?;
        // Only messages the client has been told about.
        doomed.retain(|&u| sel.uids.contains(u));
        if let Some(set) = only {
            let set = self.resolve_saved(set, true);
            let (_, sel) = self.state.selected_mut();
            let wanted: std::collections::HashSet<u32> = sel
                .uids
                .resolve(&set, true)
                .into_iter()
                .map(|m| m.1)
                .collect();
            doomed.retain(|uid| wanted.contains(uid));
        }
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        let (_, sel) = self.state.selected_mut();
        let mailbox = sel.id;
        let removed = blocking_for(doomed.len(), || store.expunge(account, mailbox, &doomed))?;
        store.sync().await?;
        Ok(removed)
    }
}
