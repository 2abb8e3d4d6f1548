"""The servers under test, each started by a benchmark on loopback with its
own configuration, data, certificate, ports and logs in the work dir.

Nothing here touches a system service: Dovecot runs in the foreground
(`dovecot -F -c FILE`) as a child of the benchmark, with its own base_dir,
state_dir, instance_name, log files and one imaps listener on a free
127.0.0.1 port; Postfix runs as `postfix -c DIR start-fg` with its own
config directory, queue and maildir; tokenmail runs as
`tokenmail serve --config FILE`.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
USER = "bench@example.test"
JWT_RE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for localhost / 127.0.0.1 / ::1 (PKCS#8 key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not (cert.exists() and key.exists()):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        key.chmod(0o600)
    return cert, key


def wait_listening(proc: subprocess.Popen, ports: list[int], what: str, log: Path,
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(ports)
    while waiting:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening; "
                               f"see {log}:\n{tail(log)}")
        waiting = {p for p in waiting if not port_open(p)}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {sorted(waiting)} within {timeout}s; "
                               f"see {log}:\n{tail(log)}")
        time.sleep(0.05)


def tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def children_of(root: int) -> list[int]:
    """All live descendants of `root` (not `root` itself)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    st = f.read()
            except OSError:
                continue
            kids.setdefault(int(st[st.rfind(b")") + 2:].split(b" ", 3)[1]), []).append(int(entry))
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def vm_hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Server:
    name = "?"
    proc: subprocess.Popen | None = None
    port = 0
    user = USER
    password = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_findings(self) -> list[str]:
        return []


class Tokenmail(Server):
    name = "tokenmail"

    def __init__(self, binary: Path, workdir: Path, cert: Path, key: Path):
        self.binary, self.dir, self.cert, self.key = binary, workdir, cert, key
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "tokenmail.toml"
        self.log = self.dir / "stderr.log"
        ports = free_ports(5)
        self.port = ports[1]
        self.submission_port = ports[3]
        self.ports = ports
        self.config.write_text(f"""# Written by a benchmark script (scripts/bench-*).
hostname = "localhost"
domains = ["example.test"]
data_dir = {json.dumps(str(self.dir / "data"))}

[tls]
cert = {json.dumps(str(cert))}
key = {json.dumps(str(key))}

[imap]
listen = ["{HOST}:{ports[0]}"]
listen_tls = ["{HOST}:{ports[1]}"]

[submission]
listen = ["{HOST}:{ports[2]}"]
listen_tls = ["{HOST}:{ports[3]}"]

[dev_issuer]
issuer = "http://{HOST}:{ports[4]}/dev"
key = {json.dumps(str(self.dir / "dev-issuer.pem"))}

# The idle row opens thousands of sessions of one account from one
# address; the defaults (100 per address, 50 per account) would refuse them.
[limits]
max_connections_per_ip = 20000
max_connections_per_account = 20000
""")

    def version(self) -> str:
        p = subprocess.run([str(self.binary), "--version"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or p.stderr.strip()

    def start(self) -> None:
        env = dict(os.environ, NO_COLOR="1", RUST_BACKTRACE="1")
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env, start_new_session=True)
        wait_listening(self.proc, self.ports, "tokenmail serve", self.log)
        p = subprocess.run(
            [str(self.binary), "token", "--config", str(self.config), "--user", self.user,
             "--ttl", "86400"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        found = JWT_RE.findall(p.stdout)
        if p.returncode != 0 or len(found) != 1:
            raise RuntimeError(f"tokenmail token failed ({p.returncode}): {p.stdout} {p.stderr}")
        self.password = found[0]

    def vm_hwm_kb(self) -> int | None:
        return vm_hwm_kb(self.pid) if self.alive() else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            print(f"tokenmail (pid {self.pid}) did not stop within 60 s of SIGTERM; killing it",
                  file=sys.stderr)
            self.proc.kill()
            self.proc.wait(10)

    def log_findings(self) -> list[str]:
        out = []
        for line in tail(self.log, 10_000_000).splitlines():
            if re.search(r"\b(WARN|ERROR)\b|panicked", line):
                out.append(line.strip())
        return out


class Dovecot(Server):
    """Dovecot 2.3 with Debian's defaults except what a private loopback instance needs.

    Mail processes cannot run as root: Dovecot 2.3's `imap` sets
    MAIL_STORAGE_SERVICE_FLAG_DISALLOW_ROOT whatever the configuration says
    ("Couldn't drop privileges: Mail access not allowed for root"), and its
    passwd-file userdb rejects UID 0. So the passwd-file user has the uid and
    gid of `nobody`/`nogroup` (no user is created), which owns the maildir.
    """

    name = "dovecot"
    binary = "/usr/sbin/dovecot"

    def __init__(self, workdir: Path, cert: Path, key: Path, sessions: int = 0):
        self.dir, self.cert, self.key = workdir, cert, key
        # Room for `sessions` idle connections at once: one imap-login and one
        # imap process each (Dovecot's default high-security login mode).
        procs = max(100, sessions + 50)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.config = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"
        self.stderr = self.dir / "stderr.log"
        self.home = self.dir / "home"
        self.password = "bench-" + os.urandom(6).hex()
        self.port = free_ports(1)[0]
        try:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        except KeyError:
            self.uid = self.gid = 65534
        for d in ("run", "state"):
            (self.dir / d).mkdir(exist_ok=True)
        self.home.mkdir(exist_ok=True)
        os.chown(self.home, self.uid, self.gid)
        check_reachable(self.home, self.uid)
        users = self.dir / "users"
        users.write_text(f"{self.user}:{{PLAIN}}{self.password}:{self.uid}:{self.gid}::{self.home}::\n")
        users.chmod(0o644)  # read by the auth process (user dovecot); a throwaway password
        self.instance = f"bench-imap-{os.getpid()}"
        self.config.write_text(f"""# Written by scripts/bench-imap: a private Dovecot on loopback.
# Caching and indexing are Dovecot's defaults; no FTS plugin is loaded, so
# SEARCH TEXT/BODY read the message files (no full-text index).
instance_name = {self.instance}
base_dir = {self.dir / "run"}
state_dir = {self.dir / "state"}
protocols = imap
listen = {HOST}
log_path = {self.log}
info_log_path = {self.log}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
mail_location = maildir:~/Maildir
service imap-login {{
  process_limit = {procs}
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.port}
    ssl = yes
  }}
}}
default_process_limit = {procs}
default_client_limit = {2 * procs + 500}
service imap {{
  process_limit = {procs}
}}
protocol imap {{
  # Default 10; the benchmark opens many connections at once.
  mail_max_userip_connections = {procs}
}}
""")

    def version(self) -> str:
        p = subprocess.run([self.binary, "--version"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        return "Dovecot " + p.stdout.strip()

    def start(self) -> None:
        with open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        wait_listening(self.proc, [self.port], "dovecot", self.stderr)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            kids = children_of(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            # Processes of this instance that outlived the master: end them by pid.
            deadline = time.monotonic() + 5
            for pid in kids:
                while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
                    time.sleep(0.05)
                if os.path.exists(f"/proc/{pid}") and self._ours(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass

    def _ours(self, pid: int) -> bool:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return self.instance.encode() in cmd or b"dovecot" in cmd

    def log_findings(self) -> list[str]:
        out = []
        text = tail(self.log, 10_000_000) + tail(self.stderr, 1_000_000)
        for line in text.splitlines():
            if re.search(r"\b(Error|Fatal|Panic|Warning):", line) and \
                    "Killed with signal 15" not in line:  # our SIGTERM at the end
                out.append(line.strip())
        return out


class Postfix(Server):
    """Postfix 3 from Debian as a private instance with local delivery.

    Its own config directory, queue_directory and data_directory in the work
    dir (`postfix -c DIR start-fg`, in the foreground as a child of the
    benchmark; no chroot), one smtpd on a free 127.0.0.1 port with implicit
    TLS (`smtpd_tls_wrappermode`, as on port 465), clients from 127.0.0.0/8
    allowed to send without AUTH (Postfix has no SASL of its own; a site would
    add Dovecot's), and virtual(8) delivery of `bench@example.test` into a
    maildir owned by `nobody`. Postfix answers 250 once the queue file is
    fsynced, before delivery; `delivered()` counts what reached the maildir.
    """

    name = "postfix"

    def __init__(self, workdir: Path, cert: Path, key: Path):
        self.dir = workdir
        self.conf = self.dir / "conf"
        self.mail = self.dir / "mail"
        self.log = self.dir / "postfix.log"
        for d in (self.conf, self.dir / "queue", self.dir / "data", self.mail):
            d.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        pw = pwd.getpwnam("postfix")
        os.chown(self.dir / "data", pw.pw_uid, pw.pw_gid)
        try:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
        except KeyError:
            uid = gid = 65534
        os.chown(self.mail, uid, gid)
        check_reachable(self.mail, uid)
        self.port = free_ports(1)[0]
        (self.conf / "main.cf").write_text(f"""# Written by a benchmark script: a private Postfix on loopback.
compatibility_level = 3.6
queue_directory = {self.dir / "queue"}
data_directory = {self.dir / "data"}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log}
maillog_file_prefixes = {self.dir}
inet_interfaces = {HOST}
inet_protocols = ipv4
myhostname = localhost
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
virtual_mailbox_domains = example.test
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = inline:{{ {self.user}=bench/Maildir/ }}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
""")
        master = []
        for line in Path("/etc/postfix/master.cf").read_text().splitlines():
            fields = line.split()
            if line.startswith("smtp ") and len(fields) > 2 and fields[1] == "inet":
                master.append(f"{HOST}:{self.port} inet n - n - - smtpd")
                master.append("  -o smtpd_tls_wrappermode=yes")
            elif line and not line[0].isspace() and not line.startswith("#") and len(fields) >= 8:
                fields[4] = "n"  # no chroot: the queue is in the work dir
                master.append(" ".join(fields))
            else:
                master.append(line)
        (self.conf / "master.cf").write_text("\n".join(master) + "\n")

    def version(self) -> str:
        p = subprocess.run(["postconf", "-c", str(self.conf), "-h", "mail_version"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        return "Postfix " + p.stdout.strip()

    def start(self) -> None:
        with open(self.dir / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(
                ["postfix", "-c", str(self.conf), "start-fg"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        wait_listening(self.proc, [self.port], "postfix", self.log)

    def delivered(self) -> int:
        new = self.mail / "bench" / "Maildir" / "new"
        try:
            return sum(1 for _ in os.scandir(new))
        except OSError:
            return 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        subprocess.run(["postfix", "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log_findings(self) -> list[str]:
        return [line.strip() for line in tail(self.log, 10_000_000).splitlines()
                if re.search(r"\b(warning|error|fatal|panic):", line)]


def check_reachable(path: Path, uid: int) -> None:
    """Every parent of `path` must be searchable by `uid` (the maildir's owner)."""
    for parent in list(path.parents)[::-1]:
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise RuntimeError(
                f"{parent} is not searchable by uid {uid}, which Dovecot's mail processes run as "
                f"(mode {oct(st.st_mode & 0o777)}); use a work dir (--keep DIR) under /tmp or /var/tmp")
