//! A part's MIME header fields (RFC 2045 §5-6, §8, RFC 2183, RFC 3066 / RFC 3282,
//! RFC 2557 §4) turned into the fields BODYSTRUCTURE reports.
//!
//! Content-Type and Content-Disposition are parsed by mail-parser, which handles
//! RFC 2231 parameter continuations and charsets and RFC 2047 encoded words in
//! parameters. The other fields are reported raw (unfolded, trimmed), as Dovecot does.

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

use super::bodystructure::{Disposition, Part, PartKind, Span};
use super::header::{Fields, unfold_trim};

/// Most Content-Type or Content-Disposition parameters kept per part.
const MAX_PARAMS: usize = 64;
/// Most Content-Language tags kept per part.
const MAX_LANGUAGES: usize = 16;

/// The MIME fields of one part header: raw values, first occurrence of each.
#[derive(Default)]
pub(crate) struct MimeFields<'a> {
    content_type: Option<&'a [u8]>,
    disposition: Option<&'a [u8]>,
    encoding: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    description: Option<&'a [u8]>,
    language: Option<&'a [u8]>,
    location: Option<&'a [u8]>,
    md5: Option<&'a [u8]>,
}

impl<'a> MimeFields<'a> {
    pub(crate) fn parse(header: &'a [u8]) -> Self {
        let mut m = MimeFields::default();
        for f in Fields::new(header) {
            let Some(suffix) = f
                .name
                .get(8..)
                .filter(|_| f.name[..8].eq_ignore_ascii_case(b"content-"))
            else {
                continue;
            };
            let slot = match suffix.to_ascii_lowercase().as_slice() {
                b"type" => &mut m.content_type,
                b"disposition" => &mut m.disposition,
                b"transfer-encoding" => &mut m.encoding,
                b"id" => &mut m.id,
                b"description" => &mut m.description,
                b"language" => &mut m.language,
                b"location" => &mut m.location,
                b"md5" => &mut m.md5,
                _ => continue,
            };
            slot.get_or_insert(f.value);
        }
        m
    }
}

/// The part's fields from its MIME header; spans, lines and kind are filled in later.
pub(crate) fn describe(f: &MimeFields<'_>, digest_child: bool) -> Part {
    let mut part = plain_text(Span::default(), Span::default(), 0);
    match f.content_type.and_then(parse_mime_value) {
        Some(ct) if !ct.kind.is_empty() && !ct.sub.is_empty() => {
            set_type(&mut part, &ct.kind, &ct.sub);
            part.params = upper_names(ct.params);
        }
        // RFC 2045 §5.2: a malformed Content-Type is text/plain; keep what parameters it has.
        Some(ct) if !ct.params.is_empty() => part.params = upper_names(ct.params),
        // RFC 2046 §5.1.5: in a digest the default is message/rfc822.
        None if digest_child && f.content_type.is_none() => {
            set_type(&mut part, "MESSAGE", "RFC822");
            part.params.clear();
        }
        _ => {}
    }
    let value = |v: Option<&[u8]>| v.map(unfold_trim).filter(|v| !v.is_empty());
    if let Some(enc) = value(f.encoding) {
        let token = enc
            .split(|&b| b.is_ascii_whitespace() || b == b';' || b == b'(')
            .next()
            .unwrap_or_default();
        if !token.is_empty() {
            part.encoding = token.to_ascii_uppercase();
        }
    }
    part.id = value(f.id);
    part.description = value(f.description);
    part.location = value(f.location);
    part.md5 = value(f.md5);
    part.language = value(f.language)
        .map(|v| {
            v.split(|&b| b == b',')
                .map(|t| t.trim_ascii().to_vec())
                .filter(|t| !t.is_empty())
                .take(MAX_LANGUAGES)
                .collect()
        })
        .unwrap_or_default();
    part.disposition = f
        .disposition
        .and_then(parse_mime_value)
        .filter(|d| !d.kind.is_empty())
        .map(|d| Disposition {
            kind: d.kind,
            params: d.params,
        });
    part
}

/// A parsed Content-Type or Content-Disposition value; `kind` and `sub` may be empty.
struct MimeValue {
    kind: String,
    sub: String,
    params: Vec<(String, String)>,
}

/// Parses a Content-Type or Content-Disposition value with mail-parser (RFC 2045 §5.1,
/// RFC 2183, RFC 2231 continuations and charsets, RFC 2047 in parameters).
fn parse_mime_value(value: &[u8]) -> Option<MimeValue> {
    // mail-parser's field parsers stop at the line break ending the field.
    let mut buf = Vec::with_capacity(value.len() + 1);
    buf.extend_from_slice(value);
    buf.push(b'\n');
    let HeaderValue::ContentType(ct) = MessageStream::new(&buf).parse_content_type() else {
        return None;
    };
    let params = ct
        .attributes
        .unwrap_or_default()
        .into_iter()
        .take(MAX_PARAMS)
        .map(|a| (a.name.into_owned(), a.value.into_owned()))
        .collect();
    Some(MimeValue {
        kind: ct.c_type.into_owned(),
        sub: ct.c_subtype.map(|s| s.into_owned()).unwrap_or_default(),
        params,
    })
}

/// A `text/plain; charset=us-ascii` leaf: the RFC 2045 §5.2 default.
pub(crate) fn plain_text(header: Span, body: Span, lines: u64) -> Part {
    Part {
        header,
        body,
        media_type: "TEXT".into(),
        media_subtype: "PLAIN".into(),
        params: vec![("CHARSET".into(), "US-ASCII".into())],
        id: None,
        description: None,
        encoding: b"7BIT".to_vec(),
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        lines,
        kind: PartKind::Single,
    }
}

fn upper_names(params: Vec<(String, String)>) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(n, v)| (n.to_ascii_uppercase(), v))
        .collect()
}

pub(crate) fn set_type(part: &mut Part, kind: &str, sub: &str) {
    part.media_type = kind.to_ascii_uppercase();
    part.media_subtype = sub.to_ascii_uppercase();
}

/// A container past a limit: reported as an opaque leaf.
pub(crate) fn opaque(part: &mut Part) {
    set_type(part, "APPLICATION", "OCTET-STREAM");
    part.params.clear();
}
