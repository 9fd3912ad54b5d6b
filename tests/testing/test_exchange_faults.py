"""Every fault rule of the stand-in does what it says, seen from a raw aiohttp client."""

from __future__ import annotations

import time

import aiohttp
import orjson
import pytest

from polo_fast.testing import StandInExchange
from tests.conftest import make_keys
from tests.testing.conftest import Raw, Run

HTML_CODES = {"http_500": 500, "http_502": 502, "http_503": 503, "cf_520": 520, "cf_522": 522}


def _key() -> tuple[str, str]:
    return next(iter(make_keys(1).items()))


def test_close_before_does_not_execute_and_the_same_request_can_be_resent(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault("close_before", command="buy")
            req = c.body("buy", currencyPair="BTC_ETH", rate="0.01", amount="1")
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await c.post(req)
            assert ex.journal() == []
            assert (await c.post(req))[0] == 200  # the nonce was not used up
            assert [e["command"] for e in ex.journal()] == ["buy"]

    run(body())


def test_close_after_executes_then_drops_the_answer(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault("close_after", command="buy")
            req = c.body("buy", currencyPair="BTC_ETH", rate="0.01", amount="1")
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await c.post(req)
            (entry,) = ex.journal()
            assert entry["command"] == "buy" and entry["status"] == 200
            (order,) = await c.ok("returnOpenOrders", currencyPair="BTC_ETH")
            assert order["orderNumber"] == entry["result"]["orderNumber"]
            status, raw = await c.post(req)  # a blind resend is refused: the nonce was used
            assert status == 422 and orjson.loads(raw)["error"].startswith("Nonce must be")

    run(body())


@pytest.mark.parametrize("action", sorted(HTML_CODES))
def test_5xx_and_cloudflare_pages_do_not_execute(run: Run, action: str) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault(action, count=2)
            for _ in range(2):
                status, raw = await c.post(c.body("returnBalances"))
                assert status == HTML_CODES[action]
                assert raw.startswith(b"<!DOCTYPE html>") and str(status).encode() in raw
            assert ex.journal() == []
            assert (await c.call("returnBalances"))[0] == 200  # count used up
            status, _ = await c.public("returnTicker")
            assert status == 200

    run(body())


def test_cf_524_executes_and_answers_html(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault("cf_524", command="sell")
            status, raw = await c.post(c.body("sell", currencyPair="BTC_ETH", rate="1", amount="1"))
            assert status == 524 and b"A timeout occurred" in raw
            assert [e["command"] for e in ex.journal()] == ["sell"]
            assert len(await c.ok("returnOpenOrders", currencyPair="BTC_ETH")) == 1

    run(body())


def test_rate_limit_fault_is_a_429_json_error_and_does_not_execute(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault("rate_limit")
            assert await c.call("returnBalances") == (
                429,
                {"error": "Please do not make more than 8 API calls per second."},
            )
            assert ex.journal() == []

    run(body())


def test_delay_truncate_trickle(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            full = await c.ok("returnBalances")
            ex.add_fault("delay", command="returnBalances", delay=0.3)
            t0 = time.monotonic()
            assert await c.ok("returnBalances") == full
            assert time.monotonic() - t0 >= 0.27

            ex.add_fault("truncate", command="returnBalances")
            status, raw = await c.post(c.body("returnBalances"))
            assert status == 200
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(raw)
            assert orjson.dumps(full).startswith(raw) and 0 < len(raw) < len(orjson.dumps(full))

            ex.add_fault("trickle", command="returnBalances", delay=0.4)
            req = c.body("returnBalances")
            from tests.testing.conftest import FORM, sign

            assert c.session is not None
            t0 = time.monotonic()
            async with c.session.post(
                ex.url + "/tradingApi",
                data=req,
                ssl=c.ssl,
                headers={**FORM, "Key": key, "Sign": sign(secret, req)},
            ) as resp:
                pieces = [chunk async for chunk in resp.content.iter_any()]
            assert time.monotonic() - t0 >= 0.36
            assert len(pieces) >= 2 and orjson.loads(b"".join(pieces)) == full
            assert [e["command"] for e in ex.journal()] == ["returnBalances"] * 4

    run(body())


def test_rules_match_by_command_count_and_until_cleared(run: Run) -> None:
    key, secret = _key()

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            ex.add_fault("http_502", command="returnFeeInfo", count=None)
            for _ in range(3):
                assert (await c.post(c.body("returnFeeInfo")))[0] == 502
                assert (await c.call("returnBalances"))[0] == 200  # other commands untouched
            ex.add_fault("http_503", command="returnTicker")  # public commands too
            assert (await c.public("returnOrderBook", currencyPair="BTC_ETH"))[0] == 200
            assert c.session is not None
            async with c.session.get(ex.url + "/public?command=returnTicker", ssl=c.ssl) as r:
                assert r.status == 503
            ex.clear_faults()
            assert (await c.call("returnFeeInfo"))[0] == 200
            with pytest.raises(ValueError):
                ex.add_fault("explode")
            with pytest.raises(ValueError):
                ex.add_fault("delay", command="returnEverything")

    run(body())
