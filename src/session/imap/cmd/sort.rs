//! SORT and UID SORT (RFC 5256 §3), with SORT=DISPLAY (RFC 5957) and the
//! ESORT / CONTEXT=SORT return options (RFC 5267 §3, §4.4), from the sort
//! keys stored at delivery.

use std::cmp::Ordering;

use crate::proto::imap::{SearchKey, SearchReturn, SortCriterion, SortKey};
use crate::session::imap::searcher::Hit;
use crate::session::imap::{CommandError, CommandResult, ImapSession, blocking, ok};

/// One sort key's value for one message.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Num(i64),
    Text(String),
}

/// One message with its keys, one per criterion.
struct Row {
    hit: Hit,
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
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size | SortKey::Date));
        let store = self.shared.store.as_ref();
        let mut rows = blocking(|| -> Result<Vec<Row>, crate::store::StoreError> {
            let mut rows = Vec::with_capacity(hits.len());
            for hit in hits {
                let index = match needs_index {
                    true => match store.search_index(&hit.rec) {
                        // Expunged by another session meanwhile.
                        Err(crate::store::StoreError::Expunged) => continue,
                        other => Some(other?),
                    },
                    false => None,
                };
                let keys = criteria
                    .iter()
                    .map(|c| key(c.key, &hit, index.as_ref()))
                    .collect();
                rows.push(Row { hit, keys });
            }
            Ok(rows)
        })?;
        rows.sort_by(|a, b| {
            for (i, c) in criteria.iter().enumerate() {
                let o = a.keys[i].cmp(&b.keys[i]);
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

/// The value of one sort key (RFC 5256 §3, RFC 5957 §3): dates and sizes
/// from the record, the rest from the search index.
fn key(k: SortKey, hit: &Hit, index: Option<&crate::message::SearchIndex>) -> Key {
    let text = |f: fn(&crate::message::SearchIndex) -> &str| {
        Key::Text(index.map(|i| f(i).to_owned()).unwrap_or_default())
    };
    match k {
        SortKey::Arrival => Key::Num(hit.rec.internal_date),
        SortKey::Date => Key::Num(hit.rec.sent),
        SortKey::Size => Key::Num(hit.rec.size as i64),
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
