//! NOTIFY (RFC 5465 §8):
//!
//! ```text
//! notify           = "NOTIFY" SP (notify-set / notify-none)
//! notify-none      = "NONE"
//! notify-set       = "SET" [status-indicator] SP event-groups
//! status-indicator = SP "STATUS"
//! event-groups     = event-group *(SP event-group)
//! event-group      = "(" filter-mailboxes SP events ")"
//! filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other
//! filter-mailboxes-other    = "inboxes" / "personal" / "subscribed" /
//!                             ( "subtree" SP one-or-more-mailbox ) /
//!                             ( "mailboxes" SP one-or-more-mailbox )
//! filter-mailboxes-selected = "selected" / "selected-delayed"
//! one-or-more-mailbox = mailbox / many-mailboxes
//! many-mailboxes   = "(" mailbox *(SP mailbox) ")"
//! events           = ( "(" event *(SP event) ")" ) / "NONE"
//! event            = message-event / mailbox-event / user-event / event-ext
//! message-event    = ( "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")" ] ) /
//!                    "MessageExpunge" / "FlagChange" / "AnnotationChange"
//! mailbox-event    = "MailboxName" / "SubscriptionChange" /
//!                    "MailboxMetadataChange" / "ServerMetadataChange"
//! ```

use super::fetch::fetch_att;
use super::items::FetchAttr;
use super::primitives::{PResult, atom_upper, fail, keyword, paren_list, sp};
use super::strings::mailbox;

/// Most event groups, and most mailboxes named in one group.
const MAX_ITEMS: usize = 100;

/// What NOTIFY asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifySpec {
    /// `NOTIFY NONE`: no unsolicited responses beyond the base protocol's.
    None,
    /// `NOTIFY SET [STATUS] groups`.
    Set {
        /// `STATUS`: send the current STATUS of the watched mailboxes now.
        status: bool,
        /// The event groups, in order (the first matching one applies).
        groups: Vec<EventGroup>,
    },
}

/// One `event-group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroup {
    /// Which mailboxes.
    pub filter: MailboxFilter,
    /// Which events; empty for `NONE`.
    pub events: Vec<Event>,
}

/// `filter-mailboxes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxFilter {
    /// `SELECTED`
    Selected,
    /// `SELECTED-DELAYED`
    SelectedDelayed,
    /// `INBOXES`
    Inboxes,
    /// `PERSONAL`
    Personal,
    /// `SUBSCRIBED`
    Subscribed,
    /// `SUBTREE mailbox...`: names as sent.
    Subtree(Vec<String>),
    /// `MAILBOXES mailbox...`: names as sent.
    Mailboxes(Vec<String>),
}

/// One `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `MessageNew`, with the FETCH items to send for new messages.
    MessageNew(Vec<FetchAttr>),
    /// `MessageExpunge`
    MessageExpunge,
    /// `FlagChange`
    FlagChange,
    /// `AnnotationChange`
    AnnotationChange,
    /// `MailboxName`
    MailboxName,
    /// `SubscriptionChange`
    SubscriptionChange,
    /// `MailboxMetadataChange`
    MailboxMetadataChange,
    /// `ServerMetadataChange`
    ServerMetadataChange,
    /// An event this server does not know, upper-cased (answered `NO [BADEVENT]`).
    Other(String),
}

/// The arguments of NOTIFY, after the command name.
pub(crate) fn notify(i: &[u8]) -> PResult<'_, NotifySpec> {
    let (i, ()) = sp(i)?;
    if let Ok((rest, ())) = keyword("NONE")(i) {
        return Ok((rest, NotifySpec::None));
    }
    let Ok((mut i, ())) = keyword("SET")(i) else {
        return fail(i, "NOTIFY needs SET or NONE");
    };
    let mut status = false;
    if let Some(rest) = i.strip_prefix(b" ")
        && let Ok((rest, ())) = keyword("STATUS")(rest)
    {
        status = true;
        i = rest;
    }
    let mut groups = Vec::new();
    while let Some(rest) = i.strip_prefix(b" ") {
        if groups.len() >= MAX_ITEMS {
            return fail(rest, "Too many NOTIFY event groups");
        }
        let (rest, group) = event_group(rest)?;
        groups.push(group);
        i = rest;
    }
    if groups.is_empty() {
        return fail(i, "NOTIFY SET needs an event group");
    }
    Ok((i, NotifySpec::Set { status, groups }))
}

fn event_group(i: &[u8]) -> PResult<'_, EventGroup> {
    let Some(i) = i.strip_prefix(b"(") else {
        return fail(i, "Expected an event group");
    };
    let (i, filter) = filter_mailboxes(i)?;
    let (i, ()) = sp(i)?;
    let (i, events) = if let Ok((rest, ())) = keyword("NONE")(i) {
        (rest, Vec::new())
    } else {
        paren_list(i, false, event)?
    };
    match i.strip_prefix(b")") {
        Some(rest) => Ok((rest, EventGroup { filter, events })),
        None => fail(i, "Expected ) after the events"),
    }
}

fn filter_mailboxes(i: &[u8]) -> PResult<'_, MailboxFilter> {
    let (rest, word) = atom_upper(i)?;
    let names = |rest| -> PResult<'_, Vec<String>> {
        let (rest, ()) = sp(rest)?;
        if rest.starts_with(b"(") {
            let (r, list) = paren_list(rest, false, mailbox)?;
            if list.len() > MAX_ITEMS {
                return fail(rest, "Too many mailboxes");
            }
            Ok((r, list))
        } else {
            mailbox(rest).map(|(r, m)| (r, vec![m]))
        }
    };
    Ok(match word.as_str() {
        "SELECTED" => (rest, MailboxFilter::Selected),
        "SELECTED-DELAYED" => (rest, MailboxFilter::SelectedDelayed),
        "INBOXES" => (rest, MailboxFilter::Inboxes),
        "PERSONAL" => (rest, MailboxFilter::Personal),
        "SUBSCRIBED" => (rest, MailboxFilter::Subscribed),
        "SUBTREE" => {
            let (r, n) = names(rest)?;
            (r, MailboxFilter::Subtree(n))
        }
        "MAILBOXES" => {
            let (r, n) = names(rest)?;
            (r, MailboxFilter::Mailboxes(n))
        }
        _ => return fail(i, "Unknown NOTIFY mailbox filter"),
    })
}

fn event(i: &[u8]) -> PResult<'_, Event> {
    let (rest, word) = atom_upper(i)?;
    Ok(match word.as_str() {
        "MESSAGENEW" => {
            if let Some(list) = rest.strip_prefix(b" ")
                && list.starts_with(b"(")
            {
                let (r, items) = paren_list(list, false, fetch_att)?;
                (r, Event::MessageNew(items))
            } else {
                (rest, Event::MessageNew(Vec::new()))
            }
        }
        "MESSAGEEXPUNGE" => (rest, Event::MessageExpunge),
        "FLAGCHANGE" => (rest, Event::FlagChange),
        "ANNOTATIONCHANGE" => (rest, Event::AnnotationChange),
        "MAILBOXNAME" => (rest, Event::MailboxName),
        "SUBSCRIPTIONCHANGE" => (rest, Event::SubscriptionChange),
        "MAILBOXMETADATACHANGE" => (rest, Event::MailboxMetadataChange),
        "SERVERMETADATACHANGE" => (rest, Event::ServerMetadataChange),
        _ => (rest, Event::Other(word)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5465_examples() {
        let (rest, spec) = notify(
            b" SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew))",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(rest.is_empty(), "{rest:?}");
        let NotifySpec::Set { status, groups } = spec else {
            panic!()
        };
        assert!(status);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].filter, MailboxFilter::Selected);
        assert!(matches!(&groups[0].events[0], Event::MessageNew(items) if items.len() == 2));
        assert_eq!(
            groups[1].filter,
            MailboxFilter::Subtree(vec!["Lists".into()])
        );
        assert_eq!(notify(b" NONE").unwrap().1, NotifySpec::None);
        let (_, spec) =
            notify(b" SET (mailboxes (a b) NONE) (personal (MailboxName Foo))").unwrap();
        let NotifySpec::Set { groups, .. } = spec else {
            panic!()
        };
        assert!(groups[0].events.is_empty());
        assert_eq!(groups[1].events[1], Event::Other("FOO".into()));
        assert!(notify(b" SET").is_err());
        assert!(notify(b" SET (bogus (MessageNew))").is_err());
    }
}
