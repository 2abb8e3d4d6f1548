//! Mailbox commands: SELECT/EXAMINE (RFC 9051 §6.3.2-3), CREATE (§6.3.4,
//! RFC 6154 §3), SUBSCRIBE/UNSUBSCRIBE (§6.3.7-8), LIST/LSUB (§6.3.9,
//! RFC 3501 §6.3.9), STATUS (§6.3.11, RFC 8438).

use std::collections::HashMap;

use super::{CommandError, CommandResult, ImapSession, Login, Selected, State, no, ok};
use crate::proto::imap::{StatusItem, encode};
use crate::store::MailboxInfo;

/// The hierarchy delimiter.
pub const DELIMITER: char = '/';

/// `INBOX` in any case is the inbox (RFC 9051 §5.1).
pub fn normalize_name(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        name.trim_end_matches(DELIMITER).to_string()
    }
}

impl ImapSession {
    fn login_ref(&self) -> &Login {
        match &self.state {
            State::Authenticated(l) | State::Selected(l, _) => l,
            // Invariant: `allowed` admits mailbox commands only when logged in.
            _ => unreachable!("mailbox command before login"),
        }
    }

    pub(super) fn find_mailbox(&self, name: &str) -> Result<MailboxInfo, CommandError> {
        let login = self.login_ref();
        self.shared
            .store
            .mailbox_by_name(login.account, &normalize_name(name))?
            .ok_or_else(|| no(Some("NONEXISTENT"), "No such mailbox"))
    }

    /// SELECT and EXAMINE. A failed SELECT leaves no mailbox selected.
    pub(super) fn select(&mut self, name: &str, read_only: bool) -> CommandResult {
        self.state.deselect();
        let info = self.find_mailbox(name)?;
        let login = self.login_ref();
        let uids = self.shared.store.uids(login.account, info.id)?;
        let r = &info.record;
        self.untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
        if read_only {
            self.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox");
        } else {
            self.untagged("OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted");
        }
        self.untagged(&format!("{} EXISTS", uids.len()));
        self.untagged("0 RECENT");
        self.untagged(&format!("OK [UIDVALIDITY {}] UIDs valid", r.uidvalidity));
        self.untagged(&format!("OK [UIDNEXT {}] Predicted next UID", r.uidnext));
        let selected = Selected {
            id: info.id,
            read_only,
            uids,
            modseq: r.highestmodseq,
            own_changes: HashMap::new(),
        };
        self.state.enter(selected);
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        Ok((
            Some(code.into()),
            if read_only {
                "EXAMINE completed"
            } else {
                "SELECT completed"
            }
            .into(),
        ))
    }

    /// CREATE, with RFC 6154 `USE (\Sent)`.
    pub(super) fn create(&mut self, name: &str, special_use: &[String]) -> CommandResult {
        let name = normalize_name(name);
        if name.is_empty() || name == "INBOX" {
            return Err(no(Some("ALREADYEXISTS"), "INBOX always exists"));
        }
        let account = self.login_ref().account;
        let special = special_use.first().map(|s| crate::store::canonical_flag(s));
        if special.as_deref().is_some_and(|s| !is_special_use(s)) {
            return Err(no(Some("USEATTR"), "Unknown special-use attribute"));
        }
        self.shared
            .store
            .create_mailbox(account, &name, special.as_deref())?;
        ok("CREATE completed")
    }

    /// SUBSCRIBE / UNSUBSCRIBE.
    pub(super) fn subscribe(&mut self, name: &str, on: bool) -> CommandResult {
        let info = self.find_mailbox(name)?;
        let account = self.login_ref().account;
        self.shared.store.set_subscribed(account, info.id, on)?;
        ok(if on {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        })
    }

    /// LIST and LSUB with RFC 3501 wildcards (`*` any, `%` no delimiter),
    /// special-use attributes (RFC 6154) and children (RFC 3348).
    pub(super) fn list(
        &mut self,
        reference: &str,
        patterns: &[String],
        lsub: bool,
    ) -> CommandResult {
        let verb = if lsub { "LSUB" } else { "LIST" };
        if patterns.len() == 1 && patterns[0].is_empty() {
            // RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
            self.untagged(&format!("{verb} (\\Noselect) \"{DELIMITER}\" \"\""));
            return ok(&format!("{verb} completed"));
        }
        let account = self.login_ref().account;
        let boxes = self.shared.store.mailboxes(account)?;
        let names: Vec<&str> = boxes.iter().map(|b| b.record.name.as_str()).collect();
        let mut lines = Vec::new();
        for b in &boxes {
            let name = &b.record.name;
            if lsub && !b.record.subscribed {
                continue;
            }
            let matched = patterns
                .iter()
                .any(|p| wildcard_match(&format!("{reference}{p}"), name));
            if !matched {
                continue;
            }
            let mut attrs = Vec::new();
            let prefix = format!("{name}{DELIMITER}");
            attrs.push(if names.iter().any(|n| n.starts_with(&prefix)) {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if let Some(s) = &b.record.special_use {
                attrs.push(s);
            }
            if !lsub && b.record.subscribed {
                attrs.push("\\Subscribed");
            }
            let mut line = format!("{verb} ({}) \"{DELIMITER}\" ", attrs.join(" ")).into_bytes();
            encode::mailbox_name(&mut line, name);
            lines.push(line);
        }
        for line in lines {
            self.out.extend_from_slice(b"* ");
            self.out.extend_from_slice(&line);
            self.out.extend_from_slice(b"\r\n");
        }
        ok(&format!("{verb} completed"))
    }

    /// STATUS, from the counters the store keeps (no scan).
    pub(super) fn status(&mut self, name: &str, items: &[StatusItem]) -> CommandResult {
        let info = self.find_mailbox(name)?;
        let r = &info.record;
        let mut parts = Vec::new();
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", r.exists),
                StatusItem::Recent => "RECENT 0".to_string(),
                StatusItem::UidNext => format!("UIDNEXT {}", r.uidnext),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", r.uidvalidity),
                StatusItem::Unseen => format!("UNSEEN {}", r.unseen()),
                StatusItem::Deleted => format!("DELETED {}", r.deleted),
                StatusItem::Size => format!("SIZE {}", r.size),
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", r.highestmodseq),
                StatusItem::AppendLimit => {
                    format!("APPENDLIMIT {}", self.shared.config.limits.max_message_size)
                }
            });
        }
        let mut line = b"STATUS ".to_vec();
        encode::mailbox_name(&mut line, &r.name);
        line.extend_from_slice(format!(" ({})", parts.join(" ")).as_bytes());
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(&line);
        self.out.extend_from_slice(b"\r\n");
        ok("STATUS completed")
    }
}

fn is_special_use(attr: &str) -> bool {
    [
        "\\All",
        "\\Archive",
        "\\Drafts",
        "\\Flagged",
        "\\Junk",
        "\\Sent",
        "\\Trash",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(attr))
}

/// RFC 9051 §6.3.9 wildcards: `*` matches anything, `%` anything but the
/// delimiter. `INBOX` matches case-insensitively. Iterative, so hostile
/// patterns cannot blow the stack; quadratic at worst in short inputs.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern = if pattern.len() >= 5
        && pattern[..5].eq_ignore_ascii_case("INBOX")
        && name.starts_with("INBOX")
    {
        format!("INBOX{}", &pattern[5..])
    } else {
        pattern.to_string()
    };
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Dynamic programming over (pattern index, name index).
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                // next[i]: some j <= i is reachable and, for `%`, n[j..i]
                // holds no delimiter.
                let mut carried = false;
                for i in 0..=n.len() {
                    if pc == '%' && i > 0 && n[i - 1] == DELIMITER {
                        carried = false;
                    }
                    carried |= reach[i];
                    next[i] = carried;
                }
            }
            c => {
                for i in 0..n.len() {
                    if reach[i] && n[i] == c {
                        next[i + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n.len()]
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn rfc_wildcards() {
        assert!(m("*", "INBOX"));
        assert!(m("*", "a/b/c"));
        assert!(m("%", "Sent"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("inbox", "INBOX"));
        assert!(!m("Sent", "Sentx"));
        assert!(m("S*t", "Sent"));
        assert!(m("%/b", "a/b"));
    }
}
