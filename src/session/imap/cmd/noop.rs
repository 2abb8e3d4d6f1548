//! NOOP (RFC 9051 §6.1.2), CHECK (RFC 3501 §6.4.1) and LOGOUT (RFC 9051
//! §6.1.3). NOOP's work is done after every command: reporting changes.

use crate::session::imap::{CommandResult, ImapSession, State, ok};

impl ImapSession {
    /// CHECK: everything acknowledged is already durable, so it waits for
    /// nothing but the same flush as everyone else (RFC 3501 §6.4.1).
    pub(in crate::session::imap) async fn cmd_check(&mut self) -> CommandResult {
        self.shared.store.sync().await?;
        ok("CHECK completed")
    }

    /// LOGOUT: `BYE`, then the tagged OK, then the connection closes.
    pub(in crate::session::imap) fn cmd_logout(&mut self) -> CommandResult {
        self.untagged("BYE Logging out");
        self.state = State::Logout;
        ok("LOGOUT completed")
    }
}
