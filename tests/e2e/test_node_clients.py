"""Node's mail clients against the real server: imapflow (IMAP) and nodemailer (SMTP).

Each test runs `node tests/node/client.mjs COMMAND ...` (see that file), which drives the real
library and prints one JSON line. imapflow signs in with `auth: {user, accessToken}` and picks
OAUTHBEARER (initial response always sent); nodemailer with `auth: {type: 'OAuth2', user,
accessToken}`, which is XOAUTH2. Tokens come from the dev issuer (`server.token(user)`).
Failed logins use their own loopback source address, so that the server's per-address throttle
slows no other test.
"""

from __future__ import annotations

import base64
import imaplib
import email
import email.policy
import json
import queue
import re
import secrets
import subprocess
import threading
import time
from pathlib import Path

import pytest

import tmproto
from tmclient import ensure_mailbox, wait_for
from tmserver import HOSTNAME, REPO

NODE_DIR = REPO / "tests" / "node"
CLIENT = NODE_DIR / "client.mjs"
RUN_TIMEOUT = 25.0

DEFAULT_MAILBOXES = {"INBOX": None, "Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
                     "Junk": "\\Junk", "Archive": "\\Archive"}


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    """client.mjs needs imapflow and nodemailer installed (scripts/test runs `npm ci`)."""
    missing = [p for p in ("imapflow", "nodemailer") if not (NODE_DIR / "node_modules" / p).is_dir()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run `npm ci` in {NODE_DIR}", pytrace=False)


class Node:
    """Runs client.mjs against one server with the test certificate as the only trusted CA."""

    def __init__(self, server, ca: Path):
        self.server = server
        self.ca = ca

    def args(self, command: str, user: str, token: str, *, tls: str = "secure",
             local_address: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
        ports = self.server.ports
        port = {("imap", "secure"): ports.imaps, ("imap", "starttls"): ports.imap,
                ("smtp", "secure"): ports.submissions, ("smtp", "starttls"): ports.submission,
                }[(command.split("-")[0], tls)]
        args = ["node", str(CLIENT), command, "--host", "127.0.0.1", "--port", str(port),
                "--user", user, "--token", token, "--ca", str(self.ca), f"--{tls}",
                "--timeout", str(int(RUN_TIMEOUT) - 5), "--transcript"]
        if local_address:
            args += ["--local-address", local_address]
        return args + list(extra)

    def run(self, command: str, user: str, token: str, *, expect_ok: bool = True,
            **kw) -> dict:
        """Runs one command to its end; returns its JSON result (checked for ok/exit status)."""
        proc = subprocess.run(self.args(command, user, token, **kw), cwd=NODE_DIR,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        return self.result(proc.args, proc.returncode, proc.stdout, proc.stderr, expect_ok)

    def start(self, command: str, user: str, token: str, **kw) -> subprocess.Popen:
        return subprocess.Popen(self.args(command, user, token, **kw), cwd=NODE_DIR,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen, expect_ok: bool = True) -> dict:
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"client.mjs did not finish in {RUN_TIMEOUT}s\n{out}\n{err}")
        return self.result(proc.args, proc.returncode, out, err, expect_ok)

    @staticmethod
    def result(args, rc: int, out: str, err: str, expect_ok: bool) -> dict:
        shown = " ".join("TOKEN" if a.startswith("eyJ") else a for a in args[2:])
        lines = out.splitlines()
        try:
            assert len(lines) == 1, f"expected one JSON line, got {len(lines)}"
            res = json.loads(lines[0])
        except (AssertionError, ValueError) as e:
            raise AssertionError(f"client.mjs {shown}: {e}; exit {rc}\nstdout: {out}\n"
                                 f"stderr: {err}") from None
        report = json.dumps(res, indent=1)[:6000]
        if expect_ok:
            assert rc == 0 and res.get("ok") is True, f"client.mjs {shown} failed:\n{report}\n{err}"
        else:
            assert rc == 2 and res.get("ok") is False, (
                f"client.mjs {shown}: expected a reported failure (exit 2), got exit {rc}:\n"
                f"{report}\n{err}")
        return res


@pytest.fixture
def node(server, tls_files) -> Node:
    return Node(server, tls_files[0])


def server_log(server) -> str:
    return server.stderr_path.read_text(errors="replace")


def wait_log(server, pattern: str, what: str) -> re.Match:
    rx = re.compile(pattern)
    return wait_for(lambda: rx.search(server_log(server)), 3.0, what=f"server log: {what}")


def logged_in_line(user: str, tls: str = r"\w+") -> str:
    """The server's log line for an IMAP login of `user` (`tls`: the connection's span field)."""
    return rf'protocol="imap" tls={tls}\}}: .*logged in address="{re.escape(user)}"'


def tampered(token: str) -> str:
    """The same JWT with one character of its signature changed: well-formed, bad signature."""
    head, claims, sig = token.split(".")
    i = len(sig) // 2
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
    return ".".join((head, claims, sig))


def sent_commands(res: dict) -> list[str]:
    return [line[3:] for line in res["transcript"] if line.startswith("C: ")]


def mailboxes(res: dict) -> dict[str, dict]:
    return {m["path"]: m for m in res["mailboxes"]}


# -- signing in --------------------------------------------------------------------------

def test_imapflow_implicit_tls_login_and_special_use(server, node, new_user):
    user = new_user("alice")
    res = node.run("imap-list", user, server.token(user))
    assert res["secure"] and res["tls"]["authorized"], res["tls"]
    assert res["mechanisms"] == ["AUTH=OAUTHBEARER"], res["mechanisms"]
    auth = [c for c in sent_commands(res) if " AUTHENTICATE " in c]
    assert len(auth) == 1 and " AUTHENTICATE OAUTHBEARER " in auth[0], auth  # initial response
    wait_log(server, logged_in_line(user, tls="true"), f"{user} logged in over IMAPS")

    found = mailboxes(res)
    assert set(DEFAULT_MAILBOXES) <= set(found), found
    for name, special in DEFAULT_MAILBOXES.items():
        if special:
            assert found[name]["specialUse"] == special, found[name]
            assert special in found[name]["flags"], found[name]
    assert found["INBOX"]["specialUse"] == "\\Inbox", found["INBOX"]  # imapflow's own marker
    assert not set(DEFAULT_MAILBOXES.values()) & set(found["INBOX"]["flags"]), found["INBOX"]


def test_imapflow_starttls_login(server, node, new_user):
    user = new_user("alice")
    res = node.run("imap-list", user, server.token(user), tls="starttls")
    assert "info: Established TCP connection" in res["transcript"], res["transcript"]  # cleartext
    assert res["tls"] and res["tls"]["authorized"], res["tls"]  # then upgraded
    sent = sent_commands(res)
    starttls = next(i for i, c in enumerate(sent) if c.endswith(" STARTTLS"))
    auth = next(i for i, c in enumerate(sent) if " AUTHENTICATE OAUTHBEARER " in c)
    assert starttls < auth, sent
    assert res["mechanisms"] == ["AUTH=OAUTHBEARER"], res["mechanisms"]
    assert "INBOX" in mailboxes(res)
    wait_log(server, logged_in_line(user), f"{user} logged in over STARTTLS")


# -- messages ----------------------------------------------------------------------------

def test_imapflow_append_then_fetch(server, node, new_user, tmp_path):
    user = new_user("bob")
    mid = f"<node-append-{secrets.token_hex(4)}@example.test>"
    msg = (
        "From: Alice Example <alice@example.test>\r\n"
        f"To: {user}\r\n"
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from imapflow\r\n"
        "Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
        f"Message-ID: {mid}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "plain part\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>html part</p>\r\n"
        "\r\n"
        "--b1--\r\n"
    ).encode()
    path = tmp_path / "msg.eml"
    path.write_bytes(msg)
    token = server.token(user)

    res = node.run("imap-append", user, token, extra=(
        "--file", str(path), "--flags", "\\Flagged", "--date", "2006-01-02T15:04:05Z"))
    appended = res["append"]
    assert appended["destination"] == "INBOX", appended
    assert int(appended["uid"]) > 0 and int(appended["uidValidity"]) > 0, appended

    res = node.run("imap-fetch", user, token, extra=("--uid", str(appended["uid"])))
    assert res["mailbox"]["exists"] == 1 and res["mailbox"]["uidValidity"] == appended["uidValidity"]
    assert len(res["messages"]) == 1, res["messages"]
    m = res["messages"][0]
    assert m["uid"] == appended["uid"]
    assert set(m["flags"]) - {"\\Recent"} == {"\\Flagged"}, m["flags"]
    assert m["internalDate"] == "2006-01-02T15:04:05.000Z", m["internalDate"]
    assert m["size"] == len(msg)
    env = m["envelope"]
    assert env["subject"] == "Grüße from imapflow", env
    assert env["from"] == [{"name": "Alice Example", "address": "alice@example.test"}], env
    assert env["to"] == [{"name": "", "address": user}], env
    assert env["messageId"] == mid, env
    assert env["date"] == "2006-01-02T15:04:05.000Z", env
    bs = m["bodyStructure"]
    assert bs["type"] == "multipart/alternative", bs
    assert bs["parameters"]["boundary"] == "b1", bs
    parts = bs["childNodes"]
    assert [p["type"] for p in parts] == ["text/plain", "text/html"], bs
    assert [p["part"] for p in parts] == ["1", "2"], bs
    assert parts[0]["parameters"]["charset"] == "utf-8" and parts[0]["encoding"] == "7bit", parts
    assert parts[0]["size"] == len(b"plain part\r\n") and parts[0]["lineCount"] == 1, parts
    assert parts[1]["encoding"] == "quoted-printable", parts
    assert base64.b64decode(m["source"]) == msg, "FETCH BODY[] differs from what was appended"


def test_imapflow_idle_sees_nodemailer_delivery(server, node, new_user):
    alice, bob = new_user("alice"), new_user("bob")
    idler = node.start("imap-idle", bob, server.token(bob), extra=("--wait", "8"))
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in idler.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        try:
            first = lines.get(timeout=15)
        except queue.Empty:
            first = None
        if not first:
            idler.kill()
            raise AssertionError(f"imap-idle did not get ready: {idler.stderr.read()}")
        ready = json.loads(first)
        assert ready.get("ready") is True and ready["exists"] == 0, ready

        sent = node.run("smtp-send", alice, server.token(alice), extra=(
            "--from", alice, "--to", bob, "--subject", "wake up", "--text", "ping"))
        sent_at = time.monotonic()
        assert sent["accepted"] == [bob], sent
        try:
            line = lines.get(timeout=max(0.1, 3.0 - (time.monotonic() - sent_at)))
        except queue.Empty:
            line = None
        assert line, "no result from the IDLE client within 3 s of the delivery"
        rc = idler.wait(10)
        rest = []
        while (more := lines.get(timeout=5)) is not None:
            rest.append(more)
        res = Node.result(idler.args, rc, "".join([line, *rest]), idler.stderr.read(), True)
    finally:
        if idler.poll() is None:
            idler.kill()
            idler.wait()
    assert res["idleSent"], "imapflow did not use IDLE"
    event = res["event"]
    assert event["path"] == "INBOX" and event["count"] == 1 and event["prevCount"] == 0, event
    assert event["t"] - sent["t"] <= 3000, (
        f"exists event {event['t'] - sent['t']} ms after nodemailer's 250")


@pytest.mark.parametrize("tls", ["secure", "starttls"], ids=["implicit-tls", "starttls"])
def test_nodemailer_sends_imapflow_reads(server, ssl_ctx, node, new_user, tls):
    alice, bob = new_user("alice"), new_user("bob")
    ensure_mailbox(server, ssl_ctx, bob)
    subject = f"nodemailer {tls} {secrets.token_hex(4)}"
    mid = f"<nm-{secrets.token_hex(6)}@example.test>"
    sent = node.run("smtp-send", alice, server.token(alice), tls=tls, extra=(
        "--from", f"Alice <{alice}>", "--to", bob, "--subject", subject,
        "--text", "Hello Bob,\nfrom nodemailer.\n", "--message-id", mid))
    assert sent["response"].startswith("250"), sent
    assert sent["accepted"] == [bob] and not sent["rejected"], sent
    commands = sent_commands(sent)
    assert any(c.startswith("AUTH XOAUTH2 ") for c in commands), commands
    if tls == "starttls":
        assert commands.index("STARTTLS") < next(
            i for i, c in enumerate(commands) if c.startswith("AUTH ")), commands

    res = node.run("imap-fetch", bob, server.token(bob))
    assert len(res["messages"]) == 1, res["messages"]
    m = res["messages"][0]
    assert m["envelope"]["subject"] == subject, m["envelope"]
    assert m["envelope"]["messageId"] == mid, m["envelope"]
    assert m["envelope"]["from"] == [{"name": "Alice", "address": alice}], m["envelope"]
    raw = base64.b64decode(m["source"])
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    received = parsed.get_all("Received") or []
    assert received, raw[:600]
    first = " ".join(received[0].split())
    assert HOSTNAME in first, first
    assert raw.startswith((b"Received:", b"Return-Path:")), raw[:200]
    assert parsed.get_payload(decode=True).replace(b"\r\n", b"\n") == b"Hello Bob,\nfrom nodemailer.\n"
    assert "\\Seen" not in m["flags"], m["flags"]


# -- refusals ----------------------------------------------------------------------------

def test_bad_token_refused_then_good_login_works(server, ssl_ctx, node, new_user):
    user = new_user("alice")
    ensure_mailbox(server, ssl_ctx, user)
    good = server.token(user)
    bad = tampered(good)
    imap_ip, smtp_ip = tmproto.fresh_source_ip(), tmproto.fresh_source_ip()

    t0 = time.monotonic()
    imap = node.start("imap-list", user, bad, local_address=imap_ip)
    smtp = node.start("smtp-send", user, bad, local_address=smtp_ip,
                      extra=("--from", user, "--to", user, "--subject", "never sent"))
    imap_res, smtp_res = node.finish(imap, expect_ok=False), node.finish(smtp, expect_ok=False)
    assert time.monotonic() - t0 < 10, "refusals took too long"

    err = imap_res["error"]
    assert err["authenticationFailed"] is True, err
    assert err["serverResponseCode"] == "AUTHENTICATIONFAILED", err
    assert re.match(r"\S+ NO\b", err["response"]), err
    assert err["oauthError"]["status"] == "invalid_token", err  # RFC 7628 §3.2.2 error JSON
    assert "AQ== (Error response for OAUTHBEARER)" in [c for c in sent_commands(imap_res)], \
        imap_res["transcript"]

    err = smtp_res["error"]
    assert err["code"] == "EAUTH" and err["responseCode"] == 535, err
    assert err["response"].startswith("535 5.7.8"), err
    assert "MAIL FROM" not in " ".join(sent_commands(smtp_res)), smtp_res["transcript"]
    wait_log(server, rf"peer={re.escape(imap_ip)}:\d+ .*login failed reason=bad signature",
             "IMAP bad-signature refusal")
    wait_log(server, rf"peer={re.escape(smtp_ip)}:\d+ .*AUTH failed reason=bad signature",
             "SMTP bad-signature refusal")
    assert server.alive()

    # the same addresses, now with the right token: the failures slow them, they do not block
    imap = node.start("imap-list", user, good, local_address=imap_ip)
    smtp = node.start("smtp-send", user, good, local_address=smtp_ip,
                      extra=("--from", user, "--to", user, "--subject", "after the failures"))
    imap_res, smtp_res = node.finish(imap), node.finish(smtp)
    assert "INBOX" in mailboxes(imap_res)
    assert smtp_res["accepted"] == [user], smtp_res


def test_imapflow_user_other_than_tokens_address_refused(server, node, new_user):
    alice, bob = new_user("alice"), new_user("bob")
    src = tmproto.fresh_source_ip()
    res = node.run("imap-list", bob, server.token(alice), local_address=src, expect_ok=False)
    err = res["error"]
    assert err["authenticationFailed"] is True, err
    assert err["serverResponseCode"] == "AUTHENTICATIONFAILED", err
    assert "mailboxes" not in res
    wait_log(server, rf"peer={re.escape(src)}:\d+ .*SASL user does not match the token's address "
             rf'address="{re.escape(alice)}"', "the user mismatch")
    assert not re.search(logged_in_line(bob), server_log(server)), f"{bob} was logged in"


def test_imapflow_two_devices_sync_and_qresync(server, ssl_ctx, node, new_user, tmp_path):
    """imapflow as a phone with QRESYNC and IMAP4rev2: it syncs, hears another device's flag
    change, move, delete and new message while idling, then resyncs with one QRESYNC SELECT."""
    user = new_user("sync")
    token = server.token(user)
    for i in range(4):
        msg = tmp_path / f"m{i}.eml"
        msg.write_bytes(f"From: a@example.test\r\nSubject: m{i}\r\n\r\nbody {i}\r\n".encode())
        node.run("imap-append", user, token, extra=("--file", str(msg)))
    res = node.run("imap-sync", user, token, extra=("--wait", "8"))
    enabled = {e.upper() for e in res["enabled"]}
    assert {"QRESYNC", "IMAP4REV2"} <= enabled, res["enabled"]
    before = [m["uid"] for m in res["before"]]
    assert before == [1, 2, 3, 4]
    assert all(int(m["modseq"]) > 0 for m in res["before"])
    events = res["idleEvents"]
    vanished = sorted(e["uid"] for e in events if e["type"] == "expunge")
    assert vanished == [2, 3], events  # the move and the delete, as VANISHED (QRESYNC)
    assert all(e["vanished"] for e in events if e["type"] == "expunge"), events
    assert any(e["type"] == "flags" and e["uid"] == 1 and "\\Flagged" in e["flags"]
               for e in events), events
    assert any(e["type"] == "exists" and e["count"] == 3 for e in events), events
    assert res["moved"]["uidMap"] == {"2": 1} or res["moved"]["uidMap"] == [[2, 1]], res["moved"]
    new_uid = res["appended"]["uid"]
    resync = res["resync"]
    assert resync["qresync"] is True, resync
    # VANISHED (EARLIER) comes with the QRESYNC SELECT and again for the UID FETCH CHANGEDSINCE
    # that imapflow sends with the VANISHED modifier (RFC 7162 §3.2.5, §3.2.6).
    assert {e["uid"] for e in resync["events"] if e["type"] == "expunge"} == {2, 3}, resync
    assert all(e["earlier"] for e in resync["events"] if e["type"] == "expunge"), resync
    assert sorted(m["uid"] for m in resync["changed"]) == [1, new_uid], resync
    assert [m["uid"] for m in res["after"]] == [1, 4, new_uid]
    flagged = {m["uid"]: m["flags"] for m in res["after"]}
    assert flagged[1] == ["\\Flagged"] and flagged[4] == [], flagged
    # The Archive copy is there with the moved message.
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.ports.imaps, ssl_context=ssl_ctx, timeout=20)
    imap.authenticate("XOAUTH2", tmproto.sasl_callback("XOAUTH2", tmproto.xoauth2(user, token)))
    typ, data = imap.status("Archive", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 1)"), data
    imap.logout()
