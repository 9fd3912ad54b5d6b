"""A hostile HTTPS server on loopback: it answers the way a broken or malicious edge might.

Raw asyncio: a TLS listener (certificate from a ``trustme`` CA) behind a plain TCP front
that pipes each connection to it, or accepts one and never lets its handshake start.
Requests are parsed with httptools; every request is counted (method, path, body), so a
test can prove what reached the server and how often. Each fault is
met by the next request of its command (or the next connection, for ``stalled_handshake``)
and then spent; every other request is answered with a plain JSON answer.

Faults (``FAULTS``):

- ``redirect_307`` / ``redirect_302``: a redirect to the same server's ``/tradingApi``
  (a client that follows it sends the signed request again; 302 turns it into a GET);
- ``informational``: ``100 Continue`` and ``103 Early Hints`` before the real answer;
- ``oversize_length``: ``Content-Length: 2000000000`` and megabytes of body;
- ``oversize_chunked``: a chunked body that does not end (megabytes of chunks);
- ``gzip_bomb``: a gzip body of a few kB that inflates to a 16 MB valid JSON answer;
- ``desync_split``: the answer, then half of a second answer nobody asked for in the same
  write, the rest of it with the next request's answer;
- ``unsolicited``: the answer; then :meth:`HostileServer.push_extra` writes a second one
  on that connection while it sits idle;
- ``truncated_close``: ``Content-Length`` larger than the body sent, then close;
- ``stalled_handshake``: a connection whose TLS handshake never starts.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
from dataclasses import dataclass, field
from typing import Any

import httptools
import trustme

ANSWER = b'{"BTC": "1.00000000", "orderNumber": "514845991795"}'
#: What an extra (unsolicited) answer holds: a client must never return it.
EXTRA = b'{"orderNumber": "666", "evil": true}'

FAULTS = (
    "redirect_307",
    "redirect_302",
    "informational",
    "oversize_length",
    "oversize_chunked",
    "gzip_bomb",
    "desync_split",
    "unsolicited",
    "truncated_close",
    "stalled_handshake",
)

_MIB = 1024 * 1024


def response(body: bytes, *, status: int = 200, extra: str = "") -> bytes:
    """A complete HTTP/1.1 answer with ``Content-Length``."""
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _bomb() -> bytes:
    inner = b'{"BTC": "1.00000000", "pad": "' + b"0" * (16 * _MIB) + b'"}'
    return gzip.compress(inner, compresslevel=9)


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    body: bytes
    connection: int


@dataclass
class Fault:
    """A fault waiting for the next request of ``command`` (any command when None)."""

    name: str
    command: str | None = None


@dataclass
class HostileServer:
    """The server (``async with HostileServer(ca) as srv``: ``srv.url``, ``srv.seen``)."""

    ca: trustme.CA
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    connections: int = 0
    closed: int = 0
    url: str = ""
    _bomb: bytes = b""
    idle_victim: _Conn | None = None
    #: while True, requests are counted and never answered (a hung exchange)
    hold: bool = False
    #: set at every request (a test waits for "the request arrived" on it)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def push_extra(self) -> None:
        """Write an answer nobody asked for on the ``unsolicited`` fault's idle connection,
        and let the loop carry it to the client (a few turns: two hops on loopback)."""
        if self.idle_victim is not None:
            self.idle_victim._write(response(EXTRA))
            self.idle_victim = None
        for _ in range(10):
            await asyncio.sleep(0)

    def add(self, name: str, command: str | None = None) -> None:
        """Arm fault ``name`` for the next request of ``command``."""
        assert name in FAULTS, name
        if name == "gzip_bomb" and not self._bomb:
            self._bomb = _bomb()
        self.faults.append(Fault(name, command))

    def take(self, command: str | None) -> str | None:
        """The armed fault this request meets (spent), or None."""
        for f in self.faults:
            if f.name != "stalled_handshake" and f.command in (None, command):
                self.faults.remove(f)
                return f.name
        return None

    def take_connection_fault(self) -> bool:
        for f in self.faults:
            if f.name == "stalled_handshake":
                self.faults.remove(f)
                return True
        return False

    def count(self, command: str) -> int:
        """How many requests carrying ``command=<command>`` reached the server."""
        return sum(1 for s in self.seen if s.body.startswith(f"command={command}&".encode()))

    async def __aenter__(self) -> HostileServer:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(ctx)
        loop = asyncio.get_running_loop()
        self._conns: set[_Conn] = set()
        self._pipes: set[asyncio.StreamWriter] = set()
        self._inner = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, ssl=ctx)
        self._inner_port = self._inner.sockets[0].getsockname()[1]
        self._front = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"https://127.0.0.1:{self._front.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._front.close()
        self._inner.close()
        for conn in list(self._conns):
            if conn.transport is not None:
                conn.transport.abort()
        for w in list(self._pipes):
            w.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._pipes.add(writer)
        try:
            if self.take_connection_fault():  # accept, and never let the handshake start
                while await reader.read(65536):
                    pass
                return
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self._inner_port)
            self._pipes.add(up_w)
            await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()


async def _pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    try:
        while data := await r.read(262144):
            w.write(data)
            await w.drain()
    except OSError:
        pass
    finally:
        w.transport.abort() if w.transport.is_closing() else w.close()


class _Conn(asyncio.Protocol):
    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.number = 0
        self.transport: asyncio.BaseTransport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.body = b""
        self.pending: bytes = b""  # the second half of a desync_split extra answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        srv = self.server
        srv.connections += 1
        self.number = srv.connections
        srv._conns.add(self)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write_close(response(b"bad request", status=400))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.closed += 1
        self.server._conns.discard(self)

    def on_url(self, url: bytes) -> None:
        self.url = url.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        body, self.body = self.body, b""
        self.server.seen.append(Seen(method, self.url, body, self.number))
        self.server.arrived.set()
        if self.server.hold:
            return
        command = None
        if body.startswith(b"command="):
            command = body.split(b"&", 1)[0][8:].decode()
        fault = self.server.take(command) if self.url.endswith("/tradingApi") else None
        self._answer(fault)

    def _write(self, data: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(data)  # type: ignore[attr-defined]

    def _write_close(self, data: bytes) -> None:
        self._write(data)
        if self.transport is not None:
            self.transport.close()

    def _answer(self, fault: str | None) -> None:
        pending, self.pending = self.pending, b""
        srv = self.server
        loc = f"Location: {srv.url}/tradingApi\r\n"
        if fault is None:
            self._write(pending + response(ANSWER))
        elif fault == "redirect_307":
            self._write(response(b'{"moved": true}', status=307, extra=loc))
        elif fault == "redirect_302":
            self._write(response(b'{"moved": true}', status=302, extra=loc))
        elif fault == "informational":
            self._write(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + response(ANSWER)
            )
        elif fault == "oversize_length":
            self._write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2000000000\r\n\r\n" + b'{"BTC": "' + b"1" * (6 * _MIB)
            )
        elif fault == "oversize_chunked":
            chunk = b"%x\r\n%s\r\n" % (_MIB, b"1" * _MIB)
            self._write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + b'a\r\n{"BTC": "1\r\n' + chunk * 6
            )
        elif fault == "gzip_bomb":
            self._write(response(srv._bomb, extra="Content-Encoding: gzip\r\n"))
        elif fault == "desync_split":
            extra = response(EXTRA)
            half = len(extra) // 2
            self._write(response(ANSWER) + extra[:half])
            self.pending = extra[half:]
        elif fault == "unsolicited":
            self._write(response(ANSWER))
            srv.idle_victim = self
        elif fault == "truncated_close":
            self._write_close(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(ANSWER) + 40}\r\n\r\n".encode()
                + ANSWER
            )
        else:  # pragma: no cover
            raise AssertionError(fault)


def client_ca(ca: trustme.CA, tmp: Any) -> str:
    """Write the CA's certificate to ``tmp/ca.pem`` and return its path."""
    pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return str(pem)
