"""The stand-in's market state: books, accounts, order placement, cancels, moves, settlement.

:class:`Market` owns one :class:`Book` per pair (created and seeded on first use, from a fixed
seed, so runs are reproducible) and one :class:`Account` per API key. Every operation is
synchronous and runs on the server's event loop, so each command is atomic. Balances move
only here: placing reserves funds, a fill settles both sides (taker fee 0.2 %, maker 0.1 %),
cancelling releases what is left. Margin orders settle into a per-pair :class:`Position`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from polo_fast.testing._book import Book, Order, Trade
from polo_fast.testing._errors import (
    AMOUNT_MIN,
    FOK_UNFILLED,
    NOT_YOURS,
    POST_ONLY,
    RATE_ZERO,
    ApiError,
)
from polo_fast.testing._refdata import (
    CURRENCIES,
    DEFAULT_BALANCES,
    LEVERAGE,
    MAKER_FEE,
    MIN_TOTAL,
    PAIRS,
    TAKER_FEE,
    ZERO,
    q8,
)

__all__ = ["Account", "Market", "Position"]

_MIN_AMOUNT = Decimal("0.000001")


@dataclass(slots=True)
class Position:
    """A margin position in one market: signed amount of Y and its signed cost in X."""

    amount: Decimal = ZERO
    cost: Decimal = ZERO

    @property
    def base_price(self) -> Decimal:
        """Average entry price (0 when flat)."""
        return q8(self.cost / self.amount) if self.amount else ZERO

    def apply(self, qty: Decimal, price: Decimal) -> Decimal:
        """Add a signed fill; return the P/L realised by any part that reduced the position."""
        realised = ZERO
        if self.amount and (qty > 0) != (self.amount > 0):
            base = self.cost / self.amount
            close = min(abs(qty), abs(self.amount))
            sign = 1 if self.amount > 0 else -1
            realised = (price - base) * close * sign
            self.amount -= sign * close
            self.cost = base * self.amount
            qty += sign * close  # what is left of the fill after closing
        if qty:
            self.amount += qty
            self.cost += qty * price
        return q8(realised) if realised >= 0 else -q8(-realised)


@dataclass(eq=False)
class Account:
    """Everything the exchange keeps for one API key."""

    key: str
    exchange: dict[str, Decimal]
    margin: dict[str, Decimal] = field(default_factory=dict)
    lending: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)  # open, by number
    history: dict[int, Order] = field(default_factory=dict)  # every own order, by number
    trades: list[tuple[Trade, Order]] = field(default_factory=list)  # own fills, oldest first
    positions: dict[str, Position] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)  # lending, addresses, transfers

    def wallet(self, account: str) -> dict[str, Decimal]:
        """The balances of ``exchange``, ``margin`` or ``lending``."""
        wallet: dict[str, Decimal] = getattr(self, account)
        return wallet

    by_client_id: dict[int, Order] = field(default_factory=dict)  # open, by clientOrderId
    open_per_pair: dict[str, int] = field(default_factory=dict)

    def opened(self, order: Order) -> None:
        """Index a new open (resting) order."""
        self.orders[order.number] = order
        if order.client_order_id is not None:
            self.by_client_id[order.client_order_id] = order
        self.open_per_pair[order.pair] = self.open_per_pair.get(order.pair, 0) + 1

    def closed(self, order: Order) -> None:
        """Drop an order that is no longer open (filled, cancelled, moved)."""
        if self.orders.pop(order.number, None) is None:
            return
        if order.client_order_id is not None:
            self.by_client_id.pop(order.client_order_id, None)
        self.open_per_pair[order.pair] -= 1


class Market:
    """Books, accounts and the order operations of the stand-in exchange."""

    def __init__(
        self,
        seed: int = 1,
        balances: Mapping[str, Decimal | int | str | float] | None = None,
        max_open_orders: int = 100,
        cancel_all_interval: float = 120.0,
    ) -> None:
        self.seed = seed
        self.cancel_all_interval = cancel_all_interval
        self.start = time.time()
        start = DEFAULT_BALANCES if balances is None else balances
        self.start_balances = {c: Decimal(str(v)) for c, v in start.items()}
        self.max_open_orders = max_open_orders
        self._books: dict[str, Book] = {}
        self._numbers: Iterator[int] = itertools.count(120_466_000_001)
        self._global_ids: Iterator[int] = itertools.count(500_000_001)
        self._trade_ids: dict[str, Iterator[int]] = {}
        self.accounts: dict[str, Account] = {}

    # -- lookups -------------------------------------------------------------------------------
    def book(self, pair: str) -> Book:
        """The book of ``pair`` (a listed market), seeded on first use."""
        book = self._books.get(pair)
        if book is None:
            book = self._books[pair] = Book(PAIRS[pair])
            book.seed(self.seed, self._numbers, self.start)
            self._trade_ids[pair] = itertools.count(7_000_001)
        return book

    def account(self, key: str) -> Account:
        """The account of ``key``, opened with the starting balances on first use."""
        acct = self.accounts.get(key)
        if acct is None:
            wallet = {c: ZERO for c in CURRENCIES}
            wallet.update(self.start_balances)
            margin = {c: ZERO for c in CURRENCIES}
            margin["BTC"] = Decimal("1")
            lending = {c: ZERO for c in CURRENCIES}
            lending.update({"BTC": Decimal("2"), "USDT": Decimal("5000")})
            acct = self.accounts[key] = Account(key, wallet, margin, lending)
        return acct

    def next_number(self) -> int:
        """A fresh order (or loan) number."""
        return next(self._numbers)

    def find_order(self, acct: Account, number: int) -> Order:
        """An open order of ``acct``, else the exchange's not-yours error."""
        order = acct.orders.get(number)
        if order is None:
            raise ApiError(NOT_YOURS)
        return order

    # -- placing -------------------------------------------------------------------------------
    def place(
        self,
        acct: Account,
        pair: str,
        side: str,
        rate: Decimal,
        amount: Decimal,
        *,
        post_only: bool = False,
        fill_or_kill: bool = False,
        immediate_or_cancel: bool = False,
        client_order_id: int | None = None,
        margin: bool = False,
    ) -> tuple[Order, list[Trade]]:
        """Check, match and (unless IOC/FOK) rest a limit order; return it and its trades."""
        info = PAIRS[pair]
        if rate <= 0:
            raise ApiError(RATE_ZERO)
        if amount < _MIN_AMOUNT:
            raise ApiError(AMOUNT_MIN)
        total = q8(rate * amount)
        minimum = Decimal("0.02") if margin else MIN_TOTAL.get(info.base, Decimal("0.0001"))
        if total < minimum:
            raise ApiError(f"Total must be at least {minimum}.")
        if client_order_id is not None and client_order_id in acct.by_client_id:
            raise ApiError("Your clientOrderId is already in use by an open order.")
        if acct.open_per_pair.get(pair, 0) >= self.max_open_orders:
            raise ApiError(
                f"You may not have more than {self.max_open_orders} open orders in a single market."
            )
        if margin:
            self._check_collateral(acct, pair, total)
        elif side == "buy":
            if acct.exchange[info.base] < total:
                raise ApiError(f"Not enough {info.base}.")
        elif acct.exchange[info.quote] < amount:
            raise ApiError(f"Not enough {info.quote}.")
        book = self.book(pair)
        if post_only and book.would_cross(side, rate):
            raise ApiError(POST_ONLY)
        if fill_or_kill and book.available(side, rate, amount) < amount:
            raise ApiError(FOK_UNFILLED)
        now = time.time()
        order = Order(
            self.next_number(),
            pair,
            side,
            rate,
            amount,
            amount,
            now,
            acct.key,
            client_order_id,
            margin,
        )
        acct.history[order.number] = order
        trades = [
            self._settle(order, f.maker, f.amount, f.rate, now)
            for f in book.take(side, rate, amount)
        ]
        if order.amount > 0 and not (fill_or_kill or immediate_or_cancel):
            order.starting = order.amount  # B: the size that went onto the book
            self._reserve(acct, order)
            book.add(order)
            acct.opened(order)
        return order, trades

    def market_close(self, acct: Account, pair: str) -> list[Trade]:
        """Close the margin position in ``pair`` against the book (as far as it goes)."""
        pos = acct.positions.get(pair)
        if pos is None or not pos.amount:
            return []
        side = "sell" if pos.amount > 0 else "buy"
        amount = abs(pos.amount)
        book = self.book(pair)
        now = time.time()
        worst = book.best("buy" if side == "sell" else "sell") or book.mid()
        order = Order(
            self.next_number(), pair, side, worst, amount, amount, now, acct.key, None, True
        )
        acct.history[order.number] = order
        return [
            self._settle(order, f.maker, f.amount, f.rate, now)
            for f in book.take(side, None, amount)
        ]

    def _check_collateral(self, acct: Account, pair: str, total: Decimal) -> None:
        base = PAIRS[pair].base
        pos = acct.positions.get(pair)
        exposure = abs(pos.cost) if pos else ZERO
        if (exposure + total) > acct.margin[base] * LEVERAGE:
            raise ApiError(f"Not enough {base} to cover the margin requirement.")

    def _reserve(self, acct: Account, order: Order) -> None:
        if order.margin:
            return
        info = PAIRS[order.pair]
        if order.side == "buy":
            order.reserved = q8(order.rate * order.amount)
            acct.exchange[info.base] -= order.reserved
        else:
            order.reserved = order.amount
            acct.exchange[info.quote] -= order.reserved

    def release(self, acct: Account, order: Order) -> None:
        """Give back what ``order`` still holds (cancel, or dust after a full fill)."""
        if order.reserved:
            info = PAIRS[order.pair]
            cur = info.base if order.side == "buy" else info.quote
            acct.exchange[cur] += order.reserved
            order.reserved = ZERO

    # -- settlement ----------------------------------------------------------------------------
    def _settle(
        self, taker: Order, maker: Order, qty: Decimal, price: Decimal, now: float
    ) -> Trade:
        taker.amount -= qty
        trade = Trade(
            next(self._global_ids),
            next(self._trade_ids[taker.pair]),
            taker.pair,
            taker.side,
            price,
            qty,
            now,
            taker,
            maker,
        )
        self.book(taker.pair).trades.appendleft(trade)
        for order, fee in ((taker, TAKER_FEE), (maker, MAKER_FEE)):
            if order.owner is None:
                continue
            acct = self.accounts[order.owner]
            order.fills.append(trade)
            acct.trades.append((trade, order))
            self._book_fill(acct, order, qty, price, fee, maker=order is maker)
            if order is maker and maker.amount <= 0:
                acct.closed(maker)
                self.release(acct, maker)
        return trade

    def _book_fill(
        self,
        acct: Account,
        order: Order,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        *,
        maker: bool,
    ) -> None:
        info = PAIRS[order.pair]
        total = q8(price * qty)
        if order.margin:
            pos = acct.positions.setdefault(order.pair, Position())
            realised = pos.apply(qty if order.side == "buy" else -qty, price)
            acct.margin[info.base] += realised - q8(total * fee)
            return
        # a buy pays ``total`` of the base currency for ``qty`` of the quote; a sell the reverse
        if order.side == "buy":
            paid, got, pays, gets = total, qty, info.base, info.quote
        else:
            paid, got, pays, gets = qty, total, info.quote, info.base
        if maker:  # a resting order pays first from what it reserved
            held = min(order.reserved, paid)
            order.reserved -= held
            paid -= held
        acct.exchange[pays] -= paid
        acct.exchange[gets] += q8(got * (1 - fee))

    # -- cancel and move ----------------------------------------------------------------------
    def cancel(self, acct: Account, order: Order) -> Decimal:
        """Take an open order off the book and release its funds; return the unfilled size."""
        self.book(order.pair).remove(order)
        acct.closed(order)
        self.release(acct, order)
        return order.amount

    def move(
        self,
        acct: Account,
        order: Order,
        rate: Decimal,
        amount: Decimal | None,
        *,
        post_only: bool = False,
        immediate_or_cancel: bool = False,
        client_order_id: int | None = None,
    ) -> tuple[Order, list[Trade]]:
        """Replace ``order`` atomically: both the cancel and the new order happen, or neither."""
        book = self.book(order.pair)
        index = book.remove(order)
        acct.closed(order)
        reserved = order.reserved
        self.release(acct, order)
        try:
            return self.place(
                acct,
                order.pair,
                order.side,
                rate,
                order.amount if amount is None else amount,
                post_only=post_only and not order.margin,
                immediate_or_cancel=immediate_or_cancel and not order.margin,
                client_order_id=(
                    order.client_order_id if client_order_id is None else client_order_id
                ),
                margin=order.margin,
            )
        except ApiError:
            info = PAIRS[order.pair]
            cur = info.base if order.side == "buy" else info.quote
            if not order.margin:
                acct.exchange[cur] -= reserved
            order.reserved = reserved
            book.reinsert(order, index)
            acct.opened(order)
            raise
