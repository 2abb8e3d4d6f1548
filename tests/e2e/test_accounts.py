"""Accounts, app passwords and revocation (CONTRACT.md "Accounts, app passwords and
revocation"; docs/accounts.md), driven through the command line as an admin would, with
Python's imaplib and smtplib as the mail programs."""

from __future__ import annotations

import imaplib
import os
import re
import smtplib
import stat
import time

import pytest

import tmproto
from tmclient import (ensure_mailbox, expect_bye, imap_login, raw_idle, smtp_login, still_open,
                      unique_user, wait_for)
from tmproto import RawImap, RawSmtp, fresh_source_ip, status_of
from tmserver import run_cli

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def cli(srv, *args: str, ok: bool = True, timeout: float = 30.0):
    """`tokenmail ARGS --config FILE`; asserts the exit status."""
    proc = run_cli(*args, "--config", str(srv.config_path), timeout=timeout)
    if ok:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    else:
        assert proc.returncode != 0, (args, proc.stdout, proc.stderr)
        assert proc.stderr.strip(), "a failure says why on stderr"
    return proc


def new_app_password(srv, user: str, name: str = "Phone", *extra: str) -> tuple[str, str]:
    """(password, id) from `app-password create`: the password alone on the first line."""
    out = cli(srv, "app-password", "create", "--user", user, "--name", name, *extra).stdout
    lines = out.splitlines()
    assert len(lines) >= 2, out
    password, id_line = lines[0], lines[1]
    assert id_line.startswith("id: "), out
    assert re.fullmatch(r"[a-z0-9-]+", password), password
    assert len(password.replace("-", "")) * 5 >= 128, "at least 128 bits"
    return password, id_line[4:].strip()


def app_password_rows(srv, user: str) -> list[list[str]]:
    out = cli(srv, "app-password", "list", "--user", user).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def imap_password_login(srv, ctx, user: str, password: str) -> imaplib.IMAP4_SSL:
    imap = imaplib.IMAP4_SSL("127.0.0.1", srv.ports.imaps, ssl_context=ctx, timeout=20)
    imap.login(user, password)
    return imap


# -- accounts ---------------------------------------------------------------------------------


def test_account_commands_work_while_the_server_runs(server, ssl_ctx):
    """`account create` no longer needs a stopped server; `account list` shows usage."""
    user = unique_user("early")
    made = cli(server, "account", "create", user)
    assert made.stdout.strip() == f"created {user}", made.stdout
    again = cli(server, "account", "create", user.upper())
    assert "already exists" in again.stdout
    cli(server, "account", "create", "eve@elsewhere.test", ok=False)
    # Created while running: mail for it is accepted at once, before any login.
    sender = unique_user("sender")
    s = smtp_login(server, ssl_ctx, sender)
    try:
        s.sendmail(sender, [user], f"From: {sender}\r\nTo: {user}\r\nSubject: hi\r\n\r\nhello\r\n")
    finally:
        s.quit()
    rows = [line.split("\t") for line in cli(server, "account", "list").stdout.splitlines()]
    mine = [r for r in rows if r[0] == user]
    assert len(mine) == 1, rows
    assert mine[0][1] == "1 messages", mine
    assert re.fullmatch(r"\d+ bytes", mine[0][2]) and int(mine[0][2].split()[0]) > 0, mine
    created = mine[0][3].removeprefix("created ")
    assert RFC3339.match(created), mine


def test_commands_work_on_a_stopped_server(server_factory, ssl_ctx):
    srv = server_factory(start=False)
    user = unique_user("offline")
    cli(srv, "account", "create", user)
    password, pid = new_app_password(srv, user, "Laptop")
    assert [r[0] for r in app_password_rows(srv, user)] == [pid]
    srv.start()
    try:
        imap = imap_password_login(srv, ssl_ctx, user, password)
        assert imap.select("INBOX")[0] == "OK"
        imap.logout()
    finally:
        assert srv.stop() == 0
    # Revoked while stopped: refused after the restart.
    cli(srv, "app-password", "revoke", "--user", user, "--id", pid)
    srv.start()
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap_password_login(srv, ssl_ctx, user, password)
    finally:
        srv.stop()


def test_the_control_socket_is_for_the_servers_user_only(server):
    sock = server.data_dir / "control" / "tokenmail.sock"
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sock).st_mode) & 0o077 == 0


# -- app passwords ----------------------------------------------------------------------------


def test_an_app_password_logs_in_to_imap_and_smtp(server, ssl_ctx):
    user = unique_user("app")
    ensure_mailbox(server, ssl_ctx, user)
    password, pid = new_app_password(server, user)
    # IMAP LOGIN, as typed: capitals and spaces instead of dashes are the same password.
    imap = imap_password_login(server, ssl_ctx, user, password.upper().replace("-", " "))
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    # AUTHENTICATE PLAIN.
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.ports.imaps, ssl_context=ssl_ctx, timeout=20)
    imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
    imap.logout()
    # SMTP AUTH PLAIN and LOGIN (smtplib picks by what is offered; force each).
    for mech in ("PLAIN", "LOGIN"):
        s = smtplib.SMTP_SSL("127.0.0.1", server.ports.submissions, context=ssl_ctx, timeout=20)
        try:
            s.user, s.password = user, password
            code, _ = s.auth(mech, getattr(s, f"auth_{mech.lower()}"), initial_response_ok=True)
            assert code == 235
            s.sendmail(user, [user], f"From: {user}\r\nTo: {user}\r\nSubject: {mech}\r\n\r\nx\r\n")
        finally:
            s.quit()
    # Last use: an RFC 3339 time and the client's address.
    [row] = app_password_rows(server, user)
    assert row[0] == pid and row[1] == "Phone" and row[2] == "imap,smtp,pop3", row
    assert RFC3339.match(row[3]) and row[4] == "-", row
    when, ip = row[5].split(" ")
    assert RFC3339.match(when) and ip == "127.0.0.1", row


def test_an_app_password_is_refused_where_it_does_not_belong(server, ssl_ctx):
    user, other = unique_user("scoped"), unique_user("other")
    ensure_mailbox(server, ssl_ctx, user)
    ensure_mailbox(server, ssl_ctx, other)
    password, _ = new_app_password(server, user, "Reader", "--scope", "imap")
    imap_password_login(server, ssl_ctx, user, password).logout()
    src = fresh_source_ip()
    # Not for SMTP: 535.
    s = RawSmtp(server.ports.submissions, ssl_ctx, source_ip=src)
    s.cmd("EHLO test")
    code, _, _ = s.auth("PLAIN", tmproto.plain(user, password))
    assert code == 535, code
    # Not for another account, not as an OAuth bearer token.
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=src)
    _, tagged = imap.command(f'LOGIN "{other}" "{password}"')
    assert status_of(tagged) == "NO" and b"AUTHENTICATIONFAILED" in tagged, tagged
    _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(user, password))
    assert status_of(tagged) == "NO", tagged
    # Not before TLS: LOGINDISABLED on the cleartext port.
    plain = RawImap(server.ports.imap, ssl_ctx, tls=False, source_ip=src)
    assert "LOGINDISABLED" in plain.capabilities()
    _, tagged = plain.command(f'LOGIN "{user}" "{password}"')
    assert status_of(tagged) == "NO", tagged
    # A bad --scope is refused by the command.
    cli(server, "app-password", "create", "--user", user, "--name", "x", "--scope", "ftp", ok=False)
    cli(server, "app-password", "create", "--user", unique_user("nobody"), "--name", "x", ok=False)


def test_an_expired_app_password_is_refused(server, ssl_ctx):
    user = unique_user("ttl")
    ensure_mailbox(server, ssl_ctx, user)
    password, _ = new_app_password(server, user, "Short", "--ttl", "2")
    [row] = app_password_rows(server, user)
    assert RFC3339.match(row[4]), row
    imap_password_login(server, ssl_ctx, user, password).logout()
    time.sleep(2.5)
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=fresh_source_ip())
    _, tagged = imap.command(f'LOGIN "{user}" "{password}"')
    assert status_of(tagged) == "NO", tagged


def test_a_token_login_leaves_app_passwords_alone(server, ssl_ctx):
    user = unique_user("keep")
    ensure_mailbox(server, ssl_ctx, user)
    password, pid = new_app_password(server, user)
    for _ in range(2):
        imap_login(server, ssl_ctx, user).logout()
    assert [r[0] for r in app_password_rows(server, user)] == [pid]
    imap_password_login(server, ssl_ctx, user, password).logout()


def test_revoking_an_app_password_ends_its_sessions_only(server, ssl_ctx):
    user = unique_user("revoke1")
    ensure_mailbox(server, ssl_ctx, user)
    pw1, id1 = new_app_password(server, user, "Phone")
    pw2, _ = new_app_password(server, user, "Tablet")
    one = raw_idle(server, ssl_ctx, user, password=pw1)
    two = raw_idle(server, ssl_ctx, user, password=pw2)
    tok = raw_idle(server, ssl_ctx, user)
    done = cli(server, "app-password", "revoke", "--user", user, "--id", id1)
    assert id1 in done.stdout
    bye = expect_bye(one, within=1.0)
    assert b"revoked" in bye, bye
    assert still_open(two) and still_open(tok)
    assert [r[1] for r in app_password_rows(server, user)] == ["Tablet"]
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=fresh_source_ip())
    _, tagged = imap.command(f'LOGIN "{user}" "{pw1}"')
    assert status_of(tagged) == "NO", tagged
    cli(server, "app-password", "revoke", "--user", user, "--id", id1, ok=False)
    for s in (two, tok):
        s.send(b"DONE\r\n")
        s.close()


def test_sign_out_everywhere(server, ssl_ctx):
    """`account revoke`: every session ends within a second, app passwords go, and a token
    issued before the command is refused while one issued after it works."""
    user = unique_user("revokeall")
    ensure_mailbox(server, ssl_ctx, user)
    old_token = server.token(user, cache=False)
    password, _ = new_app_password(server, user)
    idle_token = raw_idle(server, ssl_ctx, user, token=old_token)
    idle_app = raw_idle(server, ssl_ctx, user, password=password)
    smtp = RawSmtp(server.ports.submissions, ssl_ctx)
    smtp.cmd("EHLO test")
    code, _, _ = smtp.auth("XOAUTH2", tmproto.xoauth2(user, old_token))
    assert code == 235
    done = cli(server, "account", "revoke", user)
    assert "out everywhere" in done.stdout, done.stdout
    returned = time.monotonic()
    for s in (idle_token, idle_app):
        expect_bye(s, within=1.0)
    assert time.monotonic() - returned <= 1.5
    code, text = smtp.cmd("NOOP")
    assert code == 421 and b"4.7.0" in text[0], (code, text)
    assert app_password_rows(server, user) == []
    src = fresh_source_ip()
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=src)
    _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(user, old_token))
    assert status_of(tagged) == "NO", tagged
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=src)
    _, tagged = imap.command(f'LOGIN "{user}" "{password}"')
    assert status_of(tagged) == "NO", tagged
    # OAUTHBEARER tells the client why (RFC 7628 §3.2.2): invalid_token.
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=src)
    _, tagged, challenges = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(old_token, user))
    assert status_of(tagged) == "NO" and challenges, (tagged, challenges)
    assert tmproto.error_json(challenges[0])["status"] == "invalid_token"
    # A token issued after the command returned works.
    fresh = server.token(user, cache=False)
    imap = imap_login(server, ssl_ctx, user, fresh)
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    assert "already" not in cli(server, "account", "revoke", unique_user("ghost"), ok=False).stdout


def test_failed_app_passwords_are_rate_limited(server_factory, ssl_ctx):
    srv = server_factory(start=False)
    srv.cfg.setdefault("auth", {}).update(
        {"max_failures": 3, "failure_delay_ms": 10, "max_failure_delay_ms": 20})
    srv.write_config()
    srv.start()
    user = unique_user("guess")
    cli(srv, "account", "create", user)
    good, _ = new_app_password(srv, user)
    wrong = "abcd-efgh-jkmn-pqrs-tuvw-xyz0-2345"
    src = fresh_source_ip()
    outcomes = []
    for _ in range(5):
        try:
            imap = RawImap(srv.ports.imaps, ssl_ctx, source_ip=src)
            _, tagged = imap.command(f'LOGIN "{user}" "{wrong}"')
            outcomes.append(tagged)
            imap.close()
        except (EOFError, OSError) as e:
            outcomes.append(str(e).encode())
    assert any(b"UNAVAILABLE" in o or b"closed" in o for o in outcomes), outcomes
    # The blocked address cannot use even the right password now; others can.
    imap = RawImap(srv.ports.imaps, ssl_ctx, source_ip=src)
    _, tagged = imap.command(f'LOGIN "{user}" "{good}"')
    assert status_of(tagged) == "NO", tagged
    imap_password_login(srv, ssl_ctx, user, good).logout()
    wait_for(srv.alive, 1)
