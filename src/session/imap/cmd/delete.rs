//! DELETE (RFC 9051 §6.3.5): the mailbox and its messages go; inferior
//! names and subscriptions stay (RFC 9051 §6.3.7: a server never removes a
//! subscription by itself).

use crate::session::imap::{CommandResult, ImapSession, State, names, no, ok};

impl ImapSession {
    /// DELETE name; durable before the OK. Deleting the selected mailbox
    /// deselects it first; other sessions that have it selected are told
    /// with `BYE` at their next command.
    pub(in crate::session::imap) async fn cmd_delete(&mut self, sent: &str) -> CommandResult {
        let name = names::from_wire(sent, self.enabled.utf8)?;
        if name == "INBOX" {
            return Err(no(Some("CANNOT"), "INBOX cannot be deleted"));
        }
        let info = self.find_mailbox(sent)?;
        if let State::Selected(_, sel) = &self.state
            && sel.id == info.id
        {
            self.state.deselect();
        }
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        store.delete_mailbox(account, info.id)?;
        store.sync().await?;
        ok("DELETE completed")
    }
}
