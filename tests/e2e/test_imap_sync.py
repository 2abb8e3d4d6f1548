"""Syncing a mailbox with Python's IMAPClient (a real client library nobody here wrote), as a
mail program does: list and select, fetch, search, sort and thread, change flags, move and
copy, IDLE while another connection changes the mailbox, and a CONDSTORE/QRESYNC resync
after being away.

IMAPClient signs in with `oauth2_login` (XOAUTH2). Each test uses its own mailbox address.
"""

from __future__ import annotations

import ssl
import imaplib
import time

import pytest
from imapclient import IMAPClient

MESSAGE = (
    "From: Alice <alice@example.test>\r\n"
    "To: Bob <bob@example.test>\r\n"
    "Subject: {subject}\r\n"
    "Date: {date}\r\n"
    "Message-ID: <{mid}@example.test>\r\n"
    "{extra}"
    "\r\n"
    "{body}\r\n"
)


def message(subject: str, body: str = "body", *, date: str = "Tue, 1 Dec 2026 10:00:00 +0000",
            mid: str | None = None, extra: str = "") -> bytes:
    return MESSAGE.format(subject=subject, body=body, date=date, mid=mid or subject.replace(" ", "-"),
                          extra=extra).encode()


def client(server, ctx: ssl.SSLContext, user: str) -> IMAPClient:
    c = IMAPClient("127.0.0.1", port=server.ports.imaps, ssl=True, ssl_context=ctx, timeout=20)
    c.oauth2_login(user, server.token(user))
    return c


@pytest.fixture
def user(new_user):
    return new_user("sync")


def test_capabilities_folders_and_special_use(server, ssl_ctx, user):
    c = client(server, ssl_ctx, user)
    caps = set(c.capabilities())
    for cap in (b"IMAP4REV1", b"IDLE", b"MOVE", b"UIDPLUS", b"CONDSTORE", b"QRESYNC", b"ESEARCH",
                b"SORT", b"THREAD=REFERENCES", b"SPECIAL-USE", b"COMPRESS=DEFLATE", b"QUOTA",
                b"LIST-STATUS", b"NOTIFY", b"UTF8=ACCEPT"):
        assert cap in caps, cap
    folders = {name: flags for flags, _delim, name in c.list_folders()}
    assert b"\\Sent" in folders["Sent"] and b"\\Trash" in folders["Trash"]
    c.create_folder("Projects/2026")
    c.rename_folder("Projects/2026", "Projects/Done")
    names = [name for _f, _d, name in c.list_folders("Projects/")]
    assert names == ["Projects/Done"]
    assert c.namespace().personal == (("", "/"),)
    c.create_folder("Entwürfe")
    assert "Entwürfe" in [n for _f, _d, n in c.list_folders()]
    c.delete_folder("Entwürfe")
    c.logout()


def test_fetch_search_sort_thread(server, ssl_ctx, user):
    c = client(server, ssl_ctx, user)
    c.append("INBOX", message("plans", "meet tomorrow", date="Tue, 1 Dec 2026 10:00:00 +0000", mid="a"))
    c.append("INBOX", message("Re: plans", "sounds good", date="Wed, 2 Dec 2026 10:00:00 +0000",
                              mid="b", extra="References: <a@example.test>\r\n"), flags=[b"\\Seen"])
    c.append("INBOX", message("invoice", "amount due", date="Mon, 30 Nov 2026 10:00:00 +0000", mid="c"))
    info = c.select_folder("INBOX")
    assert info[b"EXISTS"] == 3
    assert info[b"UIDVALIDITY"] > 0
    got = c.fetch("1:*", ["ENVELOPE", "BODYSTRUCTURE", "FLAGS", "RFC822.SIZE", "BODY.PEEK[TEXT]"])
    envelopes = {uid: data[b"ENVELOPE"] for uid, data in got.items()}
    assert envelopes[1].subject == b"plans"
    assert envelopes[2].from_[0].mailbox == b"alice" and envelopes[2].from_[0].host == b"example.test"
    assert got[2][b"FLAGS"] == (b"\\Recent", b"\\Seen")
    assert got[1][b"BODY[TEXT]"] == b"meet tomorrow\r\n"
    assert c.search(["UNSEEN"]) == [1, 3]
    assert c.search(["TEXT", "amount"]) == [3]
    assert c.search(["SUBJECT", "plans", "SEEN"]) == [2]
    assert c.sort(["DATE"]) == [3, 1, 2]
    assert c.sort(["REVERSE", "SUBJECT"]) == [1, 2, 3]
    # RFC 5256: threads in the order of their first message's date.
    assert c.thread() == ((3,), (1, 2))
    c.logout()


def test_flags_copy_move_expunge_with_uidplus(server, ssl_ctx, user):
    c = client(server, ssl_ctx, user)
    for i in range(4):
        c.append("INBOX", message(f"m{i}"))
    c.select_folder("INBOX")
    c.add_flags([1, 2], [b"\\Flagged", b"$Work"])
    assert c.get_flags([1])[1] == (b"\\Recent", b"\\Flagged", b"$Work")
    c.remove_flags([2], [b"$Work"])
    assert c.get_flags([2])[2] == (b"\\Recent", b"\\Flagged")
    c.copy([1], "Archive")
    c.move([2], "Trash")
    assert c.search(["ALL"]) == [1, 3, 4]
    c.delete_messages([3])
    c.uid_expunge([3])
    assert c.search(["ALL"]) == [1, 4]
    status = c.folder_status("Trash", ["MESSAGES", "UIDNEXT"])
    assert status[b"MESSAGES"] == 1
    trash = c.select_folder("Trash", readonly=True)
    assert trash[b"EXISTS"] == 1
    assert c.get_flags([1])[1] == (b"\\Recent", b"\\Flagged")
    c.logout()


def test_idle_hears_other_devices(server, ssl_ctx, user):
    phone = client(server, ssl_ctx, user)
    laptop = client(server, ssl_ctx, user)
    for i in range(3):
        laptop.append("INBOX", message(f"i{i}"))
    phone.select_folder("INBOX")
    laptop.select_folder("INBOX")
    phone.idle()
    laptop.add_flags([1], [b"\\Seen"])
    laptop.delete_messages([2])
    laptop.expunge()
    laptop.append("INBOX", message("new one"))
    seen: list = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(r[1] == b"EXISTS" for r in seen):
        seen += phone.idle_check(timeout=1)
    phone.idle_done()
    assert (1, b"FETCH", (b"UID", 1, b"FLAGS", (b"\\Recent", b"\\Seen"))) in seen, seen
    assert (2, b"EXPUNGE") in seen, seen
    assert (3, b"EXISTS") in seen, seen
    phone.logout()
    laptop.logout()


def test_condstore_and_qresync_resync(server, ssl_ctx, user):
    c = client(server, ssl_ctx, user)
    for i in range(5):
        c.append("INBOX", message(f"q{i}"))
    c.enable("QRESYNC")
    info = c.select_folder("INBOX")
    validity, modseq = info[b"UIDVALIDITY"], info[b"HIGHESTMODSEQ"]
    c.logout()

    other = client(server, ssl_ctx, user)
    other.select_folder("INBOX")
    other.add_flags([2], [b"\\Answered"])
    other.delete_messages([4])
    other.expunge()
    other.logout()

    back = client(server, ssl_ctx, user)
    assert back.enable("QRESYNC") == [b"QRESYNC"]
    # IMAPClient has no QRESYNC SELECT parameters; its raw command path sends them.
    typ, _ = back._imap._simple_command(  # noqa: SLF001 - the library's own raw command
        "SELECT", "INBOX", f"(QRESYNC ({validity} {modseq}))")
    assert typ == "OK"
    back._imap.state = "SELECTED"  # noqa: SLF001
    vanished = back._imap.untagged_responses.get("VANISHED", [])
    assert vanished == [b"(EARLIER) 4"], back._imap.untagged_responses
    fetches = back._imap.untagged_responses.get("FETCH", [])
    assert any(b"UID 2 FLAGS (\\Answered) MODSEQ" in f for f in fetches), fetches
    changed = back.fetch("1:*", ["FLAGS"], modifiers=[f"CHANGEDSINCE {modseq}"])
    assert list(changed) == [2], changed
    assert b"MODSEQ" in changed[2]
    back.logout()


def test_quota_and_compress(server, ssl_ctx, user):
    c = client(server, ssl_ctx, user)
    assert c.get_quota_root("INBOX")[0].quota_roots == []
    # COMPRESS=DEFLATE as Thunderbird uses it: everything after the OK is compressed.
    imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
    typ, _ = c._imap._simple_command("COMPRESS", "DEFLATE")  # noqa: SLF001
    assert typ == "OK"
    import zlib
    sock = c._imap.sock  # noqa: SLF001
    deflate = zlib.compressobj(wbits=-15)
    sock.sendall(deflate.compress(b"z1 NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
    inflate = zlib.decompressobj(wbits=-15)
    got = b""
    deadline = time.monotonic() + 5
    while b"z1 " not in got and time.monotonic() < deadline:
        got += inflate.decompress(sock.recv(4096))
    assert b"z1 OK" in got, got
