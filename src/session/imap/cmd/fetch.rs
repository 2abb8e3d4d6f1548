//! FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2), with CONDSTORE
//! `CHANGEDSINCE` and `MODSEQ` (RFC 7162 §3.1.4), QRESYNC `VANISHED`
//! (RFC 7162 §3.2.6), BINARY (RFC 3516), PREVIEW (RFC 8970), SAVEDATE
//! (RFC 8514) and OBJECTID (RFC 8474).
//!
//! A FETCH is a [`FetchJob`]: the response is produced a slice of messages
//! at a time ([`ImapFlow::More`]), so `FETCH 1:* BODY[]` on a mailbox of
//! gigabytes never sits in memory whole. Between slices the session does
//! nothing else, so the client sees one ordinary response.

use std::collections::HashSet;

use crate::message::decode::UnknownEncoding;
use crate::proto::imap::{FetchAttr, SequenceSet};
use crate::session::imap::fetch_render::{Loaded, Needs, check_binary, needs, write_item};
use std::io::Write as _;

use crate::session::imap::response::write_flag_list;
use crate::session::imap::uidmap::compact_set;
use crate::session::imap::{
    CommandError, CommandResult, ImapFlow, ImapSession, State, bad, blocking, blocking_for, no, ok,
};
use crate::store::{ChangeKind, FlagOp, MessageRecord};

/// Output written per slice before the driver flushes it.
const SLICE_BYTES: usize = 256 * 1024;
/// Messages per slice at most.
const SLICE_MESSAGES: usize = 1000;

/// A FETCH in progress.
pub struct FetchJob {
    tag: String,
    uid_mode: bool,
    items: Vec<FetchAttr>,
    need: Needs,
    /// (sequence number, UID) of every message to answer for, ascending.
    messages: Vec<(u32, u32)>,
    /// The next index into `messages`.
    pos: usize,
    /// Messages whose `\Seen` this FETCH set: FLAGS goes in their response.
    seen_set: HashSet<u32>,
    /// `CHANGEDSINCE n`: only messages with a higher MODSEQ.
    changed_since: Option<u64>,
    /// Add MODSEQ to each response (CONDSTORE, RFC 7162 §3.1.4.1).
    with_modseq: bool,
    /// A message had a transfer encoding BINARY cannot undo.
    unknown_cte: bool,
}

impl FetchJob {
    /// The command's tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Whether this FETCH changed flags (`\Seen`), which must be durable
    /// before the tagged OK.
    pub fn changed_flags(&self) -> bool {
        !self.seen_set.is_empty()
    }

    /// Whether EXPUNGE may be reported after this command (RFC 9051 §7.5.1).
    pub fn expunge_ok(&self) -> bool {
        self.uid_mode
    }

    /// The tag and the command's result, once every slice is written.
    pub fn finish(self) -> (String, CommandResult) {
        let result = if self.unknown_cte {
            Err(no(
                Some("UNKNOWN-CTE"),
                "A part has a transfer encoding the server cannot decode",
            ))
        } else if self.uid_mode {
            ok("UID FETCH completed")
        } else {
            ok("FETCH completed")
        };
        (self.tag, result)
    }
}

impl ImapSession {
    /// Turns CONDSTORE on (RFC 7162 §3.1: an enabling command); when a
    /// mailbox is selected the client learns its HIGHESTMODSEQ now.
    pub(in crate::session::imap) fn enable_condstore(&mut self) {
        if self.enabled.condstore {
            return;
        }
        self.enabled.condstore = true;
        if let State::Selected(_, sel) = &self.state {
            let line = format!("OK [HIGHESTMODSEQ {}] CONDSTORE enabled", sel.modseq);
            self.untagged(&line);
        }
    }

    /// FETCH / UID FETCH: starts the job and writes its first slice.
    pub(in crate::session::imap) fn cmd_fetch(
        &mut self,
        tag: &str,
        uid_mode: bool,
        set: &SequenceSet,
        items: Vec<FetchAttr>,
        changed_since: Option<u64>,
        vanished: bool,
    ) -> (ImapFlow, Option<CommandResult>) {
        match self.start_fetch(tag, uid_mode, set, items, changed_since, vanished) {
            Ok(job) => {
                self.job = Some(job);
                (ImapFlow::More, None)
            }
            Err(e) => (ImapFlow::Command, Some(Err(e))),
        }
    }

    fn start_fetch(
        &mut self,
        tag: &str,
        uid_mode: bool,
        set: &SequenceSet,
        items: Vec<FetchAttr>,
        changed_since: Option<u64>,
        vanished: bool,
    ) -> Result<FetchJob, CommandError> {
        if vanished && !self.enabled.qresync {
            return Err(bad("VANISHED needs ENABLE QRESYNC"));
        }
        if changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
            self.enable_condstore();
        }
        let set = self.resolve_saved(set, uid_mode);
        let (login, sel) = self.state.selected_mut();
        if !uid_mode && sel.uids.seq_out_of_range(&set) {
            return Err(bad("Invalid message sequence number"));
        }
        let account = login.account;
        let mailbox = sel.id;
        let read_only = sel.read_only;
        let messages = sel.uids.resolve(&set, uid_mode);
        let need = needs(&items);
        let store = self.shared.store.clone();

        // RFC 7162 §3.2.6: expunged messages of the set, before the rest.
        if vanished && let Some(since) = changed_since {
            let upto = sel.modseq;
            // The change log since `since` can be long whatever the
            // mailbox holds now: always off the worker.
            let changes = blocking(|| store.changes_since(account, mailbox, since, upto))?;
            let star = sel.uids.last().unwrap_or(0).max(1);
            let mut gone: Vec<u32> = changes
                .into_iter()
                .filter(|c| c.kind == ChangeKind::Expunged && set.contains(c.uid, star))
                .map(|c| c.uid)
                .collect();
            gone.sort_unstable();
            if !gone.is_empty() {
                self.untagged(&format!("VANISHED (EARLIER) {}", compact_set(gone)));
            }
        }

        // \Seen is set before answering, so the FLAGS sent are the new ones
        // (RFC 9051 §6.4.5: BODY[] without PEEK sets \Seen).
        let mut seen_set = HashSet::new();
        if need.sets_seen && !read_only {
            let uids: Vec<u32> = messages.iter().map(|m| m.1).collect();
            let (updates, _) = blocking_for(uids.len(), || {
                store.store_flags(
                    account,
                    mailbox,
                    &uids,
                    FlagOp::Add,
                    &["\\Seen".into()],
                    None,
                )
            })?;
            let (_, sel) = self.state.selected_mut();
            for u in updates {
                sel.own_changes.insert(u.uid, u.modseq);
                seen_set.insert(u.uid);
            }
        }
        Ok(FetchJob {
            tag: tag.to_owned(),
            uid_mode,
            with_modseq: self.enabled.condstore
                && (changed_since.is_some() || items.contains(&FetchAttr::Flags)),
            items,
            need,
            messages,
            pos: 0,
            seen_set,
            changed_since,
            unknown_cte: false,
        })
    }

    /// Writes the next slice of `job`; `Ok(true)` when it is complete.
    pub(in crate::session::imap) fn fetch_step(
        &mut self,
        job: &mut FetchJob,
    ) -> Result<bool, CommandError> {
        let rev1 = !self.enabled.rev2;
        let (login, sel) = self.state.selected_mut();
        let account = login.account;
        let mailbox = sel.id;
        let store = self.shared.store.clone();
        let end = (job.pos + SLICE_MESSAGES).min(job.messages.len());
        let slice = &job.messages[job.pos..end];
        let records = blocking_for(slice.len(), || {
            load_records(store.as_ref(), account, mailbox, slice)
        })?;
        // Written straight into the session's output, which the driver
        // sends after each slice: no slice buffer of its own.
        let out = &mut self.out;
        let start = out.len();
        let mut done = job.pos;
        for (&(seq, uid), record) in slice.iter().zip(records) {
            done += 1;
            let Some(record) = record else { continue };
            if job.changed_since.is_some_and(|c| record.modseq <= c) {
                continue;
            }
            let loaded = (|| -> Result<_, crate::store::StoreError> {
                let summary = match job.need.summary {
                    true => Some(store.summary(&record)?),
                    false => None,
                };
                let body = match job.need.body {
                    true => Some(store.body(&record)?),
                    false => None,
                };
                let index = match job.need.index {
                    true => Some(store.search_index(&record)?),
                    false => None,
                };
                Ok((summary, body, index))
            })();
            let (summary, body, index) = match loaded {
                // Expunged by another session since the records were read:
                // left out like a message already gone (RFC 2180 §4.1.2).
                Err(crate::store::StoreError::Expunged) => continue,
                other => other?,
            };
            let msg = Loaded {
                uid,
                record: &record,
                summary: summary.as_ref(),
                body: body.as_deref(),
                index: index.as_ref(),
                recent: rev1 && sel.recent.contains(uid),
            };
            if let Err(UnknownEncoding) = check_binary(&job.items, &msg) {
                job.unknown_cte = true;
                continue;
            }
            write_message(out, seq, job, &msg);
            if out.len() - start >= SLICE_BYTES {
                break;
            }
        }
        job.pos = done;
        Ok(job.pos >= job.messages.len())
    }
}

/// `* seq FETCH (...)` for one message.
fn write_message(out: &mut Vec<u8>, seq: u32, job: &FetchJob, msg: &Loaded<'_>) {
    let _ = write!(out, "* {seq} FETCH (");
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b' ');
        }
    };
    if job.uid_mode && !job.items.contains(&FetchAttr::Uid) {
        sep(out);
        let _ = write!(out, "UID {}", msg.uid);
    }
    for item in &job.items {
        sep(out);
        write_item(out, item, msg);
    }
    if job.seen_set.contains(&msg.uid) && !job.items.contains(&FetchAttr::Flags) {
        sep(out);
        out.extend_from_slice(b"FLAGS ");
        write_flag_list(out, &msg.record.flags, msg.recent);
    }
    if job.with_modseq && !job.items.contains(&FetchAttr::ModSeq) {
        sep(out);
        let _ = write!(out, "MODSEQ ({})", msg.record.modseq);
    }
    out.extend_from_slice(b")\r\n");
}

/// The records of `slice` (ascending UIDs), in order: one range scan when
/// the UIDs are dense, point reads when they are sparse.
fn load_records(
    store: &dyn crate::store::MailStore,
    account: crate::store::AccountId,
    mailbox: crate::store::MailboxId,
    slice: &[(u32, u32)],
) -> Result<Vec<Option<MessageRecord>>, crate::store::StoreError> {
    let (Some(first), Some(last)) = (slice.first(), slice.last()) else {
        return Ok(Vec::new());
    };
    let span = u64::from(last.1 - first.1) + 1;
    if span > 4 * slice.len() as u64 {
        return slice
            .iter()
            .map(|&(_, uid)| store.message(account, mailbox, uid))
            .collect();
    }
    let mut out: Vec<Option<MessageRecord>> = Vec::with_capacity(slice.len());
    let mut wanted = slice.iter().map(|m| m.1).peekable();
    store.scan_messages(account, mailbox, first.1, last.1, &mut |uid, rec| {
        while let Some(&w) = wanted.peek() {
            if w < uid {
                out.push(None);
                wanted.next();
            } else {
                break;
            }
        }
        if wanted.peek() == Some(&uid) {
            out.push(Some(rec));
            wanted.next();
        }
        wanted.peek().is_some()
    })?;
    out.extend(wanted.map(|_| None));
    Ok(out)
}
