//! NOTIFY (RFC 5465 §3): which events of which mailboxes the client hears
//! of without asking; with `STATUS`, the current state of each watched
//! mailbox at once.

use crate::proto::imap::{Event, EventGroup, MailboxFilter, NotifySpec};
use crate::session::imap::notify_state::{Notifier, status_items, status_text};
use crate::session::imap::{CommandResult, ImapSession, names, no, ok};

impl ImapSession {
    /// NOTIFY SET [STATUS] groups / NOTIFY NONE.
    pub(in crate::session::imap) fn cmd_notify(&mut self, spec: NotifySpec) -> CommandResult {
        let (status, groups) = match spec {
            NotifySpec::None => {
                self.notify = None;
                return ok("NOTIFY completed");
            }
            NotifySpec::Set { status, groups } => (status, groups),
        };
        let mut decoded = Vec::with_capacity(groups.len());
        for g in groups {
            for e in &g.events {
                if matches!(
                    e,
                    Event::Other(_)
                        | Event::AnnotationChange
                        | Event::MailboxMetadataChange
                        | Event::ServerMetadataChange
                ) {
                    // RFC 5465 §5: events the server cannot report.
                    return Err(no(
                        Some(
                            "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)",
                        ),
                        "Unsupported event",
                    ));
                }
            }
            let utf8 = self.enabled.utf8;
            let decode = |list: Vec<String>| -> Result<Vec<String>, names::NameError> {
                list.iter().map(|n| names::from_wire(n, utf8)).collect()
            };
            let filter = match g.filter {
                MailboxFilter::Subtree(l) => MailboxFilter::Subtree(decode(l)?),
                MailboxFilter::Mailboxes(l) => MailboxFilter::Mailboxes(decode(l)?),
                other => other,
            };
            decoded.push(EventGroup {
                filter,
                events: g.events,
            });
        }
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        let boxes = store.mailboxes(account)?;
        let subs = store.subscriptions(account)?;
        let notifier = Notifier::new(decoded, &boxes, subs);
        if status {
            let mut lines = Vec::new();
            for b in &boxes {
                let Some(events) = notifier.events_for(&b.record.name) else {
                    continue;
                };
                let items = status_items(events);
                if items.is_empty() {
                    continue;
                }
                let mut l = b"STATUS ".to_vec();
                self.write_name(&mut l, &b.record.name);
                l.extend_from_slice(format!(" ({})", status_text(b, &items)).as_bytes());
                lines.push(l);
            }
            for l in lines {
                self.untagged_bytes(&l);
            }
        }
        self.notify = Some(notifier);
        ok("NOTIFY completed")
    }
}
