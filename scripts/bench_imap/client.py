"""A small IMAP client for the benchmark: TLS, tags, literals, pipelining.

Reading a response is done without a per-line Python loop: the buffer is
searched (in C) for the next literal marker `{n}CRLF` and for CRLF + tag +
SP; literals are skipped by length, so a tag inside a literal is never taken
for the end. The clock stops when the tagged line's CRLF has been read;
splitting the response into lines (for the sanity checks) happens after.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from dataclasses import dataclass, field

LITERAL = re.compile(rb"~?\{(\d+)\+?\}\r\n")


class ImapError(Exception):
    pass


@dataclass
class Response:
    tag: bytes
    status: str          # OK, NO, BAD (or BYE when the server hung up)
    text: str            # the rest of the tagged line
    data: bytes          # everything from the first response line through the tagged line
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def lines(self) -> list[bytes]:
        """Response lines, each with its literals inline (for checks, not timed)."""
        return split_lines(self.data)

    def untagged(self, keyword: bytes) -> list[bytes]:
        """Untagged lines whose first word (or the word after a number) is `keyword`."""
        out = []
        kw = keyword.upper()
        for line in self.lines():
            if not line.startswith(b"* "):
                continue
            parts = line[2:].split(b" ", 2)
            if parts and parts[0].upper() == kw:
                out.append(line)
            elif len(parts) > 1 and parts[0].isdigit() and parts[1].upper().rstrip(b"\r\n") == kw:
                out.append(line)
        return out

    def short(self) -> str:
        return f"{self.status} {self.text}".strip()[:90]


def split_lines(data: bytes) -> list[bytes]:
    out, pos, start = [], 0, 0
    n = len(data)
    while pos < n:
        e = data.find(b"\r\n", pos)
        if e == -1:
            out.append(data[start:])
            break
        m = LITERAL.search(data, pos, e + 2)
        if m and m.end() == e + 2:
            pos = m.end() + int(m.group(1))
            continue
        out.append(data[start:e])
        pos = start = e + 2
    return out


@dataclass
class Conn:
    host: str
    port: int
    ctx: ssl.SSLContext
    name: str = ""
    timeout: float = 1800.0
    sock: ssl.SSLSocket = field(init=False)
    buf: bytearray = field(init=False)
    greeting: bytes = field(init=False)
    capabilities: set = field(init=False)
    n: int = field(init=False, default=0)

    def __post_init__(self):
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.ctx.wrap_socket(raw, server_hostname=self.host)
        # The buffer always starts with the CRLF that ended the previous line,
        # so that every line start is "CRLF + first bytes".
        self.buf = bytearray(b"\r\n")
        self.greeting = self._read_line()
        self.capabilities = set()
        self._caps_from(self.greeting)

    # -- low level ----------------------------------------------------------------------------
    def _recv(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ImapError(f"{self.name}: server closed the connection")
        self.buf += data

    def _read_line(self) -> bytes:
        while True:
            e = self.buf.find(b"\r\n", 2)
            if e != -1:
                line = bytes(self.buf[2:e])
                del self.buf[:e]
                return line
            self._recv()

    def next_tag(self) -> bytes:
        self.n += 1
        return b"T%05d" % self.n

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_response(self, tag: bytes) -> Response:
        """Reads through the tagged line of `tag`; its `seconds` is unset."""
        needle = b"\r\n" + tag + b" "
        buf = self.buf
        pos = 0        # bytes before pos are outside literals (or skipped literal data)
        tfound = -1    # a needle position >= pos, if known
        tfrom = 0      # the needle has been searched for (and not found) before this
        while True:
            if tfound < pos:
                tfound = buf.find(needle, max(pos, tfrom))
                if tfound == -1:
                    tfrom = max(pos, len(buf) - len(needle) + 1)
            m = LITERAL.search(buf, pos)
            if m and (tfound == -1 or m.start() < tfound):
                end = m.end() + int(m.group(1))
                while len(buf) < end:
                    self._recv()
                pos = end
                continue
            if tfound != -1:
                e = buf.find(b"\r\n", tfound + 2)
                while e == -1:
                    self._recv()
                    e = buf.find(b"\r\n", tfound + 2)
                done = time.perf_counter()
                data = bytes(buf[2:e])
                line = bytes(buf[tfound + 2:e])
                del buf[:e]
                parts = line.split(b" ", 2)
                status = parts[1].decode(errors="replace").upper() if len(parts) > 1 else "?"
                text = parts[2].decode(errors="replace") if len(parts) > 2 else ""
                r = Response(tag, status, text, data)
                r.done = done
                return r
            pos = max(pos, len(buf) - 40)
            self._recv()

    def read_any_tagged(self) -> Response:
        """Reads lines until a tagged one (any tag); for pipelined APPENDs (small responses)."""
        lines = []
        while True:
            line = self._read_line()
            while True:  # literal at the end of the line: take it and the rest of the line
                m = LITERAL.search(line + b"\r\n", max(0, len(line) - 30))
                if not (m and m.end() == len(line) + 2):
                    break
                need = int(m.group(1))
                while len(self.buf) < 2 + need:
                    self._recv()
                lit = bytes(self.buf[2:2 + need])
                del self.buf[:2 + need]
                self.buf[0:0] = b"\r\n"
                line = line + b"\r\n" + lit + self._read_line()
            lines.append(line)
            if line.startswith(b"* "):
                if line.upper().startswith(b"* BYE"):
                    raise ImapError(f"{self.name}: {line[:200]!r}")
                continue
            if line.startswith(b"+"):
                continue
            parts = line.split(b" ", 2)
            status = parts[1].decode(errors="replace").upper() if len(parts) > 1 else "?"
            text = parts[2].decode(errors="replace") if len(parts) > 2 else ""
            return Response(parts[0], status, text, b"\r\n".join(lines))

    # -- commands -----------------------------------------------------------------------------
    def command(self, cmd: str | bytes) -> Response:
        """Sends one command (no literals) and reads its whole response; `seconds` is the time
        from just before the write to the tagged line's CRLF."""
        if isinstance(cmd, str):
            cmd = cmd.encode()
        tag = self.next_tag()
        out = tag + b" " + cmd + b"\r\n"
        t0 = time.perf_counter()
        self.sock.sendall(out)
        r = self.read_response(tag)
        r.seconds = r.done - t0
        return r

    def _caps_from(self, line: bytes) -> None:
        m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line, re.I)
        if m:
            self.capabilities = {c.upper().decode() for c in m.group(1).split()}

    def refresh_capabilities(self) -> set:
        r = self.command("CAPABILITY")
        for line in r.untagged(b"CAPABILITY"):
            self.capabilities = {c.upper().decode() for c in line.split()[2:]}
        return self.capabilities

    def login_plain(self, user: str, password: str) -> Response:
        """AUTHENTICATE PLAIN with SASL-IR (one line, as real clients send it); LOGIN if the
        server offers no SASL-IR."""
        if "SASL-IR" in self.capabilities or not self.capabilities:
            ir = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            r = self.command(f"AUTHENTICATE PLAIN {ir}")
        else:
            r = self.command(f'LOGIN "{user}" "{password}"')
        if not r.ok:
            raise ImapError(f"{self.name}: login failed: {r.short()}")
        self._caps_from(r.data.split(b"\r\n")[-1])
        if not any(c.startswith("IMAP4") for c in self.capabilities) or "UIDPLUS" not in self.capabilities:
            self.refresh_capabilities()
        return r

    def login_xoauth2(self, user: str, token: str) -> Response:
        """AUTHENTICATE XOAUTH2 with SASL-IR, in one line."""
        ir = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
        r = self.command(f"AUTHENTICATE XOAUTH2 {ir}")
        if not r.ok:
            raise ImapError(f"{self.name}: XOAUTH2 login failed: {r.short()}")
        self._caps_from(r.data.split(b"\r\n")[-1])
        if "UIDPLUS" not in self.capabilities:
            self.refresh_capabilities()
        return r

    def logout(self) -> None:
        try:
            self.command("LOGOUT")
        except (OSError, ImapError):
            pass
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def cipher(self) -> str:
        c = self.sock.cipher()
        return f"{self.sock.version()} {c[0]}" if c else "?"


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
