//! Selected-state commands (RFC 9051 §6.4) and their extensions.

use super::*;

#[test]
fn rfc9051_6_4_no_argument_commands() {
    assert_eq!(parse("FXXZ CHECK\r\n"), CommandBody::Check);
    assert_eq!(parse("A341 CLOSE\r\n"), CommandBody::Close);
    assert_eq!(parse("A342 UNSELECT\r\n"), CommandBody::Unselect);
    assert_eq!(parse("A202 EXPUNGE\r\n"), CommandBody::Expunge);
    assert_eq!(
        parse("A003 UID EXPUNGE 3000:3002\r\n"),
        CommandBody::UidExpunge(set("3000:3002"))
    );
}

fn search(s: &str) -> (bool, Option<String>, SearchKey, Option<Vec<SearchReturn>>) {
    match parse(s) {
        CommandBody::Search {
            uid,
            charset,
            criteria,
            ret,
        } => (uid, charset, criteria, ret),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc9051_6_4_4_search() {
    use SearchKey as K;
    let (uid, charset, criteria, ret) =
        search("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n");
    assert!(!uid && charset.is_none() && ret.is_none());
    assert_eq!(
        criteria,
        K::And(vec![
            K::Flagged,
            K::Since(date(1994, 2, 1)),
            K::Not(Box::new(K::From("Smith".into())))
        ])
    );
    assert_eq!(
        search("A283 SEARCH TEXT \"string not in mailbox\"\r\n").2,
        K::Text("string not in mailbox".into())
    );
    let (_, charset, criteria, _) = search("A284 SEARCH CHARSET UTF-8 TEXT {12}\r\nПривет\r\n");
    assert_eq!(
        (charset.as_deref(), criteria),
        (Some("UTF-8"), K::Text("Привет".into()))
    );
    let (uid, _, criteria, _) =
        search("a UID SEARCH 1:100 UID 443:557 OR (SEEN UNDRAFT) LARGER 4096\r\n");
    assert!(uid);
    assert_eq!(
        criteria,
        K::And(vec![
            K::SequenceSet(set("1:100")),
            K::Uid(set("443:557")),
            K::Or(
                Box::new(K::And(vec![K::Seen, K::Undraft])),
                Box::new(K::Larger(4096))
            ),
        ])
    );
    assert_eq!(
        search("a SEARCH HEADER Message-ID \"<x@y>\" SENTBEFORE \"1-Jan-2000\"\r\n").2,
        K::And(vec![
            K::Header("Message-ID".into(), "<x@y>".into()),
            K::SentBefore(date(2000, 1, 1))
        ])
    );
}

#[test]
fn every_search_key() {
    use SearchKey as K;
    let input = "a SEARCH ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED \
        UNDELETED UNDRAFT UNFLAGGED UNSEEN KEYWORD $Junk UNKEYWORD foo BCC b BODY c CC d FROM e \
        SUBJECT f TEXT g TO h HEADER i j BEFORE 1-Jan-2001 ON 2-Jan-2001 SINCE 3-Jan-2001 \
        SENTBEFORE 4-Jan-2001 SENTON 5-Jan-2001 SENTSINCE 6-Jan-2001 LARGER 1 SMALLER 2 UID 5 \
        7:* NOT ALL OR ALL SEEN (ALL SEEN) MODSEQ 9\r\n";
    let d = |day| date(2001, 1, day);
    assert_eq!(
        search(input).2,
        K::And(vec![
            K::All,
            K::Answered,
            K::Deleted,
            K::Draft,
            K::Flagged,
            K::New,
            K::Old,
            K::Recent,
            K::Seen,
            K::Unanswered,
            K::Undeleted,
            K::Undraft,
            K::Unflagged,
            K::Unseen,
            K::Keyword("$Junk".into()),
            K::Unkeyword("foo".into()),
            K::Bcc("b".into()),
            K::Body("c".into()),
            K::Cc("d".into()),
            K::From("e".into()),
            K::Subject("f".into()),
            K::Text("g".into()),
            K::To("h".into()),
            K::Header("i".into(), "j".into()),
            K::Before(d(1)),
            K::On(d(2)),
            K::Since(d(3)),
            K::SentBefore(d(4)),
            K::SentOn(d(5)),
            K::SentSince(d(6)),
            K::Larger(1),
            K::Smaller(2),
            K::Uid(set("5")),
            K::SequenceSet(set("7:*")),
            K::Not(Box::new(K::All)),
            K::Or(Box::new(K::All), Box::new(K::Seen)),
            K::And(vec![K::All, K::Seen]),
            K::ModSeq(9),
        ])
    );
}

#[test]
fn rfc4731_esearch_rfc5182_searchres_rfc7162_modseq() {
    use SearchKey as K;
    let (_, _, criteria, ret) =
        search("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994\r\n");
    assert_eq!(ret, Some(vec![SearchReturn::Min, SearchReturn::Count]));
    assert_eq!(
        criteria,
        K::And(vec![K::Flagged, K::Since(date(1994, 2, 1))])
    );
    assert_eq!(search("A283 SEARCH RETURN () FLAGGED\r\n").3, Some(vec![]));
    let (uid, charset, criteria, ret) =
        search("A01 UID SEARCH return (save) charset \"us-ascii\" $ UNSEEN\r\n");
    assert!(uid);
    assert_eq!(charset.as_deref(), Some("us-ascii"));
    assert_eq!(ret, Some(vec![SearchReturn::Save]));
    assert_eq!(criteria, K::And(vec![K::SequenceSet(set("$")), K::Unseen]));
    // RFC 5267 §4.4 PARTIAL, §4.2 UPDATE; unknown options are BAD.
    assert_eq!(
        search("a SEARCH RETURN (PARTIAL 4:2 UPDATE) ALL\r\n").3,
        Some(vec![SearchReturn::Partial(2, 4), SearchReturn::Update])
    );
    for bad in [
        "a SEARCH RETURN (PARTIAL 1) ALL\r\n",
        "a SEARCH RETURN (PARTIAL 1:*) ALL\r\n",
        "a SEARCH RETURN (PARTIAL 0:2) ALL\r\n",
        "a SEARCH RETURN (BOGUS) ALL\r\n",
    ] {
        assert!(parse_command(bad.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(
        search("a SEARCH SAVEDSINCE 1-Jan-2020 OLDER 60 EMAILID E1a THREADID T2\r\n").2,
        K::And(vec![
            K::SavedSince(date(2020, 1, 1)),
            K::Older(60),
            K::EmailId("E1a".into()),
            K::ThreadId("T2".into()),
        ])
    );
    assert_eq!(
        search("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n").2,
        K::ModSeq(620_162_338)
    );
    assert_eq!(
        search("t SEARCH OR NOT MODSEQ 720162338 LARGER 50000\r\n").2,
        K::Or(
            Box::new(K::Not(Box::new(K::ModSeq(720_162_338)))),
            Box::new(K::Larger(50_000))
        )
    );
}

fn fetch(s: &str) -> (bool, SequenceSet, Vec<FetchAttr>, Option<u64>, bool) {
    match parse(s) {
        CommandBody::Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        } => (uid, set, items, changed_since, vanished),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc9051_6_4_5_fetch() {
    use FetchAttr as F;
    let (uid, s, items, cs, v) =
        fetch("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n");
    assert_eq!((uid, s, cs, v), (false, set("2:4"), None, false));
    assert_eq!(
        items,
        vec![
            F::Flags,
            F::BodySection {
                peek: false,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields {
                        not: false,
                        fields: vec!["DATE".into(), "FROM".into()]
                    })
                },
                partial: None
            }
        ]
    );
    assert_eq!(
        fetch("a FETCH 1 ALL\r\n").2,
        vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]
    );
    assert_eq!(
        fetch("a FETCH 1:* fast\r\n").2,
        vec![F::Flags, F::InternalDate, F::Rfc822Size]
    );
    assert_eq!(
        fetch("a FETCH 1 FULL\r\n").2,
        vec![
            F::Flags,
            F::InternalDate,
            F::Rfc822Size,
            F::Envelope,
            F::Body
        ]
    );
    let (uid, s, items, ..) = fetch("A999 UID FETCH 4827313:4828442 FLAGS\r\n");
    assert_eq!(
        (uid, s, items),
        (true, set("4827313:4828442"), vec![F::Flags])
    );
    assert_eq!(
        fetch("a FETCH 1 (UID RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY INTERNALDATE MODSEQ BODY.PEEK[]<0.1024>)\r\n").2,
        vec![
            F::Uid, F::Rfc822, F::Rfc822Header, F::Rfc822Text, F::Rfc822Size, F::Envelope,
            F::BodyStructure, F::Body, F::InternalDate, F::ModSeq,
            F::BodySection { peek: true, section: Section::default(), partial: Some((0, 1024)) }
        ]
    );
    // RFC 3516 §4.3 example.
    assert_eq!(
        fetch("t FETCH 1 (BINARY.PEEK[1]<0.100> BINARY.SIZE[1] BINARY[])\r\n").2,
        vec![
            F::Binary {
                peek: true,
                part: vec![1],
                partial: Some((0, 100))
            },
            F::BinarySize { part: vec![1] },
            F::Binary {
                peek: false,
                part: vec![],
                partial: None
            },
        ]
    );
}

#[test]
fn rfc7162_fetch_modifiers() {
    let (uid, _, _, cs, v) = fetch("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n");
    assert_eq!((uid, cs, v), (true, Some(12345), false));
    let (_, _, _, cs, v) =
        fetch("s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n");
    assert_eq!((cs, v), (Some(12345), true));
    let (uid, _, _, cs, _) = fetch("a FETCH 1 FLAGS (changedsince 1)\r\n");
    assert_eq!((uid, cs), (false, Some(1)));
}

#[test]
fn rfc9051_6_4_6_store() {
    assert_eq!(
        parse("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
        CommandBody::Store {
            uid: false,
            set: set("2:4"),
            mode: StoreMode::Add,
            silent: false,
            flags: vec![Flag::Deleted],
            unchanged_since: None
        }
    );
    assert_eq!(
        parse("a UID STORE 1 flags.silent \\Seen \\Flagged $Label1\r\n"),
        CommandBody::Store {
            uid: true,
            set: set("1"),
            mode: StoreMode::Replace,
            silent: true,
            flags: vec![Flag::Seen, Flag::Flagged, Flag::Keyword("$Label1".into())],
            unchanged_since: None
        }
    );
    // RFC 7162 §3.1.3 example.
    assert_eq!(
        parse("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n"),
        CommandBody::Store {
            uid: false,
            set: set("7,5,9"),
            mode: StoreMode::Add,
            silent: true,
            flags: vec![Flag::Deleted],
            unchanged_since: Some(320_162_338)
        }
    );
    assert_eq!(
        parse("a STORE 1 -FLAGS ()\r\n"),
        CommandBody::Store {
            uid: false,
            set: set("1"),
            mode: StoreMode::Remove,
            silent: false,
            flags: vec![],
            unchanged_since: None
        }
    );
}

#[test]
fn rfc9051_6_4_7_copy_and_rfc6851_move() {
    assert_eq!(
        parse("A003 COPY 2:4 MEETING\r\n"),
        CommandBody::Copy {
            uid: false,
            set: set("2:4"),
            mailbox: "MEETING".into()
        }
    );
    assert_eq!(
        parse("a UID COPY $ inbox\r\n"),
        CommandBody::Copy {
            uid: true,
            set: set("$"),
            mailbox: "INBOX".into()
        }
    );
    assert_eq!(
        parse("a MOVE 1:3 Trash\r\n"),
        CommandBody::Move {
            uid: false,
            set: set("1:3"),
            mailbox: "Trash".into()
        }
    );
    assert_eq!(
        parse("a UID MOVE 42:69 \"Other Folder\"\r\n"),
        CommandBody::Move {
            uid: true,
            set: set("42:69"),
            mailbox: "Other Folder".into()
        }
    );
}
