//! Authenticated-state commands (RFC 9051 §6.3) and their extensions.

use super::*;

#[test]
fn rfc9051_6_3_2_select_examine() {
    assert_eq!(
        parse("A142 SELECT INBOX\r\n"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            condstore: false
        }
    );
    assert_eq!(
        parse("A142 SELECT inbox (CONDSTORE)\r\n"),
        CommandBody::Select {
            mailbox: "INBOX".into(),
            condstore: true
        }
    );
    assert_eq!(
        parse("A932 EXAMINE blurdybloop\r\n"),
        CommandBody::Examine {
            mailbox: "blurdybloop".into(),
            condstore: false
        }
    );
    assert_eq!(
        parse("a EXAMINE \"Entw&APw-rfe\" (condstore)\r\n"),
        CommandBody::Examine {
            mailbox: "Entw&APw-rfe".into(),
            condstore: true
        }
    );
    assert_eq!(
        parse("a SELECT \"Entwürfe\"\r\n"),
        CommandBody::Select {
            mailbox: "Entwürfe".into(),
            condstore: false
        }
    );
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
    CommandBody::List {
        reference: reference.into(),
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        select: select.iter().map(|p| p.to_string()).collect(),
        ret,
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
        list("", &["*"], &["SUBSCRIBED"], ListReturn::default())
    );
    assert_eq!(
        parse("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n"),
        list("", &["%"], &[], children.clone())
    );
    assert_eq!(
        parse("A06 LIST (subscribed RecursiveMatch) \"\" \"%\" RETURN (CHILDREN)\r\n"),
        list("", &["%"], &["SUBSCRIBED", "RECURSIVEMATCH"], children)
    );
    assert_eq!(
        parse("C04 LIST \"\" (\"INBOX\" \"Drafts\" Sent/%)\r\n"),
        list(
            "",
            &["INBOX", "Drafts", "Sent/%"],
            &[],
            ListReturn::default()
        )
    );
    assert_eq!(
        parse("A04 LIST \"\" % RETURN (SUBSCRIBED CHILDREN special-use)\r\n"),
        list(
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
        list("", &["%"], &[], ListReturn::default())
    );
}

#[test]
fn rfc5819_list_status_and_rfc6154_special_use() {
    assert_eq!(
        parse("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n"),
        list(
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
        list("", &["*"], &["SPECIAL-USE"], ListReturn::default())
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
            flags: vec![Flag::Seen],
            date: None,
            message: msg.as_bytes().to_vec(),
        }
    );
    assert_eq!(
        parse("a APPEND inbox \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nHi!\r\n"),
        CommandBody::Append {
            mailbox: "INBOX".into(),
            flags: vec![],
            date: Some(DateTime {
                timestamp: 837_596_665,
                offset_minutes: -420
            }),
            message: b"Hi!".to_vec(),
        }
    );
    // Literal8 (RFC 3516 §4.4) may carry NUL; empty flag list; both options.
    assert_eq!(
        parse("a APPEND Drafts () \" 7-Feb-1994 21:52:25 -0800\" ~{3}\r\na\0b\r\n"),
        CommandBody::Append {
            mailbox: "Drafts".into(),
            flags: vec![],
            date: Some(DateTime {
                timestamp: 760_686_745,
                offset_minutes: -480
            }),
            message: b"a\0b".to_vec(),
        }
    );
}
