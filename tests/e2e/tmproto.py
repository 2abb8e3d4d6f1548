"""Wire helpers: SASL messages, an IMAP response parser, raw IMAP and SMTP clients.

The raw clients exist for what imaplib and smtplib hide: SASL-IR, the exact challenge lines of
a failed OAUTHBEARER exchange, a chosen source address in 127.0.0.0/8, pipelining.
"""

from __future__ import annotations

import base64
import imaplib
import json
import re
import smtplib
import socket
import ssl
from typing import Any

# -- SASL ------------------------------------------------------------------------------------


def xoauth2(user: str, token: str) -> bytes:
    """Google's XOAUTH2 initial response, raw (not base64)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(token: str, user: str | None = None, host: str | None = None,
                port: int | None = None) -> bytes:
    """RFC 7628 §3.1 OAUTHBEARER initial response, raw (not base64)."""
    gs2 = f"n,a={user}," if user else "n,,"
    kv = ""
    if host is not None:
        kv += f"host={host}\x01"
    if port is not None:
        kv += f"port={port}\x01"
    return f"{gs2}\x01{kv}auth=Bearer {token}\x01\x01".encode()


def plain(user: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\x00{user}\x00{password}".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | bytes) -> bytes:
    return base64.b64decode(text)


# -- IMAP response parsing -------------------------------------------------------------------


class Atom(str):
    """An IMAP atom (a number, a flag, NIL is None instead); strings come back as bytes."""


class ParseError(ValueError):
    pass


def parse_imap(data: bytes) -> list:
    """Parses IMAP response data into Python values.

    `(..)` lists become lists, quoted strings and literals become bytes, NIL becomes None and
    every other atom (numbers, flags, `BODY[HEADER.FIELDS (SUBJECT)]<0>`) an `Atom`.
    """
    values, pos = _parse_seq(data, 0, closing=None)
    return values


def _parse_seq(data: bytes, i: int, closing: bytes | None) -> tuple[list, int]:
    out: list = []
    n = len(data)
    while True:
        while i < n and data[i:i + 1] in (b" ", b"\r", b"\n"):
            i += 1
        if i >= n:
            if closing is not None:
                raise ParseError(f"unterminated list in {data[:200]!r}")
            return out, i
        c = data[i:i + 1]
        if c == b")":
            if closing != b")":
                raise ParseError(f"unexpected ) at {i} in {data[:200]!r}")
            return out, i + 1
        if c == b"(":
            val, i = _parse_seq(data, i + 1, closing=b")")
            out.append(val)
        elif c == b'"':
            j = i + 1
            buf = bytearray()
            while True:
                if j >= n:
                    raise ParseError("unterminated quoted string")
                ch = data[j:j + 1]
                if ch == b"\\":
                    buf += data[j + 1:j + 2]
                    j += 2
                    continue
                if ch == b'"':
                    break
                buf += ch
                j += 1
            out.append(bytes(buf))
            i = j + 1
        elif c == b"{" or (c == b"~" and data[i + 1:i + 2] == b"{"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, i)
            if not m:
                raise ParseError(f"bad literal at {i}: {data[i:i + 20]!r}")
            size = int(m.group(1))
            start = m.end()
            if start + size > n:
                raise ParseError("short literal")
            out.append(data[start:start + size])
            i = start + size
        else:
            j = i
            depth = 0
            while j < n:
                ch = data[j:j + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")", b"\r", b"\n"):
                    break
                j += 1
            word = data[i:j].decode("utf-8", "replace")
            out.append(None if word.upper() == "NIL" else Atom(word))
            i = j


def pairs(items: list) -> dict[str, Any]:
    """`[K1, V1, K2, V2]` to `{K1.upper(): V1, ...}` (FETCH and STATUS attribute lists)."""
    if len(items) % 2:
        raise ParseError(f"odd attribute list {items!r}")
    return {str(items[k]).upper(): items[k + 1] for k in range(0, len(items), 2)}


def imaplib_responses(data: list) -> list[bytes]:
    """Reassembles imaplib's untagged data (bytes lines and (line, literal) tuples) into one
    bytes value per response, literals put back as `{n}\\r\\n<bytes>`."""
    out: list[bytes] = []
    buf = b""
    for item in data:
        if isinstance(item, tuple):
            head, lit = item
            buf += head + b"\r\n" + lit
        elif item is None:
            continue
        else:
            buf += item
            out.append(buf)
            buf = b""
    if buf:
        out.append(buf)
    return out


def fetch_map(data: list) -> dict[int, dict[str, Any]]:
    """imaplib FETCH data to {sequence number: {ATTRIBUTE: value}}; repeated responses for the
    same message are merged."""
    result: dict[int, dict[str, Any]] = {}
    for resp in imaplib_responses(data):
        parsed = parse_imap(resp)
        if len(parsed) < 2 or not isinstance(parsed[1], list):
            raise ParseError(f"not a FETCH response: {resp[:200]!r}")
        result.setdefault(int(parsed[0]), {}).update(pairs(parsed[1]))
    return result


def response_code(text: bytes | str) -> list[str] | None:
    """The `[CODE args]` at the start of a response text, split on spaces."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = re.search(r"\[([^\]]*)\]", text)
    return m.group(1).split() if m else None


# -- source addresses in 127.0.0.0/8 ---------------------------------------------------------

_next_source = [0]


def fresh_source_ip() -> str:
    """A loopback source address not used before by this test run (127.0.X.Y, Y in 2..250).

    Tests that expect failed logins use them so that one test's failures do not slow another
    test's logins through the server's per-address throttle.
    """
    _next_source[0] += 1
    k = _next_source[0]
    return f"127.0.{10 + k // 249}.{2 + k % 249}"


def connect(port: int, source_ip: str | None = None, timeout: float = 15.0) -> socket.socket:
    src = (source_ip, 0) if source_ip else None
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=src)


# -- raw IMAP --------------------------------------------------------------------------------


class RawImap:
    """A line-level IMAP client. `tls=True` is implicit TLS; otherwise call `starttls()`."""

    def __init__(self, port: int, ssl_context: ssl.SSLContext, *, tls: bool = True,
                 source_ip: str | None = None, timeout: float = 15.0):
        self.ctx = ssl_context
        self.sock = connect(port, source_ip, timeout)
        if tls:
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.buf = b""
        self.n = 0
        self.greeting = self.readline()

    # reading
    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def readline(self) -> bytes:
        """One line without CRLF (a literal's bytes are *not* read)."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def read_response(self) -> bytes:
        """One whole response, literals included as `{n}\\r\\n<bytes>`, without the final CRLF."""
        out = b""
        while True:
            line = self.readline()
            out += line
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if not m:
                return out
            out += b"\r\n" + self.read_exact(int(m.group(1)))

    # writing
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def tag(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def command(self, text: str | bytes) -> tuple[list[bytes], bytes]:
        """Sends `TAG text` and reads to the tagged reply; returns (untagged, tagged line)."""
        tag = self.tag()
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.read_until_tagged(tag)

    def read_until_tagged(self, tag: str) -> tuple[list[bytes], bytes]:
        untagged = []
        while True:
            resp = self.read_response()
            if resp.startswith(tag.encode() + b" "):
                return untagged, resp
            untagged.append(resp)

    def starttls(self) -> bytes:
        _, tagged = self.command("STARTTLS")
        if not status_of(tagged) == "OK":
            raise AssertionError(f"STARTTLS refused: {tagged!r}")
        if self.buf:
            raise AssertionError(f"bytes after STARTTLS OK before the handshake: {self.buf!r}")
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        return tagged

    def capabilities(self) -> set[str]:
        untagged, tagged = self.command("CAPABILITY")
        caps: set[str] = set()
        for line in untagged:
            if line.upper().startswith(b"* CAPABILITY "):
                caps |= {w.upper() for w in line.decode().split()[2:]}
        return caps

    def sasl(self, mechanism: str, initial: bytes | None, *, ir: bool = True,
             on_challenge=None) -> tuple[list[bytes], bytes, list[bytes]]:
        """AUTHENTICATE with SASL-IR (`ir`) or after the empty `+`.

        `on_challenge(decoded challenge) -> bytes` answers each further `+ B64` challenge (the
        default answers `\\x01` for OAUTHBEARER, an empty line for the rest). Returns (untagged,
        tagged line, decoded challenges seen after the initial response).
        """
        if on_challenge is None:
            dummy = b"\x01" if mechanism.upper() == "OAUTHBEARER" else b""
            on_challenge = lambda _c: dummy  # noqa: E731
        tag = self.tag()
        line = f"{tag} AUTHENTICATE {mechanism}"
        if ir and initial is not None:
            line += " " + (b64(initial) if initial else "=")
        self.send(line.encode() + b"\r\n")
        sent_initial = ir and initial is not None
        challenges: list[bytes] = []
        untagged: list[bytes] = []
        for _ in range(5):
            resp = self.read_response()
            if resp.startswith(tag.encode() + b" "):
                return untagged, resp, challenges
            if resp.startswith(b"+"):
                payload = resp[1:].strip()
                if not sent_initial:
                    if payload:
                        raise AssertionError(f"first challenge not empty: {resp!r}")
                    self.send(b64(initial or b"").encode() + b"\r\n")
                    sent_initial = True
                    continue
                decoded = unb64(payload) if payload else b""
                challenges.append(decoded)
                answer = on_challenge(decoded)
                self.send((b64(answer) if answer else "").encode() + b"\r\n")
                continue
            untagged.append(resp)
        raise AssertionError("too many SASL round trips")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def status_of(tagged: bytes) -> str:
    """`OK`, `NO` or `BAD` from a tagged line."""
    parts = tagged.split(b" ", 2)
    return parts[1].decode().upper() if len(parts) > 1 else ""


def error_json(challenge: bytes) -> dict:
    """The JSON object of an OAUTHBEARER/XOAUTH2 error challenge."""
    obj = json.loads(challenge.decode("utf-8"))
    if not isinstance(obj, dict):
        raise AssertionError(f"error challenge is not a JSON object: {challenge!r}")
    return obj


# -- imaplib helpers -------------------------------------------------------------------------


def sasl_callback(mechanism: str, initial: bytes, record: list | None = None):
    """An imaplib `authenticate` callback: the initial response on the empty `+`, then the
    mechanism's dummy answer to an error challenge (recorded in `record`)."""
    dummy = b"\x01" if mechanism.upper() == "OAUTHBEARER" else b""

    def cb(challenge: bytes) -> bytes:
        if not challenge:
            return initial
        if record is not None:
            record.append(challenge)
        return dummy

    return cb


class SourceIMAP4_SSL(imaplib.IMAP4_SSL):
    """IMAP4_SSL connecting from a chosen loopback source address."""

    def __init__(self, *args, source_ip: str | None = None, **kwargs):
        self._source_ip = source_ip
        super().__init__(*args, **kwargs)

    def _create_socket(self, timeout):
        src = (self._source_ip, 0) if self._source_ip else None
        sock = socket.create_connection((self.host, self.port), timeout, source_address=src)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


# -- SMTP ------------------------------------------------------------------------------------


def smtp_xoauth2_cb(user: str, token: str):
    """smtplib `auth` callback: XOAUTH2 initial response, an empty line to an error challenge."""
    def cb(challenge=None):
        if challenge:
            return ""
        return xoauth2(user, token).decode()
    return cb


def smtp_oauthbearer_cb(token: str, user: str | None = None):
    def cb(challenge=None):
        if challenge:
            return "\x01"
        return oauthbearer(token, user).decode()
    return cb


class RawSmtp:
    """A line-level SMTP client (multi-line replies joined), for exact status checks."""

    def __init__(self, port: int, ssl_context: ssl.SSLContext, *, tls: bool = True,
                 source_ip: str | None = None, timeout: float = 15.0):
        self.ctx = ssl_context
        self.sock = connect(port, source_ip, timeout)
        if tls:
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.buf = b""
        self.greeting = self.reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self) -> tuple[int, list[bytes]]:
        """(code, [text of each line])."""
        lines = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError(f"not an SMTP reply: {line!r}")
            lines.append(line[4:])
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, text: str | bytes) -> tuple[int, list[bytes]]:
        if isinstance(text, str):
            text = text.encode()
        self.sock.sendall(text + b"\r\n")
        return self.reply()

    def starttls(self) -> None:
        code, _ = self.cmd("STARTTLS")
        if code != 220:
            raise AssertionError(f"STARTTLS refused: {code}")
        if self.buf:
            raise AssertionError(f"bytes after 220 before the handshake: {self.buf!r}")
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")

    def auth(self, mechanism: str, initial: bytes | None, *, ir: bool = True,
             on_challenge=None) -> tuple[int, list[bytes], list[bytes]]:
        """AUTH with an initial response (`ir`) or after `334 `; returns (code, text, decoded
        challenges received after the initial response)."""
        if on_challenge is None:
            dummy = b"\x01" if mechanism.upper() == "OAUTHBEARER" else b""
            on_challenge = lambda _c: dummy  # noqa: E731
        if ir and initial is not None:
            code, text = self.cmd(f"AUTH {mechanism} {b64(initial) if initial else '='}")
        else:
            code, text = self.cmd(f"AUTH {mechanism}")
            if code == 334:
                if text[0].strip():
                    raise AssertionError(f"first 334 not empty: {text!r}")
                code, text = self.cmd(b64(initial or b""))
        challenges = []
        for _ in range(5):
            if code != 334:
                return code, text, challenges
            decoded = unb64(text[0].strip()) if text[0].strip() else b""
            challenges.append(decoded)
            answer = on_challenge(decoded)
            code, text = self.cmd(b64(answer) if answer else "")
        raise AssertionError("too many SASL round trips")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def enhanced(text: list[bytes] | bytes | str) -> str:
    """The RFC 3463 enhanced status code at the start of an SMTP reply text ('' if none)."""
    if isinstance(text, list):
        text = text[0] if text else b""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = re.match(r"\s*([245]\.\d{1,3}\.\d{1,3})\b", text)
    return m.group(1) if m else ""


def smtp_client(port: int, ctx: ssl.SSLContext, *, tls: bool, source_ip: str | None = None,
                timeout: float = 20.0) -> smtplib.SMTP:
    """smtplib on the implicit-TLS port (`tls=True`) or on the STARTTLS port after STARTTLS."""
    src = (source_ip, 0) if source_ip else None
    if tls:
        s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.example.test",
                             context=ctx, timeout=timeout, source_address=src)
    else:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.test",
                         timeout=timeout, source_address=src)
        s.starttls(context=ctx)
    s.ehlo()
    return s
