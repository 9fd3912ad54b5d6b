"""Refusals and edge cases of the Spot stand-in: each test pins one defect a review found.

Dust in a MARKET BUY, money created by negative amounts, loose decimals and the published
trade limits, ``book_lv2`` for every market, a refused kill switch call, cancel-replace
checked before it cancels, ``orderBook?scale``, candles before the market opened and an
unknown transfer id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from polo_fast.testing.spot._errors import BAD_PARAM, SpotError
from polo_fast.testing.spot._market import MARKETS
from polo_fast.testing.spot._venue import Venue
from tests.testing.spot.conftest import LIMIT_BUY, Raw, Run, standin
from tests.testing.spot.wsclient import connect


def _balance(raw_answer: Any, currency: str) -> Decimal:
    rows = raw_answer[0]["balances"]
    return Decimal(next(r["available"] for r in rows if r["currency"] == currency))


async def _available(raw: Raw, currency: str) -> Decimal:
    return _balance((await raw.call("GET", "/accounts/balances")).json, currency)


@pytest.mark.timeout(30)
def test_market_buy_by_amount_stops_at_dust_on_a_market_below_1() -> None:
    from polo_fast.testing.spot import _private  # registers the handlers

    assert _private is not None
    venue = Venue(1, None, lambda: 0, 1.0)
    order = venue.trading.create(
        "K", {"symbol": "TRX_USDT", "side": "BUY", "type": "MARKET", "amount": Decimal("10")}
    )
    assert order.state == "FILLED" and Decimal(0) < order.filled_amt <= Decimal("10")
    wallet = venue.wallet("K")
    assert wallet.available["USDT"] == Decimal(100000) - order.filled_amt
    assert sum(wallet.hold.values(), Decimal(0)) == 0


def test_negative_and_zero_amounts_never_create_money(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (_ex, [raw]):
            btc, usdt = await _available(raw, "BTC"), await _available(raw, "USDT")
            withdraw = {"currency": "BTC", "amount": "-1", "address": "btc1x"}
            for amount in ("-1", "0", "0.000000001"):
                answer = await raw.call(
                    "POST", "/wallets/withdraw", body={**withdraw, "amount": amount}
                )
                assert (answer.status, answer.json["code"]) == (400, 601), amount
            transfer = {"currency": "USDT", "fromAccount": "SPOT", "toAccount": "FUTURES"}
            for amount in ("-5", "0", "1.123456789"):
                answer = await raw.call(
                    "POST", "/accounts/transfer", body={**transfer, "amount": amount}
                )
                assert (answer.status, answer.json["code"]) == (400, 601), amount
            assert (await _available(raw, "BTC"), await _available(raw, "USDT")) == (btc, usdt)
            ok = await raw.call("POST", "/accounts/transfer", body={**transfer, "amount": "1.5"})
            assert ok.status == 200 and await _available(raw, "USDT") == usdt - Decimal("1.5")

    run(body())


_LOOSE = ["0_01", " 0.01", "0.01\n", "+0.01", "\u0660.\u0660\u0661", "1e-2", "-0.01", "NaN"]


def test_decimals_are_plain_ascii_and_follow_the_published_trade_limits(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (_ex, [raw]):
            for text in _LOOSE:
                answer = await raw.call("POST", "/orders", body={**LIMIT_BUY, "quantity": text})
                assert (answer.status, answer.json["code"]) == (400, 601), repr(text)
            assert (await _available(raw, "USDT")) == 100000
            limits = MARKETS["TRX_USDT"].info()["symbolTradeLimit"]
            assert isinstance(limits, dict) and limits["quantityScale"] == 2
            trx = {"symbol": "TRX_USDT", "side": "BUY", "type": "LIMIT", "price": "0.05"}
            cases = [
                ({**LIMIT_BUY, "price": "30000.12345"}, 21335),
                ({**LIMIT_BUY, "quantity": "0.0" + "0" * 20 + "1"}, 21336),
                ({**trx, "quantity": "100.001"}, 21336),
                ({**trx, "quantity": "0.001"}, 21336),
                ({**trx, "quantity": "10"}, 21322),  # 0.5 USDT < minAmount 1
                ({"symbol": "BTC_USDT", "side": "BUY", "amount": "10.123456789"}, 21337),
                ({"symbol": "BTC_USDT", "side": "BUY", "amount": "0.5"}, 21322),
                ({"symbol": "DOGE_BTC", "side": "SELL", "quantity": "0.001"}, 21336),
                ({"symbol": "DOGE_BTC", "side": "BUY", "amount": "0.00000001"}, 21322),
            ]
            for order, code in cases:
                answer = await raw.call("POST", "/orders", body=order)
                assert (answer.status, answer.json["code"]) == (400, code), order
            fine = await raw.call("POST", "/orders", body={**trx, "quantity": "100.00"})
            assert fine.status == 200, fine.json

    run(body())


def test_book_lv2_for_every_market_and_the_socket_lives(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body() -> None:
        async with standin(tls=False) as (ex, [raw]), connect(ex, "public", raw.session) as ws:
            await ws.send({"event": "subscribe", "channel": ["book_lv2"]})
            seen: list[Any] = []
            await ws.drain(seen)
            snapshots = {m["data"][0]["symbol"] for m in seen if m.get("action") == "snapshot"}
            assert snapshots == set(MARKETS)
            await ws.send({"event": "subscribe", "channel": ["book_lv2"], "symbols": ["all"]})
            seen.clear()
            await ws.drain(seen)
            assert sum(m.get("action") == "snapshot" for m in seen) == len(MARKETS)

            def refuse(*args: object) -> None:
                raise SpotError(BAD_PARAM, detail="symbols")

            monkeypatch.setattr(ex.feeds, "subscribed", refuse)
            await ws.send({"event": "subscribe", "channel": ["trades"]})
            seen.clear()
            await ws.drain(seen)  # answered, and the socket still answers a ping
            assert {"event": "error", "message": "Invalid Parameter: symbols"} in seen

    run(body())


def test_a_refused_kill_switch_call_leaves_the_armed_switch(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (_ex, [raw]):
            armed = await raw.call("POST", "/orders/killSwitch", body={"timeout": "60"})
            assert armed.status == 200
            for bad in ("5", "601"):
                refused = await raw.call("POST", "/orders/killSwitch", body={"timeout": bad})
                assert refused.json["code"] == 601
            status = await raw.call("GET", "/orders/killSwitchStatus")
            assert status.status == 200 and status.json == armed.json

    run(body())


def test_cancel_replace_checks_the_replacement_before_it_cancels(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False, balances={"USDT": 700}) as (_ex, [raw]):
            first = await raw.call("POST", "/orders", body={**LIMIT_BUY, "clientOrderId": "a"})
            second = await raw.call("POST", "/orders", body={**LIMIT_BUY, "clientOrderId": "b"})
            oid = first.json["id"]
            refusals = [
                ({"clientOrderId": "b"}, 21312),
                ({"quantity": "0.05"}, 21709),  # 1500 > 100 free + 300 "a" holds
                ({"price": "30000.123456"}, 21335),
            ]
            for change, code in refusals:
                answer = await raw.call("PUT", f"/orders/{oid}", body=change)
                assert answer.json["code"] == code, change
                assert (await raw.call("GET", f"/orders/{oid}")).json["state"] == "NEW"
            # What the old order holds counts: 0.013 * 30000 = 390 <= 100 free + 300 held.
            moved = await raw.call("PUT", f"/orders/{oid}", body={"quantity": "0.013"})
            assert moved.status == 200, moved.json
            assert (await raw.call("GET", f"/orders/{oid}")).json["state"] == "CANCELED"
            # proceedOnFailure: a closed order is replaced only when it is true.
            await raw.call("DELETE", f"/orders/{second.json['id']}")
            gone = f"/orders/{second.json['id']}"
            assert (await raw.call("PUT", gone, body={"price": "29000"})).json["code"] == 21359
            anyway = await raw.call(
                "PUT", gone, body={"price": "29000", "quantity": "0.001", "proceedOnFailure": True}
            )
            assert anyway.status == 200, anyway.json

    run(body())


def test_order_book_scale_candles_and_unknown_transfer(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (_ex, [raw]):
            path = "/markets/BTC_USDT/orderBook"
            plain = (await raw.call("GET", path, {"limit": "150"}, signed=False)).json
            grouped = (await raw.call("GET", path, {"scale": "100"}, signed=False)).json
            assert grouped["scale"] == "100"
            asks = grouped["asks"][0::2]
            assert all(Decimal(p) % 100 == 0 for p in asks) and len(set(asks)) == len(asks)
            best_ask = Decimal(plain["asks"][0])
            assert Decimal(asks[0]) == (best_ask / 100).to_integral_value("ROUND_CEILING") * 100
            first_bucket = sum(
                Decimal(q)
                for p, q in zip(plain["asks"][0::2], plain["asks"][1::2], strict=True)
                if Decimal(p) <= Decimal(asks[0])
            )
            assert Decimal(grouped["asks"][1]) == first_bucket
            for bad in ("0", "-1", "x", "1e2"):
                answer = await raw.call("GET", path, {"scale": bad}, signed=False)
                assert answer.json["code"] == 601, bad
            candles = await raw.call(
                "GET",
                "/markets/BTC_USDT/candles",
                {"interval": "MINUTE_1", "startTime": "0", "endTime": "1"},
                signed=False,
            )
            assert candles.status == 200 and candles.json == []
            unknown = await raw.call("GET", "/accounts/transfer/12345")
            assert (unknown.status, unknown.json["code"]) == (400, 601)

    run(body())
