//! Tests over whole messages. `known`: exact answers from RFC 3501 §7.4.2 and
//! hand-computed sections. `robust`: nesting bombs, limits, storage round trips, and
//! invariants over mutated messages.

mod known;
mod robust;

use super::*;

pub(super) fn crlf(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| [l.as_bytes(), b"\r\n"].concat())
        .collect()
}

pub(super) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(super) fn structure(raw: &[u8], extensible: bool) -> String {
    let mut out = Vec::new();
    MessageSummary::parse(raw).write_body_structure(&mut out, extensible);
    text(&out)
}

pub(super) fn envelope(raw: &[u8]) -> String {
    let mut out = Vec::new();
    MessageSummary::parse(raw).write_envelope(&mut out);
    text(&out)
}

pub(super) fn section(raw: &[u8], part: &[u32], t: Option<SectionText>) -> Option<Vec<u8>> {
    MessageSummary::parse(raw)
        .section(raw, part, t.as_ref())
        .map(|c| c.into_owned())
}

pub(super) fn fields(not: bool, names: &[&str]) -> Option<SectionText> {
    Some(SectionText::HeaderFields {
        not,
        fields: names.iter().map(|s| s.to_string()).collect(),
    })
}
