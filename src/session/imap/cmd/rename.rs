//! RENAME (RFC 9051 §6.3.6): a mailbox and its inferiors get new names,
//! keeping UIDVALIDITY and UIDs; renaming INBOX moves its messages to a
//! new mailbox and leaves INBOX empty.

use crate::session::imap::{CommandResult, ImapSession, names, no, ok};

impl ImapSession {
    /// RENAME from to; durable before the OK.
    pub(in crate::session::imap) async fn cmd_rename(
        &mut self,
        sent_from: &str,
        sent_to: &str,
    ) -> CommandResult {
        let from = names::from_wire(sent_from, self.enabled.utf8)?;
        let to = names::from_wire(sent_to, self.enabled.utf8)?;
        if to == "INBOX" || to.starts_with("INBOX/") && from == "INBOX" {
            return Err(no(Some("CANNOT"), "Cannot rename to INBOX"));
        }
        names::check_new(&to)?;
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        if store.mailbox_by_name(account, &from)?.is_none() {
            return Err(no(Some("NONEXISTENT"), "No such mailbox"));
        }
        if store.mailbox_by_name(account, &to)?.is_some() {
            return Err(no(Some("ALREADYEXISTS"), "Mailbox already exists"));
        }
        crate::session::imap::blocking(|| store.rename_mailbox(account, &from, &to))?;
        store.sync().await?;
        ok("RENAME completed")
    }
}
