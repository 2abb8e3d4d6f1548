//! FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2). Everything is rendered
//! from what delivery stored: the record (flags, dates, size), the parse
//! summary (ENVELOPE, BODYSTRUCTURE, part offsets) and, only when a body
//! section is asked for, the raw bytes. Nothing is re-parsed.

use super::response::flag_list;
use super::{CommandError, CommandResult, ImapSession, State, ok};
use crate::message::{MessageSummary, SectionText as MsgSection};
use crate::proto::imap::{FetchAttr, Section, SectionText, SequenceSet};
use crate::store::{FlagOp, MessageRecord};

/// What a FETCH needs loaded per message.
struct Needs {
    summary: bool,
    body: bool,
    sets_seen: bool,
}

fn needs(items: &[FetchAttr]) -> Needs {
    let mut n = Needs {
        summary: false,
        body: false,
        sets_seen: false,
    };
    for item in items {
        match item {
            FetchAttr::Envelope | FetchAttr::BodyStructure | FetchAttr::Body => n.summary = true,
            FetchAttr::BodySection { peek, section, .. } => {
                n.body = true;
                n.summary |= !section.part.is_empty() || section.text.is_some();
                n.sets_seen |= !peek;
            }
            FetchAttr::Rfc822 | FetchAttr::Rfc822Text => {
                n.body = true;
                n.summary = true;
                n.sets_seen = true;
            }
            FetchAttr::Rfc822Header => {
                n.body = true;
                n.summary = true;
            }
            _ => {}
        }
    }
    n
}

impl ImapSession {
    /// FETCH / UID FETCH.
    pub(super) async fn fetch(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        items: &[FetchAttr],
    ) -> CommandResult {
        if items
            .iter()
            .any(|i| matches!(i, FetchAttr::Binary { .. } | FetchAttr::BinarySize { .. }))
        {
            return Err(CommandError::Bad("BINARY is not supported".into()));
        }
        let State::Selected(login, sel) = &mut self.state else {
            unreachable!("allowed() checked")
        };
        if !uid_mode && sel.seq_out_of_range(set) {
            return Err(CommandError::Bad("Invalid message sequence number".into()));
        }
        let account = login.account;
        let mailbox = sel.id;
        let messages = sel.resolve(set, uid_mode);
        let need = needs(items);
        let store = self.shared.store.clone();

        // \Seen is set before answering, so the FLAGS sent are the new ones
        // (RFC 9051 §6.4.5: BODY[] without PEEK sets \Seen).
        let mut flags_changed = std::collections::HashSet::new();
        if need.sets_seen && !sel.read_only {
            let uids: Vec<u32> = messages.iter().map(|m| m.1).collect();
            let (updates, _) = store.store_flags(
                account,
                mailbox,
                &uids,
                FlagOp::Add,
                &["\\Seen".into()],
                None,
            )?;
            for u in updates {
                sel.own_changes.insert(u.uid, u.modseq);
                flags_changed.insert(u.uid);
            }
        }

        let mut out = Vec::new();
        for (seq, uid) in messages {
            let Some(record) = store.message(account, mailbox, uid)? else {
                continue;
            };
            let summary = if need.summary {
                Some(store.summary(&record)?)
            } else {
                None
            };
            let body = if need.body {
                Some(store.body(&record)?)
            } else {
                None
            };
            let msg = Loaded {
                uid,
                record: &record,
                summary: summary.as_ref(),
                body: body.as_deref(),
            };
            out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !std::mem::take(&mut first) {
                    out.push(b' ');
                }
            };
            if uid_mode && !items.contains(&FetchAttr::Uid) {
                sep(&mut out);
                out.extend_from_slice(format!("UID {uid}").as_bytes());
            }
            for item in items {
                sep(&mut out);
                write_item(&mut out, item, &msg);
            }
            if flags_changed.contains(&uid) && !items.contains(&FetchAttr::Flags) {
                sep(&mut out);
                out.extend_from_slice(format!("FLAGS {}", flag_list(&record.flags)).as_bytes());
            }
            out.extend_from_slice(b")\r\n");
        }
        self.out.extend_from_slice(&out);
        ok(if uid_mode {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        })
    }
}

/// One message's loaded data.
struct Loaded<'a> {
    uid: u32,
    record: &'a MessageRecord,
    summary: Option<&'a MessageSummary>,
    body: Option<&'a [u8]>,
}

fn write_item(out: &mut Vec<u8>, item: &FetchAttr, m: &Loaded<'_>) {
    match item {
        FetchAttr::Uid => out.extend_from_slice(format!("UID {}", m.uid).as_bytes()),
        FetchAttr::Flags => {
            out.extend_from_slice(format!("FLAGS {}", flag_list(&m.record.flags)).as_bytes())
        }
        FetchAttr::InternalDate => out.extend_from_slice(
            format!(
                "INTERNALDATE \"{}\"",
                crate::time::imap_internal_date(m.record.internal_date, 0)
            )
            .as_bytes(),
        ),
        FetchAttr::Rfc822Size => {
            out.extend_from_slice(format!("RFC822.SIZE {}", m.record.size).as_bytes())
        }
        FetchAttr::ModSeq => {
            out.extend_from_slice(format!("MODSEQ ({})", m.record.modseq).as_bytes())
        }
        FetchAttr::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            summary(m).write_envelope(out);
        }
        FetchAttr::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            summary(m).write_body_structure(out, true);
        }
        FetchAttr::Body => {
            out.extend_from_slice(b"BODY ");
            summary(m).write_body_structure(out, false);
        }
        FetchAttr::BodySection {
            section, partial, ..
        } => {
            out.extend_from_slice(format!("BODY[{}]", section_spec(section)).as_bytes());
            let data = section_data(m, &section.part, section.text.as_ref());
            write_partial(out, &data, *partial);
        }
        FetchAttr::Rfc822 => {
            out.extend_from_slice(b"RFC822 ");
            literal(out, m.body.unwrap_or_default());
        }
        FetchAttr::Rfc822Header => {
            out.extend_from_slice(b"RFC822.HEADER ");
            literal(out, &section_data(m, &[], Some(&SectionText::Header)));
        }
        FetchAttr::Rfc822Text => {
            out.extend_from_slice(b"RFC822.TEXT ");
            literal(out, &section_data(m, &[], Some(&SectionText::Text)));
        }
        // Refused before any output (see `fetch`).
        FetchAttr::Binary { .. } | FetchAttr::BinarySize { .. } => {}
    }
}

fn summary<'a>(m: &Loaded<'a>) -> &'a MessageSummary {
    // Invariant: `needs` loads the summary for every item that calls this.
    m.summary.expect("summary loaded for this item")
}

/// The bytes of a section; a part that does not exist is empty (as
/// Dovecot answers), not an error.
fn section_data(m: &Loaded<'_>, part: &[u32], text: Option<&SectionText>) -> Vec<u8> {
    let raw = m.body.unwrap_or_default();
    if part.is_empty() && text.is_none() {
        return raw.to_vec();
    }
    let text = text.map(|t| match t {
        SectionText::Header => MsgSection::Header,
        SectionText::HeaderFields { not, fields } => MsgSection::HeaderFields {
            not: *not,
            fields: fields.clone(),
        },
        SectionText::Text => MsgSection::Text,
        SectionText::Mime => MsgSection::Mime,
    });
    summary(m)
        .section(raw, part, text.as_ref())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// The section as echoed in the response: `1.2.HEADER.FIELDS (SUBJECT)`.
fn section_spec(section: &Section) -> String {
    let mut s: Vec<String> = section.part.iter().map(u32::to_string).collect();
    if let Some(text) = &section.text {
        s.push(match text {
            SectionText::Header => "HEADER".into(),
            SectionText::Text => "TEXT".into(),
            SectionText::Mime => "MIME".into(),
            SectionText::HeaderFields { not, fields } => {
                let names: Vec<String> = fields.iter().map(|f| f.to_ascii_uppercase()).collect();
                format!(
                    "HEADER.FIELDS{} ({})",
                    if *not { ".NOT" } else { "" },
                    names.join(" ")
                )
            }
        });
    }
    s.join(".")
}

/// RFC 9051 §6.4.5 `<origin.count>`: the response names only the origin.
fn write_partial(out: &mut Vec<u8>, data: &[u8], partial: Option<(u32, u32)>) {
    match partial {
        None => {
            out.push(b' ');
            literal(out, data);
        }
        Some((origin, count)) => {
            let start = (origin as usize).min(data.len());
            let end = start.saturating_add(count as usize).min(data.len());
            out.extend_from_slice(format!("<{origin}> ").as_bytes());
            literal(out, &data[start..end]);
        }
    }
}

fn literal(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}
