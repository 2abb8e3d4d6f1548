"""Client-side helpers shared by the test modules: users, logins, waiting, curl, the IdP."""

from __future__ import annotations

import imaplib
import itertools
import json
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

import tmproto
from tmproto import RawImap, status_of
from tmserver import DOMAIN, REPO, RUNNING, Server

IDP_DIR = REPO / "tests" / "idp"

_user_seq = itertools.count(1)


def unique_user(prefix: str = "user") -> str:
    return f"{prefix}-{next(_user_seq)}-{secrets.token_hex(3)}@{DOMAIN}"


def imap_login(srv: Server, ctx: ssl.SSLContext, user: str, token: str | None = None,
               *, mechanism: str = "XOAUTH2") -> imaplib.IMAP4_SSL:
    """An authenticated imaplib connection on the implicit-TLS port."""
    token = token or srv.token(user)
    imap = imaplib.IMAP4_SSL("127.0.0.1", srv.ports.imaps, ssl_context=ctx, timeout=20)
    if mechanism == "XOAUTH2":
        initial = tmproto.xoauth2(user, token)
    elif mechanism == "OAUTHBEARER":
        initial = tmproto.oauthbearer(token, user)
    else:
        raise ValueError(mechanism)
    imap.authenticate(mechanism, tmproto.sasl_callback(mechanism, initial))
    return imap


def ensure_mailbox(srv: Server, ctx: ssl.SSLContext, user: str, token: str | None = None) -> None:
    """Logs `user` in once over IMAP: the first valid login creates the mailbox."""
    imap = imap_login(srv, ctx, user, token)
    imap.logout()


def smtp_login(srv: Server, ctx: ssl.SSLContext, user: str, token: str | None = None,
               *, tls: bool = True):
    token = token or srv.token(user)
    s = tmproto.smtp_client(srv.ports.submissions if tls else srv.ports.submission, ctx, tls=tls)
    s.auth("XOAUTH2", tmproto.smtp_xoauth2_cb(user, token), initial_response_ok=True)
    return s


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def raw_idle(srv, ctx, user: str, *, password: str | None = None, token: str | None = None):
    """A RawImap logged in (LOGIN with the app password, or XOAUTH2), INBOX selected, in IDLE."""
    imap = RawImap(srv.ports.imaps, ctx, timeout=20)
    if password is not None:
        _, tagged = imap.command(f'LOGIN "{user}" "{password}"')
    else:
        _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(user, token or srv.token(user)))
    assert status_of(tagged) == "OK", tagged
    _, tagged = imap.command("SELECT INBOX")
    assert status_of(tagged) == "OK", tagged
    imap.send(b"i1 IDLE\r\n")
    assert imap.readline().startswith(b"+"), "IDLE continuation"
    return imap


def expect_bye(imap: RawImap, within: float) -> bytes:
    """The next line is an untagged BYE, within `within` seconds; then the server closes."""
    imap.sock.settimeout(within)
    t0 = time.monotonic()
    line = imap.readline()
    took = time.monotonic() - t0
    assert line.startswith(b"* BYE"), line
    assert took <= within, took
    with pytest.raises((EOFError, OSError)):
        imap.sock.settimeout(5)
        imap.readline()
    return line


def still_open(imap: RawImap, wait: float = 0.5) -> bool:
    imap.sock.settimeout(wait)
    try:
        line = imap.readline()
    except TimeoutError:
        return True
    except (EOFError, OSError):
        return False
    raise AssertionError(f"unexpected line from a session that should go on: {line!r}")


# -- the real identity provider (oidc-provider on Node) -----------------------------------

class Idp:
    """The running `tests/idp/idp.mjs`: its issuer URL and a client-credentials token call."""

    def __init__(self, proc: subprocess.Popen, info: dict):
        self.proc = proc
        self.info = info
        self.issuer: str = info["issuer"]
        self.token_endpoint: str = info["token_endpoint"]

    def token(self, client: str = "alice", scope: str | None = "mail.read mail.send",
              resource: str | None = None) -> str:
        form = {"grant_type": "client_credentials", "client_id": client,
                "client_secret": f"{client}-secret"}
        if scope is not None:
            form["scope"] = scope
        if resource is not None:
            form["resource"] = resource
        req = urllib.request.Request(
            self.token_endpoint, data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.load(resp)
        assert body.get("token_type") == "Bearer", body
        return body["access_token"]


    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_idp(*args: str) -> Idp:
    """Starts `node tests/idp/idp.mjs --port 0 ARGS...` and waits for its ready line."""
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"oidc-provider is not installed: run `npm ci` in {IDP_DIR}", pytrace=False)
    proc = subprocess.Popen(
        ["node", str(IDP_DIR / "idp.mjs"), "--port", "0", *args], cwd=IDP_DIR,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not first or not first[0].strip():
        proc.kill()
        pytest.fail(f"the test IdP did not start: {proc.stderr.read()}", pytrace=False)
    info = json.loads(first[0])
    assert info.get("ready") is True, info
    return Idp(proc, info)


def curl(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs curl (text output) with a hard time limit; never reads stdin."""
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", str(int(timeout) - 2), *args],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
    )


def track(srv: Server) -> None:
    """Registers a server started by a test itself, so that a failure shows its stderr."""
    if srv not in RUNNING:
        RUNNING.append(srv)


def untrack(srv: Server) -> None:
    if srv in RUNNING:
        RUNNING.remove(srv)
