"""Handlers of the seven public commands (spec §7), answering from the stand-in's market.

Shapes follow the spec: s8 strings in the ticker, volumes and trades; order-book levels as
``[rate string, amount number]``; chart candles all numbers. Data derive from the seeded
books and the reference prices, so the same seed gives the same market.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polo_fast.testing._book import dt
from polo_fast.testing._errors import ApiError
from polo_fast.testing._market import Market
from polo_fast.testing._refdata import CURRENCIES, PAIRS, SHARED_ADDRESS, ZERO, fmt, ref_price

__all__ = ["HANDLERS"]

Params = dict[str, Any]
HANDLERS: dict[str, Callable[[Market, Params], Any]] = {}
_MAX_CANDLES = 5000


def _handler(
    name: str,
) -> Callable[[Callable[[Market, Params], Any]], Callable[[Market, Params], Any]]:
    def deco(fn: Callable[[Market, Params], Any]) -> Callable[[Market, Params], Any]:
        HANDLERS[name] = fn
        return fn

    return deco


def _rng(m: Market, *parts: object) -> random.Random:
    return random.Random(zlib.crc32(repr((m.seed, *parts)).encode()))


def _volume(m: Market, pair: str) -> tuple[Decimal, Decimal]:
    """24 h volume (X, Y) of ``pair``: seeded, plus what traded here since start."""
    rng = _rng(m, "volume", pair)
    info = PAIRS[pair]
    quote = Decimal(rng.randint(50_000, 5_000_000)) / CURRENCIES[info.quote].usd
    base = quote * ref_price(info)
    for t in m.book(pair).trades:
        if t.maker.number:  # a live trade, not seeded history
            base += t.total
            quote += t.amount
    return base, quote


@_handler("returnTicker")
def _ticker(m: Market, p: Params) -> Any:
    out = {}
    for name, info in PAIRS.items():
        book = m.book(name)
        rng = _rng(m, "ticker", name)
        last = book.trades[0].rate if book.trades else book.mid()
        base, quote = _volume(m, name)
        change = Decimal(rng.randint(-500, 500)) / 10_000
        out[name] = {
            "id": info.id,
            "last": fmt(last),
            "lowestAsk": fmt(book.best("sell") or ZERO),
            "highestBid": fmt(book.best("buy") or ZERO),
            "percentChange": fmt(change),
            "baseVolume": fmt(base),
            "quoteVolume": fmt(quote),
            "isFrozen": "0",
            "high24hr": fmt(last * Decimal("1.03")),
            "low24hr": fmt(last * Decimal("0.97")),
        }
    return out


@_handler("return24hVolume")
def _volume24(m: Market, p: Params) -> Any:
    out: dict[str, Any] = {}
    totals = dict.fromkeys(("BTC", "ETH", "USDT", "USDC", "XMR"), ZERO)
    for name, info in PAIRS.items():
        base, quote = _volume(m, name)
        out[name] = {info.base: fmt(base), info.quote: fmt(quote)}
        if info.base in totals:
            totals[info.base] += base
    out.update({f"total{c}": fmt(v) for c, v in totals.items()})
    return out


def _book(m: Market, pair: str, depth: int) -> dict[str, Any]:
    book = m.book(pair)
    return {
        "asks": book.levels("sell", depth),
        "bids": book.levels("buy", depth),
        "isFrozen": "0",
        "seq": book.seq,
    }


@_handler("returnOrderBook")
def _order_book(m: Market, p: Params) -> Any:
    depth = p.get("depth", 50)
    if p["currencyPair"] == "all":
        return {name: _book(m, name, depth) for name in PAIRS}
    return _book(m, p["currencyPair"], depth)


@_handler("returnTradeHistory")
def _trades(m: Market, p: Params) -> Any:
    trades = m.book(p["currencyPair"]).trades
    if "start" in p or "end" in p:
        start, end = p.get("start", 0), p.get("end", 2**63)
        if start > end:
            raise ApiError("Invalid end time.")
        chosen = [t for t in trades if start <= t.ts <= end][:1000]
    else:
        chosen = list(trades)[:200]
    return [
        {
            "globalTradeID": t.global_id,
            "tradeID": t.trade_id,
            "date": dt(t.ts),
            "type": t.type,
            "rate": fmt(t.rate),
            "amount": fmt(t.amount),
            "total": fmt(t.total),
        }
        for t in chosen
    ]


@_handler("returnChartData")
def _chart(m: Market, p: Params) -> Any:
    period, start, end = p["period"], p["start"], p["end"]
    if end < start:
        raise ApiError("Invalid end time.")
    first = start - start % period + (period if start % period else 0)
    if (end - first) // period + 1 > _MAX_CANDLES:
        first = end - end % period - (_MAX_CANDLES - 1) * period
    info = PAIRS[p["currencyPair"]]
    mid = float(ref_price(info))
    y_usd = float(CURRENCIES[info.quote].usd)
    out = []
    for date in range(first, end + 1, period):
        rng = _rng(m, "candle", info.name, period, date)
        open_ = mid * (1 + rng.uniform(-0.02, 0.02))
        close = open_ * (1 + rng.uniform(-0.01, 0.01))
        high = max(open_, close) * (1 + rng.uniform(0, 0.005))
        low = min(open_, close) * (1 - rng.uniform(0, 0.005))
        quote = rng.uniform(10_000, 500_000) / y_usd * period / 86_400
        wavg = (high + low + close) / 3
        out.append(
            {
                "date": date,
                "high": round(high, 8),
                "low": round(low, 8),
                "open": round(open_, 8),
                "close": round(close, 8),
                "volume": round(quote * wavg, 8),
                "quoteVolume": round(quote, 8),
                "weightedAverage": round(wavg, 8),
            }
        )
    return out


@_handler("returnCurrencies")
def _currencies(m: Market, p: Params) -> Any:
    out = {}
    for code, c in CURRENCIES.items():
        row: dict[str, Any] = {
            "id": c.id,
            "name": c.name,
            "txFee": fmt(c.tx_fee),
            "minConf": c.min_conf,
            "depositAddress": None,
            "disabled": 0,
            "delisted": 0,
            "frozen": 0,
        }
        if code in SHARED_ADDRESS:
            row["depositAddress"] = SHARED_ADDRESS[code][0]
            row["mainAccount"] = SHARED_ADDRESS[code][1]
        out[code] = row
    return out


@_handler("returnLoanOrders")
def _loan_orders(m: Market, p: Params) -> Any:
    cur = CURRENCIES[p["currency"]]
    if not cur.lendable:
        return {"offers": [], "demands": []}
    rng = _rng(m, "loans", cur.code)
    amount = Decimal(1000) / cur.usd

    def rows(n: int, low: int, high: int, reverse: bool) -> list[dict[str, Any]]:
        rates = sorted(
            (Decimal(rng.randint(low, high)) / 1_000_000 for _ in range(n)), reverse=reverse
        )
        out = []
        for rate in rates:
            lo = rng.randint(2, 30)
            out.append(
                {
                    "rate": fmt(rate),
                    "amount": fmt(amount * rng.randint(1, 50)),
                    "rangeMin": lo,
                    "rangeMax": rng.randint(lo, 60),
                }
            )
        return out

    return {"offers": rows(12, 90, 400, False), "demands": rows(8, 20, 89, True)}
