"""Crash safety, by a loop: SMTP submissions and IMAP APPENDs run while the server is killed
with SIGKILL at random moments, 50 times (TOKENMAIL_CRASH_KILLS to change). After every
restart: each acknowledged message (SMTP 250, APPEND OK) is present exactly once, the UID an
APPENDUID gave is still its UID, UIDVALIDITY never changes, UIDs stay unique and every message
that arrived since the last restart has a UID above all earlier ones; the store opens cleanly
(the server starts and logs no error)."""

from __future__ import annotations

import imaplib
import os
import random
import re
import smtplib
import threading
import time

import pytest

from tmclient import ensure_mailbox, imap_login, smtp_login, unique_user
from tmproto import fetch_map, response_code

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("TOKENMAIL_CRASH_KILLS", "50"))
SEED = int(os.environ.get("TOKENMAIL_CRASH_SEED", "20261202"))


def _message(sender: str, rcpt: str, mid: str) -> bytes:
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: crash {mid}\r\n"
            f"Message-ID: <{mid}>\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\n\r\n"
            f"body of {mid}\r\n" + "filler line\r\n" * 20).encode()


def _inbox(server, ctx, user: str) -> tuple[int, dict[str, int]]:
    """(UIDVALIDITY, {Message-ID: UID}) of `user`'s INBOX; fails on a message stored twice."""
    imap = imap_login(server, ctx, user)
    try:
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK", data
        uidvalidity = int(imap.untagged_responses["UIDVALIDITY"][0])
        out: dict[str, int] = {}
        if int(data[0]) == 0:
            return uidvalidity, out
        typ, data = imap.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK", data
        for attrs in fetch_map(data).values():
            header = next(v for k, v in attrs.items() if k.startswith("BODY["))
            m = re.search(rb"<([^>]+)>", header)
            assert m, header
            mid = m.group(1).decode()
            assert mid not in out, f"{mid} is stored twice (UIDs {out[mid]} and {attrs['UID']})"
            out[mid] = int(attrs["UID"])
        return uidvalidity, out
    finally:
        imap.logout()


class Traffic:
    """Submitters and appenders that run until stopped or until the server dies under them,
    recording what the server acknowledged."""

    def __init__(self, srv, ctx, alice: str, bob: str, round_no: int):
        self.srv, self.ctx, self.alice, self.bob, self.round = srv, ctx, alice, bob, round_no
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[str, int | None] = {}  # Message-ID -> APPENDUID (None for SMTP)
        self.threads = [threading.Thread(target=self._submit, args=(t,)) for t in range(2)]
        self.threads += [threading.Thread(target=self._append, args=(t,)) for t in range(2)]

    def start(self) -> None:
        for th in self.threads:
            th.start()

    def finish(self) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(20)
            assert not th.is_alive(), "a client thread hung after the kill"

    def _submit(self, t: int) -> None:
        try:
            smtp = smtp_login(self.srv, self.ctx, self.alice)
            i = 0
            while not self.stop.is_set():
                mid = f"r{self.round}-smtp{t}-{i}.{self.alice}"
                i += 1
                if smtp.sendmail(self.alice, [self.bob], _message(self.alice, self.bob, mid)) == {}:
                    with self.lock:
                        self.acked[mid] = None
        except (OSError, smtplib.SMTPException, EOFError):
            pass  # the kill

    def _append(self, t: int) -> None:
        try:
            imap = imap_login(self.srv, self.ctx, self.bob)
            i = 0
            while not self.stop.is_set():
                mid = f"r{self.round}-append{t}-{i}.{self.bob}"
                i += 1
                typ, data = imap.append("INBOX", None, None, _message(self.bob, self.bob, mid))
                if typ == "OK":
                    code = response_code(data[-1])
                    assert code and code[0].upper() == "APPENDUID", data
                    with self.lock:
                        self.acked[mid] = int(code[2])
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
            pass  # the kill


def test_acknowledged_mail_survives_sigkill_at_random_moments(server_factory, ssl_ctx):
    rng = random.Random(SEED)
    srv = server_factory()
    alice, bob = unique_user("alice"), unique_user("bob")
    ensure_mailbox(srv, ssl_ctx, alice)
    ensure_mailbox(srv, ssl_ctx, bob)
    uidvalidity, before = _inbox(srv, ssl_ctx, bob)
    acked: dict[str, int | None] = {}
    highest = max(before.values(), default=0)
    acked_total = 0
    for round_no in range(KILLS):
        traffic = Traffic(srv, ssl_ctx, alice, bob, round_no)
        traffic.start()
        time.sleep(rng.uniform(0.05, 0.8))
        srv.kill()
        traffic.finish()
        acked.update(traffic.acked)
        acked_total += len(traffic.acked)

        srv.start()
        log = srv.stderr(limit=200_000)
        assert " ERROR " not in log and "panicked" not in log, log[-3000:]
        validity_now, now = _inbox(srv, ssl_ctx, bob)
        assert validity_now == uidvalidity, f"round {round_no}: UIDVALIDITY changed"
        lost = sorted(set(acked) - set(now))
        assert not lost, f"round {round_no}: {len(lost)} acknowledged messages lost: {lost[:5]}"
        for mid, uid in acked.items():
            if uid is not None:
                assert now[mid] == uid, f"round {round_no}: {mid} was UID {uid}, now {now[mid]}"
        for mid, uid in before.items():
            assert now.get(mid) == uid, f"round {round_no}: {mid} moved from UID {uid}"
        arrived = [uid for mid, uid in now.items() if mid not in before]
        assert all(uid > highest for uid in arrived), (
            f"round {round_no}: a UID at or below {highest} was handed out again")
        assert len(set(now.values())) == len(now)
        highest = max(now.values(), default=highest)
        before = now
    print(f"{KILLS} kills, {acked_total} acknowledged messages, {len(before)} stored")
    assert acked_total >= KILLS, "too little traffic reached the server to prove anything"


def test_sigterm_under_load_exits_cleanly_and_keeps_everything(server_factory, ssl_ctx):
    """CONTRACT.md `serve`: SIGTERM stops accepting, ends the sessions, flushes and exits 0,
    also while clients are submitting and appending; a restart serves the same state."""
    srv = server_factory()
    alice, bob = unique_user("alice"), unique_user("bob")
    ensure_mailbox(srv, ssl_ctx, alice)
    ensure_mailbox(srv, ssl_ctx, bob)
    uidvalidity, before = _inbox(srv, ssl_ctx, bob)
    acked: dict[str, int | None] = {}
    for round_no in range(5):
        traffic = Traffic(srv, ssl_ctx, alice, bob, round_no)
        traffic.start()
        time.sleep(0.5)
        started = time.monotonic()
        rc = srv.stop()
        took = time.monotonic() - started
        traffic.finish()
        assert rc == 0, f"round {round_no}: exit status {rc}\n{srv.stderr()}"
        assert took < 15, f"round {round_no}: SIGTERM took {took:.1f} s"
        acked.update(traffic.acked)
        assert traffic.acked, f"round {round_no}: no traffic before the stop"
        srv.start()
        validity_now, now = _inbox(srv, ssl_ctx, bob)
        assert validity_now == uidvalidity
        lost = sorted(set(acked) - set(now))
        assert not lost, f"round {round_no}: {len(lost)} acknowledged messages lost: {lost[:5]}"
        for mid, uid in acked.items():
            if uid is not None:
                assert now[mid] == uid
        for mid, uid in before.items():
            assert now.get(mid) == uid
        before = now
