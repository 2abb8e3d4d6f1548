//! ID (RFC 2971): the client says who it is, the server answers in kind.

use crate::session::imap::{CommandResult, ImapSession, ok};

/// Longest client ID kept for the log.
const MAX_CLIENT_ID: usize = 200;

impl ImapSession {
    /// ID: keeps the client's name and version for the log (RFC 2971 §3.1).
    pub(in crate::session::imap) fn cmd_id(
        &mut self,
        params: Option<Vec<(String, Option<String>)>>,
    ) -> CommandResult {
        if let Some(params) = params {
            let get = |key: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .and_then(|(_, v)| v.as_deref())
            };
            let client = match (get("name"), get("version")) {
                (Some(n), Some(v)) => format!("{n} {v}"),
                (Some(n), None) => n.to_owned(),
                _ => String::new(),
            };
            let client: String = client
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_CLIENT_ID)
                .collect();
            if !client.is_empty() {
                tracing::info!(client = %client, "client identified itself");
                self.client = Some(client);
            }
        }
        self.untagged(&format!(
            "ID (\"name\" \"tokenmail\" \"version\" \"{}\")",
            env!("CARGO_PKG_VERSION")
        ));
        ok("ID completed")
    }
}
