//! Who really sent a message arriving on the MX: SPF (RFC 7208), DKIM
//! (RFC 6376) and DMARC (RFC 7489) by the `mail-auth` crate over a hickory
//! resolver (`[dns] nameservers`, else the system's), the outcome as an
//! `Authentication-Results` header (RFC 8601) whose authserv-id is our
//! `hostname`, and what the DMARC policy asks for.
//!
//! A header with our authserv-id arriving from outside is a forgery (RFC
//! 8601 §5): [`strip_ours`] removes it before ours is added.

use std::net::{IpAddr, SocketAddr};

use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, DmarcResult, MessageAuthenticator, SpfResult};

/// What the checks decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The `Authentication-Results:` field, with its CRLF.
    pub header: String,
    /// What to do with the message.
    pub action: Action,
}

/// What happens to a checked message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deliver to INBOX.
    Deliver,
    /// DMARC `p=quarantine` failed: deliver to Junk.
    Quarantine,
    /// DMARC `p=reject` failed, or SPF `-all` failed without a DKIM pass:
    /// refuse with `550 5.7.1`.
    Reject,
}

/// The checker, sharing one resolver and its cache.
pub struct SenderAuth {
    authenticator: MessageAuthenticator,
}

impl SenderAuth {
    /// A checker asking `nameservers` (IP and port), or the system's
    /// resolvers (`/etc/resolv.conf`) when empty.
    pub fn new(nameservers: &[SocketAddr]) -> Result<SenderAuth, String> {
        let authenticator = if nameservers.is_empty() {
            MessageAuthenticator::new_system_conf().map_err(|e| format!("system resolver: {e}"))?
        } else {
            let servers = nameservers
                .iter()
                .map(|a| {
                    let mut ns = NameServerConfig::udp_and_tcp(a.ip());
                    for c in &mut ns.connections {
                        c.port = a.port();
                    }
                    ns
                })
                .collect();
            let mut opts = ResolverOpts::default();
            opts.timeout = std::time::Duration::from_secs(5);
            opts.attempts = 2;
            MessageAuthenticator::new(ResolverConfig::from_name_servers(servers), opts)
                .map_err(|e| format!("resolver: {e}"))?
        };
        Ok(SenderAuth { authenticator })
    }

    /// Checks `message` from `ip`, which said `helo` and `MAIL FROM:<mail_from>`.
    pub async fn check(
        &self,
        hostname: &str,
        message: &[u8],
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
    ) -> Verdict {
        let a = &self.authenticator;
        let spf = a
            .verify_spf(SpfParameters::verify(ip, helo, hostname, mail_from))
            .await;
        let Some(parsed) = AuthenticatedMessage::parse(message) else {
            let header = AuthenticationResults::new(hostname)
                .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
                .to_string();
            return Verdict {
                header: format!("Authentication-Results: {header}\r\n"),
                action: Action::Deliver,
            };
        };
        let dkim = a.verify_dkim(&parsed).await;
        let domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let dmarc = a
            .verify_dmarc(DmarcParameters::new(&parsed, &dkim, domain, &spf))
            .await;
        let from = parsed.from();
        let results = AuthenticationResults::new(hostname)
            .with_dkim_results(&dkim, from)
            .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
            .with_dmarc_result(&dmarc);
        let dkim_pass = dkim.iter().any(|d| d.result() == &mail_auth::DkimResult::Pass);
        // RFC 7489 §6.6.2: DMARC fails when the author domain has a record
        // and neither DKIM nor SPF passes aligned with it; a DNS failure is
        // not a failure (the message is taken, marked temperror).
        let dmarc_failed = matches!(dmarc.result(), DmarcResult::Fail(_));
        let action = if dmarc_failed && dmarc.policy() == Policy::Reject {
            Action::Reject
        } else if dmarc_failed && dmarc.policy() == Policy::Quarantine {
            Action::Quarantine
        } else if spf.result() == SpfResult::Fail && !dkim_pass {
            Action::Reject
        } else {
            Action::Deliver
        };
        Verdict {
            header: format!("Authentication-Results: {results}\r\n"),
            action,
        }
    }
}

/// `message` without the `Authentication-Results` fields whose authserv-id
/// is `authserv_id` (RFC 8601 §5: only we may write those), compared
/// without case; other fields, and the body, untouched.
pub fn strip_ours(message: &[u8], authserv_id: &str) -> Vec<u8> {
    let end = header_end(message);
    let (head, body) = message.split_at(end);
    let mut out = Vec::with_capacity(message.len());
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if folded {
            if !skipping {
                out.extend_from_slice(line);
            }
            continue;
        }
        skipping = is_ours(line, authserv_id);
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

/// Where the header section ends: after the empty line, or the whole.
fn header_end(message: &[u8]) -> usize {
    if message.starts_with(b"\r\n") || message.starts_with(b"\n") {
        return 0;
    }
    let mut i = 0;
    while let Some(p) = message[i..].iter().position(|&b| b == b'\n') {
        let next = i + p + 1;
        if message[next..].starts_with(b"\r\n") || message[next..].starts_with(b"\n") {
            return next;
        }
        i = next;
    }
    message.len()
}

/// Whether a field line is `Authentication-Results: <authserv_id>...`.
fn is_ours(line: &[u8], authserv_id: &str) -> bool {
    const NAME: &[u8] = b"authentication-results";
    if line.len() <= NAME.len() || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return false;
    }
    let rest = &line[NAME.len()..];
    let Some(colon) = rest.iter().position(|&b| b == b':') else {
        return false;
    };
    if !rest[..colon].iter().all(|b| *b == b' ' || *b == b'\t') {
        return false;
    }
    let value = String::from_utf8_lossy(&rest[colon + 1..]);
    // RFC 8601 §2.2: authserv-id first, then `;` or a version.
    let id = value
        .trim_start()
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("");
    id.eq_ignore_ascii_case(authserv_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_results_are_removed() {
        let m = b"Received: x\r\nAuthentication-Results: MX.example.test;\r\n\tspf=pass\r\n\
Authentication-Results: other.example; dkim=pass\r\nauthentication-results : mx.example.test 1; none\r\n\
Subject: hi\r\n\r\nAuthentication-Results: mx.example.test; body\r\n";
        let out = strip_ours(m, "mx.example.test");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "Received: x\r\nAuthentication-Results: other.example; dkim=pass\r\nSubject: hi\r\n\r\n\
Authentication-Results: mx.example.test; body\r\n"
        );
        assert_eq!(strip_ours(b"\r\nbody", "x"), b"\r\nbody");
        assert_eq!(strip_ours(b"A: b", "x"), b"A: b");
        assert!(!is_ours(b"Authentication-Results-X: mx\r\n", "mx"));
        assert!(!is_ours(b"Authentication-Results: mx.example.test.evil; x\r\n", "mx.example.test"));
    }
}
