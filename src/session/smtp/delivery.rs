//! Local delivery: recipient checks (RFC 5321 §4.1.1.3), the trace
//! headers (RFC 5321 §4.4; `with` by RFC 3848) and, on submission, the
//! missing headers a submission server adds (RFC 6409 §8), and the one
//! atomic store transaction.

use std::net::SocketAddr;

use super::{Role, Shared};
use crate::message::Parsed;
use crate::proto::smtp::Reply;
use crate::store::{AccountId, NewMessage, StoreError};

/// An accepted recipient: a local account.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The address as the client gave it.
    pub address: String,
    /// Its account.
    pub account: AccountId,
}

/// The SMTP envelope of one message.
pub struct Envelope<'a> {
    pub helo: &'a str,
    pub peer: SocketAddr,
    pub tls: bool,
    pub role: Role,
    pub from: &'a str,
    pub recipients: &'a [Recipient],
    /// The mailbox it goes to (`INBOX`, or `Junk` for DMARC quarantine);
    /// INBOX when the account has no such mailbox.
    pub mailbox: &'a str,
    /// Fields to add after our `Received:` (`Authentication-Results:`).
    pub trace: &'a str,
}

/// Checks one RCPT TO address: a local domain and an existing account.
/// Another domain is relaying: refused on submission for now, and always
/// on the MX and LMTP (`554 5.7.1`, CONTRACT.md).
pub fn resolve_recipient(shared: &Shared, path: &str, role: Role) -> Result<Recipient, Reply> {
    let address = path.trim().to_lowercase();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(Reply::new(
            501,
            Some((5, 1, 3)),
            "Recipient address must be local@domain",
        ));
    };
    if local.is_empty() || !shared.config.is_local_domain(domain) {
        let code = if role == Role::Submission { 550 } else { 554 };
        return Err(Reply::new(
            code,
            Some((5, 7, 1)),
            format!(
                "Relaying to {domain} is not available: tokenmail delivers only to its own domains"
            ),
        ));
    }
    match shared.store.account(&address) {
        Ok(Some(account)) => {
            // RFC 9208 §5.1, RFC 3463 §3.3: a full mailbox is a temporary
            // failure at RCPT time, so the sender retries later.
            if over_quota(shared, account, None).unwrap_or(false) {
                return Err(Reply::new(452, Some((4, 2, 2)), "Mailbox full"));
            }
            Ok(Recipient {
                address: path.to_string(),
                account,
            })
        }
        Ok(None) => Err(Reply::new(
            550,
            Some((5, 1, 1)),
            format!("No such user: {address}"),
        )),
        Err(e) => {
            tracing::error!(error = %e, "recipient lookup failed");
            Err(Reply::new(451, Some((4, 3, 0)), "Temporary lookup failure"))
        }
    }
}

/// Whether the account is over its quota (`[limits] quota_bytes`,
/// `quota_messages`) already (`adding` None) or would be with one more
/// message of `adding` bytes.
pub fn over_quota(
    shared: &Shared,
    account: AccountId,
    adding: Option<u64>,
) -> Result<bool, StoreError> {
    let limits = &shared.config.limits;
    if limits.quota_bytes == 0 && limits.quota_messages == 0 {
        return Ok(false);
    }
    let usage = shared.store.usage(account)?;
    let (bytes, messages) = match adding {
        Some(b) => (usage.bytes + b, usage.messages + 1),
        None => (usage.bytes, usage.messages),
    };
    let over = |used: u64, limit: u64| match adding {
        Some(_) => limit > 0 && used > limit,
        None => limit > 0 && used >= limit,
    };
    Ok(over(bytes, limits.quota_bytes) || over(messages, limits.quota_messages))
}

/// Adds trace and missing headers, stores the message in every recipient's
/// INBOX in one transaction, and waits until it is on disk. Returns the
/// id used in the Received header and the 250 reply.
pub async fn deliver(
    shared: &Shared,
    env: &Envelope<'_>,
    body: Vec<u8>,
) -> Result<String, StoreError> {
    let id = queue_id();
    let now = crate::time::now();
    let message = with_added_headers(shared, env, &id, now, body);
    let parsed = crate::session::imap::blocking(|| Parsed::of(&message));
    let mut targets: Vec<(AccountId, crate::store::MailboxId)> =
        Vec::with_capacity(env.recipients.len());
    for r in env.recipients {
        if targets.iter().any(|(a, _)| *a == r.account) {
            continue;
        }
        let inbox = match shared.store.mailbox_by_name(r.account, env.mailbox)? {
            Some(m) => m,
            None => shared
                .store
                .mailbox_by_name(r.account, "INBOX")?
                .ok_or(StoreError::NoSuchMailbox)?,
        };
        targets.push((r.account, inbox.id));
    }
    let new = NewMessage {
        raw: &message,
        parsed: &parsed,
        flags: Vec::new(),
        internal_date: now,
    };
    crate::session::imap::blocking(|| shared.store.append(&targets, &new))?;
    shared.store.sync().await?;
    crate::metrics::delivered(targets.len());
    tracing::info!(id = %id, size = message.len(), recipients = targets.len(), "delivered");
    Ok(id)
}

/// A short unique id: time and randomness, base32-ish.
fn queue_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    format!("{:x}{:016x}", crate::time::now(), u64::from_be_bytes(bytes))
}

/// Prepends `Return-Path:` and `Received:` (RFC 5321 §4.4: this is the
/// final delivery) and adds `Message-ID:` and
/// `Date:` when the client left them out (RFC 6409 §8.2, §8.3).
fn with_added_headers(
    shared: &Shared,
    env: &Envelope<'_>,
    id: &str,
    now: i64,
    body: Vec<u8>,
) -> Vec<u8> {
    let date = crate::time::rfc5322(now, 0);
    // RFC 3848 §2.
    let protocol = match (env.role, env.tls) {
        (Role::Submission, true) => "ESMTPSA",
        (Role::Submission, false) => "ESMTPA",
        (Role::Inbound, true) => "ESMTPS",
        (Role::Inbound, false) => "ESMTP",
        (Role::Lmtp, _) => "LMTP",
    };
    let rcpt = match env.recipients {
        [one] => format!("\r\n\tfor <{}>", one.address),
        _ => String::new(),
    };
    let helo: String = env
        .helo
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    let mut out = Vec::with_capacity(body.len() + 512);
    let from: String = env.from.chars().filter(|c| !c.is_control()).collect();
    out.extend_from_slice(format!("Return-Path: <{from}>\r\n").as_bytes());
    out.extend_from_slice(
        format!(
            "Received: from {helo} ([{}])\r\n\tby {} (tokenmail) with {protocol} id {id}{rcpt};\r\n\t{date}\r\n",
            env.peer.ip(),
            shared.config.hostname
        )
        .as_bytes(),
    );
    out.extend_from_slice(env.trace.as_bytes());
    let header = header_section(&body);
    if env.role != Role::Submission {
        out.extend_from_slice(&body);
        return out;
    }
    if !has_header(header, "message-id") {
        out.extend_from_slice(
            format!("Message-ID: <{id}@{}>\r\n", shared.config.hostname).as_bytes(),
        );
    }
    if !has_header(header, "date") {
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// The header section: up to the first empty line.
fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") {
        return &[];
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => &message[..p + 2],
        None => message,
    }
}

/// True when a field named `name` starts some line of `header`.
fn has_header(header: &[u8], name: &str) -> bool {
    header.split(|&b| b == b'\n').any(|line| {
        line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && line[name.len()..]
                .iter()
                .find(|b| **b != b' ' && **b != b'\t')
                == Some(&b':')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_headers_case_insensitively() {
        let h = header_section(b"Subject: hi\r\nmessage-ID : <x@y>\r\n\r\nDate: not a header\r\n");
        assert!(has_header(h, "message-id"));
        assert!(!has_header(h, "date"));
        assert!(!has_header(b"Message-IDX: 1\r\n", "message-id"));
    }

    #[test]
    fn header_section_of_bodyless_message() {
        assert_eq!(header_section(b"\r\nbody"), b"");
        assert_eq!(header_section(b"A: b\r\n"), b"A: b\r\n");
    }
}
