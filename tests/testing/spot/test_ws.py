"""The Spot stand-in's WebSocket: auth, trade requests, one state with REST, the idle close.

Driven by a plain aiohttp WebSocket client with stdlib signing (``wsclient.py``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.testing.spot.conftest import LIMIT_BUY, Run, standin
from tests.testing.spot.wsclient import Socket, auth_message, connect


def _create(cid: str, **extra: str) -> dict[str, str]:
    return {**LIMIT_BUY, "quantity": "0.001", "clientOrderId": cid, **extra}


def test_auth_accepted_and_refused(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=True) as (ex, [raw]):
            async with connect(ex, "private", raw.session) as good:
                answer = await good.auth(raw.key, raw.secret)
                assert answer["data"]["success"] is True and isinstance(answer["data"]["ts"], int)
                # signTimestamp as a string (ccxt) works too.
                await good.send(auth_message(raw.key, raw.secret, str(int(time.time() * 1000))))
                again = await good.until(lambda m: m.get("channel") == "auth")
                assert again["data"]["success"] is True
            async with connect(ex, "private", raw.session) as bad:
                refused = await bad.auth(raw.key, raw.secret[::-1])
                assert refused["data"] == {
                    "success": False,
                    "message": "Authentication failed!",
                    "ts": refused["data"]["ts"],
                }
                reply = await bad.request("r1", "createOrder", _create("nope"))
                assert reply["data"] == [
                    {"orderId": 0, "clientOrderId": "nope", "code": 401,
                     "message": "Not authenticated"}
                ]  # fmt: skip
                await bad.send({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
                error = await bad.recv()
                assert error["event"] == "error"
                # a stale timestamp (older than the 60 s window) is refused like a bad secret
                stale = auth_message(raw.key, raw.secret, int(time.time() * 1000) - 120_000)
                await bad.send(stale)
                assert (await bad.recv())["data"]["success"] is False
            assert [j["status"] for j in ex.journal()] == [401]
            assert ex.journal()[0]["http"] == "WS"
            assert raw.secret not in repr(ex.journal())

    run(body())


def test_500_creates_in_flight_on_one_socket(run: Run) -> None:
    async def body() -> None:
        async with standin(rate_limit_scale=None) as (ex, [raw]):
            async with connect(ex, "private", raw.session) as ws:
                await ws.auth(raw.key, raw.secret)
                for i in range(500):  # all written before any reply is read
                    await ws.send(
                        {"id": f"q{i}", "event": "createOrder", "params": _create(f"c{i}")}
                    )
                replies: dict[str, Any] = {}
                while len(replies) < 500:
                    message = await ws.recv()
                    assert message["id"] not in replies
                    replies[message["id"]] = message
            assert sorted(replies) == sorted(f"q{i}" for i in range(500))
            for rid, reply in replies.items():
                (item,) = reply["data"]
                assert item["code"] == 200 and item["clientOrderId"] == "c" + rid[1:]
                assert isinstance(item["orderId"], int) and item["orderId"] > 0
            creates = [j for j in ex.journal() if j["method"] == "create_order"]
            assert len(creates) == 500 and {j["http"] for j in creates} == {"WS"}
            assert sorted(j["params"]["clientOrderId"] for j in creates) == sorted(
                f"c{i}" for i in range(500)
            )
            ids = {r["data"][0]["orderId"] for r in replies.values()}
            assert {int(j["result"]["id"]) for j in creates} == ids and len(ids) == 500
            listed = (await raw.call("GET", "/orders", {"limit": "2000"})).json
            assert {int(o["id"]) for o in listed} == ids

    run(body())


def test_one_state_with_rest(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]):
            async with connect(ex, "private", raw.session) as ws:
                await ws.auth(raw.key, raw.secret)
                # WS order seen over REST; REST order cancelled over WS.
                placed = (await ws.request("a", "createOrder", _create("ws1")))["data"][0]
                seen = (await raw.call("GET", "/orders/cid:ws1")).json
                assert seen["id"] == str(placed["orderId"]) and seen["state"] == "NEW"
                rest = (await raw.call("POST", "/orders", body=_create("rest1"))).json
                # clientOrderIds are unique across both ways in.
                dup = (await ws.request("b", "createOrder", _create("rest1")))["data"][0]
                assert (dup["orderId"], dup["code"]) == (0, 21312)
                cancelled = await ws.request(
                    "c", "cancelOrders", {"orderIds": [rest["id"]], "clientOrderIds": ["ws1"]}
                )
                assert [(d["orderId"], d["code"]) for d in cancelled["data"]] == [
                    (int(rest["id"]), 200), (placed["orderId"], 200)
                ]  # fmt: skip
                assert (await raw.call("GET", "/orders")).json == []
                # Holds: an order the wallet cannot cover is refused over WS as over REST.
                big = await ws.request("d", "createOrder", _create("big", quantity="100"))
                assert big["data"][0]["code"] == 21709 and big["data"][0]["orderId"] == 0
                # Parameter checks are REST's.
                bad = await ws.request("e", "createOrder", {"symbol": "BTC_USDT"})
                assert bad["data"][0]["code"] == 602
                await ws.request("f", "createOrder", _create("ws2"))
                every = await ws.request("g", "cancelAllOrders", {})
                assert [d["clientOrderId"] for d in every["data"]] == ["ws2"]
            methods = [(j["http"], j["method"], j["status"]) for j in ex.journal()]
            assert methods == [
                ("WS", "create_order", 200), ("GET", "get_order", 200),
                ("POST", "create_order", 200), ("WS", "create_order", 400),
                ("WS", "cancel_orders", 200), ("GET", "open_orders", 200),
                ("WS", "create_order", 400), ("WS", "create_order", 400),
                ("WS", "create_order", 200), ("WS", "cancel_all_orders", 200),
            ]  # fmt: skip

    run(body())


def test_ws_trade_requests_share_the_rest_rate_limit(run: Run) -> None:
    async def body() -> None:
        # nriPriv is 50/s; scaled by 0.1 to 5: REST and WS orders of one key share it.
        async with standin(rate_limit_scale=0.1) as (_ex, [raw]):
            async with connect(_ex, "private", raw.session) as ws:
                await ws.auth(raw.key, raw.secret)
                codes = []
                for i in range(4):
                    reply = await ws.request(f"r{i}", "createOrder", _create(f"c{i}"))
                    codes.append(reply["data"][0]["code"])
                assert (await raw.call("POST", "/orders", body=_create("c4"))).status == 200
                over = await ws.request("r5", "createOrder", _create("c5"))
                assert codes == [200] * 4 and over["data"][0]["code"] == 429
            assert [j["status"] for j in _ex.journal()][-1] == 429

    run(body())


def test_subscriptions(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]):
            async with connect(ex, "public", raw.session) as pub:
                await pub.send({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
                assert (await pub.recv()) == {
                    "event": "error",
                    "message": 'Invalid channel value ["orders"]',
                }
                await pub.send({"event": "subscribe", "channel": ["trades"], "symbols": ["NOPE"]})
                assert (await pub.recv())["event"] == "error"
                await pub.send(
                    {"event": "subscribe", "channel": ["trades", "ticker"], "symbols": ["BTC_USDT"]}
                )
                assert (await pub.recv()) == {
                    "event": "subscribe", "channel": "trades", "symbols": ["BTC_USDT"]
                }  # fmt: skip
                assert (await pub.recv())["channel"] == "ticker"
                ticker = await pub.recv()
                assert ticker["channel"] == "ticker" and ticker["data"][0]["symbol"] == "BTC_USDT"
                await pub.send({"event": "list_subscriptions"})
                assert (await pub.recv()) == {"subscriptions": ["ticker", "trades"]}
                await pub.send(
                    {"event": "unsubscribe", "channel": ["trades"], "symbols": ["BTC_USDT"]}
                )
                assert (await pub.recv())["event"] == "unsubscribe"
                await pub.send({"event": "unsubscribe_all"})
                assert (await pub.recv())["event"] == "unsubscribe_all"
                await pub.send({"event": "list_subscriptions"})
                assert (await pub.recv()) == {"subscriptions": []}
                await pub.send("ping")  # plain text ping (reading of spec §7 #17)
                assert (await pub.recv()) == {"event": "pong"}
                # trade requests belong to the private socket
                await pub.send({"id": "x", "event": "createOrder", "params": _create("x")})
                assert (await pub.recv())["event"] == "error"
            async with connect(ex, "private", raw.session) as priv:
                await priv.send(
                    {"event": "subscribe", "channel": ["book_lv2"], "symbols": ["BTC_USDT"]}
                )
                assert (await priv.recv())["event"] == "error"

    run(body())


def test_orders_and_balances_events(run: Run) -> None:
    async def body() -> None:
        async with (
            standin(2) as (ex, [raw, other]),
            connect(ex, "private", raw.session) as ws,
            connect(ex, "private", raw.session) as spy,
            connect(ex, "public", raw.session) as pub,
        ):
            await pub.send(
                {"event": "subscribe", "channel": ["trades", "ticker"], "symbols": ["BTC_USDT"]}
            )
            await ws.auth(raw.key, raw.secret)
            await spy.auth(other.key, other.secret)
            for sock in (ws, spy):
                await sock.send({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
                await sock.send({"event": "subscribe", "channel": ["balances"]})
            # A buy above the best ask trades at once (IOC: the rest is cancelled).
            ask = (await raw.call("GET", "/markets/BTC_USDT/orderBook")).json["asks"][0]
            order = _create("hit", price=ask, quantity="0.002", timeInForce="IOC")
            reply = await ws.request("x", "createOrder", order)
            seen: list[Any] = []
            await ws.drain(seen)
            events = [e for m in seen if m.get("channel") == "orders" for e in m["data"]]
            kinds = [e["eventType"] for e in events]
            assert kinds[0] == "place" and "trade" in kinds
            assert {e["orderId"] for e in events} == {str(reply["data"][0]["orderId"])}
            trade = next(e for e in events if e["eventType"] == "trade")
            assert trade["matchRole"] == "TAKER" and trade["feeCurrency"] == "BTC"
            assert trade["tradeId"] != "0" and trade["clientOrderId"] == "hit"
            balances = {
                b["currency"]: b for m in seen if m.get("channel") == "balances" for b in m["data"]
            }
            rest = (await raw.call("GET", "/accounts/balances")).json[0]["balances"]
            for row in rest:
                if row["currency"] in balances:
                    got = balances[row["currency"]]
                    assert (got["available"], got["hold"]) == (row["available"], row["hold"])
            assert {"BTC", "USDT"} <= set(balances)
            # The other key's socket saw none of it.
            other_seen: list[Any] = []
            await spy.drain(other_seen)
            assert [m for m in other_seen if "data" in m] == []
            # The public socket saw the trade, and a ticker after it.
            public: list[Any] = []
            await pub.drain(public)
            trades = [t for m in public if m.get("channel") == "trades" for t in m.get("data", [])]
            assert [(t["id"], t["price"], t["quantity"], t["takerSide"]) for t in trades] == [
                (trade["tradeId"], trade["tradePrice"], trade["tradeQty"], "buy")
            ]
            channels = [m.get("channel") for m in public if "data" in m]
            assert channels[-2:] == ["trades", "ticker"]


def test_kill_switch_cancels_are_streamed(run: Run) -> None:
    async def body() -> None:
        async with (
            standin(kill_switch_unit=0.01) as (ex, [raw]),
            connect(ex, "private", raw.session) as ws,
        ):
            await ws.auth(raw.key, raw.secret)
            await ws.send({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
            await ws.request("a", "createOrder", _create("k1"))
            fired = ex.kill_switch_fired(raw.key)
            armed = await raw.call("POST", "/orders/killSwitch", body={"timeout": "10"})
            assert armed.status == 200
            await fired.wait()
            seen: list[Any] = []
            await ws.drain(seen)
            events = [e for m in seen if m.get("channel") == "orders" for e in m.get("data", [])]
            assert [(e["clientOrderId"], e["eventType"], e["state"]) for e in events][-1] == (
                "k1",
                "canceled",
                "CANCELED",
            )

    run(body())


@pytest.mark.parametrize("ping", ["json", "text", "frame"])
def test_idle_socket_is_closed_and_a_pinging_one_is_not(run: Run, ping: str) -> None:
    idle = 0.5

    async def body() -> None:
        async with (
            standin(tls=False, ws_idle_timeout=idle) as (ex, [raw]),
            connect(ex, "public", raw.session) as quiet,
            connect(ex, "public", raw.session) as busy,
        ):
            closer = asyncio.ensure_future(quiet.ws.receive(timeout=20))
            start = time.monotonic()
            while time.monotonic() - start < idle * 4:
                assert not busy.ws.closed
                await _ping(busy, ping)
                await asyncio.sleep(idle / 5)  # the client's ping interval
            assert not busy.ws.closed
            end = await closer
            assert end.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), end

    run(body())


async def _ping(sock: Socket, how: str) -> None:
    if how == "frame":
        await sock.ws.ping()
        return
    await sock.send({"event": "ping"} if how == "json" else "ping")
    assert await sock.recv() == {"event": "pong"}
