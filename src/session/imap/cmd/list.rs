//! LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS
//! (RFC 5819), SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348); and the
//! IMAP4rev1 LSUB (RFC 3501 §6.3.9).
//!
//! Names are a flat set in the store; the hierarchy is read from `/`. A
//! name that is not a mailbox but has inferiors is a *virtual parent*: it
//! is listed (as `\Noselect`, or `\NonExistent` in the extended syntax)
//! when a pattern ending in `%` reaches its level (RFC 3501 §6.3.8).

use std::collections::{BTreeMap, BTreeSet};

use crate::proto::imap::{ListReturn, ListSelect};
use crate::session::imap::names::{self, DELIMITER, ancestors, is_inferior, wildcard_match};
use crate::session::imap::{CommandResult, ImapSession, ok};
use crate::store::MailboxInfo;

/// One name to answer for.
struct Entry<'a> {
    info: Option<&'a MailboxInfo>,
    subscribed: bool,
    childinfo: bool,
}

impl ImapSession {
    /// LIST [select-opts] reference patterns [RETURN (...)].
    pub(in crate::session::imap) fn cmd_list(
        &mut self,
        reference: &str,
        patterns: &[String],
        select: &ListSelect,
        ret: &ListReturn,
        extended: bool,
    ) -> CommandResult {
        if !extended && patterns.len() == 1 && patterns[0].is_empty() {
            // RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
            self.untagged(&format!("LIST (\\Noselect) \"{DELIMITER}\" \"\""));
            return ok("LIST completed");
        }
        let patterns = self.full_patterns(reference, patterns)?;
        let account = self.logged_in().account;
        let boxes = self.shared.store.mailboxes(account)?;
        let subs: BTreeSet<String> = self
            .shared
            .store
            .subscriptions(account)?
            .into_iter()
            .collect();
        let existing: BTreeMap<&str, &MailboxInfo> =
            boxes.iter().map(|b| (b.record.name.as_str(), b)).collect();
        let matches = |name: &str| patterns.iter().any(|p| wildcard_match(p, name));
        let percent_match = |name: &str| {
            patterns
                .iter()
                .any(|p| p.ends_with('%') && wildcard_match(p, name))
        };

        let mut entries: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
        if select.subscribed {
            for name in &subs {
                if matches(name) {
                    entries.insert(
                        name,
                        Entry {
                            info: existing.get(name.as_str()).copied(),
                            subscribed: true,
                            childinfo: false,
                        },
                    );
                }
            }
            if select.recursive_match {
                // RFC 5258 §3.5: a matching name with a subscribed
                // descendant that the pattern does not reach.
                for name in &subs {
                    for parent in ancestors(name) {
                        if matches(parent) && !matches(name) {
                            let e = entries.entry(parent).or_insert(Entry {
                                info: existing.get(parent).copied(),
                                subscribed: subs.contains(parent),
                                childinfo: false,
                            });
                            e.childinfo = true;
                        }
                    }
                }
            }
        } else {
            for (name, info) in &existing {
                if matches(name) {
                    entries.insert(
                        name,
                        Entry {
                            info: Some(info),
                            subscribed: subs.contains(*name),
                            childinfo: false,
                        },
                    );
                }
                for parent in ancestors(name) {
                    if !existing.contains_key(parent) && percent_match(parent) {
                        entries.entry(parent).or_insert(Entry {
                            info: None,
                            subscribed: subs.contains(parent),
                            childinfo: false,
                        });
                    }
                }
            }
        }

        let show_subscribed = select.subscribed || ret.subscribed;
        let mut lines = Vec::new();
        for (name, e) in ordered(entries) {
            if select.special_use && e.info.and_then(|i| i.record.special_use.as_ref()).is_none() {
                continue;
            }
            let prefix = format!("{name}{DELIMITER}");
            let has_children = existing
                .range(prefix.as_str()..)
                .next()
                .is_some_and(|(n, _)| is_inferior(n, name));
            let mut attrs: Vec<&str> = Vec::new();
            match e.info {
                Some(_) => {}
                None if has_children && !extended => attrs.push("\\Noselect"),
                None => attrs.push("\\NonExistent"),
            }
            attrs.push(if has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if show_subscribed && e.subscribed {
                attrs.push("\\Subscribed");
            }
            if let Some(s) = e.info.and_then(|i| i.record.special_use.as_deref()) {
                attrs.push(s);
            }
            let mut line = format!("LIST ({}) \"{DELIMITER}\" ", attrs.join(" ")).into_bytes();
            self.write_name(&mut line, name);
            if e.childinfo {
                line.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            lines.push(line);
            if let (Some(items), Some(info)) = (&ret.status, e.info) {
                lines.push(self.status_line(info, items)?);
            }
        }
        for line in lines {
            self.untagged_bytes(&line);
        }
        ok("LIST completed")
    }

    /// LSUB reference pattern (RFC 3501 §6.3.9): subscribed names; with a
    /// trailing `%`, unsubscribed parents of subscribed names as `\Noselect`.
    pub(in crate::session::imap) fn cmd_lsub(
        &mut self,
        reference: &str,
        pattern: &str,
    ) -> CommandResult {
        if pattern.is_empty() {
            self.untagged(&format!("LSUB (\\Noselect) \"{DELIMITER}\" \"\""));
            return ok("LSUB completed");
        }
        let patterns = self.full_patterns(reference, &[pattern.to_owned()])?;
        let pattern = &patterns[0];
        let account = self.logged_in().account;
        let subs: BTreeSet<String> = self
            .shared
            .store
            .subscriptions(account)?
            .into_iter()
            .collect();
        let boxes = self.shared.store.mailboxes(account)?;
        let exists = |n: &str| boxes.iter().any(|b| b.record.name == n);
        let mut found: BTreeMap<&str, bool> = BTreeMap::new();
        for name in &subs {
            if wildcard_match(pattern, name) {
                found.insert(name, exists(name));
            }
            if pattern.ends_with('%') {
                for parent in ancestors(name) {
                    if !subs.contains(parent) && wildcard_match(pattern, parent) {
                        found.entry(parent).or_insert(false);
                    }
                }
            }
        }
        let mut lines = Vec::new();
        for (name, selectable) in found {
            let attrs = if selectable { "" } else { "\\Noselect" };
            let mut line = format!("LSUB ({attrs}) \"{DELIMITER}\" ").into_bytes();
            self.write_name(&mut line, name);
            lines.push(line);
        }
        for line in lines {
            self.untagged_bytes(&line);
        }
        ok("LSUB completed")
    }

    /// The reference prepended to each pattern, decoded to stored form.
    fn full_patterns(
        &self,
        reference: &str,
        patterns: &[String],
    ) -> Result<Vec<String>, crate::session::imap::CommandError> {
        let utf8 = self.enabled.utf8;
        let reference = names::pattern_from_wire(reference, utf8)?;
        patterns
            .iter()
            .map(|p| {
                let p = names::pattern_from_wire(p, utf8)?;
                Ok(names::normalize_inbox(format!("{reference}{p}")))
            })
            .collect()
    }
}

/// INBOX first (clients expect it there), then by name.
fn ordered<T>(entries: BTreeMap<&str, T>) -> Vec<(&str, T)> {
    let mut v: Vec<(&str, T)> = entries.into_iter().collect();
    v.sort_by_key(|(n, _)| (*n != "INBOX", *n));
    v
}
