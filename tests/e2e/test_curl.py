"""curl as the IMAP and SMTP client: `--oauth2-bearer` (OAUTHBEARER or XOAUTH2), and a token as
the password. `-v` shows which mechanism curl used; a failure prints curl's stderr."""

from __future__ import annotations

import shutil

import pytest

from tmclient import curl, ensure_mailbox

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


IGNORES_LOGIN_OPTIONS = ("this curl ignores --login-options AUTH=XOAUTH2 when --oauth2-bearer is "
                         "given (seen with curl 7.88.1) and used OAUTHBEARER")


def _ok(proc) -> str:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, f"curl exited {proc.returncode}\n{err}"
    return proc.stdout.decode(errors="replace")


def _sent_lines(proc) -> list[str]:
    """What curl -v reports it sent (`> ...` lines)."""
    return [l[2:] for l in proc.stderr.decode(errors="replace").splitlines() if l.startswith("> ")]


def _imap(url: str, user: str, token: str, *extra: str):
    return curl("-v", "--insecure", "--oauth2-bearer", token, "-u", f"{user}:", *extra, url)


def _message(sender: str, rcpt: str, subject: str) -> bytes:
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}.{sender}>\r\n"
            "Date: Thu, 05 Jan 2006 09:00:00 +0000\r\n\r\nHello from curl.\r\n").encode()


def test_imaps_list_with_oauthbearer(server, new_user):
    user = new_user("alice")
    proc = _imap(f"imaps://127.0.0.1:{server.ports.imaps}/", user, server.token(user))
    out = _ok(proc)
    for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert name in out, out
    sent = _sent_lines(proc)
    assert any("AUTHENTICATE OAUTHBEARER" in l for l in sent), sent


def test_imaps_inbox_url(server, new_user):
    user = new_user("alice")
    _ok(_imap(f"imaps://127.0.0.1:{server.ports.imaps}/INBOX", user, server.token(user)))


def test_imap_starttls_ssl_reqd(server, new_user):
    user = new_user("alice")
    proc = _imap(f"imap://127.0.0.1:{server.ports.imap}/", user, server.token(user), "--ssl-reqd")
    out = _ok(proc)
    assert "INBOX" in out, out
    assert any(l.split()[1:2] == ["STARTTLS"] for l in _sent_lines(proc)), _sent_lines(proc)


def test_imap_force_xoauth2(server, new_user):
    user = new_user("alice")
    proc = _imap(f"imaps://127.0.0.1:{server.ports.imaps}/", user, server.token(user),
                 "--login-options", "AUTH=XOAUTH2")
    assert "INBOX" in _ok(proc)
    sent = _sent_lines(proc)
    if any("AUTHENTICATE OAUTHBEARER" in l for l in sent):
        pytest.skip(IGNORES_LOGIN_OPTIONS)
    assert any("AUTHENTICATE XOAUTH2" in l for l in sent), sent


def test_imap_append_fetch_search(server, new_user, tmp_path):
    user = new_user("alice")
    token = server.token(user)
    msg = _message(user, user, "curl append")
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    base = f"imaps://127.0.0.1:{server.ports.imaps}/INBOX"
    _ok(_imap(base, user, token, "--upload-file", str(f)))
    assert _ok(_imap(f"{base};MAILINDEX=1", user, token)).encode() == msg
    out = _ok(_imap(base, user, token, "-X", "FETCH 1 (FLAGS)"))
    assert "FETCH" in out and "FLAGS" in out, out


def test_imap_search(server, new_user, tmp_path):
    user = new_user("alice")
    token = server.token(user)
    f = tmp_path / "m.eml"
    f.write_bytes(_message(user, user, "curl search"))
    base = f"imaps://127.0.0.1:{server.ports.imaps}/INBOX"
    _ok(_imap(base, user, token, "--upload-file", str(f)))
    assert "SEARCH 1" in _ok(_imap(f"{base}?ALL", user, token))


def test_imap_token_as_password(server, new_user):
    user = new_user("alice")
    proc = curl("-v", "--insecure", "-u", f"{user}:{server.token(user)}",
                f"imaps://127.0.0.1:{server.ports.imaps}/")
    assert "INBOX" in _ok(proc)


def test_imap_bad_token_fails(server, new_user):
    user = new_user("alice")
    proc = _imap(f"imaps://127.0.0.1:{server.ports.imaps}/", user, server.token(new_user("other")))
    assert proc.returncode != 0, proc.stdout


@pytest.mark.parametrize("variant", ["smtps", "starttls", "sasl-ir", "xoauth2", "xoauth2-sasl-ir"])
def test_smtp_send_then_read(server, ssl_ctx, new_user, tmp_path, variant):
    alice, bob = new_user("alice"), new_user("bob")
    ensure_mailbox(server, ssl_ctx, bob)
    msg = _message(alice, bob, f"curl {variant}")
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    if variant == "starttls":
        url, extra = f"smtp://127.0.0.1:{server.ports.submission}/client.example.test", ["--ssl-reqd"]
    else:
        url, extra = f"smtps://127.0.0.1:{server.ports.submissions}/client.example.test", []
    if "sasl-ir" in variant:
        extra.append("--sasl-ir")
    if "xoauth2" in variant:
        extra += ["--login-options", "AUTH=XOAUTH2"]
    proc = curl("-v", "--insecure", "--oauth2-bearer", server.token(alice), "-u", f"{alice}:",
                "--mail-from", alice, "--mail-rcpt", bob, "--upload-file", str(f), *extra, url)
    _ok(proc)
    sent = _sent_lines(proc)
    mech = "XOAUTH2" if "xoauth2" in variant else "OAUTHBEARER"
    ignored = mech == "XOAUTH2" and any(l.startswith("AUTH OAUTHBEARER") for l in sent)
    assert ignored or any(l.startswith(f"AUTH {mech}") for l in sent), sent
    if variant == "starttls":
        assert "STARTTLS" in sent, sent
    got = _ok(_imap(f"imaps://127.0.0.1:{server.ports.imaps}/INBOX;MAILINDEX=1", bob, server.token(bob)))
    assert f"Subject: curl {variant}" in got, got
    assert got.endswith("Hello from curl.\r\n"), got
    if ignored:
        pytest.skip(IGNORES_LOGIN_OPTIONS + " (the mail went through with OAUTHBEARER)")


def test_smtp_token_as_password(server, ssl_ctx, new_user, tmp_path):
    alice, bob = new_user("alice"), new_user("bob")
    ensure_mailbox(server, ssl_ctx, bob)
    f = tmp_path / "m.eml"
    f.write_bytes(_message(alice, bob, "curl password"))
    _ok(curl("--insecure", "-u", f"{alice}:{server.token(alice)}", "--mail-from", alice,
             "--mail-rcpt", bob, "--upload-file", str(f),
             f"smtps://127.0.0.1:{server.ports.submissions}/client.example.test"))
    got = _ok(_imap(f"imaps://127.0.0.1:{server.ports.imaps}/INBOX;MAILINDEX=1", bob, server.token(bob)))
    assert "Subject: curl password" in got
