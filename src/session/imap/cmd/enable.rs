//! ENABLE (RFC 5161, RFC 9051 §6.3.1): CONDSTORE, QRESYNC (RFC 7162
//! §3.2.3, which implies CONDSTORE), UTF8=ACCEPT (RFC 6855 §3) and
//! IMAP4rev2 (RFC 9051 §6.3.1).

use crate::session::imap::{CommandResult, ImapSession, ok};

impl ImapSession {
    /// ENABLE: answers `* ENABLED` with what this command newly enabled;
    /// unknown names are ignored (RFC 5161 §3.1).
    pub(in crate::session::imap) fn cmd_enable(&mut self, caps: &[String]) -> CommandResult {
        let mut newly = Vec::new();
        for cap in caps {
            let flag = match cap.as_str() {
                "CONDSTORE" => &mut self.enabled.condstore,
                "QRESYNC" => &mut self.enabled.qresync,
                "UTF8=ACCEPT" => &mut self.enabled.utf8,
                "IMAP4REV2" => &mut self.enabled.rev2,
                _ => continue,
            };
            if !*flag {
                *flag = true;
                newly.push(if cap == "IMAP4REV2" {
                    "IMAP4rev2"
                } else {
                    cap.as_str()
                });
            }
        }
        if self.enabled.qresync {
            self.enabled.condstore = true;
        }
        let mut line = String::from("ENABLED");
        for c in newly {
            line.push(' ');
            line.push_str(c);
        }
        self.untagged(&line);
        ok("ENABLE completed")
    }
}
