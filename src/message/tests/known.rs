//! Known answers: RFC 3501 §7.4.2's FETCH example and real-looking messages whose
//! sizes, line counts and sections were computed by hand, by slicing each message
//! between its boundary strings (independently of this module).

use super::super::*;
use super::{crlf, envelope, fields, section, structure};

/// The message of the RFC 3501 §7.4.2 FETCH example: a 3028-octet, 92-line body.
pub(super) fn rfc3501_example(content_type: bool) -> Vec<u8> {
    let mut raw = crlf(&[
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        "From: Terry Gray <gray@cac.washington.edu>",
        "Subject: IMAP4rev1 WG mtg summary and minutes",
        "To: imap@cac.washington.edu",
        "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>",
        "Message-Id: <B27397-0100000@cac.washington.edu>",
        "MIME-Version: 1.0",
    ]);
    if content_type {
        raw.extend_from_slice(b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    for i in 0..92 {
        let len = if i < 84 { 31 } else { 30 };
        raw.extend(std::iter::repeat_n(b'x', len));
        raw.extend_from_slice(b"\r\n");
    }
    raw
}

#[test]
fn rfc3501_fetch_example() {
    let body = r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)"#;
    for with_type in [true, false] {
        let raw = rfc3501_example(with_type);
        assert_eq!(structure(&raw, false), body);
        assert_eq!(
            structure(&raw, true),
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)"#
        );
    }
    // The RFC's example puts a space between the two cc addresses; its ABNF
    // (`env-cc = "(" 1*address ")"`) does not, and neither do Dovecot or Cyrus.
    assert_eq!(
        envelope(&rfc3501_example(true)),
        concat!(
            r#"("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" "#,
            r#"(("Terry Gray" NIL "gray" "cac.washington.edu")) "#,
            r#"(("Terry Gray" NIL "gray" "cac.washington.edu")) "#,
            r#"(("Terry Gray" NIL "gray" "cac.washington.edu")) "#,
            r#"((NIL NIL "imap" "cac.washington.edu")) "#,
            r#"((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) "#,
            r#"NIL NIL "<B27397-0100000@cac.washington.edu>")"#
        )
    );
    let raw = rfc3501_example(true);
    let s = MessageSummary::parse(&raw);
    assert_eq!(s.sent_date, Some(837_595_405));
    assert_eq!(s.size, raw.len() as u64);
    let header_len = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(s.header_len(), header_len as u64);
    assert_eq!(section(&raw, &[], None).unwrap(), raw);
    assert_eq!(
        section(&raw, &[], Some(SectionText::Header)).unwrap(),
        &raw[..header_len]
    );
    assert_eq!(
        section(&raw, &[], Some(SectionText::Text)).unwrap(),
        &raw[header_len..]
    );
    assert_eq!(section(&raw, &[1], None).unwrap(), &raw[header_len..]);
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Mime)).unwrap(),
        &raw[..header_len]
    );
    assert_eq!(
        section(&raw, &[], fields(false, &["CC", "subject"])).unwrap(),
        crlf(&[
            "Subject: IMAP4rev1 WG mtg summary and minutes",
            "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>",
            "",
        ])
    );
    assert_eq!(section(&raw, &[2], None), None);
    assert_eq!(section(&raw, &[1, 1], None), None);
    assert_eq!(section(&raw, &[0], None), None);
    assert_eq!(section(&raw, &[], Some(SectionText::Mime)), None);
    assert_eq!(section(&raw, &[1], Some(SectionText::Header)), None);
}

/// multipart/alternative > (text/plain, multipart/mixed > (text/html, application/pdf
/// attachment with an RFC 2231 continued, charset-encoded filename)).
pub(super) fn alternative() -> Vec<u8> {
    crlf(&[
        r#"From: "Doe, Jane" <jane@example.com>"#,
        "To: bob@example.com",
        "Subject: =?UTF-8?Q?Caf=C3=A9?= report",
        "Date: Mon, 2 Jan 2023 10:00:00 +0000",
        "Message-ID: <1@example.com>",
        "MIME-Version: 1.0",
        r#"Content-Type: multipart/alternative; boundary="outer""#,
        "",
        "This is a multi-part message in MIME format.",
        "--outer",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Caf=C3=A9 report",
        "--outer",
        r#"Content-Type: multipart/mixed; boundary="inner""#,
        "",
        "--inner",
        "Content-Type: text/html; charset=utf-8",
        "",
        "<p>Caf&eacute;</p>",
        "<p>report</p>",
        "--inner",
        r#"Content-Type: application/pdf; name="report.pdf""#,
        "Content-Disposition: attachment;",
        " filename*0*=utf-8''caf%C3%A9%20;",
        r#" filename*1="report.pdf""#,
        "Content-Transfer-Encoding: base64",
        "Content-ID: <pdf1@example.com>",
        "Content-Description: The report",
        "Content-Language: en, fr",
        "Content-Location: http://example.com/r.pdf",
        "",
        "JVBERi0xLjQK",
        "--inner--",
        "",
        "--outer--",
        "epilogue",
    ])
}

#[test]
fn nested_multipart_with_rfc2231_attachment() {
    let raw = alternative();
    assert_eq!(raw.len(), 922);
    assert_eq!(
        structure(&raw, true),
        concat!(
            r#"(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1 NIL NIL NIL NIL)"#,
            r#"(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 33 2 NIL NIL NIL NIL)"#,
            r#"("APPLICATION" "PDF" ("NAME" "report.pdf") "<pdf1@example.com>" "The report" "BASE64" 12 NIL "#,
            "(\"attachment\" (\"filename\" {16}\r\ncaf\u{e9} report.pdf)) (\"en\" \"fr\") \"http://example.com/r.pdf\")",
            r#" "MIXED" ("BOUNDARY" "inner") NIL NIL NIL)"#,
            r#" "ALTERNATIVE" ("BOUNDARY" "outer") NIL NIL NIL)"#,
        )
    );
    assert_eq!(
        structure(&raw, false),
        concat!(
            r#"(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1)"#,
            r#"(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 33 2)"#,
            r#"("APPLICATION" "PDF" ("NAME" "report.pdf") "<pdf1@example.com>" "The report" "BASE64" 12)"#,
            r#" "MIXED") "ALTERNATIVE")"#,
        )
    );
    assert_eq!(
        envelope(&raw),
        concat!(
            r#"("Mon, 2 Jan 2023 10:00:00 +0000" "=?UTF-8?Q?Caf=C3=A9?= report" "#,
            r#"(("Doe, Jane" NIL "jane" "example.com")) (("Doe, Jane" NIL "jane" "example.com")) "#,
            r#"(("Doe, Jane" NIL "jane" "example.com")) ((NIL NIL "bob" "example.com")) "#,
            r#"NIL NIL NIL "<1@example.com>")"#
        )
    );
    assert_eq!(MessageSummary::parse(&raw).sent_date, Some(1_672_653_600));

    let text_start = 241; // after the top-level header's blank line
    assert_eq!(
        section(&raw, &[], Some(SectionText::Text)).unwrap(),
        &raw[text_start..]
    );
    assert_eq!(raw.len() - text_start, 681);
    assert_eq!(section(&raw, &[1], None).unwrap(), b"Caf=C3=A9 report");
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Mime)).unwrap(),
        crlf(&[
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            ""
        ])
    );
    let two = section(&raw, &[2], None).unwrap();
    assert_eq!(two.len(), 437);
    assert!(two.starts_with(b"--inner\r\nContent-Type: text/html"));
    assert!(two.ends_with(b"JVBERi0xLjQK\r\n--inner--\r\n"));
    assert_eq!(
        section(&raw, &[2], Some(SectionText::Mime)).unwrap(),
        b"Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n"
    );
    assert_eq!(
        section(&raw, &[2, 1], None).unwrap(),
        b"<p>Caf&eacute;</p>\r\n<p>report</p>"
    );
    assert_eq!(section(&raw, &[2, 2], None).unwrap(), b"JVBERi0xLjQK");
    let mime = section(&raw, &[2, 2], Some(SectionText::Mime)).unwrap();
    assert!(mime.starts_with(b"Content-Type: application/pdf;"));
    assert!(mime.ends_with(b"Content-Location: http://example.com/r.pdf\r\n\r\n"));
    assert_eq!(section(&raw, &[2, 3], None), None);
    assert_eq!(section(&raw, &[3], None), None);
    assert_eq!(section(&raw, &[2, 2, 1], None), None);
    assert_eq!(section(&raw, &[2, 2], Some(SectionText::Text)), None);
}

/// multipart/mixed > (text/plain without a MIME header, message/rfc822 > multipart).
pub(super) fn forwarded() -> Vec<u8> {
    crlf(&[
        "From: a@example.com",
        "Subject: fwd",
        "Content-Type: multipart/mixed; boundary=b1",
        "",
        "--b1",
        "",
        "See attached.",
        "--b1",
        "Content-Type: message/rfc822",
        "",
        "From: Inner <inner@example.org>",
        "Subject: inner subject",
        "Date: Tue, 3 Jan 2023 11:00:00 +0100",
        "Content-Type: multipart/mixed; boundary=b2",
        "",
        "--b2",
        "Content-Type: text/plain",
        "",
        "inner one",
        "--b2",
        "Content-Type: image/png",
        "Content-Transfer-Encoding: base64",
        "",
        "iVBORw0KGgo=",
        "--b2--",
        "--b1--",
    ])
}

#[test]
fn encapsulated_message() {
    let raw = forwarded();
    assert_eq!(raw.len(), 426);
    let inner_env = concat!(
        r#"("Tue, 3 Jan 2023 11:00:00 +0100" "inner subject" (("Inner" NIL "inner" "example.org")) "#,
        r#"(("Inner" NIL "inner" "example.org")) (("Inner" NIL "inner" "example.org")) NIL NIL NIL NIL NIL)"#
    );
    assert_eq!(
        structure(&raw, true),
        [
            r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 1 NIL NIL NIL NIL)"#,
            r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 274 "#,
            inner_env,
            r#" (("TEXT" "PLAIN" NIL NIL NIL "7BIT" 9 1 NIL NIL NIL NIL)"#,
            r#"("IMAGE" "PNG" NIL NIL NIL "BASE64" 12 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b2") NIL NIL NIL)"#,
            r#" 15 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b1") NIL NIL NIL)"#,
        ]
        .concat()
    );
    assert_eq!(
        structure(&raw, false),
        [
            r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 1)"#,
            r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 274 "#,
            inner_env,
            r#" (("TEXT" "PLAIN" NIL NIL NIL "7BIT" 9 1)("IMAGE" "PNG" NIL NIL NIL "BASE64" 12) "MIXED") 15) "MIXED")"#,
        ]
        .concat()
    );
    let inner_header = crlf(&[
        "From: Inner <inner@example.org>",
        "Subject: inner subject",
        "Date: Tue, 3 Jan 2023 11:00:00 +0100",
        "Content-Type: multipart/mixed; boundary=b2",
        "",
    ]);
    let inner_text = crlf(&[
        "--b2",
        "Content-Type: text/plain",
        "",
        "inner one",
        "--b2",
        "Content-Type: image/png",
        "Content-Transfer-Encoding: base64",
        "",
        "iVBORw0KGgo=",
    ]);
    let inner_text = [&inner_text[..], b"--b2--"].concat();
    assert_eq!(section(&raw, &[1], None).unwrap(), b"See attached.");
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Mime)).unwrap(),
        b"\r\n"
    );
    assert_eq!(
        section(&raw, &[2], None).unwrap(),
        [&inner_header[..], &inner_text[..]].concat()
    );
    assert_eq!(
        section(&raw, &[2], Some(SectionText::Mime)).unwrap(),
        b"Content-Type: message/rfc822\r\n\r\n"
    );
    assert_eq!(
        section(&raw, &[2], Some(SectionText::Header)).unwrap(),
        inner_header
    );
    assert_eq!(
        section(&raw, &[2], Some(SectionText::Text)).unwrap(),
        inner_text
    );
    assert_eq!(
        section(&raw, &[2], fields(false, &["Subject"])).unwrap(),
        b"Subject: inner subject\r\n\r\n"
    );
    assert_eq!(
        section(
            &raw,
            &[2],
            fields(true, &["Subject", "date", "content-type"])
        )
        .unwrap(),
        b"From: Inner <inner@example.org>\r\n\r\n"
    );
    assert_eq!(section(&raw, &[2, 1], None).unwrap(), b"inner one");
    assert_eq!(
        section(&raw, &[2, 1], Some(SectionText::Mime)).unwrap(),
        b"Content-Type: text/plain\r\n\r\n"
    );
    assert_eq!(section(&raw, &[2, 2], None).unwrap(), b"iVBORw0KGgo=");
    assert_eq!(section(&raw, &[2, 3], None), None);
    assert_eq!(section(&raw, &[1], Some(SectionText::Header)), None);
    assert_eq!(
        section(&raw, &[], fields(false, &["subject"])).unwrap(),
        b"Subject: fwd\r\n\r\n"
    );
}

#[test]
fn single_part_message_rfc822() {
    let raw = crlf(&[
        "Content-Type: message/rfc822",
        "",
        "Subject: in",
        "",
        "body",
    ]);
    assert_eq!(
        structure(&raw, false),
        concat!(
            r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 21 (NIL "in" NIL NIL NIL NIL NIL NIL NIL NIL) "#,
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 6 1) 3)"#
        )
    );
    assert_eq!(
        section(&raw, &[1], None).unwrap(),
        b"Subject: in\r\n\r\nbody\r\n"
    );
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Header)).unwrap(),
        b"Subject: in\r\n\r\n"
    );
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Text)).unwrap(),
        b"body\r\n"
    );
    assert_eq!(section(&raw, &[1, 1], None).unwrap(), b"body\r\n");
    assert_eq!(
        section(&raw, &[1, 1], Some(SectionText::Mime)).unwrap(),
        b"Subject: in\r\n\r\n"
    );
    assert_eq!(section(&raw, &[1, 2], None), None);
}

#[test]
fn eight_bit_header_and_groups() {
    let raw = [
        &b"From: J\xc3\xb6rg M\xc3\xbcller <jm@example.de>\r\n"[..],
        b"Subject: Gr\xc3\xbc\xc3\x9fe\r\n",
        b"To: undisclosed-recipients:;\r\n",
        b"Cc: Team: ann@example.com, \"Bob \\\"B\\\" Smith\" <bob@example.com>;, eve@example.com\r\n",
        b"Bcc:\r\n",
        b"Subject: second subject is ignored\r\n",
        b"In-Reply-To: <a@b>\r\n",
        b"\r\n",
        b"hi\r\n",
    ]
    .concat();
    // 8-bit values are sent as literals, as they appear in the message.
    let jm = "({13}\r\nJ\u{f6}rg M\u{fc}ller NIL \"jm\" \"example.de\")";
    assert_eq!(
        envelope(&raw),
        [
            "(NIL {7}\r\nGr\u{fc}\u{df}e (",
            jm,
            ") (",
            jm,
            ") (",
            jm,
            r#") ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) "#,
            r#"((NIL NIL "Team" NIL)(NIL NIL "ann" "example.com")("Bob \"B\" Smith" NIL "bob" "example.com")"#,
            r#"(NIL NIL NIL NIL)(NIL NIL "eve" "example.com")) NIL "<a@b>" NIL)"#,
        ]
        .concat()
    );
    assert_eq!(section(&raw, &[1], None).unwrap(), b"hi\r\n");
}

#[test]
fn garbage_and_empty_input() {
    for raw in [
        &b"\x00\xff not a header\nsecond line"[..],
        b"",
        b"\r\n\r\n",
        b"--x--\n",
        b"From nobody Mon Jan 1 00:00:00 2024\nx",
    ] {
        let s = MessageSummary::parse(raw);
        let mut env = Vec::new();
        s.write_envelope(&mut env);
        let expected_header: &[u8] = if raw.starts_with(b"\r\n") {
            b"\r\n"
        } else {
            b""
        };
        assert_eq!(
            section(raw, &[], Some(SectionText::Header)).unwrap(),
            expected_header
        );
        let text = &raw[expected_header.len()..];
        assert_eq!(env, b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        assert_eq!(
            structure(raw, true),
            format!(
                r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" {} {} NIL NIL NIL NIL)"#,
                text.len(),
                walk::count_lines(text)
            )
        );
        assert_eq!(section(raw, &[], None).unwrap(), raw);
        assert_eq!(section(raw, &[], Some(SectionText::Text)).unwrap(), text);
        assert_eq!(section(raw, &[1], None).unwrap(), text);
        assert_eq!(s.sent_date, None);
    }
    // Counted by hand: 16 + 11 octets, the last line without a line break.
    assert_eq!(
        structure(b"\x00\xff not a header\nsecond line", false),
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 27 2)"#
    );
    // A header with no body and no blank line.
    let raw = b"Subject: only a header";
    assert_eq!(
        structure(raw, false),
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)"#
    );
    assert_eq!(section(raw, &[], Some(SectionText::Header)).unwrap(), raw);
    assert_eq!(section(raw, &[], fields(false, &["subject"])).unwrap(), raw);
    assert_eq!(section(raw, &[], Some(SectionText::Text)).unwrap(), b"");
}

#[test]
fn bare_lf_and_malformed_multiparts() {
    // LF line ends; a part with no header; a part cut short inside its header; no close
    // delimiter; a boundary that is a prefix of an inner one.
    let raw = b"Content-Type: multipart/mixed; boundary=ab\n\n--ab\nplain body\n--ab\nContent-Type: text/x\n--ab\nContent-Type: multipart/related; boundary=abc\n\n--abc\n\ndeep\n--ab\n\ntail\n";
    assert_eq!(
        structure(raw, false),
        concat!(
            r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1)"#,
            r#"("TEXT" "X" NIL NIL NIL "7BIT" 0 0)"#,
            r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 4 1) "RELATED")"#,
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) "MIXED")"#
        )
    );
    assert_eq!(section(raw, &[1], None).unwrap(), b"plain body");
    assert_eq!(section(raw, &[1], Some(SectionText::Mime)).unwrap(), b"");
    // Cut short by a delimiter: the line break before it belongs to the delimiter.
    assert_eq!(
        section(raw, &[2], Some(SectionText::Mime)).unwrap(),
        b"Content-Type: text/x"
    );
    assert_eq!(section(raw, &[3], None).unwrap(), b"--abc\n\ndeep");
    assert_eq!(section(raw, &[3, 1], None).unwrap(), b"deep");
    assert_eq!(section(raw, &[4], None).unwrap(), b"tail\n");

    // A multipart without a boundary parameter, or whose boundary never occurs, is text.
    for ct in ["multipart/mixed", "multipart/mixed; boundary=zz"] {
        let raw = format!("Content-Type: {ct}\r\n\r\nno parts here\r\n");
        let s = structure(raw.as_bytes(), false);
        assert!(s.starts_with(r#"("TEXT" "PLAIN" "#), "{s}");
        assert!(s.ends_with(r#" "7BIT" 15 1)"#), "{s}");
    }
    // A multipart with only a close delimiter gets one empty text part (`1*body`).
    let raw = b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q--\r\n";
    assert_eq!(
        structure(raw, false),
        r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")"#
    );
    assert_eq!(section(raw, &[1], None).unwrap(), b"");
}

#[test]
fn digest_default_and_encoded_message() {
    let raw = crlf(&[
        "Content-Type: multipart/digest; boundary=d",
        "",
        "--d",
        "",
        "Subject: one",
        "",
        "first",
        "--d",
        "Content-Type: message/rfc822",
        "Content-Transfer-Encoding: base64",
        "",
        "U3ViamVjdDogeA0KDQp5",
        "--d--",
    ]);
    assert_eq!(
        structure(&raw, false),
        concat!(
            r#"(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 21 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) "#,
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) 3)"#,
            r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 20 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "#,
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 20 1) 1) "DIGEST")"#
        )
    );
    assert_eq!(
        section(&raw, &[1], Some(SectionText::Header)).unwrap(),
        b"Subject: one\r\n\r\n"
    );
    assert_eq!(section(&raw, &[2], Some(SectionText::Header)).unwrap(), b"");
    assert_eq!(
        section(&raw, &[2], Some(SectionText::Text)).unwrap(),
        b"U3ViamVjdDogeA0KDQp5"
    );
    assert_eq!(
        section(&raw, &[2, 1], None).unwrap(),
        b"U3ViamVjdDogeA0KDQp5"
    );
}
