//! One conformance suite for every `MailStore` backend (the maddy idea):
//! each check is a generic function, and each backend runs them all.

use std::sync::Arc;

use tokenmail::message::MessageSummary;
use tokenmail::store::{
    ChangeKind, DEFAULT_MAILBOXES, FlagOp, MailStore, NewMessage, SledStore, StoreError,
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
    let summary = MessageSummary::parse(raw);
    let msg = NewMessage {
        raw,
        summary: &summary,
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
    let changes = s.changes_since(a, inbox.id, start).unwrap();
    let kinds: Vec<(u32, ChangeKind)> = changes.iter().map(|c| (c.uid, c.kind)).collect();
    // One live entry per message: u1's Added was replaced by Flags.
    assert_eq!(
        kinds,
        vec![(u1, ChangeKind::Flags), (u2, ChangeKind::Expunged)]
    );
    assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let last = changes.last().unwrap().modseq;
    assert!(s.changes_since(a, inbox.id, last).unwrap().is_empty());
}

fn delivery_to_several_accounts_is_one_body<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("x@example.test").unwrap();
    let (b, _) = s.ensure_account("y@example.test").unwrap();
    let ia = s.mailbox_by_name(a, "INBOX").unwrap().unwrap().id;
    let ib = s.mailbox_by_name(b, "INBOX").unwrap().unwrap().id;
    let summary = MessageSummary::parse(MSG);
    let msg = NewMessage {
        raw: MSG,
        summary: &summary,
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
    assert_eq!(s.summary(&rb).unwrap(), summary);
}

fn mailbox_names_are_unique<S: MailStore>(s: &S) {
    let (a, _) = s.ensure_account("n@example.test").unwrap();
    let m = s.create_mailbox(a, "Projects/2026", None).unwrap();
    assert!(matches!(
        s.create_mailbox(a, "Projects/2026", None),
        Err(StoreError::MailboxExists)
    ));
    assert!(m.record.uidvalidity > 0);
    s.set_subscribed(a, m.id, false).unwrap();
    assert!(!s.mailbox(a, m.id).unwrap().unwrap().record.subscribed);
}

async fn watchers_hear_commits<S: MailStore>(s: Arc<S>) {
    let (a, _) = s.ensure_account("w@example.test").unwrap();
    let mut rx = s.watch(a);
    rx.mark_unchanged();
    append(s.as_ref(), a, "INBOX", MSG, &[]);
    tokio::time::timeout(std::time::Duration::from_secs(1), rx.changed())
        .await
        .unwrap()
        .unwrap();
    s.sync().await.unwrap();
    let (flushes, syncs) = s.flush_stats();
    assert!(flushes >= 1 && syncs >= 1);
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
    );

    #[tokio::test]
    async fn watchers_hear_commits() {
        let (_dir, store) = sled();
        super::watchers_hear_commits(Arc::new(store)).await;
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
