//! SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4).
//!
//! For now a search walks the selected mailbox's messages, loading per
//! message only what its criteria need: the record (flags, dates, size,
//! MODSEQ), the stored summary (sent date), or the raw bytes (text keys).
//! Text matching is case-insensitive; header keys match decoded values;
//! BODY and TEXT match the raw bytes (no transfer decoding yet).

use mail_parser::{Address, HeaderValue, MessageParser};

use super::{CommandError, CommandResult, ImapSession, Selected, State, no, ok};
use crate::proto::imap::{Date, SearchKey};
use crate::store::{AccountId, MailStore, MessageRecord, StoreError, has_flag};

/// What evaluating a key needs loaded.
#[derive(Default, Clone, Copy)]
struct Needs {
    summary: bool,
    body: bool,
}

fn needs(key: &SearchKey, n: &mut Needs) {
    use SearchKey as K;
    match key {
        K::SentBefore(_) | K::SentOn(_) | K::SentSince(_) => n.summary = true,
        K::Bcc(_)
        | K::Body(_)
        | K::Cc(_)
        | K::From(_)
        | K::Subject(_)
        | K::Text(_)
        | K::To(_)
        | K::Header(..) => n.body = true,
        K::Not(k) => needs(k, n),
        K::Or(a, b) => {
            needs(a, n);
            needs(b, n);
        }
        K::And(keys) => keys.iter().for_each(|k| needs(k, n)),
        _ => {}
    }
}

/// One message as a search sees it.
struct Candidate<'a> {
    seq: u32,
    uid: u32,
    record: &'a MessageRecord,
    sent_date: Option<i64>,
    raw: Option<&'a [u8]>,
    selected: &'a Selected,
}

impl ImapSession {
    /// SEARCH / UID SEARCH: answers `* SEARCH` with sequence numbers or UIDs.
    pub(super) async fn search(
        &mut self,
        uid_mode: bool,
        charset: Option<&str>,
        criteria: &SearchKey,
    ) -> CommandResult {
        if let Some(cs) = charset
            && !cs.eq_ignore_ascii_case("UTF-8")
            && !cs.eq_ignore_ascii_case("US-ASCII")
        {
            return Err(no(
                Some("BADCHARSET (UTF-8 US-ASCII)"),
                "Unsupported charset",
            ));
        }
        let State::Selected(login, sel) = &self.state else {
            unreachable!("allowed() checked")
        };
        let found = run_search(
            self.shared.store.as_ref(),
            login.account,
            sel,
            criteria,
            uid_mode,
        )
        .map_err(CommandError::from)?;
        let list: Vec<String> = found.iter().map(u32::to_string).collect();
        let line = if list.is_empty() {
            "SEARCH".to_string()
        } else {
            format!("SEARCH {}", list.join(" "))
        };
        self.untagged(&line);
        ok(if uid_mode {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        })
    }
}

fn run_search(
    store: &dyn MailStore,
    account: AccountId,
    sel: &Selected,
    criteria: &SearchKey,
    uid_mode: bool,
) -> Result<Vec<u32>, StoreError> {
    let mut need = Needs::default();
    needs(criteria, &mut need);
    let mut found = Vec::new();
    for (i, &uid) in sel.uids.iter().enumerate() {
        let Some(record) = store.message(account, sel.id, uid)? else {
            continue;
        };
        let sent_date = if need.summary {
            store.summary(&record)?.sent_date
        } else {
            None
        };
        let raw = if need.body {
            Some(store.body(&record)?)
        } else {
            None
        };
        let c = Candidate {
            seq: i as u32 + 1,
            uid,
            record: &record,
            sent_date,
            raw: raw.as_deref(),
            selected: sel,
        };
        if matches(criteria, &c) {
            found.push(if uid_mode { uid } else { c.seq });
        }
    }
    Ok(found)
}

/// The UTC day of a timestamp, for the date keys (RFC 9051 §6.4.4: time
/// and zone are disregarded).
fn day(timestamp: i64) -> i64 {
    timestamp.div_euclid(86_400)
}

fn date_day(d: &Date) -> i64 {
    day(d.to_timestamp())
}

fn matches(key: &SearchKey, c: &Candidate<'_>) -> bool {
    use SearchKey as K;
    let flag = |f: &str| has_flag(&c.record.flags, f);
    let internal = day(c.record.internal_date);
    let sent = c.sent_date.map(day);
    match key {
        K::All => true,
        K::Answered => flag("\\Answered"),
        K::Deleted => flag("\\Deleted"),
        K::Draft => flag("\\Draft"),
        K::Flagged => flag("\\Flagged"),
        K::Seen => flag("\\Seen"),
        K::Unanswered => !flag("\\Answered"),
        K::Undeleted => !flag("\\Deleted"),
        K::Undraft => !flag("\\Draft"),
        K::Unflagged => !flag("\\Flagged"),
        K::Unseen => !flag("\\Seen"),
        // No message is \Recent to this server (RFC 9051 dropped it).
        K::New | K::Recent => false,
        K::Old => true,
        K::Keyword(k) => flag(k),
        K::Unkeyword(k) => !flag(k),
        K::Before(d) => internal < date_day(d),
        K::On(d) => internal == date_day(d),
        K::Since(d) => internal >= date_day(d),
        K::SentBefore(d) => sent.is_some_and(|s| s < date_day(d)),
        K::SentOn(d) => sent.is_some_and(|s| s == date_day(d)),
        K::SentSince(d) => sent.is_some_and(|s| s >= date_day(d)),
        K::Larger(n) => c.record.size > u64::from(*n),
        K::Smaller(n) => c.record.size < u64::from(*n),
        K::ModSeq(n) => c.record.modseq >= *n,
        K::Uid(set) => c.selected.resolve(set, true).iter().any(|m| m.1 == c.uid),
        K::SequenceSet(set) => c.selected.resolve(set, false).iter().any(|m| m.0 == c.seq),
        K::Not(k) => !matches(k, c),
        K::Or(a, b) => matches(a, c) || matches(b, c),
        K::And(keys) => keys.iter().all(|k| matches(k, c)),
        K::Body(s) => contains_bytes(body_of(c.raw.unwrap_or_default()), s),
        K::Text(s) => contains_bytes(c.raw.unwrap_or_default(), s),
        K::Subject(s) => header_text(c, "Subject").is_some_and(|v| contains(&v, s)),
        K::From(s) => header_text(c, "From").is_some_and(|v| contains(&v, s)),
        K::To(s) => header_text(c, "To").is_some_and(|v| contains(&v, s)),
        K::Cc(s) => header_text(c, "Cc").is_some_and(|v| contains(&v, s)),
        K::Bcc(s) => header_text(c, "Bcc").is_some_and(|v| contains(&v, s)),
        // RFC 9051 §6.4.4: an empty string matches every message having the field.
        K::Header(name, s) => header_text(c, name).is_some_and(|v| contains(&v, s)),
    }
}

/// The decoded values of every `name` field, joined; None when absent.
/// Only the top-level header is parsed (`parse_headers`), which is bounded.
fn header_text(c: &Candidate<'_>, name: &str) -> Option<String> {
    let raw = c.raw?;
    let message = MessageParser::default().parse_headers(raw)?;
    let mut out = Vec::new();
    for header in message.headers() {
        if !header.name().eq_ignore_ascii_case(name) {
            continue;
        }
        // The raw value (Message-ID keeps its brackets) and the decoded one
        // (encoded words, RFC 2047) both count.
        let start = (header.offset_start() as usize).min(raw.len());
        let end = (header.offset_end() as usize).clamp(start, raw.len());
        out.push(String::from_utf8_lossy(&raw[start..end]).into_owned());
        match header.value() {
            HeaderValue::Text(t) => out.push(t.to_string()),
            HeaderValue::TextList(l) => out.push(l.join(" ")),
            HeaderValue::Address(a) => out.push(addresses(a)),
            _ => {}
        }
    }
    (!out.is_empty()).then(|| out.join(" "))
}

fn addresses(a: &Address<'_>) -> String {
    a.iter()
        .map(|addr| {
            format!(
                "{} <{}>",
                addr.name().unwrap_or_default(),
                addr.address().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Case-insensitive substring test (RFC 9051 §6.4.4).
fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_lowercase().into_bytes();
    if needle.is_empty() {
        return true;
    }
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(&needle))
}

/// The body: everything after the first empty line.
fn body_of(raw: &[u8]) -> &[u8] {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| &raw[p + 4..])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matching_ignores_case() {
        assert!(contains("Quarterly Report", "REPORT"));
        assert!(contains_bytes(b"Hello World", "world"));
        assert!(!contains_bytes(b"Hello", "world"));
        assert_eq!(body_of(b"A: b\r\n\r\nbody"), b"body");
    }
}
