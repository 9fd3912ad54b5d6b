"""Handlers of the Spot API's signed endpoints (spec §3.3 to §3.6).

Orders, cancels, the kill switch, balances and fills are real (``_orders.py``,
``_accounts.py``, ``_killswitch.py``). Transfers and withdrawals move the key's SPOT balance
and are listed back; smart orders are kept and listed but never trigger (they freeze no
funds until triggered, changelog 2023-03-31). Margin and sub-account answers are plausible
constants of the documented shapes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from polo_fast.testing._refdata import ZERO, fmt
from polo_fast.testing.spot._errors import (
    ACCOUNT_NOT_FOUND,
    BAD_PARAM,
    CID_EXISTS,
    ORDER_ID_LONG,
    ORDER_NOT_FOUND,
    SpotError,
)
from polo_fast.testing.spot._market import AMOUNT_DECIMALS, decimals
from polo_fast.testing.spot._orders import OPEN
from polo_fast.testing.spot._venue import Params, Venue, handler

__all__: list[str] = []

_TERMINAL_SMART = frozenset({"CANCELED"})


@handler("accounts", "subaccounts")
def _accounts(v: Venue, key: str, p: Params) -> Any:
    w = v.wallet(key)
    return [{"accountId": str(w.account_id), "accountType": "SPOT", "accountState": "NORMAL",
             "accountName": "primary", "isPrimary": "true"}]  # fmt: skip


def _own(v: Venue, key: str, account_id: str) -> dict[str, Any]:
    w = v.wallet(key)
    if account_id != str(w.account_id):
        raise SpotError(ACCOUNT_NOT_FOUND)
    return w.account()


@handler("balances", "subaccount_balances")
def _balances(v: Venue, key: str, p: Params) -> Any:
    return [v.wallet(key).account()]


@handler("account_balances", "subaccount_balance")
def _account_balances(v: Venue, key: str, p: Params) -> Any:
    return [_own(v, key, p["id"])]


@handler("account_activity", "interest_history")
def _nothing(v: Venue, key: str, p: Params) -> Any:
    return []


def _record(v: Venue, key: str, kind: str, p: Params) -> dict[str, Any]:
    """Move ``amount`` out of the SPOT account (a transfer or a withdrawal) and list it.

    ``amount`` must be above 0 and have at most 8 decimal places (changelog 2025-10-09 for
    transfers; reading: withdrawals too, every currency's ``decimals`` being 8), else 601
    (:meth:`Wallet.debit` refuses 0 and below).
    """
    amount: Decimal = p["amount"]
    if decimals(amount) > AMOUNT_DECIMALS:
        raise SpotError(BAD_PARAM, detail=f"amount has more than {AMOUNT_DECIMALS} decimals")
    currency = p.get("currency") or p["coin"]
    v.wallet(key).debit(currency, amount)
    row: dict[str, Any] = {k: str(x) for k, x in p.items()}
    row.update(id=str(next(v.ids)), currency=currency, amount=fmt(amount), state="SUCCESS")
    row["createTime"] = v.clock()
    v.transfers.setdefault(f"{kind}:{key}", []).append(row)
    return row


@handler("transfer", "subaccount_transfer")
def _transfer(v: Venue, key: str, p: Params) -> Any:
    # Funds leave the SPOT account (the other account is not modelled).
    return {"transferId": _record(v, key, "transfer", p)["id"]}


@handler("transfers", "subaccount_transfers")
def _transfers(v: Venue, key: str, p: Params) -> Any:
    rows = v.transfers.get(f"transfer:{key}", [])
    return rows[-int(p.get("limit", 100)) :][::-1]


@handler("get_transfer", "get_subaccount_transfer")
def _get_transfer(v: Venue, key: str, p: Params) -> Any:
    rows = [r for r in v.transfers.get(f"transfer:{key}", []) if r["id"] == p["id"]]
    if not rows:  # no "transfer not found" among the documented codes: the general 601
        raise SpotError(BAD_PARAM, detail="no such transfer id")
    return rows


@handler("fee_info")
def _fee_info(v: Venue, key: str, p: Params) -> Any:
    return {"trxDiscount": False, "makerRate": "0.001", "takerRate": "0.002", "volume30D": "0"}


@handler("account_margin")
def _account_margin(v: Venue, key: str, p: Params) -> Any:
    return {"totalAccountValue": "0", "totalMargin": "0", "usedMargin": "0", "freeMargin": "0",
            "maintenanceMargin": "0", "marginRatio": "0", "time": v.clock()}  # fmt: skip


@handler("borrow_status")
def _borrow_status(v: Venue, key: str, p: Params) -> Any:
    w = v.wallet(key)
    codes = [p["currency"]] if "currency" in p else sorted(w.available)
    return [{"currency": c, "available": fmt(w.available.get(c, ZERO)), "borrowed": "0",
             "hold": fmt(w.hold.get(c, ZERO)), "maxAvailable": "0", "hourlyBorrowRate": "0",
             "version": "1"} for c in codes]  # fmt: skip


@handler("max_size")
def _max_size(v: Venue, key: str, p: Params) -> Any:
    market = v.books.market(p["symbol"])
    w = v.wallet(key)
    buy = fmt(w.available.get(market.quote, ZERO))
    sell = fmt(w.available.get(market.base, ZERO))
    return {"symbol": market.symbol, "maxLeverage": 1, "availableBuy": buy,
            "maxAvailableBuy": buy, "availableSell": sell, "maxAvailableSell": sell}  # fmt: skip


def _address(key: str, currency: str) -> str:
    return f"{currency.lower()}1standin{abs(hash((key, currency))) % 10**12:012d}"


@handler("deposit_addresses", "deposit_address")
def _deposit_addresses(v: Venue, key: str, p: Params) -> Any:
    codes = [p["currency"]] if "currency" in p else sorted(v.wallet(key).available)
    return {c: _address(key, c) for c in codes}


@handler("new_deposit_address")
def _new_deposit_address(v: Venue, key: str, p: Params) -> Any:
    return {"address": _address(key, p["currency"])}


@handler("wallet_activity")
def _wallet_activity(v: Venue, key: str, p: Params) -> Any:
    rows = v.withdrawals.get(key, [])
    lo, hi = p["start"] * 1000, p["end"] * 1000 + 999
    return {"adjustments": [], "deposits": [],
            "withdrawals": [r for r in rows if lo <= r["timestamp"] <= hi]}  # fmt: skip


@handler("withdraw", "withdraw_v2")
def _withdraw(v: Venue, key: str, p: Params) -> Any:
    row = _record(v, key, "withdraw", p)
    v.withdrawals.setdefault(key, []).append(
        {"withdrawalRequestsId": int(row["id"]), "currency": row["currency"],
         "address": p["address"], "amount": row["amount"], "status": "COMPLETE",
         "timestamp": row["createTime"]}
    )  # fmt: skip
    if "coin" in p:
        return {"withdrawalRequestsId": int(row["id"])}
    return {"withdrawalNumber": int(row["id"])}


# -- orders ---------------------------------------------------------------------------------
@handler("create_order")
def _create_order(v: Venue, key: str, p: Params) -> Any:
    order = v.trading.create(key, p)
    return {"id": str(order.id), "clientOrderId": order.cid}


@handler("create_orders")
def _create_orders(v: Venue, key: str, p: Params) -> Any:
    out: list[dict[str, Any]] = []
    for item in p["orders"]:
        try:
            if isinstance(item, SpotError):
                raise item
            out.append(_create_order(v, key, item))
        except SpotError as exc:
            out.append(exc.body())
    return out


@handler("replace_order")
def _replace_order(v: Venue, key: str, p: Params) -> Any:
    order = v.trading.replace(key, p["id"], p)
    return {"id": str(order.id), "clientOrderId": order.cid}


@handler("open_orders")
def _open_orders(v: Venue, key: str, p: Params) -> Any:
    orders = [
        o.view()
        for o in v.trading.open_orders(key)
        if p.get("symbol", o.symbol) == o.symbol and p.get("side", o.side) == o.side
    ]
    return orders[: int(p.get("limit", 100))]


@handler("get_order")
def _get_order(v: Venue, key: str, p: Params) -> Any:
    return v.trading.find(key, p["id"]).view()


@handler("cancel_order")
def _cancel_order(v: Venue, key: str, p: Params) -> Any:
    return v.trading.cancel(v.trading.find(key, p["id"]))


@handler("cancel_orders")
def _cancel_orders(v: Venue, key: str, p: Params) -> Any:
    refs = [*p.get("orderIds", []), *(f"cid:{c}" for c in p.get("clientOrderIds", []))]
    out: list[dict[str, Any]] = []
    for ref in refs:
        try:
            out.append(v.trading.cancel(v.trading.find(key, ref)))
        except SpotError as exc:
            oid, cid = (ref, "") if not ref.startswith("cid:") else ("0", ref[4:])
            out.append({"orderId": oid, "clientOrderId": cid, "state": "FAILED", **exc.body()})
    return out


@handler("cancel_all_orders")
def _cancel_all_orders(v: Venue, key: str, p: Params) -> Any:
    return v.trading.cancel_all(key, p.get("symbols"))


@handler("kill_switch")
def _kill_switch(v: Venue, key: str, p: Params) -> Any:
    return v.kill.set(key, p["timeout"])


@handler("kill_switch_status")
def _kill_switch_status(v: Venue, key: str, p: Params) -> Any:
    return v.kill.status(key)


@handler("order_history")
def _order_history(v: Venue, key: str, p: Params) -> Any:
    states = p.get("states")
    rows = [
        o.view()
        for o in reversed(v.trading.orders.values())
        if o.key == key
        and o.state not in OPEN
        and (states is None or o.state in states)
        and p.get("symbol", o.symbol) == o.symbol
        and p.get("side", o.side) == o.side
        and not (p.get("hideCancel") and o.state == "CANCELED")
    ]
    return rows[: int(p.get("limit", 100))]


@handler("order_trades")
def _order_trades(v: Venue, key: str, p: Params) -> Any:
    if p["id"].startswith("cid:"):  # this endpoint takes an order id only (spec §3.5)
        raise SpotError(ORDER_ID_LONG)
    order = v.trading.find(key, p["id"])
    return [f for f in v.trading.fills.get(key, []) if f["orderId"] == str(order.id)]


@handler("trades")
def _trades(v: Venue, key: str, p: Params) -> Any:
    symbols = p.get("symbols")
    rows = [
        f for f in reversed(v.trading.fills.get(key, [])) if not symbols or f["symbol"] in symbols
    ]
    return rows[: int(p.get("limit", 100))]


# -- smart orders (kept, never triggered) ---------------------------------------------------
def _smart_find(v: Venue, key: str, ref: str) -> dict[str, Any]:
    for row in v.smart.values():
        if row["key"] == key and (row["id"] == ref or f"cid:{row['clientOrderId']}" == ref):
            return row
    raise SpotError(ORDER_NOT_FOUND)


def _smart_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in row.items() if k != "key"}


@handler("create_smart_order", "replace_smart_order")
def _create_smart(v: Venue, key: str, p: Params) -> Any:
    if "id" in p:  # cancel-replace
        old = _smart_find(v, key, p["id"])
        old["state"] = "CANCELED"
        p = {**{k: x for k, x in old.items() if k in ("symbol", "side")}, **p}
    cid = p.get("clientOrderId", "")
    if cid and any(r["key"] == key and r["clientOrderId"] == cid for r in v.smart.values()):
        raise SpotError(CID_EXISTS)
    market = v.books.market(p["symbol"])
    market.check_order(p.get("stopPrice"), None, None)
    market.check_order(p.get("price"), p.get("quantity"), p.get("amount"))
    oid = next(v.books.ids)
    now = v.clock()
    v.smart[oid] = {
        "id": str(oid), "clientOrderId": cid, "symbol": market.symbol, "state": "PENDING_NEW",
        "accountType": "SPOT", "side": p["side"], "type": p.get("type", "STOP"),
        "timeInForce": p.get("timeInForce", "GTC"), "quantity": fmt(p.get("quantity", ZERO)),
        "price": fmt(p.get("price", ZERO)), "amount": fmt(p.get("amount", ZERO)),
        "stopPrice": fmt(p.get("stopPrice", ZERO)), "createTime": now, "updateTime": now,
        "key": key,
    }  # fmt: skip
    return {"id": str(oid), "clientOrderId": cid}


def _smart_list(v: Venue, key: str, p: Params, closed: bool) -> Any:
    rows = [
        _smart_view(r)
        for r in v.smart.values()
        if r["key"] == key and (r["state"] in _TERMINAL_SMART) is closed
    ]
    return rows[: int(p.get("limit", 100))]


@handler("open_smart_orders")
def _open_smart(v: Venue, key: str, p: Params) -> Any:
    return _smart_list(v, key, p, closed=False)


@handler("smart_order_history")
def _smart_history(v: Venue, key: str, p: Params) -> Any:
    return _smart_list(v, key, p, closed=True)


@handler("get_smart_order")
def _get_smart(v: Venue, key: str, p: Params) -> Any:
    return [_smart_view(_smart_find(v, key, p["id"]))]


def _smart_cancel(row: dict[str, Any]) -> dict[str, Any]:
    row["state"] = "CANCELED"
    return {"orderId": row["id"], "clientOrderId": row["clientOrderId"],
            "state": "CANCELED", "code": 200, "message": ""}  # fmt: skip


@handler("cancel_smart_order")
def _cancel_smart(v: Venue, key: str, p: Params) -> Any:
    return _smart_cancel(_smart_find(v, key, p["id"]))


@handler("cancel_smart_orders", "cancel_all_smart_orders")
def _cancel_smarts(v: Venue, key: str, p: Params) -> Any:
    refs = {*p.get("orderIds", ()), *(f"cid:{c}" for c in p.get("clientOrderIds", ()))}
    out = []
    for row in v.smart.values():
        if row["key"] != key or row["state"] in _TERMINAL_SMART:
            continue
        if refs and row["id"] not in refs and f"cid:{row['clientOrderId']}" not in refs:
            continue
        if p.get("symbols") and row["symbol"] not in p["symbols"]:
            continue
        out.append(_smart_cancel(row))
    return out
