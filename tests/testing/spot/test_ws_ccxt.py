"""ccxt pro 4.5.90 against the stand-in's WebSocket: ``watch_order_book``, ``create_order_ws``,
``watch_orders``, ``cancel_all_orders_ws``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import Run

ccxt_pro = pytest.importorskip("ccxt.pro")


def _client(ex: SpotExchange, key: str, secret: str) -> Any:
    client = ccxt_pro.poloniex({"apiKey": key, "secret": secret, "cafile": ex.ca_path})
    client.urls["api"] = {
        "spot": ex.url,
        "swap": ex.url,
        "ws": {"public": ex.ws_url + "/public", "private": ex.ws_url + "/private"},
    }
    return client


def test_ccxt_pro(run: Run) -> None:
    async def body() -> None:
        (key, secret), *_ = make_keys(1).items()
        async with SpotExchange({key: secret}) as ex:
            client = _client(ex, key, secret)
            try:
                book = await client.watch_order_book("BTC/USDT")
                own = ex.venue.books.book("BTC_USDT")
                best_bid, best_ask = own.best("buy"), own.best("sell")
                assert best_bid is not None and best_ask is not None
                assert book["bids"][0][0] == float(best_bid)
                assert book["asks"][0][0] == float(best_ask)
                assert len(book["bids"]) == len(book["asks"]) == 20
                # An order just under the best ask: the next book update shows it.
                price = float(best_ask) - 0.01
                next_book = asyncio.ensure_future(client.watch_order_book("BTC/USDT"))
                order = await client.create_order_ws(
                    "BTC/USDT", "limit", "buy", 0.01, price, {"clientOrderId": "pro1"}
                )
                assert order["id"].isdigit() and order["clientOrderId"] == "pro1"
                book = await next_book
                assert book["bids"][0] == [price, 0.01]
                next_orders = asyncio.ensure_future(client.watch_orders("BTC/USDT"))
                while not any("orders" in s.subscriptions for s in ex.feeds.sockets):
                    await asyncio.sleep(0.005)  # until ccxt's subscription has arrived
                placed = await client.create_order_ws("BTC/USDT", "limit", "buy", 0.01, 30000)
                orders = await next_orders
                assert orders[-1]["id"] == placed["id"] and orders[-1]["status"] == "open"
                assert orders[-1]["price"] == 30000
                cancelled = await client.cancel_all_orders_ws()
                assert sorted(c["clientOrderId"] or "" for c in cancelled)[-1] == "pro1"
                with pytest.raises(ccxt_pro.InsufficientFunds):
                    await client.create_order_ws("BTC/USDT", "limit", "buy", 100, 30000)
            finally:
                await client.close()
            methods = [(j["http"], j["method"], j["status"]) for j in ex.journal()]
            assert methods[-4:] == [
                ("WS", "create_order", 200), ("WS", "create_order", 200),
                ("WS", "cancel_all_orders", 200), ("WS", "create_order", 400),
            ]  # fmt: skip

    run(body())
