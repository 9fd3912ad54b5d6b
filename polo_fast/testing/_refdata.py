"""Reference data of the stand-in market: currencies, pairs, reference prices, fees.

Ids are the exchange's own (spec §11). Prices are invented but mutually consistent: each
currency has a reference value in USD, and a pair ``X_Y`` is priced at ``usd(Y) / usd(X)``,
so triangular prices agree. Nothing here is a live quotation.
"""

from __future__ import annotations

import functools
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

__all__ = [
    "CURRENCIES",
    "DEFAULT_BALANCES",
    "EIGHT",
    "LEVERAGE",
    "MAKER_FEE",
    "MARGIN_PAIRS",
    "MIN_TOTAL",
    "PAIRS",
    "TAKER_FEE",
    "ZERO",
    "Currency",
    "Pair",
    "fmt",
    "q8",
    "ref_price",
]

EIGHT = Decimal("0.00000001")
ZERO = Decimal(0)
MAKER_FEE = Decimal("0.00100000")
TAKER_FEE = Decimal("0.00200000")
LEVERAGE = Decimal("2.5")


def q8(value: Decimal) -> Decimal:
    """``value`` cut (not rounded) to 8 decimal places, as the exchange books amounts."""
    return value.quantize(EIGHT, rounding=ROUND_DOWN)


@functools.lru_cache(maxsize=1 << 16)
def fmt(value: Decimal) -> str:
    """The exchange's ``s8`` form: a decimal string with exactly 8 fractional digits (cut)."""
    return f"{value.quantize(EIGHT, rounding=ROUND_DOWN):.8f}"


class Currency(NamedTuple):
    """One currency: code, numeric id, display name, USD reference value, withdrawal fee."""

    code: str
    id: int
    name: str
    usd: Decimal
    tx_fee: Decimal
    min_conf: int
    lendable: bool


def _c(code: str, cid: int, name: str, usd: str, fee: str, conf: int, lend: bool) -> Currency:
    return Currency(code, cid, name, Decimal(usd), Decimal(fee), conf, lend)


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        _c("1CR", 1, "1CRedit", "0.01", "0.01000000", 3, False),
        _c("BTC", 28, "Bitcoin", "37000", "0.00050000", 1, True),
        _c("DOGE", 59, "Dogecoin", "0.08", "20.00000000", 6, True),
        _c("DASH", 60, "Dash", "30", "0.01000000", 6, True),
        _c("LTC", 125, "Litecoin", "70", "0.00100000", 4, True),
        _c("STR", 198, "Stellar", "0.12", "0.00001000", 1, True),
        _c("USDT", 214, "Tether USD", "1", "10.00000000", 2, True),
        _c("XMR", 240, "Monero", "160", "0.00010000", 6, True),
        _c("XRP", 243, "Ripple", "0.6", "0.25000000", 2, True),
        _c("ETH", 267, "Ethereum", "2000", "0.00500000", 30, True),
        _c("ETC", 283, "Ethereum Classic", "19", "0.01000000", 300, False),
        _c("ZEC", 286, "Zcash", "28", "0.00100000", 8, False),
        _c("BCH", 292, "Bitcoin Cash", "230", "0.00010000", 6, True),
        _c("EOS", 298, "EOS", "0.7", "0.10000000", 2, False),
        _c("USDC", 299, "USD Coin", "1", "5.00000000", 12, True),
        _c("ATOM", 313, "Cosmos", "9", "0.01000000", 2, False),
        _c("TRX", 315, "Tron", "0.1", "1.00000000", 2, False),
    )
}
"""Every listed currency by code."""

# Payment-id currencies share one exchange deposit address (spec §7.6).
SHARED_ADDRESS: dict[str, tuple[str, str]] = {
    "XMR": (
        "4JUdGzvrMFDWrUUwY3toJATSeNwjn54LkCnKBPRzDuhzi5vSepHfUckJNxRL2gjkNrSqtCoRU"
        "rEDAgRwsQvVCjZbRy5YQRrnZkB",
        "poloniexxmr",
    ),
    "STR": ("GCGNWKCJ3KHRLPM3TM6N7D3W5YKDJFL6A2YCXFXNMRTZ4Q66MEMZ6FI2", "poloniexstr"),
    "XRP": ("rwU8rAiE2eyEPz3sikfbHuqCuiAtdXqa2v", "poloniexxrp"),
}


class Pair(NamedTuple):
    """One market ``X_Y``: X prices it, Y is traded."""

    name: str
    id: int
    base: str  # X: rate and total are in it
    quote: str  # Y: amount is in it


PAIRS: dict[str, Pair] = {
    name: Pair(name, pid, *name.split("_"))
    for name, pid in (
        ("BTC_DASH", 24),
        ("BTC_DOGE", 27),
        ("BTC_LTC", 50),
        ("BTC_STR", 89),
        ("BTC_XMR", 114),
        ("BTC_XRP", 117),
        ("USDT_BTC", 121),
        ("USDT_LTC", 123),
        ("USDT_XMR", 126),
        ("USDT_XRP", 127),
        ("BTC_ETH", 148),
        ("USDT_ETH", 149),
        ("BTC_ETC", 171),
        ("ETH_ETC", 172),
        ("BTC_ZEC", 178),
        ("BTC_BCH", 189),
        ("USDC_BTC", 224),
        ("USDC_ETH", 225),
        ("USDC_USDT", 226),
        ("BTC_ATOM", 253),
        ("BTC_TRX", 263),
        ("USDC_TRX", 264),
        ("USDT_TRX", 265),
        ("TRX_ETH", 267),
    )
}
"""Every listed market by name (a selection of the exchange's, with its ids)."""

MARGIN_PAIRS: frozenset[str] = frozenset(
    {
        "BTC_DASH",
        "BTC_DOGE",
        "BTC_ETH",
        "BTC_LTC",
        "BTC_STR",
        "BTC_XMR",
        "BTC_XRP",
        "BTC_BCH",
        "USDT_BTC",
    }
)
"""Markets open to margin trading."""

# The smallest order total per pricing currency X ("Total must be at least N.").
MIN_TOTAL: dict[str, Decimal] = {
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.0001"),
    "USDT": Decimal("1"),
    "USDC": Decimal("1"),
    "TRX": Decimal("10"),
    "XMR": Decimal("0.0001"),
}

DEFAULT_BALANCES: dict[str, Decimal] = {
    "BTC": Decimal("10"),
    "ETH": Decimal("200"),
    "USDT": Decimal("100000"),
    "USDC": Decimal("50000"),
    "LTC": Decimal("500"),
    "XMR": Decimal("300"),
    "XRP": Decimal("50000"),
    "DOGE": Decimal("1000000"),
    "TRX": Decimal("500000"),
}
"""Each key's starting exchange-account balances unless ``balances=`` says otherwise."""


def ref_price(pair: Pair) -> Decimal:
    """The reference mid price of ``pair``: USD value of Y over USD value of X, 8 places."""
    return q8(CURRENCIES[pair.quote].usd / CURRENCIES[pair.base].usd)
