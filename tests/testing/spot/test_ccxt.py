"""ccxt 4.5.90, the most used Spot client, is accepted by the stand-in (sync and async).

One stand-in for the module (ccxt is slow to import and to load markets); each test uses a
key of its own so the tests do not see each other's orders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import Run

ccxt = pytest.importorskip("ccxt")
ccxt_async = pytest.importorskip("ccxt.async_support")

KEYS = make_keys(4)  # sync, async on asyncio, async on uvloop, bad secret


@pytest.fixture(scope="module")
def exchange() -> Iterator[SpotExchange]:
    """One stand-in (HTTPS) for the module, in a background thread."""
    with SpotExchange(KEYS).running() as ex:
        yield ex


def _point(client: Any, ex: SpotExchange) -> Any:
    client.urls["api"] = {"spot": ex.url, "swap": ex.url}
    return client


def _sync(key: str, secret: str, ex: SpotExchange) -> Any:
    # ccxt passes verify=(self.verify and self.validateServerSsl) to requests: with both set
    # to the CA file, requests trusts the stand-in's CA.
    config = {
        "apiKey": key,
        "secret": secret,
        "verify": ex.ca_path,
        "validateServerSsl": ex.ca_path,
    }
    return _point(ccxt.poloniex(config), ex)


def _check_order_flow(
    ex: SpotExchange, key: str, order: dict[str, Any], fetched: dict[str, Any]
) -> None:
    assert order["id"].isdigit() and order["clientOrderId"] == f"cc-{key[:4]}"
    assert fetched["id"] == order["id"] and fetched["status"] == "open"
    assert fetched["price"] == 30000 and fetched["amount"] == 0.01
    calls = [j for j in ex.journal() if j["key"] == key]
    assert [j["method"] for j in calls] == ["balances", "create_order", "get_order", "cancel_order"]
    assert all(j["status"] == 200 for j in calls)


def test_ccxt_sync(exchange: SpotExchange) -> None:
    key, secret = next(iter(KEYS.items()))
    client = _sync(key, secret, exchange)
    markets = client.load_markets()
    assert markets["BTC/USDT"]["id"] == "BTC_USDT" and markets["BTC/USDT"]["spot"]
    assert "USDT" in client.currencies and client.currencies["BTC"]["networks"]
    balance = client.fetch_balance()
    assert balance["USDT"]["free"] == 100000 and balance["USDT"]["used"] == 0
    order = client.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": f"cc-{key[:4]}"}
    )
    fetched = client.fetch_order(order["id"], "BTC/USDT")
    cancelled = client.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["id"] == order["id"]
    _check_order_flow(exchange, key, order, fetched)
    with pytest.raises(ccxt.InvalidOrder):  # 21312: the clientOrderId is used
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": f"cc-{key[:4]}"}
        )


def test_ccxt_async(exchange: SpotExchange, run: Run, loop_kind: str) -> None:
    key, secret = list(KEYS.items())[1 if loop_kind == "asyncio" else 2]

    async def body() -> None:
        client = _point(
            ccxt_async.poloniex({"apiKey": key, "secret": secret, "cafile": exchange.ca_path}),
            exchange,
        )
        try:
            await client.load_markets()
            balance = await client.fetch_balance()
            assert balance["BTC"]["free"] == 10
            cid = f"cc-{key[:4]}"
            order = await client.create_order(
                "BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": cid}
            )
            fetched = await client.fetch_order(order["id"], "BTC/USDT")
            await client.cancel_order(order["id"], "BTC/USDT")
        finally:
            await client.close()
        _check_order_flow(exchange, key, order, fetched)

    run(body())


def test_ccxt_bad_secret_is_refused(exchange: SpotExchange) -> None:
    key, secret = list(KEYS.items())[3]
    client = _sync(key, secret[::-1], exchange)
    client.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        client.fetch_balance()
