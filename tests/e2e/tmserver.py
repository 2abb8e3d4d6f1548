"""Runs the real `tokenmail` binary: config files, free ports, start, wait, stop, CLI calls."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOSTNAME = "mail.example.test"
DOMAIN = "example.test"
JWT_RE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
START_TIMEOUT = 20.0

#: Servers running now; a failing test report shows their stderr (see conftest).
RUNNING: list["Server"] = []


def binary() -> Path:
    """`$TOKENMAIL_BIN`, else `target/release/tokenmail` in the repository."""
    env = os.environ.get("TOKENMAIL_BIN")
    path = Path(env) if env else REPO / "target" / "release" / "tokenmail"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"tokenmail binary not found at {path}: run `cargo build --release` "
            "(or set TOKENMAIL_BIN)"
        )
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def toml_value(v: Any) -> str:
    """TOML for the simple values a config uses (JSON strings are valid TOML basic strings)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def render_toml(cfg: dict) -> str:
    """Renders top-level keys, `[tables]` and `[[arrays of tables]]` (one level deep)."""
    top, tables, arrays = [], [], []
    for k, v in cfg.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            top.append(f"{k} = {toml_value(v)}")
    out = top[:]
    for k, v in tables:
        out.append(f"\n[{k}]")
        out += [f"{kk} = {toml_value(vv)}" for kk, vv in v.items()]
    for k, items in arrays:
        for item in items:
            out.append(f"\n[[{k}]]")
            out += [f"{kk} = {toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(out) + "\n"


def issuer_block(issuer: str, *, jwks_uri: str | None = None, audience: str = "tokenmail",
                 user_claim: str = "email", read_scope: str = "mail.read",
                 send_scope: str = "mail.send") -> dict:
    block = {"issuer": issuer}
    if jwks_uri:
        block["jwks_uri"] = jwks_uri
    block.update(audience=audience, user_claim=user_claim, read_scope=read_scope,
                 send_scope=send_scope)
    return block


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all sockets stay bound until every port is chosen."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Ports:
    """The loopback ports of one server: IMAP (STARTTLS), IMAPS, submission (STARTTLS),
    submissions (implicit TLS) and the dev issuer's HTTP."""

    imap: int
    imaps: int
    submission: int
    submissions: int
    dev: int

    @classmethod
    def pick(cls) -> "Ports":
        return cls(*free_ports(5))


def make_config(workdir: Path, cert: Path, key: Path, *, ports: Ports | None = None,
                issuers: list[dict] | None = None, dev_issuer: bool = True) -> dict:
    """A full config dict: every listener on a free loopback port, data in `workdir/data`."""
    ports = ports or Ports.pick()
    cfg: dict[str, Any] = {
        "hostname": HOSTNAME,
        "domains": [DOMAIN],
        "data_dir": str(workdir / "data"),
        "tls": {"cert": str(cert), "key": str(key)},
        "imap": {"listen": [f"127.0.0.1:{ports.imap}"], "listen_tls": [f"127.0.0.1:{ports.imaps}"]},
        "submission": {
            "listen": [f"127.0.0.1:{ports.submission}"],
            "listen_tls": [f"127.0.0.1:{ports.submissions}"],
        },
    }
    if issuers:
        cfg["issuer"] = issuers
    if dev_issuer:
        cfg["dev_issuer"] = {
            "issuer": f"http://127.0.0.1:{ports.dev}/dev",
            "key": str(workdir / "dev.pem"),
        }
    return cfg


def run_cli(*args: str, timeout: float = 30.0, check: bool = False) -> subprocess.CompletedProcess:
    """Runs `tokenmail ARGS...` with no stdin and returns the finished process (text mode)."""
    proc = subprocess.run(
        [str(binary()), *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"tokenmail {' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


class Server:
    """One `tokenmail serve --config FILE` process with its config, ports and data dir."""

    def __init__(self, workdir: Path, cert: Path, key: Path, *, issuers: list[dict] | None = None,
                 dev_issuer: bool = True):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = cert, key
        self.ports = Ports.pick()
        self.cfg = make_config(workdir, cert, key, ports=self.ports, issuers=issuers,
                               dev_issuer=dev_issuer)
        self.config_path = workdir / "tokenmail.toml"
        self.write_config()
        self.proc: subprocess.Popen | None = None
        self.stderr_path = workdir / "stderr-0.log"
        self.starts = 0
        self._tokens: dict[tuple, str] = {}

    # -- addresses ---------------------------------------------------------------------------
    @property
    def dev_issuer_url(self) -> str:
        return self.cfg["dev_issuer"]["issuer"]

    @property
    def data_dir(self) -> Path:
        return Path(self.cfg["data_dir"])

    def listen_ports(self) -> list[int]:
        """Every port the config makes the server listen on (listeners and the dev issuer)."""
        ports = []
        for section in ("imap", "submission"):
            for key in ("listen", "listen_tls"):
                for addr in self.cfg.get(section, {}).get(key, []):
                    ports.append(int(addr.rsplit(":", 1)[1]))
        if "dev_issuer" in self.cfg:
            ports.append(int(self.cfg["dev_issuer"]["issuer"].split(":")[2].split("/")[0]))
        return ports

    def write_config(self) -> None:
        """Writes `self.cfg` to the config file (call after changing `cfg`)."""
        self.config_path.write_text(render_toml(self.cfg))

    # -- life cycle --------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.stderr_path = self.workdir / f"stderr-{self.starts}.log"
        self.starts += 1
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("NO_COLOR", "1")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(binary()), "serve", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        waiting = set(self.listen_ports())
        while waiting:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"tokenmail serve exited with {self.proc.returncode} before listening\n"
                    f"{self.stderr()}"
                )
            waiting = {p for p in waiting if not port_open(p)}
            if not waiting:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"tokenmail serve did not listen on {sorted(waiting)} within {timeout}s\n"
                    f"{self.stderr()}"
                )
            time.sleep(0.05)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code (kills and fails after `timeout`)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"tokenmail serve did not stop within {timeout}s of SIGTERM\n{self.stderr()}"
                )
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss would stop it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stderr(self, limit: int = 4000) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr)"
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        return f"--- tokenmail stderr ({self.stderr_path}) ---\n{text}"

    # -- dev issuer tokens -------------------------------------------------------------------
    def token(self, user: str, scope: str | None = None, ttl: int | None = None,
              cache: bool = True) -> str:
        """A token from `tokenmail token --config FILE --user USER` (dev issuer)."""
        key = (user, scope, ttl)
        if cache and key in self._tokens:
            return self._tokens[key]
        args = ["token", "--config", str(self.config_path), "--user", user]
        if scope is not None:
            args += ["--scope", scope]
        if ttl is not None:
            args += ["--ttl", str(ttl)]
        proc = run_cli(*args, check=True)
        found = JWT_RE.findall(proc.stdout)
        if len(found) != 1:
            raise AssertionError(f"expected one JWT on stdout of `tokenmail token`: {proc.stdout!r}")
        self._tokens[key] = found[0]
        return found[0]
