"""The stand-in's seven public commands: spec shapes, value types and error texts."""

from __future__ import annotations

import re
from decimal import Decimal

from polo_fast.commands import CHART_PERIODS, PUBLIC
from polo_fast.testing import StandInExchange
from tests.testing.conftest import Raw, Run

S8 = re.compile(r"-?\d+\.\d{8}\Z")
DT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\Z")


def _s8(v: object) -> bool:
    return isinstance(v, str) and bool(S8.match(v))


def test_public_shapes(run: Run) -> None:
    async def body() -> None:
        async with StandInExchange({}) as ex, Raw(ex.url, "", "", ex.ca_path) as c:
            _, ticker = await c.public("returnTicker")
            eth = ticker["BTC_ETH"]
            assert eth["id"] == 148 and eth["isFrozen"] == "0"
            for f in (
                "last",
                "lowestAsk",
                "highestBid",
                "percentChange",
                "baseVolume",
                "quoteVolume",
                "high24hr",
                "low24hr",
            ):
                assert _s8(eth[f]), f
            assert Decimal(eth["lowestAsk"]) > Decimal(eth["highestBid"])

            _, vol = await c.public("return24hVolume")
            assert set(vol["BTC_ETH"]) == {"BTC", "ETH"} and _s8(vol["totalBTC"])

            _, book = await c.public("returnOrderBook", currencyPair="BTC_ETH")
            assert len(book["asks"]) == len(book["bids"]) == 40  # default 50, 40 seeded
            rate, amount = book["asks"][0]
            assert _s8(rate) and isinstance(amount, (int, float))
            asks = [Decimal(a[0]) for a in book["asks"]]
            bids = [Decimal(b[0]) for b in book["bids"]]
            assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
            assert isinstance(book["seq"], int) and book["isFrozen"] == "0"
            _, every = await c.public("returnOrderBook", currencyPair="all", depth=2)
            assert len(every["USDT_BTC"]["asks"]) == 2 and set(every) == set(ticker)

            _, trades = await c.public("returnTradeHistory", currencyPair="BTC_ETH")
            assert len(trades) == 200
            t = trades[0]
            assert isinstance(t["globalTradeID"], int) and isinstance(t["tradeID"], int)
            assert DT.match(t["date"]) and t["type"] in ("buy", "sell") and _s8(t["total"])
            _, ranged = await c.public(
                "returnTradeHistory", currencyPair="BTC_ETH", start=0, end=4_000_000_000
            )
            assert len(ranged) == 200

            _, candles = await c.public(
                "returnChartData",
                currencyPair="BTC_ETH",
                period=900,
                start=1_700_000_000,
                end=1_700_003_600,
            )
            assert [k["date"] for k in candles] == list(range(1_700_000_100, 1_700_003_601, 900))
            assert all(isinstance(v, (int, float)) for k in candles for v in k.values())
            assert all(k["low"] <= k["open"] <= k["high"] for k in candles)

            _, cur = await c.public("returnCurrencies")
            assert cur["BTC"]["id"] == 28 and cur["BTC"]["depositAddress"] is None
            assert cur["XMR"]["mainAccount"] and _s8(cur["ETH"]["txFee"])

            _, loans = await c.public("returnLoanOrders", currency="BTC")
            offers = [Decimal(o["rate"]) for o in loans["offers"]]
            assert offers == sorted(offers) and loans["demands"]
            assert all(o["rangeMin"] <= o["rangeMax"] for o in loans["offers"])

    run(body())


def test_public_errors_and_reproducible_seed(run: Run) -> None:
    cases = [
        ({"command": "returnNothing"}, "Invalid command."),
        ({"command": "returnOrderBook"}, "Please specify a currency pair."),
        ({"command": "returnOrderBook", "currencyPair": "BTC_NOPE"}, "Invalid currency pair."),
        (
            {"command": "returnOrderBook", "currencyPair": "BTC_ETH", "depth": "101"},
            "Invalid depth.",
        ),
        (
            {
                "command": "returnChartData",
                "currencyPair": "BTC_ETH",
                "period": "60",
                "start": "0",
                "end": "1",
            },
            "Please specify a valid period.",
        ),
        (
            {
                "command": "returnChartData",
                "currencyPair": "BTC_ETH",
                "period": "300",
                "start": "x",
                "end": "1",
            },
            "Invalid start time.",
        ),
        ({"command": "returnLoanOrders"}, "Please specify a currency."),
    ]

    async def body() -> None:
        async with StandInExchange({}) as ex, Raw(ex.url, "", "", ex.ca_path) as c:
            for params, text in cases:
                command = params.pop("command")
                assert await c.public(command, **params) == (422, {"error": text}), text
            first = await c.public("returnOrderBook", currencyPair="USDT_BTC")
        async with StandInExchange({}, tls=False) as ex, Raw(ex.url, "", "", None) as c:
            assert await c.public("returnOrderBook", currencyPair="USDT_BTC") == first
        async with StandInExchange({}, tls=False, seed=2) as ex, Raw(ex.url, "", "", None) as c:
            assert await c.public("returnOrderBook", currencyPair="USDT_BTC") != first

    assert set(PUBLIC) == {
        "returnTicker",
        "return24hVolume",
        "returnOrderBook",
        "returnTradeHistory",
        "returnChartData",
        "returnCurrencies",
        "returnLoanOrders",
    }
    assert 300 in CHART_PERIODS
    run(body())


def test_public_ignores_parameters_it_does_not_read(run: Run) -> None:
    """A stray ``nonce`` (python-poloniex sends the last one) is ignored, as by the real API."""

    async def body() -> None:
        async with StandInExchange({}) as ex, Raw(ex.url, "", "", ex.ca_path) as c:
            status, book = await c.public(
                "returnOrderBook", currencyPair="BTC_ETH", depth=1, nonce=1700000000000
            )
            assert status == 200 and len(book["asks"]) == 1
            status, err = await c.public("returnOrderBook", depth=1)
            assert status == 422 and "error" in err

    run(body())


def test_python_poloniex_defaults_are_accepted(run: Run) -> None:
    """``currencyPair=ALL`` and float timestamps, as python-poloniex sends them by default."""

    async def body() -> None:
        async with StandInExchange({}) as ex, Raw(ex.url, "", "", ex.ca_path) as c:
            status, books = await c.public("returnOrderBook", currencyPair="ALL", depth=1)
            assert status == 200 and "BTC_ETH" in books
            status, candles = await c.public(
                "returnChartData",
                currencyPair="BTC_ETH",
                period=86400,
                start="1700000000.0",
                end="1700604800.5",
            )
            assert status == 200 and isinstance(candles, list) and candles
            status, err = await c.public(
                "returnChartData", currencyPair="BTC_ETH", period=86400, start="1.2.3", end="2"
            )
            assert status == 422 and "error" in err

    run(body())
