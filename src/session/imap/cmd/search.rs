//! SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4), with ESEARCH
//! (RFC 4731), SEARCHRES (RFC 5182), CONTEXT=SEARCH (RFC 5267 §4: PARTIAL,
//! UPDATE with ADDTO/REMOVEFROM, CANCELUPDATE) and the CONDSTORE MODSEQ
//! answer (RFC 7162 §3.1.5).

use crate::proto::imap::{SearchKey, SearchReturn, SeqBound, SeqRange, SequenceSet};
use crate::session::imap::searcher::{Hit, Searcher};
use crate::session::imap::uidmap::{UidMap, compact_set};
use crate::session::imap::{
    CommandError, CommandResult, ImapSession, Selected, State, bad, blocking_for, no, ok,
};

/// Most searches kept up to date per session (RFC 5267 §4.2 allows a limit).
const MAX_UPDATES: usize = 8;

/// A search kept up to date (RFC 5267 §4.2).
pub struct UpdateSearch {
    /// The tag of the command that started it.
    pub tag: String,
    /// UIDs or sequence numbers in the updates.
    pub uid: bool,
    /// The criteria.
    pub criteria: SearchKey,
    /// The current result.
    pub result: UidMap,
}

impl ImapSession {
    /// Refuses charsets other than UTF-8 and US-ASCII (RFC 9051 §6.4.4:
    /// `NO [BADCHARSET (...)]`).
    pub(in crate::session::imap) fn check_charset(
        &self,
        charset: Option<&str>,
    ) -> Result<(), CommandError> {
        match charset {
            Some(cs)
                if !cs.eq_ignore_ascii_case("UTF-8") && !cs.eq_ignore_ascii_case("US-ASCII") =>
            {
                Err(no(
                    Some("BADCHARSET (UTF-8 US-ASCII)"),
                    "Unsupported charset",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Runs `criteria` over the selected mailbox.
    pub(in crate::session::imap) fn run_search(
        &self,
        criteria: &SearchKey,
    ) -> Result<Vec<Hit>, CommandError> {
        let rev1 = !self.enabled.rev2;
        let State::Selected(login, sel) = &self.state else {
            unreachable!("allowed() admits SEARCH only when selected")
        };
        let store = self.shared.store.as_ref();
        Ok(blocking_for(sel.uids.len() as usize, || {
            Searcher::new(store, login.account, sel, rev1).run(criteria)
        })?)
    }

    /// SEARCH / UID SEARCH.
    pub(in crate::session::imap) fn cmd_search(
        &mut self,
        tag: &str,
        uid_mode: bool,
        charset: Option<&str>,
        criteria: SearchKey,
        ret: Option<Vec<SearchReturn>>,
    ) -> CommandResult {
        self.check_charset(charset)?;
        if uses_modseq(&criteria) {
            self.enable_condstore();
        }
        let hits = self.run_search(&criteria)?;
        let with_modseq = uses_modseq(&criteria);
        // IMAP4rev2 answers ESEARCH always (RFC 9051 §6.4.4).
        let ret = match ret {
            None if self.enabled.rev2 => Some(vec![SearchReturn::All]),
            other => other,
        };
        let Some(mut opts) = ret else {
            let ids: Vec<String> = hits
                .iter()
                .map(|h| if uid_mode { h.uid } else { h.seq }.to_string())
                .collect();
            let mut line = String::from("SEARCH");
            for id in &ids {
                line.push(' ');
                line.push_str(id);
            }
            if with_modseq && let Some(m) = hits.iter().map(|h| h.modseq).max() {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            self.untagged(&line);
            return ok(if uid_mode {
                "UID SEARCH completed"
            } else {
                "SEARCH completed"
            });
        };
        if opts.is_empty() {
            opts.push(SearchReturn::All);
        }
        if opts.contains(&SearchReturn::Update) {
            self.start_update(tag, uid_mode, &criteria, &hits)?;
        }
        let ids: Vec<u32> = hits
            .iter()
            .map(|h| if uid_mode { h.uid } else { h.seq })
            .collect();
        if opts.contains(&SearchReturn::Save) {
            self.save_result(&opts, &hits);
        }
        let answer = esearch(
            tag,
            uid_mode,
            &opts,
            &ids,
            with_modseq.then(|| max_modseq(&hits, &opts)),
        );
        // RFC 5182 §2.1: with SAVE alone, no ESEARCH response.
        let save_only = opts.iter().all(|o| matches!(o, SearchReturn::Save));
        if !save_only {
            self.untagged(&answer);
        }
        ok(if uid_mode {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        })
    }

    /// SEARCHRES: keeps the result (or only its MIN/MAX, RFC 5182 §2.4).
    pub(in crate::session::imap) fn save_result(&mut self, opts: &[SearchReturn], hits: &[Hit]) {
        let (_, sel) = self.state.selected_mut();
        let min_max = opts
            .iter()
            .any(|o| matches!(o, SearchReturn::Min | SearchReturn::Max));
        let mut uids: Vec<u32> = if min_max {
            let mut v = Vec::new();
            if opts.contains(&SearchReturn::Min)
                && let Some(h) = hits.first()
            {
                v.push(h.uid);
            }
            if opts.contains(&SearchReturn::Max)
                && let Some(h) = hits.last()
            {
                v.push(h.uid);
            }
            v
        } else {
            hits.iter().map(|h| h.uid).collect()
        };
        uids.sort_unstable();
        uids.dedup();
        sel.saved = UidMap::from_sorted(uids);
    }

    /// A sequence set with `$` replaced by the saved result (RFC 5182
    /// §2.1), as UIDs for UID commands and message numbers otherwise.
    pub(in crate::session::imap) fn resolve_saved(
        &self,
        set: &SequenceSet,
        uid: bool,
    ) -> SequenceSet {
        if !set.uses_saved() {
            return set.clone();
        }
        let State::Selected(_, sel) = &self.state else {
            return set.clone();
        };
        let mut ranges: Vec<SeqRange> = set
            .0
            .iter()
            .filter(|r| r.start != SeqBound::Saved)
            .copied()
            .collect();
        for u in sel.saved.uids() {
            let n = if uid { Some(u) } else { sel.uids.seq(u) };
            if let Some(n) = n {
                ranges.push(SeqRange {
                    start: SeqBound::Num(n),
                    end: SeqBound::Num(n),
                });
            }
        }
        if ranges.is_empty() {
            // An empty saved result names no message (RFC 5182 §2.1): a
            // number no message has.
            ranges.push(SeqRange {
                start: SeqBound::Num(u32::MAX),
                end: SeqBound::Num(u32::MAX),
            });
        }
        SequenceSet(ranges)
    }

    fn start_update(
        &mut self,
        tag: &str,
        uid: bool,
        criteria: &SearchKey,
        hits: &[Hit],
    ) -> Result<(), CommandError> {
        let (_, sel) = self.state.selected_mut();
        if sel.updates.iter().any(|u| u.tag == tag) {
            return Err(bad("A search with this tag is already being updated"));
        }
        if sel.updates.len() >= MAX_UPDATES {
            return Err(no(Some("LIMIT"), "Too many searches being updated"));
        }
        sel.updates.push(UpdateSearch {
            tag: tag.to_owned(),
            uid,
            criteria: criteria.clone(),
            result: UidMap::from_sorted(hits.iter().map(|h| h.uid).collect::<Vec<_>>()),
        });
        Ok(())
    }

    /// CANCELUPDATE (RFC 5267 §4.2).
    pub(in crate::session::imap) fn cmd_cancel_update(&mut self, tags: &[String]) -> CommandResult {
        let (_, sel) = self.state.selected_mut();
        for t in tags {
            if !sel.updates.iter().any(|u| &u.tag == t) {
                return Err(bad("No search with that tag is being updated"));
            }
        }
        sel.updates.retain(|u| !tags.contains(&u.tag));
        ok("CANCELUPDATE completed")
    }

    /// Tells the updated searches what changed: `expunged` UIDs are still
    /// in the session's view (so their numbers can be given), `changed`
    /// and `arrived` are in it.
    pub(in crate::session::imap) fn update_searches(
        &mut self,
        changed: &[u32],
        arrived: &[u32],
        expunged: &[u32],
    ) {
        let rev1 = !self.enabled.rev2;
        let State::Selected(login, sel) = &mut self.state else {
            return;
        };
        if sel.updates.is_empty() {
            return;
        }
        let store = self.shared.store.clone();
        let mut updates = std::mem::take(&mut sel.updates);
        let mut lines = Vec::new();
        for up in &mut updates {
            let mut removes: Vec<u32> = Vec::new();
            let mut adds: Vec<u32> = Vec::new();
            for &u in expunged {
                if up.result.contains(u) {
                    removes.push(u);
                }
            }
            let searcher = Searcher::new(store.as_ref(), login.account, sel, rev1);
            for &u in changed.iter().chain(arrived) {
                let hit = match searcher.test(&up.criteria, u) {
                    Ok(h) => h.is_some(),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot update a search");
                        continue;
                    }
                };
                match (hit, up.result.contains(u)) {
                    (true, false) => adds.push(u),
                    (false, true) => removes.push(u),
                    _ => {}
                }
            }
            if removes.is_empty() && adds.is_empty() {
                continue;
            }
            removes.sort_unstable();
            adds.sort_unstable();
            let number = |u: &u32| if up.uid { Some(*u) } else { sel.uids.seq(*u) };
            let mut line = format!("ESEARCH (TAG \"{}\")", up.tag);
            if up.uid {
                line.push_str(" UID");
            }
            if !removes.is_empty() {
                line.push_str(&format!(
                    " REMOVEFROM (0 {})",
                    compact_set(removes.iter().filter_map(number))
                ));
            }
            if !adds.is_empty() {
                line.push_str(&format!(
                    " ADDTO (0 {})",
                    compact_set(adds.iter().filter_map(number))
                ));
            }
            lines.push(line);
            let mut result: Vec<u32> = up
                .result
                .uids()
                .filter(|u| removes.binary_search(u).is_err())
                .collect();
            result.extend(adds);
            result.sort_unstable();
            up.result = UidMap::from_sorted(result);
        }
        sel.updates = updates;
        for line in lines {
            self.untagged(&line);
        }
    }
}

/// Whether the criteria use MODSEQ (a CONDSTORE-enabling search whose
/// answer carries the highest MODSEQ, RFC 7162 §3.1.5).
pub fn uses_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(k) => uses_modseq(k),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        SearchKey::And(keys) => keys.iter().any(uses_modseq),
        _ => false,
    }
}

/// The MODSEQ an ESEARCH answer reports: of the messages it returns
/// (RFC 4731 §3.2 with RFC 7162 §3.1.5: for MIN/MAX only, of those).
fn max_modseq(hits: &[Hit], opts: &[SearchReturn]) -> u64 {
    let wants_all = opts.iter().any(|o| {
        matches!(
            o,
            SearchReturn::All | SearchReturn::Count | SearchReturn::Partial(..)
        )
    });
    if wants_all || hits.is_empty() {
        return hits.iter().map(|h| h.modseq).max().unwrap_or(0);
    }
    let mut m = 0;
    if opts.contains(&SearchReturn::Min) {
        m = m.max(hits[0].modseq);
    }
    if opts.contains(&SearchReturn::Max) {
        m = m.max(hits[hits.len() - 1].modseq);
    }
    m
}

/// `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]
/// [PARTIAL (lo:hi set)] [MODSEQ n]` (RFC 4731 §3.1, RFC 5267 §4.4).
/// `ids` are in result order (ascending for SEARCH, sorted for SORT).
pub fn esearch(
    tag: &str,
    uid: bool,
    opts: &[SearchReturn],
    ids: &[u32],
    modseq: Option<u64>,
) -> String {
    let mut line = format!("ESEARCH (TAG \"{tag}\")");
    if uid {
        line.push_str(" UID");
    }
    let mut sorted: Option<Vec<u32>> = None;
    let mut as_set = |ids: &[u32]| {
        let v = sorted.get_or_insert_with(|| {
            let mut v = ids.to_vec();
            v.sort_unstable();
            v
        });
        compact_set(v.iter().copied())
    };
    for o in opts {
        match o {
            SearchReturn::Min if !ids.is_empty() => {
                line.push_str(&format!(" MIN {}", ids.iter().min().unwrap_or(&0)));
            }
            SearchReturn::Max if !ids.is_empty() => {
                line.push_str(&format!(" MAX {}", ids.iter().max().unwrap_or(&0)));
            }
            SearchReturn::Count => line.push_str(&format!(" COUNT {}", ids.len())),
            SearchReturn::All if !ids.is_empty() => {
                line.push_str(&format!(" ALL {}", as_set(ids)));
            }
            SearchReturn::Partial(lo, hi) => {
                let (lo, hi) = (*lo as usize, *hi as usize);
                let part = ids.get(lo - 1..hi.min(ids.len())).unwrap_or_default();
                let set = if part.is_empty() {
                    "NIL".to_string()
                } else {
                    // Keep the result order: consecutive runs only.
                    compact_in_order(part)
                };
                line.push_str(&format!(" PARTIAL ({lo}:{hi} {set})"));
            }
            _ => {}
        }
    }
    if let Some(m) = modseq
        && !ids.is_empty()
    {
        line.push_str(&format!(" MODSEQ {m}"));
    }
    line
}

/// A sequence set that keeps the order of `ids` (for sorted PARTIAL
/// results): runs of ascending consecutive numbers become ranges.
fn compact_in_order(ids: &[u32]) -> String {
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

impl Selected {
    /// Whether any search is being kept up to date.
    pub fn has_updates(&self) -> bool {
        !self.updates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esearch_forms() {
        use SearchReturn as R;
        assert_eq!(
            esearch("t", false, &[R::All], &[1, 2, 3, 5], None),
            "ESEARCH (TAG \"t\") ALL 1:3,5"
        );
        assert_eq!(
            esearch("t", true, &[R::Min, R::Max, R::Count], &[4, 9], None),
            "ESEARCH (TAG \"t\") UID MIN 4 MAX 9 COUNT 2"
        );
        assert_eq!(
            esearch("t", false, &[R::Min], &[], None),
            "ESEARCH (TAG \"t\")"
        );
        assert_eq!(
            esearch("t", false, &[R::Count], &[], None),
            "ESEARCH (TAG \"t\") COUNT 0"
        );
        assert_eq!(
            esearch("t", false, &[R::Partial(2, 4)], &[1, 2, 4, 5], None),
            "ESEARCH (TAG \"t\") PARTIAL (2:4 2,4:5)"
        );
        assert_eq!(
            esearch("t", false, &[R::Partial(6, 6)], &[1, 2], None),
            "ESEARCH (TAG \"t\") PARTIAL (6:6 NIL)"
        );
        assert_eq!(
            esearch("t", false, &[R::Partial(2, 4)], &[5, 4, 3, 2, 1], None),
            "ESEARCH (TAG \"t\") PARTIAL (2:4 4,3,2)"
        );
        assert_eq!(
            esearch("t", false, &[R::All], &[1], Some(9)),
            "ESEARCH (TAG \"t\") ALL 1 MODSEQ 9"
        );
    }
}
