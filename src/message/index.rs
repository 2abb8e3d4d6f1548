//! [`SearchIndex`] and the body text: what SEARCH, SORT, THREAD, PREVIEW
//! and THREADID read, computed once when a message is stored, so that no
//! command parses a message again.
//!
//! - Header keys (`SUBJECT`, `FROM`, `HEADER name value`, ...; RFC 9051
//!   §6.4.4) match the top-level header fields, decoded (RFC 2047) and
//!   lower-cased, kept as `name: value` lines.
//! - `BODY` and `TEXT` match the body text ([`body_text`]): every text part
//!   transfer-decoded and converted to UTF-8, HTML turned into text, and
//!   the headers of encapsulated messages, lower-cased.
//! - SORT (RFC 5256 §3, RFC 5957) reads the base subject, the first
//!   addresses' mailboxes and display names, and the sent date.
//! - THREAD (RFC 5256) reads the Message-ID, References and In-Reply-To
//!   fields and the decoded subject; THREADID (RFC 8474 §5.2) names the
//!   thread by its root message id.
//! - PREVIEW (RFC 8970) is the start of the first text part.

use mail_parser::parsers::MessageStream;
use mail_parser::{Address as MpAddress, HeaderValue};
use serde::{Deserialize, Serialize};

use super::bodystructure::{Part, PartKind};
use super::decode::text_of;
use super::header::{Fields, unfold_trim};
use super::summary::MessageSummary;
use super::thread::{base_subject_with_flag, message_ids};

/// The most header text kept per message (the header part of TEXT too).
pub const MAX_HEADER_TEXT: usize = 256 * 1024;
/// The most characters of PREVIEW (RFC 8970 §3.1: at most 256).
pub const PREVIEW_CHARS: usize = 256;

/// The header lines header keys search (see [`header_text`]), in two
/// parts stored apart: the Subject lines, which SUBJECT and
/// `HEADER Subject` (the most common server-side searches) read alone, and
/// every other field's lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderText {
    /// `subject: ...` lines.
    pub subject: String,
    /// The lines of every other field.
    pub other: String,
}

/// Which part of the [`HeaderText`] a search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderPart {
    /// The Subject lines.
    Subject,
    /// The other fields' lines.
    Other,
}

impl HeaderPart {
    /// The part holding the lines of the (lower-case) field `name`.
    pub fn of_field(name: &str) -> HeaderPart {
        match name {
            "subject" => HeaderPart::Subject,
            _ => HeaderPart::Other,
        }
    }
}

/// What SORT, THREAD, PREVIEW and the sent-date keys need of a message.
/// The header text that header keys search is kept apart ([`header_text`]),
/// so each search reads only what it matches against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchIndex {
    /// The subject, decoded (original case).
    pub subject: String,
    /// RFC 5256 §2.1 base subject, case-folded (see `thread::base_subject`).
    pub base_subject: String,
    /// Whether the subject was a reply or forward (RFC 5256 §2.1).
    pub is_reply: bool,
    /// Lower-cased addr-mailbox of the first From / To / Cc address (SORT FROM, TO, CC).
    pub from: String,
    /// See `from`.
    pub to: String,
    /// See `from`.
    pub cc: String,
    /// Lower-cased display name of the first From / To address, or its
    /// address when it has none (RFC 5957 §3).
    pub display_from: String,
    /// See `display_from`.
    pub display_to: String,
    /// The Date field as Unix seconds.
    pub sent_date: Option<i64>,
    /// The Date field's own calendar day (days since 1970-01-01, in the
    /// field's time zone): SENTBEFORE/SENTON/SENTSINCE compare days
    /// "disregarding time and timezone" (RFC 9051 §6.4.4).
    pub sent_day: Option<i64>,
    /// Message-ID, References and In-Reply-To as sent, unfolded.
    pub message_id: Option<Vec<u8>>,
    /// See `message_id`.
    pub references: Option<Vec<u8>>,
    /// See `message_id`.
    pub in_reply_to: Option<Vec<u8>>,
    /// THREADID: a hash of the thread's root message id.
    pub thread: u64,
    /// PREVIEW text.
    pub preview: String,
}

impl SearchIndex {
    /// Builds the index of a message from its raw bytes and summary.
    pub fn build(raw: &[u8], summary: &MessageSummary) -> SearchIndex {
        Self::build_with_headers(raw, summary).0
    }

    /// The index and the header text (see [`header_text`]) in one pass.
    pub fn build_with_headers(raw: &[u8], summary: &MessageSummary) -> (SearchIndex, HeaderText) {
        let header = summary.root.header.slice(raw).unwrap_or_default();
        let mut idx = SearchIndex {
            sent_date: summary.sent_date,
            ..SearchIndex::default()
        };
        let mut seen = [false; 6];
        let mut headers = HeaderText::default();
        for field in Fields::new(header) {
            if field.name.is_empty() {
                continue;
            }
            let name = String::from_utf8_lossy(field.name).to_lowercase();
            let mut value = decoded_value(field.value);
            if ADDRESS_FIELDS.contains(&name.as_str()) {
                // Addresses also match in their parsed form, so that
                // `FROM a@b` finds `<a (comment)@ b>` (what Dovecot does).
                let parsed = normalized_addresses(field.value);
                if !parsed.is_empty() && parsed != value {
                    value.push('\t');
                    value.push_str(&parsed);
                }
            }
            let lines = match HeaderPart::of_field(&name) {
                HeaderPart::Subject => &mut headers.subject,
                HeaderPart::Other => &mut headers.other,
            };
            if lines.len() + name.len() + value.len() + 3 <= MAX_HEADER_TEXT {
                lines.push_str(&name);
                lines.push_str(": ");
                lines.push_str(&value.to_lowercase());
                lines.push('\n');
            }
            let slot = ["subject", "from", "to", "cc", "message-id", "references"]
                .iter()
                .position(|n| *n == name);
            match slot {
                Some(i) if !std::mem::replace(&mut seen[i], true) => match i {
                    0 => idx.subject = decoded_value(field.value),
                    1 => (idx.from, idx.display_from) = first_address(field.value),
                    2 => (idx.to, idx.display_to) = first_address(field.value),
                    3 => idx.cc = first_address(field.value).0,
                    4 => idx.message_id = Some(unfold_trim(field.value)),
                    _ => idx.references = Some(unfold_trim(field.value)),
                },
                _ if name == "in-reply-to" && idx.in_reply_to.is_none() => {
                    idx.in_reply_to = Some(unfold_trim(field.value));
                }
                _ if name == "date" && idx.sent_day.is_none() => {
                    idx.sent_day = local_day(field.value);
                }
                _ => {}
            }
        }
        let (base, reply) = base_subject_with_flag(&idx.subject);
        idx.base_subject = base;
        idx.is_reply = reply;
        idx.thread = thread_hash(&idx);
        idx.preview = preview(raw, &summary.root);
        (idx, headers)
    }
}

/// The header text of a message: `name: value\n` for every top-level
/// header field, name and value lower-cased, value RFC 2047-decoded and
/// unfolded, address fields followed by their parsed addresses. What
/// SUBJECT, FROM, HEADER and the header part of TEXT match against.
pub fn header_text(raw: &[u8], summary: &MessageSummary) -> HeaderText {
    SearchIndex::build_with_headers(raw, summary).1
}

/// The header fields that hold addresses (RFC 5322 §3.6.2, §3.6.3).
const ADDRESS_FIELDS: [&str; 8] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-to",
];

/// The addresses of an address field as `name <local@domain>`, comma
/// separated, comments dropped; groups as their member addresses.
fn normalized_addresses(value: &[u8]) -> String {
    let mut v = value.to_vec();
    v.push(b'\n');
    let parsed = MessageStream::new(&v).parse_address();
    let mut out: Vec<String> = Vec::new();
    let mut push = |a: &mail_parser::Addr<'_>| {
        let addr = a.address.as_deref().unwrap_or_default();
        out.push(match a.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => format!("{n} <{addr}>"),
            _ => format!("<{addr}>"),
        });
    };
    match &parsed {
        HeaderValue::Address(MpAddress::List(list)) => list.iter().for_each(&mut push),
        HeaderValue::Address(MpAddress::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .for_each(&mut push),
        _ => {}
    }
    out.join(", ")
}

/// The calendar day of a Date field in its own zone.
fn local_day(value: &[u8]) -> Option<i64> {
    let mut v = value.to_vec();
    v.push(b'\n');
    match MessageStream::new(&v).parse_date() {
        HeaderValue::DateTime(dt) if dt.is_valid() => Some(crate::time::days_from_civil(
            i64::from(dt.year),
            u32::from(dt.month),
            u32::from(dt.day),
        )),
        _ => None,
    }
}

/// A header field value, RFC 2047-decoded and unfolded.
fn decoded_value(value: &[u8]) -> String {
    let mut v = value.to_vec();
    v.push(b'\n');
    match MessageStream::new(&v).parse_unstructured() {
        HeaderValue::Text(t) => t.trim().to_owned(),
        _ => String::new(),
    }
}

/// (lower-cased addr-mailbox, lower-cased display name or address) of the
/// first address in an address field.
fn first_address(value: &[u8]) -> (String, String) {
    let mut v = value.to_vec();
    v.push(b'\n');
    let parsed = MessageStream::new(&v).parse_address();
    let addr = match &parsed {
        HeaderValue::Address(MpAddress::List(list)) => list.first(),
        HeaderValue::Address(MpAddress::Group(groups)) => match groups.first() {
            // RFC 5256 §3 reads the ENVELOPE, where a group starts with an
            // address whose mailbox is the group's name.
            Some(g) if g.name.is_some() => {
                let name = g.name.as_deref().unwrap_or_default().trim().to_lowercase();
                return (name.clone(), name);
            }
            Some(g) => g.addresses.first(),
            None => None,
        },
        _ => None,
    };
    let Some(addr) = addr else {
        return (String::new(), String::new());
    };
    let email = addr.address.as_deref().unwrap_or_default().to_lowercase();
    let mailbox = email.split('@').next().unwrap_or_default().to_owned();
    let display = match addr.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_lowercase(),
        _ => email,
    };
    (mailbox, display)
}

/// THREADID: the root of the thread is the first References id, else the
/// In-Reply-To id, else the message's own id (RFC 8474 §5.2 leaves the
/// algorithm to the server; this one puts replies with their parents).
fn thread_hash(idx: &SearchIndex) -> u64 {
    let root = [&idx.references, &idx.in_reply_to, &idx.message_id]
        .into_iter()
        .flatten()
        .find_map(|v| message_ids(v).into_iter().next());
    match root {
        Some(id) => fnv1a(id.as_bytes()),
        None => 0,
    }
}

/// FNV-1a, 64 bits: stable across versions and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The body text of a message for `BODY` and `TEXT` (see the module docs),
/// lower-cased.
pub fn body_text(raw: &[u8], summary: &MessageSummary) -> String {
    let mut out = String::new();
    let mut stack: Vec<&Part> = vec![&summary.root];
    while let Some(part) = stack.pop() {
        match &part.kind {
            PartKind::Multipart(children) => stack.extend(children.iter().rev()),
            PartKind::Message { root, .. } => {
                // The encapsulated message's header is text of the outer body.
                let header = root.header.slice(raw).unwrap_or_default();
                for field in Fields::new(header) {
                    out.push_str(&String::from_utf8_lossy(field.name));
                    out.push_str(": ");
                    out.push_str(&decoded_value(field.value));
                    out.push('\n');
                }
                stack.push(root);
            }
            PartKind::Single if part.media_type == "TEXT" => {
                let body = part.body.slice(raw).unwrap_or_default();
                let text = text_of(part, body);
                if part.media_subtype == "HTML" {
                    out.push_str(&html_text(&text));
                } else {
                    out.push_str(&text);
                }
                out.push('\n');
            }
            PartKind::Single => {}
        }
    }
    out.to_lowercase()
}

/// The text of an HTML part for searching and previews: tags dropped
/// (inline ones without a gap, others as a space), `script` and `style`
/// contents skipped, common entities decoded. Linear, no allocation per
/// character beyond the output.
pub fn html_text(html: &str) -> String {
    const INLINE: [&str; 12] = [
        "a", "b", "i", "u", "em", "strong", "span", "font", "small", "big", "sub", "sup",
    ];
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            push_entities(&mut out, &rest[..lt]);
        }
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match skip_until {
            Some(end) if tag.starts_with('/') && name == end => skip_until = None,
            Some(_) => {}
            None if (name == "script" || name == "style") && !tag.starts_with('/') => {
                skip_until = Some(if name == "script" { "script" } else { "style" });
            }
            None if !INLINE.contains(&name.as_str()) => out.push(' '),
            None => {}
        }
        rest = &after[gt + 1..];
    }
    if skip_until.is_none() {
        push_entities(&mut out, rest);
    }
    out
}

/// Appends `text` with `&amp;`-style and numeric entities decoded.
fn push_entities(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// RFC 8970 §3.1: up to 256 characters of the first text part, whitespace
/// collapsed, no markup.
fn preview(raw: &[u8], root: &Part) -> String {
    let mut stack = vec![root];
    let mut html = None;
    while let Some(part) = stack.pop() {
        match &part.kind {
            PartKind::Multipart(children) => stack.extend(children.iter().rev()),
            PartKind::Message { .. } => {}
            PartKind::Single if part.media_type == "TEXT" => {
                let is_attachment = part
                    .disposition
                    .as_ref()
                    .is_some_and(|d| d.kind.eq_ignore_ascii_case("attachment"));
                if is_attachment {
                    continue;
                }
                let body = part.body.slice(raw).unwrap_or_default();
                // Only the start is needed; decode a bounded prefix.
                let body = &body[..body.len().min(16 * 1024)];
                match part.media_subtype.as_str() {
                    "PLAIN" => return collapse(&text_of(part, body)),
                    "HTML" if html.is_none() => html = Some(html_text(&text_of(part, body))),
                    _ => {}
                }
            }
            PartKind::Single => {}
        }
    }
    html.map(|h| collapse(&h)).unwrap_or_default()
}

fn collapse(text: &str) -> String {
    let mut out = String::new();
    for (n, word) in text.split_whitespace().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() >= PREVIEW_CHARS {
            break;
        }
    }
    out.chars().take(PREVIEW_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(raw: &[u8]) -> (SearchIndex, String) {
        let summary = MessageSummary::parse(raw);
        (SearchIndex::build(raw, &summary), body_text(raw, &summary))
    }

    fn headers(raw: &[u8]) -> String {
        let h = header_text(raw, &MessageSummary::parse(raw));
        assert!(h.subject.lines().all(|l| l.starts_with("subject: ")));
        assert!(!h.other.lines().any(|l| l.starts_with("subject: ")));
        h.subject + &h.other
    }

    #[test]
    fn headers_are_decoded_and_lower_cased() {
        let raw = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from\r\n\tBerlin\r\nFrom: \"Doe, John\" <John.Doe@Example.test>\r\nTo: Jane <jane@x.test>, bob@y.test\r\nX-Extra: Hello Beautiful\r\n\r\nbody\r\n";
        let (idx, text) = index(raw);
        assert_eq!(idx.subject, "Grüße from Berlin");
        let h = headers(raw);
        assert!(h.contains("subject: grüße from berlin\n"));
        assert!(h.contains("x-extra: hello beautiful\n"));
        // Address fields carry the raw value, a tab, then the normalized form.
        assert!(
            h.contains(
                "from: \"doe, john\" <john.doe@example.test>\tdoe, john <john.doe@example.test>\n"
            ),
            "{h}"
        );
        assert_eq!(idx.from, "john.doe");
        assert_eq!(idx.display_from, "doe, john");
        assert_eq!(idx.to, "jane");
        assert_eq!(idx.display_to, "jane");
        assert_eq!(text, "body\r\n\n");
        assert_eq!(idx.preview, "body");
    }

    #[test]
    fn body_text_decodes_parts_and_skips_attachments() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+SMOpbGxvPC9iPiB3b3JsZA==\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nSECRETBYTES\r\n--b--\r\n";
        let (idx, text) = index(raw);
        assert!(text.contains("héllo world"), "{text:?}");
        assert!(!text.contains("secretbytes"));
        assert_eq!(idx.preview, "Héllo world");
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            collapse(&html_text(
                "<p>Hi <b>J</b>oe &amp; co&#33;</p><style>p{}</style><div>next&nbsp;line</div>"
            )),
            "Hi Joe & co! next line"
        );
        assert_eq!(html_text("a < b"), "a ");
        assert_eq!(html_text("&bogus; &#xZZ;"), "&bogus; &#xZZ;");
    }

    #[test]
    fn thread_root_comes_from_references() {
        let a = index(b"Message-ID: <a@x>\r\n\r\n").0;
        let b = index(b"Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\n").0;
        let c = index(b"Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n\r\n").0;
        assert_eq!(a.thread, b.thread);
        assert_eq!(a.thread, c.thread);
        assert_ne!(a.thread, 0);
    }
}
