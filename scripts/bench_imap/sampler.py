"""Memory sampler: `python3 sampler.py OUT ROOT_PID [INTERVAL_S]`.

Every INTERVAL_S (default 0.1 s) it finds ROOT_PID and all its descendants
(for Dovecot: the master `dovecot -F`, and so log, config, anvil, stats,
auth, imap-login and every `imap` process of this instance, whichever exist
at that moment; for tokenmail: its one process) and appends one line to OUT:

    <CLOCK_MONOTONIC seconds> <sum of VmRSS kB> <sum of Pss kB> <processes>

and, whenever the VmRSS sum is a new maximum, a line

    P <time> <rss sum> <pss sum> name:pid:rss:pss,...

naming what was counted. VmRSS counts each process's resident pages,
including shared libraries and shared memory once per process (so a sum
over many processes counts libdovecot.so and the like several times); Pss
divides each shared page among the processes mapping it, so the Pss sum is
the memory the set of processes really occupies. It runs until ROOT_PID is
gone or it gets SIGTERM. It is a separate process so that its work does not
hold the benchmark client's interpreter lock.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2:].split(b" ", 3)
        children.setdefault(int(rest[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS kB, Pss kB) of a live process."""
    try:
        name, rss = "?", 0
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Name:"):
                    name = line.split(None, 1)[1].strip().decode(errors="replace")
                elif line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                    break
        pss = 0
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
                    break
        return name, rss, pss
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    out_path, root = sys.argv[1], int(sys.argv[2])
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark stops us after the servers
    peak = -1
    with open(out_path, "w", buffering=1) as out:
        nxt = time.monotonic()
        while not stop and os.path.exists(f"/proc/{root}"):
            t = time.monotonic()
            procs = []
            for pid in descendants(root):
                m = memory(pid)
                if m:
                    procs.append((pid, *m))
            rss = sum(p[2] for p in procs)
            pss = sum(p[3] for p in procs)
            out.write(f"{t:.3f} {rss} {pss} {len(procs)}\n")
            if rss > peak:
                peak = rss
                detail = ",".join(f"{name}:{pid}:{r}:{p}" for pid, name, r, p in procs)
                out.write(f"P {t:.3f} {rss} {pss} {detail}\n")
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()


if __name__ == "__main__":
    main()
