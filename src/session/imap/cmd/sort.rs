//! SORT and UID SORT (RFC 5256 §3), with SORT=DISPLAY (RFC 5957) and the
//! ESORT / CONTEXT=SORT return options (RFC 5267 §3, §4.4), from the sort
//! keys stored at delivery.

use std::cmp::Ordering;

use crate::proto::imap::{SearchKey, SearchReturn, SortCriterion, SortKey};
use crate::session::imap::searcher::Hit;
use crate::session::imap::{CommandError, CommandResult, ImapSession, State, blocking, ok};

/// One message's sort keys.
struct Row {
    hit: Hit,
    arrival: i64,
    date: i64,
    size: u64,
    index: Option<crate::message::SearchIndex>,
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
        let hits = self.run_search(&search)?;
        let rows = self.sort_rows(hits, criteria)?;
        let ids: Vec<u32> = rows
            .iter()
            .map(|r| if uid_mode { r.hit.uid } else { r.hit.seq })
            .collect();
        match ret {
            Some(mut opts) => {
                if opts.is_empty() {
                    opts.push(SearchReturn::All);
                }
                self.untagged(&esort(tag, uid_mode, &opts, &ids));
            }
            None => {
                let mut line = String::from("SORT");
                for id in ids {
                    line.push(' ');
                    line.push_str(&id.to_string());
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

    /// The hits in sort order: by each criterion, then by sequence number
    /// (RFC 5256 §3: ties keep mailbox order).
    fn sort_rows(
        &self,
        hits: Vec<Hit>,
        criteria: &[SortCriterion],
    ) -> Result<Vec<Row>, CommandError> {
        let needs_index = criteria
            .iter()
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size));
        let State::Selected(login, sel) = &self.state else {
            unreachable!("allowed() admits SORT only when selected")
        };
        let store = self.shared.store.as_ref();
        let account = login.account;
        let mut rows = blocking(|| -> Result<Vec<Row>, crate::store::StoreError> {
            let mut rows = Vec::with_capacity(hits.len());
            for hit in hits {
                let Some(rec) = store.message(account, sel.id, hit.uid)? else {
                    continue;
                };
                let index = if needs_index {
                    Some(store.search_index(&rec)?)
                } else {
                    None
                };
                let date = index
                    .as_ref()
                    .and_then(|i| i.sent_date)
                    .unwrap_or(rec.internal_date);
                rows.push(Row {
                    hit,
                    arrival: rec.internal_date,
                    date,
                    size: rec.size,
                    index,
                });
            }
            Ok(rows)
        })?;
        rows.sort_by(|a, b| {
            for c in criteria {
                let o = compare(c.key, a, b);
                let o = if c.reverse { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.hit.seq.cmp(&b.hit.seq)
        });
        Ok(rows)
    }
}

fn compare(key: SortKey, a: &Row, b: &Row) -> Ordering {
    let text = |r: &Row, f: fn(&crate::message::SearchIndex) -> &str| -> String {
        r.index
            .as_ref()
            .map(|i| f(i).to_owned())
            .unwrap_or_default()
    };
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Date => a.date.cmp(&b.date),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => text(a, |i| &i.base_subject).cmp(&text(b, |i| &i.base_subject)),
        SortKey::From => text(a, |i| &i.from).cmp(&text(b, |i| &i.from)),
        SortKey::To => text(a, |i| &i.to).cmp(&text(b, |i| &i.to)),
        SortKey::Cc => text(a, |i| &i.cc).cmp(&text(b, |i| &i.cc)),
        SortKey::DisplayFrom => text(a, |i| &i.display_from).cmp(&text(b, |i| &i.display_from)),
        SortKey::DisplayTo => text(a, |i| &i.display_to).cmp(&text(b, |i| &i.display_to)),
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
