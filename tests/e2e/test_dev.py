"""`tokenmail dev --dir DIR`: the one-command trial. Its output format is not fixed, so the test
reads the ports from the config file it writes in DIR and finds the tokens as JWTs in its output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from tmclient import curl
from tmissuer import decode_unverified
from tmserver import JWT_RE, RUNNING, binary, port_open

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]

IN_USE = re.compile(r"in use|EADDRINUSE|os error 98", re.I)


class Dev:
    """A running `tokenmail dev --dir DIR` (quacks enough like Server for failure reports)."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.workdir = directory
        self.out_path = directory.parent / f"{directory.name}-out-{time.monotonic_ns()}.log"
        self.stderr_path = self.out_path
        self.proc: subprocess.Popen | None = None
        self.cfg: dict = {}
        self.tokens: dict[str, str] = {}

    def output(self) -> str:
        try:
            return self.out_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr(self) -> str:
        return f"--- tokenmail dev output ---\n{self.output()[-20000:]}"

    def start(self, timeout: float = 30.0) -> None:
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                [str(binary()), "dev", "--dir", str(self.dir)], stdin=subprocess.DEVNULL,
                stdout=out, stderr=out, cwd=self.dir.parent, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                text = self.output()
                busy = [line for line in text.splitlines() if IN_USE.search(line)]
                if busy:
                    pytest.skip(f"`tokenmail dev` could not bind its fixed ports: {busy[-1].strip()}")
                pytest.fail(f"`tokenmail dev` exited with {self.proc.returncode}\n{text}")
            if self._ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"`tokenmail dev` not ready within {timeout}s\n{self.output()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        configs = sorted(self.dir.glob("*.toml")) if self.dir.is_dir() else []
        if not configs:
            return False
        try:
            self.cfg = tomllib.loads(configs[0].read_text())
        except (tomllib.TOMLDecodeError, OSError):
            return False  # still being written
        tokens = {}
        for tok in JWT_RE.findall(self.output()):
            try:
                _, claims = decode_unverified(tok)
            except Exception:  # noqa: BLE001 (a JWT-looking string that is not one)
                continue
            for v in claims.values():
                if isinstance(v, str) and v.lower() in ("alice@example.test", "bob@example.test"):
                    tokens.setdefault(v.lower(), tok)
        self.tokens = tokens
        return len(tokens) == 2 and all(port_open(p) for _, p in self.endpoints().values())

    def endpoints(self) -> dict[str, tuple[str, int]]:
        """{"imap": (scheme, port), "smtp": (scheme, port)}, implicit TLS preferred."""
        def pick(section: str, tls_scheme: str, plain_scheme: str):
            sect = self.cfg.get(section, {})
            if sect.get("listen_tls"):
                return tls_scheme, int(sect["listen_tls"][0].rsplit(":", 1)[1])
            if sect.get("listen"):
                return plain_scheme, int(sect["listen"][0].rsplit(":", 1)[1])
            raise AssertionError(f"no [{section}] listener in the dev config: {self.cfg}")
        return {"imap": pick("imap", "imaps", "imap"), "smtp": pick("submission", "smtps", "smtp")}

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("`tokenmail dev` did not stop within 15s of SIGTERM")
        return self.proc.returncode if self.proc else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _curl_imap(dev: Dev, user: str, path: str, *extra: str):
    scheme, port = dev.endpoints()["imap"]
    args = ["--insecure", "--oauth2-bearer", dev.tokens[user], "-u", f"{user}:"]
    if scheme == "imap":
        args.append("--ssl-reqd")
    return curl(*args, *extra, f"{scheme}://127.0.0.1:{port}/{path}")


def _curl_line(out: str) -> str:
    """The first curl command in the output, with backslash-continued lines joined and any
    prompt or label before `curl ` dropped."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"(?:^|[\s$>:`])(curl\s.*)", line)
        if not m:
            continue
        cmd = m.group(1).rstrip()
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        return cmd.rstrip("`")
    raise AssertionError(f"no curl line in the output of `tokenmail dev`:\n{out}")


def _ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode(errors="replace")


def test_dev_mode_end_to_end(tmp_path):
    directory = tmp_path / "tokenmail-dev"
    dev = Dev(directory)
    RUNNING.append(dev)  # type: ignore[arg-type]
    try:
        dev.start()
        alice, bob = "alice@example.test", "bob@example.test"
        assert directory.is_dir()
        out = dev.output()
        assert "imap" in out.lower() and ("smtp" in out.lower() or "submission" in out.lower()), out

        # the printed curl line works as printed
        line = _curl_line(out)
        path = f"{binary().parent}{os.pathsep}{os.environ.get('PATH', '')}"
        proc = subprocess.run(["bash", "-c", line], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, cwd=tmp_path,
                              env={**os.environ, "PATH": path})
        assert proc.returncode == 0, (line, proc.stderr)

        # list INBOX as alice and bob (this also creates bob's mailbox)
        assert "INBOX" in _ok(_curl_imap(dev, alice, ""))
        _ok(_curl_imap(dev, bob, "INBOX"))

        # alice -> bob over SMTP with curl
        msg = (f"From: {alice}\r\nTo: {bob}\r\nSubject: dev mode\r\n"
               f"Message-ID: <dev-1@example.test>\r\n\r\nHello from dev mode.\r\n").encode()
        f = tmp_path / "m.eml"
        f.write_bytes(msg)
        scheme, port = dev.endpoints()["smtp"]
        extra = ["--ssl-reqd"] if scheme == "smtp" else []
        _ok(curl("--insecure", "--oauth2-bearer", dev.tokens[alice], "-u", f"{alice}:",
                 "--mail-from", alice, "--mail-rcpt", bob, "--upload-file", str(f), *extra,
                 f"{scheme}://127.0.0.1:{port}/client.example.test"))

        # bob reads it
        body = _ok(_curl_imap(dev, bob, "INBOX;MAILINDEX=1"))
        assert "Subject: dev mode" in body and body.endswith("Hello from dev mode.\r\n"), body

        # running it again reuses DIR: same config, same keys, same mail
        first_cfg = dev.cfg
        assert dev.stop() == 0
        dev2 = Dev(directory)
        RUNNING.append(dev2)  # type: ignore[arg-type]
        try:
            dev2.start()
            assert dev2.cfg == first_cfg
            dev2.tokens = dict(dev.tokens)  # the old tokens still work
            again = _ok(_curl_imap(dev2, bob, "INBOX;MAILINDEX=1"))
            assert again == body, again
        finally:
            dev2.stop()
            RUNNING.remove(dev2)  # type: ignore[arg-type]
    finally:
        dev.stop()
        RUNNING.remove(dev)  # type: ignore[arg-type]


def test_dev_mode_account_page_in_a_browser(tmp_path):
    """`tokenmail dev` prints `account page: URL`; in Chromium, its sign-in goes through the dev
    issuer's form as a public client with PKCE, and the page shows the person's address."""
    from selenium.webdriver.common.by import By

    from tmbrowser import chromium, shot

    dev = Dev(tmp_path / "tokenmail-dev")
    RUNNING.append(dev)  # type: ignore[arg-type]
    try:
        dev.start()
        found = re.search(r"account page:\s*(\S+)", dev.output())
        assert found, dev.output()
        page = found.group(1)
        d = chromium("en-US")
        try:
            d.get(page)
            d.find_element(By.CSS_SELECTOR, "[data-tm=sign-in]").click()
            assert d.find_element(By.CSS_SELECTOR, "form[data-tm=dev-sign-in]")
            shot(d, "dev-1-issuer-form")
            d.find_element(By.CSS_SELECTOR, "button[data-tm=pick][value='bob@example.test']").click()
            assert d.current_url == page, d.current_url
            assert d.find_element(By.CSS_SELECTOR, "[data-tm=address]").text == "bob@example.test"
            shot(d, "dev-2-account")
        finally:
            d.quit()
    finally:
        dev.stop()
        RUNNING.remove(dev)  # type: ignore[arg-type]
