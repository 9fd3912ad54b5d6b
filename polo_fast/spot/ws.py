"""One WebSocket connection to the Spot API (spec §5), the layer under both sockets.

:class:`Connection` carries ``/ws/private`` (orders, balances, trade requests) and
``/ws/public`` (``book_lv2``) alike. It is built on picows (a Cython WebSocket for asyncio),
chosen by measurement over aiohttp's client (``benchmarks/bench_ws.py``, ``benchmarks/README.md``
"WebSocket library"): a listener callback per frame, no task switch and no message object
per frame, ``send`` writing synchronously. What it does:

- **connect**: ``wss://`` with the client's TLS context (verified, TLS >= 1.2: the context
  :func:`polo_fast.transport.tls.make_ssl_context` makes); a handshake bounded by
  ``timeout``. A failure is :class:`~polo_fast.errors.ConnectError` (nothing was sent).
- **receive**: every complete text frame is parsed once with ``orjson`` and handed to
  ``on_message`` inside picows' callback (no queue, no task); a reply can settle its
  request's future right there. ``{"event":"pong"}`` is taken here.
- **send**: :meth:`Connection.send` writes one text frame now, or raises
  :class:`~polo_fast.errors.ConnectionLost` when there is no socket (``sent=False``).
- **keep-alive**: the exchange ends a session that sent nothing for 30 s. Every
  ``ping_interval`` seconds a timer looks at the counters of frames sent and received; when
  nothing was sent, or nothing was received, since its last look it sends
  ``{"event":"ping"}`` (the documented ping), so the socket is never silent longer than twice
  the interval (20 s by default) and a socket busy both ways sends no pings at all. A ping
  with nothing at all received by the next look means a dead socket: it is cut (and
  reconnected) -- also while requests keep going out into a stalled one.
- **reconnect**: when the socket drops (not closed by us), ``on_drop(reason)`` runs at once
  (the owner settles what was in flight), then a task reconnects with exponential backoff
  (``backoff`` first and cap, seconds, with jitter) and runs ``on_open`` (auth,
  resubscribe, reconcile) before :meth:`Connection.ready` lets callers through again.
  ``on_open`` failing counts as a failed attempt. The delay is the connection's, not the
  attempt's: it goes back to ``first`` only once a socket stayed up ``cap`` seconds, so a
  server that accepts and drops at once is not hammered.

Readings (spec §7 #17): the JSON ping, not a protocol ping frame, is what keeps a session
alive (a protocol ping frame from the server is answered by picows); a frame split in
fragments is joined before parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import picows

from polo_fast.errors import ConnectError, ConnectionLost, PoloniexArgumentError

__all__ = ["PING", "Connection", "MessageHandler"]

log = logging.getLogger(__name__)

PING = b'{"event":"ping"}'
"""The documented keep-alive message; the answer is ``{"event":"pong"}``."""
USE_AIOFASTNET: bool | None = None
"""picows' TLS transport: None lets picows choose (aiofastnet's when it is installed, which
``benchmarks/bench_ws.py`` measured faster); False: the event loop's own TLS."""
_TEXT = picows.WSMsgType.TEXT
_BINARY = picows.WSMsgType.BINARY
_CONT = picows.WSMsgType.CONTINUATION
_CLOSE = picows.WSMsgType.CLOSE
_loads = orjson.loads

MessageHandler = Callable[[Any], None]
"""Called with every parsed message (a dict, usually) in the socket's callback."""


class _Listener(picows.WSListener):
    """picows' per-connection callbacks, forwarded to the :class:`Connection`."""

    __slots__ = ("_conn", "_parts")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._parts: list[bytes] | None = None

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        conn = self._conn
        conn.received += 1
        kind = frame.msg_type
        if kind is _TEXT and frame.fin:
            try:
                msg = _loads(frame.get_payload_as_memoryview())
            except orjson.JSONDecodeError:
                log.debug("a WebSocket frame that is not JSON was ignored")
                return
            conn.deliver(msg)
        elif kind is _TEXT or kind is _BINARY or kind is _CONT:
            self._fragment(frame)
        elif kind is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def _fragment(self, frame: picows.WSFrame) -> None:
        if frame.msg_type is not _CONT:
            self._parts = []
        if self._parts is None:  # a continuation without a start: protocol noise
            return
        self._parts.append(frame.get_payload_as_bytes())
        if frame.fin:
            raw, self._parts = b"".join(self._parts), None
            with contextlib.suppress(orjson.JSONDecodeError):
                self._conn.deliver(_loads(raw))

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self._conn._lost(self)


class Connection:
    """One WebSocket (see the module's docstring), reconnected until :meth:`close`.

    Args:
        url: ``wss://host[:port]/ws/public`` or ``.../ws/private``.
        ssl_context: the verifying TLS context (None: ``ws://``, only with ``insecure``).
        on_message: called with each parsed message, inside the socket's callback.
        on_open: awaited after each (re)connect, before :meth:`ready` returns; it may
            :meth:`send` and :meth:`request` (auth, subscriptions).
        on_drop: called at once when an open socket drops, with the reason.
        timeout: seconds for the handshake (and for :meth:`ready` and :meth:`ping`).
        ping_interval: seconds between two looks at the send counter; None: never ping.
        backoff: the first reconnect delay and its cap, seconds.
        insecure: allow ``ws://`` (the stand-in without TLS).
        name: shown in logs and errors (``"private"``, ``"public"``).
    """

    def __init__(
        self,
        url: str,
        ssl_context: ssl.SSLContext | None,
        on_message: MessageHandler,
        *,
        on_open: Callable[[Connection], Awaitable[None]] | None = None,
        on_drop: Callable[[str], None] | None = None,
        timeout: float = 10.0,
        ping_interval: float | None = 10.0,
        backoff: tuple[float, float] = (0.05, 5.0),
        insecure: bool = False,
        name: str = "ws",
    ) -> None:
        lowered = url.lower()
        if not (lowered.startswith("wss://") or (insecure and lowered.startswith("ws://"))):
            raise PoloniexArgumentError(
                f"ws_url must be wss://... (ws:// only with allow_insecure_http=True), got {url!r}"
            )
        if ping_interval is not None and not ping_interval > 0:
            raise PoloniexArgumentError("ping_interval must be a number of seconds above 0")
        self.url = url
        self.name = name
        self._ssl = ssl_context if lowered.startswith("wss://") else None
        self._on_message = on_message
        self._on_open = on_open
        self._on_drop = on_drop
        self.timeout = timeout
        self.ping_interval = ping_interval
        self._backoff = backoff
        self._transport: picows.WSTransport | None = None
        self._listener: _Listener | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._reconnector: asyncio.Task[None] | None = None
        self._opening: asyncio.Future[None] | None = None
        self._ticker: asyncio.TimerHandle | None = None
        # One entry per ping in flight, in order: the caller's future, or None (keep-alive).
        self._pongs: deque[asyncio.Future[None] | None] = deque()
        self._seen_sent = self._seen_received = -1
        self._pinged = False
        self._delay = backoff[0]  # the next reconnect's delay (grows until a socket lasts)
        self._up_since = 0.0  # loop time the current socket opened
        #: Text frames written and frames received on the current socket (counters).
        self.sent = 0
        self.received = 0
        #: How many times a socket was opened (1 after the first connect).
        self.generation = 0
        #: Pings answered (keep-alive and :meth:`ping`).
        self.pongs = 0
        #: Why the last socket ended (empty while the first one lives).
        self.last_drop = ""
        #: The last reconnect failure (None after a success).
        self.last_error: BaseException | None = None

    # -- state ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while a socket is open (it may still be authenticating)."""
        return self._transport is not None

    @property
    def is_ready(self) -> bool:
        """True while a socket is open and ``on_open`` has finished."""
        return self._ready.is_set()

    async def ready(self, timeout: float | None = None) -> None:
        """Return once the socket is open and set up; connect first if it never was.

        Raises:
            ConnectError: closed, or not ready within ``timeout`` (default: the
                connection's): nothing was sent.
        """
        if self._ready.is_set():
            return
        if self._closing:
            raise ConnectError(f"the {self.name} WebSocket is closed", command=self.name)
        if self._reconnector is None:  # never opened, or the first open failed
            await self.open()
            return
        try:
            await asyncio.wait_for(self._ready.wait(), self.timeout if timeout is None else timeout)
        except asyncio.TimeoutError:
            why = f": {self.last_error}" if self.last_error else ""
            raise ConnectError(
                f"the {self.name} WebSocket is not connected ({self.last_drop or 'connecting'})"
                f"{why}",
                command=self.name,
            ) from None

    # -- opening --------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and run ``on_open`` once; raise what fails (no reconnect for the first).

        Raises:
            ConnectError: the socket could not be opened.
            Exception: whatever ``on_open`` raised (e.g. an authentication refusal).
        """
        if self._ready.is_set():
            return
        if self._opening is not None:  # another caller is opening it: wait for that one
            await asyncio.shield(self._opening)
            return
        self._closing = False
        self._opening = asyncio.get_running_loop().create_future()
        try:
            await self._connect()
            try:
                if self._on_open is not None:
                    await self._on_open(self)
            except BaseException:
                self._cut()
                raise
            self._ready.set()
        except Exception as exc:
            self._opening.set_exception(exc)
            self._opening.exception()  # retrieved: nobody may be waiting
            raise
        except BaseException:
            self._opening.cancel()
            raise
        finally:
            if not self._opening.done():
                self._opening.set_result(None)
            self._opening = None

    async def _connect(self) -> None:
        try:
            transport, listener = await picows.ws_connect(
                lambda: _Listener(self),
                self.url,
                ssl_context=self._ssl,
                websocket_handshake_timeout=self.timeout,
                enable_auto_pong=True,
                max_redirects=0,
                logger_name="polo_fast",
                use_aiofastnet=USE_AIOFASTNET,
            )
        except (OSError, asyncio.TimeoutError, picows.WSError, picows.WSInvalidURL) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ConnectError(
                f"could not open the {self.name} WebSocket ({detail})", command=self.name
            ) from exc
        assert isinstance(listener, _Listener)
        self._transport, self._listener = transport, listener
        self.sent = self.received = 0
        self._seen_sent = self._seen_received = -1
        self._pinged = False
        self.generation += 1
        self._up_since = asyncio.get_running_loop().time()
        self._schedule_tick()

    # -- sending --------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write one text frame now.

        Raises:
            ConnectionLost: there is no open socket (``sent=False``: nothing left).
        """
        transport = self._transport
        if transport is None:
            raise ConnectionLost(
                f"the {self.name} WebSocket is not connected", command=self.name, sent=False
            )
        transport.send(_TEXT, data)
        self.sent += 1

    async def ping(self, timeout: float | None = None) -> None:
        """Send ``{"event":"ping"}`` and wait for the pong (a barrier: the server answers
        after everything it queued before it).

        Raises:
            ConnectionLost: the socket dropped, or no pong within ``timeout``.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.send(PING)
        self._pongs.append(fut)
        try:
            await asyncio.wait_for(fut, self.timeout if timeout is None else timeout)
        except asyncio.TimeoutError:
            raise ConnectionLost(
                f"no pong on the {self.name} WebSocket", command=self.name
            ) from None

    # -- receiving ------------------------------------------------------------------------------
    def deliver(self, msg: Any) -> None:
        """Hand one parsed message to ``on_message`` (a pong is taken here)."""
        if type(msg) is dict and msg.get("event") == "pong":
            self.pongs += 1
            if self._pongs:
                fut = self._pongs.popleft()
                if fut is not None and not fut.done():
                    fut.set_result(None)
            return
        try:
            self._on_message(msg)
        except Exception:  # one bad message never ends the socket
            log.exception("the %s WebSocket's handler failed on a message", self.name)

    # -- keep-alive -----------------------------------------------------------------------------
    def _schedule_tick(self) -> None:
        if self.ping_interval is not None and self._ticker is None:
            loop = asyncio.get_running_loop()
            self._ticker = loop.call_later(self.ping_interval, self._tick)

    def _tick(self) -> None:
        self._ticker = None
        transport = self._transport
        if transport is None:
            return
        if self._pinged and self.received == self._seen_received:
            log.info("the %s WebSocket answered nothing to a ping: reconnecting", self.name)
            self.last_drop = "no answer to a ping"
            transport.disconnect(graceful=False)
            return
        self._pinged = False
        if self.sent == self._seen_sent or self.received == self._seen_received:
            transport.send(_TEXT, PING)
            self._pongs.append(None)
            self.sent += 1
            self._pinged = True
        self._seen_sent, self._seen_received = self.sent, self.received
        self._schedule_tick()

    # -- dropping and reconnecting ----------------------------------------------------------------
    def _lost(self, listener: _Listener) -> None:
        if listener is not self._listener:
            return
        self._transport = self._listener = None
        was_ready = self._ready.is_set()
        self._ready.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._fail_pongs()
        if self._closing:
            return
        self.last_drop = self.last_drop or "the connection dropped"
        first, cap = self._backoff
        if asyncio.get_running_loop().time() - self._up_since >= cap:
            self._delay = first  # it lasted: the next drop is a fresh one
        log.info("the %s WebSocket dropped (%s): reconnecting", self.name, self.last_drop)
        if self._on_drop is not None:
            try:
                self._on_drop(self.last_drop)
            except Exception:
                log.exception("the %s WebSocket's drop handler failed", self.name)
        if was_ready and self._reconnector is None:
            self._reconnector = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        cap = self._backoff[1]
        try:
            while not self._closing:
                delay = self._delay
                self._delay = min(cap, delay * 2)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                if self._closing:
                    return
                try:
                    await self._connect()
                    if self._on_open is not None:
                        await self._on_open(self)
                except Exception as exc:
                    self.last_error = exc
                    log.info("reconnecting the %s WebSocket failed: %s", self.name, exc)
                    self._cut()
                    continue
                self.last_error = None
                self.last_drop = ""
                self._ready.set()
                return
        finally:
            self._reconnector = None

    def _fail_pongs(self) -> None:
        pongs, self._pongs = self._pongs, deque()
        for fut in pongs:
            if fut is not None and not fut.done():
                fut.set_exception(
                    ConnectionLost(f"the {self.name} WebSocket dropped", command=self.name)
                )

    def _cut(self) -> None:
        """Drop the current socket without running the drop handler (a failed set-up)."""
        transport, self._transport, self._listener = self._transport, None, None
        self._fail_pongs()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if transport is not None:
            transport.disconnect(graceful=False)

    def drop(self, reason: str = "cut by the client") -> None:
        """Cut the socket as if the network had (tests, and a socket found dead)."""
        transport, listener = self._transport, self._listener
        if transport is not None and listener is not None:
            self.last_drop = reason
            transport.disconnect(graceful=False)
            self._lost(listener)  # now, not when picows reports it: callers see it at once

    async def close(self) -> None:
        """Close for good: no reconnect; waiting :meth:`ready` callers get ConnectError."""
        self._closing = True
        self._ready.clear()
        task, self._reconnector = self._reconnector, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        transport = self._transport
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.send_close(picows.WSCloseCode.OK)
            transport.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.wait_disconnected(), 1.0)
        self._transport = self._listener = None
