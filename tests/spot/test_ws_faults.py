"""Socket faults on the private WebSocket: nothing is lost, nothing is sent twice.

Each stand-in fault (``drop_on_request``, ``drop_before_reply``, ``stall``, ``duplicate``)
hits one trade request; the request is settled by its ``clientOrderId`` over REST (orders)
or reported as may-have-executed (cancels), never re-sent (the journal holds each order at
most once), the socket comes back by itself, and the event streams are reconciled: the last
event of every order says what REST says, an order opened and closed during a drop included.
A socket that stalls (nothing at all received since a request timed out) is cut, so later
requests go on a fresh socket and are answered by their replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polo_fast.errors import MayHaveExecutedError
from polo_fast.spot._ws_client import OrderEvent
from polo_fast.testing.spot import SpotExchange
from tests.spot.test_ws import LIMIT, Recording, creates, ws_client
from tests.testing.spot.conftest import Run, standin


def _journal_cids(ex: SpotExchange) -> list[str]:
    return [j["params"]["clientOrderId"] for j in creates(ex)]


async def _private(c: Recording) -> Any:
    await c._ws_warm_up()
    priv = c._ws_private_socket
    assert priv is not None
    return priv


async def _back(c: Recording) -> Any:
    """Wait for the reconnect (auth + subscriptions) and its reconciliation."""
    priv = c._ws_private_socket
    assert priv is not None
    await priv.conn.ready()
    await priv.reconciled_once()
    return priv


def test_drop_on_request_settles_as_not_executed(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            priv = await _private(c)
            ex.add_ws_fault("drop_on_request", event="createOrder")
            with pytest.raises(MayHaveExecutedError) as info:
                await c.ws_create_order("BTC_USDT", "BUY", client_order_id="lost", **LIMIT)
            assert info.value.client_order_id == "lost"
            assert [s[:2] for s in c.settled] == [("ws_create_order", "lost")]
            await _back(c)
            assert priv.conn.generation == 2
            ok = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="next", **LIMIT)
            assert ok["clientOrderId"] == "next"
            await priv.conn.ping()
            assert _journal_cids(ex) == ["next"]  # "lost" never ran and was never re-sent

    run(body())


def test_drop_before_reply_settles_by_client_order_id(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await _private(c)
            ex.add_ws_fault("drop_before_reply", event="createOrder")
            found = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="ran", **LIMIT)
            assert (found["clientOrderId"], found["state"]) == ("ran", "NEW")
            priv = await _back(c)
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="after", **LIMIT)
            await priv.conn.ping()
            assert _journal_cids(ex) == ["ran", "after"]

    run(body())


def test_stall_beyond_the_timeout_settles_and_cuts_the_silent_socket(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw, _ws_timeout=0.3) as c:
            priv = await _private(c)
            ex.add_ws_fault("stall", event="createOrder", delay=1.0)
            found = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="slow", **LIMIT)
            assert found["clientOrderId"] == "slow" and found["id"]
            assert "no reply within" in c.settled[0][2]
            # Nothing at all came back since "slow" went out: the socket is cut, so the next
            # order goes on a fresh one (answered by its reply, not settled over REST) and
            # the stalled reply, if it ever comes, comes on a dead socket.
            nxt = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="fast", **LIMIT)
            assert nxt["clientOrderId"] == "fast"
            assert [s[1] for s in c.settled] == ["slow"]
            assert priv.conn.generation == 2 and priv.pending == {}
            assert _journal_cids(ex) == ["slow", "fast"]

    run(body())


def test_a_stalled_socket_is_cut_while_orders_keep_going(run: Run) -> None:
    """Orders sent into a socket that answers nothing: only the first waits out the timeout;
    the socket is cut then, and the others go on a fresh one."""

    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw, _ws_timeout=0.3) as c:
            priv = await _private(c)
            ex.add_ws_fault("stall", event="createOrder", delay=5.0)
            for i in range(3):
                got = await c.ws_create_order("BTC_USDT", "BUY", client_order_id=f"s{i}", **LIMIT)
                assert got["clientOrderId"] == f"s{i}"
            assert [s[1] for s in c.settled] == ["s0"] and priv.conn.generation == 2
            assert _journal_cids(ex) == ["s0", "s1", "s2"]

    run(body())


@pytest.mark.parametrize("action", ["drop_on_request", "drop_before_reply"])
def test_lost_cancel_may_have_executed(run: Run, action: str) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="k1", **LIMIT)
            ex.add_ws_fault(action, event="cancelOrders")
            with pytest.raises(MayHaveExecutedError, match="MAY HAVE EXECUTED"):
                await c.ws_cancel_orders(client_order_ids=["k1"])
            await _back(c)
            still_open = [o["clientOrderId"] for o in await c.open_orders()]
            assert still_open == ([] if action == "drop_before_reply" else ["k1"])
            cancels = [j for j in ex.journal() if j["method"] == "cancel_orders"]
            assert len(cancels) == (action == "drop_before_reply")  # never re-sent

    run(body())


async def _until(stream: AsyncIterator[OrderEvent], want: dict[str, str]) -> dict[str, Any]:
    """Read order events until each clientOrderId in ``want`` was last seen in its state."""
    last: dict[str, OrderEvent] = {}
    while any(last.get(cid) is None or last[cid].state != s for cid, s in want.items()):
        event = await asyncio.wait_for(stream.__anext__(), 10)
        last[event.client_order_id] = event
    return last


def test_events_reconciled_after_drops(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            orders, balances = c.order_events(), c.balance_events()
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="a", **LIMIT)
            await _until(orders, {"a": "NEW"})
            # B runs, but the socket drops before its reply and before its events.
            ex.add_ws_fault("drop_before_reply", event="createOrder")
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="b", **LIMIT)
            await _back(c)
            # A's cancel runs, then the socket drops: its events are lost too.
            ex.add_ws_fault("drop_before_reply", event="cancelOrders")
            with pytest.raises(MayHaveExecutedError):
                await c.ws_cancel_orders(client_order_ids=["a"])
            priv = await _back(c)
            assert priv.reconciled == 2
            last = await _until(orders, {"a": "CANCELED", "b": "NEW"})
            assert last["b"].reconciled and last["a"].reconciled
            # Every order's last event is what REST says.
            for cid, event in last.items():
                view = (await raw.call("GET", f"/orders/cid:{cid}")).json
                assert (event.order_id, event.state) == (view["id"], view["state"])
            # And the balances stream ends where REST is.
            [spot] = await c.balances()
            truth = {b["currency"]: (b["available"], b["hold"]) for b in spot["balances"]}
            seen: dict[str, tuple[str, str]] = {}
            while seen.get("USDT") != truth["USDT"]:
                ev = await asyncio.wait_for(balances.__anext__(), 10)
                seen[ev.currency] = (ev.available, ev.hold)
            assert priv.known_balances["USDT"] == truth["USDT"]

    run(body())


def test_an_order_opened_and_closed_during_a_drop_is_reported(run: Run) -> None:
    """Placed and cancelled over REST while the socket is down: no live event ever says so;
    the reconciliation finds it in the order history."""

    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            orders = c.order_events()
            priv = await _private(c)
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="before", **LIMIT)
            await _until(orders, {"before": "NEW"})
            priv.conn._backoff = (0.5, 0.5)  # a window for REST work while the socket is down
            priv.conn._delay = 0.5
            priv.conn.drop("test")
            await c.create_order("BTC_USDT", "BUY", type="LIMIT", price="30000",
                                 quantity="0.001", client_order_id="gap")  # fmt: skip
            await c.cancel_orders(client_order_ids=["gap"])
            assert not priv.conn.is_ready  # all of it happened during the drop
            await _back(c)
            last = await _until(orders, {"gap": "CANCELED"})
            assert last["gap"].reconciled and last["gap"].order_id
            assert priv.reconciled == 1 and priv.reconcile_failures == 0

    run(body())


def test_many_orders_through_faults_each_once(run: Run) -> None:
    async def body() -> None:
        async with standin(rate_limit_scale=None) as (ex, [raw]), ws_client(ex, raw) as c:
            await _private(c)
            for action in ("drop_on_request", "drop_before_reply"):
                ex.add_ws_fault(action, event="createOrder")
                cids = [f"{action[:6]}-{i}" for i in range(50)]
                results = await asyncio.gather(
                    *(c.ws_create_order("BTC_USDT", "BUY", client_order_id=x, **LIMIT)
                      for x in cids),
                    return_exceptions=True,
                )  # fmt: skip
                for cid, result in zip(cids, results, strict=True):
                    if isinstance(result, BaseException):
                        assert isinstance(result, MayHaveExecutedError), result
                        assert result.client_order_id == cid
                    else:
                        assert result["clientOrderId"] == cid
                await _back(c)
            journal = _journal_cids(ex)
            assert len(journal) == len(set(journal))  # nothing ran twice
            # Every order that answered is in the journal once; settled ones as REST says.
            for cid in journal:
                assert (await raw.call("GET", f"/orders/cid:{cid}")).status == 200

    run(body())
