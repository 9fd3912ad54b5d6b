"""The lean lane: keep-alive HTTP/1.1 connections that write prebuilt requests.

One :class:`Lane` per API key (the legacy dialect: one request of a key in flight at a
time; a dialect without per-key ordering may open several). A lane writes a request framed
elsewhere (``Request.data``) in one ``write`` on an open TLS connection of the running loop
(uvloop when it is the loop), and reads the answer with httptools (llhttp):
``Content-Length``, chunked and close-delimited bodies, and ``Connection: close`` are
handled; informational ``1xx`` answers are skipped. The answer goes through the dialect's
classifier (``classify``) inside the protocol callback, so the request's future resolves to
the result, or to a typed polo_fast error: :meth:`Lane.start` returns that future and the
caller awaits it, with no coroutine of its own in between.

Safety on the wire:

- an answer is taken only by the request in flight: a byte that arrives while nothing is
  asked, or a second answer behind the first (whole or split over reads), kills the
  connection; a connection goes back to the idle list only after a complete, clean answer;
- an answer larger than ``max_answer_bytes`` (headers and body, however framed) fails the
  request before it is buffered further; one cut short is an error, never a result;
- a request's deadline covers connect, TLS handshake and answer (``timeout``), checked by
  one watchdog per connection, not a timer per request.

Staying warm (``keep_warm`` seconds, off with None): an idle connection makes a cheap round
trip (``warm_request``: ``GET /cdn-cgi/trace``) before servers' idle timeouts close it, and
a connection that closes anyway is replaced in the background, off any order's path.

Failures become polo_fast errors through :func:`polo_fast.transport.answers.translate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httptools

from polo_fast.transport.answers import Classify, LaneFailure, translate
from polo_fast.transport.base import Head, Request
from polo_fast.transport.tls import TLS_SESSION

__all__ = ["Lane", "LaneFailure"]

log = logging.getLogger(__name__)

#: Seconds a lane stops trying to connect after a failed connect (aiohttp serves meanwhile).
RETRY_CONNECT_AFTER = 1.0
#: Servers close idle keep-alive connections (Cloudflare after minutes, nginx after 75 s,
#: aiohttp after 15-60 s); a connection idle longer than this is replaced before use.
MAX_IDLE = 50.0

_PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)


class _Headers:
    """Collects the headers of the last message of an answer (for the rare close path)."""

    def __init__(self) -> None:
        self.names: list[bytes] = []

    def on_message_begin(self) -> None:
        self.names = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.names.append(name.lower())
        if name.lower() == b"transfer-encoding":
            self.names.append(b"chunked" if b"chunked" in value.lower() else b"")


def _framed(head: bytes) -> bool:
    """True if an answer's head announced its length (``Content-Length`` or chunked)."""
    seen = _Headers()
    with contextlib.suppress(*_PARSER_ERRORS):
        httptools.HttpResponseParser(seen).feed_data(head)
    return b"content-length" in seen.names or b"chunked" in seen.names


class _Conn(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight at a time."""

    def __init__(self, lane: Lane, loop: asyncio.AbstractEventLoop) -> None:
        self.lane = lane
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Any] | None = None
        # the request in flight: its command (None: a warm-up round trip) and key's head
        self.command: str | None = None
        self.key: Head | None = None
        # Two of llhttp's four callbacks are bound C methods, so they cost no Python call:
        # each body chunk is appended to ``body``, and the end of the headers empties
        # ``headers_pending`` (one element while the headers of an answer are incomplete).
        self.body: list[bytes] = []
        self.on_body = self.body.append
        self.headers_pending: list[None] = [None]
        self.on_headers_complete = self.headers_pending.clear
        # One token per answer we may be given: the request puts it, the start of an answer
        # takes it (a bound C method again). A second answer behind ours finds none: the
        # ``pop`` fails, llhttp stops, and the connection is dropped (data_received).
        self.expected: list[None] = []
        self.on_message_begin = self.expected.pop
        self.head: list[bytes] = []  # the reads holding the answer's head (close path only)
        self.parser = httptools.HttpResponseParser(self)  # reads the callbacks above
        self.received = 0
        self.limit = lane.max_answer_bytes
        self.classify = lane.classify
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
        received = self.received = self.received + len(data)
        if received > self.limit:
            detail = f"answer larger than max_answer_bytes ({self.limit} bytes)"
            self.fail(LaneFailure("http", True, detail), None)
            self.abort()
            return
        if self.headers_pending:
            self.head.append(data)
        try:
            self.parser.feed_data(data)
        except _PARSER_ERRORS as exc:
            self.fail(LaneFailure("http", True, f"unreadable HTTP answer ({exc!r})"), exc)
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        ours = self.closed  # we closed it (aborted, too old, Connection: close, lane closed)
        self.closed = True
        self.lane._conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            if not ours:
                self.lane.lost()  # the server closed an idle connection
            return
        if (
            not self.headers_pending
            and not self.parser.should_keep_alive()
            and not _framed(b"".join(self.head))
        ):
            # A body without Content-Length or chunking ends with the connection.
            self.on_message_complete()
            return
        failure = LaneFailure("lost", True, "connection closed before the answer was complete")
        self.fail(failure, exc)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    # -- httptools callbacks -----------------------------------------------------------------

    # Four callbacks: on_message_begin, on_headers_complete and on_body are bound C methods
    # (set in __init__), on_message_complete below: one Python call per answer and no
    # on_header (a call per header is the costliest part of parsing an answer; nothing in
    # the headers matters beyond what llhttp reports itself: framing and keep-alive).

    def on_message_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        self.headers_pending.append(None)  # emptied by on_headers_complete: refill
        chunks = self.body
        if status < 200:  # informational (100 Continue, 103 Early Hints): not the answer
            chunks.clear()
            self.expected.append(None)  # the final answer is still to come
            return
        waiter = self.waiter
        if waiter is None:
            self.abort()  # an answer nobody asked for
            return
        command = self.command
        key = self.key
        self.waiter = self.command = self.key = None
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.head.clear()
        self.idle_since = self.loop.time()
        if parser.should_keep_alive():
            lane = self.lane
            if not lane._closed:  # put(), inlined: clean and complete, back to the idle list
                lane._idle.append(self)
        else:
            self.closed = True
            self.transport.close()  # type: ignore[union-attr]
        if waiter.done():
            return
        if command is None:
            waiter.set_result(status)
            return
        try:
            result = self.classify(status, body, command, key.label if key is not None else None)
        except Exception as exc:
            waiter.set_exception(exc)
        else:
            waiter.set_result(result)

    # -- our side ----------------------------------------------------------------------------

    def fail(self, failure: LaneFailure, cause: BaseException | None) -> None:
        waiter = self.waiter
        command = self.command
        key = self.key
        self.waiter = self.command = self.key = None
        if waiter is not None and not waiter.done():
            failure.__cause__ = cause
            waiter.set_exception(
                translate(failure, Request(command, key)) if command is not None else failure
            )

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
        """Close at once (pending answer discarded); the connection is never used again."""
        self.shut(abort=True)

    def shut(self, *, abort: bool) -> None:
        """Close (``abort``: at once, discarding what is pending); never used again."""
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        transport = self.transport
        if transport is not None:
            if abort:
                transport.abort()
            else:
                transport.close()

    def usable(self, now: float, max_idle: float) -> bool:
        """True if the connection is open, clean (no answer pending) and not idle too long."""
        transport = self.transport
        if self.closed or self.waiter is not None or transport is None or transport.is_closing():
            return False
        return now - self.idle_since < max_idle

    def request_bytes(
        self, request: Request | None, data: bytes, timeout: float, now: float | None = None
    ) -> asyncio.Future[Any]:
        """Write one complete request; the future gets the classified answer or an error.

        ``request`` None: a warm-up round trip; the future gets the status. ``now``: the
        loop's time, when the caller just read it (the deadline is ``now + timeout``).
        """
        if request is None:
            return self.write(None, None, data, timeout, now)
        return self.write(request.command, request.head, data, timeout, now)

    def write(
        self,
        command: str | None,
        key: Head | None,
        data: bytes,
        timeout: float,
        now: float | None = None,
    ) -> asyncio.Future[Any]:
        """:meth:`request_bytes` for a request given by its command and key's head (command
        None: a warm-up round trip)."""
        loop = self.loop
        waiter: asyncio.Future[Any] = loop.create_future()
        self.waiter = waiter
        self.command = command
        self.key = key
        self.received = 0
        self.expected.append(None)
        self.deadline = (loop.time() if now is None else now) + timeout
        if self.timer is None:
            # One watchdog per connection, re-armed every ``tick`` while a request is in
            # flight, instead of a timer per request (it checks ``deadline``).
            self.tick = min(0.1, timeout / 4)
            self.timer = loop.call_later(self.tick, self.watchdog)
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # a failed warm round trip is not an error anyone awaits


class Lane:
    """Keep-alive connections to one host, writing prebuilt requests.

    Parameters:
        host, port: where to connect.
        ssl_context: the TLS context (verification on, TLS >= 1.2); None for plain HTTP.
        timeout: seconds for connect + TLS handshake + answer of one request.
        classify: the dialect's answer classifier.
        max_answer_bytes: the largest answer (head and body) accepted.
        max_idle: a connection idle longer than this is replaced before use.
        warm_request: a complete idempotent request (``GET /cdn-cgi/trace``) sent on each
            connection :meth:`warm` opens, and by the keep-warm round trips.
        keep_warm: seconds between keep-warm round trips on an idle connection (and a
            closed one is replaced in the background); None: off.
    """

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        *,
        timeout: float,
        classify: Classify,
        max_answer_bytes: int,
        max_idle: float = MAX_IDLE,
        warm_request: bytes | None = None,
        keep_warm: float | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._timeout = timeout
        self.classify = classify
        self.max_answer_bytes = max_answer_bytes
        self._max_idle = max_idle
        self._warm_request = warm_request
        self._keep_warm = keep_warm if warm_request is not None and keep_warm else None
        self._idle: list[_Conn] = []
        self._conns: set[_Conn] = set()
        self._down_until = 0.0
        self._closed = False
        self._ticker: asyncio.TimerHandle | None = None
        self._refill: asyncio.Task[None] | None = None
        self._ping: asyncio.Future[Any] | None = None  # the last keep-warm round trip
        self._session: ssl.SSLSession | None = None  # the last TLS session, to resume

    @property
    def timeout(self) -> float:
        """Seconds for connect + TLS handshake + answer of one request."""
        return self._timeout

    def take(self) -> _Conn | None:
        """Pop an open, clean idle connection; None when there is none.

        Connections the server closed, or idle longer than ``max_idle``, are dropped on the
        way. Nothing connects here.
        """
        idle = self._idle
        if idle:
            now = idle[-1].loop.time()
            while idle:
                conn = idle.pop()
                if conn.usable(now, self._max_idle):
                    return conn
                conn.abort()
        return None

    def put(self, conn: _Conn) -> None:
        """Hand back a connection whose answer completed cleanly (kept if it stays open)."""
        if not conn.closed and not self._closed and conn not in self._idle:
            self._idle.append(conn)

    def start(self, request: Request) -> asyncio.Future[Any] | None:
        """Write ``request`` on an idle connection now; None when none is ready.

        The fast path: no coroutine, the connection's future is returned as it is. Its
        result is the classified answer; its exception a polo_fast error.
        """
        idle = self._idle
        if not idle:
            return None
        conn = idle.pop()
        if not conn.usable(conn.loop.time(), self._max_idle):
            conn.abort()
            conn = self.take()  # type: ignore[assignment]
            if conn is None:
                return None
        data = request.data
        request.data = b""  # the signature lives no longer than the write
        return conn.request_bytes(request, data, self._timeout)

    def starter(
        self, head: Head, fallback: Callable[[Request], Awaitable[Any]]
    ) -> Callable[[str, bytes], Awaitable[Any]]:
        """A function ``(command, data) -> awaitable`` for the requests of one key (``head``):
        :meth:`start`, then ``fallback(Request(command, head, data=data))`` when no
        connection is ready, as one call.

        The transport's per-key starter (:meth:`HttpTransport.starter`): on the warm path the
        connection's future, with no call and no :class:`Request` between the client and
        the connection's write.
        """
        lane = self

        def start(command: str, data: bytes) -> Awaitable[Any]:
            idle = lane._idle
            if idle:
                conn = idle.pop()
                now = conn.loop.time()
                transport = conn.transport
                if (  # not conn.usable(now, lane._max_idle), inlined
                    conn.closed
                    or conn.waiter is not None
                    or transport is None
                    or transport.is_closing()
                    or now - conn.idle_since >= lane._max_idle
                ):
                    conn.abort()
                    other = lane.take()
                    if other is None:
                        return fallback(Request(command, head, "", b"", "", data))
                    conn = other
                    now = conn.loop.time()
                return conn.write(command, head, data, lane._timeout, now)
            return fallback(Request(command, head, "", b"", "", data))

        return start

    async def send(self, request: Request, deadline: float) -> Any:
        """Send ``request``, connecting first when no idle connection is ready.

        Raises:
            ConnectError: nothing was written (the caller may use another path).
            PoloniexError: as the dialect's classifier, or a TransportError after writing.
        """
        fut = self.start(request)
        loop = asyncio.get_running_loop()
        pending = self._refill or self._ping
        if fut is None and pending is not None and not pending.done():
            # a keep-warm round trip or a background reconnect is under way: its connection
            # is ready sooner than a new one would be
            await asyncio.wait((pending,), timeout=max(0.0, deadline - loop.time()))
            fut = self.start(request)
        if fut is None:
            try:
                conn = await self._connect()
            except LaneFailure as exc:
                raise translate(exc, request) from exc
            data = request.data
            request.data = b""
            fut = conn.request_bytes(request, data, max(0.001, deadline - loop.time()))
        return await fut

    def available(self) -> bool:
        """False for a second after a failed connect, while aiohttp serves instead."""
        if self._down_until:
            if asyncio.get_running_loop().time() < self._down_until:
                return False
            self._down_until = 0.0
        return not self._closed

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        if self._closed:
            raise LaneFailure("connect", False, "the lane is closed")
        timeout = self._timeout
        resume = TLS_SESSION.set(self._session)
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(self, loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                    ssl_handshake_timeout=max(timeout, 0.001) if self._ssl is not None else None,
                ),
                timeout,
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ValueError) as exc:
            self._down_until = loop.time() + RETRY_CONNECT_AFTER
            log.debug("lane connect to %s:%d failed: %r", self._host, self._port, exc)
            failure = LaneFailure("connect", False, f"cannot connect: {exc!r}")
            raise failure from exc
        finally:
            TLS_SESSION.reset(resume)
        if self._closed:
            conn.abort()
            raise LaneFailure("connect", False, "the lane is closed")
        self._conns.add(conn)
        log.debug("lane connected to %s:%d", self._host, self._port)
        if self._keep_warm is not None and self._ticker is None:
            self._ticker = loop.call_later(self._keep_warm, self._tick)
        return conn

    async def warm(self, round_trip: bool = True, count: int = 1) -> None:
        """Make sure ``count`` connections are open and TLS-handshaken (one by default),
        opening the missing ones now, all at once, with one round trip on each
        (``warm_request``; ``round_trip=False``: handshake only).

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
        missing = count - sum(1 for c in self._idle if c.usable(now, self._max_idle))
        if missing <= 0:
            return
        if missing == 1:
            await self._warm_one(round_trip)
            return
        results = await asyncio.gather(
            *(self._warm_one(round_trip) for _ in range(missing)), return_exceptions=True
        )
        for res in results:
            if isinstance(res, BaseException):
                raise res

    async def _warm_one(self, round_trip: bool) -> None:
        """Open one connection, make its round trip and put it in the idle list."""
        conn = await self._connect()
        if self._warm_request is None or not round_trip:
            self.put(conn)
            return
        try:
            await conn.request_bytes(None, self._warm_request, self._timeout)
        except LaneFailure as exc:
            conn.abort()
            failure = LaneFailure("connect", False, f"warm-up request failed: {exc}")
            raise failure from exc
        except BaseException:
            conn.abort()
            raise
        self._keep_session(conn)
        if conn.closed:  # answered with Connection: close: keep a plain new one instead
            self.put(await self._connect())

    def _keep_session(self, conn: _Conn) -> None:
        """Remember ``conn``'s TLS session (its tickets came with the first answer)."""
        sslobj = conn.transport.get_extra_info("ssl_object") if conn.transport else None
        session = getattr(sslobj, "session", None)
        if session is not None:
            self._session = session

    # -- keeping warm ------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every ``keep_warm`` seconds: a round trip on each connection idle that long."""
        self._ticker = None
        if self._closed or self._keep_warm is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in list(self._idle):
            if conn.usable(now, self._max_idle) and now - conn.idle_since >= self._keep_warm * 0.9:
                self._idle.remove(conn)
                fut = conn.request_bytes(None, self._warm_request or b"", self._timeout)
                fut.add_done_callback(_retrieve)
                self._ping = fut
                self._keep_session(conn)
        if self._conns or self._refill is not None:
            self._ticker = loop.call_later(self._keep_warm, self._tick)

    def lost(self) -> None:
        """An idle connection closed: with ``keep_warm``, open its replacement now."""
        if self._closed or self._keep_warm is None or self._refill is not None:
            return
        if any(not c.closed for c in self._conns):
            return  # another connection is open (or busy): it serves the next order
        self._refill = asyncio.get_running_loop().create_task(self._replace())

    async def _replace(self) -> None:
        try:
            # over TLS a round trip completes the handshake (see warm); plain HTTP needs none
            await self.warm(round_trip=self._ssl is not None)
        except (LaneFailure, OSError) as exc:
            log.debug("lane %s:%d: background reconnect failed: %r", self._host, self._port, exc)
        finally:
            self._refill = None

    def close(self) -> None:
        """Close every connection, idle or busy (a request in flight fails); later sends go
        to aiohttp or fail."""
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._refill is not None:
            self._refill.cancel()
            self._refill = None
        for conn in list(self._conns) + self._idle:
            busy = conn.waiter is not None
            if busy:
                conn.fail(
                    LaneFailure("lost", True, "the client was closed during the request"), None
                )
            conn.shut(abort=busy)
        self._idle.clear()
        self._conns.clear()

    def __repr__(self) -> str:
        return f"<Lane {self._host}:{self._port} idle={len(self._idle)}>"
