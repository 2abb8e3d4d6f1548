//! APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315 §3), MULTIAPPEND
//! (RFC 3502: all messages or none), CATENATE (RFC 4469, with IMAP URLs of
//! RFC 5092 naming parts of messages in this account), the UTF8 data item
//! (RFC 6855 §4), APPENDLIMIT (RFC 7889) and QUOTA (RFC 9208 §5.1). `OK`
//! only once the messages are durable.

use crate::message::Parsed;
use crate::proto::imap::{AppendData, AppendMessage, CatenatePart, Flag, Section, parse_section};
use crate::session::imap::fetch_render::{partial_slice, section_data};
use crate::session::imap::uidmap::compact_set;
use crate::session::imap::{
    CommandError, CommandResult, ImapSession, blocking, names, no, ok_code,
};
use crate::store::NewMessage;

impl ImapSession {
    /// APPEND mailbox message...
    pub(in crate::session::imap) async fn cmd_append(
        &mut self,
        sent: &str,
        mut messages: Vec<AppendMessage>,
    ) -> CommandResult {
        let info = self
            .find_mailbox(sent)
            .map_err(|_| no(Some("TRYCREATE"), "No such mailbox"))?;
        let limit = self.shared.config.limits.max_message_size;
        let mut raws = Vec::with_capacity(messages.len());
        for m in &mut messages {
            let raw = match &mut m.data {
                // Taken, not copied: a MULTIAPPEND holds its messages once.
                AppendData::Literal(bytes) => std::mem::take(bytes),
                AppendData::Catenate(parts) => self.catenate(parts, limit)?,
            };
            if raw.is_empty() {
                return Err(no(None, "Cannot append an empty message"));
            }
            if raw.len() as u64 > limit {
                return Err(no(Some("TOOBIG"), "Message exceeds the size limit"));
            }
            raws.push(raw);
        }
        let total: u64 = raws.iter().map(|r| r.len() as u64).sum();
        self.check_quota(total, raws.len() as u64)?;
        // The same cap as STORE's (`[limits] max_keywords`): APPEND must not
        // be the way around it.
        let mut new_keywords: Vec<&str> = Vec::new();
        for flag in messages.iter().flat_map(|m| &m.flags) {
            let f = flag.as_str();
            if !f.starts_with('\\')
                && !crate::store::has_flag(&info.record.keywords, f)
                && !new_keywords.iter().any(|k| k.eq_ignore_ascii_case(f))
            {
                new_keywords.push(f);
            }
        }
        if info.record.keywords.len() + new_keywords.len() > self.shared.config.limits.max_keywords
        {
            return Err(no(Some("LIMIT"), "Too many keywords in this mailbox"));
        }
        let (raws, parsed): (Vec<Vec<u8>>, Vec<Parsed>) =
            blocking(|| raws.into_iter().map(Parsed::prepare).unzip());
        let new: Vec<NewMessage<'_>> = raws
            .iter()
            .zip(&parsed)
            .zip(&messages)
            .map(|((raw, parsed), m)| NewMessage {
                raw,
                parsed,
                flags: wire_flags(&m.flags),
                internal_date: m
                    .date
                    .as_ref()
                    .map(|d| d.timestamp)
                    .unwrap_or_else(crate::time::now),
            })
            .collect();
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        let receipts = blocking(|| {
            if new.len() == 1 {
                store.append(&[(account, info.id)], &new[0])
            } else {
                store.append_batch(account, info.id, &new)
            }
        })?;
        store.sync().await?;
        let uidvalidity = receipts
            .first()
            .map_or(info.record.uidvalidity, |r| r.uidvalidity);
        ok_code(
            format!(
                "APPENDUID {uidvalidity} {}",
                compact_set(receipts.iter().map(|r| r.uid))
            ),
            "APPEND completed",
        )
    }

    /// Builds a CATENATE message (RFC 4469 §5): text parts as given, URL
    /// parts from the messages they name. A URL that names nothing is
    /// `NO [BADURL url]`.
    fn catenate(&self, parts: &[CatenatePart], limit: u64) -> Result<Vec<u8>, CommandError> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                CatenatePart::Text(t) => out.extend_from_slice(t),
                CatenatePart::Url(url) => {
                    let data = self.url_data(url).ok_or_else(|| {
                        no(Some(&format!("BADURL {}", quote(url))), "Invalid URL")
                    })?;
                    out.extend_from_slice(&data);
                }
            }
            if out.len() as u64 > limit {
                return Err(no(Some("TOOBIG"), "Message exceeds the size limit"));
            }
        }
        Ok(out)
    }

    /// The bytes an IMAP URL names, if it names a message of this account.
    fn url_data(&self, url: &str) -> Option<Vec<u8>> {
        let u = ImapUrl::parse(url)?;
        let name = names::from_wire(&u.mailbox, true).ok()?;
        let account = self.logged_in().account;
        let store = &self.shared.store;
        let info = store.mailbox_by_name(account, &name).ok()??;
        if u.uidvalidity.is_some_and(|v| v != info.record.uidvalidity) {
            return None;
        }
        let record = store.message(account, info.id, u.uid).ok()??;
        let raw = store.body(&record).ok()?;
        let summary = store.summary(&record).ok()?;
        let data = section_data(&raw, Some(&summary), &u.section);
        Some(partial_slice(&data, u.partial).to_vec())
    }
}

/// Stored flags from APPEND's flag list; `\Recent` cannot be set.
fn wire_flags(flags: &[Flag]) -> Vec<String> {
    flags
        .iter()
        .filter(|f| !matches!(f, Flag::Recent))
        .map(|f| f.as_str().to_string())
        .collect()
}

/// A URL inside a response code, as a quoted string.
fn quote(url: &str) -> String {
    let clean: String = url
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\' && *c != ']')
        .take(200)
        .collect();
    format!("\"{clean}\"")
}

/// The parts of an IMAP URL this server resolves (RFC 5092 §3):
/// `["imap://" authority] "/" enc-mailbox [";UIDVALIDITY=" n] "/;UID=" n
/// ["/;SECTION=" enc-section] ["/;PARTIAL=" origin ["." length]]`.
#[derive(Debug, PartialEq, Eq)]
struct ImapUrl {
    mailbox: String,
    uidvalidity: Option<u32>,
    uid: u32,
    section: Section,
    partial: Option<(u32, u32)>,
}

impl ImapUrl {
    fn parse(url: &str) -> Option<ImapUrl> {
        let path = match url.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("imap://") => {
                let rest = &url[7..];
                &rest[rest.find('/')?..]
            }
            _ => url,
        };
        let path = path.strip_prefix('/')?;
        let lower = path.to_ascii_lowercase();
        let at = lower.find("/;uid=")?;
        let (mut mailbox, rest) = (&path[..at], &path[at + 6..]);
        let mut uidvalidity = None;
        if let Some(p) = mailbox.to_ascii_lowercase().find(";uidvalidity=") {
            uidvalidity = Some(mailbox[p + 13..].parse().ok()?);
            mailbox = &mailbox[..p];
        }
        let mut fields = rest.split("/;");
        let uid: u32 = fields.next()?.parse().ok()?;
        let mut section = Section::default();
        let mut partial = None;
        for f in fields {
            let (key, value) = f.split_once('=')?;
            let value = percent_decode(value)?;
            match key.to_ascii_lowercase().as_str() {
                "section" => section = parse_section(&value)?,
                "partial" => {
                    let (o, n) = match value.split_once('.') {
                        Some((o, n)) => (o.parse().ok()?, n.parse().ok()?),
                        None => (value.parse().ok()?, u32::MAX),
                    };
                    partial = Some((o, n));
                }
                _ => return None,
            }
        }
        Some(ImapUrl {
            mailbox: percent_decode(mailbox)?,
            uidvalidity,
            uid,
            section,
            partial,
        })
    }
}

/// `%XX` escapes to UTF-8 text (RFC 3986 §2.1, RFC 5092 §3).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::SectionText;

    #[test]
    fn rfc5092_urls() {
        let u = ImapUrl::parse("/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9").unwrap();
        assert_eq!(u.mailbox, "INBOX");
        assert_eq!(u.uidvalidity, Some(785_799_047));
        assert_eq!(u.uid, 113_330);
        assert_eq!(u.section.part, vec![1, 5, 9]);
        let u = ImapUrl::parse("imap://joe@example.com/a%20b/;uid=20/;section=header").unwrap();
        assert_eq!(u.mailbox, "a b");
        assert_eq!(u.section.text, Some(SectionText::Header));
        let u = ImapUrl::parse("/x/;uid=2/;partial=100000.1").unwrap();
        assert_eq!(u.partial, Some((100_000, 1)));
        assert_eq!(
            ImapUrl::parse("/x/;uid=2").unwrap().section,
            Section::default()
        );
        for bad in [
            "x/;uid=1",
            "/x;uid=1",
            "/x/;uid=a",
            "/x/;uid=1/;section=BOGUS",
            "/x/;uid=1/;zzz=1",
        ] {
            assert!(ImapUrl::parse(bad).is_none(), "{bad}");
        }
    }
}
