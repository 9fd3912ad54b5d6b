"""A local L2 order book fed by the public ``book_lv2`` channel (spec §5).

A :class:`Book` starts from the channel's ``snapshot`` and then applies an ``update`` only
when its ``lastId`` equals the ``id`` it holds. An update whose ``id`` is not above the
held one was already applied (a duplicate): it is ignored. Any other ``lastId`` is a gap:
the book stops applying, counts it in :attr:`Book.resyncs` and asks its owner (the public
socket of :meth:`polo_fast.spot.Client.book_stream`) to resubscribe; the next snapshot
starts it again. While it waits, nothing is applied, so one gap is one resync.

Levels are kept exactly as the exchange writes them (price and quantity strings; use
``Decimal(price)`` for exact arithmetic), but a level *is* its price as a number: ``"1.0"``
and ``"1.00"`` are one level (the text of its last message is shown). Each side is a dict
``float(price) -> (price, quantity)`` plus the float prices in a list kept sorted with
:mod:`bisect`, touched only when a level comes or goes. So the best price is one index away
and an update that only changes sizes costs one float parse and one dict store per level:
within the 5 µs budget for a 100-level book, the JSON parse included
(``benchmarks/bench_ws_order.py``).

**Stale is never shown.** While :attr:`Book.synced` is False (before the first snapshot,
after a gap or a dropped socket, after the stream ended) the readers answer as for an empty
book (``best_bid()`` None, ``bids`` ``[]``): a price the stream may already have moved is
not offered to a bot. :meth:`Book.changed` returns on every applied message *and* when the
book goes stale (check ``synced``); once the stream ended (the ``book_stream`` block left, the
client closed) it raises :class:`~polo_fast.errors.ConnectionLost`.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, insort
from collections.abc import Awaitable, Callable
from typing import Any

from polo_fast.errors import ConnectionLost

__all__ = ["Book", "Level"]

Level = tuple[str, str]
"""One price level: (price, quantity), as the exchange writes them."""


class _Side:
    """One side: ``float(price) -> (price, quantity)``, and the float prices, ascending."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[float, Level] = {}
        self.prices: list[float] = []

    def load(self, levels: list[list[str]]) -> None:
        held: dict[float, Level] = {}
        for p, q in levels:
            if q[0] == "0" and not float(q):
                continue
            held[float(p)] = (p, q)
        self.levels = held
        self.prices = sorted(held)

    def apply(self, levels: list[list[str]]) -> None:
        held = self.levels
        for p, q in levels:
            f = float(p)
            if q[0] == "0" and not float(q):  # "0", "0.000": the level is gone
                if held.pop(f, None) is not None:
                    prices = self.prices
                    del prices[bisect_left(prices, f)]
            else:
                if f not in held:
                    insort(self.prices, f)
                held[f] = (p, q)


class Book:
    """The local L2 book of one market (see the module's docstring).

    Attributes:
        symbol: the market, e.g. ``"BTC_USDT"``.
        id: the ``id`` of the last message applied (0 before the first snapshot).
        ts: that message's ``ts`` (exchange ms).
        updates: updates applied.
        duplicates: updates ignored as already applied.
        resyncs: fresh snapshots needed after a gap or a dropped socket.
        synced: True while the book follows the stream (False from a gap or a drop to the next
            snapshot, and for good once the stream ended); the readers show no level while
            it is False.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "_ended",
        "_resync",
        "_waiter",
        "duplicates",
        "id",
        "resyncs",
        "symbol",
        "synced",
        "ts",
        "updates",
    )

    def __init__(self, symbol: str, resync: Callable[[Book], None] | None = None) -> None:
        self.symbol = symbol
        self.id = 0
        self.ts = 0
        self.updates = 0
        self.duplicates = 0
        self.resyncs = 0
        self.synced = False
        self._asks = _Side()
        self._bids = _Side()
        self._resync = resync
        self._waiter: asyncio.Future[None] | None = None
        self._ended: ConnectionLost | None = None

    # -- reading -------------------------------------------------------------------------------
    def best_bid(self) -> Level | None:
        """The highest bid as (price, quantity); None when there is none or the book is not
        :attr:`synced`."""
        prices = self._bids.prices
        if not prices or not self.synced:
            return None
        return self._bids.levels[prices[-1]]

    def best_ask(self) -> Level | None:
        """The lowest ask as (price, quantity); None when there is none or the book is not
        :attr:`synced`."""
        prices = self._asks.prices
        if not prices or not self.synced:
            return None
        return self._asks.levels[prices[0]]

    @property
    def bids(self) -> list[Level]:
        """The bids, best (highest) first (``[]`` while the book is not :attr:`synced`)."""
        if not self.synced:
            return []
        levels = self._bids.levels
        return [levels[f] for f in reversed(self._bids.prices)]

    @property
    def asks(self) -> list[Level]:
        """The asks, best (lowest) first (``[]`` while the book is not :attr:`synced`)."""
        if not self.synced:
            return []
        levels = self._asks.levels
        return [levels[f] for f in self._asks.prices]

    def changed(self) -> Awaitable[None]:
        """Wait for the next snapshot or update applied to this book, or for it to go stale
        (a gap, a dropped socket: :attr:`synced` is then False): ``await book.changed()``.

        Not a coroutine: the waiter exists from the moment of the call, so a message applied
        before the caller's task first runs (``wait_for(book.changed(), t)``) still wakes it.

        Raises:
            ConnectionLost: the stream ended (its ``book_stream`` block was left, or the
                client closed): nothing will change any more.
        """
        if self._ended is not None:
            raise self._ended
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        return asyncio.shield(self._waiter)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def stale(self) -> None:
        """The stream went away for now (the socket dropped): no level is shown until the
        next snapshot; a waiting :meth:`changed` returns."""
        if self.synced:
            self.synced = False
            self.resyncs += 1
        self._wake()

    def end(self, why: str) -> None:
        """The stream ended for good: :meth:`changed` raises ConnectionLost(``why``)."""
        self.synced = False
        self._ended = ConnectionLost(why, command="book_stream")
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._ended)
            waiter.exception()  # retrieved: nobody may be waiting

    # -- feeding -------------------------------------------------------------------------------
    def on_message(self, item: dict[str, Any], action: str) -> None:
        """Apply one ``book_lv2`` data item (``action``: ``snapshot`` or ``update``)."""
        ident = item["id"]
        if action == "update":
            if item["lastId"] != self.id or not self.synced:
                if not self.synced:
                    return  # waiting for a snapshot
                if ident <= self.id:
                    self.duplicates += 1
                    return
                self.gap()
                return
            self._asks.apply(item["asks"])
            self._bids.apply(item["bids"])
            self.updates += 1
        else:
            if self._ended is not None:
                return
            self._asks.load(item["asks"])
            self._bids.load(item["bids"])
            self.synced = True
        self.id = ident
        self.ts = item.get("ts", 0)
        if self._waiter is not None:
            self._wake()

    def gap(self) -> None:
        """Stop applying and ask for a new snapshot (a gap, or the socket reconnected); a
        waiting :meth:`changed` returns (:attr:`synced` is False)."""
        self.synced = False
        self.resyncs += 1
        self._wake()
        if self._resync is not None:
            self._resync(self)

    def __repr__(self) -> str:
        return (
            f"<Book {self.symbol} id={self.id} synced={self.synced} bid={self.best_bid()} "
            f"ask={self.best_ask()} levels={len(self._bids.prices)}/{len(self._asks.prices)} "
            f"resyncs={self.resyncs}>"
        )
