"""The lean lane: keep-alive HTTP/1.1 connections for signed private POSTs.

One :class:`Lane` per API key. It writes a request head prebuilt once per key
(``POST /tradingApi HTTP/1.1``, ``Host``, ``Key``, ``Content-Type``, ``Content-Length:``)
followed by the body's length, the ``Sign`` line and the body, in one ``write`` on an open
TLS connection of the running loop (uvloop when it is the loop), and reads the answer with
httptools (llhttp): ``Content-Length``, chunked and close-delimited bodies, and
``Connection: close`` are handled. A connection the server closed while it sat idle is
replaced before anything is written on it.

Failures leave here as :class:`LaneFailure` (what happened, and whether any byte of the
request was written); ``transport.py`` turns them into polo_fast errors, in one place.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import httptools

__all__ = ["Lane", "LaneFailure"]

log = logging.getLogger(__name__)

#: Seconds a lane stops trying to connect after a failed connect (aiohttp serves meanwhile).
RETRY_CONNECT_AFTER = 1.0


class LaneFailure(Exception):
    """A lane request failed.

    Attributes:
        kind: ``"connect"`` (could not connect; nothing written), ``"lost"`` (the connection
            closed before the answer was complete), ``"timeout"`` or ``"http"`` (unreadable
            answer).
        sent: whether bytes of the request were written to the connection.
    """

    def __init__(self, kind: str, sent: bool, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.sent = sent


class _Conn(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        # Two of llhttp's three callbacks are bound C methods, so they cost no Python call:
        # each body chunk is appended to ``body``, and the end of the headers empties
        # ``headers_pending`` (one element while the headers of an answer are incomplete).
        self.body: list[bytes] = []
        self.on_body = self.body.append
        self.headers_pending: list[None] = [None]
        self.on_headers_complete = self.headers_pending.clear
        self.parser = httptools.HttpResponseParser(self)  # reads the callbacks above
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.deadline = 0.0
        self.tick = 0.1
        self.idle_since = loop.time()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # TCP_NODELAY is already set: uvloop and asyncio both set it on every TCP transport.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:
            # Nothing asked for: the server is out of step with us; drop the connection.
            self.abort()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(LaneFailure("http", True, f"unreadable HTTP answer ({exc})"), exc)
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if not self.headers_pending and not self.parser.should_keep_alive():
            # The answer is not kept alive: a body without Content-Length or chunking ends
            # with the connection (one cut short fails as unreadable JSON in decode()).
            self.finish(self.parser.get_status_code())
            return
        failure = LaneFailure("lost", True, "connection closed before the answer was complete")
        self.fail(failure, exc)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    # -- httptools callbacks -----------------------------------------------------------------

    # Only three callbacks exist (on_headers_complete and on_body: bound C methods set in
    # __init__; on_message_complete below), so llhttp makes one Python call per answer: no
    # on_header (a call per header is the costliest part of parsing an answer, and nothing
    # in the headers matters beyond what llhttp reports itself: framing and keep-alive).

    def on_message_complete(self) -> None:
        parser = self.parser
        if not parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        # finish(), inlined: this runs once per answer
        waiter = self.waiter
        self.waiter = None
        chunks = self.body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        pending = self.headers_pending
        if not pending:
            pending.append(None)
        self.idle_since = self.loop.time()
        if waiter is not None and not waiter.done():
            waiter.set_result((parser.get_status_code(), body))

    # -- our side ----------------------------------------------------------------------------

    def finish(self, status: int) -> None:
        waiter = self.waiter
        self.waiter = None
        chunks = self.body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if not self.headers_pending:
            self.headers_pending.append(None)
        self.idle_since = self.loop.time()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def fail(self, failure: LaneFailure, cause: BaseException | None) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            failure.__cause__ = cause
            waiter.set_exception(failure)

    def watchdog(self) -> None:
        """Fail the request in flight once its deadline passed; re-arm while one is."""
        self.timer = None
        if self.waiter is None or self.closed:
            return  # idle: the next request re-arms
        if self.loop.time() >= self.deadline:
            self.fail(LaneFailure("timeout", True, "no complete answer within the timeout"), None)
            self.abort()
            return
        self.timer = self.loop.call_later(self.tick, self.watchdog)

    def abort(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()

    def usable(self, now: float, max_idle: float) -> bool:
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return False
        return now - self.idle_since < max_idle

    def request(self, data: bytes, timeout: float) -> asyncio.Future[tuple[int, bytes]]:
        """Write one complete request; the future gets ``(status, body)`` or a LaneFailure."""
        loop = self.loop
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self.waiter = waiter
        self.deadline = loop.time() + timeout
        if self.timer is None:
            # One watchdog per connection, re-armed every ``tick`` while a request is in
            # flight, instead of a timer per request (it checks ``deadline``).
            self.tick = min(0.1, timeout / 4)
            self.timer = loop.call_later(self.tick, self.watchdog)
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter


class Lane:
    """Keep-alive connections of one API key to one host, for signed private POSTs.

    In the client's default mode at most one request of the key is in flight, so the lane
    holds one connection; in optimistic mode it opens one per concurrent request.

    Parameters:
        host, port: where to connect.
        ssl_context: the TLS context (verification on, TLS >= 1.2); None for plain HTTP.
        head: the prebuilt request head, ending with ``Content-Length: ``.
        timeout: seconds for connect + TLS handshake, and again for each answer.
        max_idle: a connection idle longer than this is replaced before use (servers close
            idle keep-alive connections; writing into one would make the outcome unknown).
        warm_request: a complete idempotent request (``GET /cdn-cgi/trace``) that
            :meth:`warm` sends on each connection it opens; None: handshake only.
    """

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        head: bytes,
        *,
        timeout: float,
        max_idle: float = 50.0,
        warm_request: bytes | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._head = head
        self._timeout = timeout
        self._max_idle = max_idle
        self._warm_request = warm_request
        self._idle: list[_Conn] = []
        self._down_until = 0.0
        self._closed = False

    @property
    def head(self) -> bytes:
        """The prebuilt request head, ending in ``Content-Length: ``."""
        return self._head

    @property
    def timeout(self) -> float:
        """Seconds for connect + TLS handshake, and again for each answer."""
        return self._timeout

    def take(self) -> _Conn | None:
        """Pop an open idle connection, ready for a request; None when there is none.

        Connections the server closed, or idle longer than ``max_idle``, are dropped on the
        way. Nothing connects here (``send`` does); the caller writes one request with
        ``conn.request(data, lane.timeout)``, awaits the answer and hands the connection
        back with :meth:`put` (or aborts it when the request failed).
        """
        idle = self._idle
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if (
                not conn.closed
                and transport is not None
                and not transport.is_closing()
                and conn.loop.time() - conn.idle_since < self._max_idle
            ):
                return conn
            conn.abort()
        return None

    def put(self, conn: _Conn) -> None:
        """Hand back a connection whose request completed (kept if it stays open)."""
        if not conn.closed and not self._closed:
            self._idle.append(conn)

    def available(self) -> bool:
        """False for a second after a failed connect, while aiohttp serves instead."""
        if self._down_until:
            if asyncio.get_running_loop().time() < self._down_until:
                return False
            self._down_until = 0.0
        return not self._closed

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                ),
                self._timeout,
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ValueError) as exc:
            self._down_until = loop.time() + RETRY_CONNECT_AFTER
            log.debug("lane connect to %s:%d failed: %r", self._host, self._port, exc)
            failure = LaneFailure("connect", False, f"cannot connect: {exc!r}")
            raise failure from exc
        log.debug("lane connected to %s:%d", self._host, self._port)
        return conn

    async def warm(self) -> None:
        """Open and TLS-handshake one connection now, unless one is already open, and make one
        round trip on it (``warm_request``).

        The round trip is what makes the first order cost what a warm one does: with TLS 1.3
        the client's last handshake message leaves with the first request, so without it the
        first order would also carry the server's end of the handshake (checking the
        client's Finished, sending session tickets, setting up the connection) and the
        client's reading of those tickets.

        Raises:
            LaneFailure: ``kind == "connect"``: no connection could be opened, or it did not
                answer the warm-up request (no order was written on it).
        """
        now = asyncio.get_running_loop().time()
        if any(c.usable(now, self._max_idle) for c in self._idle):
            return
        conn = await self._connect()
        if self._warm_request is not None:
            try:
                await conn.request(self._warm_request, self._timeout)
            except LaneFailure as exc:
                conn.abort()
                failure = LaneFailure("connect", False, f"warm-up request failed: {exc}")
                raise failure from exc
            except BaseException:
                conn.abort()
                raise
            if conn.closed:  # answered with Connection: close: keep a plain new one instead
                conn = await self._connect()
        self._idle.append(conn)

    async def send(self, body: bytes, sign: str) -> tuple[int, bytes]:
        """Send one signed body; return ``(status, body)`` of the answer.

        Raises:
            LaneFailure: ``kind == "connect"`` means nothing was written (the caller may use
                another path); any other kind means the request may have been received.
        """
        idle = self._idle
        conn = None
        if idle:
            now = idle[-1].loop.time()
            while idle:
                candidate = idle.pop()
                if candidate.usable(now, self._max_idle):
                    conn = candidate
                    break
                candidate.abort()
        if conn is None:
            conn = await self._connect()
        data = b"".join(
            (self._head, b"%d" % len(body), b"\r\nSign: ", sign.encode("ascii"), b"\r\n\r\n", body)
        )
        try:
            result = await conn.request(data, self._timeout)
        except BaseException:
            conn.abort()  # its answer may still come: never reuse it
            raise
        self.put(conn)
        return result

    def close(self) -> None:
        """Close every idle connection; later sends fail over to aiohttp."""
        self._closed = True
        for conn in self._idle:
            conn.closed = True
            if conn.timer is not None:
                conn.timer.cancel()
                conn.timer = None
            if conn.transport is not None:
                conn.transport.close()
        self._idle.clear()

    def __repr__(self) -> str:
        return f"<Lane {self._host}:{self._port} idle={len(self._idle)}>"
