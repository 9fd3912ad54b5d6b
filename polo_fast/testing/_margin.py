"""Handlers of the margin and lending commands (spec §8.4-§8.6).

Margin orders match against the same books as exchange orders and settle into a position
per market (``_market.Position``); collateral is the margin account at 2.5x leverage.
Lending offers reserve the lending account; each key starts with two provided loans and a
seeded lending history, so every read command has plausible, consistent rows.
"""

from __future__ import annotations

import itertools
import random
import time
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polo_fast.testing._book import dt
from polo_fast.testing._errors import ApiError, invalid
from polo_fast.testing._market import Account, Market
from polo_fast.testing._private import btc_value, fill_row
from polo_fast.testing._refdata import (
    CURRENCIES,
    LEVERAGE,
    MARGIN_PAIRS,
    PAIRS,
    ZERO,
    fmt,
    q8,
)

__all__ = ["HANDLERS"]

Params = dict[str, Any]
Handler = Callable[[Market, Account, Params], Any]
HANDLERS: dict[str, Handler] = {}
_loan_ids = itertools.count(910_000_001)
_NOT_MARGIN = "Margin trading is not enabled for this market."


def _handler(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return deco


# -- margin (§8.4, §8.5) -----------------------------------------------------------------------
@_handler("returnTradableBalances")
def _tradable(m: Market, a: Account, p: Params) -> Any:
    out = {}
    for name in sorted(MARGIN_PAIRS):
        info = PAIRS[name]
        power = a.margin[info.base] * LEVERAGE
        out[name] = {info.base: fmt(power), info.quote: fmt(power / m.book(name).mid())}
    return out


def _position(m: Market, a: Account, pair: str) -> dict[str, Any]:
    pos = a.positions.get(pair)
    if pos is None or not pos.amount:
        return {
            "amount": fmt(ZERO),
            "total": fmt(ZERO),
            "basePrice": fmt(ZERO),
            "liquidationPrice": -1,
            "pl": fmt(ZERO),
            "lendingFees": fmt(ZERO),
            "type": "none",
        }
    mark = m.book(pair).mid()
    base = pos.base_price
    collateral = a.margin[PAIRS[pair].base]
    # Liquidated when the loss eats 80 % of the collateral.
    liq = base - collateral * Decimal("0.8") / pos.amount
    pl = (mark - base) * pos.amount
    return {
        "amount": _signed(pos.amount),
        "total": _signed(pos.amount * mark),
        "basePrice": fmt(base),
        "liquidationPrice": fmt(liq) if liq > 0 else -1,
        "pl": _signed(pl),
        "lendingFees": fmt(ZERO),
        "type": "long" if pos.amount > 0 else "short",
    }


def _signed(v: Decimal) -> str:
    return fmt(v) if v >= 0 else "-" + fmt(-v)


@_handler("returnMarginAccountSummary")
def _summary(m: Market, a: Account, p: Params) -> Any:
    total = sum((btc_value(c, v) for c, v in a.margin.items()), ZERO)
    pl = ZERO
    borrowed = ZERO
    for pair, pos in a.positions.items():
        if pos.amount:
            mark = m.book(pair).mid()
            base_cur = PAIRS[pair].base
            pl += btc_value(base_cur, (mark - pos.base_price) * pos.amount)
            borrowed += btc_value(base_cur, abs(pos.amount) * mark)
    net = total + pl
    current = net / borrowed if borrowed else Decimal(1)
    return {
        "totalValue": fmt(total),
        "pl": _signed(pl),
        "lendingFees": fmt(ZERO),
        "netValue": _signed(net),
        "totalBorrowedValue": fmt(borrowed),
        "currentMargin": fmt(current),
    }


def _margin_order(side: str) -> Handler:
    def place(m: Market, a: Account, p: Params) -> Any:
        pair = p["currencyPair"]
        if pair not in MARGIN_PAIRS:
            raise ApiError(_NOT_MARGIN)
        lending_rate = p.get("lendingRate", Decimal("0.02"))
        if lending_rate <= 0:
            raise invalid("lendingRate")
        if lending_rate > Decimal("0.05"):
            raise ApiError("Rate must be less than 0.05.")
        order, trades = m.place(
            a,
            pair,
            side,
            p["rate"],
            p["amount"],
            client_order_id=p.get("clientOrderId"),
            margin=True,
        )
        out: dict[str, Any] = {
            "success": 1,
            "message": "Margin order placed.",
            "orderNumber": str(order.number),
            "resultingTrades": [fill_row(t) for t in trades],
        }
        if order.client_order_id is not None:
            out["clientOrderId"] = str(order.client_order_id)
        return out

    return place


HANDLERS["marginBuy"] = _margin_order("buy")
HANDLERS["marginSell"] = _margin_order("sell")


@_handler("getMarginPosition")
def _get_position(m: Market, a: Account, p: Params) -> Any:
    pair = p["currencyPair"]
    if pair == "all":
        return {name: _position(m, a, name) for name in sorted(MARGIN_PAIRS)}
    if pair not in MARGIN_PAIRS:
        raise ApiError(_NOT_MARGIN)
    return _position(m, a, pair)


@_handler("closeMarginPosition")
def _close(m: Market, a: Account, p: Params) -> Any:
    pair = p["currencyPair"]
    if pair not in MARGIN_PAIRS:
        raise ApiError(_NOT_MARGIN)
    trades = m.market_close(a, pair)
    if not trades:
        return {
            "success": 1,
            "message": "You do not have an open position in this market.",
            "resultingTrades": [],
        }
    return {
        "success": 1,
        "message": "Successfully closed margin position.",
        "resultingTrades": {pair: [fill_row(t) for t in trades]},
    }


# -- lending (§8.6) ----------------------------------------------------------------------------
def _lending(m: Market, a: Account) -> dict[str, Any]:
    state = a.extra.get("lending")
    if state is None:
        rng = random.Random(zlib.crc32(f"{m.seed}:{a.key}".encode()))
        now = time.time()
        loans = [
            {
                "id": next(_loan_ids),
                "currency": cur,
                "rate": q8(Decimal(rate)),
                "amount": amount,
                "range": 2,
                "autoRenew": 0,
                "date": now - 3600 * (i + 1),
            }
            for i, (cur, rate, amount) in enumerate(
                (("BTC", "0.00020000", Decimal("0.5")), ("USDT", "0.00035000", Decimal("750")))
            )
        ]
        history = []
        for _ in range(30):
            close = now - rng.uniform(3600, 30 * 86_400)
            days = Decimal(rng.randint(150, 200_000)) / 100_000
            amount = Decimal(rng.randint(10, 10_000)) / 10_000
            rate = Decimal(rng.randint(50, 500)) / 1_000_000
            interest = q8(amount * rate * days)
            fee = q8(interest * Decimal("0.15"))
            history.append(
                {
                    "id": next(_loan_ids),
                    "currency": "BTC",
                    "rate": fmt(rate),
                    "amount": fmt(amount),
                    "duration": fmt(days),
                    "interest": fmt(interest),
                    "fee": "-" + fmt(fee),
                    "earned": fmt(interest - fee),
                    "open": dt(close - float(days) * 86_400),
                    "close": dt(close),
                    "_ts": close,
                }
            )
        history.sort(key=lambda h: -float(str(h["_ts"])))
        state = a.extra["lending"] = {"offers": {}, "loans": loans, "history": history}
    assert isinstance(state, dict)
    return state


@_handler("createLoanOffer")
def _create_offer(m: Market, a: Account, p: Params) -> Any:
    cur, amount, rate = p["currency"], p["amount"], p["lendingRate"]
    if not CURRENCIES[cur].lendable:
        raise invalid("currency")
    if amount <= 0:
        raise invalid("amount")
    if rate <= 0:
        raise invalid("lendingRate")
    if rate > Decimal("0.05"):
        raise ApiError("Rate must be less than 0.05.")
    if a.lending[cur] < amount:
        raise ApiError(f"Not enough {cur} available to offer.")
    a.lending[cur] -= amount
    number = m.next_number()
    _lending(m, a)["offers"][number] = {
        "id": number,
        "currency": cur,
        "rate": rate,
        "amount": amount,
        "duration": p["duration"],
        "autoRenew": p["autoRenew"],
        "date": time.time(),
    }
    return {"success": 1, "message": "Loan order placed.", "orderID": number}


@_handler("cancelLoanOffer")
def _cancel_offer(m: Market, a: Account, p: Params) -> Any:
    offer = _lending(m, a)["offers"].pop(p["orderNumber"], None)
    if offer is None:
        raise ApiError("Error canceling loan order, or you are not the person who placed it.")
    a.lending[offer["currency"]] += offer["amount"]
    return {"success": 1, "message": "Loan offer canceled.", "amount": fmt(offer["amount"])}


@_handler("returnOpenLoanOffers")
def _open_offers(m: Market, a: Account, p: Params) -> Any:
    out: dict[str, list[dict[str, Any]]] = {}
    for o in _lending(m, a)["offers"].values():
        out.setdefault(o["currency"], []).append(
            {
                "id": o["id"],
                "rate": fmt(o["rate"]),
                "amount": fmt(o["amount"]),
                "duration": o["duration"],
                "autoRenew": o["autoRenew"],
                "date": dt(o["date"]),
            }
        )
    return out or []


@_handler("returnActiveLoans")
def _active(m: Market, a: Account, p: Params) -> Any:
    now = time.time()
    provided = [
        {
            "id": x["id"],
            "currency": x["currency"],
            "rate": fmt(x["rate"]),
            "amount": fmt(x["amount"]),
            "range": x["range"],
            "autoRenew": x["autoRenew"],
            "date": dt(x["date"]),
            "fees": fmt(x["amount"] * x["rate"] * Decimal((now - x["date"]) / 86_400)),
        }
        for x in _lending(m, a)["loans"]
    ]
    used = []
    for pair, pos in sorted(a.positions.items()):
        if pos.amount:
            info = PAIRS[pair]
            cur = info.base if pos.amount > 0 else info.quote
            amount = abs(pos.cost) if pos.amount > 0 else abs(pos.amount)
            used.append(
                {
                    "id": 800_000_000 + info.id,
                    "currency": cur,
                    "rate": "0.00020000",
                    "amount": fmt(amount),
                    "range": 2,
                    "date": dt(now),
                    "fees": fmt(ZERO),
                }
            )
    return {"provided": provided, "used": used}


@_handler("returnLendingHistory")
def _history(m: Market, a: Account, p: Params) -> Any:
    start, end = p["start"], p["end"]
    rows = [
        {k: v for k, v in h.items() if k != "_ts"}
        for h in _lending(m, a)["history"]
        if start <= h["_ts"] <= end
    ]
    return rows[: p["limit"]] if "limit" in p else rows


@_handler("toggleAutoRenew")
def _toggle(m: Market, a: Account, p: Params) -> Any:
    for loan in _lending(m, a)["loans"]:
        if loan["id"] == p["orderNumber"]:
            loan["autoRenew"] = 1 - loan["autoRenew"]
            return {"success": 1, "message": loan["autoRenew"]}
    raise ApiError("Error toggling autoRenew, or you are not the person who placed it.")
