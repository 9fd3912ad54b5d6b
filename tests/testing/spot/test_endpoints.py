"""Every endpoint of the Spot table is served by the stand-in, with the spec's key fields."""

from __future__ import annotations

import time
from typing import Any

from polo_fast.spot.commands import ALL_ENDPOINTS, Endpoint, Kind, Where
from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import LIMIT_BUY, Raw, Run, session_for, standin

SAMPLES: dict[str, Any] = {
    "symbol": "BTC_USDT",
    "side": "BUY",
    "interval": "MINUTE_5",
    "currency": "USDT",
    "amount": "1",
    "fromAccount": "SPOT",
    "toAccount": "FUTURES",
    "fromAccountId": "1",
    "fromAccountType": "SPOT",
    "toAccountId": "2",
    "toAccountType": "SPOT",
    "address": "TXYZ",
    "coin": "USDT",
    "network": "TRX",
    "timeout": "60",
    "quantity": "0.001",
    "stopPrice": "40000",
}

SMART = {**LIMIT_BUY, "type": "STOP_LIMIT", "stopPrice": "40000"}
OVERRIDES: dict[str, dict[str, Any]] = {
    "create_order": LIMIT_BUY,
    "create_smart_order": SMART,
    "replace_order": {"price": "29000"},
    "cancel_orders": {"orderIds": ["1"]},
    "kill_switch": {"timeout": "60"},
    "cancel_smart_orders": {"orderIds": ["1"]},
}

# Key fields of each answer the spec's §3 names (a list answer: of its first element).
KEY_FIELDS = {
    "markets": {"symbol", "baseCurrencyName", "quoteCurrencyName", "state", "symbolTradeLimit"},
    "server_time": {"serverTime"},
    "order_book": {"time", "scale", "asks", "bids", "ts"},
    "ticker": {"symbol", "open", "low", "high", "close", "bid", "ask", "markPrice"},
    "price": {"symbol", "price", "time", "dailyChange", "ts"},
    "currencies_v2": {"id", "coin", "delisted", "tradeEnable", "name", "networkList"},
    "accounts": {"accountId", "accountType", "accountState"},
    "balances": {"accountId", "accountType", "balances"},
    "transfer": {"transferId"},
    "fee_info": {"trxDiscount", "makerRate", "takerRate", "volume30D"},
    "create_order": {"id", "clientOrderId"},
    "get_order": {"id", "clientOrderId", "symbol", "state", "side", "type", "filledQuantity"},
    "cancel_order": {"orderId", "clientOrderId", "state", "code", "message"},
    "kill_switch": {"startTime", "cancellationTime"},
    "withdraw": {"withdrawalNumber"},
    "withdraw_v2": {"withdrawalRequestsId"},
    "wallet_activity": {"adjustments", "deposits", "withdrawals"},
}


def _args(ep: Endpoint, ids: dict[str, str]) -> tuple[str, dict[str, str], Any]:
    path = ep.path
    values: dict[str, Any] = {}
    for p in ep.params:
        if p.where is Where.PATH:
            sample = ids[ep.method] if p.name == "id" else SAMPLES[p.name]
            path = path.replace("{" + p.name + "}", sample)
        elif p.required:
            values[p.name] = (
                SAMPLES[p.name] if p.kind is not Kind.INT else str(int(time.time()) - 60)
            )
    values = OVERRIDES.get(ep.method, values)
    if ep.body_array:
        return path, {}, [LIMIT_BUY]
    if ep.http == "GET":
        return path, values, None
    return path, {}, values or None


def test_every_endpoint_answers(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False, rate_limit_scale=None) as (ex, [raw]):
            account = (await raw.call("GET", "/accounts")).json[0]["accountId"]
            for ep in ALL_ENDPOINTS:
                order = (await raw.call("POST", "/orders", body=LIMIT_BUY)).json["id"]
                smart_id = (await raw.call("POST", "/smartorders", body=SMART)).json["id"]
                transfer = {
                    "currency": "USDT",
                    "amount": "1",
                    "fromAccount": "SPOT",
                    "toAccount": "FUTURES",
                }
                xfer = (await raw.call("POST", "/accounts/transfer", body=transfer)).json[
                    "transferId"
                ]
                ids = dict.fromkeys(("account_balances", "subaccount_balance"), account)
                ids.update(dict.fromkeys(("get_transfer", "get_subaccount_transfer"), xfer))
                orders = ("replace_order", "get_order", "cancel_order", "order_trades")
                ids.update(dict.fromkeys(orders, order))
                smarts = ("replace_smart_order", "get_smart_order", "cancel_smart_order")
                ids.update(dict.fromkeys(smarts, smart_id))
                path, query, payload = _args(ep, ids)
                answer = await raw.call(ep.http, path, query, payload, signed=ep.signed)
                assert answer.status == 200, (ep.method, answer.raw)
                data = answer.json
                assert isinstance(data, (list, dict)), ep.method
                fields = KEY_FIELDS.get(ep.method)
                if fields:
                    first = data[0] if isinstance(data, list) else data
                    assert fields <= set(first), (ep.method, fields - set(first))
            seen = {j["method"] for j in ex.journal() if j["status"] == 200}
            assert seen == {ep.method for ep in ALL_ENDPOINTS}
            futures = await raw.call("GET", "/v3/market/allInstruments", signed=False)
            assert futures.json == {"code": "200", "msg": "Success", "data": []}

    run(body())


def test_public_endpoints_need_no_key_and_check_parameters(run: Run) -> None:
    async def body() -> None:
        async with SpotExchange(tls=False) as ex, session_for(None) as s:
            raw = Raw(s, ex.url, "", "")
            book = await raw.call(
                "GET", "/markets/BTC_USDT/orderBook", {"limit": "5"}, signed=False
            )
            assert len(book.json["asks"]) == len(book.json["bids"]) == 10  # flat [p, q] x 5
            assert float(book.json["asks"][0]) > float(book.json["bids"][0])
            bad = await raw.call("GET", "/markets/BTC_USDT/orderBook", {"limit": "7"}, signed=False)
            assert (bad.status, bad.json["code"]) == (400, 601)
            no_interval = await raw.call("GET", "/markets/BTC_USDT/candles", signed=False)
            assert no_interval.json["code"] == 602
            candles = await raw.call(
                "GET",
                "/markets/BTC_USDT/candles",
                {"interval": "HOUR_1", "limit": "3"},
                signed=False,
            )
            assert len(candles.json) == 3 and candles.json[0][11] == "HOUR_1"
            unknown = await raw.call("GET", "/markets/NOPE_X/price", signed=False)
            assert unknown.json["code"] == 10040
            private = await raw.call("GET", "/accounts", signed=False)
            assert (private.status, private.raw) == (401, b"")

    run(body())
