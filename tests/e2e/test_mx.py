"""The MX (`[smtp_in]`) and LMTP (`[lmtp]`) of CONTRACT.md "Mail from and to other servers",
issue 8 point 1 and 5: Python's smtplib and smtplib.LMTP as the other server, and raw sockets
where the exact replies matter (BDAT chunks, LMTP's one reply per recipient, a client that talks
before the banner). What arrived is read back over IMAP."""

from __future__ import annotations

import smtplib
import socket
import time

import pytest

from tmclient import imap_login
from tmproto import RawSmtp
from tmserver import free_ports, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(server_factory):
    srv = server_factory(start=False)
    srv.mx, srv.lmtp = free_ports(2)
    srv.cfg["smtp_in"] = {"listen": [f"127.0.0.1:{srv.mx}"]}
    srv.cfg["lmtp"] = {"listen": [f"127.0.0.1:{srv.lmtp}"]}
    srv.write_config()
    srv.start()
    return srv


def account(srv, user: str) -> str:
    run_cli("account", "create", user, "--config", str(srv.config_path), check=True)
    return user


def inbox(srv, ctx, user: str) -> list[bytes]:
    imap = imap_login(srv, ctx, user)
    imap.select("INBOX")
    _, data = imap.search(None, "ALL")
    out = []
    for n in data[0].split():
        _, msg = imap.fetch(n, "(BODY.PEEK[])")
        out.append(msg[0][1])
    imap.logout()
    return out


def message(to: str, subject: str) -> bytes:
    return (f"From: sender@elsewhere.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@elsewhere.test>\r\n\r\nHello.\r\n").encode()


def test_the_mx_says_what_it_does(server, ssl_ctx):
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=15) as s:
        code, _ = s.ehlo("mta.elsewhere.test")
        assert code == 250
        for ext in ("pipelining", "8bitmime", "smtputf8", "size", "enhancedstatuscodes",
                    "starttls", "chunking"):
            assert s.has_extn(ext), (ext, s.esmtp_features)
        assert not s.has_extn("auth"), "the MX offers no AUTH"
        assert s.docmd("AUTH", "PLAIN AGFAYg==")[0] == 502
        s.starttls(context=ssl_ctx)
        s.ehlo("mta.elsewhere.test")
        assert not s.has_extn("starttls") and not s.has_extn("auth")


def test_recipients_are_checked_at_rcpt(server, new_user):
    user = account(server, new_user("mx"))
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=15) as s:
        s.ehlo("mta.elsewhere.test")
        assert s.mail("sender@elsewhere.test")[0] == 250
        assert s.rcpt(user)[0] == 250
        code, text = s.rcpt(new_user("nobody"))
        assert code == 550 and text.startswith(b"5.1.1"), (code, text)
        code, text = s.rcpt("someone@elsewhere.test")
        assert code == 554 and text.startswith(b"5.7.1"), (code, text)
        s.rset()


def test_mail_from_another_server_lands_in_inbox(server, ssl_ctx, new_user):
    user = account(server, new_user("mx"))
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=15) as s:
        s.ehlo("mta.elsewhere.test")
        refused = s.sendmail("sender@elsewhere.test", [user], message(user, "plain mx"))
        assert refused == {}
        s.starttls(context=ssl_ctx)
        s.ehlo("mta.elsewhere.test")
        # A bounce: the null reverse path (RFC 5321 §4.5.5).
        assert s.sendmail("", [user], message(user, "over tls")) == {}
    got = inbox(server, ssl_ctx, user)
    assert len(got) == 2, got
    assert b"Subject: plain mx" in got[0] and b"with ESMTP id" in got[0]
    assert b"Subject: over tls" in got[1] and b"with ESMTPS id" in got[1]
    assert got[1].startswith(b"Return-Path: <>\r\n")
    assert b"from mta.elsewhere.test ([127.0.0.1])" in got[0]


def test_bdat_chunks(server, ssl_ctx, new_user):
    user = account(server, new_user("bdat"))
    s = RawSmtp(server.mx, ssl_ctx, tls=False)
    assert s.cmd("EHLO mta.elsewhere.test")[0] == 250
    assert s.cmd("MAIL FROM:<sender@elsewhere.test>")[0] == 250
    assert s.cmd(f"RCPT TO:<{user}>")[0] == 250
    body = message(user, "in chunks")
    first, rest = body[:20], body[20:]
    s.sock.sendall(f"BDAT {len(first)}\r\n".encode() + first)
    code, text = s.reply()
    assert code == 250, text
    s.sock.sendall(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
    code, text = s.reply()
    assert code == 250, text
    # BDAT without a transaction: refused, and its chunk is still read.
    s.sock.sendall(b"BDAT 5 LAST\r\nhello")
    assert s.reply()[0] == 503
    assert s.cmd("NOOP")[0] == 250
    got = inbox(server, ssl_ctx, user)
    assert len(got) == 1 and got[0].endswith(body), got


def test_lmtp_answers_each_recipient(server, ssl_ctx, new_user):
    a = account(server, new_user("lmtp"))
    b = account(server, new_user("lmtp"))
    s = RawSmtp(server.lmtp, ssl_ctx, tls=False)
    assert b"LMTP" in s.greeting[1][0]
    assert s.cmd("EHLO mta")[0] == 500, "LMTP greets with LHLO (RFC 2033 §4.1)"
    code, lines = s.cmd("LHLO mta")
    assert code == 250 and b"PIPELINING" in lines and b"ENHANCEDSTATUSCODES" in lines, lines
    assert s.cmd("MAIL FROM:<sender@elsewhere.test>")[0] == 250
    assert s.cmd(f"RCPT TO:<{a}>")[0] == 250
    assert s.cmd(f"RCPT TO:<{new_user('ghost')}>")[0] == 550
    assert s.cmd(f"RCPT TO:<{b}>")[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.sock.sendall(message(a, "via lmtp") + b".\r\n")
    replies = [s.reply(), s.reply()]
    assert [r[0] for r in replies] == [250, 250], replies
    assert a.encode() in replies[0][1][0] and b.encode() in replies[1][1][0], replies
    assert s.cmd("QUIT")[0] == 221
    for user in (a, b):
        got = inbox(server, ssl_ctx, user)
        assert len(got) == 1 and b"with LMTP id" in got[0], got
    # smtplib's LMTP client too.
    with smtplib.LMTP("127.0.0.1", server.lmtp, timeout=15) as lm:
        assert lm.sendmail("sender@elsewhere.test", [a], message(a, "smtplib lmtp")) == {}
    assert len(inbox(server, ssl_ctx, a)) == 2


def test_a_client_that_talks_first_is_dropped(server_factory, ssl_ctx):
    srv = server_factory(start=False)
    (srv.mx,) = free_ports(1)
    srv.cfg["smtp_in"] = {"listen": [f"127.0.0.1:{srv.mx}"], "greeting_delay": "1s"}
    srv.write_config()
    srv.start()
    # A client that waits gets the banner after the delay.
    t0 = time.monotonic()
    s = RawSmtp(srv.mx, ssl_ctx, tls=False)
    assert s.greeting[0] == 220 and time.monotonic() - t0 >= 0.9
    assert s.cmd("EHLO mta")[0] == 250
    # One that speaks first is told and dropped.
    raw = socket.create_connection(("127.0.0.1", srv.mx), timeout=10)
    raw.sendall(b"EHLO spammer\r\n")
    data = b""
    while True:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"554 5.7.0"), data


def test_messages_per_minute_from_one_address(server_factory, ssl_ctx, new_user):
    srv = server_factory(start=False)
    (srv.mx,) = free_ports(1)
    srv.cfg["smtp_in"] = {"listen": [f"127.0.0.1:{srv.mx}"], "max_messages_per_minute": 2}
    srv.write_config()
    srv.start()
    user = account(srv, new_user("rate"))
    with smtplib.SMTP("127.0.0.1", srv.mx, timeout=15) as s:
        s.ehlo("mta.elsewhere.test")
        for n in range(2):
            assert s.sendmail("sender@elsewhere.test", [user], message(user, f"rate {n}")) == {}
        code, text = s.mail("sender@elsewhere.test")
        assert code == 451 and text.startswith(b"4.7.1"), (code, text)
        assert s.noop()[0] == 250, "the session goes on"
