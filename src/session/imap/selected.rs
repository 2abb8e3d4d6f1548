//! The selected mailbox: the session's view of message sequence numbers
//! (RFC 9051 §2.3.1.2) and how it follows the store's change log, so that
//! other sessions' deliveries, flag changes and expunges reach this client
//! as `EXISTS`, `FETCH (FLAGS)` and `EXPUNGE` or `VANISHED` (RFC 9051
//! §7.4.1, §5.5; RFC 7162 §3.2.10), only once they are durable.

use std::collections::{BTreeSet, HashMap};

use super::cmd::search::UpdateSearch;
use super::response::{flag_list, flags_response, permanent_flags};
use super::uidmap::{UidMap, compact_set};
use super::{ImapSession, State};
use crate::proto::imap::CommandBody;
use crate::store::{ChangeKind, MailboxId, StoreResult};

/// What a session knows about its selected mailbox.
pub struct Selected {
    /// The mailbox.
    pub id: MailboxId,
    /// EXAMINE, or SELECT of a mailbox we may not change.
    pub read_only: bool,
    /// UIDVALIDITY at SELECT.
    pub uidvalidity: u32,
    /// The messages this client knows, in sequence order.
    pub uids: UidMap,
    /// The last change-log MODSEQ this session has accounted for.
    pub modseq: u64,
    /// The messages that are `\Recent` to this session (RFC 3501 §2.3.2).
    pub recent: UidMap,
    /// The keywords announced in the last FLAGS response.
    pub keywords: Vec<String>,
    /// Flag changes this session made itself and already reported: the
    /// log entry with this (uid, modseq) needs no untagged FETCH.
    pub own_changes: HashMap<u32, u64>,
    /// The SEARCHRES result (`$`, RFC 5182), as UIDs.
    pub saved: UidMap,
    /// Searches kept up to date (CONTEXT=SEARCH `UPDATE`, RFC 5267 §4).
    pub updates: Vec<UpdateSearch>,
}

impl Selected {
    /// Whether the message is `\Recent` to this session.
    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.contains(uid)
    }
}

/// RFC 9051 §7.5.1: EXPUNGE may not be sent during FETCH, STORE and SEARCH
/// (their non-UID forms), since the client could not match numbers.
pub fn may_send_expunge(body: &CommandBody) -> bool {
    !matches!(
        body,
        CommandBody::Fetch { uid: false, .. }
            | CommandBody::Store { uid: false, .. }
            | CommandBody::Search { uid: false, .. }
            | CommandBody::Sort { uid: false, .. }
            | CommandBody::Thread { uid: false, .. }
            | CommandBody::Copy { uid: false, .. }
    )
}

/// What the change log said since the session last looked.
#[derive(Default)]
struct Pending {
    /// UIDs known to the client that are gone, ascending.
    expunged: Vec<u32>,
    /// UIDs known to the client whose flags another session changed.
    flagged: BTreeSet<u32>,
    /// New UIDs.
    arrived: BTreeSet<u32>,
}

impl ImapSession {
    /// Reports what changed in the selected mailbox since the session last
    /// looked, as far as it is durable. With `allow_expunge` false, stops
    /// before the first expunge of a message the client knows, leaving it
    /// (and what follows) for later. A selected mailbox that was deleted
    /// ends the session with `BYE` (RFC 9051 §7.1.5).
    pub fn poll_updates(&mut self, allow_expunge: bool) -> StoreResult<()> {
        let State::Selected(login, sel) = &mut self.state else {
            return Ok(());
        };
        let store = self.shared.store.clone();
        let account = login.account;
        let Some(current) = store.durable_mailbox(account, sel.id)? else {
            self.untagged("BYE [CLOSED] The selected mailbox was deleted");
            self.state = State::Logout;
            return Ok(());
        };
        if current.info.record.uidvalidity != sel.uidvalidity {
            self.untagged("BYE [CLOSED] The selected mailbox was replaced");
            self.state = State::Logout;
            return Ok(());
        }
        let durable = current.durable;
        let mut pending = Pending::default();
        if durable.modseq > sel.modseq {
            let changes = store.changes_since(account, sel.id, sel.modseq, durable.modseq)?;
            let known_max = sel.uids.last().unwrap_or(0);
            let mut blocked = false;
            for change in changes {
                match change.kind {
                    ChangeKind::Expunged => {
                        if sel.uids.contains(change.uid) {
                            if !allow_expunge {
                                blocked = true;
                                break;
                            }
                            pending.expunged.push(change.uid);
                            pending.flagged.remove(&change.uid);
                        }
                        pending.arrived.remove(&change.uid);
                    }
                    ChangeKind::Added | ChangeKind::Flags if change.uid > known_max => {
                        pending.arrived.insert(change.uid);
                    }
                    ChangeKind::Added => {}
                    ChangeKind::Flags => {
                        if sel.own_changes.get(&change.uid) == Some(&change.modseq) {
                            sel.own_changes.remove(&change.uid);
                        } else if sel.uids.contains(change.uid) {
                            pending.flagged.insert(change.uid);
                        }
                    }
                }
                sel.modseq = change.modseq;
            }
            if !blocked {
                sel.modseq = durable.modseq;
            }
        }
        pending.expunged.sort_unstable();
        let keywords = current.info.record.keywords;
        let recent_floor = current.info.record.recent_floor;
        self.report(pending, keywords, recent_floor)
    }

    /// Writes the untagged responses for `pending`, in an order the client
    /// can follow: expunges, flag changes, the FLAGS list, new messages.
    fn report(
        &mut self,
        pending: Pending,
        keywords: Vec<String>,
        recent_floor: u32,
    ) -> StoreResult<()> {
        let rev1 = !self.enabled.rev2;
        let qresync = self.enabled.qresync;
        let condstore = self.enabled.condstore;
        if !pending.expunged.is_empty() {
            // Searches learn of expunges while the numbers still stand.
            self.update_searches(&[], &[], &pending.expunged);
        }
        let State::Selected(login, sel) = &mut self.state else {
            return Ok(());
        };
        let account = login.account;
        let store = self.shared.store.clone();
        let mut lines: Vec<String> = Vec::new();
        // New keywords are announced before any FETCH uses them.
        if keywords != sel.keywords {
            lines.push(flags_response(&keywords));
            lines.push(permanent_flags(&keywords, sel.read_only));
            sel.keywords = keywords;
        }

        if !pending.expunged.is_empty() {
            let seqs = sel.uids.remove_sorted(&pending.expunged);
            sel.recent.remove_sorted(&pending.expunged);
            sel.saved.remove_sorted(&pending.expunged);
            for u in &pending.expunged {
                sel.own_changes.remove(u);
            }
            if qresync {
                lines.push(format!(
                    "VANISHED {}",
                    compact_set(pending.expunged.iter().copied())
                ));
            } else {
                // Highest first: each number is still valid when read.
                lines.extend(seqs.iter().rev().map(|s| format!("{s} EXPUNGE")));
            }
        }
        for &uid in &pending.flagged {
            let Some(seq) = sel.uids.seq(uid) else {
                continue;
            };
            let Some(rec) = store.message(account, sel.id, uid)? else {
                continue;
            };
            let recent = rev1 && sel.recent.contains(uid);
            let modseq = if condstore {
                format!(" MODSEQ ({})", rec.modseq)
            } else {
                String::new()
            };
            lines.push(format!(
                "{seq} FETCH (UID {uid} FLAGS {}{modseq})",
                flag_list(&rec.flags, recent)
            ));
        }
        if !pending.arrived.is_empty() {
            let before = sel.uids.len();
            let highest = *pending.arrived.last().expect("not empty");
            for &uid in &pending.arrived {
                sel.uids.push(uid);
            }
            // The first session to hear of a message gets it as \Recent.
            let floor = if sel.read_only {
                recent_floor
            } else {
                store.claim_recent(account, sel.id, highest.saturating_add(1))?
            };
            for &uid in pending.arrived.range(floor..) {
                sel.recent.push(uid);
            }
            if sel.uids.len() != before {
                lines.push(format!("{} EXISTS", sel.uids.len()));
                if rev1 {
                    lines.push(format!("{} RECENT", sel.recent.len()));
                }
            }
        }
        let changed_uids: Vec<u32> = pending.flagged.iter().copied().collect();
        let arrived: Vec<u32> = pending.arrived.iter().copied().collect();
        for line in lines {
            self.untagged(&line);
        }
        self.update_searches(&changed_uids, &arrived, &[]);
        self.notify_new_messages(&arrived);
        Ok(())
    }
}
