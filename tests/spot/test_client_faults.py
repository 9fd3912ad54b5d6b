"""Every HTTP fault of the Spot stand-in against the async Spot client, read-only and
state-changing: reads are retried; a lost order is settled by its ``clientOrderId``
(``GET /orders/cid:<id>``) and never re-sent, so the journal never holds a second create;
what the lookups cannot settle is ``MayHaveExecutedError`` with the ``client_order_id``.
"""

from __future__ import annotations

from typing import Any

import pytest

from polo_fast import errors
from polo_fast.spot import client as spot_client
from polo_fast.spot.client import Client
from polo_fast.testing._faults import ACTIONS, EXECUTES
from polo_fast.testing.keys import make_pair
from polo_fast.testing.spot import SpotExchange
from tests.spot.test_client import RESTING, SYMBOL, Go, Keys, _calls, hooked, standin

__all__ = ["standin"]  # the stand-in fixture, shared with test_client

#: seconds: the ``delay`` fault waits longer than the client's timeout
TIMEOUT = 0.5
DELAY = {"delay": 1.0, "trickle": 0.2}
#: answered before anything runs, but the outcome reads as unknown (5xx pages, a cut)
NOT_EXECUTED_UNKNOWN = {"close_before", "http_500", "http_502", "http_503", "cf_520"}


@pytest.fixture(autouse=True)
def short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups within 0.4 s instead of 1.5 s: the same logic, a shorter wait."""
    monkeypatch.setattr(spot_client, "SETTLE_WINDOW", 0.4)
    monkeypatch.setattr(spot_client, "SETTLE_DELAYS", (0.0, 0.1, 0.1))


def _client(ex: SpotExchange, key: str, secret: str) -> Client:
    return Client(
        key, secret, url=ex.url, ca_path=ex.ca_path, ws=False, timeout=TIMEOUT, connections=1
    )


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_read_survives_every_fault(
    run: Any, standin: tuple[SpotExchange, Keys], action: str
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            ex.add_fault(action, command="balances", delay=DELAY.get(action, 0.0))
            if action == "rate_limit":  # 429: raised, never re-sent by itself
                with pytest.raises(errors.RateLimitError):
                    await c.balances()
                return None
            return await c.balances()

    result = run(body())
    statuses = [e["status"] for e in _calls(ex, key, "balances")]
    if action == "rate_limit":
        assert result is None and statuses == []
    else:
        assert result[0]["balances"]
        assert statuses[-1] == 200 and len(statuses) == (
            2 if action in EXECUTES - {"trickle"} else 1
        )


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_lost_order_is_settled_by_its_client_order_id_never_resent(
    run: Any, standin: tuple[SpotExchange, Keys], action: str
) -> None:
    ex, keys = standin
    key, secret = next(keys)
    cid = f"f-{action}"

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            ex.add_fault(action, command="create_order", delay=DELAY.get(action, 0.0))
            try:
                return await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id=cid)
            except errors.PoloniexError as exc:
                return exc

    outcome = run(body())
    creates = _calls(ex, key, "create_order")
    assert len(creates) <= 1  # never a second create
    if action in EXECUTES:  # it ran: the answer, or the order the lookup found
        assert len(creates) == 1 and creates[0]["params"]["clientOrderId"] == cid
        assert isinstance(outcome, dict) and outcome["clientOrderId"] == cid
        assert outcome["id"] == creates[0]["result"]["id"]
        if action != "trickle":
            assert outcome["state"] == "NEW"  # the exchange's order object
    elif action in NOT_EXECUTED_UNKNOWN:  # never ran, and the lookups could not find it
        assert creates == []
        assert isinstance(outcome, errors.MayHaveExecutedError)
        assert outcome.client_order_id == cid and "not found" in str(outcome.seen)
        assert isinstance(outcome.__cause__, errors.TransportError)
        assert [e["status"] for e in _calls(ex, key, "get_order")] == [400] * 3
    elif action == "cf_522":  # refused at the edge: known not to have run, not re-sent
        assert creates == [] and isinstance(outcome, errors.ExchangeUnavailable)
        assert not outcome.sent
    else:
        assert action == "rate_limit"
        assert creates == [] and isinstance(outcome, errors.RateLimitError)


def test_a_lost_batch_is_settled_order_by_order(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            ex.add_fault("close_after", command="create_orders")
            return await c.create_orders(
                [{"symbol": SYMBOL, "side": "BUY", **RESTING} for _ in range(3)]
            )

    placed = run(body())
    (batch,) = _calls(ex, key, "create_orders")
    assert [o["id"] for o in placed] == [r["id"] for r in batch["result"]]
    assert all(o["state"] == "NEW" for o in placed)


def test_a_lost_cancel_is_settled_by_looking_the_order_up(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> tuple[Any, Any]:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            one = await c.create_order(SYMBOL, "BUY", **RESTING)
            two = await c.create_order(SYMBOL, "BUY", **RESTING)
            three = await c.create_order(SYMBOL, "BUY", **RESTING)
            ex.add_fault("close_after", command="cancel_order")
            single = await c.cancel_order(one["id"])
            ex.add_fault("truncate", command="cancel_orders")
            many = await c.cancel_orders(
                order_ids=[two["id"]], client_order_ids=[three["clientOrderId"]]
            )
            return (one, single), ([two, three], many)

    (one, single), (orders, many) = run(body())
    assert single["orderId"] == one["id"] and single["state"] == "CANCELED"
    assert [m["orderId"] for m in many] == [o["id"] for o in orders]
    assert len(_calls(ex, key, "cancel_order")) == len(_calls(ex, key, "cancel_orders")) == 1


def test_a_lost_cancel_of_an_order_still_open_may_have_executed(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            placed = await c.create_order(SYMBOL, "BUY", **RESTING)
            ex.add_fault("close_before", command="cancel_order")
            with pytest.raises(errors.MayHaveExecutedError) as info:
                await c.cancel_order(client_order_id=placed["clientOrderId"])
            return info.value

    err = run(body())
    assert err.seen["state"] == "NEW" and _calls(ex, key, "cancel_order") == []


@pytest.mark.parametrize("how", ["cancel_all", "request"])
def test_other_lost_state_changes_may_have_executed(
    run: Any, standin: tuple[SpotExchange, Keys], how: str
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            ex.add_fault("close_after", command="cancel_all_orders")
            with pytest.raises(errors.MayHaveExecutedError) as info:
                if how == "cancel_all":
                    await c.cancel_all_orders()
                else:
                    await c.request("DELETE", "/orders", body={"symbols": [SYMBOL]})
            return info.value

    err = run(body())
    assert err.client_order_id is None and "MAY HAVE EXECUTED" in str(err)
    assert len(_calls(ex, key, "cancel_all_orders")) == 1


# -- a lookup's find must be this call's order ----------------------------------------------


def test_a_lost_order_is_not_settled_with_another_order_of_its_client_order_id(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    """The clientOrderId was used before: the exchange refuses the new order (21312), its
    answer is lost, and the lookup finds the old order: not this call's (side, price and
    quantity differ), so it settles nothing."""
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> tuple[Any, Any]:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            old = await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="dup-1")
            await c.cancel_order(old["id"])
            ex.add_fault("close_after", command="create_order")
            with pytest.raises(errors.MayHaveExecutedError) as info:
                await c.create_order(
                    SYMBOL, "SELL", type="LIMIT", price="99999", quantity="0.002",
                    client_order_id="dup-1",
                )  # fmt: skip
            return old, info.value

    old, err = run(body())
    assert err.client_order_id == "dup-1" and err.seen["id"] == old["id"]
    assert "belongs to another order" in str(err) and "side BUY" in str(err)
    assert isinstance(err.__cause__, errors.TransportError)
    creates = _calls(ex, key, "create_order")
    assert [e["status"] for e in creates] == [200, 400]  # refused as a duplicate, not re-sent


def test_a_lost_order_is_not_settled_with_an_older_order_of_the_same_terms(run: Any) -> None:
    """Same terms, same clientOrderId, but created seconds before the call was sent: not
    this call's order."""
    key, secret = make_pair()

    async def body() -> tuple[Any, Any]:
        async with SpotExchange(keys={key: secret}) as ex, _client(ex, key, secret) as c:
            await c.warm_up()
            old = await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="same-1")
            await c.cancel_order(old["id"])
            ex.clock_offset_ms = 5000  # 5 s pass on the exchange's clock
            await c._measure_clock()
            ex.add_fault("close_after", command="create_order")
            with pytest.raises(errors.MayHaveExecutedError) as info:
                await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="same-1")
            assert [e["status"] for e in _calls(ex, key, "create_order")] == [200, 400]
            return old, info.value

    old, err = run(body())
    assert err.seen["id"] == old["id"] and "before this call was sent" in str(err)


def test_a_lost_batch_with_a_used_client_order_id_is_not_settled(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            old = await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="bdup-1")
            ex.add_fault("close_after", command="create_orders")
            with pytest.raises(errors.MayHaveExecutedError) as info:
                await c.create_orders(
                    [{"symbol": SYMBOL, "side": "BUY", **RESTING},
                     {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "price": "29500",
                      "quantity": "0.001", "clientOrderId": "bdup-1"}]
                )  # fmt: skip
            return old, info.value

    old, err = run(body())
    assert err.seen["bdup-1"]["id"] == old["id"] and "bdup-1" in str(err)
    assert len(_calls(ex, key, "create_orders")) == 1


# -- every settled kind -----------------------------------------------------------------------


@pytest.mark.parametrize("what", ["create_smart_order", "replace_order", "cancel_smart_order"])
def test_lost_smart_orders_replacements_and_smart_cancels_are_settled(
    run: Any, standin: tuple[SpotExchange, Keys], what: str
) -> None:
    ex, keys = standin
    key, secret = next(keys)
    smart: dict[str, Any] = {"type": "STOP_LIMIT", "stop_price": "40000", "price": "40100",
                             "quantity": "0.001"}  # fmt: skip

    async def body() -> Any:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            if what == "create_smart_order":
                ex.add_fault("close_after", command=what)
                return await c.create_smart_order(SYMBOL, "BUY", **smart, client_order_id="s-1")
            if what == "replace_order":
                placed = await c.create_order(SYMBOL, "BUY", **RESTING)
                ex.add_fault("close_after", command=what)
                return await c.replace_order(placed["id"], client_order_id="r-1", price="29000")
            await c.create_smart_order(SYMBOL, "BUY", **smart, client_order_id="s-2")
            ex.add_fault("close_after", command=what)
            return await c.cancel_smart_order(client_order_id="s-2")

    got = run(body())
    (sent,) = _calls(ex, key, what)
    if what == "create_smart_order":
        assert got["id"] == sent["result"]["id"] and got["stopPrice"] == "40000.00000000"
        assert got["state"] == "PENDING_NEW"  # the exchange's (smart) order object
    elif what == "replace_order":
        assert got["id"] == sent["result"]["id"] and got["clientOrderId"] == "r-1"
        assert got["price"] == "29000.00000000" and got["state"] == "NEW"
    else:
        assert got["clientOrderId"] == "s-2" and got["state"] == "CANCELED"
        assert got["code"] == 200


def test_a_lost_cancel_of_a_filled_order_is_refused_carrying_the_order(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    """The cancel certainly did nothing: not MAY HAVE EXECUTED, but the refusal the exchange
    gives for a closed order (21359), the order in ``payload``."""
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> tuple[Any, Any, Any]:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            # above the best ask: fills at once
            filled = await c.create_order(
                SYMBOL, "BUY", type="LIMIT", price="45000", quantity="0.001"
            )
            resting = await c.create_order(SYMBOL, "BUY", **RESTING)
            ex.add_fault("close_after", command="cancel_order")
            with pytest.raises(errors.OrderNotFoundError) as info:
                await c.cancel_order(filled["id"])
            ex.add_fault("truncate", command="cancel_orders")
            items = await c.cancel_orders(order_ids=[filled["id"], resting["id"]])
            return filled, info.value, items

    filled, err, items = run(body())
    assert not isinstance(err, errors.MayHaveExecutedError)
    assert err.code == 21359 and err.payload["id"] == filled["id"]
    assert err.payload["state"] == "FILLED" and "FILLED" in str(err)
    assert isinstance(err.__cause__, errors.TransportError)
    assert [(i["state"], i["code"]) for i in items] == [("FILLED", 21359), ("CANCELED", 200)]


def test_a_lost_cancel_of_an_order_cancelled_before_is_refused(run: Any) -> None:
    key, secret = make_pair()

    async def body() -> tuple[Any, Any]:
        async with SpotExchange(keys={key: secret}) as ex, _client(ex, key, secret) as c:
            await c.warm_up()
            placed = await c.create_order(SYMBOL, "BUY", **RESTING)
            await c.cancel_order(placed["id"])
            ex.clock_offset_ms = 5000  # 5 s pass on the exchange's clock
            await c._measure_clock()
            ex.add_fault("close_after", command="cancel_order")
            with pytest.raises(errors.OrderNotFoundError) as info:
                await c.cancel_order(placed["id"])
            return placed, info.value

    placed, err = run(body())
    assert err.code == 21359 and err.payload["id"] == placed["id"]
    assert err.payload["state"] == "CANCELED"


@pytest.mark.parametrize(
    "sent",
    [
        [1, 2],  # a JSON list
        b"not json",
        {"orderIds": [], "symbol": SYMBOL},  # names no order
        {"orderIds": "123"},  # not a list
        {"clientOrderIds": ["no spaces\n"]},  # not a clientOrderId
    ],
)
def test_a_lost_raw_cancel_by_ids_the_lookups_cannot_read_may_have_executed(
    run: Any, standin: tuple[SpotExchange, Keys], sent: Any
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> BaseException | None:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            ex.add_fault("close_after", command="cancel_orders")
            try:
                await c.request("DELETE", "/orders/cancelByIds", body=sent)
            except BaseException as exc:  # the test looks at what escapes
                return exc
            return None

    err = run(body())
    assert isinstance(err, errors.MayHaveExecutedError), repr(err)
    assert isinstance(err.__cause__, errors.TransportError)
    assert len(_calls(ex, key, "cancel_orders")) == 1


# -- a request that never left ------------------------------------------------------------------


def test_a_create_hit_by_a_connect_failure_is_sent_exactly_once(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)
    refused: list[str] = []

    async def hook(command: str, go: Go) -> Any:
        if command == "create_order" and not refused:
            refused.append(command)  # could not connect: nothing sent
            raise errors.ConnectError("connection refused", command=command)
        return await go()

    async def body() -> Any:
        c = Client(key, secret, url=ex.url, ws=False, transport=hooked(ex, hook), timeout=TIMEOUT)
        async with c:
            return await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="cf-1")

    placed = run(body())
    assert refused == ["create_order"]
    (create,) = _calls(ex, key, "create_order")
    assert create["status"] == 200 and create["result"]["id"] == placed["id"]
    assert _calls(ex, key, "get_order") == []  # nothing to settle: it never left


def test_settle_for_the_websocket_half_checks_the_order_against_the_body_sent(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    """``Client._settle(command, cid, reason, body=, since_ms=)``: what the WebSocket half
    calls after a lost reply; the order found must be the one that body sent."""
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> tuple[Any, Any, Any]:
        async with _client(ex, key, secret) as c:
            await c.warm_up()
            since = c._now_ms()
            placed = await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="ws-1")
            sent = (b'{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"30000",'
                    b'"quantity":"0.001","clientOrderId":"ws-1"}')  # fmt: skip
            own = await c._settle("ws_create_order", "ws-1", "lost", body=sent, since_ms=since)
            other = sent.replace(b'"BUY"', b'"SELL"')
            with pytest.raises(errors.MayHaveExecutedError) as info:
                await c._settle("ws_create_order", "ws-1", "lost", body=other, since_ms=since)
            return placed, own, info.value

    placed, own, err = run(body())
    assert own["id"] == placed["id"] and own["state"] == "NEW"
    assert err.client_order_id == "ws-1" and err.seen["id"] == placed["id"]
    assert "belongs to another order" in str(err)
