//! Tests of `parse_command`: RFC 5321 Appendix D, RFC 4954 §4 and §7,
//! RFC 3030, what real clients send, and what must be refused.

use super::*;
use crate::proto::smtp::params::Body;

fn ok(line: &str) -> Command {
    parse_command(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn err(line: &[u8]) -> SyntaxErrorKind {
    match parse_command(line) {
        Ok(c) => panic!("{:?} parsed as {c:?}", String::from_utf8_lossy(line)),
        Err(e) => e.kind,
    }
}

fn mail(path: &str) -> Command {
    Command::MailFrom {
        path: ReversePath::Address(path.into()),
        params: MailParams::default(),
    }
}

fn rcpt(path: &str) -> Command {
    Command::RcptTo {
        path: path.into(),
        params: vec![],
    }
}

#[test]
fn rfc5321_appendix_d1_typical_transaction() {
    assert_eq!(ok("EHLO bar.com"), Command::Ehlo("bar.com".into()));
    assert_eq!(ok("MAIL FROM:<Smith@bar.com>"), mail("Smith@bar.com"));
    assert_eq!(ok("RCPT TO:<Jones@foo.com>"), rcpt("Jones@foo.com"));
    assert_eq!(ok("RCPT TO:<Green@foo.com>"), rcpt("Green@foo.com"));
    assert_eq!(ok("DATA"), Command::Data);
    assert_eq!(ok("QUIT"), Command::Quit);
}

#[test]
fn rfc5321_appendix_d_other_scenarios() {
    assert_eq!(ok("RSET"), Command::Rset);
    assert_eq!(ok("HELO bar.com"), Command::Helo("bar.com".into()));
    assert_eq!(ok("MAIL FROM:<JQP@bar.com>"), mail("JQP@bar.com"));
    assert_eq!(ok("RCPT TO:<Jones@XYZ.COM>"), rcpt("Jones@XYZ.COM"));
    assert_eq!(ok("VRFY Crispin"), Command::Vrfy("Crispin".into()));
}

#[test]
fn rfc5321_source_route_is_dropped() {
    // RFC 5321 §4.1.1.3 example.
    assert_eq!(
        ok("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"),
        rcpt("userc@d.bar.org")
    );
    assert_eq!(ok("MAIL FROM:<@a,@b:x@y>"), mail("x@y"));
}

#[test]
fn verbs_are_case_insensitive() {
    assert_eq!(ok("ehlo x"), Command::Ehlo("x".into()));
    assert_eq!(ok("mail from:<a@b>"), mail("a@b"));
    assert_eq!(ok("Rcpt To:<a@b>"), rcpt("a@b"));
    assert_eq!(ok("StartTLS"), Command::StartTls);
    assert_eq!(ok("lhlo x"), Command::Lhlo("x".into()));
}

#[test]
fn null_reverse_path() {
    assert_eq!(
        ok("MAIL FROM:<>"),
        Command::MailFrom {
            path: ReversePath::Null,
            params: MailParams::default()
        }
    );
}

#[test]
fn outlook_space_after_colon() {
    assert_eq!(ok("MAIL FROM: <a@example.com>"), mail("a@example.com"));
    assert_eq!(ok("RCPT TO: <b@example.com>"), rcpt("b@example.com"));
}

#[test]
fn mail_parameters() {
    let Command::MailFrom { path, params } = ok("MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME") else {
        panic!()
    };
    assert_eq!(path, ReversePath::Address("a@b".into()));
    assert_eq!(params.size, Some(123));
    assert_eq!(params.body, Some(Body::EightBitMime));
    let Command::MailFrom { params, .. } = ok("MAIL FROM:<a@b>  SMTPUTF8 AUTH=<> RET=HDRS  ")
    else {
        panic!()
    };
    assert!(params.smtputf8);
    assert_eq!(params.auth.as_deref(), Some("<>"));
    assert_eq!(
        params.other,
        vec![("RET".to_string(), Some("HDRS".to_string()))]
    );
}

#[test]
fn rcpt_parameters() {
    let Command::RcptTo { path, params } =
        ok("RCPT TO:<a@b> notify=SUCCESS,FAILURE ORCPT=rfc822;a@b")
    else {
        panic!()
    };
    assert_eq!(path, "a@b");
    assert_eq!(
        params,
        vec![
            ("NOTIFY".to_string(), Some("SUCCESS,FAILURE".to_string())),
            ("ORCPT".to_string(), Some("rfc822;a@b".to_string())),
        ]
    );
}

#[test]
fn quoted_and_utf8_addresses() {
    assert_eq!(
        ok("MAIL FROM:<\"john doe\"@example.com>"),
        mail("\"john doe\"@example.com")
    );
    assert_eq!(
        ok("RCPT TO:<\"a\\\"b\"@example.com>"),
        rcpt("\"a\\\"b\"@example.com")
    );
    let Command::MailFrom { path, params } = ok("MAIL FROM:<用户@例子.广告> SMTPUTF8") else {
        panic!()
    };
    assert_eq!(path, ReversePath::Address("用户@例子.广告".into()));
    assert!(params.smtputf8);
    assert_eq!(ok("RCPT TO:<José@exämple.de>"), rcpt("José@exämple.de"));
}

#[test]
fn postmaster_without_domain() {
    assert_eq!(ok("RCPT TO:<Postmaster>"), rcpt("Postmaster"));
    assert_eq!(
        ok("RCPT TO:<postmaster@example.com>"),
        rcpt("postmaster@example.com")
    );
}

#[test]
fn address_literal_domains() {
    assert_eq!(ok("RCPT TO:<a@[192.0.2.1]>"), rcpt("a@[192.0.2.1]"));
    assert_eq!(ok("EHLO [192.0.2.1]"), Command::Ehlo("[192.0.2.1]".into()));
    assert_eq!(
        ok("EHLO [IPv6:2001:db8::1]"),
        Command::Ehlo("[IPv6:2001:db8::1]".into())
    );
}

#[test]
fn ehlo_is_lenient() {
    assert_eq!(
        ok("EHLO DESKTOP-AB_12"),
        Command::Ehlo("DESKTOP-AB_12".into())
    );
    assert_eq!(ok("EHLO  host "), Command::Ehlo("host".into()));
    assert_eq!(err(b"EHLO"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"EHLO a b"), SyntaxErrorKind::BadArguments);
}

#[test]
fn rfc4954_auth_examples() {
    // RFC 4954 §4 and §7.
    assert_eq!(
        ok("AUTH FOOBAR"),
        Command::Auth {
            mechanism: "FOOBAR".into(),
            initial_response: None
        }
    );
    assert_eq!(
        ok("AUTH CRAM-MD5"),
        Command::Auth {
            mechanism: "CRAM-MD5".into(),
            initial_response: None
        }
    );
    assert_eq!(
        ok("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ="),
        Command::Auth {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::new(b"dGVzdAB0ZXN0ADEyMzQ=".to_vec())),
        }
    );
    // "=" is an empty initial response and stays "=" here.
    assert_eq!(
        ok("AUTH PLAIN ="),
        Command::Auth {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::new(b"=".to_vec()))
        }
    );
}

#[test]
fn auth_mechanism_is_upper_cased_and_long_responses_pass() {
    let token = "QUJD".repeat(4096 + 100); // over 16 KiB of base64
    let Command::Auth {
        mechanism,
        initial_response,
    } = ok(&format!("auth xoauth2 {token}"))
    else {
        panic!()
    };
    assert_eq!(mechanism, "XOAUTH2");
    assert_eq!(initial_response.unwrap().expose(), token.as_bytes());
}

#[test]
fn auth_refusals() {
    assert_eq!(err(b"AUTH"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"AUTH PLAIN abc def"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"AUTH PLAIN ab!c"), SyntaxErrorKind::BadArguments);
    assert_eq!(
        err(b"AUTH ABCDEFGHIJKLMNOPQRSTU"),
        SyntaxErrorKind::BadArguments
    );
}

#[test]
fn bdat() {
    assert_eq!(
        ok("BDAT 1000"),
        Command::Bdat {
            size: 1000,
            last: false
        }
    );
    assert_eq!(
        ok("BDAT 0 LAST"),
        Command::Bdat {
            size: 0,
            last: true
        }
    );
    assert_eq!(
        ok("bdat 5 last"),
        Command::Bdat {
            size: 5,
            last: true
        }
    );
    assert_eq!(err(b"BDAT"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"BDAT -1"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"BDAT 1 FIRST"), SyntaxErrorKind::BadArguments);
    assert_eq!(
        err(b"BDAT 99999999999999999999999"),
        SyntaxErrorKind::BadArguments
    );
}

#[test]
fn commands_with_optional_or_no_arguments() {
    assert_eq!(ok("NOOP"), Command::Noop);
    assert_eq!(ok("NOOP anything at all"), Command::Noop);
    assert_eq!(ok("HELP"), Command::Help);
    assert_eq!(ok("HELP MAIL"), Command::Help);
    assert_eq!(ok("DATA "), Command::Data);
    assert_eq!(err(b"DATA now"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"QUIT x"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"STARTTLS x"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"VRFY"), SyntaxErrorKind::BadArguments);
}

#[test]
fn unknown_commands() {
    assert_eq!(err(b""), SyntaxErrorKind::UnknownCommand);
    assert_eq!(err(b"EXPN list"), SyntaxErrorKind::UnknownCommand);
    assert_eq!(err(b"GET / HTTP/1.1"), SyntaxErrorKind::UnknownCommand);
    assert_eq!(err(b"\xff\xfe"), SyntaxErrorKind::UnknownCommand);
    assert_eq!(err(b" DATA"), SyntaxErrorKind::UnknownCommand);
    assert_eq!(err(b"MAIL:FROM"), SyntaxErrorKind::UnknownCommand);
}

#[test]
fn bad_mail_and_rcpt() {
    assert_eq!(err(b"MAIL"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"MAIL TO:<a@b>"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"MAIL FROM:a@b"), SyntaxErrorKind::BadSender);
    assert_eq!(err(b"MAIL FROM:<a@b"), SyntaxErrorKind::BadSender);
    assert_eq!(err(b"MAIL FROM:<a b@c>"), SyntaxErrorKind::BadSender);
    assert_eq!(err(b"MAIL FROM:<a@b>SIZE=1"), SyntaxErrorKind::BadArguments);
    assert_eq!(
        err(b"MAIL FROM:<a@b> SIZE=x"),
        SyntaxErrorKind::BadArguments
    );
    assert_eq!(
        err(b"MAIL FROM:<a@b> BODY=9BIT"),
        SyntaxErrorKind::BadArguments
    );
    assert_eq!(err(b"MAIL FROM:<a@b> =x"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"MAIL FROM:<a@\xff>"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"RCPT TO:"), SyntaxErrorKind::BadRecipient);
    assert_eq!(err(b"RCPT TO:<>"), SyntaxErrorKind::BadRecipient);
    assert_eq!(err(b"RCPT TO:<user>"), SyntaxErrorKind::BadRecipient);
    assert_eq!(err(b"RCPT FROM:<a@b>"), SyntaxErrorKind::BadArguments);
    assert_eq!(err(b"RCPT TO:<a@b\r\nRSET>"), SyntaxErrorKind::BadRecipient);
}

#[test]
fn replies_for_errors() {
    let e = parse_command(b"FOO").unwrap_err();
    assert_eq!(e.reply().to_bytes(), b"500 5.5.2 Command unrecognized\r\n");
    let e = parse_command(b"MAIL FROM:junk").unwrap_err();
    assert_eq!(
        e.reply().to_bytes(),
        b"501 5.1.7 Bad sender address syntax\r\n"
    );
    let e = parse_command(b"RCPT TO:junk").unwrap_err();
    assert_eq!(e.reply().code, 501);
    assert_eq!(e.reply().enhanced, Some((5, 1, 3)));
}

#[test]
fn verbs_are_reported() {
    assert_eq!(ok("MAIL FROM:<>").verb(), "MAIL");
    assert_eq!(ok("BDAT 1").verb(), "BDAT");
}
