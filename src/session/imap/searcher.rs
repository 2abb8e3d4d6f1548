//! Evaluating SEARCH criteria (RFC 9051 §6.4.4; CONDSTORE `MODSEQ`, RFC
//! 7162 §3.1.5; SAVEDATE, RFC 8514 §4; WITHIN, RFC 5032; OBJECTID, RFC
//! 8474 §6) over the selected mailbox, for SEARCH, SORT, THREAD and the
//! CONTEXT=SEARCH updates.
//!
//! Each message is read once per search, with one range scan of its
//! records; what a key needs beyond the record is loaded lazily and at
//! most once per message: the search index stored at delivery for header
//! keys and sent dates, the body text stored at delivery for BODY and TEXT.
//! Nothing is parsed. Text matching is case-insensitive substring matching
//! (the stored text is lower-cased at delivery; the needle here).

use std::cell::OnceCell;

use memchr::memmem;

use super::Selected;
use crate::message::SearchIndex;
use crate::proto::imap::{Date, SearchKey, SequenceSet};
use crate::store::{AccountId, HeaderPart, MailStore, MessageRecord, StoreError, has_flag};

/// One match: sequence number, UID and the record read for the test, so
/// that SORT and THREAD need not read it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The message's sequence number.
    pub seq: u32,
    /// Its UID.
    pub uid: u32,
    /// Its MODSEQ (for the `MODSEQ` of RFC 7162 §3.1.5 answers).
    pub modseq: u64,
    /// Its record.
    pub rec: MessageRecord,
}

/// A search over one selected mailbox.
pub struct Searcher<'a> {
    store: &'a dyn MailStore,
    account: AccountId,
    sel: &'a Selected,
    now: i64,
    /// Whether `\Recent` exists (IMAP4rev1) for NEW/OLD/RECENT.
    rev1: bool,
}

/// A message being tested, with what has been loaded of it.
pub struct Candidate<'r> {
    seq: u32,
    uid: u32,
    rec: &'r MessageRecord,
    index: OnceCell<SearchIndex>,
    subject_lines: OnceCell<Vec<u8>>,
    other_lines: OnceCell<Vec<u8>>,
    text: OnceCell<String>,
}

impl<'a> Searcher<'a> {
    /// A searcher over `sel`.
    pub fn new(
        store: &'a dyn MailStore,
        account: AccountId,
        sel: &'a Selected,
        rev1: bool,
    ) -> Self {
        Searcher {
            store,
            account,
            sel,
            now: crate::time::now(),
            rev1,
        }
    }

    /// Every message of the session's view matching `key`, ascending.
    pub fn run(&self, key: &SearchKey) -> Result<Vec<Hit>, StoreError> {
        let mut hits = Vec::new();
        self.visit(key, |seq, uid, rec| {
            hits.push(Hit {
                seq,
                uid,
                modseq: rec.modseq,
                rec,
            });
            Ok(())
        })?;
        Ok(hits)
    }

    /// Calls `found` with each message matching `key`, ascending, without
    /// keeping them (SORT makes its rows this way). A message expunged by
    /// another session while searching is left out, also when `found`
    /// meets that.
    pub fn visit(
        &self,
        key: &SearchKey,
        mut found: impl FnMut(u32, u32, MessageRecord) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut err = None;
        for (first, last) in narrow(key, self.sel) {
            self.store
                .scan_messages(self.account, self.sel.id, first, last, &mut |uid, rec| {
                    let Some(seq) = self.sel.uids.seq(uid) else {
                        return true;
                    };
                    let matched = self
                        .matches(key, &Candidate::new(seq, uid, &rec))
                        .and_then(|m| if m { found(seq, uid, rec) } else { Ok(()) });
                    match matched {
                        Ok(()) | Err(StoreError::Expunged) => true,
                        Err(e) => {
                            err = Some(e);
                            false
                        }
                    }
                })?;
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Whether the message `uid` matches `key` (for search updates).
    pub fn test(&self, key: &SearchKey, uid: u32) -> Result<Option<Hit>, StoreError> {
        let Some(seq) = self.sel.uids.seq(uid) else {
            return Ok(None);
        };
        let Some(rec) = self.store.message(self.account, self.sel.id, uid)? else {
            return Ok(None);
        };
        let cand = Candidate::new(seq, uid, &rec);
        let hit = match self.matches(key, &cand) {
            Err(StoreError::Expunged) => false,
            other => other?,
        };
        Ok(hit.then(|| Hit {
            seq,
            uid,
            modseq: rec.modseq,
            rec: rec.clone(),
        }))
    }

    fn index<'c>(&self, c: &'c Candidate<'_>) -> Result<&'c SearchIndex, StoreError> {
        if let Some(i) = c.index.get() {
            return Ok(i);
        }
        let idx = self.store.search_index(c.rec)?;
        Ok(c.index.get_or_init(|| idx))
    }

    /// The stored header lines of one part (Subject or the rest).
    fn headers<'c>(&self, c: &'c Candidate<'_>, part: HeaderPart) -> Result<&'c [u8], StoreError> {
        let cell = match part {
            HeaderPart::Subject => &c.subject_lines,
            HeaderPart::Other => &c.other_lines,
        };
        if let Some(h) = cell.get() {
            return Ok(h);
        }
        let h = self.store.header_text(c.rec, part)?;
        Ok(cell.get_or_init(|| h))
    }

    /// Whether the field `name` (lower case) contains `needle`.
    fn field_contains(
        &self,
        c: &Candidate<'_>,
        name: &str,
        needle: &str,
    ) -> Result<bool, StoreError> {
        let lines = self.headers(c, HeaderPart::of_field(name))?;
        Ok(header_contains(lines, name, needle))
    }

    fn text<'c>(&self, c: &'c Candidate<'_>) -> Result<&'c str, StoreError> {
        if let Some(t) = c.text.get() {
            return Ok(t);
        }
        let t = self.store.body_text(c.rec)?;
        Ok(c.text.get_or_init(|| t))
    }

    /// Evaluates `key` for one message.
    pub fn matches(&self, key: &SearchKey, c: &Candidate<'_>) -> Result<bool, StoreError> {
        use SearchKey as K;
        let flag = |f: &str| has_flag(&c.rec.flags, f);
        let recent = self.rev1 && self.sel.is_recent(c.uid);
        let internal = day(c.rec.internal_date);
        let saved = day(c.rec.saved);
        Ok(match key {
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
            K::Recent => recent,
            K::New => recent && !flag("\\Seen"),
            K::Old => !recent,
            K::Keyword(k) => flag(k),
            K::Unkeyword(k) => !flag(k),
            K::Before(d) => internal < date_day(d),
            K::On(d) => internal == date_day(d),
            K::Since(d) => internal >= date_day(d),
            K::SavedBefore(d) => saved < date_day(d),
            K::SavedOn(d) => saved == date_day(d),
            K::SavedSince(d) => saved >= date_day(d),
            K::SaveDateSupported => true,
            K::Older(n) => c.rec.internal_date < self.now - i64::from(*n),
            K::Younger(n) => c.rec.internal_date >= self.now - i64::from(*n),
            K::SentBefore(d) => self.sent_day(c)? < date_day(d),
            K::SentOn(d) => self.sent_day(c)? == date_day(d),
            K::SentSince(d) => self.sent_day(c)? >= date_day(d),
            K::Larger(n) => c.rec.size > u64::from(*n),
            K::Smaller(n) => c.rec.size < u64::from(*n),
            K::ModSeq(n) => c.rec.modseq >= *n,
            K::EmailId(id) => id.eq_ignore_ascii_case(&format!("E{:x}", c.rec.body)),
            K::ThreadId(id) => {
                let t = self.index(c)?.thread;
                t != 0 && id.eq_ignore_ascii_case(&format!("T{t:x}"))
            }
            K::Uid(set) => self.in_set(set, c.uid, true),
            K::SequenceSet(set) => self.in_set(set, c.seq, false) || self.saved_hit(set, c.uid),
            K::Not(k) => !self.matches(k, c)?,
            K::Or(a, b) => self.matches(a, c)? || self.matches(b, c)?,
            K::And(keys) => {
                for k in keys {
                    if !self.matches(k, c)? {
                        return Ok(false);
                    }
                }
                true
            }
            K::Text(s) => {
                contains(self.headers(c, HeaderPart::Subject)?, s)
                    || contains(self.headers(c, HeaderPart::Other)?, s)
                    || contains(self.text(c)?.as_bytes(), s)
            }
            K::Body(s) => contains(self.text(c)?.as_bytes(), s),
            K::Subject(s) => self.field_contains(c, "subject", s)?,
            K::From(s) => self.field_contains(c, "from", s)?,
            K::To(s) => self.field_contains(c, "to", s)?,
            K::Cc(s) => self.field_contains(c, "cc", s)?,
            K::Bcc(s) => self.field_contains(c, "bcc", s)?,
            K::Header(name, s) => self.field_contains(c, &name.to_lowercase(), s)?,
        })
    }

    /// RFC 5256 §2.2 / RFC 9051 §6.4.4: the Date header's day, else the
    /// INTERNALDATE's.
    fn sent_day(&self, c: &Candidate<'_>) -> Result<i64, StoreError> {
        let idx = self.index(c)?;
        Ok(idx
            .sent_day
            .or(idx.sent_date.map(day))
            .unwrap_or_else(|| day(c.rec.internal_date)))
    }

    /// Membership in a UID or sequence set; `$` is the saved result.
    fn in_set(&self, set: &SequenceSet, n: u32, uid: bool) -> bool {
        let star = if uid {
            self.sel.uids.last().unwrap_or(0)
        } else {
            self.sel.uids.len()
        };
        set.contains(n, star.max(1)) || (uid && set.uses_saved() && self.sel.saved.contains(n))
    }

    fn saved_hit(&self, set: &SequenceSet, uid: u32) -> bool {
        set.uses_saved() && self.sel.saved.contains(uid)
    }
}

impl<'r> Candidate<'r> {
    fn new(seq: u32, uid: u32, rec: &'r MessageRecord) -> Self {
        Candidate {
            seq,
            uid,
            rec,
            index: OnceCell::new(),
            subject_lines: OnceCell::new(),
            other_lines: OnceCell::new(),
            text: OnceCell::new(),
        }
    }
}

/// The UID ranges a search must read: all of the view, or less when the
/// criteria are a UID set (possibly among other keys ANDed together).
fn narrow(key: &SearchKey, sel: &Selected) -> Vec<(u32, u32)> {
    let all = || match (sel.uids.uids().next(), sel.uids.last()) {
        (Some(a), Some(b)) => vec![(a, b)],
        _ => Vec::new(),
    };
    let uid_set = match key {
        SearchKey::Uid(set) => Some(set),
        SearchKey::And(keys) => keys.iter().find_map(|k| match k {
            SearchKey::Uid(set) => Some(set),
            _ => None,
        }),
        _ => None,
    };
    match uid_set {
        Some(set) if !set.uses_saved() => {
            let mut ranges: Vec<(u32, u32)> = sel
                .uids
                .resolve(set, true)
                .into_iter()
                .map(|(_, u)| (u, u))
                .collect();
            // Merge consecutive UIDs into ranges for the scan.
            ranges.dedup_by(|b, a| {
                if b.0 == a.1 + 1 {
                    a.1 = b.1;
                    true
                } else {
                    false
                }
            });
            ranges
        }
        _ => all(),
    }
}

/// Whether a `name: value` line of the header text contains `needle`
/// (lower-cased here). An empty needle matches any message with the
/// field (RFC 9051 §6.4.4 HEADER). No allocation: the lines are scanned in
/// place.
fn header_contains(headers: &[u8], name: &str, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    let finder = memmem::Finder::new(needle.as_bytes());
    headers.split(|&b| b == b'\n').any(|line| {
        line.strip_prefix(name.as_bytes())
            .and_then(|rest| rest.strip_prefix(b": "))
            .is_some_and(|value| needle.is_empty() || finder.find(value).is_some())
    })
}

/// Case-insensitive substring test on lower-cased text.
fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_lowercase();
    needle.is_empty() || memmem::find(haystack, needle.as_bytes()).is_some()
}

/// The UTC day of a timestamp, for the date keys (RFC 9051 §6.4.4: time
/// and zone are disregarded).
fn day(timestamp: i64) -> i64 {
    timestamp.div_euclid(86_400)
}

fn date_day(d: &Date) -> i64 {
    day(d.to_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines() {
        let h = b"subject: hello beautiful world\nx-extra: \nfrom: a <a@x>\n";
        assert!(header_contains(h, "subject", "Beautiful"));
        assert!(header_contains(h, "x-extra", ""));
        assert!(!header_contains(h, "x-extra", "hello"));
        assert!(!header_contains(h, "to", ""));
        assert!(header_contains(h, "from", "a@x"));
        assert!(contains(b"quarterly report", "REPORT"));
        assert!(!contains(b"hello", "world"));
    }
}
