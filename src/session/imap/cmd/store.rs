//! STORE and UID STORE (RFC 9051 §6.4.6), with CONDSTORE `UNCHANGEDSINCE`
//! and `MODIFIED` (RFC 7162 §3.1.3). The change is durable before the
//! answer.

use crate::proto::imap::{Flag, SequenceSet, StoreMode};
use crate::session::imap::response::{flag_list, flags_response, permanent_flags};
use crate::session::imap::uidmap::compact_set;
use crate::session::imap::{CommandResult, ImapSession, bad, blocking_for, no, ok, ok_code};
use crate::store::FlagOp;

impl ImapSession {
    /// STORE / UID STORE FLAGS, +FLAGS, -FLAGS (.SILENT).
    pub(in crate::session::imap) async fn cmd_store(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag],
        unchanged_since: Option<u64>,
    ) -> CommandResult {
        if unchanged_since.is_some() {
            // RFC 7162 §3.1: UNCHANGEDSINCE enables CONDSTORE.
            self.enabled.condstore = true;
        }
        let condstore = self.enabled.condstore;
        let rev1 = !self.enabled.rev2;
        let set = self.resolve_saved(set, uid_mode);
        let (login, sel) = self.state.selected_mut();
        if sel.read_only {
            return Err(no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        if !uid_mode && sel.uids.seq_out_of_range(&set) {
            return Err(bad("Invalid message sequence number"));
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
        let new_keywords = flags
            .iter()
            .filter(|f| !f.starts_with('\\') && !crate::store::has_flag(&sel.keywords, f))
            .count();
        if op != FlagOp::Remove
            && sel.keywords.len() + new_keywords > self.shared.config.limits.max_keywords
        {
            return Err(no(Some("LIMIT"), "Too many keywords in this mailbox"));
        }
        let messages = sel.uids.resolve(&set, uid_mode);
        let uids: Vec<u32> = messages.iter().map(|m| m.1).collect();
        let account = login.account;
        let mailbox = sel.id;
        let store = self.shared.store.clone();
        let (updates, failed) = blocking_for(uids.len(), || {
            store.store_flags(account, mailbox, &uids, op, &flags, unchanged_since)
        })?;
        store.sync().await?;
        let keywords = match new_keywords {
            0 => None,
            _ => store.mailbox(account, mailbox)?.map(|m| m.record.keywords),
        };
        let (_, sel) = self.state.selected_mut();
        for u in &updates {
            sel.own_changes.insert(u.uid, u.modseq);
        }
        let mut lines = Vec::new();
        // New keywords are announced before the FETCH responses use them.
        if let Some(k) = keywords
            && k != sel.keywords
        {
            lines.push(flags_response(&k));
            lines.push(permanent_flags(&k, false));
            sel.keywords = k;
        }
        // RFC 9051 §6.4.6: the new flags of every message in the set; with
        // .SILENT none, except that CONDSTORE still reports new MODSEQs
        // (RFC 7162 §3.1.3).
        let mut updated = updates.iter().peekable();
        for &(seq, uid) in &messages {
            let update = match updated.peek() {
                Some(u) if u.uid == uid => updated.next(),
                _ => None,
            };
            if failed.contains(&uid) || (silent && !(condstore && update.is_some())) {
                continue;
            }
            let (flags, modseq) = match update {
                Some(u) => (u.flags.clone(), u.modseq),
                None => match store.message(account, mailbox, uid)? {
                    Some(r) => (r.flags, r.modseq),
                    None => continue,
                },
            };
            let uid_part = if uid_mode {
                format!("UID {uid} ")
            } else {
                String::new()
            };
            let flags_part = if silent {
                String::new()
            } else {
                format!("FLAGS {}", flag_list(&flags, rev1 && sel.is_recent(uid)))
            };
            let modseq_part = match (condstore, silent) {
                (true, true) => format!("MODSEQ ({modseq})"),
                (true, false) => format!(" MODSEQ ({modseq})"),
                _ => String::new(),
            };
            lines.push(format!("{seq} FETCH ({uid_part}{flags_part}{modseq_part})"));
        }
        for line in lines {
            self.untagged(&line);
        }
        let changed: Vec<u32> = updates.iter().map(|u| u.uid).collect();
        self.update_searches(&changed, &[], &[]);
        if !failed.is_empty() {
            // RFC 7162 §3.1.3: UIDs for UID STORE, else message numbers.
            let (_, sel) = self.state.selected_mut();
            let ids: Vec<u32> = if uid_mode {
                failed.clone()
            } else {
                let mut seqs: Vec<u32> = failed.iter().filter_map(|u| sel.uids.seq(*u)).collect();
                seqs.sort_unstable();
                seqs
            };
            return ok_code(
                format!("MODIFIED {}", compact_set(ids)),
                "Conditional STORE failed",
            );
        }
        ok("STORE completed")
    }
}
