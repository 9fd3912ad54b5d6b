"""Orders on the Spot stand-in: holds, matching, client order ids, batches, the kill switch."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.testing.spot.conftest import LIMIT_BUY, Run, standin

TOP_BID = {**LIMIT_BUY, "price": "37000"}  # inside the seeded spread: the best bid


def _balance(answer: list[dict[str, object]], currency: str) -> tuple[Decimal, Decimal]:
    rows = answer[0]["balances"]
    assert isinstance(rows, list)
    row = next(r for r in rows if r["currency"] == currency)
    return Decimal(row["available"]), Decimal(row["hold"])


def test_holds_fills_and_client_order_ids(run: Run) -> None:
    async def body() -> None:
        async with standin(2, tls=False) as (_ex, [a, b]):
            made = await a.call("POST", "/orders", body={**TOP_BID, "clientOrderId": "buy-1"})
            assert made.status == 200 and made.json["clientOrderId"] == "buy-1"
            oid = made.json["id"]
            bal = (await a.call("GET", "/accounts/balances")).json
            assert _balance(bal, "USDT") == (Decimal(100000 - 370), Decimal(370))
            # The same order by id and by cid:, open; a reused clientOrderId is refused.
            by_id = (await a.call("GET", f"/orders/{oid}")).json
            assert by_id == (await a.call("GET", "/orders/cid:buy-1")).json
            assert by_id["state"] == "NEW" and by_id["price"] == "37000.00000000"
            again = await a.call("POST", "/orders", body={**TOP_BID, "clientOrderId": "buy-1"})
            assert (again.status, again.json["code"]) == (400, 21312)
            too_long = await a.call(
                "POST", "/orders", body={**LIMIT_BUY, "clientOrderId": "x" * 65}
            )
            assert (too_long.status, too_long.json["code"]) == (400, 21315)
            spaced = await a.call("POST", "/orders", body={**LIMIT_BUY, "clientOrderId": "a b"})
            assert spaced.json["code"] == 601
            # Another key's order is not found; key 2 sells into key 1's bid, the best one.
            assert (await b.call("GET", f"/orders/{oid}")).json["code"] == 21301
            sell = {**TOP_BID, "side": "SELL", "quantity": "0.004", "timeInForce": "IOC"}
            sold = await b.call("POST", "/orders", body=sell)
            assert sold.status == 200
            assert (await b.call("GET", f"/orders/{sold.json['id']}")).json["state"] == "FILLED"
            partly = (await a.call("GET", f"/orders/{oid}")).json
            assert (
                partly["state"] == "PARTIALLY_FILLED" and partly["filledQuantity"] == "0.00400000"
            )
            avail, hold = _balance((await a.call("GET", "/accounts/balances")).json, "USDT")
            assert hold == Decimal(222) and avail == Decimal(100000 - 370)
            fills = (await a.call("GET", f"/orders/{oid}/trades")).json
            assert [f["matchRole"] for f in fills] == ["MAKER"]
            assert (await a.call("GET", "/orders/cid:buy-1/trades")).json["code"] == 21346
            # Cancel releases the hold; a second cancel is refused.
            gone = await a.call("DELETE", "/orders/cid:buy-1")
            assert gone.json["state"] == "PENDING_CANCEL"
            assert (await a.call("DELETE", f"/orders/{oid}")).json["code"] == 21359
            assert _balance((await a.call("GET", "/accounts/balances")).json, "USDT")[1] == 0
            assert (await a.call("GET", f"/orders/{oid}")).json["state"] == "PARTIALLY_CANCELED"
            history = (await a.call("GET", "/orders/history")).json
            assert oid in [o["id"] for o in history]
            # A closed order's clientOrderId stays used (reading: unique for ever).
            reused = await a.call("POST", "/orders", body={**TOP_BID, "clientOrderId": "buy-1"})
            assert reused.json["code"] == 21312

    run(body())


def test_market_orders_and_insufficient_funds(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False, balances={"USDT": 1000}) as (_ex, [raw]):
            market = {"symbol": "BTC_USDT", "side": "BUY", "type": "MARKET", "amount": "500"}
            made = await raw.call("POST", "/orders", body=market)
            order = (await raw.call("GET", f"/orders/{made.json['id']}")).json
            assert order["state"] == "FILLED" and Decimal(order["filledAmount"]) <= 500
            avail, hold = _balance((await raw.call("GET", "/accounts/balances")).json, "BTC")
            assert avail > 0 and hold == 0
            broke = await raw.call("POST", "/orders", body={**market, "amount": "900"})
            assert (broke.status, broke.json["code"]) == (400, 21709)
            both = await raw.call("POST", "/orders", body={**LIMIT_BUY, "amount": "1"})
            assert both.json["code"] == 601
            missing = await raw.call("POST", "/orders", body={"symbol": "BTC_USDT"})
            assert missing.json["code"] == 602
            bad = await raw.call("POST", "/orders", body={**LIMIT_BUY, "symbol": "NOPE_USDT"})
            assert bad.json["code"] == 10040

    run(body())


def test_batch_cancel_by_ids_replace_and_cancel_all(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (_ex, [raw]):
            items = [{**LIMIT_BUY, "clientOrderId": f"b{i}"} for i in range(3)]
            batch = await raw.call("POST", "/orders/batch", body=[*items, {"symbol": "BTC_USDT"}])
            assert [o.get("clientOrderId") for o in batch.json[:3]] == ["b0", "b1", "b2"]
            assert batch.json[3]["code"] == 602
            over = await raw.call("POST", "/orders/batch", body=[LIMIT_BUY] * 21)
            assert over.json["code"] == 601
            assert (await raw.call("POST", "/orders/batch", body=LIMIT_BUY)).json["code"] == 601
            first = batch.json[0]["id"]
            cancelled = await raw.call(
                "DELETE",
                "/orders/cancelByIds",
                body={"orderIds": [first], "clientOrderIds": ["b1", "zz"]},
            )
            assert [c["code"] for c in cancelled.json] == [200, 200, 21301]
            new = await raw.call(
                "PUT", "/orders/cid:b2", body={"price": "29000", "clientOrderId": "b3"}
            )
            assert new.status == 200 and new.json["clientOrderId"] == "b3"
            assert (await raw.call("GET", "/orders/cid:b2")).json["state"] == "CANCELED"
            assert (await raw.call("GET", "/orders/cid:b3")).json["price"] == "29000.00000000"
            open_now = (await raw.call("GET", "/orders", {"symbol": "BTC_USDT"})).json
            assert [o["clientOrderId"] for o in open_now] == ["b3"]
            everything = await raw.call("DELETE", "/orders", body={"symbols": ["BTC_USDT"]})
            assert [c["clientOrderId"] for c in everything.json] == ["b3"]
            assert (await raw.call("GET", "/orders")).json == []

    run(body())


def test_kill_switch_cancels_resting_orders(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False, kill_switch_unit=0.01) as (ex, [raw]):
            none = await raw.call("GET", "/orders/killSwitchStatus")
            assert none.json["code"] == 25020
            assert (await raw.call("POST", "/orders/killSwitch", body={"timeout": "5"})).json[
                "code"
            ] == 601
            made = await raw.call("POST", "/orders", body=LIMIT_BUY)
            fired = ex.kill_switch_fired(raw.key)
            armed = await raw.call("POST", "/orders/killSwitch", body={"timeout": "10"})
            assert armed.json["cancellationTime"] - armed.json["startTime"] == 10_000
            status = (await raw.call("GET", "/orders/killSwitchStatus")).json
            assert status == armed.json
            assert (await raw.call("GET", f"/orders/{made.json['id']}")).json["state"] == "NEW"
            await asyncio.wait_for(fired.wait(), timeout=10)
            assert (await raw.call("GET", f"/orders/{made.json['id']}")).json["state"] == "CANCELED"
            assert (await raw.call("GET", "/orders/killSwitchStatus")).json["code"] == 25020
            # Disarming with -1 stops a timer before it fires.
            await raw.call("POST", "/orders", body=LIMIT_BUY)
            await raw.call("POST", "/orders/killSwitch", body={"timeout": "600"})
            await raw.call("POST", "/orders/killSwitch", body={"timeout": "-1"})
            assert (await raw.call("GET", "/orders/killSwitchStatus")).json["code"] == 25020
            assert len((await raw.call("GET", "/orders")).json) == 1

    run(body())
