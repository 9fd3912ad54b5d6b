"""Orders of the Spot stand-in: create (alone or in a batch), match, rest, cancel, replace.

A limit order takes liquidity at its price or better and rests its remainder (GTC); IOC
cancels the remainder, FOK fills completely or not at all, LIMIT_MAKER that would trade at
once is accepted and canceled at once (reading: the docs do not say whether it is refused).
A MARKET BUY spends ``amount`` of the quote currency, a MARKET SELL sells ``quantity``.
Funds go on hold when an order is placed and fills settle both sides (taker fee 0.2 %, maker
0.1 %, each paid in the currency received). A ``clientOrderId`` is unique per key for the
life of the stand-in (reading of §7 #9: reuse is refused with 21312 even after the order
closed), and an order is addressed by its id or by ``cid:<clientOrderId>``.

Every change of an order is told to ``Trading.listener`` (the WebSocket feeds): ``place``
when it is accepted, ``trade`` per fill (with the fill's row), ``canceled`` when it ends
unfilled or part-filled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polo_fast.testing._book import Fill, Order
from polo_fast.testing._refdata import MAKER_FEE, TAKER_FEE, ZERO, fmt, q8
from polo_fast.testing.spot._accounts import Wallet
from polo_fast.testing.spot._errors import (
    ALREADY_CLOSED,
    CID_EXISTS,
    INSUFFICIENT,
    MISSING_PARAM,
    OPEN_LIMIT,
    ORDER_ID_LONG,
    ORDER_NOT_FOUND,
    QTY_POSITIVE,
    SpotError,
)
from polo_fast.testing.spot._market import Books

__all__ = ["MAX_OPEN_ORDERS", "OPEN", "Listener", "SpotOrder", "Trading"]

MAX_OPEN_ORDERS = 2000
OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})

Listener = Callable[[str, "SpotOrder", "dict[str, Any] | None"], None]
"""Told of every order event: kind (place/trade/canceled), the order, the fill row or None."""


@dataclass(eq=False)
class SpotOrder:
    """One order of a key, as ``GET /orders/{id}`` shows it."""

    id: int
    key: str
    cid: str
    symbol: str
    side: str
    type: str
    tif: str
    price: Decimal
    quantity: Decimal
    amount: Decimal
    created: int
    updated: int
    filled_qty: Decimal = ZERO
    filled_amt: Decimal = ZERO
    state: str = "NEW"
    held: Decimal = ZERO
    entry: Order | None = None  # the order's place in the book while it rests

    @property
    def by_amount(self) -> bool:
        """A MARKET BUY: sized by the quote ``amount`` it spends."""
        return self.type == "MARKET" and self.side == "BUY"

    @property
    def done(self) -> bool:
        """Completely filled (a MARKET BUY: all but a dust (< 0.01 %) of its amount spent)."""
        if self.by_amount:
            return self.filled_amt * 10_000 >= self.amount * 9_999
        return self.filled_qty >= self.quantity

    def view(self) -> dict[str, Any]:
        """The order object of the spec's §3.5."""
        avg = q8(self.filled_amt / self.filled_qty) if self.filled_qty else ZERO
        return {
            "id": str(self.id),
            "clientOrderId": self.cid,
            "symbol": self.symbol,
            "state": self.state,
            "accountType": "SPOT",
            "side": self.side,
            "type": self.type,
            "timeInForce": self.tif,
            "quantity": fmt(self.quantity),
            "price": fmt(self.price),
            "avgPrice": fmt(avg),
            "amount": fmt(self.amount),
            "filledQuantity": fmt(self.filled_qty),
            "filledAmount": fmt(self.filled_amt),
            "createTime": self.created,
            "updateTime": self.updated,
        }


@dataclass(frozen=True)
class _Plan:
    """A new order that passed every check, not yet placed."""

    symbol: str
    kind: str
    side: str
    tif: str
    cid: str
    price: Decimal
    quantity: Decimal
    amount: Decimal
    hold_currency: str
    hold: Decimal


class Trading:
    """Every key's orders, wallets and fills over the shared books."""

    def __init__(self, books: Books, wallet: Callable[[str], Wallet], clock: Callable[[], int]):
        self.books = books
        self.wallet = wallet
        self.clock = clock
        self.orders: dict[int, SpotOrder] = {}
        self.cids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[dict[str, Any]]] = {}
        self.open_count: dict[str, int] = {}
        self.listener: Listener | None = None

    # -- lookups ----------------------------------------------------------------------------
    def find(self, key: str, ref: str) -> SpotOrder:
        """The key's order ``ref`` (an id or ``cid:<clientOrderId>``), or 21301 / 21346."""
        if ref.startswith("cid:"):
            oid = self.cids.get((key, ref[4:]))
        elif ref.isdigit() and ref.isascii():
            oid = int(ref)
        else:
            raise SpotError(ORDER_ID_LONG)
        order = self.orders.get(oid) if oid is not None else None
        if order is None or order.key != key:
            raise SpotError(ORDER_NOT_FOUND)
        return order

    def open_orders(self, key: str) -> list[SpotOrder]:
        """The key's open orders, newest first."""
        return [o for o in reversed(self.orders.values()) if o.key == key and o.state in OPEN]

    # -- placing ----------------------------------------------------------------------------
    def create(self, key: str, p: dict[str, Any]) -> SpotOrder:
        """Place an order from checked parameters; match it and rest what is left."""
        return self._place(key, self._plan(key, p))

    def _plan(self, key: str, p: dict[str, Any], replacing: SpotOrder | None = None) -> _Plan:
        """Every check of a new order, changing nothing; refusals raise :class:`SpotError`.

        ``replacing``: the open order a cancel-replace would cancel first (its slot and what
        it holds count as free).
        """
        market = self.books.market(p["symbol"])
        kind = p.get("type", "MARKET")
        side = p["side"]
        cid = p.get("clientOrderId", "")
        if cid and (key, cid) in self.cids:
            raise SpotError(CID_EXISTS)
        freed = replacing is not None and replacing.entry is not None
        if self.open_count.get(key, 0) - freed >= MAX_OPEN_ORDERS:
            raise SpotError(OPEN_LIMIT)
        price = p.get("price", ZERO)
        quantity = p.get("quantity", ZERO)
        amount = p.get("amount", ZERO)
        by_amount = kind == "MARKET" and side == "BUY"
        if kind != "MARKET" and "price" not in p:
            raise SpotError(MISSING_PARAM, detail="price")
        if (amount if by_amount else quantity) <= 0 or (kind != "MARKET" and price <= 0):
            raise SpotError(QTY_POSITIVE)
        market.check_order(
            None if kind == "MARKET" else price,
            None if by_amount else quantity,
            amount if by_amount else None,
        )
        hold_cur = market.quote if side == "BUY" else market.base
        hold = amount if by_amount else q8(price * quantity) if side == "BUY" else quantity
        free = self.wallet(key).available.get(hold_cur, ZERO)
        if hold > free + (replacing.held if replacing is not None else ZERO):
            raise SpotError(INSUFFICIENT)
        tif = p.get("timeInForce", "GTC")
        return _Plan(market.symbol, kind, side, tif, cid, price, quantity, amount, hold_cur, hold)

    def _place(self, key: str, plan: _Plan) -> SpotOrder:
        """Put a checked order on the book: hold its funds, match it, rest or close it."""
        book = self.books.book(plan.symbol)
        kind, side, price, quantity = plan.kind, plan.side, plan.price, plan.quantity
        self.wallet(key).reserve(plan.hold_currency, plan.hold)
        now = self.clock()
        order = SpotOrder(
            next(self.books.ids), key, plan.cid, plan.symbol, side, kind, plan.tif, price,
            quantity, plan.amount, now, now, held=plan.hold,
        )  # fmt: skip
        self.orders[order.id] = order
        if plan.cid:
            self.cids[(key, plan.cid)] = order.id
        self._tell("place", order)
        lower = side.lower()
        refused = (kind == "LIMIT_MAKER" and book.would_cross(lower, price)) or (
            order.tif == "FOK" and book.available(lower, price, quantity) < quantity
        )
        if refused:
            fills: list[Fill] = []
        elif order.by_amount:
            fills = self._take_by_amount(order)
        else:
            fills = book.take(lower, price if kind != "MARKET" else None, quantity)
        for fill in fills:
            self._settle(order, fill)
        rest = quantity - order.filled_qty
        if kind != "MARKET" and rest > 0 and order.tif == "GTC" and not refused:
            entry = Order(order.id, book.pair.name, lower, price, rest, quantity, now / 1000, key)
            book.add(entry)
            order.entry = entry
            order.state = "PARTIALLY_FILLED" if order.filled_qty else "NEW"
            self.open_count[key] = self.open_count.get(key, 0) + 1
            self._rehold(order)
            return order
        self._close(order, filled=order.done)
        return order

    def _take_by_amount(self, order: SpotOrder) -> list[Fill]:
        """Fill a MARKET BUY level by level until its quote ``amount`` is spent.

        Each step subtracts what its fills really cost (as :meth:`_settle` books them) and
        the order stops at dust: when what is left buys nothing that costs at least 1e-8.
        """
        book = self.books.book(order.symbol)
        fills: list[Fill] = []
        left = order.amount
        while left > 0:
            best = book.best("sell")
            if best is None:
                break
            level = book.available("buy", best, Decimal("1e30"))
            qty = min(level, q8(left / best))
            if qty <= 0 or q8(qty * best) <= 0:
                break  # dust: less than one unit of the quote's 8th decimal
            taken = book.take("buy", best, qty)
            spent = sum((q8(f.amount * f.rate) for f in taken), ZERO)
            fills += taken
            if spent <= 0:
                break
            left -= spent
        return fills

    def _settle(self, taker: SpotOrder, fill: Fill) -> None:
        cost = q8(fill.amount * fill.rate)
        self._book_fill(taker, fill.amount, fill.rate, cost, "TAKER")
        maker = self.orders.get(fill.maker.number) if fill.maker.owner is not None else None
        if maker is not None:
            self._book_fill(maker, fill.amount, fill.rate, cost, "MAKER")
            if fill.maker.amount <= 0:
                self._close(maker, filled=True)
            else:
                maker.state = "PARTIALLY_FILLED"

    def _book_fill(
        self, o: SpotOrder, qty: Decimal, price: Decimal, cost: Decimal, role: str
    ) -> None:
        market = self.books.market(o.symbol)
        wallet = self.wallet(o.key)
        rate = TAKER_FEE if role == "TAKER" else MAKER_FEE
        if o.side == "BUY":
            wallet.spend(market.quote, cost)
            fee, fee_cur = q8(qty * rate), market.base
            wallet.credit(market.base, qty - fee)
            o.held -= cost
        else:
            wallet.spend(market.base, qty)
            fee, fee_cur = q8(cost * rate), market.quote
            wallet.credit(market.quote, cost - fee)
            o.held -= qty
        o.filled_qty += qty
        o.filled_amt += cost
        o.updated = self.clock()
        tid = next(self.books.ids)
        row: dict[str, Any] = {
            "id": str(tid), "symbol": o.symbol, "accountType": "SPOT", "orderId": str(o.id),
            "side": o.side, "type": o.type, "matchRole": role, "createTime": o.updated,
            "price": fmt(price), "quantity": fmt(qty), "amount": fmt(cost),
            "feeCurrency": fee_cur, "feeAmount": fmt(fee), "pageId": str(tid),
            "clientOrderId": o.cid,
        }  # fmt: skip
        self.fills.setdefault(o.key, []).append(row)
        self._tell("trade", o, row)

    def _tell(self, kind: str, order: SpotOrder, fill: dict[str, Any] | None = None) -> None:
        if self.listener is not None:
            self.listener(kind, order, fill)

    def _rehold(self, o: SpotOrder) -> None:
        """Release what a resting order holds beyond its unfilled part at its own price."""
        rest = o.quantity - o.filled_qty
        need = q8(o.price * rest) if o.side == "BUY" else rest
        market = self.books.market(o.symbol)
        self.wallet(o.key).release(market.quote if o.side == "BUY" else market.base, o.held - need)
        o.held = need

    def _close(self, o: SpotOrder, *, filled: bool) -> None:
        """End ``o``: FILLED, or (PARTIALLY_)CANCELED; release what it still holds."""
        if o.entry is not None:
            self.books.book(o.symbol).remove(o.entry)
            o.entry = None
            self.open_count[o.key] -= 1
        market = self.books.market(o.symbol)
        self.wallet(o.key).release(market.quote if o.side == "BUY" else market.base, o.held)
        o.held = ZERO
        o.state = "FILLED" if filled else "PARTIALLY_CANCELED" if o.filled_qty else "CANCELED"
        o.updated = self.clock()
        if not filled:
            self._tell("canceled", o)

    # -- cancelling -------------------------------------------------------------------------
    def cancel(self, order: SpotOrder) -> dict[str, Any]:
        """Cancel an open order; the reply item of the cancel endpoints."""
        if order.state not in OPEN:
            raise SpotError(ALREADY_CLOSED)
        self._close(order, filled=False)
        return {
            "orderId": str(order.id),
            "clientOrderId": order.cid,
            "state": "PENDING_CANCEL",
            "code": 200,
            "message": "",
        }

    def cancel_all(self, key: str, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """Cancel the key's open orders (of ``symbols``, every market when empty)."""
        return [self.cancel(o) for o in self.open_orders(key) if not symbols or o.symbol in symbols]

    def replace(self, key: str, ref: str, p: dict[str, Any]) -> SpotOrder:
        """Cancel-replace: cancel ``ref`` and place its replacement (same market and side).

        The replacement is checked in full (clientOrderId, funds counting what ``ref``
        holds, scales, minimums) before ``ref`` is touched: a refused replacement leaves
        ``ref`` as it was. ``proceedOnFailure`` (reading of the exchange's docs: "if true, the
        new order is placed even if cancelling the existing one fails; false, the default,
        places nothing then"): when ``ref`` is no longer open (filled or canceled), false
        refuses with 21359 and true places the replacement anyway. An unknown ``ref`` is
        refused (21301) either way: there is nothing to take the market and side from.
        """
        old = self.find(key, ref)
        is_open = old.state in OPEN
        if not is_open and not p.get("proceedOnFailure", False):
            raise SpotError(ALREADY_CLOSED)
        new = {
            "symbol": old.symbol,
            "side": old.side,
            "type": p.get("type", old.type),
            "timeInForce": p.get("timeInForce", old.tif),
            "price": p.get("price", old.price),
        }
        if "amount" in p:
            new["amount"] = p["amount"]
        else:
            new["quantity"] = p.get("quantity", old.quantity - old.filled_qty)
        if p.get("clientOrderId"):
            new["clientOrderId"] = p["clientOrderId"]
        plan = self._plan(key, new, old if is_open else None)
        if is_open:
            self.cancel(old)
        return self._place(key, plan)
