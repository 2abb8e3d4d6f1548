"""IMAP with Python's imaplib, the way a simple client uses it (tokens from the dev issuer)."""

from __future__ import annotations

import datetime
import imaplib
import ssl
import time

import pytest

import tmproto
from tmclient import ensure_mailbox, imap_login, smtp_login
from tmproto import RawImap, fetch_map, pairs, parse_imap, response_code, status_of

MSG = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob Example <bob@example.test>\r\n"
    b"Cc: carol@example.test\r\n"
    b"Subject: Hello there\r\n"
    b"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
    b"Message-ID: <fixed-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello, Bob!\r\n"
    b"Second line.\r\n"
)
MSG_BODY = b"Hello, Bob!\r\nSecond line.\r\n"

MULTI = (
    b"From: alice@example.test\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: multipart\r\n"
    b"Date: Tue, 03 Jan 2006 10:00:00 +0100\r\n"
    b"Message-ID: <multi-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"plain part\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<p>html part</p>\r\n"
    b"<p>two</p>\r\n"
    b"\r\n"
    b"--b1--\r\n"
)

SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
               "Archive": "\\Archive"}


def _caps(imap: imaplib.IMAP4) -> set[str]:
    return {c.upper() for c in imap.capabilities}


def _select(imap, mailbox="INBOX") -> int:
    typ, data = imap.select(mailbox)
    assert typ == "OK", data
    return int(data[0])


def _append(imap, msg: bytes, flags=None, date=None, mailbox="INBOX") -> int | None:
    """APPENDs and returns the UID from APPENDUID (None when the server sends none)."""
    typ, data = imap.append(mailbox, flags, date, msg)
    assert typ == "OK", data
    code = response_code(data[-1])
    if code and code[0].upper() == "APPENDUID":
        return int(code[2])
    return None


def _uids_by_message_id(imap) -> dict[str, int]:
    """{Message-ID: UID} of the selected mailbox, by FETCH (no SEARCH needed)."""
    typ, data = imap.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK", data
    out = {}
    for attrs in fetch_map(data).values():
        header = attrs["BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
        out[header.split(":", 1)[1].strip()] = int(attrs["UID"])
    return out


def _uid_of(imap, message_id: str) -> int:
    return _uids_by_message_id(imap)[message_id]


def _ci(value) -> str:
    return value.decode().upper() if isinstance(value, bytes) else str(value).upper()


def _check_text_part(part: list, subtype: str, charset: str, encoding: str, size: int,
                     lines: int) -> None:
    """A text body part: type, subtype, params, id, description, encoding, size, lines; any
    extension data after that must be NIL."""
    assert _ci(part[0]) == "TEXT" and _ci(part[1]) == subtype, part
    params = {_ci(part[2][i]): part[2][i + 1] for i in range(0, len(part[2]), 2)}
    assert _ci(params.get("CHARSET", b"")) == charset.upper(), part
    assert part[3] is None and part[4] is None, part
    assert _ci(part[5]) == encoding, part
    assert int(part[6]) == size, f"body size {part[6]} != {size}: {part}"
    assert int(part[7]) == lines, f"body lines {part[7]} != {lines}: {part}"


# -- before TLS --------------------------------------------------------------------------

def test_capability_before_tls_has_logindisabled_and_no_auth(server):
    imap = imaplib.IMAP4("127.0.0.1", server.ports.imap, timeout=15)
    try:
        caps = _caps(imap)
        assert "STARTTLS" in caps, caps
        assert "LOGINDISABLED" in caps, caps
        assert not any(c.startswith("AUTH=") for c in caps), caps
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice@example.test", "x")
        with pytest.raises(imaplib.IMAP4.error):
            imap.authenticate("XOAUTH2", lambda _c: b"user=alice@example.test\x01auth=Bearer x\x01\x01")
    finally:
        imap.shutdown()


def test_greeting_is_ok(server, ssl_ctx):
    imap = RawImap(server.ports.imaps, ssl_ctx)
    try:
        assert imap.greeting.startswith(b"* OK"), imap.greeting
    finally:
        imap.close()


# -- signing in --------------------------------------------------------------------------

def test_starttls_then_xoauth2(server, ssl_ctx, new_user):
    user = new_user("alice")
    imap = imaplib.IMAP4("127.0.0.1", server.ports.imap, timeout=15)
    try:
        imap.starttls(ssl_context=ssl_ctx)
        caps = _caps(imap)
        assert "LOGINDISABLED" not in caps, caps
        for cap in ("AUTH=XOAUTH2", "AUTH=OAUTHBEARER", "AUTH=PLAIN", "SASL-IR", "IDLE"):
            assert cap in caps, (cap, caps)
        assert "IMAP4REV1" in caps or "IMAP4REV2" in caps, caps
        assert "STARTTLS" not in caps, "STARTTLS still offered inside TLS"
        typ, _ = imap.authenticate(
            "XOAUTH2", tmproto.sasl_callback("XOAUTH2", tmproto.xoauth2(user, server.token(user))))
        assert typ == "OK"
        assert _select(imap) == 0
    finally:
        imap.logout()


def test_starttls_then_oauthbearer(server, ssl_ctx, new_user):
    user = new_user("alice")
    imap = imaplib.IMAP4("127.0.0.1", server.ports.imap, timeout=15)
    try:
        imap.starttls(ssl_context=ssl_ctx)
        initial = tmproto.oauthbearer(server.token(user), user)
        assert initial.startswith(f"n,a={user},\x01auth=Bearer ".encode())
        typ, _ = imap.authenticate("OAUTHBEARER", tmproto.sasl_callback("OAUTHBEARER", initial))
        assert typ == "OK"
        assert _select(imap) == 0
    finally:
        imap.logout()


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_implicit_tls_port(server, ssl_ctx, new_user, mechanism):
    user = new_user("alice")
    imap = imap_login(server, ssl_ctx, user, mechanism=mechanism)
    try:
        assert imap.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert _select(imap) == 0
    finally:
        imap.logout()


def test_login_with_token_as_password_over_tls(server, ssl_ctx, new_user):
    user = new_user("alice")
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.ports.imaps, ssl_context=ssl_ctx, timeout=15)
    try:
        typ, _ = imap.login(user, server.token(user))
        assert typ == "OK"
        assert _select(imap) == 0
    finally:
        imap.logout()


def test_authenticate_plain_with_token_over_tls(server, ssl_ctx, new_user):
    user = new_user("alice")
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.ports.imaps, ssl_context=ssl_ctx, timeout=15)
    try:
        typ, _ = imap.authenticate(
            "PLAIN", lambda _c: tmproto.plain(user, server.token(user)))
        assert typ == "OK"
    finally:
        imap.logout()


def test_wrong_token_gets_no_then_right_token_works(server, ssl_ctx, new_user):
    user = new_user("alice")
    good = server.token(user)
    wrong = server.token(new_user("someone"))  # valid, but another address
    src = tmproto.fresh_source_ip()
    imap = tmproto.SourceIMAP4_SSL("127.0.0.1", server.ports.imaps, ssl_context=ssl_ctx,
                                   timeout=15, source_ip=src)
    challenges: list[bytes] = []
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.authenticate("XOAUTH2", tmproto.sasl_callback(
                "XOAUTH2", tmproto.xoauth2(user, wrong), challenges))
        for c in challenges:
            assert "status" in tmproto.error_json(c)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(user, "garbage")
        # the same connection may try again, as clients do after refreshing a token
        typ, _ = imap.authenticate("OAUTHBEARER", tmproto.sasl_callback(
            "OAUTHBEARER", tmproto.oauthbearer(good, user)))
        assert typ == "OK"
    finally:
        imap.logout()
    imap = imap_login(server, ssl_ctx, user, good)
    try:
        assert _select(imap) == 0
    finally:
        imap.logout()


# -- mailboxes ---------------------------------------------------------------------------

def test_list_shows_default_mailboxes_with_special_use(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("alice"))
    try:
        typ, data = imap.list('""', "*")
        assert typ == "OK", data
        found = {}
        for resp in tmproto.imaplib_responses(data):
            attrs, _delim, name = parse_imap(resp)[:3]
            found[name.decode() if isinstance(name, bytes) else str(name)] = {a.lower() for a in attrs}
        for name in ("INBOX", *SPECIAL_USE):
            assert name in found, (name, found)
        for name, attr in SPECIAL_USE.items():
            assert attr.lower() in found[name], (name, found[name])
        assert not any(a in found["INBOX"] for a in ("\\sent", "\\trash")), found["INBOX"]
    finally:
        imap.logout()


def test_select_inbox_reports_state(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("alice"))
    try:
        typ, data = imap.select("INBOX")
        assert typ == "OK" and data == [b"0"], data
        assert int(imap.untagged_responses["UIDVALIDITY"][0]) > 0
        assert int(imap.untagged_responses["UIDNEXT"][0]) > 0
        assert b"\\Seen" in imap.untagged_responses["FLAGS"][0]
        typ, data = imap.select("Sent")
        assert typ == "OK" and data == [b"0"], data
        typ, data = imap.select("NoSuchMailbox")
        assert typ == "NO", data
    finally:
        imap.logout()


# -- messages ----------------------------------------------------------------------------

def test_append_then_fetch_exact(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("bob"))
    try:
        uid_from_append = _append(imap, MSG, "(\\Flagged)", '"02-Jan-2006 15:04:05 +0000"')
        assert _select(imap) == 1
        uid = _uid_of(imap, "<fixed-1@example.test>")
        if uid_from_append is not None:
            assert uid == uid_from_append
        typ, data = imap.uid(
            "FETCH", str(uid),
            "(FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY.PEEK[] "
            "BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.5>)")
        assert typ == "OK", data
        got = fetch_map(data)
        assert list(got) == [1], got
        m = got[1]
        assert int(m["UID"]) == uid
        assert set(m["FLAGS"]) - {"\\Recent"} == {"\\Flagged"}, m["FLAGS"]
        assert int(m["RFC822.SIZE"]) == len(MSG)
        internal = datetime.datetime.strptime(m["INTERNALDATE"].decode().strip(),
                                              "%d-%b-%Y %H:%M:%S %z")
        assert internal == datetime.datetime(2006, 1, 2, 15, 4, 5, tzinfo=datetime.timezone.utc)
        alice = [b"Alice Example", None, b"alice", b"example.test"]
        assert m["ENVELOPE"] == [
            b"Mon, 02 Jan 2006 15:04:05 +0000",
            b"Hello there",
            [alice], [alice], [alice],
            [[b"Bob Example", None, b"bob", b"example.test"]],
            [[None, None, b"carol", b"example.test"]],
            None, None,
            b"<fixed-1@example.test>",
        ], m["ENVELOPE"]
        bs = m["BODYSTRUCTURE"]
        _check_text_part(bs, "PLAIN", "us-ascii", "7BIT", len(MSG_BODY), 2)
        assert all(x is None for x in bs[8:]), bs
        assert m["BODY[]"] == MSG
        assert m["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: Hello there\r\n\r\n"
        assert m["BODY[TEXT]<0>"] == b"Hello"

        # without .PEEK, BODY[...] sets \Seen
        typ, data = imap.uid("FETCH", str(uid), "(BODY[TEXT]<0.5>)")
        assert typ == "OK"
        got = fetch_map(data)
        assert got[1]["BODY[TEXT]<0>"] == b"Hello"
        typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
        assert "\\Seen" in fetch_map(data)[1]["FLAGS"]
    finally:
        imap.logout()


def test_append_returns_appenduid(server, ssl_ctx, new_user):
    """UIDPLUS (RFC 4315): APPEND OK carries [APPENDUID uidvalidity uid]."""
    imap = imap_login(server, ssl_ctx, new_user("bob"))
    try:
        typ, data = imap.append("INBOX", None, None, MSG)
        assert typ == "OK"
        code = response_code(data[-1])
        assert code and code[0].upper() == "APPENDUID", data
        typ, data = imap.select("INBOX")
        assert code[1].encode() == imap.untagged_responses["UIDVALIDITY"][0]
    finally:
        imap.logout()


def test_multipart_bodystructure(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("bob"))
    try:
        _append(imap, MULTI)
        _select(imap)
        typ, data = imap.fetch("1", "(BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2.MIME] RFC822.SIZE)")
        assert typ == "OK", data
        m = fetch_map(data)[1]
        bs = m["BODYSTRUCTURE"]
        assert isinstance(bs[0], list) and isinstance(bs[1], list), bs
        _check_text_part(bs[0], "PLAIN", "utf-8", "7BIT", len(b"plain part\r\n"), 1)
        _check_text_part(bs[1], "HTML", "utf-8", "QUOTED-PRINTABLE",
                         len(b"<p>html part</p>\r\n<p>two</p>\r\n"), 2)
        assert _ci(bs[2]) == "ALTERNATIVE", bs
        params = {_ci(bs[3][i]): bs[3][i + 1] for i in range(0, len(bs[3]), 2)}
        assert params["BOUNDARY"] == b"b1", bs
        assert m["BODY[1]"] == b"plain part\r\n"
        assert b"Content-Transfer-Encoding: quoted-printable" in m["BODY[2.MIME]"]
        assert int(m["RFC822.SIZE"]) == len(MULTI)
    finally:
        imap.logout()


def test_store_expunge_status(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("bob"))
    try:
        for i in range(3):
            _append(imap, MSG.replace(b"<fixed-1@", f"<store-{i}@".encode()))
        assert _select(imap) == 3
        uidvalidity = int(imap.untagged_responses["UIDVALIDITY"][0])
        uids = [_uid_of(imap, f"<store-{i}@example.test>") for i in range(3)]
        assert uids == sorted(uids) and len(set(uids)) == 3

        typ, data = imap.store("1", "+FLAGS", "(\\Seen)")
        assert typ == "OK", data
        assert "\\Seen" in fetch_map(data)[1]["FLAGS"], data
        typ, data = imap.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        assert typ == "OK", data
        typ, data = imap.fetch("1:3", "(FLAGS)")
        flags = {n: set(v["FLAGS"]) - {"\\Recent"} for n, v in fetch_map(data).items()}
        assert flags == {1: {"\\Seen"}, 2: {"\\Deleted"}, 3: set()}, flags

        typ, data = imap.expunge()
        assert typ == "OK"
        assert data == [b"2"], data
        typ, data = imap.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
        assert typ == "OK", data
        _name, attrs = parse_imap(data[0])
        st = {k: int(v) for k, v in pairs(attrs).items()}
        assert st["MESSAGES"] == 2 and st["UNSEEN"] == 1, st
        assert st["UIDVALIDITY"] == uidvalidity
        assert st["UIDNEXT"] > uids[-1]
        typ, data = imap.fetch("1:*", "(UID)")
        assert [int(v["UID"]) for _, v in sorted(fetch_map(data).items())] == [uids[0], uids[2]]
        typ, data = imap.status("Trash", "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES 0" in data[0], data
    finally:
        imap.logout()


def test_search(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("bob"))
    try:
        for i in range(3):
            _append(imap, MSG.replace(b"<fixed-1@", f"<search-{i}@".encode())
                    .replace(b"Subject: Hello there", f"Subject: topic {i}".encode()))
        assert _select(imap) == 3
        imap.store("2", "+FLAGS", "(\\Seen)")
        typ, data = imap.search(None, "ALL")
        assert typ == "OK" and data[0].split() == [b"1", b"2", b"3"], data
        typ, data = imap.search(None, "UNSEEN")
        assert data[0].split() == [b"1", b"3"], data
        typ, data = imap.search(None, "SEEN")
        assert data[0].split() == [b"2"], data
        typ, data = imap.search(None, "HEADER", "Message-ID", '"<search-2@example.test>"')
        assert data[0].split() == [b"3"], data
        typ, data = imap.search(None, "SUBJECT", '"topic 1"')
        assert data[0].split() == [b"2"], data
        uids = _uids_by_message_id(imap)
        typ, data = imap.uid("SEARCH", None, "UNSEEN")
        assert [int(x) for x in data[0].split()] == [uids["<search-0@example.test>"],
                                                     uids["<search-2@example.test>"]], data
    finally:
        imap.logout()


# -- IDLE --------------------------------------------------------------------------------

def _idle_start(imap) -> bytes:
    tag = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    line = imap.readline()
    assert line.startswith(b"+"), line
    return tag


def _idle_wait_exists(imap, timeout: float) -> tuple[bytes, float]:
    imap.sock.settimeout(timeout)
    t0 = time.monotonic()
    while True:
        line = imap.readline()
        if not line:
            raise AssertionError("connection closed during IDLE")
        if line.startswith(b"*") and line.rstrip().upper().endswith(b"EXISTS"):
            return line, time.monotonic() - t0


def _idle_done(imap, tag: bytes) -> None:
    imap.sock.settimeout(10)
    imap.send(b"DONE\r\n")
    while True:
        line = imap.readline()
        if line.startswith(tag + b" "):
            assert line.split()[1] == b"OK", line
            return


def test_idle_sees_append_from_another_connection(server, ssl_ctx, new_user):
    user = new_user("bob")
    idler = imap_login(server, ssl_ctx, user)
    other = imap_login(server, ssl_ctx, user)
    try:
        assert _select(idler) == 0
        tag = _idle_start(idler)
        _append(other, MSG)
        line, waited = _idle_wait_exists(idler, 3.0)
        assert line.strip() == b"* 1 EXISTS", line
        assert waited <= 2.0, f"EXISTS came {waited:.2f}s after the APPEND completed"
        _idle_done(idler, tag)
        typ, data = idler.noop()
        assert typ == "OK"
    finally:
        other.logout()
        idler.logout()


def test_idle_sees_smtp_delivery(server, ssl_ctx, new_user):
    alice, bob = new_user("alice"), new_user("bob")
    idler = imap_login(server, ssl_ctx, bob)
    try:
        assert _select(idler) == 0
        tag = _idle_start(idler)
        smtp = smtp_login(server, ssl_ctx, alice)
        try:
            smtp.sendmail(alice, [bob], MSG)
        finally:
            smtp.quit()
        line, waited = _idle_wait_exists(idler, 3.0)
        assert line.strip() == b"* 1 EXISTS", line
        assert waited <= 2.0, f"EXISTS came {waited:.2f}s after SMTP 250"
        _idle_done(idler, tag)
    finally:
        idler.logout()


# -- protocol errors ---------------------------------------------------------------------

def test_malformed_commands_get_bad_and_session_continues(server, ssl_ctx, new_user):
    imap = imap_login(server, ssl_ctx, new_user("alice"))
    try:
        _select(imap)
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            imap.xatom("FROBNICATE", "now")
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            imap.fetch("1:*", "(((FLAGS")
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            imap.fetch("not-a-set", "(FLAGS)")
        typ, _ = imap.noop()
        assert typ == "OK"
        assert _select(imap) == 0
    finally:
        imap.logout()
    raw = RawImap(server.ports.imaps, ssl_ctx)
    try:
        raw.send(b"lonetag\r\n")
        resp = raw.read_response()
        assert b"BAD" in resp.split(b" ", 2)[1], resp
        _, tagged = raw.command("NOOP")
        assert status_of(tagged) == "OK"
        _, tagged = raw.command("SELECT INBOX")
        assert status_of(tagged) in ("NO", "BAD"), tagged  # not signed in
    finally:
        raw.close()


def test_starttls_discards_pipelined_plaintext(server, ssl_ctx):
    """CVE-2011-0411: a command sent in the clear after STARTTLS must not run inside TLS."""
    raw = RawImap(server.ports.imap, ssl_ctx, tls=False)
    try:
        raw.send(b"t1 STARTTLS\r\nt2 CAPABILITY\r\n")
        line = raw.readline()
        while line.startswith(b"*"):
            line = raw.readline()
        assert line.startswith(b"t1 OK"), line
        leftover = raw.buf
        raw.buf = b""
        assert b"t2 OK" not in leftover, "CAPABILITY answered in the clear after STARTTLS OK"
        try:
            raw.sock = ssl_ctx.wrap_socket(raw.sock, server_hostname="127.0.0.1")
            raw.send(b"t3 NOOP\r\n")
            untagged, tagged = raw.read_until_tagged("t3")
        except (ssl.SSLError, OSError, EOFError):
            return  # refusing the connection also keeps the injected command from running
        assert status_of(tagged) == "OK"
        assert not any(r.startswith(b"t2 ") for r in untagged), untagged
        assert not any(r.upper().startswith(b"* CAPABILITY") for r in untagged), untagged
    finally:
        raw.close()


def test_logout_says_bye(server, ssl_ctx):
    raw = RawImap(server.ports.imaps, ssl_ctx)
    try:
        untagged, tagged = raw.command("LOGOUT")
        assert any(u.startswith(b"* BYE") for u in untagged), untagged
        assert status_of(tagged) == "OK"
    finally:
        raw.close()


def test_delivery_to_fresh_mailbox_via_login_created(server, ssl_ctx, new_user):
    """The first login creates the mailbox: INBOX exists and is empty right after it."""
    user = new_user("fresh")
    ensure_mailbox(server, ssl_ctx, user)
    imap = imap_login(server, ssl_ctx, user)
    try:
        assert _select(imap) == 0
        typ, data = imap.status("Archive", "(MESSAGES)")
        assert typ == "OK", data
    finally:
        imap.logout()
