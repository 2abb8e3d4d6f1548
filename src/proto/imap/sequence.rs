//! Message sequence sets: `1:4,7,9:*` and SEARCHRES `$` (RFC 9051 §9,
//! RFC 5182 §2.1).

use std::fmt;

use super::primitives::{PResult, fail, mismatch, nz_number};

/// A set of message sequence numbers or UIDs, as the client wrote it
/// (ranges unsorted, possibly overlapping, `*` unresolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<SeqRange>);

/// One element of a sequence set: `5` is `start == end == Num(5)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// The first bound as written (may be larger than `end`).
    pub start: SeqBound,
    /// The second bound as written.
    pub end: SeqBound,
}

/// A bound of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqBound {
    /// A sequence number or UID, never 0.
    Num(u32),
    /// `*`: the largest number in use.
    Star,
    /// `$`: the result saved by `SEARCH RETURN (SAVE)` (RFC 5182). Always
    /// appears as `start == end == Saved`; the session substitutes it before
    /// calling [`SequenceSet::contains`] or [`SequenceSet::iter_resolved`],
    /// which skip it.
    Saved,
}

impl SeqBound {
    fn resolve(self, star: u32) -> Option<u32> {
        match self {
            SeqBound::Num(n) => Some(n),
            SeqBound::Star => Some(star),
            SeqBound::Saved => None,
        }
    }
}

impl SequenceSet {
    /// Normalized `(lo, hi)` ranges with `lo <= hi`; `*` becomes `star`
    /// (the highest sequence number or UID in the mailbox) and `4:2` becomes
    /// `(2, 4)`. `$` ranges are skipped. Ranges are not merged or sorted.
    pub fn iter_resolved(&self, star: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().filter_map(move |r| {
            let a = r.start.resolve(star)?;
            let b = r.end.resolve(star)?;
            Some((a.min(b), a.max(b)))
        })
    }

    /// Whether `n` is in the set, `*` standing for `star`.
    pub fn contains(&self, n: u32, star: u32) -> bool {
        self.iter_resolved(star).any(|(lo, hi)| lo <= n && n <= hi)
    }

    /// Whether the set refers to the saved search result `$`.
    pub fn uses_saved(&self) -> bool {
        self.0.iter().any(|r| r.start == SeqBound::Saved)
    }
}

impl fmt::Display for SeqBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqBound::Num(n) => write!(f, "{n}"),
            SeqBound::Star => f.write_str("*"),
            SeqBound::Saved => f.write_str("$"),
        }
    }
}

/// The wire form, e.g. `1:4,7,9:*` (for ESEARCH and COPYUID responses).
impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start == r.end {
                write!(f, "{}", r.start)?;
            } else {
                write!(f, "{}:{}", r.start, r.end)?;
            }
        }
        Ok(())
    }
}

/// `seq-number = nz-number / "*"` (RFC 9051 §9).
pub(crate) fn seq_number(i: &[u8]) -> PResult<'_, SeqBound> {
    match i {
        [b'*', rest @ ..] => Ok((rest, SeqBound::Star)),
        [b'0'..=b'9', ..] => nz_number(i).map(|(rest, n)| (rest, SeqBound::Num(n))),
        _ => mismatch(i),
    }
}

/// `seq-range = seq-number ":" seq-number` (RFC 9051 §9), or a lone
/// `seq-number`, or `seq-last-command = "$"` (RFC 5182 §2.1).
fn seq_element(i: &[u8]) -> PResult<'_, SeqRange> {
    if let Some(rest) = i.strip_prefix(b"$") {
        return Ok((
            rest,
            SeqRange {
                start: SeqBound::Saved,
                end: SeqBound::Saved,
            },
        ));
    }
    let (rest, start) = seq_number(i)?;
    if let Some(after) = rest.strip_prefix(b":") {
        let (rest, end) = match seq_number(after) {
            Ok(v) => v,
            Err(nom::Err::Error(_)) => return fail(after, "Invalid sequence range"),
            Err(e) => return Err(e),
        };
        return Ok((rest, SeqRange { start, end }));
    }
    Ok((rest, SeqRange { start, end: start }))
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]`
///
/// `sequence-set =/ seq-last-command` (RFC 9051 §9, RFC 5182 §2.1).
/// Parsed iteratively, so a long set cannot exhaust the stack.
pub(crate) fn sequence_set(i: &[u8]) -> PResult<'_, SequenceSet> {
    let (mut rest, first) = seq_element(i)?;
    let mut ranges = vec![first];
    while let Some(after) = rest.strip_prefix(b",") {
        let (r, range) = match seq_element(after) {
            Ok(v) => v,
            Err(nom::Err::Error(_)) => return fail(after, "Invalid sequence set"),
            Err(e) => return Err(e),
        };
        ranges.push(range);
        rest = r;
    }
    Ok((rest, SequenceSet(ranges)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> SequenceSet {
        let (rest, set) = sequence_set(s.as_bytes()).unwrap();
        assert!(rest.is_empty(), "{s}");
        set
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "1",
            "1:4,7,9:*",
            "*",
            "*:3",
            "$",
            "2,4:7,9,12:*",
            "4294967295",
        ] {
            assert_eq!(set(s).to_string(), s);
        }
        assert_eq!(
            set("3:*").0,
            vec![SeqRange {
                start: SeqBound::Num(3),
                end: SeqBound::Star
            }]
        );
    }

    #[test]
    fn resolve_and_contains() {
        let s = set("4:2,9:*,$");
        assert_eq!(
            s.iter_resolved(20).collect::<Vec<_>>(),
            vec![(2, 4), (9, 20)]
        );
        assert_eq!(s.iter_resolved(5).collect::<Vec<_>>(), vec![(2, 4), (5, 9)]);
        assert!(s.contains(3, 20));
        assert!(s.contains(20, 20));
        assert!(!s.contains(5, 20));
        assert!(s.uses_saved());
        assert!(!set("1").uses_saved());
    }

    #[test]
    fn rejects() {
        for s in ["0", "1:0", ",1", "a", "1:", "1,", "4294967296", ":3", "$:3"] {
            let r = sequence_set(s.as_bytes());
            assert!(r.is_err() || !r.unwrap().0.is_empty(), "{s}");
        }
    }
}
