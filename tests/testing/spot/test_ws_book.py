"""The stand-in's ``book_lv2`` stream, applied by a plain book, is the stand-in's own book.

Many random orders (placed, filled, cancelled over the private socket and over REST) move
BTC_USDT; a public socket subscribed to ``book_lv2`` follows it. After a ``ping`` on the public
socket (answered after every update queued before it), the test-side book's top levels equal
``GET /markets/BTC_USDT/orderBook``. The ``gap`` fault is detected; a ``duplicate`` is
recognised and ignored.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import Raw, Run, standin
from tests.testing.spot.wsclient import Gap, L2Book, Socket, connect, flat_levels

DEPTH = 20
SUBSCRIBE = {"event": "subscribe", "channel": ["book_lv2"], "symbols": ["BTC_USDT"]}


async def _follow(pub: Socket, book: L2Book) -> None:
    """Apply every ``book_lv2`` message queued on ``pub`` so far."""
    seen: list[Any] = []
    await pub.drain(seen)
    for message in seen:
        if message.get("channel") == "book_lv2":
            book.apply(message)


async def _rest_book(raw: Raw) -> tuple[list[Any], list[Any]]:
    answer = (await raw.call("GET", "/markets/BTC_USDT/orderBook", {"limit": str(DEPTH)})).json
    return flat_levels(answer["asks"]), flat_levels(answer["bids"])


async def _subscribe(pub: Socket) -> L2Book:
    book = L2Book()
    await pub.send(SUBSCRIBE)
    assert await pub.recv() == {
        "event": "subscribe", "channel": "book_lv2", "symbols": ["BTC_USDT"]
    }  # fmt: skip
    snapshot = await pub.recv()
    assert snapshot["action"] == "snapshot" and len(snapshot["data"][0]["asks"]) == DEPTH
    book.apply(snapshot)
    return book


@contextlib.asynccontextmanager
async def _market(
    **options: Any,
) -> AsyncIterator[tuple[SpotExchange, Raw, Socket, Socket, L2Book]]:
    """A stand-in, a public socket following BTC_USDT's book, an authenticated private one."""
    async with (
        standin(**options) as (ex, [raw]),
        connect(ex, "public", raw.session) as pub,
        connect(ex, "private", raw.session) as priv,
    ):
        book = await _subscribe(pub)
        await priv.auth(raw.key, raw.secret)
        yield ex, raw, pub, priv, book


def _random_order(rng: random.Random, mid: Decimal, i: int) -> dict[str, str]:
    side = rng.choice(["BUY", "SELL"])
    offset = Decimal(rng.randint(-30, 30)) / 1000 * Decimal("0.05")  # within about 1.5 %
    price = (mid * (1 + (offset if side == "BUY" else -offset))).quantize(Decimal("0.01"))
    return {
        "symbol": "BTC_USDT", "side": side, "type": "LIMIT", "price": str(price),
        "quantity": str(Decimal(rng.randint(1, 300)) / 10_000),
        "timeInForce": rng.choice(["GTC", "GTC", "GTC", "IOC"]), "clientOrderId": f"r{i}",
    }  # fmt: skip


def test_book_stream_equals_the_book_after_random_orders(run: Run) -> None:
    async def body() -> None:
        rng = random.Random(12)
        async with _market(rate_limit_scale=None) as (ex, raw, pub, priv, book):
            assert book.top(DEPTH) == await _rest_book(raw)
            mid = Decimal((await raw.call("GET", "/markets/BTC_USDT/price")).json["price"])
            open_ids: list[int] = []
            for i in range(300):
                if open_ids and rng.random() < 0.3:
                    victim = open_ids.pop(rng.randrange(len(open_ids)))
                    if rng.random() < 0.5:
                        await priv.request(f"x{i}", "cancelOrders", {"orderIds": [str(victim)]})
                    else:
                        await raw.call("DELETE", f"/orders/{victim}")
                    continue
                order = _random_order(rng, mid, i)
                if i % 3:
                    reply = await priv.request(f"o{i}", "createOrder", order)
                    oid = reply["data"][0]["orderId"]
                else:
                    oid = int((await raw.call("POST", "/orders", body=order)).json.get("id", 0))
                if oid:
                    open_ids.append(oid)
                if i % 50 == 49:  # check along the way, not only at the end
                    await _follow(pub, book)
                    assert book.top(DEPTH) == await _rest_book(raw)
            await _follow(pub, book)
            assert book.top(DEPTH) == await _rest_book(raw)
            assert book.updates > 50 and book.duplicates == 0
            fills = [f for f in ex.journal() if f["method"] == "create_order"]
            assert len(fills) > 150

    run(body())


async def _move_top(
    priv: Socket, ex: SpotExchange, n: int, tag: str, seen: list[Any] | None = None
) -> None:
    """Place ``n`` resting buys just under the best ask: each changes the top of the book."""
    best_ask = ex.venue.books.book("BTC_USDT").best("sell")
    assert best_ask is not None
    for i in range(n):
        price = str(best_ask - Decimal("0.01") * (i + 1))
        order = {"symbol": "BTC_USDT", "side": "BUY", "type": "LIMIT", "price": price,
                 "quantity": "0.001", "clientOrderId": f"{tag}{i}"}  # fmt: skip
        reply = await priv.request(f"{tag}{i}", "createOrder", order, seen)
        assert reply["data"][0]["code"] == 200


def test_gap_fault_is_detected(run: Run) -> None:
    async def body() -> None:
        async with _market() as (ex, raw, pub, priv, book):
            await _move_top(priv, ex, 1, "a")
            await _follow(pub, book)
            ex.add_ws_fault("gap", event="book_lv2")
            await _move_top(priv, ex, 2, "b")
            with pytest.raises(Gap):
                await _follow(pub, book)
            # Resubscribing gives a fresh snapshot that equals the book again.
            await pub.send(
                {"event": "unsubscribe", "channel": ["book_lv2"], "symbols": ["BTC_USDT"]}
            )
            assert (await pub.recv())["event"] == "unsubscribe"
            book = await _subscribe(pub)
            assert book.top(DEPTH) == await _rest_book(raw)

    run(body())


def test_duplicate_fault_is_recognised(run: Run) -> None:
    async def body() -> None:
        async with _market() as (ex, raw, pub, priv, book):
            await priv.send({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
            ex.add_ws_fault("duplicate", event="book_lv2")
            ex.add_ws_fault("duplicate", event="orders")
            seen: list[Any] = []
            await _move_top(priv, ex, 2, "d", seen)
            await _follow(pub, book)
            assert book.duplicates == 1 and book.updates == 2
            assert book.top(DEPTH) == await _rest_book(raw)
            await priv.drain(seen)
            events = [m["data"][0] for m in seen if m.get("channel") == "orders" and "data" in m]
            assert [e["clientOrderId"] for e in events] == ["d0", "d0", "d1"]
            assert events[0] == events[1]

    run(body())
