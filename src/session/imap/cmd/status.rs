//! STATUS (RFC 9051 §6.3.11) with STATUS=SIZE (RFC 8438), CONDSTORE
//! `HIGHESTMODSEQ` (RFC 7162 §3.1.7), APPENDLIMIT (RFC 7889) and OBJECTID
//! `MAILBOXID` (RFC 8474 §4.2), from the counters the store keeps.

use crate::proto::imap::StatusItem;
use crate::session::imap::{CommandError, CommandResult, ImapSession, ok};
use crate::store::MailboxInfo;

impl ImapSession {
    /// STATUS name (items).
    pub(in crate::session::imap) fn cmd_status(
        &mut self,
        sent: &str,
        items: &[StatusItem],
    ) -> CommandResult {
        let info = self.find_mailbox(sent)?;
        let line = self.status_line(&info, items)?;
        self.untagged_bytes(&line);
        ok("STATUS completed")
    }

    /// `STATUS name (item value ...)`, items in the client's order. UIDNEXT
    /// and HIGHESTMODSEQ are the durable ones, like SELECT's.
    pub(in crate::session::imap) fn status_line(
        &self,
        info: &MailboxInfo,
        items: &[StatusItem],
    ) -> Result<Vec<u8>, CommandError> {
        let account = self.logged_in().account;
        let store = &self.shared.store;
        let durable = store.durable_mailbox(account, info.id)?.map(|d| d.durable);
        let r = &info.record;
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", r.exists),
                StatusItem::Recent => {
                    let mut n = 0u32;
                    store.scan_messages(
                        account,
                        info.id,
                        r.recent_floor,
                        u32::MAX,
                        &mut |_, _| {
                            n += 1;
                            true
                        },
                    )?;
                    format!("RECENT {n}")
                }
                StatusItem::UidNext => {
                    format!("UIDNEXT {}", durable.map_or(r.uidnext, |d| d.uidnext))
                }
                StatusItem::UidValidity => format!("UIDVALIDITY {}", r.uidvalidity),
                StatusItem::Unseen => format!("UNSEEN {}", r.unseen()),
                StatusItem::Deleted => format!("DELETED {}", r.deleted),
                StatusItem::Size => format!("SIZE {}", r.size),
                StatusItem::HighestModSeq => format!(
                    "HIGHESTMODSEQ {}",
                    durable.map_or(r.highestmodseq, |d| d.modseq)
                ),
                StatusItem::AppendLimit => {
                    format!("APPENDLIMIT {}", self.shared.config.limits.max_message_size)
                }
                StatusItem::MailboxId => format!("MAILBOXID (M{:x})", info.id.0),
            });
        }
        let mut line = b"STATUS ".to_vec();
        self.write_name(&mut line, &r.name);
        line.extend_from_slice(format!(" ({})", parts.join(" ")).as_bytes());
        Ok(line)
    }
}
