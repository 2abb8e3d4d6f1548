"""The fsync behind every acknowledgement, seen from outside: `strace` watches the running
server's sync calls while a client APPENDs and submits one message at a time. A SIGKILL leaves
the page cache intact, so the crash loop alone cannot show that an acknowledged message was on
disk; this does: between sending each message and reading its APPEND OK or SMTP 250, the
server completed an fdatasync of the message's file and an fdatasync of the database log
(`store/db`).

sled 0.34 alone writes its log with sync_file_range(2), which flushes neither the disk cache
nor the file size; its own fsync runs every 500 ms. Before tokenmail fsynced the log itself
(store/flush.rs), this test failed: the only syncs inside each window were the message
file's."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from tmclient import ensure_mailbox, imap_login, smtp_login, unique_user

pytestmark = pytest.mark.slow

SYNC_LINE = re.compile(
    r"^(\d+)\s+(\d+\.\d+)\s+(fsync|fdatasync)\(\d+<([^>]*)>\)\s+=\s+0\s+<(\d+\.\d+)>")
# With several threads syncing at once strace splits a call in two lines.
UNFINISHED = re.compile(
    r"^(\d+)\s+(\d+\.\d+)\s+(fsync|fdatasync)\(\d+<([^>]*)>\s*<unfinished \.\.\.>")
RESUMED = re.compile(
    r"^(\d+)\s+(\d+\.\d+)\s+<\.\.\. (fsync|fdatasync) resumed>\s*\)\s+=\s+0\s+<(\d+\.\d+)>")


def _message(user: str, n: int) -> bytes:
    return (f"From: {user}\r\nTo: {user}\r\nSubject: fsync {n}\r\n"
            f"Message-ID: <fsync-{n}.{user}>\r\n\r\nbody {n}\r\n").encode()


def _syncs(path) -> list[tuple[float, float, str]]:
    """(start, end, file) of every successful fsync/fdatasync strace recorded."""
    out = []
    pending: dict[str, tuple[float, str]] = {}
    for line in path.read_text().splitlines():
        if m := SYNC_LINE.match(line):
            start = float(m.group(2))
            out.append((start, start + float(m.group(5)), m.group(4)))
        elif m := UNFINISHED.match(line):
            pending[m.group(1)] = (float(m.group(2)), m.group(4))
        elif (m := RESUMED.match(line)) and m.group(1) in pending:
            start, file = pending.pop(m.group(1))
            out.append((start, start + float(m.group(4)), file))
    return out


def test_every_acknowledgement_follows_an_fsync(server_factory, ssl_ctx, tmp_path):
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (scripts/test installs it)")
    srv = server_factory()
    user = unique_user("fsync")
    ensure_mailbox(srv, ssl_ctx, user)
    imap = imap_login(srv, ssl_ctx, user)
    smtp = smtp_login(srv, ssl_ctx, user)
    trace = tmp_path / "strace.txt"
    tracer = subprocess.Popen(
        ["strace", "-f", "-qq", "-y", "-ttt", "-T", "-e", "trace=fsync,fdatasync",
         "-o", str(trace), "-p", str(srv.proc.pid)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # strace attaches to every thread
        assert tracer.poll() is None, tracer.stderr.read().decode()
        windows: list[tuple[str, float, float]] = []
        for n in range(10):
            t0 = time.time()
            typ, data = imap.append("INBOX", None, None, _message(user, n))
            windows.append((f"APPEND {n}", t0, time.time()))
            assert typ == "OK", data
        for n in range(10, 20):
            t0 = time.time()
            assert smtp.sendmail(user, [user], _message(user, n)) == {}
            windows.append((f"SMTP {n}", t0, time.time()))
        time.sleep(0.3)
    finally:
        tracer.terminate()
        tracer.wait(10)
        imap.logout()
        smtp.quit()
    syncs = _syncs(trace)
    assert syncs, f"strace saw no fsync at all: {trace.read_text()[:2000]}"
    def synced(t0: float, t1: float, want) -> bool:
        return any(t0 <= start and end <= t1 and want(f) for start, end, f in syncs)

    no_log = [name for name, t0, t1 in windows
              if not synced(t0, t1, lambda f: f.endswith("/store/db"))]
    assert not no_log, f"acknowledged before the database log was fsynced: {no_log}"
    no_file = [name for name, t0, t1 in windows
               if not synced(t0, t1, lambda f: "/store/messages/" in f)]
    assert not no_file, f"acknowledged before the message file was synced: {no_file}"
    print(f"{len(windows)} acknowledgements, {len(syncs)} fsync/fdatasync calls")
