//! COMPRESS (RFC 4978): after the tagged OK, both directions are raw
//! DEFLATE (RFC 1951); the driver switches the stream.

use crate::session::imap::{CommandResult, ImapFlow, ImapSession, no, ok};

impl ImapSession {
    /// COMPRESS DEFLATE.
    pub(in crate::session::imap) fn cmd_compress(
        &mut self,
        algorithm: &str,
    ) -> (ImapFlow, Option<CommandResult>) {
        if self.compressed {
            // RFC 4978 §3: only once per connection.
            return (
                ImapFlow::Command,
                Some(Err(no(
                    Some("COMPRESSIONACTIVE"),
                    "Compression is already active",
                ))),
            );
        }
        if algorithm != "DEFLATE" {
            return (
                ImapFlow::Command,
                Some(Err(crate::session::imap::bad(
                    "Unknown compression algorithm",
                ))),
            );
        }
        self.compressed = true;
        (ImapFlow::Compress, Some(ok("DEFLATE active")))
    }
}
