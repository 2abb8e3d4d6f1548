//! SORT and UID SORT (RFC 5256 §3), with SORT=DISPLAY (RFC 5957) and the
//! ESORT / CONTEXT=SORT return options (RFC 5267 §3, §4.4), from the sort
//! keys stored at delivery.

use std::cmp::Ordering;
use std::fmt::Write;

use crate::proto::imap::{SearchKey, SearchReturn, SortCriterion, SortKey};
use crate::session::imap::searcher::Searcher;
use crate::session::imap::{CommandError, CommandResult, ImapSession, State, blocking_for, ok};
use crate::store::{MessageRecord, StoreError};

/// One sort key's value for one message.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Num(i64),
    Text(String),
}

/// One message with its keys, one per criterion.
struct Row {
    seq: u32,
    uid: u32,
    keys: Vec<Key>,
}

impl ImapSession {
    /// SORT / UID SORT.
    pub(in crate::session::imap) fn cmd_sort(
        &mut self,
        tag: &str,
        uid_mode: bool,
        ret: Option<Vec<SearchReturn>>,
        criteria: &[SortCriterion],
        charset: &str,
        search: SearchKey,
    ) -> CommandResult {
        self.check_charset(Some(charset))?;
        let ids = self.sorted(&search, criteria, uid_mode)?;
        match ret {
            Some(mut opts) => {
                if opts.is_empty() {
                    opts.push(SearchReturn::All);
                }
                self.untagged(&esort(tag, uid_mode, &opts, &ids));
            }
            None => {
                let mut line = String::with_capacity(5 + ids.len() * 7);
                line.push_str("SORT");
                for id in ids {
                    let _ = write!(line, " {id}");
                }
                self.untagged(&line);
            }
        }
        ok(if uid_mode {
            "UID SORT completed"
        } else {
            "SORT completed"
        })
    }

    /// The UIDs (or sequence numbers) of the messages matching `search`
    /// in sort order: by each criterion, then by sequence number (RFC 5256
    /// §3: ties keep mailbox order). The rows are made while searching, so
    /// no message record is kept.
    fn sorted(
        &self,
        search: &SearchKey,
        criteria: &[SortCriterion],
        uid_mode: bool,
    ) -> Result<Vec<u32>, CommandError> {
        let needs_index = criteria
            .iter()
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size | SortKey::Date));
        let rev1 = !self.enabled.rev2;
        let State::Selected(login, sel) = &self.state else {
            unreachable!("allowed() admits SORT only when selected")
        };
        let store = self.shared.store.as_ref();
        let id = |seq: u32, uid: u32| if uid_mode { uid } else { seq };
        blocking_for(
            sel.uids.len() as usize,
            || -> Result<Vec<u32>, StoreError> {
                let searcher = Searcher::new(store, login.account, sel, rev1);
                if let [c] = criteria
                    && !needs_index
                {
                    // One date or size: a row is two numbers.
                    let mut rows: Vec<(i64, u32, u32)> = Vec::new();
                    searcher.visit(search, |seq, uid, rec| {
                        rows.push((numeric_key(c.key, &rec), seq, uid));
                        Ok(())
                    })?;
                    if c.reverse {
                        rows.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    } else {
                        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                    }
                    return Ok(rows.into_iter().map(|(_, s, u)| id(s, u)).collect());
                }
                let mut rows: Vec<Row> = Vec::new();
                searcher.visit(search, |seq, uid, rec| {
                    let index = match needs_index {
                        true => Some(store.search_index(&rec)?),
                        false => None,
                    };
                    let keys = criteria
                        .iter()
                        .map(|c| key(c.key, &rec, index.as_ref()))
                        .collect();
                    rows.push(Row { seq, uid, keys });
                    Ok(())
                })?;
                rows.sort_unstable_by(|a, b| {
                    for (i, c) in criteria.iter().enumerate() {
                        let o = a.keys[i].cmp(&b.keys[i]);
                        let o = if c.reverse { o.reverse() } else { o };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    a.seq.cmp(&b.seq)
                });
                Ok(rows.into_iter().map(|r| id(r.seq, r.uid)).collect())
            },
        )
        .map_err(CommandError::from)
    }
}

/// ARRIVAL, DATE and SIZE, from the record (RFC 5256 §3: DATE is the sent
/// date, else the INTERNALDATE, which the record's `sent` already is).
fn numeric_key(k: SortKey, rec: &MessageRecord) -> i64 {
    match k {
        SortKey::Date => rec.sent,
        SortKey::Size => rec.size as i64,
        _ => rec.internal_date,
    }
}

/// The value of one sort key (RFC 5256 §3, RFC 5957 §3): dates and sizes
/// from the record, the rest from the search index.
fn key(k: SortKey, rec: &MessageRecord, index: Option<&crate::message::SearchIndex>) -> Key {
    let text = |f: fn(&crate::message::SearchIndex) -> &str| {
        Key::Text(index.map(|i| f(i).to_owned()).unwrap_or_default())
    };
    match k {
        SortKey::Arrival | SortKey::Date | SortKey::Size => Key::Num(numeric_key(k, rec)),
        SortKey::Subject => text(|i| &i.base_subject),
        SortKey::From => text(|i| &i.from),
        SortKey::To => text(|i| &i.to),
        SortKey::Cc => text(|i| &i.cc),
        SortKey::DisplayFrom => text(|i| &i.display_from),
        SortKey::DisplayTo => text(|i| &i.display_to),
    }
}

/// The ESEARCH answer to SORT RETURN (RFC 5267 §3.1): MIN and MAX are the
/// first and last in sort order, ALL and PARTIAL keep the order.
fn esort(tag: &str, uid: bool, opts: &[SearchReturn], ids: &[u32]) -> String {
    let mut line = format!("ESEARCH (TAG \"{tag}\")");
    if uid {
        line.push_str(" UID");
    }
    for o in opts {
        match o {
            SearchReturn::Min if !ids.is_empty() => line.push_str(&format!(" MIN {}", ids[0])),
            SearchReturn::Max if !ids.is_empty() => {
                line.push_str(&format!(" MAX {}", ids[ids.len() - 1]))
            }
            SearchReturn::Count => line.push_str(&format!(" COUNT {}", ids.len())),
            SearchReturn::All if !ids.is_empty() => {
                line.push_str(" ALL ");
                line.push_str(&in_order(ids));
            }
            SearchReturn::Partial(lo, hi) => {
                let part = ids
                    .get(*lo as usize - 1..(*hi as usize).min(ids.len()))
                    .unwrap_or_default();
                let set = if part.is_empty() {
                    "NIL".to_owned()
                } else {
                    in_order(part)
                };
                line.push_str(&format!(" PARTIAL ({lo}:{hi} {set})"));
            }
            _ => {}
        }
    }
    line
}

/// Numbers in the given order, ascending consecutive runs as ranges.
fn in_order(ids: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            ids[i].to_string()
        } else {
            format!("{}:{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    out.join(",")
}
