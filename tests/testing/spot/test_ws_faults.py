"""Socket faults of the Spot stand-in: each does what its name says, and the journal (and
REST) tell whether the order executed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import LIMIT_BUY, Raw, Run, standin
from tests.testing.spot.wsclient import connect

ORDER = {**LIMIT_BUY, "clientOrderId": "f1"}


async def _executed(ex: SpotExchange, raw: Raw) -> bool:
    found = await raw.call("GET", "/orders/cid:f1")  # REST answers after the WS request ran
    creates = [j for j in ex.journal() if j["method"] == "create_order"]
    assert (found.status == 200) is bool(creates)
    return bool(creates)


@pytest.mark.parametrize("action", ["drop_on_request", "drop_before_reply"])
def test_drop(run: Run, action: str) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), connect(ex, "private", raw.session) as ws:
            await ws.auth(raw.key, raw.secret)
            ex.add_ws_fault(action, event="createOrder")
            await ws.send({"id": "1", "event": "createOrder", "params": ORDER})
            with pytest.raises(ConnectionError):
                await ws.recv()
            assert await _executed(ex, raw) is (action == "drop_before_reply")
            # The rule is used up: a new socket trades normally.
            async with connect(ex, "private", raw.session) as again:
                await again.auth(raw.key, raw.secret)
                order = {**ORDER, "clientOrderId": "f2"}
                assert (await again.request("2", "createOrder", order))["data"][0]["code"] == 200

    run(body())


def test_stall(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), connect(ex, "private", raw.session) as ws:
            await ws.auth(raw.key, raw.secret)
            ex.add_ws_fault("stall", event="createOrder", delay=2.0)
            await ws.send({"id": "1", "event": "createOrder", "params": ORDER})
            await ws.send({"event": "ping"})
            # The order executes at once (REST sees it) while the socket says nothing.
            assert await _executed(ex, raw)
            with pytest.raises(asyncio.TimeoutError):
                await ws.recv(timeout=0.2)
            # Then the reply comes, and what was queued after it.
            reply = await ws.recv()
            assert reply["id"] == "1" and reply["data"][0]["code"] == 200
            assert await ws.recv() == {"event": "pong"}

    run(body())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda ex: ex.add_ws_fault("explode"), "unknown WebSocket fault"),
        (lambda ex: ex.add_ws_fault("stall", event="book_lv2"), "unknown trade request"),
        (lambda ex: ex.add_ws_fault("gap", count=0), "count"),
        (lambda ex: SpotExchange(tls=False, ws_idle_timeout=0), "ws_idle_timeout"),
        (lambda ex: SpotExchange(tls=False, ws_book_depth=0), "ws_book_depth"),
    ],
)
def test_ws_fault_arguments_are_checked(call: Callable[[SpotExchange], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(SpotExchange(tls=False))
