//! [`UidMap`]: a session's message sequence numbers (RFC 9051 §2.3.1.2), and
//! the sets of UIDs it keeps (`\Recent`, the SEARCHRES result).
//!
//! A mailbox's UIDs are mostly runs of consecutive numbers with holes where
//! messages were expunged, so the map stores runs: a 100,000-message
//! mailbox with a few hundred holes costs a few kilobytes per session, not
//! 400 KB. Sequence number lookups are binary searches over the runs;
//! removing a batch of UIDs is one pass.

use crate::proto::imap::SequenceSet;

/// One run of consecutive UIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// The first UID.
    first: u32,
    /// How many UIDs: `first .. first + len`.
    len: u32,
    /// The sequence number of `first`.
    seq: u32,
}

impl Run {
    fn last(&self) -> u32 {
        self.first + (self.len - 1)
    }
}

/// An ascending set of UIDs, numbered 1..=len in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UidMap {
    runs: Vec<Run>,
    len: u32,
}

impl UidMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map of `uids`, which must be ascending.
    pub fn from_sorted(uids: impl IntoIterator<Item = u32>) -> Self {
        let mut map = UidMap::new();
        for uid in uids {
            map.push(uid);
        }
        map
    }

    /// The map of ascending, non-overlapping inclusive ranges of UIDs
    /// (a range not above the map's last UID is ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32)>) -> Self {
        let mut map = UidMap::new();
        for (first, last) in ranges {
            if last < first || map.last().is_some_and(|l| first <= l) {
                continue;
            }
            let len = last - first + 1;
            match map.runs.last_mut() {
                Some(r) if r.last().checked_add(1) == Some(first) => r.len += len,
                _ => map.runs.push(Run {
                    first,
                    len,
                    seq: map.len + 1,
                }),
            }
            map.len += len;
        }
        map
    }

    /// Number of messages.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The highest UID.
    pub fn last(&self) -> Option<u32> {
        self.runs.last().map(Run::last)
    }

    /// Appends a UID greater than every one in the map (others are ignored).
    pub fn push(&mut self, uid: u32) {
        if self.last().is_some_and(|l| uid <= l) {
            return;
        }
        self.len += 1;
        match self.runs.last_mut() {
            Some(r) if r.last().checked_add(1) == Some(uid) => r.len += 1,
            _ => self.runs.push(Run {
                first: uid,
                len: 1,
                seq: self.len,
            }),
        }
    }

    /// The UID of sequence number `seq`.
    pub fn uid(&self, seq: u32) -> Option<u32> {
        if seq == 0 || seq > self.len {
            return None;
        }
        let i = self.runs.partition_point(|r| r.seq <= seq) - 1;
        let r = self.runs[i];
        Some(r.first + (seq - r.seq))
    }

    /// The sequence number of `uid`.
    pub fn seq(&self, uid: u32) -> Option<u32> {
        let i = self
            .runs
            .partition_point(|r| r.first <= uid)
            .checked_sub(1)?;
        let r = self.runs[i];
        (uid <= r.last()).then(|| r.seq + (uid - r.first))
    }

    /// Whether `uid` is in the map.
    pub fn contains(&self, uid: u32) -> bool {
        self.seq(uid).is_some()
    }

    /// Every (sequence number, UID), ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs
            .iter()
            .flat_map(|r| (0..r.len).map(move |k| (r.seq + k, r.first + k)))
    }

    /// The UIDs, ascending.
    pub fn uids(&self) -> impl Iterator<Item = u32> + '_ {
        self.iter().map(|(_, u)| u)
    }

    /// Maximal runs of consecutive UIDs as (first UID, last UID).
    pub fn uid_ranges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs.iter().map(|r| (r.first, r.last()))
    }

    /// Removes the given UIDs (ascending; absent ones are skipped) in one
    /// pass, and returns the sequence numbers they had, ascending, each as
    /// it was before any of them was removed.
    pub fn remove_sorted(&mut self, uids: &[u32]) -> Vec<u32> {
        let mut removed = Vec::new();
        if uids.is_empty() || self.is_empty() {
            return removed;
        }
        let mut kept: Vec<Run> = Vec::with_capacity(self.runs.len() + uids.len().min(64));
        let mut doomed = uids.iter().copied().peekable();
        for run in &self.runs {
            // u64, so that removing UID 4294967295 cannot overflow.
            let mut start = u64::from(run.first);
            let end = u64::from(run.last());
            while let Some(&u) = doomed.peek() {
                let u64_ = u64::from(u);
                if u64_ > end {
                    break;
                }
                doomed.next();
                if u64_ < start {
                    continue;
                }
                removed.push(run.seq + (u - run.first));
                if u64_ > start {
                    kept.push(Run {
                        first: start as u32,
                        len: (u64_ - start) as u32,
                        seq: 0,
                    });
                }
                start = u64_ + 1;
            }
            if start <= end {
                kept.push(Run {
                    first: start as u32,
                    len: (end - start + 1) as u32,
                    seq: 0,
                });
            }
        }
        let mut seq = 1;
        for r in &mut kept {
            r.seq = seq;
            seq += r.len;
        }
        self.len = seq - 1;
        self.runs = kept;
        removed
    }

    /// Resolves a sequence set (`uid_mode` false) or UID set against the
    /// map: the (sequence number, UID) pairs it names, ascending, each once.
    /// `*` is the last message (RFC 9051 §6.4.8: a UID range whose ends
    /// both exceed the largest UID still names the last message); numbers
    /// that do not exist are skipped. `$` ranges are ignored (the caller
    /// substitutes the saved result first).
    pub fn resolve(&self, set: &SequenceSet, uid_mode: bool) -> Vec<(u32, u32)> {
        let Some(last_uid) = self.last() else {
            return Vec::new();
        };
        let star = if uid_mode { last_uid } else { self.len };
        let mut ranges: Vec<(u32, u32)> = set.iter_resolved(star).collect();
        ranges.sort_unstable();
        // Merge overlapping or adjacent ranges so each message comes once.
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(m) if lo <= m.1.saturating_add(1) => m.1 = m.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let mut out = Vec::new();
        for (lo, hi) in merged {
            if uid_mode {
                self.for_uid_range(lo, hi, |seq, uid| out.push((seq, uid)));
            } else {
                for seq in lo.max(1)..=hi.min(self.len) {
                    if let Some(uid) = self.uid(seq) {
                        out.push((seq, uid));
                    }
                }
            }
        }
        out
    }

    /// Calls `f` for every message with a UID in `lo..=hi`.
    fn for_uid_range(&self, lo: u32, hi: u32, mut f: impl FnMut(u32, u32)) {
        let start = self.runs.partition_point(|r| r.last() < lo);
        for r in &self.runs[start..] {
            if r.first > hi {
                break;
            }
            let a = lo.max(r.first);
            let b = hi.min(r.last());
            for uid in a..=b {
                f(r.seq + (uid - r.first), uid);
            }
        }
    }

    /// How many UIDs of the map are also in `other`.
    pub fn count_in(&self, other: &UidMap) -> u32 {
        let mut n = 0;
        for (lo, hi) in other.uid_ranges() {
            self.for_uid_range(lo, hi, |_, _| n += 1);
        }
        n
    }

    /// Whether sequence set `set` names a number beyond the last message
    /// (RFC 9051 §6.4.8: that is a `BAD` for non-UID commands).
    pub fn seq_out_of_range(&self, set: &SequenceSet) -> bool {
        set.iter_resolved(self.len.max(1))
            .any(|(_, hi)| hi > self.len)
    }
}

/// Writes UIDs (or any ascending numbers) as a compact `sequence-set`:
/// `1:3,5,8:9` (RFC 9051 §9), for ESEARCH, COPYUID, VANISHED.
pub fn compact_set(numbers: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let flush = |out: &mut String, (a, b): (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}:{b}"));
        }
    };
    for n in numbers {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(n) => Some((a, n)),
            Some(r) => {
                flush(&mut out, r);
                Some((n, n))
            }
            None => Some((n, n)),
        };
    }
    if let Some(r) = run {
        flush(&mut out, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::parse_command;

    fn set(s: &str) -> SequenceSet {
        match parse_command(format!("a UID EXPUNGE {s}\r\n").as_bytes())
            .unwrap()
            .body
        {
            crate::proto::imap::CommandBody::UidExpunge(set) => set,
            _ => unreachable!(),
        }
    }

    #[test]
    fn from_ranges_matches_from_sorted() {
        let ranges = [(1, 3), (4, 4), (7, 8), (8, 9), (20, 20), (5, 2)];
        let m = UidMap::from_ranges(ranges);
        assert_eq!(m, UidMap::from_sorted([1, 2, 3, 4, 7, 8, 20]));
        assert_eq!(m.seq(20), Some(7));
        assert_eq!(UidMap::from_ranges([]), UidMap::new());
        let big = UidMap::from_ranges([(1, 50_000), (50_002, 100_001)]);
        assert_eq!(big.len(), 100_000);
        assert_eq!(big.uid(50_001), Some(50_002));
    }

    #[test]
    fn numbers_and_lookups() {
        let mut m = UidMap::from_sorted([1, 2, 3, 7, 8, 20]);
        assert_eq!(m.len(), 6);
        assert_eq!(m.runs.len(), 3);
        assert_eq!(m.uid(4), Some(7));
        assert_eq!(m.uid(6), Some(20));
        assert_eq!(m.uid(7), None);
        assert_eq!(m.uid(0), None);
        assert_eq!(m.seq(8), Some(5));
        assert_eq!(m.seq(5), None);
        assert_eq!(m.seq(21), None);
        m.push(21);
        assert_eq!(m.runs.len(), 3);
        m.push(21);
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn batch_removal_reports_original_numbers() {
        let mut m = UidMap::from_sorted(1..=10);
        let seqs = m.remove_sorted(&[1, 4, 5, 10, 11]);
        assert_eq!(seqs, vec![1, 4, 5, 10]);
        assert_eq!(m.uids().collect::<Vec<_>>(), vec![2, 3, 6, 7, 8, 9]);
        assert_eq!(m.seq(6), Some(3));
        assert_eq!(m.len(), 6);
        let mut one = UidMap::from_sorted([5]);
        assert_eq!(one.remove_sorted(&[5]), vec![1]);
        assert!(one.is_empty());
        assert_eq!(one.last(), None);
    }

    #[test]
    fn resolve_sets() {
        let m = UidMap::from_sorted([3, 4, 5, 9, 12]);
        assert_eq!(m.resolve(&set("1:*"), true).len(), 5);
        assert_eq!(m.resolve(&set("4:9"), true), vec![(2, 4), (3, 5), (4, 9)]);
        // Past the end: `*` still names the last message.
        assert_eq!(m.resolve(&set("100:*"), true), vec![(5, 12)]);
        assert_eq!(
            m.resolve(&set("2,1,2:3"), false),
            vec![(1, 3), (2, 4), (3, 5)]
        );
        assert_eq!(m.resolve(&set("6"), true), vec![]);
        assert!(m.seq_out_of_range(&set("6")));
        assert!(!m.seq_out_of_range(&set("1:*")));
        assert_eq!(UidMap::new().resolve(&set("1:*"), true), vec![]);
    }

    #[test]
    fn hundred_thousand_contiguous_uids_are_one_run() {
        let m = UidMap::from_sorted(1..=100_000);
        assert_eq!(m.runs.len(), 1);
        assert_eq!(m.uid(54_321), Some(54_321));
        assert!(std::mem::size_of_val(&m.runs[..]) < 64);
    }

    #[test]
    fn compact_sets() {
        assert_eq!(compact_set([1, 2, 3, 5, 8, 9]), "1:3,5,8:9");
        assert_eq!(compact_set([]), "");
        assert_eq!(compact_set([7]), "7");
        let a = UidMap::from_sorted([1, 2, 3, 10]);
        let b = UidMap::from_sorted([2, 3, 4, 10]);
        assert_eq!(a.count_in(&b), 3);
    }
}
