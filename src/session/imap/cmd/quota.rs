//! QUOTA (RFC 9208): one quota root, `""`, covering the whole account,
//! with the STORAGE (in units of 1024 octets) and MESSAGE limits from
//! `[limits] quota_bytes` and `quota_messages` (0: none).

use crate::session::imap::{CommandError, CommandResult, ImapSession, no, ok};

impl ImapSession {
    /// The quota resources configured: (name, used, limit).
    fn quota_resources(&self) -> Result<Vec<(&'static str, u64, u64)>, CommandError> {
        let limits = &self.shared.config.limits;
        let usage = self.shared.store.usage(self.logged_in().account)?;
        let mut out = Vec::new();
        if limits.quota_bytes > 0 {
            out.push((
                "STORAGE",
                usage.bytes.div_ceil(1024),
                limits.quota_bytes / 1024,
            ));
        }
        if limits.quota_messages > 0 {
            out.push(("MESSAGE", usage.messages, limits.quota_messages));
        }
        Ok(out)
    }

    /// Refuses to add `bytes` in `messages` messages beyond the quota
    /// (RFC 9208 §5.1: `NO [OVERQUOTA]`).
    pub(in crate::session::imap) fn check_quota(
        &self,
        bytes: u64,
        messages: u64,
    ) -> Result<(), CommandError> {
        let limits = &self.shared.config.limits;
        if limits.quota_bytes == 0 && limits.quota_messages == 0 {
            return Ok(());
        }
        let usage = self.shared.store.usage(self.logged_in().account)?;
        let over_bytes = limits.quota_bytes > 0 && usage.bytes + bytes > limits.quota_bytes;
        let over_count =
            limits.quota_messages > 0 && usage.messages + messages > limits.quota_messages;
        if over_bytes || over_count {
            return Err(no(Some("OVERQUOTA"), "Quota exceeded"));
        }
        Ok(())
    }

    fn quota_line(&self) -> Result<Option<String>, CommandError> {
        let res = self.quota_resources()?;
        if res.is_empty() {
            return Ok(None);
        }
        let parts: Vec<String> = res
            .iter()
            .map(|(n, used, limit)| format!("{n} {used} {limit}"))
            .collect();
        Ok(Some(format!("QUOTA \"\" ({})", parts.join(" "))))
    }

    /// GETQUOTA root (RFC 9208 §4.2).
    pub(in crate::session::imap) fn cmd_getquota(&mut self, root: &str) -> CommandResult {
        match (root.is_empty(), self.quota_line()?) {
            (true, Some(line)) => {
                self.untagged(&line);
                ok("GETQUOTA completed")
            }
            _ => Err(no(Some("NONEXISTENT"), "No such quota root")),
        }
    }

    /// GETQUOTAROOT mailbox (RFC 9208 §4.3).
    pub(in crate::session::imap) fn cmd_getquotaroot(&mut self, sent: &str) -> CommandResult {
        let info = self.find_mailbox(sent)?;
        let quota = self.quota_line()?;
        let mut line = b"QUOTAROOT ".to_vec();
        self.write_name(&mut line, &info.record.name);
        if quota.is_some() {
            line.extend_from_slice(b" \"\"");
        }
        self.untagged_bytes(&line);
        if let Some(q) = quota {
            self.untagged(&q);
        }
        ok("GETQUOTAROOT completed")
    }
}
