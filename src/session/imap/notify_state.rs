//! NOTIFY (RFC 5465): which mailboxes and events the client asked for, and
//! what it was last told, so that changes elsewhere in the account reach
//! it as STATUS and LIST responses without a command (RFC 5465 §5).

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use super::{ImapSession, State};
use crate::proto::imap::{Event, EventGroup, FetchAttr, MailboxFilter};
use crate::store::MailboxInfo;

/// The counters a STATUS notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    messages: u32,
    uidnext: u32,
    uidvalidity: u32,
    highestmodseq: u64,
}

/// A NOTIFY SET in force.
pub struct Notifier {
    /// The groups, names decoded to stored form.
    groups: Vec<EventGroup>,
    /// Last reported counters of watched mailboxes, by name.
    last: BTreeMap<String, Snapshot>,
    /// Last known mailbox names (MailboxName).
    names: BTreeSet<String>,
    /// Last known subscriptions (SubscriptionChange).
    subscriptions: BTreeSet<String>,
}

fn snapshot(info: &MailboxInfo) -> Snapshot {
    let r = &info.record;
    Snapshot {
        messages: r.exists,
        uidnext: r.uidnext,
        uidvalidity: r.uidvalidity,
        highestmodseq: r.highestmodseq,
    }
}

impl Notifier {
    /// A notifier for `groups`, seeded with the account's current state.
    pub fn new(groups: Vec<EventGroup>, boxes: &[MailboxInfo], subs: Vec<String>) -> Self {
        let mut n = Notifier {
            groups,
            last: BTreeMap::new(),
            names: boxes.iter().map(|b| b.record.name.clone()).collect(),
            subscriptions: subs.into_iter().collect(),
        };
        for b in boxes {
            n.last.insert(b.record.name.clone(), snapshot(b));
        }
        n
    }

    /// The events that apply to the mailbox `name` (the first group that
    /// names it, RFC 5465 §3), excluding the selected-mailbox groups.
    pub fn events_for(&self, name: &str) -> Option<&[Event]> {
        self.groups
            .iter()
            .find(|g| self.filter_matches(&g.filter, name))
            .map(|g| g.events.as_slice())
    }

    fn filter_matches(&self, f: &MailboxFilter, name: &str) -> bool {
        match f {
            MailboxFilter::Selected | MailboxFilter::SelectedDelayed => false,
            MailboxFilter::Inboxes => name == "INBOX",
            MailboxFilter::Personal => true,
            MailboxFilter::Subscribed => self.subscriptions.contains(name),
            MailboxFilter::Subtree(roots) => roots
                .iter()
                .any(|r| r == name || names::is_inferior(name, r)),
            MailboxFilter::Mailboxes(list) => list.iter().any(|r| r == name),
        }
    }

    /// The FETCH items to send for new messages of the selected mailbox
    /// (`MessageNew (...)` in a SELECTED group), if any.
    pub fn selected_new_items(&self) -> Option<&[FetchAttr]> {
        self.groups
            .iter()
            .find(|g| {
                matches!(
                    g.filter,
                    MailboxFilter::Selected | MailboxFilter::SelectedDelayed
                )
            })
            .and_then(|g| {
                g.events.iter().find_map(|e| match e {
                    Event::MessageNew(items) if !items.is_empty() => Some(items.as_slice()),
                    _ => None,
                })
            })
    }

    /// Whether any group asks for `event`'s kind.
    fn wants(&self, kind: fn(&Event) -> bool) -> bool {
        self.groups.iter().any(|g| g.events.iter().any(kind))
    }
}

/// The STATUS items that tell of `events` (RFC 5465 §5.2-5.4).
pub fn status_items(events: &[Event]) -> Vec<&'static str> {
    let has = |f: fn(&Event) -> bool| events.iter().any(f);
    let mut items = Vec::new();
    if has(|e| matches!(e, Event::MessageNew(_) | Event::MessageExpunge)) {
        items.push("MESSAGES");
    }
    if has(|e| matches!(e, Event::MessageNew(_))) {
        items.push("UIDNEXT");
        items.push("UIDVALIDITY");
    }
    // MODSEQs are always kept here, so FlagChange is reported with them
    // whether or not the client enabled CONDSTORE.
    if has(|e| matches!(e, Event::FlagChange)) {
        if !items.contains(&"UIDVALIDITY") {
            items.push("UIDVALIDITY");
        }
        items.push("HIGHESTMODSEQ");
    }
    items
}

/// `STATUS name (items)` for a mailbox.
pub fn status_text(info: &MailboxInfo, items: &[&str]) -> String {
    let r = &info.record;
    let parts: Vec<String> = items
        .iter()
        .map(|i| match *i {
            "MESSAGES" => format!("MESSAGES {}", r.exists),
            "UIDNEXT" => format!("UIDNEXT {}", r.uidnext),
            "UIDVALIDITY" => format!("UIDVALIDITY {}", r.uidvalidity),
            _ => format!("HIGHESTMODSEQ {}", r.highestmodseq),
        })
        .collect();
    parts.join(" ")
}

impl ImapSession {
    /// Sends what changed in watched mailboxes since the last call (after
    /// every command, in IDLE, and between commands).
    pub fn poll_notify(&mut self) {
        if self.notify.is_none() {
            return;
        }
        let Some(account) = self.account() else {
            return;
        };
        let store = self.shared.store.clone();
        let (boxes, subs) = match (store.mailboxes(account), store.subscriptions(account)) {
            (Ok(b), Ok(s)) => (b, s),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot read mailboxes for NOTIFY");
                return;
            }
        };
        let selected = match &self.state {
            State::Selected(_, sel) => Some(sel.id),
            _ => None,
        };
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let Some(n) = self.notify.as_mut() else {
            return;
        };
        let names_now: BTreeSet<String> = boxes.iter().map(|b| b.record.name.clone()).collect();
        if n.wants(|e| matches!(e, Event::MailboxName)) {
            for gone in n.names.difference(&names_now) {
                let mut l = b"LIST (\\NonExistent) \"/\" ".to_vec();
                names::write(&mut l, gone, self.enabled.utf8);
                lines.push(l);
            }
            for new in names_now.difference(&n.names) {
                let mut l = b"LIST () \"/\" ".to_vec();
                names::write(&mut l, new, self.enabled.utf8);
                lines.push(l);
            }
        }
        let subs_now: BTreeSet<String> = subs.into_iter().collect();
        if n.wants(|e| matches!(e, Event::SubscriptionChange)) {
            for changed in n.subscriptions.symmetric_difference(&subs_now) {
                let attrs = if subs_now.contains(changed) {
                    "\\Subscribed"
                } else {
                    ""
                };
                let mut l = format!("LIST ({attrs}) \"/\" ").into_bytes();
                names::write(&mut l, changed, self.enabled.utf8);
                lines.push(l);
            }
        }
        n.names = names_now;
        n.subscriptions = subs_now;
        for b in &boxes {
            let now = snapshot(b);
            let before = n.last.insert(b.record.name.clone(), now);
            if Some(b.id) == selected || before == Some(now) {
                continue;
            }
            let Some(events) = n.events_for(&b.record.name) else {
                continue;
            };
            let before = before.unwrap_or(Snapshot {
                messages: 0,
                uidnext: 0,
                uidvalidity: 0,
                highestmodseq: 0,
            });
            let count_changed = before.messages != now.messages || before.uidnext != now.uidnext;
            let mut items = Vec::new();
            if count_changed {
                items.extend(
                    status_items(events)
                        .into_iter()
                        .filter(|i| *i != "HIGHESTMODSEQ"),
                );
            }
            if before.highestmodseq != now.highestmodseq
                && events.iter().any(|e| matches!(e, Event::FlagChange))
            {
                if !items.contains(&"UIDVALIDITY") {
                    items.push("UIDVALIDITY");
                }
                items.push("HIGHESTMODSEQ");
            }
            if items.is_empty() {
                continue;
            }
            let mut l = b"STATUS ".to_vec();
            names::write(&mut l, &b.record.name, self.enabled.utf8);
            l.extend_from_slice(format!(" ({})", status_text(b, &items)).as_bytes());
            lines.push(l);
        }
        for l in lines {
            self.untagged_bytes(&l);
        }
    }

    /// NOTIFY `MessageNew (items)` for the selected mailbox: FETCH
    /// responses for messages that just arrived (RFC 5465 §5.2).
    pub(in crate::session::imap) fn notify_new_messages(&mut self, arrived: &[u32]) {
        let Some(items) = self.notify.as_ref().and_then(|n| n.selected_new_items()) else {
            return;
        };
        let items = items.to_vec();
        let rev1 = !self.enabled.rev2;
        let State::Selected(login, sel) = &self.state else {
            return;
        };
        let store = self.shared.store.clone();
        let mut out = Vec::new();
        for &uid in arrived {
            let Some(seq) = sel.uids.seq(uid) else {
                continue;
            };
            let Ok(Some(rec)) = store.message(login.account, sel.id, uid) else {
                continue;
            };
            let need = super::fetch_render::needs(&items);
            let summary = need.summary.then(|| store.summary(&rec).ok()).flatten();
            let body = need.body.then(|| store.body(&rec).ok()).flatten();
            let index = need.index.then(|| store.search_index(&rec).ok()).flatten();
            let msg = super::fetch_render::Loaded {
                uid,
                record: &rec,
                summary: summary.as_ref(),
                body: body.as_deref(),
                index: index.as_ref(),
                recent: rev1 && sel.is_recent(uid),
            };
            out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                super::fetch_render::write_item(&mut out, item, &msg);
            }
            out.extend_from_slice(b")\r\n");
        }
        self.out.extend_from_slice(&out);
    }
}
