"""Fault rules and rate limits of the Spot stand-in; 200 concurrent creates over one key."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from polo_fast.testing._faults import ACTIONS, EXECUTES
from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import LIMIT_BUY, Run, standin


def _expected_status(action: str) -> int:
    """http_500 -> 500, cf_524 -> 524, rate_limit -> 429; the rest answer normally."""
    if action == "rate_limit":
        return 429
    code = action.rpartition("_")[2]
    return int(code) if code.isdigit() else 200


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_fault(run: Run, action: str) -> None:
    async def body() -> None:
        async with standin(tls=False) as (ex, [raw]):
            ex.add_fault(action, command="create_order", delay=0.05)
            assert (
                await raw.call("GET", "/timestamp", signed=False)
            ).status == 200  # other calls pass
            order = {**LIMIT_BUY, "clientOrderId": "f1"}
            if action.startswith("close_"):
                with pytest.raises(aiohttp.ClientError):
                    await raw.call("POST", "/orders", body=order)
            else:
                answer = await raw.call("POST", "/orders", body=order)
                assert answer.status == _expected_status(action)
                if answer.status >= 500:
                    assert answer.raw.startswith(b"<!DOCTYPE html>")
                elif action == "truncate":
                    with pytest.raises(ValueError):
                        _ = answer.json
                elif action == "rate_limit":
                    assert answer.json == {"code": 429, "message": "Too many requests"}
                else:
                    assert answer.json["clientOrderId"] == "f1"
            found = await raw.call("GET", "/orders/cid:f1")
            assert (found.status == 200) is (action in EXECUTES), found.raw
            executed = [j for j in ex.journal() if j["method"] == "create_order"]
            assert len(executed) == (1 if action in EXECUTES else 0)
            again = await raw.call("POST", "/orders", body={**order, "clientOrderId": "f2"})
            assert again.status == 200  # the rule was used up

    run(body())


def test_fault_arguments_are_checked() -> None:
    ex = SpotExchange(tls=False)
    with pytest.raises(ValueError, match="unknown fault action"):
        ex.add_fault("explode")
    with pytest.raises(ValueError, match="unknown endpoint method"):
        ex.add_fault("http_500", command="returnTicker")
    with pytest.raises(ValueError, match="count"):
        ex.add_fault("http_500", count=0)


def test_rate_limits_per_class(run: Run) -> None:
    async def body() -> None:
        async with standin(2, tls=False, rate_limit_scale=0.5) as (_ex, [a, b]):
            # riPriv is 10/s, scaled to 5: the sixth open-orders call in a second is refused.
            statuses = [(await a.call("GET", "/orders")).status for _ in range(6)]
            assert statuses == [200] * 5 + [429]
            refused = await a.call("GET", "/orders")
            assert refused.json == {"code": 429, "message": "Too many requests"}
            # Other keys, and other classes of the same key, are counted apart.
            assert (await b.call("GET", "/orders")).status == 200
            assert (await a.call("GET", "/orders/killSwitchStatus")).status == 400  # 25020, not 429
            public = [(await a.call("GET", "/markets", signed=False)).status for _ in range(6)]
            assert public == [200] * 5 + [429]

    run(body())


def test_200_concurrent_creates_over_one_key(run: Run) -> None:
    async def body() -> None:
        async with standin(rate_limit_scale=None) as (ex, [raw]):
            orders = [
                {**LIMIT_BUY, "quantity": "0.001", "clientOrderId": f"c{i}"} for i in range(200)
            ]
            answers = await asyncio.gather(*(raw.call("POST", "/orders", body=o) for o in orders))
            assert [a.status for a in answers] == [200] * 200
            assert sorted(a.json["clientOrderId"] for a in answers) == sorted(
                o["clientOrderId"] for o in orders
            )
            creates = [j for j in ex.journal() if j["method"] == "create_order"]
            assert len(creates) == 200
            assert sorted(j["params"]["clientOrderId"] for j in creates) == sorted(
                o["clientOrderId"] for o in orders
            )
            assert len({j["result"]["id"] for j in creates}) == 200
            assert len((await raw.call("GET", "/orders", {"limit": "2000"})).json) == 200

    run(body())
