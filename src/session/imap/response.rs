//! Writing responses (RFC 9051 §7): tagged completions and untagged data.

use super::ImapSession;

impl ImapSession {
    /// `* text`
    pub(super) fn untagged(&mut self, text: &str) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// `tag STATUS [code] text`
    pub(super) fn tagged(&mut self, tag: &str, status: &str, code: Option<&str>, text: &str) {
        self.out.extend_from_slice(tag.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(status.as_bytes());
        self.out.push(b' ');
        if let Some(code) = code {
            self.out.push(b'[');
            self.out.extend_from_slice(code.as_bytes());
            self.out.extend_from_slice(b"] ");
        }
        // Response text never carries CR or LF from anywhere.
        let clean: String = text
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        self.out.extend_from_slice(clean.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }
}

/// `(\Seen $Junk)` from stored flags.
pub fn flag_list(flags: &[String]) -> String {
    format!("({})", flags.join(" "))
}
