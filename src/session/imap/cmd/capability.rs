//! CAPABILITY (RFC 9051 §6.1.1, §7.2.2) and STARTTLS (§6.2.1). What is
//! announced depends on TLS and login: no authentication is offered before
//! TLS (RFC 9051 §6.2.3, LOGINDISABLED), and every extension listed here is
//! implemented.

use crate::session::imap::{CommandError, CommandResult, ImapFlow, ImapSession, ok};

/// The extensions served after login, beside the base protocol.
const AFTER_LOGIN: &[&str] = &[
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "ESEARCH",
    "SEARCHRES",
    "CONDSTORE",
    "QRESYNC",
    "BINARY",
    "UTF8=ACCEPT",
    "MULTIAPPEND",
    "CATENATE",
    "COMPRESS=DEFLATE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
    "SORT",
    "SORT=DISPLAY",
    "ESORT",
    "THREAD=REFERENCES",
    "THREAD=ORDEREDSUBJECT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
    "WITHIN",
    "NOTIFY",
    "OBJECTID",
    "SAVEDATE",
    "PREVIEW",
];

/// The capability list for a session in this state.
pub fn list(tls: bool, authenticated: bool, compressed: bool, max_message_size: u64) -> String {
    let mut caps: Vec<String> = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if !tls {
        caps.push("STARTTLS".into());
        caps.push("LOGINDISABLED".into());
    } else if !authenticated {
        caps.push("SASL-IR".into());
        for mech in ["OAUTHBEARER", "XOAUTH2", "PLAIN"] {
            caps.push(format!("AUTH={mech}"));
        }
    }
    if authenticated {
        for c in AFTER_LOGIN {
            if *c == "COMPRESS=DEFLATE" && compressed {
                continue;
            }
            caps.push((*c).into());
        }
        caps.push(format!("APPENDLIMIT={max_message_size}"));
    } else {
        caps.push("IDLE".into());
    }
    caps.join(" ")
}

impl ImapSession {
    /// The capabilities for this session now.
    pub(in crate::session::imap) fn capabilities(&self) -> String {
        list(
            self.tls,
            self.is_authenticated(),
            self.compressed,
            self.shared.config.limits.max_message_size,
        )
    }

    /// CAPABILITY.
    pub(in crate::session::imap) fn cmd_capability(&mut self) -> CommandResult {
        let caps = self.capabilities();
        self.untagged(&format!("CAPABILITY {caps}"));
        ok("CAPABILITY completed")
    }

    /// STARTTLS (RFC 9051 §6.2.1).
    pub(in crate::session::imap) fn cmd_starttls(&mut self) -> (ImapFlow, Option<CommandResult>) {
        if self.tls {
            return (
                ImapFlow::Command,
                Some(Err(CommandError::Bad("TLS is already active".into()))),
            );
        }
        (ImapFlow::StartTls, Some(ok("Begin TLS negotiation now")))
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn no_auth_before_tls() {
        let caps = list(false, false, false, 1);
        assert!(caps.contains("LOGINDISABLED") && caps.contains("STARTTLS"));
        assert!(!caps.contains("AUTH="));
        let caps = list(true, false, false, 1);
        assert!(caps.contains("AUTH=OAUTHBEARER") && caps.contains("SASL-IR"));
        assert!(!caps.contains("LOGINDISABLED") && !caps.contains("STARTTLS"));
        let caps = list(true, true, true, 1);
        assert!(caps.contains("QRESYNC") && !caps.contains("COMPRESS"));
    }
}
