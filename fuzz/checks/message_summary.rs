//! Parses arbitrary bytes as a stored message (what delivery and APPEND do) and renders
//! everything FETCH can ask of it: ENVELOPE, BODY, BODYSTRUCTURE and a spread of
//! `BODY[section]`s. Must never panic, overflow the stack or loop.

use tokenmail::message::{MessageSummary, SectionText};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let summary = MessageSummary::parse(data);
    let mut out = Vec::new();
    summary.write_envelope(&mut out);
    summary.write_body_structure(&mut out, true);
    summary.write_body_structure(&mut out, false);

    let fields = vec!["Subject".to_string(), "content-type".to_string()];
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields {
            not: false,
            fields: fields.clone(),
        }),
        Some(SectionText::HeaderFields { not: true, fields }),
    ];
    let paths: [&[u32]; 7] = [&[], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 1], &[u32::MAX]];
    for path in paths {
        for text in &texts {
            let _ = summary.section(data, path, text.as_ref());
        }
    }
    // The whole message is always there, byte for byte.
    assert_eq!(summary.section(data, &[], None).as_deref(), Some(data));
}
