"""The local L2 book (``polo_fast.spot.book``) and ``book_stream`` against the stand-in.

Unit tests feed :class:`Book` made-up ``book_lv2`` items and compare it with a plain dict
model; stand-in tests move the market with random orders and compare the book with the
stand-in's own (``GET /markets/{symbol}/orderBook``) after a ``ping`` on the public socket
(the stand-in answers it after every update queued before).
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest

from polo_fast.errors import ConnectionLost
from polo_fast.spot.book import Book
from polo_fast.testing.spot import SpotExchange
from tests.spot.test_ws import Recording, ws_client
from tests.testing.spot.conftest import Raw, Run, standin

DEPTH = 20


# -- unit: the book alone -------------------------------------------------------------------------


def _item(
    ident: int, asks: list[list[str]], bids: list[list[str]], last: int | None = None
) -> dict[str, Any]:
    return {"symbol": "BTC_USDT", "asks": asks, "bids": bids, "id": ident,
            "lastId": ident - 1 if last is None else last, "ts": ident}  # fmt: skip


def _model_levels(side: dict[Decimal, tuple[str, str]], reverse: bool) -> list[tuple[str, str]]:
    return [level for _, level in sorted(side.items(), reverse=reverse)]


def _spelled(rng: random.Random, price: str) -> str:
    """``price`` as the exchange may write it: as is, a zero more, or its zeros stripped."""
    how = rng.randint(0, 2)
    if how == 1:
        return price + "0"
    if how == 2 and "." in price:
        return price.rstrip("0").rstrip(".")
    return price


def test_book_equals_a_model_after_10000_random_updates() -> None:
    """Sizes, removals and new levels, with prices spelled several ways ("37000.10",
    "37000.1", "37000.100" are one level: the model is keyed by the number)."""
    rng = random.Random(7)
    resyncs: list[Book] = []
    book = Book("BTC_USDT", resyncs.append)
    model: dict[str, dict[Decimal, tuple[str, str]]] = {"asks": {}, "bids": {}}

    def price(side: str) -> str:
        base = 37000 + (1 if side == "asks" else -1) * rng.randint(1, 150)
        return _spelled(rng, f"{base}.{rng.randint(0, 99):02d}")

    snap: dict[str, list[list[str]]] = {"asks": [], "bids": []}
    for side in ("asks", "bids"):
        for _ in range(100):
            p, q = price(side), f"0.{rng.randint(1, 9999):04d}"
            model[side][Decimal(p)] = (p, q)
        snap[side] = [list(level) for level in model[side].values()]
    book.on_message(_item(1, snap["asks"], snap["bids"]), "snapshot")
    respelled = 0
    for ident in range(2, 10_002):
        change: dict[str, list[list[str]]] = {"asks": [], "bids": []}
        for side in ("asks", "bids"):
            for _ in range(rng.randint(0, 3)):
                known = list(model[side])
                if known and rng.random() < 0.4:  # remove or resize a level
                    held = model[side][rng.choice(known)][0]
                    p = _spelled(rng, held)
                    respelled += p != held
                    q = rng.choice(["0", "0.00000000", f"1.{rng.randint(0, 99)}"])
                else:  # a new level, or a zero for a level we do not hold
                    p, q = price(side), rng.choice([f"0.{rng.randint(1, 99)}", "0"])
                change[side].append([p, q])
                if Decimal(q) == 0:
                    model[side].pop(Decimal(p), None)
                else:
                    model[side][Decimal(p)] = (p, q)
        book.on_message(_item(ident, change["asks"], change["bids"]), "update")
    assert respelled > 1000  # the spellings were exercised
    assert book.updates == 10_000 and book.id == 10_001 and resyncs == []
    assert book.asks == _model_levels(model["asks"], reverse=False)
    assert book.bids == _model_levels(model["bids"], reverse=True)
    assert book.best_ask() == book.asks[0] and book.best_bid() == book.bids[0]


def test_gap_asks_for_exactly_one_resync_and_a_snapshot_restarts() -> None:
    resyncs: list[Book] = []
    book = Book("BTC_USDT", resyncs.append)
    book.on_message(_item(5, [["2", "1"]], [["1", "1"]]), "update")  # before any snapshot
    assert (book.id, book.updates, resyncs) == (0, 0, [])
    book.on_message(_item(10, [["2", "1"]], [["1", "1"]]), "snapshot")
    book.on_message(_item(11, [["3", "1"]], []), "update")
    book.on_message(_item(11, [["3", "1"]], []), "update")  # a duplicate
    assert (book.updates, book.duplicates) == (1, 1)
    book.on_message(_item(13, [["4", "1"]], []), "update")  # 12 is missing
    book.on_message(_item(14, [["5", "1"]], []), "update")  # still out of step: no 2nd resync
    assert resyncs == [book] and book.resyncs == 1 and not book.synced
    assert book.asks == [] and book.best_ask() is None  # stale: not shown
    held = book._asks.levels
    assert [held[f] for f in book._asks.prices] == [("2", "1"), ("3", "1")]  # nothing applied
    book.on_message(_item(20, [["9", "2"]], [["8", "2"]]), "snapshot")
    book.on_message(_item(21, [["9", "0"]], []), "update")
    assert book.synced and book.best_ask() is None and book.best_bid() == ("8", "2")


def test_changed_wakes_on_the_next_update() -> None:
    async def body() -> None:
        book = Book("BTC_USDT")
        waiter = asyncio.ensure_future(book.changed())
        await asyncio.sleep(0)
        assert not waiter.done()
        book.on_message(_item(1, [], [["1", "1"]]), "snapshot")
        await asyncio.wait_for(waiter, 5)

    asyncio.run(body())


def test_a_message_applied_before_the_waiting_task_runs_still_wakes_it() -> None:
    """``changed()`` waits from the moment it is called: a snapshot handled by the loop
    between ``wait_for(book.changed(), t)`` and the waiting task's first step is not lost."""

    async def body() -> None:
        book = Book("BTC_USDT")
        waiting = asyncio.ensure_future(asyncio.wait_for(book.changed(), 2))
        book.on_message(_item(1, [], [["1", "1"]]), "snapshot")  # before `waiting` ran once
        await waiting

    asyncio.run(body())


def test_one_price_spelled_two_ways_is_one_level() -> None:
    book = Book("BTC_USDT")
    book.on_message(_item(1, [], [["1.0", "5"], ["0.5", "1"]]), "snapshot")
    book.on_message(_item(2, [], [["1.00", "7"]]), "update")
    assert book.bids == [("1.00", "7"), ("0.5", "1")]
    book.on_message(_item(3, [], [["1", "0"]]), "update")
    assert book.bids == [("0.5", "1")] and book.best_bid() == ("0.5", "1")


def test_a_stale_book_shows_no_level_and_wakes_its_readers() -> None:
    async def body() -> None:
        resyncs: list[Book] = []
        book = Book("BTC_USDT", resyncs.append)
        book.on_message(_item(1, [["2", "1"]], [["1", "1"]]), "snapshot")
        assert book.best_bid() == ("1", "1")
        waiter = asyncio.ensure_future(book.changed())
        await asyncio.sleep(0)
        book.on_message(_item(5, [], [], last=4), "update")  # a gap
        await asyncio.wait_for(waiter, 5)  # woken: the book went stale
        assert not book.synced and resyncs == [book]
        assert (book.best_bid(), book.best_ask(), book.bids, book.asks) == (None, None, [], [])
        book.on_message(_item(9, [["3", "1"]], []), "snapshot")
        assert book.synced and book.best_ask() == ("3", "1")
        waiter = asyncio.ensure_future(book.changed())
        await asyncio.sleep(0)
        book.stale()  # the socket dropped
        await asyncio.wait_for(waiter, 5)
        assert not book.synced and book.resyncs == 2 and book.best_ask() is None

    asyncio.run(body())


def test_an_ended_book_raises_in_changed() -> None:
    async def body() -> None:
        book = Book("BTC_USDT")
        book.on_message(_item(1, [], [["1", "1"]]), "snapshot")
        waiter = asyncio.ensure_future(book.changed())
        await asyncio.sleep(0)
        book.end("the client closed")
        with pytest.raises(ConnectionLost, match="the client closed"):
            await asyncio.wait_for(waiter, 5)
        with pytest.raises(ConnectionLost):
            await book.changed()
        assert not book.synced and book.best_bid() is None

    asyncio.run(body())


# -- the stand-in ---------------------------------------------------------------------------------


async def _truth(raw: Raw, symbol: str = "BTC_USDT") -> tuple[list[Any], list[Any]]:
    """The stand-in's own top levels, as (price, quantity) decimals."""
    answer = await raw.call("GET", f"/markets/{symbol}/orderBook", {"limit": str(DEPTH)})
    flat = answer.json

    def pairs(levels: list[str]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(levels[i]), Decimal(levels[i + 1])) for i in range(0, len(levels), 2)]

    return pairs(flat["asks"]), pairs(flat["bids"])


def _mine(book: Book) -> tuple[list[Any], list[Any]]:
    def dec(levels: list[tuple[str, str]]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(q)) for p, q in levels]

    return dec(book.asks), dec(book.bids)


async def _barrier(c: Recording) -> None:
    pub = c._ws_public_socket
    assert pub is not None
    await pub.conn.ping()


def _random_order(rng: random.Random, mid: Decimal) -> dict[str, Any]:
    side = rng.choice(["BUY", "SELL"])
    offset = Decimal(rng.randint(-30, 30)) / 1000 * Decimal("0.05")
    price = (mid * (1 + (offset if side == "BUY" else -offset))).quantize(Decimal("0.01"))
    return {"side": side, "type": "LIMIT", "price": str(price),
            "quantity": str(Decimal(rng.randint(1, 300)) / 10_000),
            "time_in_force": rng.choice(["GTC", "GTC", "GTC", "IOC"])}  # fmt: skip


async def _move(c: Recording, rng: random.Random, mid: Decimal, n: int) -> None:
    """``n`` random orders at once over the private socket (refusals are fine)."""
    await asyncio.gather(
        *(c.ws_create_order("BTC_USDT", **_random_order(rng, mid)) for _ in range(n)),
        return_exceptions=True,
    )


@pytest.mark.slow
def test_book_stream_equals_the_stand_in_after_10000_updates(run: Run) -> None:
    async def body() -> None:
        rng = random.Random(3)
        big = {"BTC": "1000000", "USDT": "100000000000"}
        async with (
            standin(rate_limit_scale=None, balances=big) as (ex, [raw]),
            ws_client(ex, raw) as c,
            c.book_stream("BTC_USDT") as book,
        ):
            assert _mine(book) == await _truth(raw)
            mid = Decimal((await raw.call("GET", "/markets/BTC_USDT/price")).json["price"])
            rounds = 0
            while book.updates < 10_000:
                await _move(c, rng, mid, 200)
                if len(await c.open_orders(limit=2000)) > 1500:
                    await c.ws_cancel_all_orders()
                rounds += 1
                if rounds % 10 == 0:  # along the way, not only at the end
                    await _barrier(c)
                    assert _mine(book) == await _truth(raw)
            await _barrier(c)
            assert _mine(book) == await _truth(raw)
            assert book.resyncs == 0 and book.duplicates == 0 and book.synced

    run(body())


async def _top_move(c: Recording, ex: SpotExchange, tag: str, n: int = 1) -> None:
    """``n`` resting buys just under the best ask: each one changes the top of the book."""
    best_ask = ex.venue.books.book("BTC_USDT").best("sell")
    assert best_ask is not None
    for i in range(n):
        price = str(best_ask - Decimal("0.01") * (i + 1))
        await c.ws_create_order("BTC_USDT", "BUY", type="LIMIT", price=price,
                                quantity="0.001", client_order_id=f"{tag}{i}")  # fmt: skip


def test_gap_triggers_exactly_one_resync(run: Run) -> None:
    async def body() -> None:
        async with (
            standin() as (ex, [raw]),
            ws_client(ex, raw) as c,
            c.book_stream("BTC_USDT") as book,
        ):
            await _top_move(c, ex, "a")
            await _barrier(c)
            assert book.updates == 1 and book.resyncs == 0
            ex.add_ws_fault("gap", event="book_lv2")
            before = book.id
            await _top_move(c, ex, "b", 3)  # the first update is never sent
            while not (book.synced and book.id >= before + 3):
                await asyncio.wait_for(book.changed(), 10)
            await _barrier(c)
            assert book.resyncs == 1 and book.synced
            assert _mine(book) == await _truth(raw)
            await _top_move(c, ex, "c", 2)
            await _barrier(c)
            assert _mine(book) == await _truth(raw) and book.resyncs == 1

    run(body())


def test_duplicate_update_is_ignored(run: Run) -> None:
    async def body() -> None:
        async with (
            standin() as (ex, [raw]),
            ws_client(ex, raw) as c,
            c.book_stream("BTC_USDT") as book,
        ):
            ex.add_ws_fault("duplicate", event="book_lv2")
            await _top_move(c, ex, "d", 2)
            await _barrier(c)
            assert (book.updates, book.duplicates, book.resyncs) == (2, 1, 0)
            assert _mine(book) == await _truth(raw)

    run(body())


def test_books_share_one_public_socket_and_resync_after_a_drop(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            async with (
                c.book_stream("BTC_USDT") as btc,
                c.book_stream("LTC_USDT") as ltc,
                c.book_stream("BTC_USDT") as again,
            ):
                pub = c._ws_public_socket
                assert pub is not None and again is btc and pub.conn.generation == 1
                assert btc.best_bid() is not None and ltc.best_ask() is not None
                assert _mine(ltc) == await _truth(raw, "LTC_USDT")
                waiter = asyncio.ensure_future(btc.changed())
                await asyncio.sleep(0)
                pub.conn.drop()
                assert not pub.conn.is_ready
                await asyncio.wait_for(waiter, 10)  # the drop itself wakes a reader
                assert not btc.synced and not ltc.synced and not pub.conn.is_ready
                await pub.conn.ready()  # reconnected; every book subscribed again
                while not btc.synced:
                    await asyncio.wait_for(btc.changed(), 10)
                while not ltc.synced:
                    await asyncio.wait_for(ltc.changed(), 10)
                assert pub.conn.generation == 2 and btc.resyncs == ltc.resyncs == 1
                await _top_move(c, ex, "s")
                await _barrier(c)
                assert _mine(btc) == await _truth(raw)
            assert pub.books == {}  # every stream left: nothing subscribed
            assert not btc.synced and btc.best_bid() is None  # a left book is not kept
            with pytest.raises(ConnectionLost, match="ended"):
                await btc.changed()

    run(body())


def test_a_second_stream_of_a_market_waits_for_its_snapshot(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            streams = [c.book_stream("BTC_USDT"), c.book_stream("BTC_USDT")]

            async def enter(cm: Any) -> tuple[Book, bool]:
                book = await cm.__aenter__()
                return book, book.synced

            (first, synced1), (second, synced2) = await asyncio.gather(*map(enter, streams))
            try:
                assert second is first and synced1 and synced2
                assert second.best_bid() is not None
            finally:
                for cm in streams:
                    await cm.__aexit__(None, None, None)

    run(body())


def test_a_reader_in_changed_is_told_when_the_client_closes(run: Run) -> None:
    async def body() -> None:
        async with (
            standin() as (ex, [raw]),
            ws_client(ex, raw) as c,
            c.book_stream("BTC_USDT") as book,
        ):
            waiter = asyncio.ensure_future(book.changed())
            await asyncio.sleep(0)
            await c.close()
            with pytest.raises(ConnectionLost, match="closed"):
                await asyncio.wait_for(waiter, 10)
            assert not book.synced

    run(body())
