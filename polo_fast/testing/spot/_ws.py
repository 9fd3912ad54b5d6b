"""The Spot stand-in's WebSocket endpoints, ``/ws/public`` and ``/ws/private`` (spec §5).

One :class:`Gateway` per stand-in serves both paths with aiohttp; each connection is a
:class:`_Socket` with one writer task, so replies and stream messages leave in the order they
were queued. What a socket takes (JSON text frames):

- ``{"event":"ping"}`` (or the plain text ``ping``, or a protocol ping frame) -> ``pong``;
- ``subscribe`` / ``unsubscribe`` with ``channel`` (a list) and ``symbols``;
  ``unsubscribe_all``; ``list_subscriptions``. Public channels (``book_lv2``, ``trades``,
  ``ticker``) on ``/ws/public`` only, private ones (``orders``, ``balances``) on
  ``/ws/private`` only, after auth;
- auth (private socket): ``{"event":"subscribe","channel":["auth"],"params":{"key",
  "signTimestamp","signature",...}}``, the signature being base64(HMAC-SHA256(secret,
  ``GET\\n/ws\\nsignTimestamp=<ts>``)) and the timestamp checked as on REST; the answer is
  ``{"channel":"auth","data":{"success":true|false,...,"ts":...}}``;
- trade requests (private socket, after auth): ``createOrder``, ``cancelOrders``,
  ``cancelAllOrders`` as ``{"id":...,"event":...,"params":{...}}``, answered
  ``{"id":...,"data":[{"orderId","clientOrderId","code","message"},...]}`` (a refusal:
  ``orderId`` 0 with the code). They run through the REST endpoint's parameter checks,
  per-key rate-limit class, handler (one order engine, wallets, clientOrderIds, kill switch)
  and journal line (``"http": "WS"``).

A socket that sends nothing (no message, no ping) for ``idle_timeout`` seconds is closed
without a message. Readings where the spec is unsure (its §7 #17), each a constant here:

- a plain-text ``ping`` and a protocol ping frame both count as a ping (answered with
  ``{"event":"pong"}`` and a pong frame);
- one private socket carries both private subscriptions and trade requests;
- every message counts against :data:`MESSAGES_PER_S` per connection (the documented 500/s,
  times the stand-in's ``rate_limit_scale``); a trade request is also counted in its REST
  class per key, so WS and REST orders share one budget; refused: code 429;
- a trade request before auth is answered with code 401 ``Not authenticated``;
- ``book_lv2`` with ``symbols`` ``["all"]`` (or none) is every market, as ``ticker``; any
  refusal raised while handling a message is answered ``{"event":"error",...}`` and the
  socket stays open.

Socket faults (:data:`REQUEST_ACTIONS`, by trade event): ``drop_on_request`` (the connection
drops when the request arrives; not executed), ``drop_before_reply`` (executed and
journaled, then the connection drops), ``stall`` (executed; the reply and everything after it
wait ``delay`` seconds). Stream faults (:data:`STREAM_ACTIONS`, by channel; ``_feeds.py``):
``gap`` (the next message is not sent, its ids used up, so the next ``book_lv2`` update's
``lastId`` is not the ``id`` the client holds), ``duplicate`` (the next message is sent twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from polo_fast.spot.commands import BY_METHOD, Endpoint
from polo_fast.testing._faults import FaultRule, Faults
from polo_fast.testing._http import RateLimiter
from polo_fast.testing.spot._auth import check_timestamp, signature_ok
from polo_fast.testing.spot._errors import BAD_PARAM, RATE_LIMITED, SpotError
from polo_fast.testing.spot._feeds import PRIVATE_CHANNELS, PUBLIC_CHANNELS, Feeds
from polo_fast.testing.spot._market import MARKETS
from polo_fast.testing.spot._routes import parse
from polo_fast.testing.spot._venue import HANDLERS, Venue

__all__ = [
    "MESSAGES_PER_S",
    "REQUEST_ACTIONS",
    "STREAM_ACTIONS",
    "TRADE_EVENTS",
    "Gateway",
    "Recorder",
]

log = logging.getLogger(__name__)

TRADE_EVENTS: Mapping[str, str] = {
    "createOrder": "create_order",
    "cancelOrders": "cancel_orders",
    "cancelAllOrders": "cancel_all_orders",
}
"""WebSocket trade request -> the REST endpoint (table method) it runs as."""
REQUEST_ACTIONS = frozenset({"drop_on_request", "drop_before_reply", "stall"})
STREAM_ACTIONS = frozenset({"gap", "duplicate"})
MESSAGES_PER_S = 500.0
"""Messages per second per connection (spec §5), before ``rate_limit_scale``."""

_PONG = orjson.dumps({"event": "pong"})
_NOT_AUTHENTICATED = (401, "Not authenticated")

Recorder = Callable[[str, str, str, Any, int, Any], None]
"""Journal one call: path, table method, key, params, status, result."""


class _Stall:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class _Socket:
    """One WebSocket connection: its key once authenticated, subscriptions, output queue."""

    def __init__(self, gw: Gateway, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.gw = gw
        self.request = request
        self.ws = ws
        self.path = request.path
        self.private = request.path.endswith("/private")
        self.key = ""
        self.subscriptions: dict[str, set[str]] = {}
        self._out: asyncio.Queue[bytes | _Stall] = asyncio.Queue()
        self._limiter = gw.message_limiter()
        self.writer = asyncio.get_running_loop().create_task(self._write())

    def push(self, message: bytes) -> None:
        """Queue one text frame."""
        self._out.put_nowait(message)

    async def _write(self) -> None:
        while True:
            item = await self._out.get()
            if isinstance(item, _Stall):
                await asyncio.sleep(item.seconds)
                continue
            try:
                await self.ws.send_frame(item, WSMsgType.TEXT)
            except (ConnectionError, RuntimeError):  # the peer went away: stop writing
                return

    def drop(self) -> None:
        """Cut the connection without a close frame (nothing queued is sent)."""
        self.writer.cancel()
        if self.request.transport is not None:
            self.request.transport.close()

    def error(self, message: str) -> None:
        """Answer ``{"event":"error","message":...}``."""
        self.push(orjson.dumps({"event": "error", "message": message}))

    # -- one message ------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        """Handle one text frame."""
        if self._limiter is not None and not self._limiter.allow(""):
            self._refuse(text)
            return
        if text.strip() == "ping":
            self.push(_PONG)
            return
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.error("Invalid request: not JSON")
            return
        try:
            self._dispatch(msg)
        except SpotError as exc:  # a bad message is answered; it never ends the socket
            self.error(exc.message)

    def _dispatch(self, msg: Any) -> None:
        event = msg.get("event") if isinstance(msg, dict) else None
        if event == "ping":
            self.push(_PONG)
        elif event in ("subscribe", "unsubscribe"):
            self._subscribe(msg, event == "subscribe")
        elif event == "unsubscribe_all":
            self.subscriptions.clear()
            self.push(orjson.dumps({"event": "unsubscribe_all", "channel": "all"}))
        elif event == "list_subscriptions":
            self.push(orjson.dumps({"subscriptions": sorted(self.subscriptions)}))
        elif event in TRADE_EVENTS and self.private:
            self._trade(msg)
        else:
            self.error(f"Invalid event value {orjson.dumps(event).decode()}")

    def _refuse(self, text: str) -> None:
        with contextlib.suppress(orjson.JSONDecodeError):
            msg = orjson.loads(text)
            if isinstance(msg, dict) and msg.get("event") in TRADE_EVENTS:
                self._reply(msg.get("id"), [_failure(msg.get("params"), RATE_LIMITED)])
                return
        self.error(RATE_LIMITED[1])

    def _subscribe(self, msg: dict[str, Any], on: bool) -> None:
        channels = msg.get("channel")
        if isinstance(channels, str):
            channels = [channels]
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            self.error("Invalid channel value")
            return
        if on and "auth" in channels:
            self._auth(msg.get("params"))
            channels = [c for c in channels if c != "auth"]
        allowed = PRIVATE_CHANNELS if self.private else PUBLIC_CHANNELS
        bad = [c for c in channels if c not in allowed]
        if bad:
            self.error(f"Invalid channel value {orjson.dumps(bad).decode()}")
            return
        if on and channels and not self.key and any(c in PRIVATE_CHANNELS for c in channels):
            self.error("User is not authenticated")
            return
        symbols = msg.get("symbols", ["all"])
        if not isinstance(symbols, list) or not all(
            isinstance(s, str) and (s == "all" or s in MARKETS) for s in symbols
        ):
            self.error(f"Invalid symbols value {orjson.dumps(symbols).decode()}")
            return
        for channel in channels:
            chosen = ["all"] if channel == "balances" else symbols
            current = self.subscriptions.setdefault(channel, set())
            if on:
                current.update(chosen)
            else:
                current.difference_update(chosen)
                if not current or "all" in chosen:
                    del self.subscriptions[channel]
            reply: dict[str, Any] = {"event": msg["event"], "channel": channel}
            if channel != "balances":
                reply["symbols"] = chosen
            self.push(orjson.dumps(reply))
            if on:
                self.gw.feeds.subscribed(self, channel, chosen)

    def _auth(self, params: Any) -> None:
        gw = self.gw
        p = params if isinstance(params, dict) else {}
        key, ts, given = p.get("key"), p.get("signTimestamp"), p.get("signature")
        stamp = str(ts) if isinstance(ts, (int, str)) and not isinstance(ts, bool) else ""
        secret = gw.secrets.get(key) if isinstance(key, str) else None
        ok = (
            secret is not None
            and stamp.isdigit()
            and stamp.isascii()
            and isinstance(given, str)
            and signature_ok(secret, [f"GET\n/ws\nsignTimestamp={stamp}".encode()], given)
        )
        if ok:
            try:
                check_timestamp(stamp, None, gw.now_ms(), gw.recv_window_ms)
            except SpotError:
                ok = False
        data: dict[str, Any] = {"success": ok, "ts": gw.now_ms()}
        if ok:
            assert isinstance(key, str)
            self.key = key
        else:
            data = {"success": False, "message": "Authentication failed!", "ts": data["ts"]}
        self.push(orjson.dumps({"channel": "auth", "data": data}))

    # -- trade requests ---------------------------------------------------------------------------
    def _trade(self, msg: dict[str, Any]) -> None:
        gw = self.gw
        rid, event, raw = msg.get("id"), msg["event"], msg.get("params")
        rule = gw.faults.take(event) if gw.faults else None
        if rule is not None and rule.action == "drop_on_request":
            self.drop()
            return
        method = TRADE_EVENTS[event]
        ep = BY_METHOD[method]
        params: Any = None
        try:
            if not self.key:
                raise SpotError(_NOT_AUTHENTICATED, 401)
            gw.throttle(ep, self.key)
            if not isinstance(raw, dict):
                raise SpotError(BAD_PARAM, detail="params must be a JSON object")
            params = parse(ep, {}, [], raw)
            status, result = 200, HANDLERS[method](gw.venue, self.key, params)
        except SpotError as exc:
            status, result = exc.status, exc.body()
        gw.record(self.path, method, self.key, params, status, result)
        if status == 200:
            data = _items(ep, result)
        else:
            data = [_failure(raw, (result["code"], result["message"]))]
        self._answer(rid, data, rule)
        gw.feeds.flush()

    def _answer(self, rid: Any, data: list[dict[str, Any]], rule: FaultRule | None) -> None:
        if rule is not None and rule.action == "drop_before_reply":
            self.drop()
            return
        if rule is not None:  # stall
            self._out.put_nowait(_Stall(rule.delay))
        self._reply(rid, data)

    def _reply(self, rid: Any, data: list[dict[str, Any]]) -> None:
        self.push(orjson.dumps({"id": rid, "data": data}))


def _order_id(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _items(ep: Endpoint, result: Any) -> list[dict[str, Any]]:
    """The REST handler's answer as the WebSocket reply's ``data`` items."""
    if ep.method == "create_order":
        return [
            {"orderId": _order_id(result["id"]), "clientOrderId": result["clientOrderId"],
             "code": 200, "message": ""}
        ]  # fmt: skip
    return [{**item, "orderId": _order_id(item["orderId"])} for item in result]


def _failure(params: Any, error: tuple[int, str]) -> dict[str, Any]:
    cid = params.get("clientOrderId") if isinstance(params, dict) else None
    return {"orderId": 0, "clientOrderId": cid, "code": error[0], "message": error[1]}


class Gateway:
    """Both WebSocket endpoints of one stand-in (see the module's docstring).

    Args:
        venue: the stand-in's state (orders, wallets, books).
        feeds: its streams.
        secrets: API key -> secret bytes.
        now_ms: the exchange's clock.
        recv_window_ms: how old an auth ``signTimestamp`` may be.
        throttle: the REST per-key rate-limit check (raises 429 :class:`SpotError`).
        record: the journal writer.
        idle_timeout: seconds of silence after which a socket is closed.
        message_rate: messages per second per connection, or None for no limit.
    """

    def __init__(
        self,
        venue: Venue,
        feeds: Feeds,
        secrets: Mapping[str, bytes],
        now_ms: Callable[[], int],
        recv_window_ms: int,
        throttle: Callable[[Endpoint, str], None],
        record: Recorder,
        idle_timeout: float,
        message_rate: float | None,
    ) -> None:
        self.venue = venue
        self.feeds = feeds
        self.secrets = secrets
        self.now_ms = now_ms
        self.recv_window_ms = recv_window_ms
        self.throttle = throttle
        self.record = record
        self.idle_timeout = idle_timeout
        self.message_rate = message_rate
        self.faults = Faults()
        self._sockets: set[_Socket] = set()

    def add_fault(self, action: str, event: str | None, count: int | None, delay: float) -> None:
        """Add a socket fault rule (see the module's docstring); the arguments are checked."""
        if action not in REQUEST_ACTIONS | STREAM_ACTIONS:
            choices = sorted(REQUEST_ACTIONS | STREAM_ACTIONS)
            raise ValueError(f"unknown WebSocket fault {action!r}; one of {choices}")
        if action in REQUEST_ACTIONS and event is not None and event not in TRADE_EVENTS:
            raise ValueError(f"unknown trade request {event!r}; one of {sorted(TRADE_EVENTS)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        rules = self.faults if action in REQUEST_ACTIONS else self.feeds.faults
        rules.add(action, event, count, delay)

    def clear_faults(self) -> None:
        """Drop every socket fault rule."""
        self.faults.clear()
        self.feeds.faults.clear()

    def message_limiter(self) -> RateLimiter | None:
        """A new connection's message limiter (None: unlimited)."""
        return None if self.message_rate is None else RateLimiter(self.message_rate)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one WebSocket connection until it closes, idles out or is dropped."""
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        sock = _Socket(self, request, ws)
        self._sockets.add(sock)
        self.feeds.sockets.add(sock)
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout)
                except asyncio.TimeoutError:
                    log.debug("closing an idle WebSocket (%s s)", self.idle_timeout)
                    break
                if msg.type == WSMsgType.TEXT:
                    sock.on_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    sock.on_text(msg.data.decode("utf-8", "replace"))
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type != WSMsgType.PONG:
                    break  # close, closing, closed, error
        finally:
            self.feeds.sockets.discard(sock)
            self._sockets.discard(sock)
            sock.writer.cancel()
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def close(self) -> None:
        """Close every open connection (the stand-in stops)."""
        for sock in list(self._sockets):
            sock.writer.cancel()
            with contextlib.suppress(Exception):
                await sock.ws.close()
