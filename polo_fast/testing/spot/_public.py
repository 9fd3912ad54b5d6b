"""Handlers of the Spot API's public endpoints (spec §3.1, §3.2), from the stand-in's books.

Numbers are JSON strings, times ms integers; order-book sides are flat ``[p, q, p, q, ...]``
lists. Prices come from the seeded books, so the same seed gives the same market. Also
``FUTURES_INSTRUMENTS``: the futures product list (``GET /v3/market/allInstruments``) that
ccxt's ``load_markets()`` asks the same host for; the stand-in lists no futures.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from polo_fast.testing._refdata import CURRENCIES, ZERO, Currency, fmt
from polo_fast.testing.spot._errors import BAD_PARAM, SpotError
from polo_fast.testing.spot._market import AMOUNT_DECIMALS, MARKETS, TRADABLE_SINCE_MS, decimals
from polo_fast.testing.spot._routes import plain_decimal
from polo_fast.testing.spot._venue import Handler, Params, Venue, handler

__all__ = ["FUTURES_INSTRUMENTS", "ticker"]

FUTURES_INSTRUMENTS: dict[str, Any] = {"code": "200", "msg": "Success", "data": []}
_INTERVAL_MS = {"MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000, "WEEK": 604_800_000}


def _rng(v: Venue, *parts: object) -> random.Random:
    return random.Random(zlib.crc32(repr((v.seed, *parts)).encode()))


def _currency(code: str) -> Currency:
    cur = CURRENCIES.get(code)
    if cur is None:
        raise SpotError(BAD_PARAM, detail="currency")
    return cur


@handler("markets", "market")
def _markets(v: Venue, key: str, p: Params) -> Any:
    if "symbol" in p:
        return [v.books.market(p["symbol"]).info()]
    return [m.info() for m in MARKETS.values()]


def _currency_v1(c: Currency) -> dict[str, Any]:
    return {
        c.code: {
            "id": c.id, "name": c.name, "description": "BTC Clone", "type": "address",
            "withdrawalFee": fmt(c.tx_fee), "minConf": c.min_conf, "depositAddress": None,
            "blockchain": c.code, "delisted": False, "tradingState": "NORMAL",
            "walletState": "ENABLED", "parentChain": None, "isMultiChain": False,
            "isChildChain": False, "childChains": [],
        }
    }  # fmt: skip


def _currency_v2(c: Currency) -> dict[str, Any]:
    network = {
        "id": c.id, "coin": c.code, "name": c.name, "currencyType": "address",
        "blockchain": c.code, "withdrawalEnable": True, "depositEnable": True,
        "depositAddress": None, "withdrawMin": fmt(c.tx_fee * 2), "decimals": 8,
        "withdrawFee": fmt(c.tx_fee), "minConfirm": c.min_conf, "contractAddress": None,
    }  # fmt: skip
    return {
        "id": c.id, "coin": c.code, "delisted": False, "tradeEnable": True, "name": c.name,
        "networkList": [network], "supportCollateral": c.lendable, "supportBorrow": c.lendable,
    }  # fmt: skip


def _one_or_all(row: Callable[[Currency], Any]) -> Handler:
    """The handler of a currency listing: ``row`` of the one asked for, or of every one."""

    def listing(v: Venue, key: str, p: Params) -> Any:
        if "currency" in p:
            return row(_currency(p["currency"]))
        return [row(c) for c in CURRENCIES.values()]

    return listing


handler("currencies", "currency")(_one_or_all(_currency_v1))
handler("currencies_v2", "currency_v2")(_one_or_all(_currency_v2))


@handler("server_time")
def _server_time(v: Venue, key: str, p: Params) -> Any:
    return {"serverTime": v.clock()}


def _price(v: Venue, symbol: str) -> dict[str, Any]:
    now = v.clock()
    change = Decimal(_rng(v, "change", symbol).randint(-500, 500)) / 10_000
    return {"symbol": symbol, "price": fmt(v.books.mid(symbol)), "time": now,
            "dailyChange": str(change), "ts": now}  # fmt: skip


@handler("prices", "price")
def _prices(v: Venue, key: str, p: Params) -> Any:
    if "symbol" in p:
        return _price(v, v.books.market(p["symbol"]).symbol)
    return [_price(v, s) for s in MARKETS]


@handler("mark_prices", "mark_price", "mark_price_components")
def _mark(v: Venue, key: str, p: Params) -> Any:
    symbols = [v.books.market(p["symbol"]).symbol] if "symbol" in p else list(MARKETS)
    now = v.clock()
    out = [{"symbol": s, "markPrice": fmt(v.books.mid(s)), "time": now} for s in symbols]
    if "symbol" not in p:
        return out
    one = out[0]
    one["components"] = [
        {"symbol": one["symbol"], "exchange": "POLONIEX", "symbolPrice": one["markPrice"],
         "weight": "1", "convertPrice": one["markPrice"]}
    ]  # fmt: skip
    return one


def _scale(text: str) -> Decimal:
    """``orderBook``'s ``scale`` (price grouping): a plain decimal above 0 with at most 8
    decimal places, else 601."""
    value = plain_decimal(text)
    if value is None or value <= 0 or decimals(value) > AMOUNT_DECIMALS:
        raise SpotError(BAD_PARAM, detail="scale")
    return value


def _grouped(
    levels: list[list[str | float]], scale: Decimal, up: bool
) -> list[tuple[Decimal, Decimal]]:
    """``levels`` (best first) summed into buckets of ``scale``: asks round up, bids down."""
    out: dict[Decimal, Decimal] = {}
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    for price, size in levels:
        bucket = (Decimal(str(price)) / scale).to_integral_value(rounding) * scale
        out[bucket] = out.get(bucket, ZERO) + Decimal(repr(size))
    return list(out.items())


@handler("order_book")
def _order_book(v: Venue, key: str, p: Params) -> Any:
    book = v.books.book(v.books.market(p["symbol"]).symbol)
    depth = int(p.get("limit", 10))
    scale = _scale(p["scale"]) if "scale" in p else None
    now = v.clock()
    sides = {}
    for side, name in (("sell", "asks"), ("buy", "bids")):
        flat: list[str] = []
        if scale is None:
            for price, size in book.levels(side, depth):
                flat += [str(price), str(Decimal(repr(size)))]
        else:  # every level, then grouped: a bucket may gather many of them
            grouped = _grouped(book.levels(side, 1 << 30), scale, side == "sell")
            for bucket, total in grouped[:depth]:
                flat += [str(bucket.quantize(scale)), str(total)]
        sides[name] = flat
    return {"time": now, "scale": p.get("scale", "0.01"), **sides, "ts": now}


@handler("candles")
def _candles(v: Venue, key: str, p: Params) -> Any:
    symbol = v.books.market(p["symbol"]).symbol
    unit, _, n = str(p["interval"]).partition("_")
    step = _INTERVAL_MS.get(unit, 2_592_000_000) * int(n)
    end = min(p.get("endTime", v.clock()), v.clock())
    count = min(int(p.get("limit", 100)), 500)
    mid = v.books.mid(symbol)
    rng = _rng(v, "candles", symbol, step)
    rows = []
    for i in range(count, 0, -1):
        start = (end // step - i + 1) * step
        if start < max(p.get("startTime", 0), TRADABLE_SINCE_MS):
            continue  # no candle before the window, nor before the market opened
        o, c = (mid * (1 + Decimal(rng.randint(-50, 50)) / 10_000) for _ in range(2))
        lo, hi = min(o, c) * Decimal("0.998"), max(o, c) * Decimal("1.002")
        qty = Decimal(rng.randint(1, 1000))
        amt = qty * mid
        rows.append([fmt(lo), fmt(hi), fmt(o), fmt(c), fmt(amt), fmt(qty), fmt(amt / 2),
                     fmt(qty / 2), rng.randint(1, 500), start + step - 1, fmt(mid),
                     p["interval"], start, start + step - 1])  # fmt: skip
    return rows


@handler("market_trades")
def _market_trades(v: Venue, key: str, p: Params) -> Any:
    book = v.books.book(v.books.market(p["symbol"]).symbol)
    trades = list(book.trades)[: int(p.get("limit", 500))]
    return [
        {"id": str(t.global_id), "price": fmt(t.rate), "quantity": fmt(t.amount),
         "amount": fmt(t.total), "takerSide": t.type.upper(), "ts": int(t.ts * 1000),
         "createTime": int(t.ts * 1000)}
        for t in trades
    ]  # fmt: skip


def ticker(v: Venue, symbol: str) -> dict[str, Any]:
    """The 24 h ticker of ``symbol`` (``GET /markets/{symbol}/ticker24h``, the ``ticker`` feed)."""
    book = v.books.book(symbol)
    price = _price(v, symbol)
    rng = _rng(v, "ticker", symbol)
    mid = book.mid()
    qty = Decimal(rng.randint(100, 100_000))
    bid, ask = book.best("buy") or ZERO, book.best("sell") or ZERO
    now = v.clock()
    return {
        "symbol": symbol, "open": fmt(mid), "low": fmt(mid * Decimal("0.97")),
        "high": fmt(mid * Decimal("1.03")), "close": fmt(mid), "quantity": fmt(qty),
        "amount": fmt(qty * mid), "tradeCount": rng.randint(100, 10_000),
        "startTime": now - 86_400_000, "closeTime": now,
        "displayName": symbol.replace("_", "/"), "dailyChange": price["dailyChange"],
        "bid": fmt(bid), "bidQuantity": "1", "ask": fmt(ask), "askQuantity": "1", "ts": now,
        "markPrice": fmt(mid),
    }  # fmt: skip


@handler("tickers", "ticker")
def _tickers(v: Venue, key: str, p: Params) -> Any:
    if "symbol" in p:
        return ticker(v, v.books.market(p["symbol"]).symbol)
    return [ticker(v, s) for s in MARKETS]


def _collateral(c: Currency) -> dict[str, Any]:
    return {"currency": c.code, "collateralRate": "0.9", "initialMarginRate": "0.1",
            "maintenanceMarginRate": "0.05"}  # fmt: skip


@handler("collateral_info", "currency_collateral_info")
def _collateral_info(v: Venue, key: str, p: Params) -> Any:
    if "currency" in p:
        return _collateral(_currency(p["currency"]))
    return [_collateral(c) for c in CURRENCIES.values() if c.lendable]


@handler("borrow_rates_info")
def _borrow_rates(v: Venue, key: str, p: Params) -> Any:
    rates = [
        {"currency": c.code, "dailyBorrowRate": "0.0002", "hourlyBorrowRate": "0.00000833",
         "borrowLimit": "1000000"}
        for c in CURRENCIES.values() if c.lendable
    ]  # fmt: skip
    return [{"tier": "TIER1", "rates": rates}]
