"""SMTP submission with Python's smtplib and a raw client (tokens from the dev issuer)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import smtplib
import ssl

import pytest

import tmproto
from tmclient import ensure_mailbox, imap_login, smtp_login
from tmproto import RawSmtp, enhanced, fetch_map
from tmserver import HOSTNAME


def _msg(sender: str, rcpt: str, subject: str, *, message_id: str | None = None,
         date: str | None = "Wed, 04 Jan 2006 08:00:00 +0000", body: bytes = b"Hi Bob.\r\n") -> bytes:
    head = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
    if date:
        head += f"Date: {date}\r\n"
    if message_id:
        head += f"Message-ID: {message_id}\r\n"
    return head.encode() + b"\r\n" + body


def _inbox(server, ctx, user: str) -> list[bytes]:
    """Every message in `user`'s INBOX, in order, exactly as stored."""
    imap = imap_login(server, ctx, user)
    try:
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        if int(data[0]) == 0:
            return []
        typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        got = fetch_map(data)
        return [got[n]["BODY[]"] for n in sorted(got)]
    finally:
        imap.logout()


def _parse(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _pair(new_user, server, ctx) -> tuple[str, str]:
    alice, bob = new_user("alice"), new_user("bob")
    ensure_mailbox(server, ctx, bob)
    return alice, bob


# -- before and after STARTTLS -----------------------------------------------------------

def test_greeting_and_ehlo_before_starttls(server):
    smtp = smtplib.SMTP(timeout=15)
    try:
        code, banner = smtp.connect("127.0.0.1", server.ports.submission)
        assert code == 220, banner
        assert banner.split()[0].decode() == HOSTNAME, banner
        code, _ = smtp.ehlo("client.example.test")
        assert code == 250
        assert "starttls" in smtp.esmtp_features, smtp.esmtp_features
        assert "auth" not in smtp.esmtp_features, smtp.esmtp_features
        code, text = smtp.docmd("AUTH", "PLAIN " + tmproto.b64(tmproto.plain("a@example.test", "x")))
        assert code == 530, (code, text)
        assert enhanced(text) == "5.7.0", text
        code, text = smtp.docmd("MAIL", "FROM:<a@example.test>")
        assert code == 530, (code, text)
    finally:
        smtp.close()


def test_ehlo_after_starttls_offers_auth_and_extensions(server, ssl_ctx):
    smtp = tmproto.smtp_client(server.ports.submission, ssl_ctx, tls=False)
    try:
        f = smtp.esmtp_features
        mechanisms = set(f.get("auth", "").upper().split())
        assert {"XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN"} <= mechanisms, f
        for ext in ("pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "size"):
            assert ext in f, (ext, f)
        assert int(f["size"]) > 0, f
        assert "starttls" not in f, "STARTTLS still offered inside TLS"
    finally:
        smtp.quit()


def test_ehlo_on_implicit_tls_port(server, ssl_ctx):
    smtp = tmproto.smtp_client(server.ports.submissions, ssl_ctx, tls=True)
    try:
        assert smtp.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert "XOAUTH2" in smtp.esmtp_features["auth"].upper()
    finally:
        smtp.quit()


# -- AUTH --------------------------------------------------------------------------------

@pytest.mark.parametrize("tls", [False, True], ids=["starttls", "implicit-tls"])
@pytest.mark.parametrize("initial", [True, False], ids=["ir", "no-ir"])
def test_auth_xoauth2(server, ssl_ctx, new_user, tls, initial):
    user = new_user("alice")
    smtp = tmproto.smtp_client(server.ports.submissions if tls else server.ports.submission,
                               ssl_ctx, tls=tls)
    try:
        code, text = smtp.auth("XOAUTH2", tmproto.smtp_xoauth2_cb(user, server.token(user)),
                               initial_response_ok=initial)
        assert code == 235, text
    finally:
        smtp.quit()


@pytest.mark.parametrize("initial", [True, False], ids=["ir", "no-ir"])
def test_auth_oauthbearer(server, ssl_ctx, new_user, initial):
    user = new_user("alice")
    smtp = tmproto.smtp_client(server.ports.submission, ssl_ctx, tls=False)
    try:
        code, text = smtp.auth("OAUTHBEARER", tmproto.smtp_oauthbearer_cb(server.token(user), user),
                               initial_response_ok=initial)
        assert code == 235, text
    finally:
        smtp.quit()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_with_token_as_password(server, ssl_ctx, new_user, mechanism):
    user = new_user("alice")
    smtp = tmproto.smtp_client(server.ports.submissions, ssl_ctx, tls=True)
    try:
        smtp.user, smtp.password = user, server.token(user)
        cb = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        code, text = smtp.auth(mechanism, cb, initial_response_ok=(mechanism == "PLAIN"))
        assert code == 235, text
    finally:
        smtp.quit()


def test_auth_cancel_with_star(server, ssl_ctx):
    smtp = RawSmtp(server.ports.submissions, ssl_ctx)
    try:
        smtp.cmd("EHLO client.example.test")
        code, text = smtp.cmd("AUTH XOAUTH2")
        assert code == 334, (code, text)
        code, text = smtp.cmd("*")
        assert code == 501, (code, text)
        assert smtp.cmd("NOOP")[0] == 250
    finally:
        smtp.close()


# -- sending -----------------------------------------------------------------------------

def test_alice_sends_bob_reads(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    body = b"Hello Bob,\r\n\r\nthis is a test.\r\n"
    msg = _msg(alice, bob, "first mail", message_id=f"<m1.{alice}>", body=body)
    smtp = smtp_login(server, ssl_ctx, alice, tls=False)
    try:
        refused = smtp.sendmail(alice, [bob], msg)
        assert refused == {}
    finally:
        smtp.quit()
    inbox = _inbox(server, ssl_ctx, bob)
    assert len(inbox) == 1, inbox
    raw = inbox[0]
    assert raw.endswith(msg), "the submitted message must be stored unchanged after added headers"
    added = _parse(raw[: len(raw) - len(msg)] + b"\r\n")
    # RFC 5321 §4.4: the trace fields go on top; Return-Path may come first at final delivery
    assert set(k.lower() for k in added.keys()) <= {"return-path", "received"}, added.keys()
    assert added.get_all("Received"), raw[:400]
    parsed = _parse(raw)
    received = " ".join(parsed.get_all("Received")[0].split())
    assert HOSTNAME in received, received
    assert parsed["Message-ID"] == f"<m1.{alice}>"
    assert parsed["Subject"] == "first mail"
    assert parsed["Date"] == "Wed, 04 Jan 2006 08:00:00 +0000"
    assert raw.endswith(b"\r\n\r\n" + body), raw


def test_message_id_and_date_added_when_missing(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    msg = _msg(alice, bob, "bare", date=None, message_id=None)
    with smtp_login(server, ssl_ctx, alice) as smtp:
        smtp.sendmail(alice, [bob], msg)
    (raw,) = _inbox(server, ssl_ctx, bob)
    parsed = _parse(raw)
    assert parsed["Message-ID"], raw
    assert parsed["Message-ID"].strip().startswith("<") and "@" in parsed["Message-ID"]
    assert parsed["Date"], raw
    assert email.utils.parsedate_to_datetime(parsed["Date"]) is not None
    assert len(parsed.get_all("Message-ID")) == 1 and len(parsed.get_all("Date")) == 1


def test_several_recipients(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    carol = new_user("carol")
    ensure_mailbox(server, ssl_ctx, carol)
    with smtp_login(server, ssl_ctx, alice) as smtp:
        assert smtp.sendmail(alice, [bob, carol], _msg(alice, bob, "to two", message_id=f"<two.{alice}>")) == {}
    for who in (bob, carol):
        (raw,) = _inbox(server, ssl_ctx, who)
        assert _parse(raw)["Message-ID"] == f"<two.{alice}>"


def test_eight_bit_and_smtputf8(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    body = "Grüße, Боб! 你好\r\n".encode("utf-8")
    msg = (f"From: {alice}\r\nTo: {bob}\r\nSubject: Grüße\r\nMessage-ID: <u8.{alice}>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode("utf-8") + body
    with smtp_login(server, ssl_ctx, alice) as smtp:
        smtp.sendmail(alice, [bob], msg, mail_options=["BODY=8BITMIME", "SMTPUTF8"])
    (raw,) = _inbox(server, ssl_ctx, bob)
    assert raw.endswith(msg), raw


def test_pipelined_transaction(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    smtp = RawSmtp(server.ports.submissions, ssl_ctx)
    try:
        smtp.cmd("EHLO client.example.test")
        code, text, _ = smtp.auth("XOAUTH2", tmproto.xoauth2(alice, server.token(alice)))
        assert code == 235, text
        smtp.sock.sendall(f"MAIL FROM:<{alice}>\r\nRCPT TO:<{bob}>\r\nDATA\r\n".encode())
        assert smtp.reply()[0] == 250
        assert smtp.reply()[0] == 250
        assert smtp.reply()[0] == 354
        smtp.sock.sendall(_msg(alice, bob, "pipelined", message_id=f"<p.{alice}>") + b".\r\n")
        code, text = smtp.reply()
        assert code == 250 and enhanced(text).startswith("2."), (code, text)
        assert smtp.cmd("QUIT")[0] == 221
    finally:
        smtp.close()
    (raw,) = _inbox(server, ssl_ctx, bob)
    assert _parse(raw)["Message-ID"] == f"<p.{alice}>"


# -- refusals ----------------------------------------------------------------------------

def test_mail_from_someone_else_is_refused(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    with smtp_login(server, ssl_ctx, alice) as smtp:
        code, text = smtp.mail(bob)
        assert code == 553, (code, text)
        assert enhanced(text).startswith("5."), text
        code, text = smtp.mail(alice)
        assert code == 250, (code, text)


def test_rcpt_to_unknown_local_user_is_refused(server, ssl_ctx, new_user):
    alice = new_user("alice")
    with smtp_login(server, ssl_ctx, alice) as smtp:
        assert smtp.mail(alice)[0] == 250
        code, text = smtp.rcpt(new_user("nobody"))
        assert code == 550, (code, text)
        assert enhanced(text) == "5.1.1", text


def test_rcpt_to_foreign_domain_is_refused(server, ssl_ctx, new_user):
    alice = new_user("alice")
    with smtp_login(server, ssl_ctx, alice) as smtp:
        assert smtp.mail(alice)[0] == 250
        code, text = smtp.rcpt("someone@elsewhere.test")
        assert code == 550, (code, text)
        assert enhanced(text).startswith("5."), text


def test_size_declared_over_limit_is_refused(server, ssl_ctx, new_user):
    alice = new_user("alice")
    with smtp_login(server, ssl_ctx, alice) as smtp:
        limit = int(smtp.esmtp_features["size"])
        code, text = smtp.mail(alice, [f"SIZE={limit + 1}"])
        assert code == 552, (code, text)
        assert enhanced(text).startswith("5.3."), text
        code, text = smtp.mail(alice, [f"SIZE={min(limit, 1000)}"])
        assert code == 250, (code, text)


@pytest.mark.slow
def test_data_over_limit_is_refused(server, ssl_ctx, new_user):
    alice, bob = _pair(new_user, server, ssl_ctx)
    smtp = RawSmtp(server.ports.submissions, ssl_ctx, timeout=60)
    try:
        code, lines = smtp.cmd("EHLO client.example.test")
        size_lines = [l for l in lines if l.upper().startswith(b"SIZE")]
        limit = int(size_lines[0].split()[1])
        if limit > 80 * 1024 * 1024:
            pytest.skip(f"SIZE {limit} is too large to send in a quick test")
        code, text, _ = smtp.auth("XOAUTH2", tmproto.xoauth2(alice, server.token(alice)))
        assert code == 235
        assert smtp.cmd(f"MAIL FROM:<{alice}>")[0] == 250
        assert smtp.cmd(f"RCPT TO:<{bob}>")[0] == 250
        assert smtp.cmd("DATA")[0] == 354
        head = _msg(alice, bob, "too big", message_id=f"<big.{alice}>", body=b"")
        line = b"x" * 998 + b"\r\n"
        chunk = line * 1024
        sent = 0
        try:
            smtp.sock.sendall(head)
            while sent <= limit + 8192:
                smtp.sock.sendall(chunk)
                sent += len(chunk)
            smtp.sock.sendall(b".\r\n")
        except OSError:
            pass  # the server may stop reading once it has answered 552
        code, text = smtp.reply()
        assert code == 552, (code, text)
        assert enhanced(text).startswith("5.3."), text
    finally:
        smtp.close()
    assert _inbox(server, ssl_ctx, bob) == []


def test_starttls_discards_pipelined_plaintext(server, ssl_ctx, new_user):
    """CVE-2011-0411: a command sent in the clear after STARTTLS must not run inside TLS."""
    smtp = RawSmtp(server.ports.submission, ssl_ctx, tls=False)
    try:
        assert smtp.cmd("EHLO client.example.test")[0] == 250
        smtp.sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.test>\r\n")
        code, _ = smtp.reply()
        assert code == 220
        assert smtp.buf == b"", f"answered the injected command in the clear: {smtp.buf!r}"
        try:
            smtp.sock = ssl_ctx.wrap_socket(smtp.sock, server_hostname="127.0.0.1")
            code, lines = smtp.cmd("EHLO client.example.test")
        except (ssl.SSLError, OSError, EOFError):
            return  # refusing the connection also keeps the injected command from running
        assert code == 250 and len(lines) > 1, (code, lines)
        code, text = smtp.cmd("NOOP")
        assert code == 250, (code, text)
        assert smtp.buf == b""
    finally:
        smtp.close()


def test_imaplib_sees_sent_mail_flags_unseen(server, ssl_ctx, new_user):
    """Delivered mail arrives unseen."""
    alice, bob = _pair(new_user, server, ssl_ctx)
    with smtp_login(server, ssl_ctx, alice) as smtp:
        smtp.sendmail(alice, [bob], _msg(alice, bob, "unseen", message_id=f"<un.{alice}>"))
    imap = imap_login(server, ssl_ctx, bob)
    try:
        imap.select("INBOX")
        typ, data = imap.fetch("1", "(FLAGS)")
        assert set(fetch_map(data)[1]["FLAGS"]) - {"\\Recent"} == set()
    finally:
        imap.logout()
