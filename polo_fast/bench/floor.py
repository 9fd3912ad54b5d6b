"""The floor: the least a Python process can do for one signed round trip.

:class:`FloorConn` speaks the legacy API (``POST /tradingApi``), :class:`SpotFloorConn` the
Spot API (``GET /accounts/balances``, ``POST /orders``, ``DELETE /orders/cid:<id>``, signed
HMAC-SHA256 in base64 over ``METHOD\nPATH\nPARAMS`` with a ``signTimestamp``).

A raw asyncio :class:`asyncio.Protocol` on an open TLS connection writes a prebuilt,
pre-signed request (head and body in one buffer) and completes a future when the answer's
last byte is in (``Content-Length`` or chunked framing, nothing else parsed). All signing is
done before timing: :meth:`FloorConn.prepare` signs a batch with increasing nonces, in the
order they will be sent, so the exchange's nonce check passes. Cancels address the order
by ``clientOrderId``, which is chosen (and signed) in advance too. Spot requests carry a
``signTimestamp`` instead of a nonce; they are signed just before their chunk is sent (the
stand-in accepts a timestamp up to 60 s old).

Answers are checked after each timed section (status 200; on the legacy API no ``error``
member), so an error answer can never pass for a fast one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import ssl
import time
from collections import deque
from typing import cast
from urllib.parse import urlencode, urlsplit

from polo_fast.bench.conn import BenchClientError, Conn, Nonces, Target
from polo_fast.bench.probe import make_ssl_context

__all__ = ["FloorConn", "FloorProtocol", "SpotFloorConn"]

_CL = b"\r\ncontent-length:"
_TE = b"\r\ntransfer-encoding:"


def _chunked_end(buf: bytearray, start: int) -> int:
    """Return the end offset of a complete chunked body starting at ``start``, or -1."""
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)
            while end >= 0 and end != pos:  # skip trailers up to the blank line
                pos = end + 2
                end = buf.find(b"\r\n", pos)
            return -1 if end < 0 else end + 2
        pos += size + 2
        if pos > len(buf):
            return -1


class FloorProtocol(asyncio.Protocol):
    """Write prebuilt requests; resolve a future with each complete raw answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.need = -1
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = cast(asyncio.Transport, transport)

    def request(self, data: bytes) -> asyncio.Future[bytes]:
        """Write one prebuilt request; the future resolves with the raw answer."""
        assert self.transport is not None
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.waiter = fut
        self.transport.write(data)
        return fut

    def data_received(self, data: bytes) -> None:
        """Collect bytes until the answer is complete (Content-Length or chunked)."""
        buf = self.buf
        buf += data
        if self.need < 0:
            hend = buf.find(b"\r\n\r\n")
            if hend < 0:
                return
            head = bytes(buf[:hend]).lower()
            i = head.find(_CL)
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                self.need = hend + 4 + int(head[i + len(_CL) : j if j >= 0 else None])
            elif head.find(_TE) >= 0 and b"chunked" in head:
                end = _chunked_end(buf, hend + 4)
                if end < 0:
                    return
                self.need = end
            else:
                self._fail(BenchClientError("floor: answer without Content-Length or chunks"))
                return
        if len(buf) >= self.need:
            answer = bytes(buf[: self.need])
            del buf[: self.need]
            self.need = -1
            w = self.waiter
            self.waiter = None
            if w is not None and not w.done():
                w.set_result(answer)

    def _fail(self, exc: BaseException) -> None:
        w = self.waiter
        self.waiter = None
        if w is not None and not w.done():
            w.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending request; mark the connection closed."""
        self._fail(ConnectionError(f"floor: connection lost ({exc!r})"))
        if not self.closed.done():
            self.closed.set_result(None)


class FloorConn(Conn):
    """The floor as a client under test: pre-signed requests on one raw TLS connection."""

    name = "floor"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        parts = urlsplit(target.url)
        if not parts.hostname:
            raise ValueError(f"no host in {target.url!r}")
        self.target = target
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = parts.scheme == "https"
        default = 443 if self.tls else 80
        host_header = self.host if self.port == default else f"{self.host}:{self.port}"
        self.host_header = host_header
        self._key = key
        self._secret = secret.encode()
        self._head_prefix = (
            f"POST /tradingApi HTTP/1.1\r\nHost: {host_header}\r\nKey: {key}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "User-Agent: polo-fast-floor\r\nAccept-Encoding: identity\r\n"
        ).encode()
        self._warm_up_req = (
            f"GET /public?command=returnOrderBook&currencyPair={target.pair}&depth=1 HTTP/1.1\r\n"
            f"Host: {host_header}\r\nUser-Agent: polo-fast-floor\r\n\r\n"
        ).encode()
        self._nonces = Nonces(target.nonce_scale)
        self._queue: deque[bytes] = deque()
        self._answers: list[bytes] = []
        self._proto: FloorProtocol | None = None
        self._ctx: ssl.SSLContext | None = None
        self._coid = secrets.randbelow(1 << 40) + (1 << 41)
        self.tls_version: str | None = None

    async def start(self) -> None:
        """Build the TLS context (verification on, TLS >= 1.2)."""
        if self.tls:
            self._ctx = make_ssl_context(self.target.ca_path)

    def _signed(self, pairs: list[tuple[str, str | int]]) -> bytes:
        body = urlencode([*pairs, ("nonce", self._nonces.next())]).encode()
        sign = hmac.new(self._secret, body, hashlib.sha512).hexdigest()
        return b"".join(
            (
                self._head_prefix,
                b"Sign: ",
                sign.encode(),
                b"\r\nContent-Length: ",
                str(len(body)).encode(),
                b"\r\n\r\n",
                body,
            )
        )

    def prepare(self, kind: str, n: int) -> None:
        """Pre-sign ``n`` balances requests, or ``n`` buy + cancel pairs, in send order."""
        t = self.target
        for _ in range(n):
            if kind == "balances":
                self._queue.append(self._signed([("command", "returnBalances")]))
            elif kind == "orders":
                self._coid += 1
                self._queue.append(
                    self._signed(
                        [
                            ("command", "buy"),
                            ("currencyPair", t.pair),
                            ("rate", t.rate),
                            ("amount", t.amount),
                            ("postOnly", 1),
                            ("clientOrderId", self._coid),
                        ]
                    )
                )
                self._queue.append(
                    self._signed(
                        [
                            ("command", "cancelOrder"),
                            ("clientOrderId", self._coid),
                        ]
                    )
                )
            else:
                raise ValueError(f"unknown request kind {kind!r}")

    async def _connect(self) -> FloorProtocol:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_connection(
            FloorProtocol,
            self.host,
            self.port,
            ssl=self._ctx,
            server_hostname=self.host if self._ctx else None,
        )
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.tls_version = sslobj.version()
        self._proto = proto
        return proto

    async def _send(self) -> bytes:
        proto = self._proto
        if proto is None or proto.transport is None or proto.transport.is_closing():
            proto = await self._connect()
        try:
            data = self._queue.popleft()
        except IndexError:
            raise BenchClientError("floor: no pre-signed request left (prepare more)") from None
        answer = await proto.request(data)
        self._answers.append(answer)
        return answer

    async def warm_up(self) -> None:
        """Open and TLS-handshake the connection, then one public GET on it."""
        proto = self._proto or await self._connect()
        answer = await proto.request(self._warm_up_req)
        if answer[9:12] != b"200":
            raise BenchClientError(f"floor warm-up: HTTP {answer[9:12].decode(errors='replace')}")

    async def balances(self) -> None:
        """Send the next pre-signed request (a ``returnBalances``)."""
        await self._send()

    async def buy(self, seq: int) -> str:
        """Send the next pre-signed buy; the cancel is the next request in the queue."""
        await self._send()
        return ""

    async def cancel(self, ref: str) -> None:
        """Send the next pre-signed cancel (by clientOrderId)."""
        await self._send()

    def check(self) -> int:
        """Verify, after timing, that every answer was HTTP 200 without an ``error``.

        Returns the number of answers checked.

        Raises:
            BenchClientError: naming the first bad answer.
        """
        answers, self._answers = self._answers, []
        for a in answers:
            status = a[9:12]
            body = a[a.find(b"\r\n\r\n") + 4 :]
            if status != b"200" or self._refused(body):
                raise BenchClientError(
                    f"floor: HTTP {status.decode(errors='replace')}: "
                    f"{body[:200].decode(errors='replace')}"
                )
        return len(answers)

    @staticmethod
    def _refused(body: bytes) -> bool:
        """True if a 200 answer's body is a refusal (the legacy API: an ``error`` member)."""
        return b'"error"' in body

    async def close(self) -> None:
        """Close the connection."""
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()
            await asyncio.wait([proto.closed], timeout=1.0)


class SpotFloorConn(FloorConn):
    """The Spot API floor: pre-signed requests on one raw TLS connection.

    Balances are ``GET /accounts/balances``; an order is ``POST /orders`` with a compact JSON
    body (a resting ``LIMIT`` buy with a ``clientOrderId`` chosen in advance), its cancel
    ``DELETE /orders/cid:<clientOrderId>``. Signed with ``hmac``/``hashlib``/``base64``,
    untimed, just before each chunk. A Spot refusal always comes with a non-2xx status, so
    the check after timing reads the status only.
    """

    name = "floor"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        super().__init__(target, key, secret)
        self._spot_head = (
            f" HTTP/1.1\r\nHost: {self.host_header}\r\nkey: {key}\r\n"
            "User-Agent: polo-fast-floor\r\nAccept-Encoding: identity\r\n"
        ).encode()
        self._warm_up_req = (
            f"GET /timestamp HTTP/1.1\r\nHost: {self.host_header}\r\n"
            "User-Agent: polo-fast-floor\r\n\r\n"
        ).encode()
        self._cid = f"fl{secrets.token_hex(4)}"
        self._seq = 0

    def _spot(self, method: str, path: str, body: bytes | None, ts: int) -> bytes:
        if body:
            params = b"requestBody=%s&signTimestamp=%d" % (body, ts)
        else:
            params = b"signTimestamp=%d" % ts
        message = b"%s\n%s\n%s" % (method.encode(), path.encode(), params)
        sig = base64.b64encode(hmac.new(self._secret, message, hashlib.sha256).digest())
        parts = [method.encode(), b" ", path.encode(), self._spot_head]
        parts += [b"signTimestamp: %d\r\nsignature: " % ts, sig, b"\r\n"]
        if body:
            parts.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        parts += [b"\r\n", body or b""]
        return b"".join(parts)

    def prepare(self, kind: str, n: int) -> None:
        """Pre-sign ``n`` balances requests, or ``n`` order + cancel pairs, in send order."""
        t = self.target
        ts = time.time_ns() // 1_000_000
        for _ in range(n):
            if kind == "balances":
                self._queue.append(self._spot("GET", "/accounts/balances", None, ts))
            elif kind == "orders":
                self._seq += 1
                cid = f"{self._cid}-{self._seq}"
                body = json.dumps(t.spot_order(cid), separators=(",", ":")).encode()
                self._queue.append(self._spot("POST", "/orders", body, ts))
                self._queue.append(self._spot("DELETE", f"/orders/cid:{cid}", None, ts))
            else:
                raise ValueError(f"unknown request kind {kind!r}")

    @staticmethod
    def _refused(body: bytes) -> bool:
        """Never: a Spot refusal has a non-2xx status (a cancel's 200 body holds ``code``)."""
        return False
