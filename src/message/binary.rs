//! Storing binary messages (RFC 3516 §4.3): a message appended with a
//! `literal8` may hold NUL bytes, which no IMAP4rev1 `literal` may carry
//! (RFC 3501 §4.3 `CHAR8`). Such parts are re-encoded in base64 when the
//! message is stored, with their Content-Transfer-Encoding changed to
//! match, as Dovecot does; `BINARY[...]` gives back the original bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::bodystructure::{Part, PartKind};
use super::header::Fields;
use super::summary::MessageSummary;

/// The message with every leaf part whose body holds a NUL byte turned
/// into base64; `None` when there is no such part (the common case, which
/// costs one scan for NUL).
pub fn without_nul(raw: &[u8], summary: &MessageSummary) -> Option<Vec<u8>> {
    if !raw.contains(&0) {
        return None;
    }
    // (start, end, replacement) edits, in message order.
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut stack: Vec<&Part> = vec![&summary.root];
    while let Some(part) = stack.pop() {
        match &part.kind {
            PartKind::Multipart(children) => stack.extend(children.iter().rev()),
            PartKind::Message { root, .. } => stack.push(root),
            PartKind::Single => {
                let body = part.body.slice(raw).unwrap_or_default();
                if !body.contains(&0) {
                    continue;
                }
                let hs = part.header.start as usize;
                let header = part.header.slice(raw).unwrap_or_default();
                let mut fields = Fields::new(header);
                let cte = fields
                    .by_ref()
                    .find(|f| f.name.eq_ignore_ascii_case(b"content-transfer-encoding"));
                let line = b"Content-Transfer-Encoding: base64\r\n".to_vec();
                match cte {
                    Some(f) => {
                        let at = hs + (f.raw.as_ptr() as usize - header.as_ptr() as usize);
                        edits.push((at, at + f.raw.len(), line));
                    }
                    None => {
                        // Before the blank line that ends the header.
                        let blank = header_blank(header);
                        let at = hs + blank;
                        edits.push((at, at, line));
                    }
                }
                let bs = part.body.start as usize;
                edits.push((bs, bs + body.len(), wrapped_base64(body)));
            }
        }
    }
    edits.sort_by_key(|e| e.0);
    let mut out = Vec::with_capacity(raw.len() * 4 / 3 + 64);
    let mut pos = 0;
    for (start, end, text) in edits {
        if start < pos {
            continue;
        }
        out.extend_from_slice(&raw[pos..start]);
        out.extend_from_slice(&text);
        pos = end;
    }
    out.extend_from_slice(&raw[pos..]);
    Some(out)
}

/// The offset of the blank line at the end of a header block (its length
/// when there is none).
fn header_blank(header: &[u8]) -> usize {
    let mut fields = Fields::new(header);
    for _ in fields.by_ref() {}
    match fields.blank_line() {
        Some(b) => b.as_ptr() as usize - header.as_ptr() as usize,
        None => header.len(),
    }
}

/// Base64 in lines of 76 characters (RFC 2045 §6.8), CRLF after each.
fn wrapped_base64(data: &[u8]) -> Vec<u8> {
    let text = B64.encode(data);
    let mut out = Vec::with_capacity(text.len() + text.len() / 76 * 2 + 2);
    for chunk in text.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::decode::transfer_decode;

    #[test]
    fn nul_parts_become_base64_and_decode_back() {
        let body = b"\x00-\xe4\n\r\n\n";
        let mut raw = b"From: a@b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".to_vec();
        raw.extend_from_slice(body);
        let summary = MessageSummary::parse(&raw);
        let out = without_nul(&raw, &summary).unwrap();
        assert!(!out.contains(&0));
        let again = MessageSummary::parse(&out);
        assert_eq!(again.root.encoding, b"BASE64");
        let part_body = again.root.body.slice(&out).unwrap();
        assert_eq!(&*transfer_decode(&again.root, part_body).unwrap(), body);
        assert!(
            without_nul(
                b"From: a\r\n\r\nplain\r\n",
                &MessageSummary::parse(b"From: a\r\n\r\nplain\r\n")
            )
            .is_none()
        );
    }

    #[test]
    fn a_header_without_the_field_gets_one() {
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/png\r\n\r\n\x00\x01\r\n--x--\r\n";
        let summary = MessageSummary::parse(raw);
        let out = without_nul(raw, &summary).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains(
                "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAE=\r\n"
            ),
            "{text}"
        );
        let again = MessageSummary::parse(&out);
        let PartKind::Multipart(children) = &again.root.kind else {
            panic!()
        };
        assert_eq!(children[0].encoding, b"BASE64");
    }
}
