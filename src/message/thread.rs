//! IMAP SORT and THREAD helpers (RFC 5256): base subjects, message ids, the
//! ORDEREDSUBJECT and REFERENCES threading algorithms, and the `thread-data` writer.
//!
//! Pure and self-contained (std only, no I/O). The caller hands in RFC 2047-decoded
//! subjects, raw Message-ID / References / In-Reply-To values and one "sent date" per
//! message, in sequence order; it gets back a forest of [`ThreadNode`]s, which
//! [`write_threads`] renders as RFC 5256 §4 `thread-list`s.
//!
//! Everything here is attacker controlled (anyone can mail the mailbox), so:
//! - work is O(n log n) in the total number of message ids. Ids are looked up in a
//!   `HashMap` (randomly keyed `SipHash`: no chosen collisions). REFERENCES step 1 must not
//!   create loops, i.e. must answer "is A a descendant of B?" before every link; a
//!   References header can make a chain 100,000 ids long, so instead of walking up the
//!   chain each time the question goes to a link-cut tree (`LinkCut`), amortized
//!   O(log n) per question;
//! - nothing recurses on the input: trees are walked with explicit stacks, and
//!   [`ThreadNode`]'s `Drop` takes its descendants apart iteratively, so a thread
//!   100,000 messages deep is built, written and freed on a few kilobytes of stack;
//! - base subject extraction is linear in the subject's length (see
//!   `strip_subj_leader`);
//! - nothing panics: slices are taken with patterns or `get`, and every index into the
//!   internal arrays is one the same code pushed (the invariant is noted where used).
//!
//! Sort order everywhere is RFC 5256 §2.2's "sent date", ties broken by the order of
//! the caller's slice (RFC 5256 §3 REFERENCES step 4: "the order in which the messages
//! appear in the mailbox (that is, by sequence number)").

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write as _;
use std::mem;
use std::ptr;

/// "No node": the parent of a root, the child of a leaf.
const NIL: usize = usize::MAX;

// ---------------------------------------------------------------------------
// Base subject: RFC 5256 §2.1
// ---------------------------------------------------------------------------

/// RFC 5256 §2.1: the base subject of an already RFC 2047-decoded subject (UTF-8),
/// case-folded for comparison. See [`base_subject_with_flag`] for exactly what is
/// returned.
pub fn base_subject(subject: &str) -> String {
    base_subject_with_flag(subject).0
}

/// RFC 5256 §2.1 steps 1-6: the base subject, and whether the subject marked a reply
/// or forward (what RFC 5256 §3 REFERENCES step 5 asks).
///
/// What is returned, exactly:
/// - Step 1 (the caller has done the RFC 2047 decoding): every run of SP, HTAB, CR and
///   LF becomes one SP, and every character becomes its uppercase form when Unicode
///   gives it a one-character uppercase (`char::to_uppercase`), else stays as it is
///   (`ß` stays `ß`). Uppercase, not lowercase, because the collations RFC 5256 uses
///   fold that way: i;ascii-casemap (RFC 4790 §9.2) maps a-z to A-Z and
///   i;unicode-casemap (RFC 5051) maps to titlecase. The direction decides where
///   `[ \ ] ^ _` and the backquote sort against letters, and imaptest's sort-subject
///   expects `[xyz]` and `_` after `c`.
/// - Steps 2-6 then remove trailing `subj-trailer`s, leading `subj-leader`s and
///   `subj-blob`s, and a `subj-fwd-hdr` ... `subj-fwd-trl` wrapper, repeating as the
///   RFC says. What is left (possibly empty) is the base subject: a `String` ready to
///   compare with `==` or `Ord` (byte order of the folded text).
///
/// The flag is true when step 2 removed a `(fwd)` trailer, step 3 a `subj-refwd`
/// (`Re:`, `Fw:`, `Fwd:`, with or without blobs), or step 6 a `[fwd: ...]` wrapper.
/// The THREAD drafts defined "reply or forward" as a `subj-refwd` and/or a `(fwd)`
/// trailer, from before the wrapper was part of the algorithm; counting the wrapper
/// too is what Dovecot does, and `[fwd: x]` is a forward by any reading.
pub fn base_subject_with_flag(subject: &str) -> (String, bool) {
    let folded = fold_subject(subject);
    let mut text = folded.as_bytes();
    let mut reply_or_fwd = false;
    loop {
        reply_or_fwd |= strip_subj_trailers(&mut text);
        // Step 5: repeat steps 3 and 4 until neither removes anything.
        let mut failed_run = None;
        loop {
            let leader = strip_subj_leader(&mut text, &mut failed_run, &mut reply_or_fwd);
            let blob = strip_subj_blob(&mut text);
            if !leader && !blob {
                break;
            }
        }
        if !strip_subj_fwd(&mut text) {
            break;
        }
        reply_or_fwd = true;
    }
    // Every cut above is next to an ASCII byte, so `text` is still valid UTF-8 and
    // this conversion never replaces anything.
    (String::from_utf8_lossy(text).into_owned(), reply_or_fwd)
}

/// RFC 5256 §2.1 step 1, after RFC 2047 decoding: "Convert all tabs and continuations
/// to space. Convert all multiple spaces to a single space." Also case-folds (see
/// [`base_subject_with_flag`]), so that later steps match `re`, `fw`, `fwd` as `RE`,
/// `FW`, `FWD`. No character other than r, e, f, w, d uppercases to R, E, F, W, D, so
/// folding first matches exactly what a case-insensitive match would.
fn fold_subject(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len());
    let mut in_space = false;
    for c in subject.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(fold_char(c));
            in_space = false;
        }
    }
    out
}

/// The uppercase of `c` when it is a single character, else `c`.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// RFC 5256 §2.1 step 2: "Remove all trailing text of the subject that matches the
/// subj-trailer ABNF; repeat until no more matches are possible", where
/// `subj-trailer = "(fwd)" / WSP` (RFC 5256 §5). Returns whether a `(fwd)` was removed.
fn strip_subj_trailers(text: &mut &[u8]) -> bool {
    let mut fwd = false;
    loop {
        match *text {
            [rest @ .., b' '] => *text = rest,
            [rest @ .., b'(', b'F', b'W', b'D', b')'] => {
                *text = rest;
                fwd = true;
            }
            _ => return fwd,
        }
    }
}

/// RFC 5256 §2.1 step 3: removes one `subj-leader = (*subj-blob subj-refwd) / WSP`
/// (RFC 5256 §5) from the start of `text`; returns whether it did, and sets
/// `reply_or_fwd` when the leader held a `subj-refwd`.
///
/// `failed_run` keeps the extraction linear. When a run of blobs is not followed by a
/// `subj-refwd`, it records where the run ended, as the length of text left there.
/// Step 4 then removes the run's blobs one at a time, and after each, this step would
/// rescan the rest of the same run only to fail at the same place (`[a][a][a]...x`
/// would be quadratic); with the mark it fails at once. The mark is valid while the
/// end of `text` does not move, i.e. for one pass of step 5's loop.
fn strip_subj_leader(
    text: &mut &[u8],
    failed_run: &mut Option<usize>,
    reply_or_fwd: &mut bool,
) -> bool {
    if let [b' ', rest @ ..] = *text {
        *text = rest;
        return true;
    }
    if failed_run.is_some_and(|left| text.len() > left) {
        return false;
    }
    let mut rest = *text;
    while let Some(len) = subj_blob(rest) {
        rest = advance(rest, len);
    }
    match subj_refwd(rest) {
        Some(len) => {
            *text = advance(rest, len);
            *reply_or_fwd = true;
            true
        }
        None => {
            if rest.len() < text.len() {
                *failed_run = Some(rest.len());
            }
            false
        }
    }
}

/// RFC 5256 §2.1 step 4: "If there is prefix text of the subject that matches the
/// subj-blob ABNF, and removing that prefix leaves a non-empty subj-base, then remove
/// the prefix text." Trailing spaces are gone (step 2) and a blob takes the spaces
/// after it, so any text left is a non-empty `subj-base`.
fn strip_subj_blob(text: &mut &[u8]) -> bool {
    match subj_blob(text) {
        Some(len) if len < text.len() => {
            *text = advance(text, len);
            true
        }
        _ => false,
    }
}

/// RFC 5256 §2.1 step 6: "If the resulting text begins with the subj-fwd-hdr ABNF and
/// ends with the subj-fwd-trl ABNF, remove the subj-fwd-hdr and subj-fwd-trl", where
/// `subj-fwd-hdr = "[fwd:"` and `subj-fwd-trl = "]"` (RFC 5256 §5). The caller then
/// repeats from step 2.
fn strip_subj_fwd(text: &mut &[u8]) -> bool {
    match *text {
        [b'[', b'F', b'W', b'D', b':', inner @ .., b']'] => {
            *text = inner;
            true
        }
        _ => false,
    }
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP` (RFC 5256 §5), with
/// `BLOBCHAR = %x01-5a / %x5c / %x5e-ff` (any byte but NUL, `[` and `]`): the length
/// of the blob that starts `text`, or `None`.
fn subj_blob(text: &[u8]) -> Option<usize> {
    let [b'[', body @ ..] = text else {
        return None;
    };
    let end = body.iter().position(|&b| matches!(b, 0 | b'[' | b']'))?;
    let [b']', after @ ..] = body.get(end..)? else {
        return None;
    };
    Some(text.len() - skip_spaces(after).len())
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"` (RFC 5256 §5): the length
/// of the `subj-refwd` that starts `text` (already uppercased), or `None`.
fn subj_refwd(text: &[u8]) -> Option<usize> {
    // "FW" followed by "D" can only continue as "FWD": after "FW", the grammar wants
    // WSP, "[" or ":", never "D".
    let rest = match text {
        [b'R', b'E', rest @ ..] => rest,
        [b'F', b'W', b'D', rest @ ..] => rest,
        [b'F', b'W', rest @ ..] => rest,
        _ => return None,
    };
    let rest = skip_spaces(rest);
    let rest = match subj_blob(rest) {
        Some(len) => advance(rest, len),
        None => rest,
    };
    let [b':', after @ ..] = rest else {
        return None;
    };
    Some(text.len() - after.len())
}

/// `text` without its leading spaces (`*WSP`; step 1 turned HTAB into SP).
fn skip_spaces(text: &[u8]) -> &[u8] {
    let n = text.iter().take_while(|&&b| b == b' ').count();
    advance(text, n)
}

/// `text` without its first `n` bytes (all of it when shorter).
fn advance(text: &[u8], n: usize) -> &[u8] {
    text.get(n..).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Message ids: RFC 5322 §3.6.4, as RFC 5256 §3 REFERENCES step 1 reads them
// ---------------------------------------------------------------------------

/// The message ids of a Message-ID, References or In-Reply-To value, in order, without
/// their angle brackets (`<a@b>` gives `a@b`). RFC 5256 §3 REFERENCES step 1 threads
/// on these.
///
/// A message id (RFC 5322 §3.6.4 `msg-id`) is taken to be `<`, then text holding an
/// `@` with something on both sides, then `>`. Whitespace inside (folding) is dropped
/// and a quoted part (`<"a b"@c>`) is kept verbatim. Outside the brackets, comments
/// `(...)` and quoted strings `"..."` are skipped, so the `<...>` in
/// `In-Reply-To: <a@b> (from "Jo" <jo@example.com>)` is not taken for an id. Anything
/// else that is not a valid id (no `@`, no closing `>`, a `<` inside: parsing restarts
/// at that `<`) is skipped. Bytes that are not UTF-8 become U+FFFD; ids are compared
/// case-sensitively, as bytes.
pub fn message_ids(value: &[u8]) -> Vec<String> {
    MessageIds { rest: value }.collect()
}

/// The first message id of a header value (see [`message_ids`]), without parsing the
/// rest of it.
fn first_message_id(value: &[u8]) -> Option<String> {
    MessageIds { rest: value }.next()
}

/// Iterator behind [`message_ids`].
struct MessageIds<'a> {
    rest: &'a [u8],
}

impl Iterator for MessageIds<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            let (&b, tail) = self.rest.split_first()?;
            match b {
                b'(' => self.rest = skip_comment(tail),
                b'"' => self.rest = skip_quoted(tail),
                b'<' => {
                    let (id, rest) = angle_id(tail);
                    self.rest = rest;
                    if id.is_some() {
                        return id;
                    }
                }
                _ => self.rest = tail,
            }
        }
    }
}

/// `id-left "@" id-right ">"` (RFC 5322 §3.6.4), just after a `<`: the id, when valid,
/// and the input after it. A `<` inside ends the attempt, and the input returned starts
/// at that `<`, to be tried as the next id.
fn angle_id(text: &[u8]) -> (Option<String>, &[u8]) {
    let mut id = Vec::new();
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'>' => {
                let valid = matches!(id.as_slice(), [_, middle @ .., _] if middle.contains(&b'@'));
                let id = valid.then(|| String::from_utf8_lossy(&id).into_owned());
                return (id, tail);
            }
            b'<' => return (None, rest),
            b' ' | b'\t' | b'\r' | b'\n' => rest = tail,
            b'"' => {
                let after = skip_quoted(tail);
                let quoted = rest.get(..rest.len() - after.len()).unwrap_or_default();
                id.extend_from_slice(quoted);
                rest = after;
            }
            _ => {
                id.push(b);
                rest = tail;
            }
        }
    }
    (None, rest)
}

/// The input after a comment whose `(` has just been read (RFC 5322 §3.2.2: nested
/// comments, `\` quoting one byte). An unclosed comment takes the rest of the input.
fn skip_comment(text: &[u8]) -> &[u8] {
    let mut depth = 1usize;
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'\\' => rest = advance(rest, 1),
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return rest;
                }
            }
            _ => {}
        }
    }
    rest
}

/// The input after a quoted string whose `"` has just been read (RFC 5322 §3.2.4, `\`
/// quoting one byte). An unclosed string takes the rest of the input.
fn skip_quoted(text: &[u8]) -> &[u8] {
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'\\' => rest = advance(rest, 1),
            b'"' => return rest,
            _ => {}
        }
    }
    rest
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// One message as THREAD sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadMessage {
    /// What to print in the response: a sequence number or a UID.
    pub id: u32,
    /// Message-ID header value as sent (raw bytes), if any.
    pub message_id: Option<Vec<u8>>,
    /// References header value as sent, if any.
    pub references: Option<Vec<u8>>,
    /// In-Reply-To header value as sent, if any.
    pub in_reply_to: Option<Vec<u8>>,
    /// Subject, RFC 2047-decoded to UTF-8 (the caller decodes).
    pub subject: String,
    /// RFC 5256 "sent date": the Date header as Unix seconds, or the internal date when
    /// the Date header is missing or invalid (the caller decides; this gets one number).
    pub sent_date: i64,
}

/// A thread tree node. `id == None` is a dummy: a message referenced but not present.
///
/// The threading functions return dummies only at the top level, each with two or more
/// children (RFC 5256 §3 REFERENCES steps 3 and 5); [`write_threads`] prints those as
/// `((3)(5))`. Trees built by hand may hold dummies anywhere; the writer still emits
/// valid `thread-list`s for them (see [`write_threads`]).
///
/// `Drop`, `PartialEq` and `Debug` walk the tree with an explicit stack, so deep trees
/// are safe. Because of the `Drop` impl, take the children out with
/// `std::mem::take(&mut node.children)` rather than by destructuring.
pub struct ThreadNode {
    /// The message's id (as given in [`ThreadMessage::id`]), or `None` for a dummy.
    pub id: Option<u32>,
    /// The children, sorted by sent date.
    pub children: Vec<ThreadNode>,
}

impl ThreadNode {
    /// A node for message `id` with no children.
    pub fn leaf(id: u32) -> Self {
        ThreadNode {
            id: Some(id),
            children: Vec::new(),
        }
    }
}

impl Drop for ThreadNode {
    /// Frees the descendants one by one: the default drop would recurse once per level.
    fn drop(&mut self) {
        let mut pending = mem::take(&mut self.children);
        while let Some(mut node) = pending.pop() {
            pending.append(&mut node.children);
            // `node` drops here, childless.
        }
    }
}

impl PartialEq for ThreadNode {
    fn eq(&self, other: &Self) -> bool {
        let mut pending = vec![(self, other)];
        while let Some((a, b)) = pending.pop() {
            if a.id != b.id || a.children.len() != b.children.len() {
                return false;
            }
            pending.extend(a.children.iter().zip(&b.children));
        }
        true
    }
}

impl Eq for ThreadNode {}

impl fmt::Debug for ThreadNode {
    /// `1[2, 3[4, -[5, 6]]]`: the id (`-` for a dummy), then the children in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pending: Vec<std::slice::Iter<'_, ThreadNode>> =
            vec![std::slice::from_ref(self).iter()];
        let mut separate = false;
        while let Some(level) = pending.last_mut() {
            let Some(node) = level.next() else {
                pending.pop();
                if !pending.is_empty() {
                    f.write_str("]")?;
                    separate = true;
                }
                continue;
            };
            if separate {
                f.write_str(", ")?;
            }
            match node.id {
                Some(id) => write!(f, "{id}")?,
                None => f.write_str("-")?,
            }
            if node.children.is_empty() {
                separate = true;
            } else {
                f.write_str("[")?;
                separate = false;
                pending.push(node.children.iter());
            }
        }
        Ok(())
    }
}

/// RFC 5256 §2.2 order: sent date, ties by position in the caller's slice.
fn sent_key(messages: &[ThreadMessage], index: usize) -> (i64, usize) {
    let date = messages.get(index).map_or(i64::MAX, |m| m.sent_date);
    (date, index)
}

/// The response id of `messages[index]`.
fn response_id(messages: &[ThreadMessage], index: usize) -> Option<u32> {
    messages.get(index).map(|m| m.id)
}

// ---------------------------------------------------------------------------
// THREAD=ORDEREDSUBJECT: RFC 5256 §3
// ---------------------------------------------------------------------------

/// RFC 5256 §3 THREAD=ORDEREDSUBJECT: "The searched messages are sorted by base subject
/// and then by the sent date. The messages are then split into separate threads, with
/// each thread containing messages with the same base subject text. Finally, the
/// threads are sorted by the sent date of the first message in the thread."
///
/// The first message of a thread is its root, and all the others are its children,
/// siblings of one another, in sent date order. Messages whose base subject is empty
/// form one thread like any other subject (imaptest expects `(9 10)` for them).
pub fn thread_orderedsubject(messages: &[ThreadMessage]) -> Vec<ThreadNode> {
    let mut by_subject: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        by_subject
            .entry(base_subject(&message.subject))
            .or_default()
            .push(index);
    }
    let mut threads: Vec<Vec<usize>> = by_subject.into_values().collect();
    for thread in &mut threads {
        thread.sort_unstable_by_key(|&index| sent_key(messages, index));
    }
    threads.sort_unstable_by_key(|thread| thread.first().map(|&index| sent_key(messages, index)));
    threads
        .iter()
        .filter_map(|thread| {
            let (&first, rest) = thread.split_first()?;
            Some(ThreadNode {
                id: response_id(messages, first),
                children: rest
                    .iter()
                    .map(|&index| ThreadNode {
                        id: response_id(messages, index),
                        children: Vec::new(),
                    })
                    .collect(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// THREAD=REFERENCES: RFC 5256 §3
// ---------------------------------------------------------------------------

/// RFC 5256 §3 THREAD=REFERENCES, steps 1 to 6: threads by References (In-Reply-To
/// when References has no valid id), prunes dummies, gathers top-level threads with the
/// same base subject, and sorts every set of siblings by sent date, ties in the order
/// of `messages` (pass them in sequence order).
pub fn thread_references(messages: &[ThreadMessage]) -> Vec<ThreadNode> {
    let containers = link_messages(messages);
    let mut tree = Tree::prune(containers);
    tree.sort_top(messages);
    tree.gather_subjects(messages);
    tree.sort_siblings(messages);
    tree.into_nodes(messages)
}

/// RFC 5256 §3 REFERENCES step 1: one container per message and per message id,
/// linked child to parent by References.
///
/// For each message, in order: its container is the one of its Message-ID; a message
/// without a valid Message-ID, or whose id an earlier message already has, gets a
/// container of its own (the RFC's "unique Message ID"). Then the ids of References
/// (or, when it has none, the first id of In-Reply-To) are linked in order, each the
/// parent of the next, unless the child already has a parent ("don't change the
/// existing link") or the link would make a loop. Last, the message's own container is
/// unlinked from any parent it has (a guess from other messages' References) and made
/// a child of the last reference, again unless that would make a loop; with no
/// references it stays a root.
fn link_messages(messages: &[ThreadMessage]) -> Containers {
    let mut containers = Containers::default();
    for (index, message) in messages.iter().enumerate() {
        let own_id = message.message_id.as_deref().and_then(first_message_id);
        let own = containers.own(index, own_id);
        let mut last = None;
        for id in references(message) {
            let node = containers.container_for(id);
            if let Some(parent) = last
                && !containers.has_parent(node)
            {
                containers.link(parent, node);
            }
            last = Some(node);
        }
        if containers.has_parent(own) {
            containers.unlink(own);
        }
        if let Some(parent) = last {
            containers.link(parent, own);
        }
    }
    containers
}

/// RFC 5256 §3 REFERENCES step 1: the ids of References, or when it has no valid one,
/// the first valid id of In-Reply-To.
fn references(message: &ThreadMessage) -> Vec<String> {
    let ids = message
        .references
        .as_deref()
        .map(message_ids)
        .unwrap_or_default();
    if !ids.is_empty() {
        return ids;
    }
    message
        .in_reply_to
        .as_deref()
        .and_then(first_message_id)
        .into_iter()
        .collect()
}

/// The containers of REFERENCES step 1, indexed by number; every index stored in these
/// vectors was returned by [`Containers::add`], so indexing with it is in bounds.
#[derive(Default)]
struct Containers {
    /// The message of each container (its index in the caller's slice); `None` for a
    /// dummy, an id only referenced.
    message: Vec<Option<usize>>,
    /// The parent of each container, or [`NIL`].
    parent: Vec<usize>,
    /// The same forest, to ask "is this a descendant of that" in O(log n).
    forest: LinkCut,
    /// Containers by message id.
    by_id: HashMap<String, usize>,
}

impl Containers {
    /// A new container, without parent.
    fn add(&mut self, message: Option<usize>) -> usize {
        self.message.push(message);
        self.parent.push(NIL);
        self.forest.add()
    }

    /// Step 1: the container of message `index`, whose first valid Message-ID is `id`.
    fn own(&mut self, index: usize, id: Option<String>) -> usize {
        let Some(id) = id else {
            return self.add(Some(index));
        };
        if let Some(&node) = self.by_id.get(id.as_str()) {
            if self.message[node].is_none() {
                self.message[node] = Some(index);
                return node;
            }
            // A duplicate: the first message keeps the id.
            return self.add(Some(index));
        }
        let node = self.add(Some(index));
        self.by_id.insert(id, node);
        node
    }

    /// The container of a referenced id, a new dummy if the id is new.
    fn container_for(&mut self, id: String) -> usize {
        if let Some(&node) = self.by_id.get(id.as_str()) {
            return node;
        }
        let node = self.add(None);
        self.by_id.insert(id, node);
        node
    }

    fn has_parent(&self, node: usize) -> bool {
        self.parent[node] != NIL
    }

    /// Makes `child`, which has no parent, a child of `parent`, unless that would make a
    /// loop (RFC 5256 §3 REFERENCES step 1: "before making message A the parent of B,
    /// make sure that A is not a descendant of B"). Since `child` is the root of its
    /// tree, `parent` descends from it exactly when `child` is the root of `parent`'s
    /// tree.
    fn link(&mut self, parent: usize, child: usize) {
        if parent == child || self.forest.root(parent) == child {
            return;
        }
        self.forest.link(child, parent);
        self.parent[child] = parent;
    }

    /// Breaks the link between `child`, which has a parent, and that parent.
    fn unlink(&mut self, child: usize) {
        self.forest.cut(child);
        self.parent[child] = NIL;
    }
}

/// A link-cut tree (Sleator and Tarjan, 1983) over the containers: the forest of
/// parent links, held as splay trees of paths, so that finding the root of a node's
/// tree, linking a root under a node, and cutting a node from its parent each take
/// amortized O(log n). Only those three operations are needed, so there is no
/// re-rooting and no lazy reversal. Every index passed in was returned by
/// [`LinkCut::add`]; [`NIL`] is never used as an index.
#[derive(Default)]
struct LinkCut {
    /// Left child in the node's splay tree (towards the tree root), or [`NIL`].
    left: Vec<usize>,
    /// Right child in the node's splay tree (away from the tree root), or [`NIL`].
    right: Vec<usize>,
    /// The splay-tree parent, or, at the root of a splay tree, the path-parent (the
    /// forest parent of the path's top node), or [`NIL`].
    up: Vec<usize>,
}

impl LinkCut {
    /// A new single-node tree.
    fn add(&mut self) -> usize {
        self.left.push(NIL);
        self.right.push(NIL);
        self.up.push(NIL);
        self.up.len() - 1
    }

    /// Whether `x` is the root of its splay tree (its `up` is NIL or a path-parent).
    fn is_splay_root(&self, x: usize) -> bool {
        let p = self.up[x];
        p == NIL || (self.left[p] != x && self.right[p] != x)
    }

    /// Rotates `x` above its splay-tree parent.
    fn rotate(&mut self, x: usize) {
        let p = self.up[x];
        let g = self.up[p];
        let p_was_root = self.is_splay_root(p);
        if self.left[p] == x {
            let b = self.right[x];
            self.left[p] = b;
            if b != NIL {
                self.up[b] = p;
            }
            self.right[x] = p;
        } else {
            let b = self.left[x];
            self.right[p] = b;
            if b != NIL {
                self.up[b] = p;
            }
            self.left[x] = p;
        }
        self.up[p] = x;
        self.up[x] = g;
        if !p_was_root {
            if self.left[g] == p {
                self.left[g] = x;
            } else {
                self.right[g] = x;
            }
        }
    }

    /// Brings `x` to the root of its splay tree.
    fn splay(&mut self, x: usize) {
        while !self.is_splay_root(x) {
            let p = self.up[x];
            if !self.is_splay_root(p) {
                let g = self.up[p];
                let zig_zig = (self.left[g] == p) == (self.left[p] == x);
                self.rotate(if zig_zig { p } else { x });
            }
            self.rotate(x);
        }
    }

    /// Makes the path from `x`'s tree root to `x` one splay tree, rooted at `x`.
    fn access(&mut self, x: usize) {
        let mut below = NIL;
        let mut y = x;
        while y != NIL {
            self.splay(y);
            self.right[y] = below;
            below = y;
            y = self.up[y];
        }
        self.splay(x);
    }

    /// The root of `x`'s tree.
    fn root(&mut self, x: usize) -> usize {
        self.access(x);
        let mut r = x;
        while self.left[r] != NIL {
            r = self.left[r];
        }
        self.splay(r);
        r
    }

    /// Makes `child`, the root of its tree, a child of `parent` (in another tree).
    fn link(&mut self, child: usize, parent: usize) {
        // After access, `child` is alone at the top of its path (it is the tree root),
        // so its `up` is free to hold the path-parent.
        self.access(child);
        self.up[child] = parent;
    }

    /// Cuts `child` from its parent.
    fn cut(&mut self, child: usize) {
        self.access(child);
        let above = self.left[child];
        if above != NIL {
            self.up[above] = NIL;
            self.left[child] = NIL;
        }
    }
}

/// The thread tree of REFERENCES steps 2 to 6. Indices are those of [`Containers`],
/// plus the dummies step 5 adds; each is in bounds of `message` and `children`.
struct Tree {
    /// The message of each node; `None` for a dummy.
    message: Vec<Option<usize>>,
    /// The children of each node.
    children: Vec<Vec<usize>>,
    /// The top-level nodes: the children of the RFC's "dummy parent (the root)".
    top: Vec<usize>,
}

impl Tree {
    /// RFC 5256 §3 REFERENCES steps 2 and 3: the containers without parent are the top
    /// level; then dummies are pruned: "If it is a dummy message with NO children,
    /// delete it. If it is a dummy message with children, delete it, but promote its
    /// children to the current level. [...] Do not promote the children if doing so
    /// would make them children of the root, unless there is only one child."
    ///
    /// Done top-down in one pass: each message hangs from its nearest ancestor that is
    /// a message, or from its top-level dummy if it has none. A top-level dummy left
    /// with no children is dropped, with one child is replaced by it, and with more is
    /// kept. Child order does not matter here: step 6 sorts every set of siblings.
    fn prune(containers: Containers) -> Tree {
        let Containers {
            message, parent, ..
        } = containers;
        let count = message.len();
        // Step 1's child lists, as first-child / next-sibling links.
        let mut first_child = vec![NIL; count];
        let mut next_sibling = vec![NIL; count];
        let mut top = Vec::new();
        for node in (0..count).rev() {
            match parent[node] {
                NIL => top.push(node),
                p => {
                    next_sibling[node] = first_child[p];
                    first_child[p] = node;
                }
            }
        }
        top.reverse();

        let mut children = vec![Vec::new(); count];
        // (node, the node that the messages below it hang from)
        let mut pending: Vec<(usize, usize)> = Vec::new();
        for &root in &top {
            let mut child = first_child[root];
            while child != NIL {
                pending.push((child, root));
                child = next_sibling[child];
            }
        }
        while let Some((node, anchor)) = pending.pop() {
            let anchor = if message[node].is_some() {
                children[anchor].push(node);
                node
            } else {
                anchor
            };
            let mut child = first_child[node];
            while child != NIL {
                pending.push((child, anchor));
                child = next_sibling[child];
            }
        }

        let mut kept = Vec::with_capacity(top.len());
        for root in top {
            if message[root].is_some() {
                kept.push(root);
                continue;
            }
            match children[root].len() {
                0 => {}
                1 => kept.extend(children[root].pop()),
                _ => kept.push(root),
            }
        }
        Tree {
            message,
            children,
            top: kept,
        }
    }

    fn is_dummy(&self, node: usize) -> bool {
        self.message[node].is_none()
    }

    /// The sort key of a node (RFC 5256 §2.2); "in the case of a dummy message, [...]
    /// use its first child" (steps 4 and 6), so children must be sorted first.
    fn key(&self, messages: &[ThreadMessage], node: usize) -> (i64, usize) {
        let mut node = node;
        loop {
            if let Some(index) = self.message[node] {
                return sent_key(messages, index);
            }
            match self.children[node].first() {
                Some(&child) => node = child,
                None => return (i64::MAX, usize::MAX),
            }
        }
    }

    /// Sorts the children of `node` by sent date.
    fn sort_children(&mut self, messages: &[ThreadMessage], node: usize) {
        let mut children = mem::take(&mut self.children[node]);
        children.sort_by_cached_key(|&child| self.key(messages, child));
        self.children[node] = children;
    }

    /// Sorts the top level by sent date.
    fn sort_top_only(&mut self, messages: &[ThreadMessage]) {
        let mut top = mem::take(&mut self.top);
        top.sort_by_cached_key(|&node| self.key(messages, node));
        self.top = top;
    }

    /// RFC 5256 §3 REFERENCES step 4: "Sort the messages under the root (top-level
    /// siblings only) by sent date [...]. In the case of a dummy message, sort its
    /// children by sent date and then use the first child for the top-level sort."
    fn sort_top(&mut self, messages: &[ThreadMessage]) {
        let top = mem::take(&mut self.top);
        for &node in &top {
            if self.is_dummy(node) {
                self.sort_children(messages, node);
            }
        }
        self.top = top;
        self.sort_top_only(messages);
    }

    /// The thread subject of a top-level node (step 5 (B)(i)): the base subject "from
    /// either the current message or its first child if the current message is a
    /// dummy", with its reply-or-forward flag.
    fn thread_subject(&self, messages: &[ThreadMessage], node: usize) -> Option<(String, bool)> {
        let index = match self.message[node] {
            Some(index) => index,
            None => self.children[node].first().and_then(|&c| self.message[c])?,
        };
        Some(base_subject_with_flag(&messages.get(index)?.subject))
    }

    /// RFC 5256 §3 REFERENCES step 5: "Gather together messages under the root that
    /// have the same base subject text."
    ///
    /// (B) The subject table gets one top-level node per thread subject: the first in
    /// sent date order, replaced by a later one when the one held is not a dummy and
    /// the later one is a dummy, or the held one is a reply or forward and the later
    /// one is not. Empty thread subjects are skipped.
    ///
    /// (C) Every other top-level node with that subject is merged with the table's:
    /// two dummies pool their children; a message goes under a dummy; a reply or
    /// forward goes under a message that is not; otherwise a new dummy gets both
    /// messages as children and takes the table's place.
    fn gather_subjects(&mut self, messages: &[ThreadMessage]) {
        let subjects: Vec<(usize, String, bool)> = self
            .top
            .iter()
            .filter_map(|&node| {
                let (subject, reply) = self.thread_subject(messages, node)?;
                (!subject.is_empty()).then_some((node, subject, reply))
            })
            .collect();

        // (B): subject -> (node, its reply-or-forward flag)
        let mut table: HashMap<&str, (usize, bool)> = HashMap::new();
        for (node, subject, reply) in &subjects {
            match table.entry(subject.as_str()) {
                Entry::Vacant(entry) => {
                    entry.insert((*node, *reply));
                }
                Entry::Occupied(mut entry) => {
                    let (held, held_reply) = *entry.get();
                    if !self.is_dummy(held) && (self.is_dummy(*node) || (held_reply && !*reply)) {
                        entry.insert((*node, *reply));
                    }
                }
            }
        }

        // (C)
        let mut on_top = vec![false; self.message.len()];
        for &node in &self.top {
            on_top[node] = true;
        }
        for (node, subject, reply) in &subjects {
            let node = *node;
            if !on_top[node] {
                continue;
            }
            let Some(&(held, held_reply)) = table.get(subject.as_str()) else {
                continue;
            };
            if held == node {
                continue;
            }
            match (self.is_dummy(held), self.is_dummy(node)) {
                (true, true) => {
                    let moved = mem::take(&mut self.children[node]);
                    self.children[held].extend(moved);
                    on_top[node] = false;
                }
                (true, false) => {
                    self.children[held].push(node);
                    on_top[node] = false;
                }
                (false, true) => {
                    // Not reached: (B) lets a dummy take any message's place in the
                    // table. Kept total by putting the message under the dummy.
                    self.children[node].push(held);
                    on_top[held] = false;
                    table.insert(subject.as_str(), (node, *reply));
                }
                (false, false) if *reply && !held_reply => {
                    self.children[held].push(node);
                    on_top[node] = false;
                }
                (false, false) => {
                    let dummy = self.message.len();
                    self.message.push(None);
                    self.children.push(vec![held, node]);
                    on_top.push(true);
                    on_top[held] = false;
                    on_top[node] = false;
                    self.top.push(dummy);
                    table.insert(subject.as_str(), (dummy, false));
                }
            }
        }
        self.top.retain(|&node| on_top[node]);
    }

    /// RFC 5256 §3 REFERENCES step 6: "Traverse the messages under the root and sort
    /// each set of siblings by sent date. [...] In the case of a dummy message (which
    /// can only occur with top-level siblings), use its first child for sorting."
    /// Below the top level every node is a message, so all children lists are sorted
    /// first and the top level last.
    fn sort_siblings(&mut self, messages: &[ThreadMessage]) {
        for node in 0..self.children.len() {
            if self.children[node].len() > 1 {
                self.sort_children(messages, node);
            }
        }
        self.sort_top_only(messages);
    }

    /// The finished forest as [`ThreadNode`]s, built bottom-up with an explicit stack.
    fn into_nodes(self, messages: &[ThreadMessage]) -> Vec<ThreadNode> {
        /// A node being built: its id, the children still to build, those built.
        struct Frame<'a> {
            id: Option<u32>,
            rest: std::slice::Iter<'a, usize>,
            built: Vec<ThreadNode>,
        }
        let mut stack = vec![Frame {
            id: None,
            rest: self.top.iter(),
            built: Vec::with_capacity(self.top.len()),
        }];
        while let Some(frame) = stack.last_mut() {
            if let Some(&child) = frame.rest.next() {
                let grandchildren = &self.children[child];
                stack.push(Frame {
                    id: self.message[child].and_then(|index| response_id(messages, index)),
                    rest: grandchildren.iter(),
                    built: Vec::with_capacity(grandchildren.len()),
                });
                continue;
            }
            let done = stack.pop();
            match (done, stack.last_mut()) {
                (Some(done), Some(parent)) => parent.built.push(ThreadNode {
                    id: done.id,
                    children: done.built,
                }),
                // The bottom frame, whose children are the top level.
                (Some(done), None) => return done.built,
                (None, _) => break,
            }
        }
        Vec::new()
    }
}

// ---------------------------------------------------------------------------
// Response: RFC 5256 §4
// ---------------------------------------------------------------------------

/// RFC 5256 §4 `thread-data = "THREAD" [SP 1*thread-list]`: writes `THREAD`, then, if
/// any thread has a message, a space and the threads (see [`write_threads`]). The
/// caller adds the leading `* ` and the CRLF.
pub fn write_thread_data(out: &mut Vec<u8>, roots: &[ThreadNode]) {
    out.extend_from_slice(b"THREAD");
    let mark = out.len();
    out.push(b' ');
    write_threads(out, roots);
    if out.len() == mark + 1 {
        out.truncate(mark);
    }
}

/// RFC 5256 §4: writes one `thread-list` per root, e.g. `(2)(3 6 (4 23)(44 7 96))`.
///
/// ```text
/// thread-list     = "(" (thread-members / thread-nested) ")"
/// thread-members  = nz-number *(SP nz-number) [SP thread-nested]
/// thread-nested   = 2*thread-list
/// ```
///
/// A chain of only children is written flat (`3 6`), two or more children as
/// parenthesized sub-lists (`(4 23)(44 7 96)`), and a top-level dummy as a list of its
/// children's lists (`((3)(5))`). For any tree, including hand-built ones, the output
/// follows the grammar: a subtree without any message is skipped, and a dummy that is
/// left with one child is written as that child (it has no number to print).
/// Nothing is written for no roots. Iterative: any depth is fine.
pub fn write_threads(out: &mut Vec<u8>, roots: &[ThreadNode]) {
    let empty = empty_subtrees(roots);
    let is_empty = |node: &ThreadNode| empty.contains(&ptr::from_ref(node));
    // Each level is a set of siblings being written as thread-lists. When a level
    // above the bottom is done, the thread-list that holds it is closed.
    let mut levels: Vec<std::slice::Iter<'_, ThreadNode>> = vec![roots.iter()];
    while let Some(level) = levels.last_mut() {
        let Some(node) = level.next() else {
            levels.pop();
            if !levels.is_empty() {
                out.push(b')');
            }
            continue;
        };
        if is_empty(node) {
            continue;
        }
        out.push(b'(');
        let mut current = node;
        let mut wrote_number = false;
        loop {
            if let Some(id) = current.id {
                if wrote_number {
                    out.push(b' ');
                }
                // Writing into a Vec cannot fail.
                let _ = write!(out, "{id}");
                wrote_number = true;
            }
            let mut live = current.children.iter().filter(|child| !is_empty(child));
            match (live.next(), live.next()) {
                (None, _) => {
                    out.push(b')');
                    break;
                }
                (Some(only), None) => current = only,
                (Some(_), Some(_)) => {
                    if wrote_number {
                        out.push(b' ');
                    }
                    levels.push(current.children.iter());
                    break;
                }
            }
        }
    }
}

/// The nodes (by address) whose subtree holds no message: dummies whose descendants are
/// all dummies. Post-order over a pre-order list, no recursion.
fn empty_subtrees(roots: &[ThreadNode]) -> HashSet<*const ThreadNode> {
    let mut order: Vec<&ThreadNode> = Vec::new();
    let mut pending: Vec<&ThreadNode> = roots.iter().collect();
    while let Some(node) = pending.pop() {
        order.push(node);
        pending.extend(node.children.iter());
    }
    let mut empty = HashSet::new();
    // Children come after their parent in `order`, so in reverse they come first.
    for node in order.iter().rev() {
        let is_empty = node.id.is_none()
            && node
                .children
                .iter()
                .all(|child| empty.contains(&ptr::from_ref(child)));
        if is_empty {
            empty.insert(ptr::from_ref(*node));
        }
    }
    empty
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32, children: Vec<ThreadNode>) -> ThreadNode {
        ThreadNode {
            id: Some(id),
            children,
        }
    }

    fn dummy(children: Vec<ThreadNode>) -> ThreadNode {
        ThreadNode { id: None, children }
    }

    fn leaf(id: u32) -> ThreadNode {
        ThreadNode::leaf(id)
    }

    fn written(roots: &[ThreadNode]) -> String {
        let mut out = Vec::new();
        write_threads(&mut out, roots);
        String::from_utf8(out).expect("the writer writes ASCII")
    }

    fn header(value: &str) -> Option<Vec<u8>> {
        (!value.is_empty()).then(|| value.as_bytes().to_vec())
    }

    /// A message with the given Message-ID, References and Subject ("" for none).
    fn msg(id: u32, message_id: &str, references: &str, subject: &str, date: i64) -> ThreadMessage {
        ThreadMessage {
            id,
            message_id: header(message_id),
            references: header(references),
            in_reply_to: None,
            subject: subject.to_string(),
            sent_date: date,
        }
    }

    fn threads(messages: &[ThreadMessage]) -> String {
        written(&thread_references(messages))
    }

    // --- RFC 5256 §2.1 base subject -------------------------------------------------

    #[test]
    fn base_subject_steps() {
        let cases: &[(&str, &str, bool)] = &[
            // step 1: whitespace runs, case folding
            ("hello\tworld \r\n  again", "HELLO WORLD AGAIN", false),
            ("Straße über", "STRAßE ÜBER", false),
            ("", "", false),
            ("   ", "", false),
            // step 2: subj-trailer, repeated, "(fwd)" marks a forward
            ("x (fwd)", "X", true),
            ("x(FWD)  (fwd) ", "X", true),
            ("x (fwd) y", "X (FWD) Y", false),
            ("(fwd)", "", true),
            // step 3: subj-leader = (*subj-blob subj-refwd) / WSP
            ("Re: x", "X", true),
            ("Re:Re: re: x", "X", true),
            ("RE : x", "X", true),
            ("Fw: x", "X", true),
            ("fwd:x", "X", true),
            ("Re [2]: x", "X", true),
            ("[list] Re: x", "X", true),
            ("[a] [b] Fwd: x", "X", true),
            ("Reply: x", "REPLY: X", false),
            ("Ad: Re: x", "AD: RE: X", false),
            ("Re:", "", true),
            ("Re: (fwd)", "", true),
            // step 4: a leading subj-blob goes only if a subj-base is left
            ("[blob] only", "ONLY", false),
            ("[blob]", "[BLOB]", false),
            ("[a][b]", "[B]", false),
            ("[a] [b] [c]", "[C]", false),
            ("Re: [foo]", "[FOO]", true),
            ("[unclosed x", "[UNCLOSED X", false),
            ("[a] [unclosed", "[UNCLOSED", false),
            // step 6: the [fwd: ...] wrapper, then again from step 2
            ("[fwd: x]", "X", true),
            ("[Fwd: Re: x (fwd)]", "X", true),
            ("[fwd: [fwd: x] ]", "X", true),
            ("[fwd:]", "", true),
            ("[fwd: x] y", "Y", false),
            // all together
            ("Re: [foo] Fwd: bar (fwd)", "BAR", true),
            ("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "B", true),
            ("Re: [FWD: c]", "C", true),
            ("re: [fwd: [fwd: re: [fwd: babylon]]]", "BABYLON", true),
            ("b (a)", "B (A)", false),
        ];
        for &(subject, base, flag) in cases {
            assert_eq!(
                base_subject_with_flag(subject),
                (base.to_string(), flag),
                "{subject:?}"
            );
            assert_eq!(base_subject(subject), base, "{subject:?}");
        }
    }

    /// Subjects built to make a naive extraction quadratic; each is ~300 KB.
    #[test]
    fn base_subject_is_linear_on_hostile_subjects() {
        let blobs = "[a]".repeat(100_000);
        assert_eq!(base_subject(&format!("{blobs} x")), "X");
        assert_eq!(base_subject(&blobs), "[A]");
        assert_eq!(base_subject(&format!("{blobs}Re: x")), "X");
        let refwd_blob_unclosed = base_subject(&format!("{blobs}Re [{blobs}"));
        assert_eq!(refwd_blob_unclosed, format!("RE [{}", blobs.to_uppercase()));
        let nested = format!("{}x{}", "[fwd: ".repeat(50_000), "]".repeat(50_000));
        assert_eq!(base_subject_with_flag(&nested), ("X".to_string(), true));
        assert_eq!(base_subject(&format!("{}x", "Re: ".repeat(100_000))), "X");
        assert_eq!(base_subject(&format!("x{}", " (fwd)".repeat(100_000))), "X");
        assert_eq!(base_subject(&"[".repeat(300_000)).len(), 300_000);
        let unclosed = format!("{}{}", "Re: [".repeat(60_000), "a".repeat(100));
        assert!(!base_subject(&unclosed).is_empty());
    }

    // --- message ids -----------------------------------------------------------------

    #[test]
    fn message_ids_in_order() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"<a@b> <c@d>", &["a@b", "c@d"]),
            (b"<a@b>\r\n\t<c@d>", &["a@b", "c@d"]),
            (b"  <a@b>(comment)<c@d>  ", &["a@b", "c@d"]),
            (b"<a@\r\n b.example>", &["a@b.example"]),
            (b"(from <x@y>) <a@b>", &["a@b"]),
            (b"(nested (<x@y>) \\) <z@w>) <a@b>", &["a@b"]),
            (b"\"<x@y>\" <a@b>", &["a@b"]),
            (b"<\"a b>\"@c>", &["\"a b>\"@c"]),
            (b"Your message of Mon, 1 Jan 2024 <a@b>", &["a@b"]),
            (b"<abc> <@b> <a@> <a@b>", &["a@b"]),
            (b"<a<b@c>", &["b@c"]),
            (b"<a@b", &[]),
            (b"<a@b (unclosed", &[]),
            (b"(unclosed <a@b>", &[]),
            (b"", &[]),
            (b"<\xff@x>", &["\u{fffd}@x"]),
        ];
        for &(value, ids) in cases {
            assert_eq!(
                message_ids(value),
                ids,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(
            first_message_id(b"junk <a@b> <c@d>").as_deref(),
            Some("a@b")
        );
    }

    #[test]
    fn message_ids_never_panic() {
        let mut state = 7u64;
        for _ in 0..2_000 {
            let len = (next(&mut state) % 40) as usize;
            let alphabet = b"<>@()\"\\ a\r\n\xff";
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next(&mut state) % alphabet.len() as u64) as usize])
                .collect();
            for id in message_ids(&bytes) {
                // whitespace survives only inside a quoted part
                assert!(id.contains('@'), "{id:?}");
                assert!(
                    id.contains('"') || !id.contains([' ', '\t', '\r', '\n']),
                    "{id:?}"
                );
            }
        }
    }

    // --- RFC 5256 §4 thread-data ------------------------------------------------------

    #[test]
    fn writes_rfc_5256_example() {
        // RFC 5256 §4: "(2)(3 6 (4 23)(44 7 96))"
        let roots = vec![
            leaf(2),
            node(
                3,
                vec![node(
                    6,
                    vec![
                        node(4, vec![leaf(23)]),
                        node(44, vec![node(7, vec![leaf(96)])]),
                    ],
                )],
            ),
        ];
        assert_eq!(written(&roots), "(2)(3 6 (4 23)(44 7 96))");
        let mut out = b"* ".to_vec();
        write_thread_data(&mut out, &roots);
        assert_eq!(out, b"* THREAD (2)(3 6 (4 23)(44 7 96))");
    }

    #[test]
    fn writes_dummies_and_odd_trees_by_the_grammar() {
        assert_eq!(written(&[dummy(vec![leaf(3), leaf(5)])]), "((3)(5))");
        assert_eq!(
            written(&[dummy(vec![leaf(3), node(5, vec![leaf(6)])]), leaf(7)]),
            "((3)(5 6))(7)"
        );
        // hand-built trees that the threading functions never return
        assert_eq!(written(&[dummy(vec![])]), "");
        assert_eq!(written(&[dummy(vec![dummy(vec![])]), leaf(1)]), "(1)");
        assert_eq!(written(&[dummy(vec![leaf(3)])]), "(3)");
        assert_eq!(written(&[node(1, vec![dummy(vec![leaf(2)])])]), "(1 2)");
        assert_eq!(written(&[node(1, vec![dummy(vec![]), leaf(2)])]), "(1 2)");
        assert_eq!(
            written(&[node(1, vec![dummy(vec![leaf(2), leaf(3)])])]),
            "(1 (2)(3))"
        );
        assert_eq!(
            written(&[node(1, vec![dummy(vec![leaf(2), leaf(3)]), leaf(4)])]),
            "(1 ((2)(3))(4))"
        );
        assert_eq!(written(&[]), "");
        let mut out = Vec::new();
        write_thread_data(&mut out, &[dummy(vec![])]);
        assert_eq!(out, b"THREAD");
    }

    #[test]
    fn debug_and_eq_show_the_tree() {
        let tree = node(1, vec![leaf(2), dummy(vec![leaf(3), leaf(4)])]);
        assert_eq!(format!("{tree:?}"), "1[2, -[3, 4]]");
        assert_eq!(tree, node(1, vec![leaf(2), dummy(vec![leaf(3), leaf(4)])]));
        assert_ne!(tree, node(1, vec![leaf(2), dummy(vec![leaf(3)])]));
        assert_eq!(format!("{:?}", leaf(9)), "9");
    }

    // --- RFC 5256 §3 REFERENCES -------------------------------------------------------

    #[test]
    fn references_link_parents_and_sort_by_date() {
        let messages = [
            msg(1, "<a@x>", "", "", 10),
            msg(2, "<b@x>", "<a@x>", "", 30),
            msg(3, "<c@x>", "<a@x>", "", 20),
            msg(4, "<d@x>", "<a@x> <c@x>", "", 40),
            msg(5, "<e@x>", "", "", 5),
        ];
        assert_eq!(threads(&messages), "(5)(1 (3 4)(2))");
    }

    #[test]
    fn in_reply_to_is_used_when_references_has_no_id() {
        let mut reply = msg(2, "<b@x>", "no ids here", "", 0);
        reply.in_reply_to = Some(b"<a@x> <other@x>".to_vec());
        assert_eq!(
            threads(&[msg(1, "<a@x>", "", "", 0), reply.clone()]),
            "(1 2)"
        );
        // References with an id wins over In-Reply-To.
        reply.references = Some(b"<z@x>".to_vec());
        assert_eq!(threads(&[msg(1, "<a@x>", "", "", 0), reply]), "(1)(2)");
    }

    #[test]
    fn reference_loops_are_not_created() {
        // each refers to the other
        assert_eq!(
            threads(&[
                msg(1, "<a@x>", "<b@x>", "", 0),
                msg(2, "<b@x>", "<a@x>", "", 0)
            ]),
            "(2 1)"
        );
        // refers to itself, directly or through its References
        assert_eq!(threads(&[msg(1, "<a@x>", "<a@x>", "", 0)]), "(1)");
        assert_eq!(
            threads(&[msg(1, "<a@x>", "<p@x> <a@x> <p@x>", "", 0)]),
            "(1)"
        );
        // a References chain that loops on itself
        let looped = [msg(1, "<m@x>", "<a@x> <b@x> <c@x> <a@x> <b@x>", "", 0)];
        assert_eq!(threads(&looped), "(1)");
        // three messages in a cycle
        let cycle = [
            msg(1, "<a@x>", "<c@x>", "", 0),
            msg(2, "<b@x>", "<a@x>", "", 1),
            msg(3, "<c@x>", "<b@x>", "", 2),
        ];
        assert_eq!(threads(&cycle), "(3 1 2)");
    }

    #[test]
    fn a_message_corrects_the_parent_guessed_from_others() {
        // message 1 says q's parent is p; q itself says its parent is r.
        let messages = [
            msg(1, "<m@x>", "<p@x> <q@x>", "", 0),
            msg(2, "<p@x>", "", "", 1),
            msg(3, "<r@x>", "", "", 2),
            msg(4, "<q@x>", "<r@x>", "", 3),
        ];
        assert_eq!(threads(&messages), "(2)(3 4 1)");
        // and a message with no references at all becomes a root
        let messages = [
            msg(1, "<m@x>", "<p@x> <q@x>", "", 0),
            msg(2, "<q@x>", "", "", 1),
        ];
        assert_eq!(threads(&messages), "(2 1)");
    }

    #[test]
    fn dummies_are_pruned() {
        // a dummy chain inside a thread is spliced out
        let messages = [
            msg(1, "<a@x>", "", "", 0),
            msg(2, "<b@x>", "<a@x> <d1@x> <d2@x>", "", 1),
        ];
        assert_eq!(threads(&messages), "(1 2)");
        // siblings under nested dummies become siblings under the message
        let messages = [
            msg(1, "<a@x>", "", "", 0),
            msg(2, "<b@x>", "<a@x> <d1@x>", "", 1),
            msg(3, "<c@x>", "<a@x> <d1@x> <d2@x>", "", 2),
        ];
        assert_eq!(threads(&messages), "(1 (2)(3))");
        // a top-level dummy keeps two or more children
        let messages = [msg(1, "", "<d@x>", "", 5), msg(2, "", "<d@x> <e@x>", "", 3)];
        assert_eq!(threads(&messages), "((2)(1))");
        // and gives way to a single child
        assert_eq!(threads(&[msg(1, "", "<d@x> <e@x> <f@x>", "", 0)]), "(1)");
    }

    #[test]
    fn subjects_gather_top_level_threads() {
        // a reply goes under the message that is not one, even when older
        let messages = [
            msg(1, "<a@x>", "", "Re: foo", 1),
            msg(2, "<b@x>", "", "foo", 2),
        ];
        assert_eq!(threads(&messages), "(2 1)");
        // two originals get a dummy parent; later ones join it
        let messages = [
            msg(1, "<a@x>", "", "foo", 1),
            msg(2, "<b@x>", "", "FOO", 2),
            msg(3, "<c@x>", "", "Re: foo", 3),
            msg(4, "<d@x>", "", "bar", 0),
        ];
        assert_eq!(threads(&messages), "(4)((1)(2)(3))");
        // a top-level dummy takes the subject table's place; messages join it
        let messages = [
            msg(1, "<a@x>", "", "foo", 1),
            msg(2, "<b@x>", "<gone@x>", "Re: foo", 2),
            msg(3, "<c@x>", "<gone@x>", "Re: foo", 3),
        ];
        assert_eq!(threads(&messages), "((1)(2)(3))");
        // two dummies with one subject pool their children
        let messages = [
            msg(1, "<a@x>", "<d1@x>", "foo", 1),
            msg(2, "<b@x>", "<d1@x>", "foo", 2),
            msg(3, "<c@x>", "<d2@x>", "Re: foo", 3),
            msg(4, "<d@x>", "<d2@x>", "foo", 4),
        ];
        assert_eq!(threads(&messages), "((1)(2)(3)(4))");
        // replies to replies stay separate siblings; empty subjects are never gathered
        let messages = [
            msg(1, "<a@x>", "", "Re: foo", 1),
            msg(2, "<b@x>", "", "Re: foo", 2),
            msg(3, "<c@x>", "", "", 3),
            msg(4, "<d@x>", "", "", 4),
        ];
        assert_eq!(threads(&messages), "((1)(2))(3)(4)");
    }

    #[test]
    fn ties_go_by_position() {
        let messages = [
            msg(7, "<a@x>", "", "", 100),
            msg(3, "<b@x>", "<a@x>", "", 100),
            msg(9, "<c@x>", "<a@x>", "", 100),
            msg(1, "<d@x>", "", "", 100),
        ];
        assert_eq!(threads(&messages), "(7 (3)(9))(1)");
    }

    #[test]
    fn duplicate_and_missing_message_ids_get_their_own_container() {
        let messages = [
            msg(1, "<a@x>", "", "", 0),
            msg(2, "<a@x>", "", "", 0),
            msg(3, "not an id", "", "", 0),
            msg(4, "", "<a@x>", "", 0),
        ];
        assert_eq!(threads(&messages), "(1 4)(2)(3)");
    }

    // --- hostile sizes ------------------------------------------------------------------

    /// Runs `f` on a thread with a small stack, where recursion per level would crash.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn a_references_chain_of_100000_ids() {
        on_small_stack(|| {
            let chain: String = (0..100_000).map(|k| format!("<r{k}@x> ")).collect();
            let messages = [msg(1, "<leaf@x>", &chain, "", 0)];
            assert_eq!(threads(&messages), "(1)");
            // and the same chain told backwards by a second message: every link loops
            let backwards: String = (0..100_000).rev().map(|k| format!("<r{k}@x> ")).collect();
            let messages = [
                msg(1, "<leaf@x>", &chain, "", 0),
                msg(2, "<m@x>", &backwards, "", 1),
            ];
            // r0 is the last id of the second chain: both messages hang from it.
            assert_eq!(threads(&messages), "((1)(2))");
        });
    }

    #[test]
    fn a_thread_100000_messages_deep() {
        on_small_stack(|| {
            let messages: Vec<ThreadMessage> = (1..=100_000u32)
                .map(|k| ThreadMessage {
                    id: k,
                    message_id: Some(format!("<{k}@x>").into_bytes()),
                    in_reply_to: (k > 1).then(|| format!("<{}@x>", k - 1).into_bytes()),
                    subject: if k == 1 { "hi".into() } else { "Re: hi".into() },
                    sent_date: i64::from(k),
                    ..ThreadMessage::default()
                })
                .collect();
            let roots = thread_references(&messages);
            let out = written(&roots);
            let expected: Vec<String> = (1..=100_000).map(|k| k.to_string()).collect();
            assert_eq!(out, format!("({})", expected.join(" ")));
            let again = thread_references(&messages);
            assert!(roots == again);
            let _ = format!("{:?}", roots[0]).len();
            drop(roots);
            drop(again);
        });
    }

    #[test]
    fn drop_of_a_deep_hand_built_tree() {
        on_small_stack(|| {
            let mut tree = leaf(0);
            for k in 1..1_000_000 {
                tree = node(k, vec![tree]);
            }
            drop(tree);
        });
    }

    /// Every loop check of these 20,000 messages asks about a 100,000-long chain: a
    /// parent walk would take 2·10⁹ steps.
    #[test]
    fn loop_checks_do_not_walk_the_chain() {
        let chain: String = (0..100_000).map(|k| format!("<r{k}@x> ")).collect();
        let mut messages = vec![msg(1, "<leaf@x>", &chain, "", 0)];
        for k in 2..=20_000u32 {
            messages.push(msg(k, "", "<r99999@x> <r0@x>", "", i64::from(k)));
        }
        let roots = thread_references(&messages);
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].id, None);
        assert_eq!(roots[0].children.len(), 20_000);
    }

    /// The link-cut tree against the plain parent walk it replaces, on random links
    /// and cuts that, like step 1's, only link roots and never make loops.
    #[test]
    fn link_cut_roots_agree_with_parent_walks() {
        let mut state = 0xfeed_u64;
        for _ in 0..50 {
            let count = 2 + (next(&mut state) % 200) as usize;
            let mut forest = LinkCut::default();
            let mut parent = vec![NIL; count];
            for _ in 0..count {
                forest.add();
            }
            let walk = |parent: &[usize], mut x: usize| {
                while parent[x] != NIL {
                    x = parent[x];
                }
                x
            };
            for _ in 0..2_000 {
                let a = (next(&mut state) % count as u64) as usize;
                let b = (next(&mut state) % count as u64) as usize;
                match next(&mut state) % 3 {
                    0 if parent[b] != NIL => {
                        forest.cut(b);
                        parent[b] = NIL;
                    }
                    0 | 1 => {
                        if parent[b] == NIL && walk(&parent, a) != b {
                            forest.link(b, a);
                            parent[b] = a;
                        }
                    }
                    _ => assert_eq!(forest.root(a), walk(&parent, a)),
                }
            }
            for x in 0..count {
                assert_eq!(forest.root(x), walk(&parent, x));
            }
        }
    }

    // --- random mailboxes: invariants -----------------------------------------------

    fn next(state: &mut u64) -> u64 {
        // xorshift64*
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn random_mailbox(state: &mut u64, count: u32) -> Vec<ThreadMessage> {
        const SUBJECTS: [&str; 8] = [
            "a",
            "Re: a",
            "b",
            "Fwd: b",
            "[x] a",
            "",
            "Re: [fwd: b]",
            "c",
        ];
        let pool = u64::from(count);
        (1..=count)
            .map(|id| {
                let refs: String = (0..next(state) % 5)
                    .map(|_| format!("<m{}@x> ", next(state) % pool))
                    .collect();
                ThreadMessage {
                    id,
                    message_id: (!next(state).is_multiple_of(10))
                        .then(|| format!("<m{}@x>", next(state) % pool).into_bytes()),
                    references: (!next(state).is_multiple_of(4)).then(|| refs.into_bytes()),
                    in_reply_to: (next(state).is_multiple_of(3))
                        .then(|| format!("<m{}@x>", next(state) % pool).into_bytes()),
                    subject: SUBJECTS[(next(state) % 8) as usize].to_string(),
                    sent_date: (next(state) % 50) as i64,
                }
            })
            .collect()
    }

    /// Checks what RFC 5256 promises of a REFERENCES result; returns the ids seen.
    fn check_references_shape(messages: &[ThreadMessage], roots: &[ThreadNode]) -> Vec<u32> {
        let key = |node: &ThreadNode| {
            let first = if node.id.is_none() {
                node.children.first()
            } else {
                Some(node)
            };
            let id = first.and_then(|n| n.id).expect("a dummy has children");
            let m = &messages[(id - 1) as usize];
            (m.sent_date, id)
        };
        let sorted = |nodes: &[ThreadNode]| nodes.windows(2).all(|w| key(&w[0]) < key(&w[1]));
        assert!(sorted(roots));
        let mut seen = Vec::new();
        let mut pending: Vec<(&ThreadNode, bool)> = roots.iter().map(|r| (r, true)).collect();
        while let Some((node, top)) = pending.pop() {
            match node.id {
                Some(id) => seen.push(id),
                None => assert!(
                    top && node.children.len() >= 2,
                    "dummy below the top or with one child"
                ),
            }
            assert!(sorted(&node.children));
            pending.extend(node.children.iter().map(|c| (c, false)));
        }
        seen.sort_unstable();
        seen
    }

    /// The grammar of RFC 5256 §4, as a recognizer: `thread-list` at `s`, returns the rest.
    fn thread_list(s: &[u8]) -> Option<&[u8]> {
        let mut s = s.strip_prefix(b"(")?;
        if s.first() == Some(&b'(') {
            // thread-nested = 2*thread-list
            let mut lists = 0;
            while s.first() == Some(&b'(') {
                s = thread_list(s)?;
                lists += 1;
            }
            return (lists >= 2).then_some(s)?.strip_prefix(b")");
        }
        loop {
            let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 || s[0] == b'0' {
                return None;
            }
            s = &s[digits..];
            match s {
                [b')', rest @ ..] => return Some(rest),
                [b' ', b'(', ..] => {
                    s = &s[1..];
                    let mut lists = 0;
                    while s.first() == Some(&b'(') {
                        s = thread_list(s)?;
                        lists += 1;
                    }
                    return (lists >= 2).then_some(s)?.strip_prefix(b")");
                }
                [b' ', rest @ ..] => s = rest,
                _ => return None,
            }
        }
    }

    fn is_thread_data(mut s: &[u8]) -> bool {
        while !s.is_empty() {
            match thread_list(s) {
                Some(rest) => s = rest,
                None => return false,
            }
        }
        true
    }

    #[test]
    fn random_mailboxes_keep_the_rfc_invariants() {
        let mut state = 0x5eed_u64;
        for round in 0..300 {
            let count = 1 + (next(&mut state) % 60) as u32;
            let messages = random_mailbox(&mut state, count);
            let all: Vec<u32> = (1..=count).collect();

            let roots = thread_references(&messages);
            assert_eq!(
                check_references_shape(&messages, &roots),
                all,
                "round {round}"
            );
            assert!(
                is_thread_data(written(&roots).as_bytes()),
                "round {round}: {}",
                written(&roots)
            );

            let roots = thread_orderedsubject(&messages);
            let mut seen = Vec::new();
            let mut subjects = HashSet::new();
            for root in &roots {
                let subject =
                    base_subject(&messages[(root.id.expect("a message") - 1) as usize].subject);
                assert!(subjects.insert(subject.clone()), "one thread per subject");
                seen.push(root.id.unwrap_or(0));
                for child in &root.children {
                    assert!(child.children.is_empty());
                    let id = child.id.expect("a message");
                    assert_eq!(base_subject(&messages[(id - 1) as usize].subject), subject);
                    seen.push(id);
                }
            }
            seen.sort_unstable();
            assert_eq!(seen, all, "round {round}");
            assert!(is_thread_data(written(&roots).as_bytes()));
        }
    }

    #[test]
    fn recognizer_rejects_what_the_grammar_does() {
        for bad in [
            "()",
            "(1 (2))",
            "((1))",
            "(1 )",
            "(01)",
            "(1)(",
            "(1 2 (3)(4) 5)",
        ] {
            assert!(!is_thread_data(bad.as_bytes()), "{bad}");
        }
        for good in ["", "(1)", "(1 2)(3)", "((1)(2))", "(1 (2 3)(4 (5)(6)))"] {
            assert!(is_thread_data(good.as_bytes()), "{good}");
        }
    }

    /// Dovecot's imaptest compliance scripts for THREAD (and sort-subject, for the base
    /// subject), embedded verbatim with their mbox files and run by a small interpreter
    /// of the few imaptest commands they use. Message n of an mbox is sequence number
    /// n; its internal date is the one of its `From ` line, as imaptest appends it.
    mod imaptest {
        use super::super::*;
        use std::collections::HashSet;

        #[test]
        fn script_thread() {
            run_script(THREAD, THREAD_MBOX);
        }

        #[test]
        fn script_thread2() {
            run_script(THREAD2, THREAD2_MBOX);
        }

        #[test]
        fn script_thread3() {
            run_script(THREAD3, THREAD3_MBOX);
        }

        #[test]
        fn script_thread4() {
            run_script(THREAD4, THREAD4_MBOX);
        }

        #[test]
        fn script_thread5() {
            run_script(THREAD5, THREAD5_MBOX);
        }

        #[test]
        fn script_thread6() {
            run_script(THREAD6, THREAD6_MBOX);
        }

        #[test]
        fn script_thread7() {
            run_script(THREAD7, THREAD7_MBOX);
        }

        #[test]
        fn script_thread8() {
            run_script(THREAD8, THREAD8_MBOX);
        }

        #[test]
        fn script_thread_orderedsubject() {
            run_script(THREAD_ORDEREDSUBJECT, THREAD_ORDEREDSUBJECT_MBOX);
        }

        #[test]
        fn script_thread_orderedsubject2() {
            run_script(THREAD_ORDEREDSUBJECT2, THREAD_ORDEREDSUBJECT2_MBOX);
        }

        /// `sort-subject.mbox` is byte for byte `thread-orderedsubject.mbox`.
        #[test]
        fn script_sort_subject() {
            run_script(SORT_SUBJECT, THREAD_ORDEREDSUBJECT_MBOX);
        }

        /// Runs an imaptest script: `messages: all` or `ok append` put mbox messages in
        /// the mailbox, `ok store ... +flags \deleted` and `ok expunge` remove them, and
        /// each `ok thread` / `ok sort` is compared (case-insensitively, as imaptest
        /// does) with the untagged line that follows it.
        fn run_script(script: &str, mbox: &str) {
            let all = parse_mbox(mbox);
            let mut lines = script.lines();
            let mut mailbox: Vec<usize> = Vec::new();
            let mut appended = 0;
            for line in lines.by_ref() {
                match line.trim() {
                    "" => break,
                    "messages: all" => {
                        mailbox = (0..all.len()).collect();
                        appended = all.len();
                    }
                    _ => {}
                }
            }
            let mut deleted: HashSet<u32> = HashSet::new();
            let mut checked = 0;
            while let Some(line) = lines.next() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["ok", "append"] => {
                        mailbox.push(appended);
                        appended += 1;
                    }
                    ["ok", "select", "$mailbox"] => {}
                    ["ok", "store", set, "+flags", "\\deleted"] => deleted.extend(parse_set(set)),
                    ["ok", "expunge"] => {
                        mailbox = mailbox
                            .iter()
                            .zip(1..)
                            .filter(|(_, seq)| !deleted.contains(seq))
                            .map(|(&m, _)| m)
                            .collect();
                        deleted.clear();
                    }
                    ["ok", command @ ("thread" | "sort"), ..] => {
                        let expected = lines.next().expect("an expected response").trim();
                        let messages: Vec<(ThreadMessage, usize)> = mailbox
                            .iter()
                            .zip(1..)
                            .map(|(&m, seq)| (thread_message(&all[m], seq), all[m].size))
                            .collect();
                        let got = if *command == "thread" {
                            let messages: Vec<ThreadMessage> =
                                messages.into_iter().map(|(m, _)| m).collect();
                            let roots = match words[2] {
                                "references" => thread_references(&messages),
                                "orderedsubject" => thread_orderedsubject(&messages),
                                other => panic!("unknown algorithm {other}"),
                            };
                            let mut out = b"* ".to_vec();
                            write_thread_data(&mut out, &roots);
                            String::from_utf8(out).expect("ASCII")
                        } else {
                            let criteria = line
                                .split_once('(')
                                .and_then(|(_, rest)| rest.split_once(')'))
                                .expect("sort criteria")
                                .0;
                            let ids: Vec<String> = sort(&messages, criteria)
                                .iter()
                                .map(u32::to_string)
                                .collect();
                            format!("* SORT {}", ids.join(" "))
                        };
                        assert!(
                            got.eq_ignore_ascii_case(expected),
                            "{line}\n   got: {got}\nwanted: {expected}"
                        );
                        checked += 1;
                    }
                    _ => panic!("an imaptest line this harness does not know: {line}"),
                }
            }
            assert!(checked > 0, "the script checked nothing");
        }

        /// `1`, `1,2`, `2:4`.
        fn parse_set(set: &str) -> Vec<u32> {
            set.split(',')
                .flat_map(|part| match part.split_once(':') {
                    Some((a, b)) => {
                        let (a, b): (u32, u32) =
                            (a.parse().expect("number"), b.parse().expect("number"));
                        (a..=b).collect::<Vec<_>>()
                    }
                    None => vec![part.parse().expect("number")],
                })
                .collect()
        }

        /// RFC 5256 SORT by `subject` (base subject) and `size`, each optionally
        /// `reverse`, ties in mailbox order.
        fn sort(messages: &[(ThreadMessage, usize)], criteria: &str) -> Vec<u32> {
            let mut keys: Vec<(bool, &str)> = Vec::new();
            let mut reverse = false;
            for word in criteria.split_whitespace() {
                match word {
                    "reverse" => reverse = true,
                    "subject" | "size" => {
                        keys.push((reverse, word));
                        reverse = false;
                    }
                    other => panic!("sort key {other} is not needed here"),
                }
            }
            let mut order: Vec<usize> = (0..messages.len()).collect();
            order.sort_by(|&a, &b| {
                let (ma, mb) = (&messages[a], &messages[b]);
                for &(reverse, key) in &keys {
                    let ordering = match key {
                        "subject" => base_subject(&ma.0.subject).cmp(&base_subject(&mb.0.subject)),
                        _ => ma.1.cmp(&mb.1),
                    };
                    let ordering = if reverse {
                        ordering.reverse()
                    } else {
                        ordering
                    };
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
                a.cmp(&b)
            });
            order.iter().map(|&i| messages[i].0.id).collect()
        }

        /// One message of an mbox file.
        struct MboxMessage {
            /// From the `From ` line.
            internal_date: i64,
            /// Header fields, names lowercased, values unfolded.
            fields: Vec<(String, String)>,
            /// RFC822.SIZE with CRLF line ends.
            size: usize,
        }

        fn parse_mbox(text: &str) -> Vec<MboxMessage> {
            let mut messages = Vec::new();
            let mut current: Option<(i64, Vec<&str>)> = None;
            for line in text.split('\n') {
                if let Some(envelope) = line.strip_prefix("From ") {
                    messages.extend(
                        current
                            .take()
                            .map(|(date, lines)| mbox_message(date, lines)),
                    );
                    current = Some((parse_ctime(envelope), Vec::new()));
                } else if let Some((_, lines)) = current.as_mut() {
                    lines.push(line);
                }
            }
            messages.extend(current.map(|(date, lines)| mbox_message(date, lines)));
            messages
        }

        fn mbox_message(internal_date: i64, mut lines: Vec<&str>) -> MboxMessage {
            // The empty line before the next `From ` line separates messages.
            while lines.last() == Some(&"") {
                lines.pop();
            }
            let size = lines.iter().map(|line| line.len() + 2).sum();
            let mut fields: Vec<(String, String)> = Vec::new();
            for line in lines.iter().take_while(|line| !line.is_empty()) {
                if line.starts_with([' ', '\t']) {
                    if let Some(last) = fields.last_mut() {
                        last.1.push_str(line);
                    }
                } else if let Some((name, value)) = line.split_once(':') {
                    fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
                }
            }
            MboxMessage {
                internal_date,
                fields,
                size,
            }
        }

        fn field<'a>(message: &'a MboxMessage, name: &str) -> Option<&'a str> {
            message
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.as_str())
        }

        /// What an IMAP server would hand to the threading functions for this message.
        fn thread_message(message: &MboxMessage, seq: u32) -> ThreadMessage {
            let raw = |name| field(message, name).map(|v| v.as_bytes().to_vec());
            ThreadMessage {
                id: seq,
                message_id: raw("message-id"),
                references: raw("references"),
                in_reply_to: raw("in-reply-to"),
                subject: field(message, "subject")
                    .map(decode_2047)
                    .unwrap_or_default(),
                sent_date: field(message, "date")
                    .and_then(parse_date)
                    .unwrap_or(message.internal_date),
            }
        }

        /// The date of a `From ` line: `user@domain  Fri Feb 22 17:06:23 2008 [+0200]`.
        fn parse_ctime(envelope: &str) -> i64 {
            let words: Vec<&str> = envelope.split_whitespace().collect();
            let [_, _, month, day, time, year, rest @ ..] = words.as_slice() else {
                panic!("From line {envelope}");
            };
            let offset = rest.first().map_or(Some(0), |zone| zone_offset(zone));
            (|| {
                unix(
                    year.parse().ok()?,
                    month_number(month)?,
                    day.parse().ok()?,
                    time,
                    offset?,
                )
            })()
            .expect("a valid From line date")
        }

        /// RFC 5322 §3.3 `date-time`, enough of it: `[Fri, ]22 Feb 2008 22:00:10 +0200`.
        fn parse_date(value: &str) -> Option<i64> {
            let mut words: Vec<&str> = value.split_whitespace().collect();
            if words.first()?.ends_with(',') {
                words.remove(0);
            }
            let [day, month, year, time, zone, ..] = words.as_slice() else {
                return None;
            };
            unix(
                year.parse().ok()?,
                month_number(month)?,
                day.parse().ok()?,
                time,
                zone_offset(zone)?,
            )
        }

        fn unix(year: i64, month: i64, day: i64, time: &str, offset: i64) -> Option<i64> {
            let mut parts = time.split(':');
            let hour: i64 = parts.next()?.parse().ok()?;
            let minute: i64 = parts.next()?.parse().ok()?;
            let second: i64 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
            Some(
                days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
                    - offset,
            )
        }

        /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
        fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
            let year = if month <= 2 { year - 1 } else { year };
            let era = year.div_euclid(400);
            let year_of_era = year - era * 400;
            let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
            let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
            era * 146_097 + day_of_era - 719_468
        }

        fn month_number(name: &str) -> Option<i64> {
            const MONTHS: [&str; 12] = [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ];
            let index = MONTHS.iter().position(|m| name.eq_ignore_ascii_case(m))?;
            Some(index as i64 + 1)
        }

        /// `+0200` → 7200 seconds east of UTC.
        fn zone_offset(zone: &str) -> Option<i64> {
            let (sign, digits) = match zone.split_at_checked(1)? {
                ("+", digits) => (1, digits),
                ("-", digits) => (-1, digits),
                _ => {
                    return ["GMT", "UT", "UTC"]
                        .iter()
                        .any(|z| zone.eq_ignore_ascii_case(z))
                        .then_some(0);
                }
            };
            let hhmm: i64 = digits.parse().ok()?;
            Some(sign * (hhmm / 100 * 3_600 + hhmm % 100 * 60))
        }

        #[test]
        fn harness_dates() {
            assert_eq!(parse_date("Thu, 1 Jan 1970 00:00:00 +0000"), Some(0));
            assert_eq!(
                parse_date("Fri, 22 Feb 2008 22:00:10 +0200"),
                Some(1_203_710_410)
            );
            assert_eq!(
                parse_ctime("user@domain  Fri Feb 22 22:00:10 2008 +0200"),
                1_203_710_410
            );
            assert_eq!(
                parse_ctime("user@domain  Fri Feb 22 20:00:10 2008"),
                1_203_710_410
            );
        }

        /// RFC 2047 encoded words, for the charsets the scripts use.
        fn decode_2047(value: &str) -> String {
            let mut out = String::new();
            let mut rest = value;
            let mut after_word = false;
            while let Some(start) = rest.find("=?") {
                let (before, candidate) = rest.split_at(start);
                match encoded_word(candidate) {
                    Some((text, len)) => {
                        // whitespace between two encoded words is dropped (RFC 2047 §6.2)
                        if !(after_word && before.trim().is_empty()) {
                            out.push_str(before);
                        }
                        out.push_str(&text);
                        rest = &candidate[len..];
                        after_word = true;
                    }
                    None => {
                        out.push_str(before);
                        out.push_str("=?");
                        rest = &candidate[2..];
                        after_word = false;
                    }
                }
            }
            out.push_str(rest);
            out
        }

        /// `=?charset?encoding?text?=` at the start of `s`: the decoded text and length.
        fn encoded_word(s: &str) -> Option<(String, usize)> {
            let body = s.strip_prefix("=?")?;
            let (charset, body) = body.split_once('?')?;
            let (encoding, body) = body.split_once('?')?;
            let end = body.find("?=")?;
            let text = &body[..end];
            let bytes = match encoding {
                "q" | "Q" => decode_q(text)?,
                "b" | "B" => decode_base64(text)?,
                _ => return None,
            };
            let decoded = if charset.eq_ignore_ascii_case("iso-8859-1") {
                bytes.iter().map(|&b| char::from(b)).collect()
            } else {
                String::from_utf8(bytes).ok()?
            };
            Some((
                decoded,
                2 + charset.len() + 1 + encoding.len() + 1 + end + 2,
            ))
        }

        fn decode_q(text: &str) -> Option<Vec<u8>> {
            let mut out = Vec::new();
            let mut bytes = text.bytes();
            while let Some(b) = bytes.next() {
                match b {
                    b'_' => out.push(b' '),
                    b'=' => {
                        let hex = [bytes.next()?, bytes.next()?];
                        out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                    }
                    _ => out.push(b),
                }
            }
            Some(out)
        }

        fn decode_base64(text: &str) -> Option<Vec<u8>> {
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = Vec::new();
            let (mut bits, mut count) = (0u32, 0);
            for b in text.bytes().filter(|&b| b != b'=') {
                let value = ALPHABET.iter().position(|&a| a == b)? as u32;
                bits = (bits << 6) | value;
                count += 6;
                if count >= 8 {
                    count -= 8;
                    out.push((bits >> count) as u8);
                    bits &= (1 << count) - 1;
                }
            }
            Some(out)
        }

        #[test]
        fn harness_decodes_rfc_2047() {
            assert_eq!(decode_2047("=?iso-8859-1?q?_?="), " ");
            assert_eq!(decode_2047("Re: =?utf-8?q?b?="), "Re: b");
            assert_eq!(decode_2047("=?iso-8859-1?q?RE:_C?="), "RE: C");
            assert_eq!(decode_2047("=?us-ascii?b?UmU6IGM=?="), "Re: c");
            assert_eq!(decode_2047("=?utf-8?q?a?= =?utf-8?q?b?= c"), "ab c");
        }

        /// imaptest `tests/thread`, verbatim.
        const THREAD: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* thread (3 2)(1)

ok store 1 +flags \deleted
ok expunge

ok thread references us-ascii all
* thread (2 1)
"#;

        /// imaptest `tests/thread.mbox`, verbatim.
        const THREAD_MBOX: &str = r#"From user@domain  Fri Feb 22 17:06:23 2008
Message-ID: <a@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <b@b>
References: <a@b> <c@b>

body

From user@domain  Fri Feb 22 16:06:25 2008
Message-Id: <c@b>
References: <b@b>

body
"#;

        /// imaptest `tests/thread2`, verbatim.
        const THREAD2: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* thread (1)(2)
"#;

        /// imaptest `tests/thread2.mbox`, verbatim.
        const THREAD2_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>

body
"#;

        /// imaptest `tests/thread3`, verbatim.
        const THREAD3: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* THREAD (1 2)
"#;

        /// imaptest `tests/thread3.mbox`, verbatim.
        const THREAD3_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>
Subject: foo

body

From user@domain  Fri Feb 22 15:06:24 2008
Message-Id: <a@b>
Subject: Re: foo

body
"#;

        /// imaptest `tests/thread4`, verbatim.
        const THREAD4: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* THREAD (1 2)
"#;

        /// imaptest `tests/thread4.mbox`, verbatim.
        const THREAD4_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>
Subject: foo

body

From user@domain  Fri Feb 22 15:06:24 2008
Message-Id: <b@b>
References: <c@b>
Subject: Re: foo

body
"#;

        /// imaptest `tests/thread5`, verbatim.
        const THREAD5: &str = r#"capabilities: THREAD=REFERENCES
state: created

ok append
ok append
ok append
ok append

ok select $mailbox
ok thread references us-ascii all
* THREAD (1 (2 4)(3))

ok store 1,2 +flags \deleted
ok expunge
ok thread references us-ascii all
* THREAD (1)(2)

ok append
ok thread references us-ascii all
* THREAD (1)((2)(3))
"#;

        /// imaptest `tests/thread5.mbox`, verbatim.
        const THREAD5_MBOX: &str = r#"From user@domain  Fri Feb 22 17:06:23 2008
Message-ID: <1@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <2@b>
In-Reply-To: <1@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <3@b>
In-Reply-To: <1@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <4@b>
In-Reply-To: <2@b>

body

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <5@b>
In-Reply-To: <2@b>

body

"#;

        /// imaptest `tests/thread6`, verbatim.
        const THREAD6: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* THREAD ((1)(2))
"#;

        /// imaptest `tests/thread6.mbox`, verbatim.
        const THREAD6_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
References: <a@b>

body

From user@domain  Fri Feb 22 15:06:24 2008
References: <a@b>

body
"#;

        /// imaptest `tests/thread7`, verbatim.
        const THREAD7: &str = r#"capabilities: THREAD=REFERENCES
messages: all

ok thread references us-ascii all
* thread (1 (2 3)(4))

ok store 2 +flags \deleted
ok expunge

ok thread references us-ascii all
* thread (1 3 2)
"#;

        /// imaptest `tests/thread7.mbox`, verbatim.
        const THREAD7_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>

body1

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <b@b>
References: <a@b>

body2

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <c@b>
References: <b@b>

body3

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <b@b>
References: <a@b>

body4 (2 duplicate)
"#;

        /// imaptest `tests/thread8`, verbatim.
        const THREAD8: &str = r#"capabilities: THREAD=REFERENCES
state: created

ok append
ok append
ok select $mailbox

ok thread references us-ascii all
* thread (1 2)

ok store 2 +flags \deleted
ok expunge

ok thread references us-ascii all
* thread (1)

ok append

ok thread references us-ascii all
* thread (1 2)
"#;

        /// imaptest `tests/thread8.mbox`, verbatim.
        const THREAD8_MBOX: &str = r#"From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <a@b>

body1

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <b@b>
References: <a@b>

body2

From user@domain  Fri Feb 22 15:06:23 2008
Message-Id: <b@b>
References: <a@b>

body3
"#;

        /// imaptest `tests/thread-orderedsubject`, verbatim.
        const THREAD_ORDEREDSUBJECT: &str = r#"capabilities: THREAD=ORDEREDSUBJECT
messages: all

ok thread orderedsubject us-ascii all
* THREAD (1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15)
"#;

        /// imaptest `tests/thread-orderedsubject.mbox`, verbatim.
        const THREAD_ORDEREDSUBJECT_MBOX: &str = r#"From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: a

1

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: C

2

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: b

3

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: _

4

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: [foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)

55

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: b (a)

66

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: Re: [FWD: c]

77

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: [xyz]

88

From user@domain  Fri Feb 22 23:00:00 2008 +0200

9

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: =?iso-8859-1?q?_?=

10

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: Re: =?utf-8?q?b?=

11
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: =?iso-8859-1?q?RE:_C?=

12
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: =?us-ascii?b?UmU6IGM=?=

13

The subject is 'Re: c'.
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: Ad: Re: Ad: Re: Ad: x

14

From user@domain  Fri Feb 22 23:00:00 2008 +0200
Subject: re: [fwd: [fwd: re: [fwd: babylon]]]

15
"#;

        /// imaptest `tests/thread-orderedsubject2`, verbatim.
        const THREAD_ORDEREDSUBJECT2: &str = r#"capabilities: THREAD=ORDEREDSUBJECT
messages: all

ok thread orderedsubject us-ascii all
* THREAD (4 (2)(8)(6))(3 (1)(7)(5))
"#;

        /// imaptest `tests/thread-orderedsubject2.mbox`, verbatim.
        const THREAD_ORDEREDSUBJECT2_MBOX: &str = r#"From user@domain  Fri Feb 22 23:00:01 2008 +0200
Subject: a
Date: Fri, 22 Feb 2008 22:00:10 +0200

1

From user@domain  Fri Feb 22 23:00:02 2008 +0200
Date: Fri, 22 Feb 2008 22:00:09 +0200
Subject: b

2

From user@domain  Fri Feb 22 23:00:03 2008 +0200
Date: Fri, 22 Feb 2008 22:00:08 +0200
Subject: a

3

From user@domain  Fri Feb 22 23:00:04 2008 +0200
Date: Fri, 22 Feb 2008 22:00:07 +0200
Subject: b

4

From user@domain  Fri Feb 22 22:00:30 2008 +0200
Subject: a

5

From user@domain  Fri Feb 22 22:00:29 2008 +0200
Subject: b

6

From user@domain  Fri Feb 22 22:00:28 2008 +0200
Subject: a

7

From user@domain  Fri Feb 22 22:00:27 2008 +0200
Subject: b

8

"#;

        /// imaptest `tests/sort-subject`, verbatim.
        const SORT_SUBJECT: &str = r#"capabilities: SORT
messages: all

ok sort (subject) us-ascii all
* sort 9 10 1 14 3 5 11 6 15 2 7 12 13 8 4

ok sort (reverse subject) us-ascii all
* sort 4 8 2 7 12 13 15 6 3 5 11 14 1 9 10

ok sort (subject reverse size) us-ascii all
* sort 10 9 1 14 11 5 3 6 15 13 12 7 2 8 4
"#;
    }
}
