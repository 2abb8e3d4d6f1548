//! One conformance suite for every `MailStore` backend (the maddy idea):
//! each check is a generic function, and each backend runs them all.

use std::sync::Arc;

use tokenmail::message::Parsed;
use tokenmail::store::{
    ChangeKind, CredentialsRecord, DEFAULT_MAILBOXES, FlagOp, HeaderPart, LoginRecord, MailStore,
    NewMessage, SledStore, StoreError,
};

const MSG: &[u8] = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nhello\r\n";

fn append<S: MailStore>(
    s: &S,
    account: tokenmail::store::AccountId,
    mailbox: &str,
    raw: &[u8],
    flags: &[&str],
) -> u32 {
    let mbox = s.mailbox_by_name(account, mailbox).unwrap().unwrap();
    let parsed = Parsed::of(raw);
    let msg = NewMessage {
        raw,
        parsed: &parsed,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        internal_date: 1_700_000_000,
    };
    s.append(&[(account, mbox.id)], &msg).unwrap()[0].uid
}

fn new_account_has_standard_mailboxes<S: MailStore>(s: &S) {
    let (a, created) = s.ensure_account("alice@example.test").unwrap();
    assert!(created);
    let (again, created_again) = s.ensure_account("alice@example.test").unwrap();
    assert_eq!((again, created_again), (a, false));
    let names: Vec<String> = s
        .mailboxes(a)
        .unwrap()
        .into_iter()
        .map(|m| m.record.name)
        .collect();
    for (name, _) in DEFAULT_MAILBOXES {
        assert!(
            names.contains(&name.to_string()),
            "{name} missing from {names:?}"
        );
    }
    let sent = s.mailbox_by_name(a, "Sent").unwrap().unwrap();
    assert_eq!(sent.record.special_use.as_deref(), Some("\\Sent"));
    assert!(s.account("nobody@example.test").unwrap().is_none());
}

fn uids_grow_and_are_never_reused<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("u@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
    let u1 = append(s, a, "INBOX", MSG, &[]);
    let u2 = append(s, a, "INBOX", MSG, &["\\Deleted"]);
    assert!(u2 > u1);
    assert_eq!(s.expunge(a, inbox.id, &[u2]).unwrap(), vec![u2]);
    let u3 = append(s, a, "INBOX", MSG, &[]);
    assert!(u3 > u2, "UID {u2} reused as {u3}");
    assert_eq!(s.uids(a, inbox.id).unwrap(), vec![u1, u3]);
    let after = s.mailbox(a, inbox.id).unwrap().unwrap();
    assert_eq!(after.record.uidvalidity, inbox.record.uidvalidity);
    assert_eq!(after.record.uidnext, u3 + 1);
}

fn counters_follow_flags<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("c@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let u1 = append(s, a, "INBOX", MSG, &["\\Seen"]);
    let u2 = append(s, a, "INBOX", MSG, &[]);
    let r = s.mailbox(a, inbox).unwrap().unwrap().record;
    assert_eq!((r.exists, r.unseen(), r.deleted), (2, 1, 0));
    assert_eq!(r.size, 2 * MSG.len() as u64);
    let (updates, failed) = s
        .store_flags(
            a,
            inbox,
            &[u1, u2],
            FlagOp::Add,
            &["\\deleted".into(), "$Junk".into()],
            None,
        )
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].flags, vec!["\\Seen", "\\Deleted", "$Junk"]);
    let r = s.mailbox(a, inbox).unwrap().unwrap().record;
    assert_eq!(r.deleted, 2);
    assert_eq!(s.deleted_uids(a, inbox).unwrap(), vec![u1, u2]);
    s.store_flags(a, inbox, &[u2], FlagOp::Remove, &["\\Deleted".into()], None)
        .unwrap();
    assert_eq!(s.deleted_uids(a, inbox).unwrap(), vec![u1]);
    s.store_flags(a, inbox, &[u2], FlagOp::Add, &["\\Deleted".into()], None)
        .unwrap();
    s.store_flags(a, inbox, &[u1], FlagOp::Remove, &["\\SEEN".into()], None)
        .unwrap();
    assert_eq!(s.mailbox(a, inbox).unwrap().unwrap().record.unseen(), 2);
    s.expunge(a, inbox, &[u1, u2]).unwrap();
    let r = s.mailbox(a, inbox).unwrap().unwrap().record;
    assert_eq!((r.exists, r.deleted, r.size), (0, 0, 0));
    assert!(s.deleted_uids(a, inbox).unwrap().is_empty());
    let u3 = append(s, a, "INBOX", MSG, &["\\Deleted"]);
    assert_eq!(s.deleted_uids(a, inbox).unwrap(), vec![u3]);
}

fn conditional_store_respects_modseq<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("m@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let u = append(s, a, "INBOX", MSG, &[]);
    let before = s.message(a, inbox, u).unwrap().unwrap().modseq;
    s.store_flags(a, inbox, &[u], FlagOp::Add, &["\\Flagged".into()], None)
        .unwrap();
    let (updates, failed) = s
        .store_flags(
            a,
            inbox,
            &[u],
            FlagOp::Add,
            &["\\Seen".into()],
            Some(before),
        )
        .unwrap();
    assert!(updates.is_empty());
    assert_eq!(failed, vec![u]);
}

fn change_log_tells_what_happened<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("l@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
    let start = inbox.record.highestmodseq;
    let u1 = append(s, a, "INBOX", MSG, &[]);
    let u2 = append(s, a, "INBOX", MSG, &[]);
    s.store_flags(a, inbox.id, &[u1], FlagOp::Add, &["\\Seen".into()], None)
        .unwrap();
    s.expunge(a, inbox.id, &[u2]).unwrap();
    let top = s
        .mailbox(a, inbox.id)
        .unwrap()
        .unwrap()
        .record
        .highestmodseq;
    let changes = s.changes_since(a, inbox.id, start, top).unwrap();
    let kinds: Vec<(u32, ChangeKind)> = changes.iter().map(|c| (c.uid, c.kind)).collect();
    // One live entry per message: u1's Added was replaced by Flags.
    assert_eq!(
        kinds,
        vec![(u1, ChangeKind::Flags), (u2, ChangeKind::Expunged)]
    );
    assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let last = changes.last().unwrap().modseq;
    assert!(s.changes_since(a, inbox.id, last, top).unwrap().is_empty());
    // `upto` bounds the answer.
    assert_eq!(
        s.changes_since(a, inbox.id, start, changes[0].modseq)
            .unwrap()
            .len(),
        1
    );
}

fn delivery_to_several_accounts_is_one_body<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("x@example.test").unwrap();
    let (b, _) = s.ensure_account("y@example.test").unwrap();
    let ia = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let ib = s.mailbox_by_name(b, "INBOX").unwrap().unwrap().id;
    let parsed = Parsed::of(MSG);
    let msg = NewMessage {
        raw: MSG,
        parsed: &parsed,
        flags: vec![],
        internal_date: 0,
    };
    let receipts = s.append(&[(a, ia), (b, ib)], &msg).unwrap();
    assert_eq!(receipts.len(), 2);
    let ra = s.message(a, ia, receipts[0].uid).unwrap().unwrap();
    let rb = s.message(b, ib, receipts[1].uid).unwrap().unwrap();
    assert_eq!(s.body(&ra).unwrap(), MSG);
    // Expunging one copy leaves the other readable.
    s.expunge(a, ia, &[receipts[0].uid]).unwrap();
    assert_eq!(s.body(&rb).unwrap(), MSG);
    assert_eq!(s.summary(&rb).unwrap(), parsed.summary);
    assert_eq!(s.search_index(&rb).unwrap(), parsed.index);
    assert_eq!(s.body_text(&rb).unwrap(), parsed.text);
}

fn mailbox_names_are_unique<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("n@example.test").unwrap();
    let m = s.create_mailbox(a, "Projects/2026", None).unwrap();
    assert!(matches!(
        s.create_mailbox(a, "Projects/2026", None),
        Err(StoreError::MailboxExists)
    ));
    assert!(m.record.uidvalidity > 0);
}

fn subscriptions_are_names<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("sub@example.test").unwrap();
    let subs = s.subscriptions(a).unwrap();
    assert!(subs.contains(&"INBOX".to_string()) && subs.contains(&"Sent".to_string()));
    s.set_subscribed(a, "Sent", false).unwrap();
    // A name that does not exist can be subscribed (RFC 9051 §6.3.7).
    s.set_subscribed(a, "Nowhere/Else", true).unwrap();
    let subs = s.subscriptions(a).unwrap();
    assert!(!subs.contains(&"Sent".to_string()));
    assert!(subs.contains(&"Nowhere/Else".to_string()));
}

fn delete_removes_messages_and_keeps_inferiors<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("del@example.test").unwrap();
    let parent = s.create_mailbox(a, "P", None).unwrap();
    s.create_mailbox(a, "P/child", None).unwrap();
    append(s, a, "P", MSG, &[]);
    let old_validity = parent.record.uidvalidity;
    s.delete_mailbox(a, parent.id).unwrap();
    assert!(s.mailbox_by_name(a, "P").unwrap().is_none());
    assert!(s.mailbox(a, parent.id).unwrap().is_none());
    assert!(s.mailbox_by_name(a, "P/child").unwrap().is_some());
    // Re-created, it is a new mailbox with a new UIDVALIDITY.
    let again = s.create_mailbox(a, "P", None).unwrap();
    assert_ne!(again.id, parent.id);
    assert!(again.record.uidvalidity > old_validity);
    assert!(s.uids(a, again.id).unwrap().is_empty());
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
    assert!(matches!(
        s.delete_mailbox(a, inbox.id),
        Err(StoreError::NotAllowed(_))
    ));
}

fn rename_moves_the_hierarchy<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("ren@example.test").unwrap();
    let top = s.create_mailbox(a, "A", None).unwrap();
    s.create_mailbox(a, "A/B", None).unwrap();
    s.create_mailbox(a, "AB", None).unwrap();
    s.set_subscribed(a, "A/B", true).unwrap();
    let uid = append(s, a, "A", MSG, &[]);
    s.rename_mailbox(a, "A", "X/Y").unwrap();
    let moved = s.mailbox_by_name(a, "X/Y").unwrap().unwrap();
    assert_eq!(moved.id, top.id);
    assert_eq!(moved.record.uidvalidity, top.record.uidvalidity);
    assert_eq!(s.uids(a, moved.id).unwrap(), vec![uid]);
    assert!(s.mailbox_by_name(a, "X/Y/B").unwrap().is_some());
    assert!(
        s.mailbox_by_name(a, "AB").unwrap().is_some(),
        "a sibling is not an inferior"
    );
    assert!(s.mailbox_by_name(a, "A").unwrap().is_none());
    let subs = s.subscriptions(a).unwrap();
    assert!(subs.contains(&"X/Y/B".to_string()) && !subs.contains(&"A/B".to_string()));
    assert!(matches!(
        s.rename_mailbox(a, "AB", "X/Y"),
        Err(StoreError::MailboxExists)
    ));
    assert!(matches!(
        s.rename_mailbox(a, "X", "X/Y/Z"),
        Err(StoreError::NotAllowed(_)) | Err(StoreError::NoSuchMailbox)
    ));
}

fn rename_inbox_moves_its_messages<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("ri@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
    append(s, a, "INBOX", MSG, &["\\Seen"]);
    append(s, a, "INBOX", MSG, &[]);
    s.rename_mailbox(a, "INBOX", "Old").unwrap();
    let after = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
    assert_eq!(after.id, inbox.id);
    assert_eq!(after.record.uidvalidity, inbox.record.uidvalidity);
    assert_eq!(after.record.exists, 0);
    assert!(s.uids(a, inbox.id).unwrap().is_empty());
    let old = s.mailbox_by_name(a, "Old").unwrap().unwrap();
    assert_eq!(s.uids(a, old.id).unwrap(), vec![1, 2]);
    assert_eq!((old.record.exists, old.record.seen), (2, 1));
    // INBOX keeps counting: no UID is reused there.
    let next = append(s, a, "INBOX", MSG, &[]);
    assert_eq!(next, 3);
}

fn copy_and_move<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("cm@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let trash = s.mailbox_by_name(a, "Trash").unwrap().unwrap();
    let u1 = append(s, a, "INBOX", MSG, &["\\Flagged", "$Label"]);
    let u2 = append(s, a, "INBOX", MSG, &[]);
    let copied = s.copy(a, inbox, &[u1, 999], trash.id, false).unwrap();
    assert_eq!(copied.uidvalidity, trash.record.uidvalidity);
    assert_eq!(copied.pairs, vec![(u1, 1)]);
    let rec = s.message(a, trash.id, 1).unwrap().unwrap();
    assert_eq!(rec.flags, vec!["\\Flagged", "$Label"]);
    assert!(
        s.mailbox(a, trash.id)
            .unwrap()
            .unwrap()
            .record
            .keywords
            .contains(&"$Label".to_string())
    );
    let moved = s.copy(a, inbox, &[u2], trash.id, true).unwrap();
    assert_eq!(moved.pairs, vec![(u2, 2)]);
    assert_eq!(s.uids(a, inbox).unwrap(), vec![u1]);
    // The bodies are shared: expunging the original keeps the copy readable.
    s.expunge(a, inbox, &[u1]).unwrap();
    assert_eq!(s.body(&rec).unwrap(), MSG);
    let usage = s.usage(a).unwrap();
    assert_eq!((usage.messages, usage.bytes), (2, 2 * MSG.len() as u64));
}

fn reads_after_another_expunge_say_expunged<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("gone@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let uid = append(s, a, "INBOX", MSG, &[]);
    // A session read the record; another session expunges the message.
    let rec = s.message(a, inbox, uid).unwrap().unwrap();
    s.expunge(a, inbox, &[uid]).unwrap();
    // Until the expunge is durable a read may still find the message (its
    // file goes after the flush; RFC 2180 §4.1 lets a server serve an
    // expunged message); once it is, every read says Expunged. Never
    // another error.
    let reads = |s: &S| {
        vec![
            s.summary(&rec).map(drop),
            s.search_index(&rec).map(drop),
            s.body(&rec).map(drop),
            s.body_text(&rec).map(drop),
            s.header_text(&rec, HeaderPart::Subject).map(drop),
            s.header_text(&rec, HeaderPart::Other).map(drop),
        ]
    };
    for r in reads(s) {
        assert!(matches!(r, Ok(()) | Err(StoreError::Expunged)), "{r:?}");
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(s.sync())
        .unwrap();
    for (i, r) in reads(s).into_iter().enumerate() {
        assert!(matches!(r, Err(StoreError::Expunged)), "read {i}: {r:?}");
    }
}

fn header_lines_are_kept_in_two_parts<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("hl@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let raw = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nFrom: Ann <ann@example.test>\r\nX-Tag: Blue\r\n\r\nhi\r\n";
    let uid = append(s, a, "INBOX", raw, &[]);
    let rec = s.message(a, inbox, uid).unwrap().unwrap();
    let subject = s.header_text(&rec, HeaderPart::Subject).unwrap();
    assert_eq!(subject, "subject: grüße\n".as_bytes());
    let other = String::from_utf8(s.header_text(&rec, HeaderPart::Other).unwrap()).unwrap();
    assert!(other.contains("from: ann <ann@example.test>\n"), "{other}");
    assert!(other.contains("x-tag: blue\n"), "{other}");
    assert!(!other.contains("subject:"), "{other}");
}

fn multiappend_is_all_or_nothing<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("ma@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let parsed = Parsed::of(MSG);
    let one = NewMessage {
        raw: MSG,
        parsed: &parsed,
        flags: vec![],
        internal_date: 5,
    };
    let receipts = s
        .append_batch(a, inbox, &[one.clone(), one.clone(), one])
        .unwrap();
    let uids: Vec<u32> = receipts.iter().map(|r| r.uid).collect();
    assert_eq!(uids, vec![1, 2, 3]);
    let gone = tokenmail::store::MailboxId(9999);
    let parsed = Parsed::of(MSG);
    let msg = NewMessage {
        raw: MSG,
        parsed: &parsed,
        flags: vec![],
        internal_date: 5,
    };
    assert!(s.append_batch(a, gone, &[msg]).is_err());
}

fn recent_goes_to_one_session<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("rc@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    append(s, a, "INBOX", MSG, &[]);
    append(s, a, "INBOX", MSG, &[]);
    let next = s.mailbox(a, inbox).unwrap().unwrap().record.uidnext;
    assert_eq!(s.claim_recent(a, inbox, next).unwrap(), 1);
    // The second session gets nothing.
    assert_eq!(s.claim_recent(a, inbox, next).unwrap(), next);
}

fn flag_indexes_answer_without_scans<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("ix@example.test").unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let u1 = append(s, a, "INBOX", MSG, &["\\Seen"]);
    let u2 = append(s, a, "INBOX", MSG, &[]);
    assert_eq!(s.first_unseen(a, inbox).unwrap(), Some(u2));
    assert_eq!(s.unseen_uids(a, inbox).unwrap(), vec![u2]);
    s.store_flags(a, inbox, &[u1], FlagOp::Remove, &["\\Seen".into()], None)
        .unwrap();
    assert_eq!(s.first_unseen(a, inbox).unwrap(), Some(u1));
    s.store_flags(a, inbox, &[u1, u2], FlagOp::Add, &["\\Seen".into()], None)
        .unwrap();
    assert_eq!(s.first_unseen(a, inbox).unwrap(), None);
}

/// Nothing another session is told about may be lost by a crash: the
/// durable watermark trails commits until they are flushed.
async fn others_see_changes_only_when_durable<S: MailStore>(s: Arc<S>) {
    let (a, _) = s.ensure_account("dw@example.test").unwrap();
    s.sync().await.unwrap();
    let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let before = s.durable_mailbox(a, inbox).unwrap().unwrap();
    assert_eq!(before.durable.modseq, before.info.record.highestmodseq);
    let mut rx = s.watch(a);
    rx.mark_unchanged();
    let uid = append(s.as_ref(), a, "INBOX", MSG, &[]);
    let pending = s.durable_mailbox(a, inbox).unwrap().unwrap();
    assert_eq!(pending.info.record.uidnext, uid + 1);
    assert_eq!(
        pending.durable.uidnext, uid,
        "an unflushed UID is not visible"
    );
    assert!(!rx.has_changed().unwrap(), "no wake-up before the flush");
    s.sync().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), rx.changed())
        .await
        .unwrap()
        .unwrap();
    let after = s.durable_mailbox(a, inbox).unwrap().unwrap();
    assert_eq!(after.durable.uidnext, uid + 1);
}

async fn watchers_hear_commits<S: MailStore>(s: Arc<S>) {
    let (a, _) = s.ensure_account("w@example.test").unwrap();
    let mut rx = s.watch(a);
    rx.mark_unchanged();
    append(s.as_ref(), a, "INBOX", MSG, &[]);
    s.sync().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(1), rx.changed())
        .await
        .unwrap()
        .unwrap();
    let (flushes, syncs) = s.flush_stats();
    assert!(flushes >= 1 && syncs >= 1);
}

fn accounts_list_and_sign_in_state<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("alice@example.test").unwrap();
    let (b, _) = s.ensure_account("bob@example.test").unwrap();
    let mut listed: Vec<_> = s.accounts().unwrap().into_iter().map(|e| (e.address, e.id)).collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![("alice@example.test".into(), a), ("bob@example.test".into(), b)]
    );
    assert_eq!(s.credentials(a).unwrap(), CredentialsRecord::default());
    let rec = s
        .update_credentials(a, &|c| {
            c.revoked_at = 42;
            Ok(())
        })
        .unwrap();
    assert_eq!(rec.revoked_at, 42);
    assert_eq!(s.credentials(a).unwrap().revoked_at, 42);
    assert_eq!(s.credentials(b).unwrap().revoked_at, 0, "per account");
    // A refused change changes nothing.
    let refused = s.update_credentials(a, &|c| {
        c.revoked_at = 7;
        Err(StoreError::NotAllowed("no"))
    });
    assert!(matches!(refused, Err(StoreError::NotAllowed(_))));
    assert_eq!(s.credentials(a).unwrap().revoked_at, 42);
    assert!(matches!(
        s.update_credentials(tokenmail::store::AccountId(999_999), &|_| Ok(())),
        Err(StoreError::NoSuchAccount)
    ));
    // Logins: the newest are kept, newest last.
    for i in 0..30 {
        let login = LoginRecord {
            at: i,
            ip: "192.0.2.1".into(),
            protocol: "imap".into(),
            mechanism: "XOAUTH2".into(),
            client: None,
        };
        s.record_login(a, login).unwrap();
    }
    let logins = s.logins(a).unwrap();
    assert_eq!(logins.len(), 20);
    assert_eq!((logins[0].at, logins[19].at), (10, 29));
    assert!(s.logins(b).unwrap().is_empty());
    // The secret is made once.
    let secret = s.secret().unwrap();
    assert_eq!(s.secret().unwrap(), secret);
    assert_ne!(secret, [0u8; 32]);
}

fn sled() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    (dir, store)
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let (_dir, store) = sled();
                super::$name(&store);
                // Every write kept the UID index equal to the records.
                assert_eq!(store.verify_uid_index().unwrap(), vec![]);
            }
        )*
    };
}

mod sled_backend {
    use super::*;

    conformance!(
        new_account_has_standard_mailboxes,
        uids_grow_and_are_never_reused,
        counters_follow_flags,
        conditional_store_respects_modseq,
        change_log_tells_what_happened,
        delivery_to_several_accounts_is_one_body,
        mailbox_names_are_unique,
        subscriptions_are_names,
        delete_removes_messages_and_keeps_inferiors,
        rename_moves_the_hierarchy,
        rename_inbox_moves_its_messages,
        copy_and_move,
        reads_after_another_expunge_say_expunged,
        header_lines_are_kept_in_two_parts,
        multiappend_is_all_or_nothing,
        recent_goes_to_one_session,
        flag_indexes_answer_without_scans,
        accounts_list_and_sign_in_state,
    );

    #[tokio::test]
    async fn watchers_hear_commits() {
        let (_dir, store) = sled();
        super::watchers_hear_commits(Arc::new(store)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn others_see_changes_only_when_durable() {
        let (_dir, store) = sled();
        super::others_see_changes_only_when_durable(Arc::new(store)).await;
    }

    #[test]
    fn deleted_mailboxes_are_purged() {
        let (_dir, s) = sled();
        let (a, _) = s.ensure_account("pg@example.test").unwrap();
        let m = s.create_mailbox(a, "Big", None).unwrap();
        let mut rec = None;
        for _ in 0..700 {
            let uid = append(&s, a, "Big", MSG, &["\\Deleted"]);
            rec = s.message(a, m.id, uid).unwrap();
        }
        let rec = rec.unwrap();
        s.delete_mailbox(a, m.id).unwrap();
        // The purge runs in the background; its end is the body's removal.
        let start = std::time::Instant::now();
        while s.body(&rec).is_ok() || !s.deleted_uids(a, m.id).unwrap().is_empty() {
            assert!(start.elapsed().as_secs() < 20, "purge did not finish");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(s.uids(a, m.id).unwrap().is_empty());
        // The purge removed the index blocks with the tombstone.
        while !s.verify_uid_index().unwrap().is_empty() {
            assert!(start.elapsed().as_secs() < 20, "purge left index blocks");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn data_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (uid, validity) = {
            let s = SledStore::open(dir.path()).unwrap();
            let (a, _) = s.ensure_account("r@example.test").unwrap();
            let uid = append(&s, a, "INBOX", MSG, &["\\Flagged"]);
            let v = s
                .mailbox_by_name(a, "INBOX")
                .unwrap()
                .unwrap()
                .record
                .uidvalidity;
            s.flush_blocking().unwrap();
            (uid, v)
        };
        let s = SledStore::open(dir.path()).unwrap();
        let a = s.account("r@example.test").unwrap().unwrap();
        let inbox = s.mailbox_by_name(a, "INBOX").unwrap().unwrap();
        assert_eq!(inbox.record.uidvalidity, validity);
        let rec = s.message(a, inbox.id, uid).unwrap().unwrap();
        assert_eq!(rec.flags, vec!["\\Flagged"]);
        assert_eq!(s.body(&rec).unwrap(), MSG);
    }
}
