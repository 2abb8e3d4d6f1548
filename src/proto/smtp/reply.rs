//! SMTP replies: a code, an optional enhanced status code, and one or more
//! lines of text (RFC 5321 §4.2, RFC 2034 §4, RFC 3463).

/// One SMTP reply, possibly multi-line (RFC 5321 §4.2.1).
///
/// Build it with a constructor and send it with [`Reply::write`]; the text
/// of each line is client-visible, so it must never carry internal details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (RFC 5321 §4.2.1), 200 to 599.
    pub code: u16,
    /// The enhanced status code `class.subject.detail` (RFC 3463 §2),
    /// repeated on every line as RFC 2034 §4 requires; `None` for replies
    /// that carry none by convention (greeting, EHLO, 334, 354).
    pub enhanced: Option<(u8, u16, u16)>,
    /// The text lines; an empty vector writes one line with no text.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, enhanced: Option<(u8, u16, u16)>, text: impl Into<String>) -> Self {
        Reply {
            code,
            enhanced,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply (RFC 5321 §4.2.1).
    pub fn multi(code: u16, enhanced: Option<(u8, u16, u16)>, lines: Vec<String>) -> Self {
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    /// True for 4yz replies (RFC 5321 §4.2.1, transient negative).
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// True for 5yz replies (RFC 5321 §4.2.1, permanent negative).
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Appends the reply in wire form: `250-first`, …, `250 last`, each
    /// ending in CRLF (RFC 5321 §4.2.1), with the enhanced code after the
    /// separator on every line (RFC 2034 §4). CR and LF inside a line's
    /// text are replaced by spaces so a reply can never inject a line. A
    /// line with no text and no enhanced code keeps its space: `334 ` is
    /// the empty SASL challenge of RFC 4954 §4.
    pub fn write(&self, out: &mut Vec<u8>) {
        let empty = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &empty
        } else {
            &self.lines
        };
        let last = lines.len() - 1;
        for (n, line) in lines.iter().enumerate() {
            let sep = if n == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{:03}{sep}", self.code).as_bytes());
            if let Some((class, subject, detail)) = self.enhanced {
                out.extend_from_slice(format!("{class}.{subject}.{detail}").as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            out.extend(
                line.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new buffer; see [`Reply::write`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// `220 <domain> ESMTP ready` greeting (RFC 5321 §4.3.1, §4.2.3).
    pub fn greeting(domain: &str) -> Self {
        Reply::new(220, None, format!("{domain} ESMTP ready"))
    }

    /// The EHLO reply: first line the server's domain and a greeting, then
    /// one line per extension keyword (RFC 5321 §4.1.1.1). No enhanced
    /// codes: they are not yet negotiated (RFC 2034 §3).
    pub fn ehlo(domain: &str, greeting: &str, extensions: &[String]) -> Self {
        let mut lines = vec![format!("{domain} {greeting}")];
        lines.extend(extensions.iter().cloned());
        Reply::multi(250, None, lines)
    }

    /// `250 <domain>` answer to HELO (RFC 5321 §4.1.1.1).
    pub fn helo(domain: &str) -> Self {
        Reply::new(250, None, domain.to_string())
    }

    /// `250 2.0.0 OK` for RSET, NOOP and the like (RFC 3463 §3.1 X.0.0).
    pub fn ok() -> Self {
        Reply::new(250, Some((2, 0, 0)), "OK")
    }

    /// `250 2.1.0` sender accepted (RFC 3463 §3.2 X.1.0).
    pub fn sender_ok() -> Self {
        Reply::new(250, Some((2, 1, 0)), "Sender OK")
    }

    /// `250 2.1.5` recipient accepted (RFC 3463 §3.2 X.1.5).
    pub fn recipient_ok() -> Self {
        Reply::new(250, Some((2, 1, 5)), "Recipient OK")
    }

    /// `354` go-ahead for DATA (RFC 5321 §4.1.1.4); no enhanced code by
    /// convention (it is an intermediate reply).
    pub fn start_data() -> Self {
        Reply::new(354, None, "End data with <CR><LF>.<CR><LF>")
    }

    /// `250 2.0.0` after a message is accepted (RFC 5321 §4.1.1.4, RFC 3463 §3.1).
    pub fn queued(id: &str) -> Self {
        Reply::new(250, Some((2, 0, 0)), format!("OK queued as {id}"))
    }

    /// `221 2.0.0` answer to QUIT (RFC 5321 §4.1.1.10).
    pub fn closing() -> Self {
        Reply::new(221, Some((2, 0, 0)), "Bye")
    }

    /// `220 2.0.0` go-ahead for TLS (RFC 3207 §4).
    pub fn ready_for_tls() -> Self {
        Reply::new(220, Some((2, 0, 0)), "Ready to start TLS")
    }

    /// `214 2.0.0` answer to HELP (RFC 5321 §4.1.1.8).
    pub fn help() -> Self {
        Reply::new(214, Some((2, 0, 0)), "See RFC 5321")
    }

    /// `252 2.5.0` answer to VRFY: we do not disclose mailboxes
    /// (RFC 5321 §3.5.3, §7.3).
    pub fn cannot_verify() -> Self {
        Reply::new(
            252,
            Some((2, 5, 0)),
            "Cannot VRFY user, but will accept message",
        )
    }

    /// `334 <base64>` SASL challenge (RFC 4954 §4); an empty challenge is
    /// `334 ` with the space.
    pub fn auth_challenge(base64: &str) -> Self {
        Reply::new(334, None, base64.to_string())
    }

    /// `235 2.7.0` authentication succeeded (RFC 4954 §6).
    pub fn auth_succeeded() -> Self {
        Reply::new(235, Some((2, 7, 0)), "Authentication successful")
    }

    /// `535 5.7.8` credentials invalid (RFC 4954 §6).
    pub fn auth_failed() -> Self {
        Reply::new(535, Some((5, 7, 8)), "Authentication credentials invalid")
    }

    /// `454 4.7.0` temporary authentication failure, e.g. the identity
    /// provider is unreachable (RFC 4954 §6).
    pub fn auth_temporary_failure() -> Self {
        Reply::new(454, Some((4, 7, 0)), "Temporary authentication failure")
    }

    /// `504 5.5.4` unknown or unavailable SASL mechanism (RFC 4954 §4).
    pub fn auth_mechanism_unknown() -> Self {
        Reply::new(504, Some((5, 5, 4)), "Unrecognized authentication type")
    }

    /// `501 5.7.0` the client cancelled with `*` (RFC 4954 §4).
    pub fn auth_cancelled() -> Self {
        Reply::new(501, Some((5, 7, 0)), "Authentication cancelled")
    }

    /// `501 5.5.2` a SASL response that is not valid base64 (RFC 4954 §4).
    pub fn auth_bad_base64() -> Self {
        Reply::new(501, Some((5, 5, 2)), "Cannot decode response")
    }

    /// `500 5.5.6` an AUTH line over the limit (RFC 4954 §6).
    pub fn auth_line_too_long() -> Self {
        Reply::new(
            500,
            Some((5, 5, 6)),
            "Authentication exchange line is too long",
        )
    }

    /// `530 5.7.0` a command that needs authentication first (RFC 4954 §6).
    pub fn auth_required() -> Self {
        Reply::new(530, Some((5, 7, 0)), "Authentication required")
    }

    /// `538 5.7.11` the mechanism needs TLS first (RFC 4954 §6).
    pub fn encryption_required() -> Self {
        Reply::new(
            538,
            Some((5, 7, 11)),
            "Encryption required for requested authentication mechanism",
        )
    }

    /// `503 5.5.1` command out of sequence (RFC 5321 §4.2.4, RFC 3463 X.5.1).
    pub fn bad_sequence(text: &str) -> Self {
        Reply::new(503, Some((5, 5, 1)), text.to_string())
    }

    /// `500 5.5.2` unrecognized command (RFC 5321 §4.2.4, RFC 3463 X.5.2).
    pub fn unrecognized_command() -> Self {
        Reply::new(500, Some((5, 5, 2)), "Command unrecognized")
    }

    /// `502 5.5.1` command recognized but not implemented (RFC 5321 §4.2.4).
    pub fn not_implemented() -> Self {
        Reply::new(502, Some((5, 5, 1)), "Command not implemented")
    }

    /// `500 5.5.2` a command line over the limit (RFC 5321 §4.5.3.1.4, §4.2.4).
    pub fn line_too_long() -> Self {
        Reply::new(500, Some((5, 5, 2)), "Line too long")
    }

    /// `555 5.5.4` MAIL or RCPT parameter not recognized (RFC 5321 §4.1.1.11).
    pub fn parameter_not_recognized(keyword: &str) -> Self {
        Reply::new(
            555,
            Some((5, 5, 4)),
            format!("Parameter {keyword} not recognized"),
        )
    }

    /// `552 5.3.4` message larger than the server accepts (RFC 1870 §6.2,
    /// RFC 3463 X.3.4).
    pub fn message_too_large() -> Self {
        Reply::new(
            552,
            Some((5, 3, 4)),
            "Message size exceeds fixed maximum message size",
        )
    }

    /// `554 5.6.0` the message had a line over the limit of
    /// RFC 5321 §4.5.3.1.6; sent after the final dot.
    pub fn message_line_too_long() -> Self {
        Reply::new(554, Some((5, 6, 0)), "Message has a line that is too long")
    }

    /// `451 4.3.0` local error; the details go to the log, not the client
    /// (RFC 5321 §4.2.3, RFC 3463 X.3.0).
    pub fn local_error() -> Self {
        Reply::new(451, Some((4, 3, 0)), "Local error in processing")
    }

    /// `421 4.3.2` the server is shutting down (RFC 5321 §3.8, RFC 3463 X.3.2).
    pub fn shutting_down(domain: &str) -> Self {
        Reply::new(
            421,
            Some((4, 3, 2)),
            format!("{domain} Service not available, closing channel"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Reply;

    fn wire(r: &Reply) -> String {
        String::from_utf8(r.to_bytes()).unwrap()
    }

    #[test]
    fn one_line_with_enhanced_code() {
        assert_eq!(
            wire(&Reply::auth_succeeded()),
            "235 2.7.0 Authentication successful\r\n"
        );
    }

    #[test]
    fn rfc4954_section4_unrecognized_type() {
        // RFC 4954 §4 example: "S: 504 5.5.4 Unrecognized authentication type."
        let r = Reply::new(504, Some((5, 5, 4)), "Unrecognized authentication type.");
        assert_eq!(wire(&r), "504 5.5.4 Unrecognized authentication type.\r\n");
    }

    #[test]
    fn multi_line_ehlo_like_rfc5321_appendix_d1() {
        let r = Reply::ehlo(
            "foo.com",
            "greets bar.com",
            &[
                "8BITMIME".into(),
                "SIZE".into(),
                "DSN".into(),
                "HELP".into(),
            ],
        );
        assert_eq!(
            wire(&r),
            "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n"
        );
    }

    #[test]
    fn multi_line_repeats_enhanced_code() {
        // RFC 7628 §4.4 style.
        let r = Reply::multi(
            535,
            Some((5, 7, 1)),
            vec![
                "Username and Password not accepted. Learn more at".into(),
                "http://support.example.com/mail/oauth".into(),
            ],
        );
        assert_eq!(
            wire(&r),
            "535-5.7.1 Username and Password not accepted. Learn more at\r\n535 5.7.1 http://support.example.com/mail/oauth\r\n"
        );
    }

    #[test]
    fn empty_challenge_keeps_the_space() {
        assert_eq!(wire(&Reply::auth_challenge("")), "334 \r\n");
        assert_eq!(wire(&Reply::multi(334, None, vec![])), "334 \r\n");
    }

    #[test]
    fn enhanced_code_without_text() {
        assert_eq!(wire(&Reply::new(250, Some((2, 0, 0)), "")), "250 2.0.0\r\n");
    }

    #[test]
    fn line_breaks_in_text_cannot_inject_lines() {
        let r = Reply::new(250, None, "a\r\n250 evil");
        assert_eq!(wire(&r), "250 a  250 evil\r\n");
    }

    #[test]
    fn classes() {
        assert!(Reply::local_error().is_transient());
        assert!(Reply::auth_failed().is_permanent());
        assert!(!Reply::ok().is_permanent() && !Reply::ok().is_transient());
    }
}
