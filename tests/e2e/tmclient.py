"""Client-side helpers shared by the test modules: users, logins, waiting, curl, the IdP."""

from __future__ import annotations

import imaplib
import itertools
import json
import secrets
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

import tmproto
from tmserver import DOMAIN, RUNNING, Server

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
