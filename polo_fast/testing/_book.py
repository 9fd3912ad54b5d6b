"""The stand-in's order books: price levels, price-time priority matching, seeded liquidity.

One :class:`Book` per market holds every resting order, the seeded liquidity (owner
``None``) and the keys' own orders alike, so one key's order can fill another's. Matching
is synchronous (the server runs it on its one event loop), so every command is atomic.
The book reports fills; balances are the accounts' business (``_accounts.py``).
"""

from __future__ import annotations

import bisect
import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from polo_fast.testing._refdata import CURRENCIES, PAIRS, ZERO, Pair, q8, ref_price

__all__ = ["Book", "Fill", "Order", "Trade", "dt"]

_LEVELS = 40  # seeded price levels per side
_HISTORY = 1000  # public trades kept per market (the B cap)


def dt(ts: float) -> str:
    """The exchange's ``dt`` form: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


@dataclass(slots=True, eq=False)
class Order:
    """A resting or just-placed limit order. ``owner`` is the API key, None for seeded ones."""

    number: int
    pair: str
    side: str  # "buy" or "sell"
    rate: Decimal
    amount: Decimal  # still unfilled, in Y
    starting: Decimal  # size when it went onto the book
    created: float
    owner: str | None = None
    client_order_id: int | None = None
    margin: bool = False
    resting: bool = False
    reserved: Decimal = Decimal(0)  # funds held for the unfilled part (own orders)
    fills: list[Trade] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Trade:
    """One execution: ``type`` is the taker's side; ids as the exchange numbers them."""

    global_id: int
    trade_id: int
    pair: str
    type: str
    rate: Decimal
    amount: Decimal
    ts: float
    taker: Order
    maker: Order

    @property
    def total(self) -> Decimal:
        """rate x amount, in X."""
        return q8(self.rate * self.amount)


@dataclass(slots=True)
class Fill:
    """A maker order hit for ``amount`` at its own ``rate`` (the caller books balances)."""

    maker: Order
    amount: Decimal
    rate: Decimal


class Book:
    """The resting orders of one market, price-aggregated by level, FIFO within a level."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.seq = 0
        self._levels: dict[str, dict[Decimal, deque[Order]]] = {"buy": {}, "sell": {}}
        self._prices: dict[str, list[Decimal]] = {"buy": [], "sell": []}  # ascending
        self.trades: deque[Trade] = deque(maxlen=_HISTORY)  # newest first

    # -- resting orders ----------------------------------------------------------------------
    def add(self, order: Order) -> None:
        """Rest ``order`` at the back of its price level."""
        levels = self._levels[order.side]
        level = levels.get(order.rate)
        if level is None:
            level = levels[order.rate] = deque()
            bisect.insort(self._prices[order.side], order.rate)
        level.append(order)
        order.resting = True
        self.seq += 1

    def remove(self, order: Order) -> int:
        """Take ``order`` off the book (cancel, move, or fully filled); return its queue index."""
        level = self._levels[order.side].get(order.rate)
        if level is None or not order.resting:
            return -1
        index = level.index(order)
        del level[index]
        order.resting = False
        if not level:
            del self._levels[order.side][order.rate]
            prices = self._prices[order.side]
            del prices[bisect.bisect_left(prices, order.rate)]
        self.seq += 1
        return index

    def reinsert(self, order: Order, index: int) -> None:
        """Put a removed ``order`` back at queue position ``index`` (an undone move)."""
        self.add(order)
        level = self._levels[order.side][order.rate]
        level.pop()
        level.insert(min(max(index, 0), len(level)), order)

    # -- queries -------------------------------------------------------------------------------
    def best(self, side: str) -> Decimal | None:
        """Best resting price on ``side`` (highest bid, lowest ask), None when empty."""
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == "buy" else prices[0]

    def mid(self) -> Decimal:
        """Mid price, falling back to one side or the reference price."""
        bid, ask = self.best("buy"), self.best("sell")
        if bid is not None and ask is not None:
            return q8((bid + ask) / 2)
        return bid or ask or ref_price(self.pair)

    def _opposite(self, side: str, limit: Decimal | None) -> Iterator[Decimal]:
        """Prices of the side a ``side`` taker hits, best first, within ``limit``."""
        if side == "buy":
            for price in list(self._prices["sell"]):
                if limit is not None and price > limit:
                    return
                yield price
        else:
            for price in reversed(list(self._prices["buy"])):
                if limit is not None and price < limit:
                    return
                yield price

    def would_cross(self, side: str, rate: Decimal) -> bool:
        """True when a ``side`` order at ``rate`` would trade at once."""
        other = self.best("sell" if side == "buy" else "buy")
        if other is None:
            return False
        return rate >= other if side == "buy" else rate <= other

    def available(self, side: str, limit: Decimal | None, up_to: Decimal) -> Decimal:
        """How much of ``up_to`` a ``side`` taker limited to ``limit`` could fill now."""
        got = ZERO
        other = self._levels["sell" if side == "buy" else "buy"]
        for price in self._opposite(side, limit):
            got += sum((o.amount for o in other[price]), ZERO)
            if got >= up_to:
                return up_to
        return got

    def take(self, side: str, limit: Decimal | None, amount: Decimal) -> list[Fill]:
        """Fill a ``side`` taker for up to ``amount`` at ``limit`` or better; return the fills.

        Filled makers are updated and, when done, removed. Own orders match like any other
        (self-trades are allowed, as on the exchange).
        """
        fills: list[Fill] = []
        other_side = "sell" if side == "buy" else "buy"
        levels = self._levels[other_side]
        for price in self._opposite(side, limit):
            level = levels[price]
            while level and amount > 0:
                maker = level[0]
                qty = min(maker.amount, amount)
                maker.amount -= qty
                amount -= qty
                fills.append(Fill(maker, qty, price))
                if maker.amount <= 0:
                    self.remove(maker)
                else:
                    self.seq += 1
            if amount <= 0:
                break
        return fills

    def levels(self, side: str, depth: int) -> list[list[str | float]]:
        """Price-aggregated levels, best first: ``[rate s8, amount number]``."""
        prices = self._prices[side]
        chosen = prices[-depth:][::-1] if side == "buy" else prices[:depth]
        levels = self._levels[side]
        out: list[list[str | float]] = []
        for price in chosen:
            size = sum((o.amount for o in levels[price]), ZERO)
            out.append([f"{price:.8f}", float(size)])
        return out

    def orders(self) -> Iterator[Order]:
        """Every resting order (both sides)."""
        for side in ("buy", "sell"):
            for level in self._levels[side].values():
                yield from level

    # -- seeding ---------------------------------------------------------------------------------
    def seed(self, seed: int, next_number: Iterator[int], now: float) -> None:
        """Fill both sides with reproducible liquidity around the reference price."""
        rng = random.Random(seed * 1_000_003 + self.pair.id)
        mid = ref_price(self.pair)
        step = max(mid * Decimal("0.0005"), Decimal("0.00000001"))
        y_usd = CURRENCIES[self.pair.quote].usd
        for i in range(1, _LEVELS + 1):
            for side, sign in (("sell", 1), ("buy", -1)):
                rate = q8(mid + sign * step * i)
                if rate <= 0:
                    continue
                usd = Decimal(rng.randint(200, 20_000))
                size = (usd / y_usd).quantize(Decimal("0.0001"))
                if size <= 0:
                    continue
                self.add(Order(next(next_number), self.pair.name, side, rate, size, size, now))
        self.seq = rng.randint(100_000_000, 900_000_000)
        # Public history: 200 trades over the last hour, newest first.
        ts = now
        for k in range(200):
            ts -= rng.uniform(1.0, 36.0)
            kind = "buy" if rng.random() < 0.5 else "sell"
            rate = q8(mid * (1 + Decimal(rng.randint(-40, 40)) / 10_000))
            size = (Decimal(rng.randint(50, 5_000)) / y_usd).quantize(Decimal("0.0001"))
            ghost = Order(0, self.pair.name, kind, rate, ZERO, size, ts)
            self.trades.append(
                Trade(
                    400_000_000 + self.pair.id * 1000 - k,
                    7_000_000 - k,
                    self.pair.name,
                    kind,
                    rate,
                    size,
                    ts,
                    ghost,
                    ghost,
                )
            )


def _check_pairs() -> None:
    assert all(p.base in CURRENCIES and p.quote in CURRENCIES for p in PAIRS.values())


_check_pairs()
