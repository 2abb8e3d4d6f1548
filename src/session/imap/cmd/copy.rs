//! COPY (RFC 9051 §6.4.7) and MOVE (RFC 9051 §6.4.8, RFC 6851), with
//! COPYUID (RFC 4315 §3). Both are durable before the answer; MOVE is one
//! transaction, so no message is ever in both mailboxes or in neither.

use crate::proto::imap::SequenceSet;
use crate::session::imap::uidmap::compact_set;
use crate::session::imap::{CommandResult, ImapSession, bad, blocking_for, names, no, ok, ok_code};

impl ImapSession {
    /// COPY / UID COPY / MOVE / UID MOVE set mailbox.
    pub(in crate::session::imap) async fn cmd_copy(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        sent: &str,
        remove: bool,
    ) -> CommandResult {
        let set = self.resolve_saved(set, uid_mode);
        let dest_name = names::from_wire(sent, self.enabled.utf8)?;
        let (login, sel) = self.state.selected_mut();
        if remove && sel.read_only {
            return Err(no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        if !uid_mode && sel.uids.seq_out_of_range(&set) {
            return Err(bad("Invalid message sequence number"));
        }
        let account = login.account;
        let from = sel.id;
        let uids: Vec<u32> = sel
            .uids
            .resolve(&set, uid_mode)
            .into_iter()
            .map(|m| m.1)
            .collect();
        let store = self.shared.store.clone();
        let dest = store
            .mailbox_by_name(account, &dest_name)?
            .ok_or_else(|| no(Some("TRYCREATE"), "No such mailbox"))?;
        if !remove {
            let mut size = 0u64;
            for &u in &uids {
                if let Some(r) = store.message(account, from, u)? {
                    size += r.size;
                }
            }
            self.check_quota(size, uids.len() as u64)?;
        }
        if uids.is_empty() {
            return ok(if remove {
                "MOVE completed"
            } else {
                "COPY completed"
            });
        }
        let receipt = blocking_for(uids.len(), || {
            store.copy(account, from, &uids, dest.id, remove)
        })?;
        store.sync().await?;
        if receipt.pairs.is_empty() {
            return ok(if remove {
                "MOVE completed"
            } else {
                "COPY completed"
            });
        }
        let code = format!(
            "COPYUID {} {} {}",
            receipt.uidvalidity,
            compact_set(receipt.pairs.iter().map(|p| p.0)),
            compact_set(receipt.pairs.iter().map(|p| p.1)),
        );
        if !remove {
            return ok_code(code, "COPY completed");
        }
        // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
        self.untagged(&format!("OK [{code}] Moved"));
        let moved: Vec<u32> = receipt.pairs.iter().map(|p| p.0).collect();
        self.report_expunged(&moved);
        ok("MOVE completed")
    }
}
