//! APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315 §3): `OK` only once
//! the message is durable.

use super::{CommandResult, ImapSession, no};
use crate::message::MessageSummary;
use crate::proto::imap::{DateTime, Flag};
use crate::store::NewMessage;

impl ImapSession {
    /// APPEND mailbox [flags] [date-time] literal.
    pub(super) async fn append(
        &mut self,
        name: &str,
        flags: &[Flag],
        date: Option<DateTime>,
        message: Vec<u8>,
    ) -> CommandResult {
        let info = self
            .find_mailbox(name)
            .map_err(|_| no(Some("TRYCREATE"), "No such mailbox"))?;
        if message.is_empty() {
            return Err(no(None, "Cannot append an empty message"));
        }
        if message.len() as u64 > self.shared.config.limits.max_message_size {
            return Err(no(Some("TOOBIG"), "Message exceeds the size limit"));
        }
        let account = self
            .account()
            .expect("allowed() admits APPEND only when logged in");
        let flags: Vec<String> = flags
            .iter()
            .filter(|f| !matches!(f, Flag::Recent))
            .map(|f| f.as_str().to_string())
            .collect();
        let summary = MessageSummary::parse(&message);
        let new = NewMessage {
            raw: &message,
            summary: &summary,
            flags,
            internal_date: date.map(|d| d.timestamp).unwrap_or_else(crate::time::now),
        };
        let store = self.shared.store.clone();
        let receipt = store.append(&[(account, info.id)], &new)?;
        store.sync().await?;
        let r = receipt[0];
        Ok((
            Some(format!("APPENDUID {} {}", r.uidvalidity, r.uid)),
            "APPEND completed".into(),
        ))
    }
}
