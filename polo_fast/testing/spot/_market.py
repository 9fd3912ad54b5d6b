"""Spot markets of the stand-in, built from the legacy stand-in's reference data.

A legacy pair ``X_Y`` (X prices it, Y is traded) is the Spot symbol ``Y_X`` (base Y, quote X):
``USDT_BTC`` is ``BTC_USDT``. Each market's order book is the legacy :class:`Book` (price-time
priority, seeded liquidity), created and seeded on first use.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from polo_fast.testing._book import Book
from polo_fast.testing._refdata import CURRENCIES, PAIRS, Pair, ref_price
from polo_fast.testing.spot._errors import (
    AMOUNT_SCALE,
    BELOW_MIN_AMOUNT,
    BELOW_MIN_QUANTITY,
    INVALID_SYMBOL,
    PRICE_SCALE,
    QUANTITY_SCALE,
    SpotError,
)

__all__ = ["AMOUNT_DECIMALS", "MARKETS", "TRADABLE_SINCE_MS", "Books", "SpotMarket", "decimals"]

AMOUNT_DECIMALS = 8
"""Every market's ``amountScale`` (and the decimals the exchange books)."""
TRADABLE_SINCE_MS = 1659018816626
"""Every market's ``tradableStartTime`` (the new trading system's start): nothing before it."""
"""Every market's ``amountScale`` (and the decimals the exchange books)."""


def decimals(value: Decimal) -> int:
    """Decimal places of ``value``, trailing zeros not counted (``"0.0100"`` has 2).

    Reading: the exchange's scale checks are taken to look at the value, not at how many
    zeros the client wrote after it.
    """
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@dataclass(frozen=True)
class SpotMarket:
    """One Spot market: ``symbol`` is ``BASE_QUOTE``; ``pair`` is the legacy pair behind it."""

    symbol: str
    base: str
    quote: str
    pair: Pair

    @property
    def price_scale(self) -> int:
        """Decimal places of a price."""
        return 8 if ref_price(self.pair) < 1 else 4

    @property
    def quantity_scale(self) -> int:
        """Decimal places of a quantity."""
        return 8 if CURRENCIES[self.base].usd > 1 else 2

    @property
    def min_quantity(self) -> Decimal:
        """The smallest order ``quantity`` (``minQuantity``)."""
        return Decimal(1).scaleb(-self.quantity_scale)

    @property
    def min_amount(self) -> Decimal:
        """The smallest order value in the quote currency (``minAmount``)."""
        return Decimal(1) if self.quote in ("USDT", "USDC") else Decimal("0.0001")

    def check_order(
        self, price: Decimal | None, quantity: Decimal | None, amount: Decimal | None
    ) -> None:
        """Refuse an order that breaks the published ``symbolTradeLimit``.

        Scales first (21335 price, 21336 quantity, 21337 amount), then minimums (21330
        quantity below ``minQuantity``; 21322 amount, or a limit order's price times
        quantity, below ``minAmount``). ``None``: not part of this order.
        """
        if price is not None and decimals(price) > self.price_scale:
            raise SpotError(PRICE_SCALE)
        if quantity is not None and decimals(quantity) > self.quantity_scale:
            raise SpotError(QUANTITY_SCALE)
        if amount is not None and decimals(amount) > AMOUNT_DECIMALS:
            raise SpotError(AMOUNT_SCALE)
        if quantity is not None and quantity < self.min_quantity:
            raise SpotError(BELOW_MIN_QUANTITY)
        value = amount
        if value is None and price is not None and quantity is not None:
            value = price * quantity
        if value is not None and value < self.min_amount:
            raise SpotError(BELOW_MIN_AMOUNT)

    def info(self) -> dict[str, object]:
        """The market's ``GET /markets`` object (spec §3.1)."""
        return {
            "symbol": self.symbol,
            "baseCurrencyName": self.base,
            "quoteCurrencyName": self.quote,
            "displayName": f"{self.base}/{self.quote}",
            "state": "NORMAL",
            "visibleStartTime": TRADABLE_SINCE_MS,
            "tradableStartTime": TRADABLE_SINCE_MS,
            "symbolTradeLimit": {
                "symbol": self.symbol,
                "priceScale": self.price_scale,
                "quantityScale": self.quantity_scale,
                "amountScale": AMOUNT_DECIMALS,
                "minQuantity": f"{self.min_quantity:f}",
                "minAmount": f"{self.min_amount:f}",
                "maxQuantity": "1000000000",
                "maxAmount": "1000000000",
                "highestBid": "0",
                "lowestAsk": "0",
            },
            "crossMargin": {"supportCrossMargin": False, "maxLeverage": 1},
        }


MARKETS: dict[str, SpotMarket] = {
    f"{p.quote}_{p.base}": SpotMarket(f"{p.quote}_{p.base}", p.quote, p.base, p)
    for p in PAIRS.values()
}
"""Every market by Spot symbol."""


class Books:
    """One seeded order book per market, made on first use; one id sequence for all orders."""

    def __init__(self, seed: int, now: float) -> None:
        self.seed = seed
        self.now = now
        self.ids: Iterator[int] = itertools.count(29_772_698_821_328_896, 7)
        self._books: dict[str, Book] = {}

    def market(self, symbol: str) -> SpotMarket:
        """The market ``symbol``, or 10040 (invalid symbol)."""
        market = MARKETS.get(symbol)
        if market is None:
            raise SpotError(INVALID_SYMBOL)
        return market

    def book(self, symbol: str) -> Book:
        """The book of ``symbol`` (seeded on first use), or 10040."""
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = Book(self.market(symbol).pair)
            book.seed(self.seed, self.ids, self.now)
        return book

    def mid(self, symbol: str) -> Decimal:
        """Mid price of ``symbol``'s book."""
        return self.book(symbol).mid()
