"""What the benchmark scripts share: logging, finding the tokenmail binary,
installing the peers from Debian, describing the machine, CPU accounting,
and the memory sampler (a separate process, see sampler.py) with the
queries the reports make of its output."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tokenmail_binary() -> Path:
    env = os.environ.get("TOKENMAIL_BIN")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            sys.exit(f"bench: TOKENMAIL_BIN={env} is not an executable file")
        return path.resolve()
    path = REPO / "target" / "release" / "tokenmail"
    if not path.is_file():
        log(f"{path} missing: cargo build --release")
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True, stdin=subprocess.DEVNULL)
    return path


def ensure_packages(packages: dict[str, str]) -> None:
    """Installs from Debian each package whose marker file (the value) is missing."""
    missing = [pkg for pkg, marker in packages.items() if not Path(marker).exists()]
    if not missing:
        return
    log(f"missing: apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if "postfix" in missing:
        # No questions, and no system instance configured: the benchmark
        # starts its own with its own config directory.
        subprocess.run(["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select No configuration\n",
                       check=True)
    for cmd in (["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
        subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL)


def ensure_dovecot() -> None:
    ensure_packages({"dovecot-imapd": "/usr/lib/dovecot/imap"})


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version()}



def cpu_busy_seconds() -> float:
    """Non-idle CPU time of the whole machine since boot (all CPUs), from /proc/stat."""
    f = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    v = [int(x) for x in f]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    steal = v[7] if len(v) > 7 else 0
    return (sum(v[:8]) - idle - steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU of this script and of its waited-for children (servers, samplers, CLI calls;
    Dovecot's master waits for its own children, so they are included)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Sampler:
    def __init__(self, server, out: Path):
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "sampler.py"), str(out), str(server.pid), "0.1"],
            stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def latest(self) -> tuple[int, int]:
        """(VmRSS sum, Pss sum) in kB of the last sample."""
        try:
            for line in reversed(self.out.read_text().splitlines()):
                parts = line.split()
                if len(parts) >= 3 and parts[0] != "P":
                    return int(parts[1]), int(parts[2])
        except OSError:
            pass
        return 0, 0

    def at(self, when: float) -> int:
        """The VmRSS sum (kB) of the first sample at or after `when`."""
        try:
            for line in self.out.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] != "P" and float(parts[0]) >= when:
                    return int(parts[1])
        except OSError:
            pass
        return 0

    def peak(self, since: float = 0.0, until: float = float("inf")) -> dict:
        best = {"rss": 0, "pss": 0, "t": None, "detail": ""}
        pss_peak = 0
        detail = {}
        try:
            lines = self.out.read_text().splitlines()
        except OSError:
            return best
        for line in lines:
            parts = line.split()
            if parts and parts[0] == "P":
                detail[parts[1]] = parts[4] if len(parts) > 4 else ""
                continue
            if len(parts) < 3:
                continue
            t = float(parts[0])
            if not since <= t <= until:
                continue
            rss, pss = int(parts[1]), int(parts[2])
            pss_peak = max(pss_peak, pss)
            if rss > best["rss"]:
                best.update(rss=rss, t=parts[0])
        best["pss"] = pss_peak
        best["detail"] = detail.get(best["t"], "") if best["t"] else ""
        best["samples"] = len(lines)
        return best


