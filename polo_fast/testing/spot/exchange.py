"""The Spot stand-in exchange: a faithful local ``api.poloniex.com`` for tests and benchmarks.

``async with SpotExchange(keys={"KEY": "SECRET"}) as ex:`` serves every endpoint of the Spot
table (:mod:`polo_fast.spot.commands`) on 127.0.0.1 and a free port, over HTTPS with a
throwaway ``trustme`` CA (``ex.ca_path``) by default; ``with SpotExchange(...).running() as
ex:`` does the same from a background thread. ``ex.url`` is the REST base, ``ex.ws_url`` the
WebSocket base: ``ex.ws_url + "/public"`` and ``ex.ws_url + "/private"`` are served by
``_ws.py`` (auth, subscriptions, trade requests, ping/pong, the idle close) and ``_feeds.py``
(``book_lv2`` from the market's own book, ``trades``, ``ticker``, ``orders``, ``balances``).
Orders placed over the WebSocket and over REST share one engine, wallets, rate limits and
journal. ``ex.url + "/cdn-cgi/trace"`` answers as the legacy stand-in's does (the client's
keep-warm round trip), and idle keep-alive connections close after ``keepalive_timeout``.

It is a judge and shares nothing with the client: of polo_fast it reads only the endpoint
table and the stand-ins' shared infrastructure (:mod:`polo_fast.testing._service`: keys, TLS,
listening, journal, fault rules; books, rate limiter, answers). A request passes, in this
order:

1. the route exists (else 404 ``{"code":404,...}``); a fault rule may answer instead;
2. signed routes: ``key`` known and ``signature`` right over the request as sent (``_auth``),
   else **401 with an empty body** (spec §4); then ``signTimestamp`` not more than 1 s ahead
   (400) nor older than ``recvWindow`` or ``recv_window_ms`` (408);
3. its rate-limit class (per key, or per IP for public routes) has room (429);
4. parameters as the table says (601 invalid, 602 missing; HTTP 400);
5. the handler runs (business refusals: ``{"code","message"}`` with HTTP 400).

Every routed call, refused or not, is appended to ``journal_path`` as one JSON line (a
fault that answers before execution leaves none, as on the legacy stand-in).

Readings where the spec is unsure (its §7), each a constant or a knob:

- timestamps: 400 when more than ``FUTURE_TOLERANCE_MS`` (1 s) ahead; 408 when older than
  ``recvWindow`` or, without it, ``recv_window_ms`` (default ``DEFAULT_RECV_WINDOW_MS``, 60 s);
  a replayed signature inside the window is accepted (no nonce; §7 #16);
- GET values signed RFC 3986-encoded, ``encodeURIComponent``-encoded or raw; a bodyless
  POST/PUT/DELETE signs ``signTimestamp=`` only (plus any query, sorted); ``{}`` as a body is
  signed as ``requestBody={}``; the signature header may be URL-encoded (``%3D``);
- ``clientOrderId``: ``[A-Za-z0-9_-]``, at most 64 (longer: 21315), unique per key for the
  stand-in's life (21312); orders addressed by id or ``cid:<clientOrderId>``;
- batch: a JSON array of at most 20 orders, each answered on its own;
- numbers: plain ASCII decimals only (601); an order keeps its market's published
  ``priceScale``/``quantityScale``/``amountScale`` (21335/21336/21337; trailing zeros do not
  count) and ``minQuantity`` (21330) / ``minAmount`` (21322, also a limit order's price times
  quantity); transfers and withdrawals take amounts above 0 with at most 8 decimals (601);
- cancel-replace checks the replacement in full before it cancels; ``proceedOnFailure``
  true places it even when the old order is no longer open (``_orders.py``);
- ``orderBook?scale=`` groups levels (asks rounded up, bids down); no candle starts before
  ``tradableStartTime``; an unknown transfer id is 601 (no documented "not found" code);
- 429 body ``{"code":429,"message":"Too many requests"}``; rate limits are the documented
  floors per class times ``rate_limit_scale``; unknown parameters are ignored.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from polo_fast.spot.commands import ALL_ENDPOINTS, BY_METHOD, RATE_CLASSES, Endpoint
from polo_fast.testing._faults import EXECUTES, Faults
from polo_fast.testing._http import RateLimiter, answer, fault_before, json_answer
from polo_fast.testing._service import DEFAULT_KEEPALIVE_TIMEOUT, StandInService, positive
from polo_fast.testing.spot import _private, _public
from polo_fast.testing.spot._auth import (
    DEFAULT_RECV_WINDOW_MS,
    check_timestamp,
    signature_ok,
    strings_to_sign,
)
from polo_fast.testing.spot._errors import BAD_PARAM, NOT_FOUND, RATE_LIMITED, SpotError
from polo_fast.testing.spot._feeds import BOOK_DEPTH, Feeds
from polo_fast.testing.spot._routes import Router, parse, parse_batch
from polo_fast.testing.spot._venue import HANDLERS, Venue
from polo_fast.testing.spot._ws import MESSAGES_PER_S, Gateway

__all__ = ["SpotExchange"]

assert _private and set(HANDLERS) == set(BY_METHOD), set(HANDLERS) ^ set(BY_METHOD)

_UNAUTHENTICATED = {"Web-Filter": "unauthenticated"}
_FUTURES = ("GET", "/v3/market/allInstruments")  # asked by ccxt's load_markets()
_ROUTER = Router(ALL_ENDPOINTS)
_THROTTLED = SpotError(RATE_LIMITED, 429).body()


class _Unauthorized(Exception):
    """Bad key, signature or timestamp format: 401 with an empty body."""


class SpotExchange(StandInService):
    """A local Poloniex Spot API on loopback: every table endpoint, signed calls, faults.

    Args:
        keys: API key -> secret. The secret's bytes are the HMAC key, as on the exchange.
        tls: serve HTTPS with a throwaway CA (``ca_path``); False serves plain HTTP.
        host, port: where to listen; port 0 picks a free one (``url`` says which).
        rate_limit_scale: multiplies every class's documented floor (``RATE_CLASSES``);
            None turns rate limiting off.
        journal_path: where every call is appended as JSON lines (a temp file if None).
        balances: every key's starting SPOT balances, currency -> amount.
        seed: the seed of the order books and market data (same seed, same market).
        clock_offset_ms: how far the exchange's clock is ahead of the host's (negative:
            behind). ``GET /timestamp``, the timestamp checks and every time use it.
        recv_window_ms: how old a ``signTimestamp`` may be when no ``recvWindow`` is sent.
        kill_switch_unit: real seconds per kill-switch second (tests use e.g. 0.01).
        keepalive_timeout: seconds an idle keep-alive connection stays open (as the legacy
            stand-in, ``DEFAULT_KEEPALIVE_TIMEOUT``).
        ws_idle_timeout: seconds a WebSocket may stay silent (no message, no ping) before the
            stand-in closes it (the exchange's 30 s).
        ws_book_depth: levels per side of the ``book_lv2`` stream.
        colo: the ``colo=`` value of ``/cdn-cgi/trace`` (the client's keep-warm round trip).

    Raises:
        ValueError: for a port outside 0-65535, a keep-alive or WebSocket idle timeout that
            is not a finite number above 0, or a book depth below 1.
    """

    thread_name = "polo-spot-standin"
    fault_commands = BY_METHOD
    fault_command_word = "endpoint method"

    def __init__(
        self,
        keys: Mapping[str, str | bytes] | None = None,
        tls: bool = True,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_scale: float | None = 1.0,
        journal_path: str | os.PathLike[str] | None = None,
        balances: Mapping[str, Decimal | int | str | float] | None = None,
        seed: int = 1,
        clock_offset_ms: int = 0,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        kill_switch_unit: float = 1.0,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        ws_idle_timeout: float = 30.0,
        ws_book_depth: int = BOOK_DEPTH,
        colo: str = "IAD",
    ) -> None:
        ws_idle = positive("ws_idle_timeout", ws_idle_timeout)
        if ws_book_depth < 1:
            raise ValueError(f"ws_book_depth must be >= 1: {ws_book_depth}")
        super().__init__(keys, tls, host, port, colo, journal_path, keepalive_timeout)
        self.clock_offset_ms = clock_offset_ms
        self.recv_window_ms = recv_window_ms
        start = None if balances is None else {c: Decimal(str(v)) for c, v in balances.items()}
        self.venue = Venue(seed, start, self.now_ms, kill_switch_unit)
        self._limiters: dict[str, RateLimiter] | None = None
        if rate_limit_scale is not None:
            self._limiters = {
                c.value: RateLimiter(r * rate_limit_scale) for c, r in RATE_CLASSES.items()
            }
        self.feeds = Feeds(self.venue, Faults(), ws_book_depth)
        self._ws = Gateway(
            self.venue,
            self.feeds,
            self._secrets,
            self.now_ms,
            recv_window_ms,
            self._throttle,
            self._record,
            ws_idle,
            None if rate_limit_scale is None else MESSAGES_PER_S * rate_limit_scale,
        )

    @property
    def ws_url(self) -> str:
        """The WebSocket base (``wss://host:port/ws``; ``ws://`` without TLS), once started:
        ``ws_url + "/public"`` and ``ws_url + "/private"``."""
        return "ws" + self.url.removeprefix("http") + "/ws" if self.url else ""

    def now_ms(self) -> int:
        """The exchange's clock, ms: the host's plus ``clock_offset_ms``."""
        return int(time.time() * 1000) + self.clock_offset_ms

    # -- lifecycle ---------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/ws/public", self._ws.handle)
        app.router.add_get("/ws/private", self._ws.handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def stop(self) -> None:
        """Close every connection and stop listening (the journal file stays)."""
        self.venue.kill.close()
        await self._ws.close()
        await super().stop()

    # -- faults, journal, kill switch ----------------------------------------------------------
    def add_ws_fault(
        self, action: str, *, event: str | None = None, count: int | None = 1, delay: float = 0.0
    ) -> None:
        """Make the next ``count`` WebSocket trade requests or stream messages misbehave.

        Trade requests (``event``: ``createOrder``, ``cancelOrders``, ``cancelAllOrders``;
        None: any): ``drop_on_request``, ``drop_before_reply``, ``stall`` (for ``delay``
        seconds). Streams (``event``: a channel such as ``book_lv2``; None: any): ``gap``,
        ``duplicate``. See :mod:`polo_fast.testing.spot._ws`. ``count=None`` keeps the rule
        until :meth:`clear_faults`.
        """
        self._ws.add_fault(action, event, count, float(delay))

    def clear_faults(self) -> None:
        """Drop every fault rule (HTTP and WebSocket)."""
        super().clear_faults()
        self._ws.clear_faults()

    def kill_switch_fired(self, key: str) -> asyncio.Event:
        """An event set the next time ``key``'s kill switch fires (call on the server's loop)."""
        return self.venue.kill.fired(key)

    def _record(
        self,
        path: str,
        method: str,
        key: str,
        params: Any,
        status: int,
        result: Any,
        http: str = "WS",
    ) -> None:
        self._write_journal(
            {
                "key": key,
                "method": method,
                "http": http,
                "path": path,
                "params": params,
                "status": status,
                "result": result,
            }
        )

    # -- the request pipeline --------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if (request.method, request.path) == _FUTURES:
            return web.json_response(_public.FUTURES_INSTRUMENTS)
        found = _ROUTER.match(request.method, request.path)
        if found is None:
            return json_answer(404, SpotError(NOT_FOUND, 404).body())
        ep, path_params = found
        rule = self._faults.take(ep.method) if self._faults else None
        if rule is not None and rule.action not in EXECUTES:
            return fault_before(request, rule, _THROTTLED)
        key = ""
        params: Any = None
        try:
            if ep.signed:
                key = self._authenticate(request, body)
                ts, window = request.headers["signTimestamp"], request.headers.get("recvWindow")
                check_timestamp(ts, window, self.now_ms(), self.recv_window_ms)
            self._throttle(ep, key or (request.remote or ""))
            params = self._params(ep, path_params, request, body)
            status, result = 200, HANDLERS[ep.method](self.venue, key, params)
        except _Unauthorized:
            self._record(
                request.path, ep.method, request.headers.get("key", ""), None, 401, None,
                request.method,
            )  # fmt: skip
            return web.Response(status=401, headers=_UNAUTHENTICATED)
        except SpotError as exc:
            status, result = exc.status, exc.body()
        self._record(request.path, ep.method, key, params, status, result, request.method)
        self.feeds.flush()
        return await answer(request, status, result, rule)

    def _authenticate(self, request: web.Request, body: bytes) -> str:
        headers = request.headers
        key, ts, given = headers.get("key"), headers.get("signTimestamp"), headers.get("signature")
        secret = self._secrets.get(key or "")
        if secret is None or not ts or not given or not (ts.isdigit() and ts.isascii()):
            raise _Unauthorized
        query = self._query(request)
        raw_path = request.raw_path.split("?", 1)[0]
        candidates = strings_to_sign(request.method, (raw_path, request.path), query, body, ts)
        if not signature_ok(secret, candidates, given):
            raise _Unauthorized
        assert key is not None
        return key

    @staticmethod
    def _query(request: web.Request) -> list[tuple[str, str]]:
        try:
            return parse_qsl(
                request.rel_url.raw_query_string, keep_blank_values=True, strict_parsing=True
            )
        except ValueError:
            raise SpotError(BAD_PARAM, detail="query string") from None

    def _throttle(self, ep: Endpoint, who: str) -> None:
        if self._limiters is not None and not self._limiters[ep.rate_class.value].allow(who):
            raise SpotError(RATE_LIMITED, 429)

    def _params(self, ep: Endpoint, path: dict[str, str], request: web.Request, body: bytes) -> Any:
        decoded: Any = None
        if body:
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SpotError(BAD_PARAM, detail="the body is not JSON") from None
        if ep.body_array:
            return {"orders": parse_batch(ep, decoded)}
        return parse(ep, path, self._query(request), decoded)
