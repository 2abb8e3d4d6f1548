//! Escaping text for XML and HTML (XML 1.0 §2.4, HTML §13.1.2.6): the
//! autoconfig and autodiscover documents and the sign-in pages. Pure.

/// `s` safe as element text and as a quoted attribute value: `& < > " '`
/// as entities; control characters other than tab and newline, which XML
/// 1.0 forbids, dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(escape("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c&apos;\n");
    }
}
