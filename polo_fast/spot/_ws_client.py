"""The Spot WebSockets as methods of the Spot client: orders, events, books (spec §5).

:class:`WsMethods` is a mixin of :class:`polo_fast.spot.client.Client`. It keeps two sockets
(:class:`polo_fast.spot.ws.Connection`, picows underneath):

- **private** (``<ws_url>/private``): opened by ``warm_up()`` (the client calls
  :meth:`WsMethods._ws_warm_up`) or by the first ``ws_*`` call of a client that was not
  warmed. It authenticates with ``{"event":"subscribe","channel":["auth"],"params":{key,
  signTimestamp, signature, ...}}``, the signature over ``GET\\n/ws\\nsignTimestamp=<ts>``
  made by the key's C signer, then subscribes ``orders`` and ``balances`` (every market).
  Trade requests go out as ``{"id":"<n>","event":"createOrder","params":{...}}``; the
  ``params`` are the REST endpoint's checked body (:func:`polo_fast.spot._args.build` for
  ``POST /orders``, ``DELETE /orders/cancelByIds``, ``DELETE /orders``), so the socket and
  REST refuse the same input before anything is sent, and every order carries a
  ``clientOrderId``. Replies are matched by ``id`` inside the socket's callback.
- **public** (``<ws_url>/public``): opened by the first :meth:`WsMethods.book_stream`; every
  book of the client shares it.

**Nothing lost.** A request whose socket drops before its reply, or whose reply does not come
within the client's timeout, is never re-sent: an order is settled by its ``clientOrderId``
over REST (``Client._settle``: what the exchange knows, or ``MayHaveExecutedError``); a
cancel raises :class:`~polo_fast.errors.MayHaveExecutedError`. The socket reconnects with
backoff, authenticates and subscribes again, then reconciles: open orders, the orders
closed since the drop (``GET /orders/history``) and balances are fetched over REST and every
difference from what the streams had said is put on the event streams (``reconciled=True``),
so a bot reading :meth:`WsMethods.order_events` and :meth:`WsMethods.balance_events` sees no
silent hole. The streams are subscribed again before REST is asked, so a live event that
arrives while the reconciliation runs is newer than the REST view: an order or currency
touched by one is left to the live stream (never a stale state after a fresher one, never
a terminal state twice). A drop during a reconciliation runs it again once it ends; a
failed one is retried with backoff, counted in ``_Private.reconcile_failures`` and logged as
an error. A duplicated stream message (same order, event, state, fill, trade; same balance
event id) is delivered once, however late the copy comes (the last signatures of each
order are remembered, bounded).

A request that the socket stalls on (no reply within the timeout and nothing at all
received since it went out) cuts the socket, so the next request goes on a fresh one
instead of into the same silence.

Events are :class:`OrderEvent` / :class:`BalanceEvent` named tuples with the channels' fields
in snake case, values as the exchange writes them (decimal strings, ms ints).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol, cast

import orjson

from polo_fast.errors import (
    AuthenticationError,
    ConnectionLost,
    ExchangeError,
    ExchangeUnavailable,
    MayHaveExecutedError,
    PoloniexArgumentError,
    PoloniexError,
)
from polo_fast.spot import _builders
from polo_fast.spot.answers import refusal
from polo_fast.spot.book import Book
from polo_fast.spot.ws import Connection

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    from polo_fast.spot._args import Call
    from polo_fast.spot.signing import Signer

__all__ = ["BalanceEvent", "OrderEvent", "WsMethods"]

log = logging.getLogger(__name__)

_OPEN_STATES = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})
_DEDUP_KEEP = 10_000  # orders / currencies remembered for duplicate detection
_SIGS_KEEP = 64  # signatures remembered per order / currency
_RECONCILE_TRIES = 6  # attempts of one reconciliation (backoff between them)
_CLOCK_SLACK_MS = 5_000  # history looked up from this long before the drop (clock skew)
_EVENTS_KEEP = 100_000  # events buffered for a consumer that does not read


class OrderEvent(NamedTuple):
    """One message item of the private ``orders`` channel (spec §5), snake case.

    Values are as the exchange writes them (quantities and prices as decimal strings, times
    as ms ints). ``reconciled`` is True for an event made after a reconnect from the REST
    view of the order (its trade fields are then empty).
    """

    symbol: str
    type: str
    quantity: str
    order_id: str
    trade_fee: str
    client_order_id: str
    account_type: str
    fee_currency: str
    event_type: str
    source: str
    side: str
    filled_quantity: str
    filled_amount: str
    match_role: str
    state: str
    trade_time: int
    trade_amount: str
    order_amount: str
    create_time: int
    price: str
    trade_qty: str
    trade_price: str
    trade_id: str
    ts: int
    reconciled: bool = False


_ORDER_KEYS = (
    "symbol", "type", "quantity", "orderId", "tradeFee", "clientOrderId", "accountType",
    "feeCurrency", "eventType", "source", "side", "filledQuantity", "filledAmount",
    "matchRole", "state", "tradeTime", "tradeAmount", "orderAmount", "createTime", "price",
    "tradeQty", "tradePrice", "tradeId", "ts",
)  # fmt: skip


class BalanceEvent(NamedTuple):
    """One message item of the private ``balances`` channel (spec §5), snake case.

    ``available`` and ``hold`` are the currency's new totals (decimal strings). Reading:
    spec §5 calls the channel's items "deltas", but its example values and ccxt pro read
    them as the balance after the change; so does this client (a reconciliation compares
    them with ``GET /accounts/balances``'s totals).
    ``reconciled`` is True for an event made after a reconnect from ``GET
    /accounts/balances`` (``event_type`` ``"reconciled"``).
    """

    change_time: int
    account_id: str
    account_type: str
    event_type: str
    available: str
    currency: str
    id: int
    user_id: int
    hold: str
    ts: int
    reconciled: bool = False


_BALANCE_KEYS = (
    "changeTime", "accountId", "accountType", "eventType", "available", "currency", "id",
    "userId", "hold", "ts",
)  # fmt: skip


class _Closed(Exception):
    """The event stream ended (the client closed)."""


class _Events:
    """A buffer of events with one waiting reader (bounded: the oldest go first)."""

    __slots__ = ("_closed", "_items", "_waiter", "dropped")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        items = self._items
        if len(items) >= _EVENTS_KEEP:
            items.popleft()
            self.dropped += 1
            if self.dropped % _EVENTS_KEEP == 1:  # the first, then once per buffer's worth
                log.error(
                    "an event stream is not read: %d oldest events dropped (%d buffered)",
                    self.dropped, _EVENTS_KEEP,
                )  # fmt: skip
        items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._closed:
                raise _Closed
            if self._waiter is not None:
                raise RuntimeError("one reader at a time: this event stream is already read")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _first_time(seen: dict[str, dict[Any, None]], key: str, sig: Any) -> bool:
    """Note ``sig`` for ``key``; False when it was already noted (a duplicate). Bounded: the
    last ``_SIGS_KEEP`` signatures of the last ``_DEDUP_KEEP`` keys."""
    sigs = seen.get(key)
    if sigs is None:
        sigs = seen[key] = {}
        if len(seen) > _DEDUP_KEEP:
            del seen[next(iter(seen))]
    elif sig in sigs:
        return False
    sigs[sig] = None
    if len(sigs) > _SIGS_KEEP:
        del sigs[next(iter(sigs))]
    return True


class _Dropped(Exception):
    """The socket dropped (or the reply timed out) before a request's reply."""


class _Pending:
    """A trade request waiting for its reply; ``received``: the socket's frame count when it
    was sent (nothing received since its timeout: the socket is dead)."""

    __slots__ = ("cid", "command", "fut", "received", "timer")

    def __init__(
        self,
        fut: asyncio.Future[Any],
        command: str,
        cid: str | None,
        timer: asyncio.TimerHandle,
        received: int,
    ) -> None:
        self.fut = fut
        self.command = command
        self.cid = cid
        self.timer = timer
        self.received = received


class _Rest(Protocol):
    """The REST methods reconciliation uses (the Spot client's generated ones)."""

    def open_orders(self, symbol: str | None = None, *, limit: int | None = None) -> Awaitable[Any]:
        """``GET /orders``."""

    def get_order(self, order_id: str | None = None) -> Awaitable[Any]:
        """``GET /orders/{id}``."""

    def balances(self) -> Awaitable[Any]:
        """``GET /accounts/balances``."""

    def order_history(
        self, *, limit: int | None = None, start_time: int | None = None
    ) -> Awaitable[Any]:
        """``GET /orders/history``."""


def _frame(rid: str, event: bytes, params: bytes | None) -> bytes:
    return b'{"id":"%s","event":"%s","params":%s}' % (rid.encode(), event, params or b"{}")


class _Private:
    """The authenticated private socket of one client."""

    def __init__(self, owner: WsMethods) -> None:
        self.owner = owner
        self.loop = asyncio.get_running_loop()
        self.timeout = owner._ws_reply_timeout()
        self.conn = Connection(
            owner._ws_url.rstrip("/") + "/private",
            owner._ws_tls(),
            self.on_message,
            on_open=self._open,
            on_drop=self._dropped,
            timeout=self.timeout,
            ping_interval=owner._ws_ping_interval,
            insecure=owner._ws_insecure(),
            name="private",
        )
        self.pending: dict[str, _Pending] = {}
        self.n = 0
        self.orders = _Events()
        self.balances = _Events()
        self.open_orders: dict[str, dict[str, Any]] = {}  # order id -> last event (open ones)
        self.known_balances: dict[str, tuple[str, str]] = {}  # currency -> (available, hold)
        # order id -> its last signatures; currency -> its last event ids (duplicates)
        self._order_seen: dict[str, dict[tuple[Any, ...], None]] = {}
        self._balance_seen: dict[str, dict[Any, None]] = {}
        self._waiters: dict[str, asyncio.Future[Any]] = {}  # "auth", "orders", "balances"
        self._reconcile: asyncio.Task[None] | None = None
        self._again = False  # the socket came back again while a reconciliation ran
        self._drop_ms: int | None = None  # when the first drop not yet reconciled happened
        # order ids and currencies live events hit while a reconciliation runs
        self._touched_orders: set[str] | None = None
        self._touched_balances: set[str] | None = None
        self._opened = 0
        #: Reconciliations run, and events they emitted (for tests and logs).
        self.reconciled = 0
        self.reconciled_events = 0
        #: Reconciliation attempts that failed, and the last failure (None: none yet).
        self.reconcile_failures = 0
        self.last_reconcile_error: BaseException | None = None

    # -- set-up ---------------------------------------------------------------------------------
    async def _open(self, conn: Connection) -> None:
        owner = self.owner
        ts = owner._now_ms()
        signature = owner._ws_signer().sign("GET", "/ws", timestamp=ts)
        auth = {
            "event": "subscribe",
            "channel": ["auth"],
            "params": {
                "key": owner._ws_key(),
                "signTimestamp": ts,
                "signature": signature,
                "signatureMethod": "HmacSHA256",
                "signatureVersion": "2",
            },
        }
        answer = await self._ask(conn, ("auth",), orjson.dumps(auth))
        data = answer["auth"].get("data") or {}
        if data.get("success") is not True:
            raise AuthenticationError(
                str(data.get("message") or "Authentication failed!"),
                command="ws auth",
                key=owner._ws_key(),
            )
        subscribe = {"event": "subscribe", "channel": ["orders", "balances"], "symbols": ["all"]}
        await self._ask(conn, ("orders", "balances"), orjson.dumps(subscribe))
        self._opened += 1
        if self._opened > 1:
            if self._reconcile is None:
                self._reconcile = self.loop.create_task(self._reconcile_loop())
            else:  # back again while one runs: it runs once more when it ends
                self._again = True

    async def _ask(self, conn: Connection, names: Iterable[str], message: bytes) -> dict[str, Any]:
        """Send a subscribe-style message; wait for one answer per name (or an error)."""
        futures = {name: self.loop.create_future() for name in names}
        self._waiters.update(futures)
        try:
            conn.send(message)
            done = {}
            for name, fut in futures.items():
                done[name] = await asyncio.wait_for(fut, conn.timeout)
            return done
        except asyncio.TimeoutError:
            raise ConnectionLost(
                "no answer to the private WebSocket's set-up", command="ws auth"
            ) from None
        finally:
            for name in futures:
                self._waiters.pop(name, None)

    def _dropped(self, reason: str) -> None:
        if self._drop_ms is None:
            self._drop_ms = self.owner._now_ms()
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            entry.timer.cancel()
            if not entry.fut.done():
                entry.fut.set_exception(_Dropped(f"the WebSocket dropped ({reason})"))
        waiters, self._waiters = self._waiters, {}
        for fut in waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionLost(f"the WebSocket dropped ({reason})"))

    # -- receiving ------------------------------------------------------------------------------
    def on_message(self, msg: Any) -> None:
        """Route one message: a reply, an order or balance event, a set-up answer."""
        rid = msg.get("id")
        if rid is not None:
            entry = self.pending.pop(str(rid), None)
            if entry is None:
                if msg.get("event") == "error":
                    log.warning("the private WebSocket said: %s", msg.get("message"))
                return
            entry.timer.cancel()
            if entry.fut.done():
                return
            if msg.get("event") == "error":  # the whole request refused, typed as on REST
                try:
                    _refused(entry.command, msg, self.owner._ws_key())
                except PoloniexError as exc:
                    entry.fut.set_exception(exc)
            else:
                entry.fut.set_result(msg.get("data"))
            return
        channel = msg.get("channel")
        event = msg.get("event")
        if event is None:
            if channel == "orders":
                for item in msg.get("data") or ():
                    self._order_event(item)
            elif channel == "balances":
                for item in msg.get("data") or ():
                    self._balance_event(item)
            elif channel == "auth":
                self._answer("auth", msg)
        elif event == "subscribe":
            self._answer(str(channel), msg)
        elif event == "error":
            text = str(msg.get("message"))
            for name, fut in list(self._waiters.items()):
                if not fut.done():
                    fut.set_exception(ExchangeError(text, command=f"ws {name}"))
            if not self._waiters:
                log.warning("the private WebSocket said: %s", text)

    def _answer(self, name: str, msg: Any) -> None:
        fut = self._waiters.get(name)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def _order_event(self, item: dict[str, Any], reconciled: bool = False) -> None:
        # Kept raw: the named tuple is made when a reader takes it (order_events()).
        oid = str(item.get("orderId"))
        state = item.get("state")
        sig = (item.get("eventType"), state, item.get("filledQuantity"), item.get("tradeId"))
        if not _first_time(self._order_seen, oid, sig):
            return  # a duplicate, however late
        if not reconciled and self._touched_orders is not None:
            self._touched_orders.add(oid)
        if state in _OPEN_STATES:
            self.open_orders[oid] = item
        else:
            self.open_orders.pop(oid, None)
        self.orders.put((item, reconciled))

    def _balance_event(self, item: dict[str, Any], reconciled: bool = False) -> None:
        currency = str(item.get("currency"))
        ident = item.get("id")
        if ident is not None and not _first_time(self._balance_seen, currency, ident):
            return  # a duplicate, however late
        if not reconciled and self._touched_balances is not None:
            self._touched_balances.add(currency)
        self.known_balances[currency] = (str(item.get("available")), str(item.get("hold")))
        self.balances.put((item, reconciled))

    # -- requests -------------------------------------------------------------------------------
    async def request(
        self, event: bytes, command: str, params: bytes | None, cid: str | None
    ) -> Any:
        """Send one trade request and return its reply's ``data`` (never re-sent)."""
        conn = self.conn
        if not conn.is_ready:
            await conn.ready()
        self.n += 1
        rid = str(self.n)
        loop = self.loop
        fut = loop.create_future()
        timer = loop.call_later(self.timeout, self._expire, rid)
        entry = _Pending(fut, command, cid, timer, conn.received)
        self.pending[rid] = entry
        try:
            conn.send(_frame(rid, event, params))
        except BaseException:  # nothing left: the caller may try again
            entry.timer.cancel()
            self.pending.pop(rid, None)
            raise
        try:
            return await fut
        finally:
            if self.pending.pop(rid, None) is not None:  # cancelled by the caller
                entry.timer.cancel()

    def _expire(self, rid: str) -> None:
        entry = self.pending.pop(rid, None)
        if entry is None:
            return
        reason = f"no reply within {self.timeout} s"
        if not entry.fut.done():
            entry.fut.set_exception(_Dropped(reason))
        conn = self.conn
        if conn.connected and conn.received == entry.received:  # silent since it was sent
            log.warning("the private WebSocket received nothing in %s s: cutting it", self.timeout)
            conn.drop(f"{reason}, nothing received")

    def unknown(self, command: str, params: bytes | None, reason: str) -> MayHaveExecutedError:
        """The error of a cancel whose reply was lost (it is never re-sent)."""
        shown = orjson.loads(params) if params else {}
        return MayHaveExecutedError(
            command,
            shown if isinstance(shown, dict) else {"params": shown},
            None,
            key=self.owner._ws_key(),
            reason=reason,
            client_order_id=None,
        )

    # -- reconciliation -------------------------------------------------------------------------
    async def _reconcile_loop(self) -> None:
        """Reconcile after a reconnect; again while the socket came back meanwhile; retried
        with backoff when it fails (each failure counted and logged as an error)."""
        failures = 0
        try:
            while True:
                self._again = False
                since, self._drop_ms = self._drop_ms, None
                try:
                    await self._reconcile_now(since)
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self.reconcile_failures += 1
                    self.last_reconcile_error = exc
                    if since is not None:  # the hole it was to fill is still there
                        later = self._drop_ms
                        self._drop_ms = since if later is None else min(since, later)
                    if failures >= _RECONCILE_TRIES:
                        log.error(
                            "reconciling the private WebSocket failed %d times, giving up "
                            "until the next reconnect: %s", failures, exc,
                        )  # fmt: skip
                        return
                    log.error("reconciling the private WebSocket failed (retrying): %s", exc)
                    await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                    self._again = True
                if not self._again:
                    return
        finally:
            self._reconcile = None

    async def _reconcile_now(self, since_ms: int | None = None) -> None:
        """Put on the streams what REST says changed while the socket was down (``since_ms``:
        when it dropped; orders closed since then are looked up in the history).

        Live events that arrive meanwhile are newer than REST's answers: an order or a
        currency they touch is left to them.
        """
        rest = cast(_Rest, self.owner)
        if not hasattr(rest, "open_orders"):
            return
        touched = self._touched_orders = set()
        touched_balances = self._touched_balances = set()
        try:
            before = self.reconciled_events
            orders = await rest.open_orders(limit=2000)
            now_open = {str(o.get("id")): o for o in orders or ()}
            for oid, view in now_open.items():
                if oid in touched:
                    continue
                known = self.open_orders.get(oid)
                if (
                    known is None
                    or known.get("state") != view.get("state")
                    or known.get("filledQuantity") != view.get("filledQuantity")
                ):
                    self._emit_order(view)
            for oid in [o for o in self.open_orders if o not in now_open]:
                if oid in touched:
                    continue
                try:
                    view = await rest.get_order(oid)
                except ExchangeError as exc:  # gone without a trace: say so
                    log.info("reconciling order %s: %s", oid, exc)
                    known = self.open_orders.get(oid)
                    if known is None:
                        continue
                    view = {**known, "id": oid, "state": "UNKNOWN"}
                if oid in touched or oid not in self.open_orders:
                    continue  # a live event said more meanwhile
                self._emit_order(view)
            if since_ms is not None and hasattr(rest, "order_history"):
                # orders opened and closed while the socket was down: no event said a word
                start = since_ms - _CLOCK_SLACK_MS
                history = list(await rest.order_history(start_time=start, limit=100) or ())
                if len(history) >= 100:  # one page: its paging is not documented (spec §3)
                    log.warning(
                        "reconciling: 100 or more orders closed during the drop; only the "
                        "newest 100 are reported"
                    )
                for view in reversed(history):  # oldest first
                    oid = str(view.get("id"))
                    updated = view.get("updateTime")
                    if (
                        oid in touched
                        or oid in self._order_seen
                        or oid in self.open_orders
                        or (isinstance(updated, int) and updated < start)
                    ):
                        continue
                    self._emit_order(view)
            accounts = await rest.balances()
            for account in accounts or ():
                if account.get("accountType", "SPOT") != "SPOT":
                    continue
                for b in account.get("balances") or ():
                    currency = str(b.get("currency"))
                    values = (str(b.get("available")), str(b.get("hold")))
                    if currency in touched_balances:
                        continue
                    if self.known_balances.get(currency) != values:
                        self.reconciled_events += 1
                        self._balance_event(
                            {"changeTime": 0, "accountId": account.get("accountId"),
                             "accountType": "SPOT", "eventType": "reconciled",
                             "available": values[0], "currency": currency, "id": None,
                             "userId": None, "hold": values[1], "ts": self.owner._now_ms()},
                            reconciled=True,
                        )  # fmt: skip
            self.reconciled += 1
            log.info("reconciled the private WebSocket: %d events", self.reconciled_events - before)
        finally:
            self._touched_orders = self._touched_balances = None

    def _emit_order(self, view: dict[str, Any]) -> None:
        self.reconciled_events += 1
        self._order_event(
            {"symbol": view.get("symbol"), "type": view.get("type"),
             "quantity": view.get("quantity"), "orderId": str(view.get("id")),
             "tradeFee": "0", "clientOrderId": view.get("clientOrderId"),
             "accountType": view.get("accountType", "SPOT"), "feeCurrency": "",
             "eventType": "reconciled", "source": "", "side": view.get("side"),
             "filledQuantity": view.get("filledQuantity"),
             "filledAmount": view.get("filledAmount"), "matchRole": "",
             "state": view.get("state"), "tradeTime": 0, "tradeAmount": "0",
             "orderAmount": view.get("amount"), "createTime": view.get("createTime"),
             "price": view.get("price"), "tradeQty": "0", "tradePrice": "0", "tradeId": "0",
             "ts": view.get("updateTime")},
            reconciled=True,
        )  # fmt: skip

    async def reconciled_once(self) -> None:
        """Wait for a running reconciliation (tests)."""
        task = self._reconcile
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        await self.conn.close()
        self._dropped("the client closed")
        self.orders.close()
        self.balances.close()
        task, self._reconcile = self._reconcile, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Public:
    """The public socket of one client: every book_stream of it shares it."""

    def __init__(self, owner: WsMethods) -> None:
        self.conn = Connection(
            owner._ws_url.rstrip("/") + "/public",
            owner._ws_tls(),
            self.on_message,
            on_open=self._open,
            on_drop=self._dropped,
            timeout=owner._ws_reply_timeout(),
            ping_interval=owner._ws_ping_interval,
            insecure=owner._ws_insecure(),
            name="public",
        )
        self.books: dict[str, Book] = {}
        self.users: dict[str, int] = {}
        self.errors: list[str] = []

    def _dropped(self, reason: str) -> None:
        """The socket dropped: every book is stale until its next snapshot (its readers
        waiting in ``changed()`` are told)."""
        for book in self.books.values():
            book.stale()

    async def close(self) -> None:
        """Close the socket; every book's ``changed()`` raises ConnectionLost from now on."""
        await self.conn.close()
        books, self.books, self.users = self.books, {}, {}
        for book in books.values():
            book.end("the client closed")

    async def _open(self, conn: Connection) -> None:
        """(Re)subscribe every book: each starts again from a new snapshot."""
        if self.books:
            conn.send(self._subscribe(list(self.books), "subscribe"))

    @staticmethod
    def _subscribe(symbols: list[str], event: str) -> bytes:
        return orjson.dumps({"event": event, "channel": ["book_lv2"], "symbols": symbols})

    def on_message(self, msg: Any) -> None:
        """Route one message: ``book_lv2`` data to its book."""
        if msg.get("channel") == "book_lv2" and "data" in msg:
            action = msg.get("action")
            books = self.books
            for item in msg["data"]:
                book = books.get(item["symbol"])
                if book is not None:
                    book.on_message(item, action)
        elif msg.get("event") == "error":
            self.errors.append(str(msg.get("message")))
            log.warning("the public WebSocket said: %s", msg.get("message"))

    def resync(self, book: Book) -> None:
        """A gap in ``book``: unsubscribe and subscribe again (a new snapshot follows)."""
        conn = self.conn
        with contextlib.suppress(ConnectionLost):  # a reconnect resubscribes anyway
            conn.send(self._subscribe([book.symbol], "unsubscribe"))
            conn.send(self._subscribe([book.symbol], "subscribe"))

    async def add(self, symbol: str) -> Book:
        """The book of ``symbol``, once it holds a snapshot (subscribed by the first user)."""
        book = self.books.get(symbol)
        first = book is None
        if book is None:
            book = self.books[symbol] = Book(symbol, self.resync)
        self.users[symbol] = self.users.get(symbol, 0) + 1
        try:
            if first and not self.conn.is_ready:
                await self.conn.ready()  # its on_open subscribes every book, this one too
            elif first:
                self.conn.send(self._subscribe([symbol], "subscribe"))
            # a later user waits for the same snapshot as the first
            while not book.synced:
                await asyncio.wait_for(book.changed(), self.conn.timeout)
        except BaseException:
            await self.remove(symbol)
            raise
        return book

    async def remove(self, symbol: str) -> None:
        """One user of ``symbol``'s book left; the last one ends it and unsubscribes."""
        users = self.users.get(symbol, 0) - 1
        if users > 0:
            self.users[symbol] = users
            return
        self.users.pop(symbol, None)
        book = self.books.pop(symbol, None)
        if book is None:  # the socket closed meanwhile
            return
        book.end("the book stream ended")
        with contextlib.suppress(ConnectionLost):
            if self.conn.connected:
                self.conn.send(self._subscribe([symbol], "unsubscribe"))


class WsMethods:
    """The WebSocket half of the Spot client (see the module's docstring).

    It keeps its state in two instance attributes, ``_ws_private_socket`` and
    ``_ws_public_socket`` (a slotted client must list them).
    """

    #: Seconds a trade request waits for its reply (then it is settled over REST), and the
    #: socket's connect and set-up timeout; None: the client's ``timeout``.
    _ws_timeout: float | None = None
    #: Seconds between two keep-alive looks (a ping goes out when nothing was sent, or
    #: nothing received, since the last look); None: never ping. The exchange closes a
    #: socket silent for 30 s.
    _ws_ping_interval: float | None = 10.0
    _ws_private_socket: _Private | None = None
    _ws_public_socket: _Public | None = None

    if TYPE_CHECKING:  # what the Spot client provides
        _ws_url: str
        _ssl_context: ssl.SSLContext | None
        _ws_enabled: bool

        def _ws_signer(self) -> Signer: ...
        def _ws_key(self) -> str: ...
        def _now_ms(self) -> int: ...
        def _rate_delay(self, command: str) -> float: ...
        async def _settle(
            self,
            command: str,
            client_order_id: str,
            reason: str,
            *,
            body: bytes | None = None,
            since_ms: int | None = None,
        ) -> Any: ...

        _closed: bool

        def _enter(self) -> None: ...
        def _leave(self) -> None: ...

    # -- plumbing -------------------------------------------------------------------------------
    def _ws_tls(self) -> ssl.SSLContext | None:
        if not self._ws_url.lower().startswith("wss://"):
            return None
        if self._ssl_context is not None:
            return self._ssl_context
        from polo_fast.transport.tls import make_ssl_context

        return make_ssl_context()

    def _ws_insecure(self) -> bool:
        # ws:// only for a client whose REST url is plain http (allow_insecure_http=True):
        # the client then has no TLS context.
        return self._ssl_context is None and self._ws_url.lower().startswith("ws://")

    def _ws_reply_timeout(self) -> float:
        return self._ws_timeout or float(getattr(self, "_timeout", 10.0))

    async def _ws_private(self) -> _Private:
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        priv = self._ws_private_socket
        if priv is None:  # ws=False only keeps warm_up() from opening it
            priv = self._ws_private_socket = _Private(self)
        if not priv.conn.is_ready:
            await priv.conn.ready()
        return priv

    async def _ws_warm_up(self) -> None:
        """Open and authenticate the private socket (``Client.warm_up`` calls it).

        Raises:
            AuthenticationError: the exchange refused the key or signature.
            ConnectError: the socket could not be opened.
        """
        await self._ws_private()

    async def _ws_close(self) -> None:
        """Close both sockets (``Client.close`` calls it); event streams end."""
        priv, self._ws_private_socket = self._ws_private_socket, None
        pub, self._ws_public_socket = self._ws_public_socket, None
        if priv is not None:
            await priv.close()
        if pub is not None:
            await pub.close()

    # -- trade requests -------------------------------------------------------------------------
    async def ws_create_order(
        self,
        symbol: str,
        side: str,
        *,
        type: str | None = None,
        price: Any = None,
        quantity: Any = None,
        amount: Any = None,
        time_in_force: str | None = None,
        client_order_id: str | None = None,
    ) -> Any:
        """Place an order over the private WebSocket (``createOrder``; ``POST /orders``'s
        parameters, checked the same way before anything is sent).

        Returns:
            ``{"id": "<orderId>", "clientOrderId": "<cid>"}`` as ``POST /orders`` answers;
            when the reply was lost, what ``GET /orders/cid:<cid>`` says (the order is never
            re-sent).

        Raises:
            PoloniexArgumentError, PoloniexTypeError: refused before sending.
            ExchangeError: the exchange's refusal (``.code``: e.g. 21721 insufficient).
            MayHaveExecutedError: the reply was lost and the lookup could not tell.
            ConnectError: the socket could not be opened (nothing was sent).
        """
        self._enter()  # refused when closed, on another loop or after a fork
        try:
            # the generated builder: POST /orders's checks and body, a clientOrderId made up
            # when none is given (the same refusals and bytes as ``_args.build``)
            call = _builders.create_order(
                symbol, side, type, price, quantity, amount, time_in_force, client_order_id,
                None, None, None,
            )  # fmt: skip
            return await self._ws_create(call)
        finally:
            self._leave()

    async def _ws_create(self, call: Call) -> Any:
        delay = self._rate_delay(call.endpoint.method)  # the key's budget, as on REST
        if delay > 0.0:
            await asyncio.sleep(delay)
        priv = self._ws_private_socket
        if priv is None or not priv.conn.is_ready:
            priv = await self._ws_private()
        cid = call.client_order_id
        since = self._now_ms()
        try:
            data = await priv.request(b"createOrder", "ws_create_order", call.body, cid)
            item = data[0] if data else {}
            if _ok(item.get("code")) and item.get("orderId") is not None:
                return {
                    "id": str(item["orderId"]),
                    "clientOrderId": item.get("clientOrderId") or cid,
                }
            _refused("ws_create_order", item, self._ws_key())
        except (_Dropped, ExchangeUnavailable) as exc:
            # never re-sent (a lost reply, or an internal failure of the exchange: 500, 603,
            # 415): what does the exchange know of it?
            assert cid is not None  # build() gives every created order one
            return await self._settle(
                "ws_create_order", cid, str(exc), body=call.body, since_ms=since
            )

    async def ws_cancel_orders(
        self, *, order_ids: Iterable[str] = (), client_order_ids: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Cancel orders by id and/or clientOrderId over the private WebSocket
        (``cancelOrders``; ``DELETE /orders/cancelByIds``'s parameters).

        Returns:
            One item per order as the exchange answers (``orderId``, ``clientOrderId``,
            ``state``, ``code``, ``message``): a per-order refusal (e.g. already closed)
            stays in its item, as on REST.

        Raises:
            ExchangeError: the whole request was refused (rate limit, not authenticated...).
            MayHaveExecutedError: the reply was lost (never re-sent).
        """
        self._enter()
        try:
            call = _builders.cancel_orders(
                [str(x) for x in order_ids] or None, list(client_order_ids) or None
            )
            return await self._ws_cancel(b"cancelOrders", "ws_cancel_orders", call)
        finally:
            self._leave()

    async def _ws_cancel(self, event: bytes, command: str, call: Call) -> list[dict[str, Any]]:
        delay = self._rate_delay(call.endpoint.method)  # the key's budget, as on REST
        if delay > 0.0:
            await asyncio.sleep(delay)
        priv = self._ws_private_socket
        if priv is None or not priv.conn.is_ready:
            priv = await self._ws_private()
        try:
            data = await priv.request(event, command, call.body, None)
            return _items(command, data, self._ws_key())
        except (_Dropped, ExchangeUnavailable) as exc:  # outcome unknown: never re-sent
            raise priv.unknown(command, call.body, str(exc)) from None

    async def ws_cancel_all_orders(self) -> list[dict[str, Any]]:
        """Cancel every open order of the key over the private WebSocket
        (``cancelAllOrders``).

        Returns:
            One item per cancelled order, as ``DELETE /orders`` answers.

        Raises:
            ExchangeError: the request was refused.
            MayHaveExecutedError: the reply was lost (never re-sent).
        """
        self._enter()
        try:
            call = _builders.cancel_all_orders(None, None)
            return await self._ws_cancel(b"cancelAllOrders", "ws_cancel_all_orders", call)
        finally:
            self._leave()

    # -- streams --------------------------------------------------------------------------------
    async def order_events(self) -> AsyncIterator[OrderEvent]:
        """The ``orders`` channel as :class:`OrderEvent` items, from the moment the private
        socket authenticated (buffered until read), reconciled after reconnects; ends when
        the client closes. One reader at a time."""
        priv = await self._ws_private()
        events, make = priv.orders, OrderEvent._make
        while True:
            try:
                item, reconciled = await events.get()
            except _Closed:
                return
            yield make((*map(item.get, _ORDER_KEYS), reconciled))

    async def balance_events(self) -> AsyncIterator[BalanceEvent]:
        """The ``balances`` channel as :class:`BalanceEvent` items (as
        :meth:`order_events`)."""
        priv = await self._ws_private()
        events, make = priv.balances, BalanceEvent._make
        while True:
            try:
                item, reconciled = await events.get()
            except _Closed:
                return
            yield make((*map(item.get, _BALANCE_KEYS), reconciled))

    @contextlib.asynccontextmanager
    async def book_stream(self, symbol: str) -> AsyncIterator[Book]:
        """``async with c.book_stream("BTC_USDT") as book:`` a local L2 book kept from the
        public ``book_lv2`` channel (see :mod:`polo_fast.spot.book`). Books of one client
        share one public socket; the same symbol twice shares one book.

        Raises:
            ConnectError: the public socket could not be opened.
            PoloniexArgumentError: ``symbol`` is not a non-empty string.
        """
        if not isinstance(symbol, str) or not symbol:
            raise PoloniexArgumentError(f"symbol must be a market name, got {symbol!r}")
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        pub = self._ws_public_socket
        if pub is None:
            pub = self._ws_public_socket = _Public(self)
        book = await pub.add(symbol)
        try:
            yield book
        finally:
            if self._ws_public_socket is pub:
                await pub.remove(symbol)


def _ok(code: Any) -> bool:
    """A reply item's ``code`` says success: 200 (a number or its text), or none at all."""
    return code is None or code == 200 or code == "200"


def _items(command: str, data: Any, key: str) -> list[dict[str, Any]]:
    """A cancel reply's items; a lone refusal that names no order is the request's refusal."""
    items = list(data or ())
    if len(items) == 1:
        item = items[0]
        if (
            not _ok(item.get("code"))
            and str(item.get("orderId", "0")) == "0"
            and not item.get("clientOrderId")
        ):
            _refused(command, item, key)
    return items


def _refused(command: str, item: Mapping[str, Any], key: str) -> NoReturn:
    """Raise a WebSocket refusal (a reply item or an ``error`` event) as REST raises the same
    ``{"code", "message"}`` (:func:`polo_fast.spot.answers.refusal`)."""
    refusal(200, {**item, "message": str(item.get("message") or "refused")}, command, key)
