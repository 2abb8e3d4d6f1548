"""An SMTP submission load client: C connections in parallel, each sending
N messages one after another over implicit TLS, the way a mail program
does (no pipelining): MAIL, RCPT, DATA, the message, each reply awaited.

Each message's latency is timed from writing MAIL FROM to reading the 250
after the final dot, so it includes the server's durable acknowledgement.
The client is asyncio on one thread; its own CPU time is reported so that a
saturated client can be told from a saturated server.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time

SENDER = "bench@example.test"


def message(conn: int, k: int, size: int) -> bytes:
    """A plain-text message of about `size` bytes, unique per (conn, k), with
    CRLF line ends, no line starting with a dot, and the terminating dot."""
    head = (f"From: Bench <{SENDER}>\r\nTo: <{SENDER}>\r\n"
            f"Subject: load {conn}.{k}\r\nMessage-ID: <load.{conn}.{k}.{time.time_ns()}@bench>\r\n"
            "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body + b".\r\n"


class Failure(Exception):
    pass


async def _reply(r: asyncio.StreamReader, want: int) -> None:
    """Reads one (possibly multi-line) reply and checks its code."""
    while True:
        line = await r.readline()
        if not line:
            raise Failure(f"connection closed waiting for {want}")
        if len(line) < 4 or line[3:4] != b"-":
            break
    if not line.startswith(str(want).encode()):
        raise Failure(f"expected {want}, got {line.decode(errors='replace').strip()}")


async def _session(host: str, port: int, ctx: ssl.SSLContext, auth: str | None, conn: int,
                   count: int, size: int, latencies: list[float]) -> None:
    r, w = await asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost",
                                         limit=1 << 20)
    try:
        await _reply(r, 220)
        w.write(b"EHLO bench.example.test\r\n")
        await _reply(r, 250)
        if auth is not None:
            plain = base64.b64encode(f"\0{SENDER}\0{auth}".encode()).decode()
            w.write(f"AUTH PLAIN {plain}\r\n".encode())
            await _reply(r, 235)
        for k in range(count):
            data = message(conn, k, size)
            t0 = time.perf_counter()
            w.write(f"MAIL FROM:<{SENDER}>\r\n".encode())
            await _reply(r, 250)
            w.write(f"RCPT TO:<{SENDER}>\r\n".encode())
            await _reply(r, 250)
            w.write(b"DATA\r\n")
            await _reply(r, 354)
            w.write(data)
            await _reply(r, 250)
            latencies.append(time.perf_counter() - t0)
        w.write(b"QUIT\r\n")
        await _reply(r, 221)
    finally:
        w.close()
        try:
            await w.wait_closed()
        except (OSError, ssl.SSLError):
            pass


def run(host: str, port: int, auth: str | None, connections: int, per_connection: int,
        size: int) -> dict:
    """Sends connections x per_connection messages; returns wall time, client CPU,
    and every message's latency (seconds)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    latencies: list[float] = []

    async def main() -> list:
        return await asyncio.gather(
            *(_session(host, port, ctx, auth, c, per_connection, size, latencies)
              for c in range(connections)), return_exceptions=True)

    cpu0, t0 = time.process_time(), time.perf_counter()
    results = asyncio.run(main())
    wall = time.perf_counter() - t0
    errors = [f"{type(e).__name__}: {e}" for e in results if isinstance(e, BaseException)]
    return {"wall": wall, "client_cpu": time.process_time() - cpu0, "latencies": latencies,
            "errors": errors, "started": t0}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]
