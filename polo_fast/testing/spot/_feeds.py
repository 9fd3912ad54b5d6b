"""The Spot stand-in's WebSocket streams: book_lv2, trades, ticker, orders, balances.

:class:`Feeds` watches the venue (the order engine tells it every order event, wallets mark
the currencies they change) and pushes JSON messages to the sockets subscribed to them.
:meth:`Feeds.flush` publishes what changed; the server calls it after every request (REST or
WebSocket) and the order engine schedules it on the loop for changes nobody asked for (a
kill switch firing), so a stream is never more than one loop turn behind the venue.

``book_lv2`` is driven by the market's own order book: a snapshot of the best
``depth`` levels per side on subscribe, then, whenever the book changed, an ``update`` with
the levels whose quantity changed inside that view (a level leaving it is sent with quantity
``"0"``, one entering it with its quantity). Each message carries ``id`` and ``lastId`` (the
previous message's ``id``), so a client applying updates only when ``lastId`` equals the
``id`` it holds keeps exactly the stand-in's top ``depth`` levels. Prices and quantities are
written as ``GET /markets/{symbol}/orderBook`` writes them.

Stream faults (``gap``: the next book update is not sent, its ids are used up;
``duplicate``: the next message of a channel is sent twice) are taken from ``faults``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

import orjson

from polo_fast.testing._faults import Faults
from polo_fast.testing._refdata import fmt
from polo_fast.testing.spot._market import MARKETS
from polo_fast.testing.spot._orders import SpotOrder
from polo_fast.testing.spot._public import ticker
from polo_fast.testing.spot._venue import Venue

__all__ = ["BOOK_DEPTH", "PRIVATE_CHANNELS", "PUBLIC_CHANNELS", "Feeds", "Subscriber"]

PUBLIC_CHANNELS = frozenset({"book_lv2", "trades", "ticker"})
PRIVATE_CHANNELS = frozenset({"orders", "balances"})
BOOK_DEPTH = 20
"""Levels per side in ``book_lv2`` (the exchange's docs: "the full 20 level order book")."""

_BALANCE_EVENTS = {"place": "place_order", "trade": "match_order", "canceled": "canceled_order"}
Levels = dict[str, str]  # price -> quantity, as written on the wire


class Subscriber(Protocol):
    """A socket as the feeds see it: its key ("" before auth), its subscriptions, a sink."""

    key: str
    subscriptions: dict[str, set[str]]  # channel -> symbols ("all" for every market)

    def push(self, message: bytes) -> None:
        """Queue ``message`` (one JSON text frame) for sending, in order."""


def _wants(sock: Subscriber, channel: str, symbol: str) -> bool:
    symbols = sock.subscriptions.get(channel)
    return symbols is not None and (symbol in symbols or "all" in symbols)


class _View:
    """What ``book_lv2`` subscribers of one market hold: the last published top levels."""

    def __init__(self, first_id: int, seq: int, asks: Levels, bids: Levels) -> None:
        self.id = first_id
        self.seq = seq
        self.asks = asks
        self.bids = bids


def _changes(old: Levels, new: Levels, descending: bool) -> list[list[str]]:
    out = [[p, q] for p, q in new.items() if old.get(p) != q]
    out += [[p, "0"] for p in old if p not in new]
    return sorted(out, key=lambda pq: Decimal(pq[0]), reverse=descending)


class Feeds:
    """Every stream of one stand-in; ``sockets`` are the open WebSocket connections."""

    def __init__(self, venue: Venue, faults: Faults, depth: int = BOOK_DEPTH) -> None:
        self.venue = venue
        self.faults = faults
        self.depth = depth
        self.sockets: set[Subscriber] = set()
        self._views: dict[str, _View] = {}
        self._orders: list[tuple[str, dict[str, Any]]] = []  # (key, event)
        self._trades: list[dict[str, Any]] = []
        self._reasons: dict[str, str] = {}  # key -> balance eventType of its last change
        self._scheduled = False
        venue.trading.listener = self._on_order

    # -- what the order engine tells ---------------------------------------------------------
    def _on_order(self, kind: str, o: SpotOrder, fill: dict[str, Any] | None) -> None:
        if not self.sockets:  # nobody listens: REST-only runs pay nothing here
            return
        now = self.venue.clock()
        state = o.state
        if kind == "trade":
            state = "FILLED" if o.done else "PARTIALLY_FILLED"
        f = fill or {}
        event = {
            "symbol": o.symbol, "type": o.type, "quantity": fmt(o.quantity),
            "orderId": str(o.id), "tradeFee": f.get("feeAmount", "0"), "clientOrderId": o.cid,
            "accountType": "SPOT", "feeCurrency": f.get("feeCurrency", ""), "eventType": kind,
            "source": "API", "side": o.side, "filledQuantity": fmt(o.filled_qty),
            "filledAmount": fmt(o.filled_amt), "matchRole": f.get("matchRole", ""),
            "state": state, "tradeTime": f.get("createTime", 0),
            "tradeAmount": f.get("amount", "0"), "orderAmount": fmt(o.amount),
            "createTime": o.created, "price": fmt(o.price), "tradeQty": f.get("quantity", "0"),
            "tradePrice": f.get("price", "0"), "tradeId": f.get("id", "0"), "ts": now,
        }  # fmt: skip
        self._orders.append((o.key, event))
        self._reasons[o.key] = _BALANCE_EVENTS[kind]
        if fill and fill["matchRole"] == "TAKER":
            self._trades.append(
                {"symbol": o.symbol, "amount": fill["amount"], "quantity": fill["quantity"],
                 "takerSide": o.side.lower(), "createTime": fill["createTime"],
                 "price": fill["price"], "id": fill["id"], "ts": now}
            )  # fmt: skip
        self._schedule()

    def _schedule(self) -> None:
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - the venue only changes on the server's loop
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    # -- subscribing -------------------------------------------------------------------------
    def subscribed(self, sock: Subscriber, channel: str, symbols: Iterable[str]) -> None:
        """Send what a new subscription starts with: a book snapshot, the current tickers."""
        chosen = list(MARKETS) if "all" in symbols else list(symbols)
        if channel == "book_lv2":  # "all": a snapshot of every market (spec §5)
            self.flush()
            for symbol in chosen:
                self._snapshot(sock, symbol)
        elif channel == "ticker":
            data = [self._ticker(s) for s in chosen]
            sock.push(orjson.dumps({"channel": "ticker", "data": data}))

    def _ticker(self, symbol: str) -> dict[str, Any]:
        t = ticker(self.venue, symbol)
        return {k: t[k] for k in (
            "symbol", "startTime", "open", "high", "low", "close", "quantity", "amount",
            "tradeCount", "dailyChange", "markPrice", "closeTime", "ts")}  # fmt: skip

    def _levels(self, symbol: str) -> tuple[Levels, Levels]:
        book = self.venue.books.book(symbol)
        asks, bids = (
            {str(p): str(Decimal(repr(q))) for p, q in book.levels(side, self.depth)}
            for side in ("sell", "buy")
        )
        return asks, bids

    def _view(self, symbol: str) -> _View:
        view = self._views.get(symbol)
        if view is None:
            book = self.venue.books.book(symbol)
            asks, bids = self._levels(symbol)
            view = self._views[symbol] = _View(book.seq, book.seq, asks, bids)
        return view

    def _snapshot(self, sock: Subscriber, symbol: str) -> None:
        view = self._view(symbol)
        now = self.venue.clock()
        asks = sorted(view.asks.items(), key=lambda pq: Decimal(pq[0]))
        bids = sorted(view.bids.items(), key=lambda pq: Decimal(pq[0]), reverse=True)
        item = {"symbol": symbol, "createTime": now, "asks": [list(x) for x in asks],
                "bids": [list(x) for x in bids], "lastId": view.id - 1, "id": view.id,
                "ts": now}  # fmt: skip
        sock.push(orjson.dumps({"channel": "book_lv2", "data": [item], "action": "snapshot"}))

    # -- publishing --------------------------------------------------------------------------
    def _publish(
        self, channel: str, message: dict[str, Any], symbol: str, key: str | None = None
    ) -> None:
        targets = [
            s for s in self.sockets if _wants(s, channel, symbol) and (key is None or s.key == key)
        ]
        if not targets:
            return
        data = orjson.dumps(message)
        rule = self.faults.take(channel) if self.faults else None
        if rule is not None and rule.action == "gap":
            return
        for sock in targets:
            sock.push(data)
            if rule is not None:  # duplicate
                sock.push(data)

    def flush(self) -> None:
        """Publish every change since the last flush (book updates, trades, tickers, orders,
        balances)."""
        self._scheduled = False
        now = self.venue.clock()
        for symbol, view in self._views.items():
            book = self.venue.books.book(symbol)
            if book.seq == view.seq:
                continue
            view.seq = book.seq
            asks, bids = self._levels(symbol)
            ask_changes = _changes(view.asks, asks, descending=False)
            bid_changes = _changes(view.bids, bids, descending=True)
            if not ask_changes and not bid_changes:
                continue
            view.asks, view.bids = asks, bids
            view.id += 1
            item = {"symbol": symbol, "createTime": now, "asks": ask_changes,
                    "bids": bid_changes, "lastId": view.id - 1, "id": view.id,
                    "ts": now}  # fmt: skip
            message = {"channel": "book_lv2", "data": [item], "action": "update"}
            self._publish("book_lv2", message, symbol)
        trades, self._trades = self._trades, []
        for trade in trades:
            self._publish("trades", {"channel": "trades", "data": [trade]}, trade["symbol"])
        for symbol in dict.fromkeys(t["symbol"] for t in trades):
            self._publish("ticker", {"channel": "ticker", "data": [self._ticker(symbol)]}, symbol)
        orders, self._orders = self._orders, []
        for key, event in orders:
            self._publish("orders", {"channel": "orders", "data": [event]}, event["symbol"], key)
        for key, wallet in self.venue.wallets.items():
            if wallet.changed:
                self._balances(key, sorted(wallet.changed), now)
                wallet.changed.clear()

    def _balances(self, key: str, currencies: list[str], now: int) -> None:
        wallet = self.venue.wallet(key)
        reason = self._reasons.pop(key, "transfer")
        data = [
            {"changeTime": now, "accountId": str(wallet.account_id), "accountType": "SPOT",
             "eventType": reason, "available": fmt(wallet.available.get(c, Decimal(0))),
             "currency": c, "id": next(self.venue.ids), "userId": wallet.account_id % 10**6,
             "hold": fmt(wallet.hold.get(c, Decimal(0))), "ts": now}
            for c in currencies
        ]  # fmt: skip
        self._publish("balances", {"channel": "balances", "data": data}, "all", key)
