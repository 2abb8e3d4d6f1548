//! SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8). Any valid name
//! can be subscribed, existing or not.

use crate::session::imap::{CommandResult, ImapSession, names, ok};

impl ImapSession {
    /// SUBSCRIBE / UNSUBSCRIBE name; durable before the OK.
    pub(in crate::session::imap) async fn cmd_subscribe(
        &mut self,
        sent: &str,
        on: bool,
    ) -> CommandResult {
        let name = names::from_wire(sent, self.enabled.utf8)?;
        if on {
            names::check_new(&name)?;
        }
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        store.set_subscribed(account, &name, on)?;
        store.sync().await?;
        ok(if on {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        })
    }
}
