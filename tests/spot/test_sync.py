"""The blocking Spot client (``polo_fast.spot.sync.Client``) against the Spot stand-in.

Also checks that its generated methods (``polo_fast/spot/_sync_api.py``, written by
``tools/gen_sync.py``) are current and mirror the async Spot client exactly, that the
machinery it shares with the legacy blocking client (:mod:`polo_fast._blocking`) keeps its
rules here: several threads at once, typed errors unchanged, a closed or forked client
refusing before anything is sent; and that the hand-written blocking twins of the WebSocket
streams (``order_events``, ``balance_events``, ``book_stream``) carry events across threads,
read the book consistently, end with the client and leave no task behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import multiprocessing
import os
import pickle
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polo_fast import errors
from polo_fast._blocking import BlockingStream, LoopThread, StreamSlot
from polo_fast.spot._sync_api import SpotSyncMethods
from polo_fast.spot.client import Client as AsyncClient
from polo_fast.spot.commands import ALL_ENDPOINTS
from polo_fast.spot.sync import BlockingBook, BookState, Client
from polo_fast.testing.keys import make_keys, make_secret
from polo_fast.testing.spot import SpotExchange
from tests.test_sync import _gen_sync

SYMBOL = "BTC_USDT"
#: A limit buy well below the stand-in's seeded market (BTC ~37000 USDT): it rests.
RESTING = {"type": "LIMIT", "price": "30000", "quantity": "0.01", "time_in_force": "GTC"}
#: The WebSocket streams: not generated, their blocking twins are written by hand.
STREAMS = ("order_events", "balance_events", "book_stream")

Keys = Iterator[tuple[str, str]]


def _async_methods() -> dict[str, Any]:
    """The async client's public coroutine methods that get a blocking twin."""
    return {
        name: fn
        for name, fn in inspect.getmembers(AsyncClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "close" and name not in STREAMS
    }


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[SpotExchange, Keys]]:
    """One stand-in for the module, and a fresh key of it for each test that asks."""
    keys = make_keys(20)
    with SpotExchange(keys=keys, tls=True, rate_limit_scale=None).running() as ex:
        yield ex, iter(keys.items())


def _client(ex: SpotExchange, key: str | None, secret: str | None, **kw: Any) -> Client:
    kw.setdefault("ws", False)
    return Client(
        key, secret, url=ex.url, ws_url=ex.ws_url, ca_path=ex.ca_path, rate_limits=None, **kw
    )


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("polo_fast.spot.sync")]


def _mine(ex: SpotExchange, key: str, since: int) -> list[dict[str, Any]]:
    """The journal entries of ``key`` from index ``since`` on."""
    return [e for e in ex.journal()[since:] if e["key"] == key]


# -- the generated methods ----------------------------------------------------------------------


def test_generated_methods_are_current() -> None:
    gen = _gen_sync()
    assert gen.SPOT_TARGET.read_text() == gen.render_spot(), "run: python tools/gen_sync.py"


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    gen = _gen_sync()
    text = gen.render_spot()
    target = tmp_path / "_sync_api.py"
    target.write_text(text.replace("def balances(", "def balance("))
    assert gen.write_or_check(target, text, ["--check"], "gen_sync.py") == 1
    assert gen.write_or_check(target, text, [], "gen_sync.py") == 0
    assert gen.write_or_check(target, text, ["--check"], "gen_sync.py") == 0
    assert target.read_text() == text


def test_every_async_method_has_a_blocking_twin_with_the_same_signature() -> None:
    methods = _async_methods()
    fixed = {
        "server_time", "markets", "currencies", "order_book", "balances", "create_order",
        "get_order", "open_orders", "cancel_order", "create_orders", "cancel_orders",
        "cancel_all_orders", "kill_switch", "kill_switch_status", "request", "warm_up",
    }  # fmt: skip
    assert fixed <= set(methods)
    twins = {name: getattr(Client, name) for name in [*methods, "__init__"]}
    methods["__init__"] = AsyncClient.__init__
    assert not [name for name, twin in twins.items() if inspect.iscoroutinefunction(twin)]
    signatures = {name: inspect.signature(fn) for name, fn in methods.items()}
    assert {name: inspect.signature(twin) for name, twin in twins.items()} == signatures
    del methods["__init__"]
    blocking = {  # the async docstrings, with the calls written as blocking ones
        name: (inspect.getdoc(fn) or "").replace("async with ", "with ").replace("await ", "")
        for name, fn in methods.items()
    }
    assert {name: inspect.getdoc(twins[name]) for name in methods} == blocking
    for name in STREAMS:  # hand-written, blocking (no coroutine, no async generator)
        twin = getattr(Client, name)
        assert not inspect.iscoroutinefunction(twin) and not inspect.isasyncgenfunction(twin)
        assert name not in vars(SpotSyncMethods), name


def test_the_table_is_not_listed_again() -> None:
    """Every endpoint method of the sync client comes from the async client (no own list):
    the only public methods written by hand are the streams' twins."""
    assert {ep.method for ep in ALL_ENDPOINTS} <= set(_async_methods())
    own = {n for n, v in vars(Client).items() if callable(v) and not n.startswith("_")}
    assert own == set(STREAMS)


def test_the_generator_skips_streams_and_overridden_names() -> None:
    """Async iterators and async context managers get no blocking twin, by annotation too."""
    gen = _gen_sync()

    class Base:
        async def fetch(self, n: int) -> int:
            """Fetch."""
            return n

        async def gone(self) -> None:
            """Overridden below by a plain attribute."""

    class Fake(Base):
        def __init__(self, key: str | None = None) -> None:
            self.key = key

        async def ticks(self) -> AsyncIterator[int]:  # an async generator: no coroutine
            yield 1

        async def stream(self) -> AsyncIterator[int]:  # a coroutine handing back an iterator
            return self.ticks()

        async def feed(self) -> AbstractAsyncContextManager[int]:
            raise NotImplementedError

        gone = None  # type: ignore[assignment]

    names = [n for n, _ in gen._methods(gen.Face(Fake, frozenset({"close"}), ""))]
    assert names == ["__init__", "fetch"]


# -- round trips ---------------------------------------------------------------------------------


def test_round_trip_of_the_fixed_methods(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    before = len(ex.journal())
    with _client(ex, key, secret) as c:
        c.warm_up(2)
        now = c.server_time()["serverTime"]
        assert isinstance(now, int) and abs(now - ex.now_ms()) < 60_000
        assert SYMBOL in {m["symbol"] for m in c.markets()}
        accounts = c.balances()
        usdt = next(b for b in accounts[0]["balances"] if b["currency"] == "USDT")
        made = c.create_order(SYMBOL, "BUY", client_order_id="sync-rt-1", **RESTING)
        assert made["clientOrderId"] == "sync-rt-1"
        by_id = c.get_order(made["id"])
        assert by_id == c.get_order(client_order_id="sync-rt-1")
        assert by_id["state"] == "NEW" and by_id["symbol"] == SYMBOL
        assert [o["id"] for o in c.open_orders(SYMBOL)] == [made["id"]]
        c.cancel_order(client_order_id="sync-rt-1")
        assert c.open_orders(SYMBOL) == []
        with pytest.raises(errors.ExchangeError) as none_armed:
            c.kill_switch_status()
        assert none_armed.value.code == 25020
        armed = c.kill_switch(60)
        assert armed["cancellationTime"] - armed["startTime"] == 60_000
        assert c.kill_switch_status()["cancellationTime"] == armed["cancellationTime"]
        c.kill_switch(-1)
        again = next(b for b in c.balances()[0]["balances"] if b["currency"] == "USDT")
        assert again["available"] == usdt["available"]
    calls = [e["method"] for e in _mine(ex, key, before)]
    assert Counter(calls)["create_order"] == 1
    assert [m for m in calls if m in ("create_order", "cancel_order", "kill_switch")] == [
        "create_order",
        "cancel_order",
        "kill_switch",
        "kill_switch",
    ]


def test_a_public_client_needs_no_key(standin: tuple[SpotExchange, Keys]) -> None:
    ex, _keys = standin
    with _client(ex, None, None) as c:
        assert c.server_time()["serverTime"] > 0
        assert c.order_book(SYMBOL, 5)["asks"]


def test_many_threads_share_one_client(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    before = len(ex.journal())
    barrier = threading.Barrier(8)
    with _client(ex, key, secret, connections=3) as c:
        c.warm_up(3)

        def worker(i: int) -> list[Any]:
            """Three rounds of order, balances, lookup of that order; all at once."""
            barrier.wait(30)
            done: list[Any] = []
            for j in range(3):
                made = c.create_order(SYMBOL, "BUY", client_order_id=f"thr-{i}-{j}", **RESTING)
                done += [made, c.balances(), c.get_order(made["id"])]
            return done

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = [r for rs in pool.map(worker, range(8)) for r in rs]  # raises a failure
        assert len(results) == 72
        assert [r["clientOrderId"] for r in results[2::3]] == [
            f"thr-{i}-{j}" for i in range(8) for j in range(3)
        ]
        journal = _mine(ex, key, before)
        assert all(e["status"] == 200 for e in journal)
        creates = [e["params"]["clientOrderId"] for e in journal if e["method"] == "create_order"]
        assert sorted(creates) == sorted(f"thr-{i}-{j}" for i in range(8) for j in range(3))
        assert len({o["id"] for o in c.open_orders(SYMBOL)}) == 24  # each order exactly once
        c.cancel_all_orders([SYMBOL])
        assert c.open_orders(SYMBOL) == []


def test_a_waiting_call_does_not_hold_the_client(standin: tuple[SpotExchange, Keys]) -> None:
    """Thread A's call waits on the loop while thread B's calls go through and release it."""
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret) as c:
        gate = c.run(_make_event())
        waiting = threading.Event()
        outcome: list[Any] = []

        async def wait_for_gate() -> str:
            waiting.set()
            await gate.wait()
            return "released"

        a = threading.Thread(target=lambda: outcome.append(c.run(wait_for_gate())))
        a.start()
        assert waiting.wait(30)
        assert c.balances() and c.server_time()  # while A is still blocked
        assert a.is_alive() and outcome == []

        async def release() -> None:
            gate.set()

        c.run(release())
        a.join(30)
        assert outcome == ["released"]


async def _make_event() -> asyncio.Event:
    return asyncio.Event()


# -- errors ------------------------------------------------------------------------------------


def test_typed_errors_come_through_unchanged(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret) as c:
        with pytest.raises(errors.OrderNotFoundError) as missing:
            c.get_order(client_order_id="never-placed")
        assert missing.value.code == 21301
        with pytest.raises(errors.InsufficientFundsError):
            c.create_order(SYMBOL, "BUY", type="LIMIT", price="30000", quantity="1000")
        c.create_order(SYMBOL, "BUY", client_order_id="sync-dup", **RESTING)
        with pytest.raises(errors.DuplicateClientOrderIdError) as dup:
            c.create_order(SYMBOL, "BUY", client_order_id="sync-dup", **RESTING)
        assert dup.value.code == 21312
        before = len(ex.journal())
        with pytest.raises(errors.PoloniexArgumentError):
            c.create_order(SYMBOL, "SIDEWAYS", **RESTING)
        with pytest.raises(errors.PoloniexArgumentError):
            c.create_order(SYMBOL, "BUY", client_order_id="no spaces", **RESTING)
        with pytest.raises(errors.PoloniexArgumentError, match="finite"):
            c.create_order(SYMBOL, "BUY", type="LIMIT", price=float("nan"), quantity="1")
        with pytest.raises(errors.PoloniexTypeError):
            c.create_order(SYMBOL, "BUY", type="LIMIT", price=True, quantity="1")
        assert _mine(ex, key, before) == []  # refused before anything was sent
        c.cancel_order(client_order_id="sync-dup")

        # The very object raised on the loop is the one the calling thread catches.
        sent = errors.RateLimitError("slow down")

        async def fails() -> None:
            raise sent

        with pytest.raises(errors.RateLimitError) as caught:
            c.run(fails())
        assert caught.value is sent


def test_a_wrong_secret_is_an_authentication_error(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, _secret = next(keys)
    wrong = make_secret()
    with _client(ex, key, wrong) as c:
        with pytest.raises(errors.AuthenticationError) as info:
            c.balances()
        shown = [repr(c), str(info.value), repr(info.value)]
    for text in shown:
        assert key not in text and wrong[:16] not in text


def test_a_lost_order_answer_is_settled_never_resent(standin: tuple[SpotExchange, Keys]) -> None:
    """The connection closes after the order executed: the client looks it up by its
    clientOrderId and returns what the exchange knows; the order is in the journal once."""
    ex, keys = standin
    key, secret = next(keys)
    before = len(ex.journal())
    with _client(ex, key, secret) as c:
        ex.add_fault("close_after", command="create_order")
        order = c.create_order(SYMBOL, "BUY", client_order_id="sync-lost", **RESTING)
        assert (order["clientOrderId"], order["state"]) == ("sync-lost", "NEW")
        calls = [(e["method"], e["params"]) for e in _mine(ex, key, before)]
        creates = [params["clientOrderId"] for method, params in calls if method == "create_order"]
        assert creates == ["sync-lost"]
        assert calls[1][0] == "get_order"  # the lookup, by cid
        c.cancel_order(client_order_id="sync-lost")


def test_websocket_trade_requests_have_blocking_twins(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    before = len(ex.journal())
    with _client(ex, key, secret, ws=True) as c:
        c.warm_up()
        made = c.ws_create_order(SYMBOL, "BUY", client_order_id="sync-ws-1", **RESTING)
        assert made["clientOrderId"] == "sync-ws-1"
        assert c.get_order(client_order_id="sync-ws-1")["state"] == "NEW"
        [gone] = c.ws_cancel_orders(client_order_ids=["sync-ws-1"])
        assert gone["clientOrderId"] == "sync-ws-1"
    over_ws = [e["method"] for e in _mine(ex, key, before) if e["http"] == "WS"]
    assert over_ws == ["create_order", "cancel_orders"]


# -- lifecycle -----------------------------------------------------------------------------------


def test_a_closed_client_refuses_before_sending(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    c = _client(ex, key, secret)
    thread = c._runner.thread
    assert thread.is_alive() and thread.daemon and not c.closed
    assert c.balances()
    c.close()
    assert not thread.is_alive() and c.closed
    c.close()  # idempotent
    before = len(ex.journal())
    with pytest.raises(RuntimeError, match=r"polo_fast\.spot\.sync\.Client is closed"):
        c.balances()
    with pytest.raises(RuntimeError, match="closed"):
        c.create_order(SYMBOL, "BUY", **RESTING)
    assert _mine(ex, key, before) == []
    assert "closed" in repr(c)


def test_constructor_errors_propagate_and_leave_no_thread() -> None:
    threads = len(_threads())
    with pytest.raises(errors.PoloniexError):
        Client("ABCDEFGH-KEY", make_secret(), url="ftp://127.0.0.1:9")
    with pytest.raises(errors.PoloniexError):
        Client("ABCDEFGH-KEY", make_secret(), url="https://127.0.0.1:9", connections=0)
    assert len(_threads()) == threads


def test_a_dropped_client_stops_its_thread(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    c = _client(ex, key, secret)
    c.server_time()
    thread = c._runner.thread
    assert thread.name.startswith("polo_fast.spot.sync-") and key[:8] in thread.name
    del c
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_calling_from_the_loop_thread_is_refused(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def inside() -> Any:
        return c.balances()

    with _client(ex, key, secret) as c:
        with pytest.raises(
            RuntimeError, match=r"own event-loop thread; use the async polo_fast\.spot"
        ):
            c.run(inside())
        assert c.balances()  # still usable


def test_repr_and_pickle_never_show_the_secret(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret) as c:
        shown = repr(c)
        assert shown.startswith("<polo_fast.spot.sync.Client ") and key[:8] in shown
        assert key not in shown and secret[:16] not in shown
        with pytest.raises(TypeError, match="cannot be pickled") as info:
            pickle.dumps(c)
        assert secret[:16] not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_a_forked_child_refuses_before_sending(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    c = _client(ex, key, secret)
    c.server_time()
    before = len(ex.journal())
    fork = multiprocessing.get_context("fork")
    answers, out = fork.Pipe(duplex=False)

    def in_the_child() -> None:  # report what the call did, never hang
        try:
            c.create_order(SYMBOL, "BUY", **RESTING)
            out.send("sent")
        except errors.PoloniexArgumentError as exc:
            out.send("refused" if "fork" in str(exc) else f"other: {exc}")
        except BaseException as exc:
            out.send(f"raised {type(exc).__name__}")

    child = fork.Process(target=in_the_child, daemon=True)
    child.start()
    try:
        assert answers.poll(30), "the child hung"
        assert answers.recv() == "refused"
        assert _mine(ex, key, before) == []
        assert c.server_time()  # the parent's client still works
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
        c.close()


def test_runs_on_its_own_loop_thread(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def where() -> str:
        asyncio.get_running_loop()
        return threading.current_thread().name

    with _client(ex, key, secret) as c:
        assert c.run(where()) == c._runner.thread.name != threading.current_thread().name
        assert isinstance(c.aclient, AsyncClient)


# -- the WebSocket streams' blocking twins -------------------------------------------------------


async def _pumps() -> list[asyncio.Task[Any]]:
    """The loop's stream pumps (what a blocking stream could leave behind)."""
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "_pump"]  # type: ignore[union-attr]


async def _ping_public(c: AsyncClient) -> None:
    """A barrier: the stand-in answers the ping after every book update queued before."""
    pub = c._ws_public_socket
    assert pub is not None
    await pub.conn.ping()


def _decimals(levels: list[tuple[str, str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in levels]


def _truth(c: Client) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """The stand-in's own top 20 levels per side (``GET /markets/{symbol}/orderBook``)."""
    flat = c.order_book(SYMBOL, 20)

    def pairs(levels: list[str]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(levels[i]), Decimal(levels[i + 1])) for i in range(0, len(levels), 2)]

    return pairs(flat["asks"]), pairs(flat["bids"])


def test_an_order_from_one_thread_shows_in_order_events_in_another(
    standin: tuple[SpotExchange, Keys],
) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret, ws=True) as c:
        reading = threading.Event()

        def reader() -> list[tuple[Any, str]]:
            got = []
            with c.order_events(timeout=30) as events:
                reading.set()
                for ev in events:
                    got.append((ev, threading.current_thread().name))
                    if ev.state == "CANCELED":
                        break
            return got

        def writer() -> str:
            made = c.ws_create_order(SYMBOL, "BUY", client_order_id="sync-ev-1", **RESTING)
            c.cancel_order(client_order_id="sync-ev-1")  # over REST: an event all the same
            return str(made["id"])

        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="bot") as pool:
            got = pool.submit(reader)
            assert reading.wait(30)
            order_id = pool.submit(writer).result(60)
            events = got.result(60)
        assert [(e.order_id, e.client_order_id, e.event_type, e.state) for e, _ in events] == [
            (order_id, "sync-ev-1", "place", "NEW"),
            (order_id, "sync-ev-1", "canceled", "CANCELED"),
        ]
        assert {name for _, name in events} == {"bot_0"}  # read in the reader's own thread
        assert not events[0][0].reconciled
        assert c.run(_pumps()) == []  # the with block stopped the pump


def test_balance_events_cross_threads(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret, ws=True) as c, c.balance_events(timeout=30) as balances:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            place = lambda: c.create_order(SYMBOL, "BUY", client_order_id="sync-bal-1", **RESTING)  # noqa: E731
            pool.submit(place).result(60)  # from another thread
            held = next(balances)
            pool.submit(c.cancel_order, client_order_id="sync-bal-1").result(60)
            back = next(balances)
        assert (held.currency, held.event_type, Decimal(held.hold)) == (
            "USDT", "place_order", Decimal(300),  # 0.01 x 30000 held
        )  # fmt: skip
        assert (back.currency, back.event_type, Decimal(back.hold)) == (
            "USDT", "canceled_order", Decimal(0),
        )  # fmt: skip
        assert Decimal(back.available) == Decimal(held.available) + Decimal(held.hold)


def test_break_stops_the_stream_on_the_loop_and_loses_nothing(
    standin: tuple[SpotExchange, Keys],
) -> None:
    """``break`` drops the stream: its pump is cancelled and its async iterator closed on
    the loop; the events it had taken but not handed out come first in the next stream."""
    ex, keys = standin
    key, secret = next(keys)
    cids = [f"sync-brk-{i}" for i in range(3)]
    with _client(ex, key, secret, ws=True) as c:
        c.warm_up()  # the socket is authenticated: its events are kept from now on
        for cid in cids:
            c.ws_create_order(SYMBOL, "BUY", client_order_id=cid, **RESTING)
        c.run(c.aclient._ws_private_socket.conn.ping())  # type: ignore[union-attr]
        seen = []
        for ev in c.order_events(timeout=30):
            seen.append(ev.client_order_id)
            break  # the other two were taken by the pump already (all were there at once)
        assert c.run(_pumps()) == []
        assert len(c._slots["order_events"].carry) == 2  # given back, for the next stream
        priv = c.aclient._ws_private_socket
        assert priv is not None and priv.orders._waiter is None  # nobody reads it now
        with c.order_events(timeout=30) as again:
            seen += [next(again).client_order_id for _ in cids[1:]]
            with pytest.raises(TimeoutError):
                again.get(timeout=0.05)  # nothing more, and nothing twice
        assert seen == cids


def test_one_reader_at_a_time_and_a_timeout_keeps_the_stream(
    standin: tuple[SpotExchange, Keys],
) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret, ws=True) as c:
        first = c.order_events(timeout=0.05)
        with pytest.raises(RuntimeError, match="one reader at a time"):
            c.order_events()
        with c.balance_events():  # another channel: its own reader
            pass
        with pytest.raises(TimeoutError):
            next(first)
        assert first.active and not first.closed  # a timeout does not end it
        c.ws_create_order(SYMBOL, "BUY", client_order_id="sync-one", **RESTING)
        assert first.get(timeout=30).client_order_id == "sync-one"
        first.close()
        assert first.closed and not first.active and list(first) == []
        with c.order_events(timeout=0.05) as second, pytest.raises(TimeoutError):
            next(second)  # free again
        with pytest.raises(errors.PoloniexArgumentError):
            c.order_events(timeout=0)
        assert c.run(_pumps()) == []


def test_book_stream_equals_the_stand_ins_book(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret, ws=True) as c, c.book_stream(SYMBOL) as book:
        assert isinstance(book, BlockingBook)
        c.run(_ping_public(c.aclient))
        state = book.state()
        assert isinstance(state, BookState) and state.synced and state.symbol == SYMBOL
        assert (_decimals(state.asks), _decimals(state.bids)) == _truth(c)
        assert book.best_bid() == state.bids[0] and book.best_ask() == state.asks[0]
        assert book.bids == state.bids and book.asks == state.asks and book.resyncs == 0
        assert book.wait_changed(timeout=0.05) is False  # nothing new since the last reading

        # A resting buy just under the best ask: the new best bid, seen by a waiting thread.
        best_ask = book.best_ask()
        assert best_ask is not None
        price = Decimal(best_ask[0]) - Decimal("0.01")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiter = pool.submit(book.wait_changed, 30)
            c.create_order(SYMBOL, "BUY", type="LIMIT", price=str(price), quantity="0.001",
                           client_order_id="sync-top")  # fmt: skip
            assert waiter.result(60) is True
        c.run(_ping_public(c.aclient))
        bid = book.best_bid()
        assert bid is not None and Decimal(bid[0]) == price
        assert (_decimals(book.asks), _decimals(book.bids)) == _truth(c)
        after = book.state()
        assert after.id > state.id and after.updates >= 1 and after.resyncs == 0
        c.cancel_order(client_order_id="sync-top")
        assert book.wait_changed(timeout=30) is True
        c.run(_ping_public(c.aclient))
        assert book.best_bid() == state.bids[0]


def test_a_book_is_read_only_inside_its_with_block(standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)
    with _client(ex, key, secret, ws=True) as c:
        stream = c.book_stream(SYMBOL)
        with pytest.raises(RuntimeError, match="not open"):
            stream.best_bid()
        with stream as book:
            assert book.best_bid() is not None
            with pytest.raises(RuntimeError, match="already open"):
                stream.__enter__()
        with pytest.raises(RuntimeError, match="not open"):
            book.wait_changed(1)
        pub = c.aclient._ws_public_socket
        assert pub is not None and pub.books == {}  # unsubscribed on leaving
        with pytest.raises(errors.PoloniexArgumentError):
            c.book_stream("").__enter__()


def test_closing_the_client_ends_every_stream(standin: tuple[SpotExchange, Keys]) -> None:
    """Readers blocked on events and on the book are released by ``close()`` from another
    thread: the iterations end, the wait raises; no thread and no task is left."""
    ex, keys = standin
    key, secret = next(keys)
    threads = len(_threads())
    c = _client(ex, key, secret, ws=True)
    runner = c._runner
    orders, balances = c.order_events(), c.balance_events()
    with c.book_stream(SYMBOL) as book:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            read_orders = pool.submit(list, orders)
            read_balances = pool.submit(list, balances)
            waiting = pool.submit(book.wait_changed)
            pumps = c.run(_pumps())
            assert len(pumps) == 2
            c.close()
            assert read_orders.result(30) == [] and read_balances.result(30) == []
            with pytest.raises((errors.ConnectionLost, RuntimeError), match="closed"):
                waiting.result(30)  # the book ended (or, later, the loop stopped)
        assert all(t.done() for t in pumps)
        with pytest.raises(RuntimeError, match="closed"):
            book.best_bid()
    assert not runner.thread.is_alive() and len(_threads()) == threads
    with pytest.raises(RuntimeError, match="closed"):
        c.order_events()
    with pytest.raises(RuntimeError, match="closed"):
        c.book_stream(SYMBOL).__enter__()


# -- the stream machinery alone (polo_fast._blocking.BlockingStream) ------------------------------


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread("stream-test", "the face", "the async face")
    try:
        yield runner
    finally:
        runner.stop()


async def _opened(source: AsyncIterator[Any]) -> AsyncIterator[Any]:
    return source


def test_a_slow_reader_holds_the_pump_back(loop_thread: LoopThread) -> None:
    """The pump takes at most ``window`` items ahead of the reader; the rest stay in the
    source; every item arrives once, in order."""
    made = 0

    async def numbers() -> AsyncIterator[int]:
        nonlocal made
        for i in range(3000):
            made += 1
            yield i

    got = []
    with BlockingStream(loop_thread, _opened(numbers()), timeout=30, window=8) as stream:
        for n in stream:
            got.append(n)
            assert made <= len(got) + 8 + 1  # queued (window) + the one the source holds
    assert got == list(range(3000))
    assert loop_thread.run(_pumps()) == []


def test_a_source_error_is_raised_once_then_the_stream_ends(loop_thread: LoopThread) -> None:
    boom = errors.ConnectionLost("cut")

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise boom

    stream = BlockingStream(loop_thread, _opened(failing()), timeout=30)
    assert next(stream) == 1
    with pytest.raises(errors.ConnectionLost) as info:
        next(stream)
    assert info.value is boom  # the very object
    assert list(stream) == [] and stream.closed and not stream.active


def test_an_opening_error_is_raised_and_leaves_nothing(loop_thread: LoopThread) -> None:
    async def refused() -> AsyncIterator[int]:
        raise errors.AuthenticationError("no")

    slot = StreamSlot("numbers()")
    with pytest.raises(errors.AuthenticationError):
        BlockingStream(loop_thread, refused(), slot=slot)
    assert slot.current is None and loop_thread.run(_pumps()) == []

    async def one() -> AsyncIterator[int]:
        yield 7

    with BlockingStream(loop_thread, _opened(one()), slot=slot) as stream:  # the slot is free
        assert list(stream) == [7]
