//! NAMESPACE (RFC 9051 §6.3.10, RFC 2342): one personal namespace with
//! the delimiter `/`, no others.

use crate::session::imap::{CommandResult, ImapSession, ok};

impl ImapSession {
    /// NAMESPACE.
    pub(in crate::session::imap) fn cmd_namespace(&mut self) -> CommandResult {
        self.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
        ok("NAMESPACE completed")
    }
}
