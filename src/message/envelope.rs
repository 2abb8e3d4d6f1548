//! The ENVELOPE fetch item (RFC 3501 §7.4.2, RFC 9051 §7.5.2 `envelope`).
//!
//! ```text
//! envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
//!            env-reply-to SP env-to SP env-cc SP env-bcc SP
//!            env-in-reply-to SP env-message-id ")"
//! env-from = "(" 1*address ")" / nil        ; likewise sender, reply-to, to, cc, bcc
//! address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
//! ```
//!
//! Values are taken from the raw header, unfolded and trimmed, with encoded words
//! (RFC 2047) kept as sent, as Dovecot does; the client decodes them. Built once when
//! the message is stored, rendered on every FETCH.

use serde::{Deserialize, Serialize};

use super::address::{Address, parse_address_list};
use super::header::{Fields, unfold_trim};
use super::wire::write_nstring;

/// The parsed ENVELOPE of a message (the top-level one, or one encapsulated in a
/// `message/rfc822` part). `None` / empty lists are sent as `NIL`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `Date:` as sent.
    pub date: Option<Vec<u8>>,
    /// `Subject:` as sent (encoded words not decoded).
    pub subject: Option<Vec<u8>>,
    /// `From:` addresses.
    pub from: Vec<Address>,
    /// Defaults to `from` when absent or empty (RFC 3501 §7.4.2).
    pub sender: Vec<Address>,
    /// Defaults to `from` when absent or empty (RFC 3501 §7.4.2).
    pub reply_to: Vec<Address>,
    /// `To:` addresses.
    pub to: Vec<Address>,
    /// `Cc:` addresses.
    pub cc: Vec<Address>,
    /// `Bcc:` addresses (present only in copies that kept the field, e.g. Sent).
    pub bcc: Vec<Address>,
    /// `In-Reply-To:` as sent.
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:` as sent.
    pub message_id: Option<Vec<u8>>,
}

/// The header fields the envelope is made of, in envelope order.
const NAMES: [&[u8]; 10] = [
    b"date",
    b"subject",
    b"from",
    b"sender",
    b"reply-to",
    b"to",
    b"cc",
    b"bcc",
    b"in-reply-to",
    b"message-id",
];

impl Envelope {
    /// Builds the envelope from a raw header block. The first occurrence of each field
    /// wins. `budget` caps the number of addresses kept across the whole summary, so a
    /// header of a million recipients cannot turn into a million allocations.
    pub(crate) fn from_header(header: &[u8], budget: &mut usize) -> Envelope {
        let mut seen = [false; NAMES.len()];
        let mut env = Envelope::default();
        for field in Fields::new(header) {
            let Some(i) = NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(field.name))
            else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let value = field.value;
            match i {
                0 => env.date = Some(unfold_trim(value)),
                1 => env.subject = Some(unfold_trim(value)),
                2 => env.from = parse_address_list(value, budget),
                3 => env.sender = parse_address_list(value, budget),
                4 => env.reply_to = parse_address_list(value, budget),
                5 => env.to = parse_address_list(value, budget),
                6 => env.cc = parse_address_list(value, budget),
                7 => env.bcc = parse_address_list(value, budget),
                8 => env.in_reply_to = Some(unfold_trim(value)),
                _ => env.message_id = Some(unfold_trim(value)),
            }
        }
        // RFC 3501 §7.4.2: "If the Sender or Reply-To lines are absent in the
        // [RFC-2822] header, or are present but empty, the server sets the
        // corresponding member of the envelope to be the same value as the from member."
        if env.sender.is_empty() {
            env.sender = env.from.clone();
        }
        if env.reply_to.is_empty() {
            env.reply_to = env.from.clone();
        }
        env
    }

    /// Writes the `envelope` production.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        write_nstring(out, self.date.as_deref());
        out.push(b' ');
        write_nstring(out, self.subject.as_deref());
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            out.push(b' ');
            write_address_list(out, list);
        }
        out.push(b' ');
        write_nstring(out, self.in_reply_to.as_deref());
        out.push(b' ');
        write_nstring(out, self.message_id.as_deref());
        out.push(b')');
    }
}

/// `"(" 1*address ")" / nil` — note that the ABNF puts no SP between addresses.
fn write_address_list(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_nstring(out, a.name.as_deref());
        out.push(b' ');
        write_nstring(out, a.adl.as_deref());
        out.push(b' ');
        write_nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        write_nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}
