//! CLOSE (RFC 9051 §6.4.1) and UNSELECT (RFC 9051 §6.4.2, RFC 3691).

use crate::session::imap::{CommandResult, ImapSession, State, ok};

impl ImapSession {
    /// CLOSE expunges silently when the mailbox is read-write; UNSELECT
    /// does not. Both leave the Selected state.
    pub(in crate::session::imap) async fn cmd_close(&mut self, expunge: bool) -> CommandResult {
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
