//! Authenticated-state commands (RFC 9051 §6.3) and their extensions.

use super::*;

#[test]
fn rfc9051_6_3_2_select_examine() {
    assert_eq!(
        parse("A142 SELECT INBOX\r\n"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            params: SelectParams::default()
        }
    );
    assert_eq!(
        parse("A142 SELECT inbox (CONDSTORE)\r\n"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            params: condstore()
        }
    );
    assert_eq!(
        parse("A932 EXAMINE blurdybloop\r\n"),
        CommandBody::Examine {
            mailbox: "blurdybloop".into(),
            params: SelectParams::default()
        }
    );
    assert_eq!(
        parse("a EXAMINE \"Entw&APw-rfe\" (condstore)\r\n"),
        CommandBody::Examine {
            mailbox: "Entw&APw-rfe".into(),
            params: condstore()
        }
    );
    assert_eq!(
        parse("a SELECT \"Entwürfe\"\r\n"),
        CommandBody::Select {
            mailbox: "Entwürfe".into(),
            params: SelectParams::default()
        }
    );
}

fn condstore() -> SelectParams {
    SelectParams {
        condstore: true,
        qresync: None,
    }
}

#[test]
fn rfc7162_3_2_5_select_qresync() {
    let CommandBody::Select { params, .. } =
        parse("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n")
    else {
        panic!()
    };
    let q = params.qresync.unwrap();
    assert_eq!(
        (q.uidvalidity, q.modseq),
        (67_890_007, 20_050_715_194_045_000)
    );
    assert_eq!(q.known_uids.unwrap().to_string(), "41,43:211,214:541");
    let CommandBody::Select { params, .. } = parse(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
    ) else {
        panic!()
    };
    let q = params.qresync.unwrap();
    assert!(q.seq_match.is_some());
    let CommandBody::Select { params, .. } = parse("a SELECT x (CONDSTORE QRESYNC (1 2))\r\n")
    else {
        panic!()
    };
    assert!(params.condstore && params.qresync.is_some());
    for bad in [
        "a SELECT x (QRESYNC)\r\n",
        "a SELECT x (QRESYNC (0 1))\r\n",
        "a SELECT x (QRESYNC (1))\r\n",
        "a SELECT x (BOGUS)\r\n",
    ] {
        assert!(parse_command(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn rfc9051_6_3_4_create_and_rfc6154_use() {
    assert_eq!(
        parse("A003 CREATE owatagusiam/\r\n"),
        CommandBody::Create {
            mailbox: "owatagusiam/".into(),
            special_use: vec![]
        }
    );
    assert_eq!(
        parse("t1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n"),
        CommandBody::Create {
            mailbox: "MySpecial".into(),
            special_use: vec!["\\Drafts".into(), "\\Sent".into()]
        }
    );
}

#[test]
fn rfc9051_6_3_5_to_8_delete_rename_subscribe() {
    assert_eq!(
        parse("A683 DELETE blurdybloop\r\n"),
        CommandBody::Delete {
            mailbox: "blurdybloop".into()
        }
    );
    assert_eq!(
        parse("A683 RENAME blurdybloop sarasoop\r\n"),
        CommandBody::Rename {
            from: "blurdybloop".into(),
            to: "sarasoop".into()
        }
    );
    assert_eq!(
        parse("A002 SUBSCRIBE #news.comp.mail.mime\r\n"),
        CommandBody::Subscribe {
            mailbox: "#news.comp.mail.mime".into()
        }
    );
    assert_eq!(
        parse("A002 UNSUBSCRIBE #news.comp.mail.mime\r\n"),
        CommandBody::Unsubscribe {
            mailbox: "#news.comp.mail.mime".into()
        }
    );
}

fn list(reference: &str, patterns: &[&str], select: &[&str], ret: ListReturn) -> CommandBody {
    let mut sel = ListSelect::default();
    for o in select {
        match *o {
            "SUBSCRIBED" => sel.subscribed = true,
            "REMOTE" => sel.remote = true,
            "RECURSIVEMATCH" => sel.recursive_match = true,
            "SPECIAL-USE" => sel.special_use = true,
            _ => {}
        }
    }
    CommandBody::List {
        reference: reference.into(),
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        select: sel,
        ret,
        extended: false,
    }
}

fn list_ext(reference: &str, patterns: &[&str], select: &[&str], ret: ListReturn) -> CommandBody {
    match list(reference, patterns, select, ret) {
        CommandBody::List {
            reference,
            patterns,
            select,
            ret,
            ..
        } => CommandBody::List {
            reference,
            patterns,
            select,
            ret,
            extended: true,
        },
        _ => unreachable!(),
    }
}

#[test]
fn rfc9051_6_3_9_list() {
    let none = ListReturn::default;
    assert_eq!(
        parse("A101 LIST \"\" \"\"\r\n"),
        list("", &[""], &[], none())
    );
    assert_eq!(
        parse("A102 LIST #news.comp.mail.misc \"\"\r\n"),
        list("#news.comp.mail.misc", &[""], &[], none())
    );
    assert_eq!(
        parse("A202 LIST ~/Mail/ %\r\n"),
        list("~/Mail/", &["%"], &[], none())
    );
    assert_eq!(parse("a LIST \"\" *\r\n"), list("", &["*"], &[], none()));
    assert_eq!(
        parse("a LIST \"\" foo]%\r\n"),
        list("", &["foo]%"], &[], none())
    );
}

#[test]
fn rfc5258_list_extended() {
    let children = ListReturn {
        children: true,
        ..ListReturn::default()
    };
    assert_eq!(
        parse("A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n"),
        list_ext("", &["*"], &["SUBSCRIBED"], ListReturn::default())
    );
    assert_eq!(
        parse("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n"),
        list_ext("", &["%"], &[], children.clone())
    );
    assert_eq!(
        parse("A06 LIST (subscribed RecursiveMatch) \"\" \"%\" RETURN (CHILDREN)\r\n"),
        list_ext("", &["%"], &["SUBSCRIBED", "RECURSIVEMATCH"], children)
    );
    assert_eq!(
        parse("C04 LIST \"\" (\"INBOX\" \"Drafts\" Sent/%)\r\n"),
        list_ext(
            "",
            &["INBOX", "Drafts", "Sent/%"],
            &[],
            ListReturn::default()
        )
    );
    assert_eq!(
        parse("A04 LIST \"\" % RETURN (SUBSCRIBED CHILDREN special-use)\r\n"),
        list_ext(
            "",
            &["%"],
            &[],
            ListReturn {
                subscribed: true,
                children: true,
                special_use: true,
                status: None
            }
        )
    );
    assert_eq!(
        parse("A05 LIST \"\" % RETURN ()\r\n"),
        list_ext("", &["%"], &[], ListReturn::default())
    );
}

#[test]
fn rfc5819_list_status_and_rfc6154_special_use() {
    assert_eq!(
        parse("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n"),
        list_ext(
            "",
            &["%"],
            &[],
            ListReturn {
                status: Some(vec![StatusItem::Messages, StatusItem::Unseen]),
                ..ListReturn::default()
            }
        )
    );
    assert_eq!(
        parse("t1 LIST (SPECIAL-USE) \"\" \"*\"\r\n"),
        list_ext("", &["*"], &["SPECIAL-USE"], ListReturn::default())
    );
}

#[test]
fn rfc3501_6_3_9_lsub() {
    assert_eq!(
        parse("A002 LSUB \"#news.\" \"comp.mail.*\"\r\n"),
        CommandBody::Lsub {
            reference: "#news.".into(),
            pattern: "comp.mail.*".into()
        }
    );
    assert_eq!(
        parse("A003 LSUB \"\" %\r\n"),
        CommandBody::Lsub {
            reference: "".into(),
            pattern: "%".into()
        }
    );
}

#[test]
fn rfc9051_6_3_11_status() {
    use StatusItem as S;
    assert_eq!(
        parse("A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"),
        CommandBody::Status {
            mailbox: "blurdybloop".into(),
            items: vec![S::UidNext, S::Messages]
        }
    );
    assert_eq!(
        parse(
            "a status inbox (messages recent uidnext uidvalidity unseen deleted size highestmodseq appendlimit)\r\n"
        ),
        CommandBody::Status {
            mailbox: "INBOX".into(),
            items: vec![
                S::Messages,
                S::Recent,
                S::UidNext,
                S::UidValidity,
                S::Unseen,
                S::Deleted,
                S::Size,
                S::HighestModSeq,
                S::AppendLimit
            ]
        }
    );
}

#[test]
fn rfc9051_6_3_12_append() {
    let msg = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    let input = format!(
        "A003 APPEND saved-messages (\\Seen) {{{}}}\r\n{msg}\r\n",
        msg.len()
    );
    assert_eq!(
        parse(&input),
        CommandBody::Append {
            mailbox: "saved-messages".into(),
            messages: vec![AppendMessage {
                flags: vec![Flag::Seen],
                date: None,
                data: AppendData::Literal(msg.as_bytes().to_vec()),
            }],
        }
    );
    assert_eq!(
        parse("a APPEND inbox \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nHi!\r\n"),
        CommandBody::Append {
            mailbox: "INBOX".into(),
            messages: vec![AppendMessage {
                flags: vec![],
                date: Some(DateTime {
                    timestamp: 837_596_665,
                    offset_minutes: -420
                }),
                data: AppendData::Literal(b"Hi!".to_vec()),
            }],
        }
    );
    // Literal8 (RFC 3516 §4.4) may carry NUL; empty flag list; both options.
    assert_eq!(
        parse("a APPEND Drafts () \" 7-Feb-1994 21:52:25 -0800\" ~{3}\r\na\0b\r\n"),
        CommandBody::Append {
            mailbox: "Drafts".into(),
            messages: vec![AppendMessage {
                flags: vec![],
                date: Some(DateTime {
                    timestamp: 760_686_745,
                    offset_minutes: -480
                }),
                data: AppendData::Literal(b"a\0b".to_vec()),
            }],
        }
    );
}

#[test]
fn rfc3502_multiappend_and_rfc4469_catenate() {
    let CommandBody::Append { messages, .. } =
        parse("A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Draft) {2}\r\nde\r\n")
    else {
        panic!()
    };
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].flags, vec![Flag::Draft]);
    let CommandBody::Append { messages, .. } = parse(
        "A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {4}\r\n\r\nxy URL \"/Drafts;UIDVALIDITY=385759045/;UID=20\")\r\n",
    ) else {
        panic!()
    };
    assert_eq!(
        messages[0].data,
        AppendData::Catenate(vec![
            CatenatePart::Url("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER".into()),
            CatenatePart::Text(b"\r\nxy".to_vec()),
            CatenatePart::Url("/Drafts;UIDVALIDITY=385759045/;UID=20".into()),
        ])
    );
    let CommandBody::Append { messages, .. } = parse("a APPEND x UTF8 (~{2}\r\nhi)\r\n") else {
        panic!()
    };
    assert_eq!(messages[0].data, AppendData::Literal(b"hi".to_vec()));
    for bad in [
        "a APPEND x\r\n",
        "a APPEND x CATENATE ()\r\n",
        "a APPEND x CATENATE (FOO {1}\r\na)\r\n",
        "a APPEND x UTF8 {1}\r\na\r\n",
    ] {
        assert!(parse_command(bad.as_bytes()).is_err(), "{bad:?}");
    }
}
