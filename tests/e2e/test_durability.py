"""What the server acknowledged survives `kill -9`: every message answered with SMTP 250 or
APPEND OK is there after a restart on the same data_dir, with the same UIDVALIDITY, and the UIDs
(and flags) a client saw before the crash do not change."""

from __future__ import annotations

import re
import threading

import pytest

from tmclient import ensure_mailbox, imap_login, smtp_login, unique_user
from tmproto import fetch_map, response_code

pytestmark = pytest.mark.slow

SMTP_THREADS = 6
SMTP_PER_THREAD = 5
APPEND_THREADS = 2
APPEND_PER_THREAD = 5


def _message(sender: str, rcpt: str, mid: str) -> bytes:
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: durable {mid}\r\n"
            f"Message-ID: <{mid}>\r\nDate: Fri, 06 Jan 2006 12:00:00 +0000\r\n\r\n"
            f"body of {mid}\r\n").encode()


def _snapshot(server, ctx, user: str) -> tuple[int, dict[str, tuple[int, set[str], bytes]]]:
    """(UIDVALIDITY, {Message-ID: (UID, flags, whole message)}) of `user`'s INBOX."""
    imap = imap_login(server, ctx, user)
    try:
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        uidvalidity = int(imap.untagged_responses["UIDVALIDITY"][0])
        if int(data[0]) == 0:
            return uidvalidity, {}
        typ, data = imap.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
        assert typ == "OK", data
        out: dict[str, tuple[int, set[str], bytes]] = {}
        for attrs in fetch_map(data).values():
            raw = attrs["BODY[]"]
            m = re.search(rb"(?im)^Message-ID:\s*<([^>]+)>", raw)
            assert m, raw[:300]
            mid = m.group(1).decode()
            assert mid not in out, f"message {mid} stored twice"
            out[mid] = (int(attrs["UID"]), set(attrs["FLAGS"]) - {"\\Recent"}, raw)
        return uidvalidity, out
    finally:
        imap.logout()


def test_acknowledged_messages_survive_kill_9(server_factory, ssl_ctx):
    srv = server_factory()
    alice, bob = unique_user("alice"), unique_user("bob")
    ensure_mailbox(srv, ssl_ctx, alice)
    ensure_mailbox(srv, ssl_ctx, bob)
    sent: dict[str, bytes] = {}  # Message-ID -> bytes submitted, for every acknowledged message
    lock = threading.Lock()

    # 1. Mail a client sees (UIDs, a flag) before the crash.
    with smtp_login(srv, ssl_ctx, alice) as smtp:
        for i in range(3):
            mid = f"pre-smtp-{i}.{alice}"
            sent[mid] = _message(alice, bob, mid)
            smtp.sendmail(alice, [bob], sent[mid])
    imap = imap_login(srv, ssl_ctx, bob)
    try:
        for i in range(2):
            mid = f"pre-append-{i}.{bob}"
            sent[mid] = _message(bob, bob, mid)
            assert imap.append("INBOX", None, None, sent[mid])[0] == "OK"
        imap.select("INBOX")
        assert imap.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    finally:
        imap.logout()
    uidvalidity_before, seen = _snapshot(srv, ssl_ctx, bob)
    assert set(seen) == set(sent)
    flagged_before = {mid for mid, (_, flags, _) in seen.items() if "\\Flagged" in flags}
    assert len(flagged_before) == 1

    # 2. Concurrent submissions and APPENDs; record each acknowledgement.
    acked_uids: dict[str, int] = {}
    errors: list[BaseException] = []

    def submit(t: int) -> None:
        try:
            smtp = smtp_login(srv, ssl_ctx, alice)
            for i in range(SMTP_PER_THREAD):
                mid = f"smtp-{t}-{i}.{alice}"
                msg = _message(alice, bob, mid)
                refused = smtp.sendmail(alice, [bob], msg)  # returns after 250 to the DATA
                assert refused == {}
                with lock:
                    sent[mid] = msg
            smtp.close()  # no QUIT: the kill follows at once
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    def append(t: int) -> None:
        try:
            imap = imap_login(srv, ssl_ctx, bob)
            for i in range(APPEND_PER_THREAD):
                mid = f"append-{t}-{i}.{bob}"
                msg = _message(bob, bob, mid)
                typ, data = imap.append("INBOX", None, None, msg)
                assert typ == "OK", data
                with lock:
                    sent[mid] = msg
                    code = response_code(data[-1])
                    if code and code[0].upper() == "APPENDUID":
                        acked_uids[mid] = int(code[2])
            imap.shutdown()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(SMTP_THREADS)]
    threads += [threading.Thread(target=append, args=(t,)) for t in range(APPEND_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    srv.kill()  # kill -9 right after the last acknowledgement
    assert not errors, errors
    assert len(sent) == 5 + SMTP_THREADS * SMTP_PER_THREAD + APPEND_THREADS * APPEND_PER_THREAD

    # 3. Restart on the same data_dir and compare.
    srv.start()
    uidvalidity_after, after = _snapshot(srv, ssl_ctx, bob)
    assert uidvalidity_after == uidvalidity_before
    missing = sorted(set(sent) - set(after))
    assert not missing, f"{len(missing)} acknowledged messages lost: {missing[:5]}"
    assert set(after) == set(sent), sorted(set(after) - set(sent))
    for mid, msg in sent.items():
        assert after[mid][2].endswith(msg), f"{mid} changed: {after[mid][2][:300]!r}"
    for mid, (uid, _, _) in seen.items():
        assert after[mid][0] == uid, f"UID of {mid} changed from {uid} to {after[mid][0]}"
    for mid, uid in acked_uids.items():
        assert after[mid][0] == uid, f"APPENDUID of {mid} was {uid}, now {after[mid][0]}"
    assert {m for m, (_, f, _) in after.items() if "\\Flagged" in f} == flagged_before
    uids = [uid for uid, _, _ in after.values()]
    assert len(set(uids)) == len(uids)

    # 4. New mail after the restart gets a UID above all earlier ones.
    mid = f"post.{alice}"
    with smtp_login(srv, ssl_ctx, alice) as smtp:
        smtp.sendmail(alice, [bob], _message(alice, bob, mid))
    _, final = _snapshot(srv, ssl_ctx, bob)
    assert final[mid][0] > max(uids)

    # 5. A clean stop and start keeps everything too.
    assert srv.stop() == 0, srv.stderr()
    srv.start()
    uidvalidity_again, again = _snapshot(srv, ssl_ctx, bob)
    assert uidvalidity_again == uidvalidity_before
    assert {m: v[0] for m, v in again.items()} == {m: v[0] for m, v in final.items()}
