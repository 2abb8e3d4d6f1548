//! Writing responses (RFC 9051 §7): tagged completions and untagged data.

use super::ImapSession;
use super::names;

impl ImapSession {
    /// `* text`
    pub(super) fn untagged(&mut self, text: &str) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// `* ` + bytes + CRLF, for lines that carry literals or mailbox names.
    pub(super) fn untagged_bytes(&mut self, line: &[u8]) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(line);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Appends a stored mailbox name to `out` the way this client reads
    /// names (modified UTF-7 or, after UTF8=ACCEPT, UTF-8).
    pub(super) fn write_name(&self, out: &mut Vec<u8>, name: &str) {
        names::write(out, name, self.enabled.utf8);
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

/// `(\Seen $Junk)` from stored flags, with `\Recent` first when the
/// message is recent to this session (RFC 3501 §2.3.2).
pub fn flag_list(flags: &[String], recent: bool) -> String {
    let mut out = Vec::new();
    write_flag_list(&mut out, flags, recent);
    String::from_utf8(out).unwrap_or_default()
}

/// [`flag_list`] written onto `out` (FETCH writes thousands of these).
pub fn write_flag_list(out: &mut Vec<u8>, flags: &[String], recent: bool) {
    out.push(b'(');
    let start = out.len();
    if recent {
        out.extend_from_slice(b"\\Recent");
    }
    for f in flags {
        if out.len() > start {
            out.push(b' ');
        }
        out.extend_from_slice(f.as_bytes());
    }
    out.push(b')');
}

/// The system flags every mailbox permits (RFC 9051 §2.3.2).
pub const SYSTEM_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// `FLAGS (...)` for a mailbox with these keywords in use.
pub fn flags_response(keywords: &[String]) -> String {
    let mut s = format!("FLAGS ({SYSTEM_FLAGS}");
    for k in keywords {
        s.push(' ');
        s.push_str(k);
    }
    s.push(')');
    s
}

/// `OK [PERMANENTFLAGS (...)]`: what STORE may set; `\*` means new
/// keywords may be created (RFC 9051 §7.1).
pub fn permanent_flags(keywords: &[String], read_only: bool) -> String {
    if read_only {
        return "OK [PERMANENTFLAGS ()] Read-only mailbox".into();
    }
    let mut s = format!("OK [PERMANENTFLAGS ({SYSTEM_FLAGS}");
    for k in keywords {
        s.push(' ');
        s.push_str(k);
    }
    s.push_str(" \\*)] Flags permitted");
    s
}
