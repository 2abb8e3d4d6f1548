//! Commands valid in any state and in the not-authenticated state
//! (RFC 9051 §6.1, §6.2; ID, ENABLE, SASL-IR).

use super::*;

#[test]
fn rfc9051_6_1_any_state() {
    let c = parse_command(b"a001 CAPABILITY\r\n").unwrap();
    assert_eq!(
        c,
        Command {
            tag: "a001".into(),
            body: CommandBody::Capability
        }
    );
    assert_eq!(parse("a002 NOOP\r\n"), CommandBody::Noop);
    assert_eq!(parse("A023 logout\r\n"), CommandBody::Logout);
    assert_eq!(parse("a002 StartTLS\r\n"), CommandBody::StartTls);
    assert_eq!(parse("a047 IDLE\r\n"), CommandBody::Idle);
    assert_eq!(parse("A001 NAMESPACE\r\n"), CommandBody::Namespace);
}

#[test]
fn tags_may_hold_any_astring_char_but_plus() {
    for tag in ["*", "a]b", "x.1", "!#$&'-/:;<=>?@[^_`|~", "0"] {
        let input = format!("{tag} NOOP\r\n");
        match parse_command(input.as_bytes()) {
            Ok(c) if tag != "*" => assert_eq!(c.tag, tag),
            Ok(c) => panic!("'*' is a list-wildcard, not a tag char: {c:?}"),
            Err(e) => assert_eq!(tag, "*", "{e:?}"),
        }
    }
}

#[test]
fn rfc9051_6_2_2_authenticate() {
    assert_eq!(
        parse("A001 AUTHENTICATE GSSAPI\r\n"),
        CommandBody::Authenticate {
            mechanism: "GSSAPI".into(),
            initial_response: None
        }
    );
    // RFC 4959 §4 example; the response stays base64.
    assert_eq!(
        parse("a authenticate plain dGVzdAB0ZXN0AHRlc3Q=\r\n"),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::new(b"dGVzdAB0ZXN0AHRlc3Q=".to_vec())),
        }
    );
    assert_eq!(
        parse("b AUTHENTICATE XOAUTH2 =\r\n"),
        CommandBody::Authenticate {
            mechanism: "XOAUTH2".into(),
            initial_response: Some(Secret::new(b"=".to_vec())),
        }
    );
}

#[test]
fn rfc9051_6_2_3_login() {
    assert_eq!(
        parse("a001 LOGIN SMITH SESAME\r\n"),
        CommandBody::Login {
            username: "SMITH".into(),
            password: Secret::new(b"SESAME".to_vec())
        }
    );
    assert_eq!(
        parse("a LOGIN \"fred smith\" {8}\r\np\"w d\\\r\n\r\n"),
        CommandBody::Login {
            username: "fred smith".into(),
            password: Secret::new(b"p\"w d\\\r\n".to_vec())
        }
    );
    assert_eq!(
        parse("a LOGIN {4+}\r\nuser \"a\\\"b\"\r\n"),
        CommandBody::Login {
            username: "user".into(),
            password: Secret::new(b"a\"b".to_vec())
        }
    );
    let shown = format!("{:?}", parse_command(b"a LOGIN joe hunter2\r\n").unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn rfc2971_id() {
    assert_eq!(
        parse(
            "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n"
        ),
        CommandBody::Id(Some(vec![
            ("name".into(), Some("sodr".into())),
            ("version".into(), Some("19.34".into())),
            ("vendor".into(), Some("Pink Floyd Music Limited".into())),
        ]))
    );
    assert_eq!(parse("a ID NIL\r\n"), CommandBody::Id(None));
    assert_eq!(parse("a ID ()\r\n"), CommandBody::Id(Some(vec![])));
    assert_eq!(
        parse("a ID (\"os\" NIL)\r\n"),
        CommandBody::Id(Some(vec![("os".into(), None)]))
    );
}

#[test]
fn rfc5161_enable() {
    assert_eq!(
        parse("t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n"),
        CommandBody::Enable(vec!["CONDSTORE".into(), "X-GOOD-IDEA".into()])
    );
    assert_eq!(
        parse("t ENABLE utf8=accept\r\n"),
        CommandBody::Enable(vec!["UTF8=ACCEPT".into()])
    );
}

#[test]
fn bare_lf_is_accepted() {
    assert_eq!(parse("a NOOP\n"), CommandBody::Noop);
    assert_eq!(
        parse("a LOGIN {1}\nu p\n"),
        CommandBody::Login {
            username: "u".into(),
            password: Secret::new(b"p".to_vec())
        }
    );
}

#[test]
fn command_names() {
    assert_eq!(parse("a uid fetch 1 uid\r\n").name(), "UID FETCH");
    assert_eq!(parse("a CHECK\r\n").name(), "CHECK");
}
