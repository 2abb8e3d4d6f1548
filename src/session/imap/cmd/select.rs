//! SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3; RFC 3501 §6.3.1, §6.3.2),
//! with CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (RFC 7162 §3.2.5), OBJECTID
//! (RFC 8474 §4.1) and `\Recent` (RFC 3501 §2.3.2).

use std::collections::HashMap;

use crate::proto::imap::SelectParams;
use crate::session::imap::response::{flag_list, flags_response, permanent_flags};
use crate::session::imap::uidmap::{UidMap, compact_set};
use crate::session::imap::{
    CommandResult, ImapSession, Selected, State, bad, blocking, blocking_for, names, no, ok_code,
};
use crate::store::{ChangeKind, MailboxInfo};

impl ImapSession {
    /// Looks a mailbox up by the name the client sent.
    pub(in crate::session::imap) fn find_mailbox(
        &self,
        sent: &str,
    ) -> Result<MailboxInfo, crate::session::imap::CommandError> {
        let name = names::from_wire(sent, self.enabled.utf8)?;
        let account = self.logged_in().account;
        self.shared
            .store
            .mailbox_by_name(account, &name)?
            .ok_or_else(|| no(Some("NONEXISTENT"), "No such mailbox"))
    }

    /// SELECT / EXAMINE. A failed SELECT leaves no mailbox selected.
    pub(in crate::session::imap) async fn cmd_select(
        &mut self,
        sent: &str,
        params: &SelectParams,
        read_only: bool,
    ) -> CommandResult {
        if params.qresync.is_some() && !self.enabled.qresync {
            // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
            return Err(bad("QRESYNC must be enabled first"));
        }
        let was_selected = self.state.deselect();
        if was_selected && (self.enabled.qresync || self.enabled.rev2) {
            // RFC 7162 §3.2.11, RFC 9051 §7.1: the old mailbox is closed.
            self.untagged("OK [CLOSED] Previous mailbox closed");
        }
        if params.condstore {
            self.enabled.condstore = true;
        }
        let info = self.find_mailbox(sent)?;
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        let current = store
            .durable_mailbox(account, info.id)?
            .ok_or_else(|| no(Some("NONEXISTENT"), "No such mailbox"))?;
        let durable = current.durable;
        let r = current.info.record;
        // Only what is on disk: a UID another session has not yet flushed
        // must not be seen (RFC 9051 §2.3.1.1).
        let ranges = blocking_for(r.exists as usize, || store.uid_ranges(account, info.id))?;
        let uids = UidMap::from_ranges(
            ranges
                .into_iter()
                .filter(|&(first, _)| first < durable.uidnext)
                .map(|(first, last)| (first, last.min(durable.uidnext - 1))),
        );
        let floor = if read_only {
            r.recent_floor
        } else {
            store.claim_recent(account, info.id, durable.uidnext)?
        };
        let recent = UidMap::from_ranges(
            uids.uid_ranges()
                .filter(|&(_, last)| last >= floor)
                .map(|(first, last)| (first.max(floor), last)),
        );
        let rev1 = !self.enabled.rev2;

        self.untagged(&flags_response(&r.keywords));
        self.untagged(&format!("{} EXISTS", uids.len()));
        if rev1 {
            self.untagged(&format!("{} RECENT", recent.len()));
            if let Some(first) = store.first_unseen(account, info.id)?
                && let Some(seq) = uids.seq(first)
            {
                self.untagged(&format!("OK [UNSEEN {seq}] First unseen"));
            }
        }
        self.untagged(&format!("OK [UIDVALIDITY {}] UIDs valid", r.uidvalidity));
        self.untagged(&format!(
            "OK [UIDNEXT {}] Predicted next UID",
            durable.uidnext
        ));
        self.untagged(&permanent_flags(&r.keywords, read_only));
        self.untagged(&format!("OK [HIGHESTMODSEQ {}] Highest", durable.modseq));
        self.untagged(&format!("OK [MAILBOXID (M{:x})] Ok", info.id.0));
        if self.enabled.rev2 {
            let mut line = b"LIST () \"/\" ".to_vec();
            self.write_name(&mut line, &r.name);
            self.untagged_bytes(&line);
        }
        let mut selected = Selected {
            id: info.id,
            read_only,
            uidvalidity: r.uidvalidity,
            uids,
            modseq: durable.modseq,
            recent,
            keywords: r.keywords.clone(),
            own_changes: HashMap::new(),
            saved: UidMap::new(),
            updates: Vec::new(),
        };
        if let Some(q) = &params.qresync
            && q.uidvalidity == r.uidvalidity
            && q.modseq > 0
        {
            self.qresync(&mut selected, q)?;
        }
        self.state.enter(selected);
        if read_only {
            ok_code("READ-ONLY", "EXAMINE completed")
        } else {
            ok_code("READ-WRITE", "SELECT completed")
        }
    }

    /// RFC 7162 §3.2.5.1: what changed since the client's MODSEQ, as
    /// `VANISHED (EARLIER)` and FETCH responses.
    fn qresync(
        &mut self,
        sel: &mut Selected,
        q: &crate::proto::imap::QresyncParams,
    ) -> Result<(), crate::session::imap::CommandError> {
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        // The change log since the client's MODSEQ can be long whatever
        // the mailbox holds now: always off the worker.
        let changes = blocking(|| store.changes_since(account, sel.id, q.modseq, sel.modseq))?;
        let known = q.known_uids.as_ref();
        let mut vanished = Vec::new();
        let mut changed = Vec::new();
        for c in changes {
            match c.kind {
                ChangeKind::Expunged => {
                    // A client's known-uids narrows the answer (§3.2.5.1).
                    if known.is_none_or(|k| k.contains(c.uid, u32::MAX)) {
                        vanished.push(c.uid);
                    }
                }
                ChangeKind::Added | ChangeKind::Flags => {
                    if sel.uids.contains(c.uid) {
                        changed.push(c.uid);
                    }
                }
            }
        }
        vanished.sort_unstable();
        if !vanished.is_empty() {
            self.untagged(&format!(
                "VANISHED (EARLIER) {}",
                compact_set(vanished.iter().copied())
            ));
        }
        changed.sort_unstable();
        let rev1 = !self.enabled.rev2;
        for uid in changed {
            let Some(seq) = sel.uids.seq(uid) else {
                continue;
            };
            let Some(rec) = store.message(account, sel.id, uid)? else {
                continue;
            };
            let recent = rev1 && sel.is_recent(uid);
            self.untagged(&format!(
                "{seq} FETCH (UID {uid} FLAGS {} MODSEQ ({}))",
                flag_list(&rec.flags, recent),
                rec.modseq
            ));
        }
        Ok(())
    }
}

impl State {
    /// The selected mailbox of a command `allowed` admitted only in the
    /// Selected state.
    pub(in crate::session::imap) fn selected_mut(
        &mut self,
    ) -> (&crate::session::imap::Login, &mut Selected) {
        match self {
            State::Selected(login, sel) => (login, sel),
            // Invariant: `allowed` admits these commands only when selected.
            _ => unreachable!("allowed() admits this command only when selected"),
        }
    }
}
