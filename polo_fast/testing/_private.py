"""Handlers of the private account and order commands (spec §8.2-§8.4).

Each handler takes the market, the caller's account and the validated parameters (wire
names; decimals as ``Decimal``, integers as ``int``, flags as ``True``) and returns the JSON
value to send, or raises :class:`ApiError`. Margin and lending live in ``_margin.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from polo_fast.testing._book import Order, Trade, dt
from polo_fast.testing._errors import NOT_YOURS, ORDER_NOT_FOUND, ApiError, invalid
from polo_fast.testing._market import Account, Market
from polo_fast.testing._refdata import (
    CURRENCIES,
    MAKER_FEE,
    PAIRS,
    SHARED_ADDRESS,
    TAKER_FEE,
    ZERO,
    fmt,
)

__all__ = ["HANDLERS", "Handler", "btc_value", "fill_row", "order_row"]

Params = dict[str, Any]
Handler = Callable[[Market, Account, Params], Any]
HANDLERS: dict[str, Handler] = {}

_DAY = 86_400
_withdrawal_ids = itertools.count(11_000_001)


def _handler(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return deco


def btc_value(currency: str, amount: Decimal) -> Decimal:
    """Estimated BTC value of ``amount`` of ``currency`` at reference prices."""
    return amount * CURRENCIES[currency].usd / CURRENCIES["BTC"].usd


# -- row formats -------------------------------------------------------------------------------
def fill_row(trade: Trade) -> dict[str, str]:
    """A fill as buy/sell/move/close report it in ``resultingTrades``."""
    return {
        "amount": fmt(trade.amount),
        "date": dt(trade.ts),
        "rate": fmt(trade.rate),
        "total": fmt(trade.total),
        "tradeID": str(trade.trade_id),
        "type": trade.type,
    }


def order_row(order: Order) -> dict[str, Any]:
    """An open order as ``returnOpenOrders`` lists it."""
    return {
        "orderNumber": str(order.number),
        "type": order.side,
        "rate": fmt(order.rate),
        "startingAmount": fmt(order.starting),
        "amount": fmt(order.amount),
        "total": fmt(order.rate * order.amount),
        "date": dt(order.created),
        "margin": int(order.margin),
        **(
            {"clientOrderId": str(order.client_order_id)}
            if order.client_order_id is not None
            else {}
        ),
    }


def _own_row(trade: Trade, order: Order) -> dict[str, Any]:
    return {
        "globalTradeID": trade.global_id,
        "tradeID": str(trade.trade_id),
        "date": dt(trade.ts),
        "rate": fmt(trade.rate),
        "amount": fmt(trade.amount),
        "total": fmt(trade.total),
        "fee": fmt(TAKER_FEE if order is trade.taker else MAKER_FEE),
        "orderNumber": str(order.number),
        "type": order.side,
        "category": "marginTrade" if order.margin else "exchange",
    }


def _window(p: Params, default_span: int) -> tuple[float, float]:
    end = float(p.get("end", time.time()))
    start = float(p.get("start", end - default_span))
    return start, end


# -- balances, addresses, deposits (§8.2) ------------------------------------------------------
@_handler("returnBalances")
def _balances(m: Market, a: Account, p: Params) -> Any:
    return {c: fmt(v) for c, v in a.exchange.items()}


def on_orders(a: Account) -> dict[str, Decimal]:
    """Funds each currency holds in open orders."""
    held = dict.fromkeys(CURRENCIES, ZERO)
    for order in a.orders.values():
        info = PAIRS[order.pair]
        held[info.base if order.side == "buy" else info.quote] += order.reserved
    return held


@_handler("returnCompleteBalances")
def _complete(m: Market, a: Account, p: Params) -> Any:
    held = on_orders(a)
    everything = p.get("account") == "all"
    out = {}
    for cur, avail in a.exchange.items():
        if everything:
            avail = avail + a.margin[cur] + a.lending[cur]
        out[cur] = {
            "available": fmt(avail),
            "onOrders": fmt(held[cur]),
            "btcValue": fmt(btc_value(cur, avail + held[cur])),
        }
    return out


def _addresses(a: Account) -> dict[str, str]:
    found = a.extra.get("addresses")
    if found is None:
        found = {c: _new_address(a.key, c, 0) for c in ("BTC", "ETH", "LTC", "USDT", "XMR")}
        a.extra["addresses"] = found
    assert isinstance(found, dict)
    return found


def _new_address(key: str, currency: str, n: int) -> str:
    digest = hashlib.sha256(f"{key}:{currency}:{n}".encode()).hexdigest()
    if currency in SHARED_ADDRESS:  # a payment id to use with the shared address
        return str(int(digest[:15], 16))
    if currency in ("ETH", "USDT", "ETC", "USDC"):
        return "0x" + digest[:40]
    return "1" + digest[:33]


@_handler("returnDepositAddresses")
def _deposit_addresses(m: Market, a: Account, p: Params) -> Any:
    return dict(_addresses(a))


@_handler("generateNewAddress")
def _generate(m: Market, a: Account, p: Params) -> Any:
    addresses = _addresses(a)
    count = int(str(a.extra.get("generated", 0))) + 1
    a.extra["generated"] = count
    addresses[p["currency"]] = _new_address(a.key, p["currency"], count)
    return {"success": 1, "response": addresses[p["currency"]]}


@_handler("returnDepositsWithdrawals")
def _deposits(m: Market, a: Account, p: Params) -> Any:
    start, end = p["start"], p["end"]
    funded = int(m.start) - _DAY
    deposits = [
        {
            "depositNumber": 9_000_000 + CURRENCIES[c].id,
            "currency": c,
            "address": _new_address(a.key, c, 0),
            "amount": fmt(v),
            "confirmations": CURRENCIES[c].min_conf,
            "txid": hashlib.sha256(f"{a.key}{c}".encode()).hexdigest(),
            "timestamp": funded,
            "status": "COMPLETE",
        }
        for c, v in m.start_balances.items()
        if v > 0 and start <= funded <= end
    ]
    withdrawals = [w for w in _withdrawals(a) if start <= w["timestamp"] <= end]
    return {"deposits": deposits, "withdrawals": withdrawals, "adjustments": []}


def _withdrawals(a: Account) -> list[dict[str, Any]]:
    found = a.extra.setdefault("withdrawals", [])
    assert isinstance(found, list)
    return found


# -- orders (§8.3) -----------------------------------------------------------------------------
@_handler("returnOpenOrders")
def _open_orders(m: Market, a: Account, p: Params) -> Any:
    pair = p["currencyPair"]
    if pair == "all":
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in PAIRS}
        for order in a.orders.values():
            out[order.pair].append(order_row(order))
        return out
    return [order_row(o) for o in a.orders.values() if o.pair == pair]


@_handler("returnTradeHistory")
def _trade_history(m: Market, a: Account, p: Params) -> Any:
    start, end = _window(p, _DAY)
    limit = p.get("limit", 500)
    pair = p["currencyPair"]
    rows: Iterable[tuple[Trade, Order]] = (
        (t, o)
        for t, o in reversed(a.trades)
        if start <= t.ts <= end and (pair == "all" or t.pair == pair)
    )
    chosen = list(itertools.islice(rows, limit))
    if pair != "all":
        return [_own_row(t, o) for t, o in chosen]
    out: dict[str, list[dict[str, Any]]] = {}
    for t, o in chosen:
        out.setdefault(t.pair, []).append(_own_row(t, o))
    return out


@_handler("returnOrderTrades")
def _order_trades(m: Market, a: Account, p: Params) -> Any:
    order = a.history.get(p["orderNumber"])
    if order is None or not order.fills:
        raise ApiError(ORDER_NOT_FOUND)
    return [
        {
            "globalTradeID": t.global_id,
            "tradeID": t.trade_id,
            "currencyPair": t.pair,
            "type": order.side,
            "rate": fmt(t.rate),
            "amount": fmt(t.amount),
            "total": fmt(t.total),
            "fee": fmt(TAKER_FEE if order is t.taker else MAKER_FEE),
            "date": dt(t.ts),
        }
        for t in order.fills
    ]


@_handler("returnOrderStatus")
def _order_status(m: Market, a: Account, p: Params) -> Any:
    order = a.orders.get(p["orderNumber"])
    if order is None:
        raise ApiError(ORDER_NOT_FOUND, success=0)
    return {
        "result": {
            str(order.number): {
                "status": "Partially filled" if order.fills else "Open",
                "rate": fmt(order.rate),
                "amount": fmt(order.amount),
                "currencyPair": order.pair,
                "date": dt(order.created),
                "total": fmt(order.rate * order.amount),
                "type": order.side,
                "startingAmount": fmt(order.starting),
            }
        },
        "success": 1,
    }


def _place(side: str) -> Handler:
    def place(m: Market, a: Account, p: Params) -> Any:
        order, trades = m.place(
            a,
            p["currencyPair"],
            side,
            p["rate"],
            p["amount"],
            post_only="postOnly" in p,
            fill_or_kill="fillOrKill" in p,
            immediate_or_cancel="immediateOrCancel" in p,
            client_order_id=p.get("clientOrderId"),
        )
        out: dict[str, Any] = {
            "orderNumber": str(order.number),
            "resultingTrades": [fill_row(t) for t in trades],
            "fee": fmt(TAKER_FEE if trades else MAKER_FEE),
            "currencyPair": order.pair,
        }
        if order.client_order_id is not None:
            out["clientOrderId"] = str(order.client_order_id)
        return out

    return place


HANDLERS["buy"] = _place("buy")
HANDLERS["sell"] = _place("sell")


@_handler("cancelOrder")
def _cancel(m: Market, a: Account, p: Params) -> Any:
    if "orderNumber" in p:
        order = m.find_order(a, p["orderNumber"])
    else:
        found = a.by_client_id.get(p["clientOrderId"])
        if found is None:
            raise ApiError(NOT_YOURS)
        order = found
    amount = m.cancel(a, order)
    out: dict[str, Any] = {
        "success": 1,
        "amount": fmt(amount),
        "message": f"Order #{order.number} canceled.",
    }
    if order.client_order_id is not None:
        out["clientOrderId"] = str(order.client_order_id)
    return out


@_handler("cancelAllOrders")
def _cancel_all(m: Market, a: Account, p: Params) -> Any:
    now = time.monotonic()
    last = a.extra.get("cancel_all_at")
    if isinstance(last, float) and now - last < m.cancel_all_interval:
        raise ApiError("You may only call cancelAllOrders once every 2 minutes.")
    a.extra["cancel_all_at"] = now
    pair = p.get("currencyPair")
    numbers = []
    for order in [o for o in a.orders.values() if pair is None or o.pair == pair]:
        m.cancel(a, order)
        numbers.append(order.number)
    return {"success": 1, "message": "Orders canceled", "orderNumbers": numbers}


@_handler("moveOrder")
def _move(m: Market, a: Account, p: Params) -> Any:
    try:
        old = m.find_order(a, p["orderNumber"])
        order, trades = m.move(
            a,
            old,
            p["rate"],
            p.get("amount"),
            post_only="postOnly" in p,
            immediate_or_cancel="immediateOrCancel" in p,
            client_order_id=p.get("clientOrderId"),
        )
    except ApiError as exc:
        exc.extra.setdefault("success", 0)
        raise
    out: dict[str, Any] = {
        "success": 1,
        "orderNumber": str(order.number),
        "resultingTrades": {order.pair: [fill_row(t) for t in trades]},
    }
    if order.client_order_id is not None:
        out["clientOrderId"] = str(order.client_order_id)
    return out


@_handler("withdraw")
def _withdraw(m: Market, a: Account, p: Params) -> Any:
    cur, amount = p["currency"], p["amount"]
    fee = CURRENCIES[cur].tx_fee
    if amount <= fee:
        raise invalid("amount")
    if "currencyToWithdrawAs" in p and cur != "USDT":
        raise invalid("currencyToWithdrawAs")
    if not p["address"].strip():
        raise invalid("address")
    if a.exchange[cur] < amount:
        raise ApiError(f"Not enough {cur}.")
    a.exchange[cur] -= amount
    number = next(_withdrawal_ids)
    txid = hashlib.sha256(f"{a.key}:{number}".encode()).hexdigest()
    _withdrawals(a).append(
        {
            "withdrawalNumber": number,
            "currency": cur,
            "address": p["address"],
            "amount": fmt(amount),
            "fee": fmt(fee),
            "timestamp": int(time.time()),
            "status": f"COMPLETE: {txid}",
            "ipAddress": "127.0.0.1",
            "paymentID": p.get("paymentId"),
        }
    )
    return {"response": f"Withdrew {fmt(amount)} {cur}.", "withdrawalNumber": number}


# -- fees and accounts (§8.4) ------------------------------------------------------------------
@_handler("returnFeeInfo")
def _fee_info(m: Market, a: Account, p: Params) -> Any:
    volume = sum((btc_value(PAIRS[t.pair].base, t.total) for t, _ in a.trades), ZERO)
    return {
        "makerFee": fmt(MAKER_FEE),
        "takerFee": fmt(TAKER_FEE),
        "marginMakerFee": fmt(MAKER_FEE),
        "marginTakerFee": fmt(TAKER_FEE),
        "thirtyDayVolume": fmt(volume),
        "nextTier": 600000,
    }


@_handler("returnAvailableAccountBalances")
def _available(m: Market, a: Account, p: Params) -> Any:
    names = (p["account"],) if "account" in p else ("exchange", "margin", "lending")
    out = {}
    for name in names:
        held = {c: fmt(v) for c, v in a.wallet(name).items() if v > 0}
        if held:
            out[name] = held
    return out


@_handler("transferBalance")
def _transfer(m: Market, a: Account, p: Params) -> Any:
    cur, amount, src, dst = p["currency"], p["amount"], p["fromAccount"], p["toAccount"]
    if src == dst:
        raise invalid("toAccount")
    if amount <= 0:
        raise invalid("amount")
    if a.wallet(src)[cur] < amount:
        raise ApiError(f"Not enough {cur}.")
    a.wallet(src)[cur] -= amount
    a.wallet(dst)[cur] += amount
    return {
        "success": 1,
        "message": f"Transferred {fmt(amount)} {cur} from {src} to {dst} account.",
    }
