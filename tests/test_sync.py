"""The blocking client (``polo_fast.sync.Client``) against the stand-in exchange.

Also checks that the generated methods (``polo_fast/_sync_api.py``, written by
``tools/gen_sync.py``) are current and mirror the async client exactly.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import inspect
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from polo_fast import errors
from polo_fast.client import Client as AsyncClient
from polo_fast.sync import Client
from polo_fast.testing.exchange import StandInExchange
from tests.conftest import make_keys

ROOT = Path(__file__).resolve().parents[1]
PAIR = "BTC_ETH"


def _gen_sync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "tools" / "gen_sync.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _async_methods() -> dict[str, Any]:
    return {
        name: fn
        for name, fn in inspect.getmembers(AsyncClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "close"
    }


@pytest.fixture(scope="module")
def exchange() -> Iterator[tuple[StandInExchange, dict[str, str]]]:
    keys = make_keys(3)
    with StandInExchange(keys, rate_limit=None).running() as ex:
        yield ex, keys


def _client(ex: StandInExchange, key: str, secret: str, **kw: Any) -> Client:
    return Client(key, secret, url=ex.url, ca_path=ex.ca_path, rate_limit=None, **kw)


def _polo_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("polo_fast.sync")]


# -- the generated methods ----------------------------------------------------------------------


def test_generated_methods_are_current() -> None:
    gen = _gen_sync()
    assert gen.TARGET.read_text() == gen.render(), "run: python tools/gen_sync.py"


def test_every_async_method_has_a_blocking_twin_with_the_same_signature() -> None:
    methods = _async_methods()
    assert {"buy", "return_balances", "public", "private", "warm_up"} <= set(methods)
    for name, fn in methods.items():
        twin = getattr(Client, name)
        assert not inspect.iscoroutinefunction(twin), name
        assert inspect.signature(twin) == inspect.signature(fn), name
        assert twin.__doc__, name
    assert inspect.signature(Client.__init__) == inspect.signature(AsyncClient.__init__)


def test_the_table_is_not_listed_again() -> None:
    """Every command method of the sync client comes from the async client (no own list)."""
    from polo_fast.commands import BY_METHOD

    assert set(BY_METHOD) <= set(_async_methods())
    own = {n for n, v in vars(Client).items() if callable(v) and not n.startswith("_")}
    assert own == set()


# -- round trips ---------------------------------------------------------------------------------


def test_round_trip_every_kind_of_call(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    before = len(ex.journal())
    with _client(ex, key, secret) as c:
        c.warm_up(2)
        ticker = c.return_ticker()
        bid = Decimal(ticker[PAIR]["highestBid"])
        assert c.return_order_book(PAIR, depth=3)["bids"][0][0] == ticker[PAIR]["highestBid"]
        assert c.public("returnOrderBook", currencyPair=PAIR, depth=1)["asks"]
        balances = c.return_balances()
        assert Decimal(balances["BTC"]) > 0
        order = c.buy(PAIR, (bid / 2).quantize(Decimal("1e-8")), Decimal("0.5"), post_only=True)
        number = order["orderNumber"]
        open_orders = c.return_open_orders(PAIR)
        assert [o["orderNumber"] for o in open_orders] == [number]
        moved = c.private("moveOrder", orderNumber=number, rate="0.001")
        assert moved["success"] == 1
        assert c.cancel_order(order_number=moved["orderNumber"])["success"] == 1
        assert c.return_open_orders(PAIR) == []
        assert c.return_balances()["BTC"] == balances["BTC"]
    commands = [e["command"] for e in ex.journal()[before:]]
    assert commands == [
        "returnBalances",
        "buy",
        "returnOpenOrders",
        "moveOrder",
        "cancelOrder",
        "returnOpenOrders",
        "returnBalances",
    ]


def test_many_threads_share_one_client(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, keys = exchange
    (k1, s1), (k2, s2) = list(keys.items())[1:3]
    before = len(ex.journal())
    results: list[Any] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)
    with Client(keys=[(k1, s1), (k2, s2)], url=ex.url, ca_path=ex.ca_path, rate_limit=None) as c:

        def worker(i: int) -> None:
            try:
                barrier.wait()
                for j in range(12):
                    if j % 3 == 0:
                        results.append(c.buy(PAIR, "0.001", "0.5", client_order_id=i * 100 + j))
                    else:
                        results.append(c.return_balances())
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert len(results) == 96
    journal = ex.journal()[before:]
    assert len(journal) == 96 and all(e["status"] == 200 for e in journal)
    assert Counter(e["command"] for e in journal) == {"buy": 32, "returnBalances": 64}
    ids = [e["params"]["clientOrderId"] for e in journal if e["command"] == "buy"]
    assert len(ids) == len(set(ids)) == 32  # each order exactly once
    for key in (k1, k2):
        nonces = [e["nonce"] for e in journal if e["key"] == key]
        assert nonces == sorted(set(nonces))  # in order per key: no nonce refusals
    for key, secret in ((k1, s1), (k2, s2)):  # leave the books as they were
        with _client(ex, key, secret) as own:
            for e in journal:
                if e["command"] == "buy" and e["key"] == key:
                    own.cancel_order(order_number=e["result"]["orderNumber"])


# -- errors ------------------------------------------------------------------------------------


def test_exceptions_keep_their_types(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    with _client(ex, key, secret) as c:
        with pytest.raises(errors.OrderNotFoundError) as info:
            c.cancel_order(order_number=12345)
        assert info.value.text.startswith("Invalid order number")
        with pytest.raises(errors.InsufficientFundsError):
            c.buy(PAIR, "1", "1000000")
        with pytest.raises(errors.PoloniexArgumentError):
            c.buy(PAIR, "1", "1", post_only=True, fill_or_kill=True)
        with pytest.raises(errors.PoloniexTypeError):
            c.return_order_book(PAIR, depth="10")  # type: ignore[arg-type]
        with pytest.raises(errors.WithdrawalsDisabledError):
            c.withdraw("BTC", "1", "addr")
        with pytest.raises(errors.UnknownCommandError):
            c.private("sendMeMoney")
        # A state-changing command cut after sending: never re-sent, outcome unknown.
        before = len(ex.journal())
        ex.add_fault("close_after", command="sell")
        with pytest.raises(errors.MayHaveExecutedError) as cut:
            c.sell(PAIR, "99", "0.01")
        assert isinstance(cut.value.__cause__, errors.TransportError)
        sells = [e for e in ex.journal()[before:] if e["command"] == "sell"]
        assert len(sells) == 1
        c.cancel_order(order_number=int(sells[0]["result"]["orderNumber"]))


def test_constructor_errors_propagate_and_leave_no_thread() -> None:
    threads = len(_polo_threads())
    with pytest.raises(errors.PoloniexTypeError):
        Client("ABCDEFGH-KEY", None)
    with pytest.raises(errors.PoloniexArgumentError):
        Client(keys=[])
    assert len(_polo_threads()) == threads


# -- lifecycle -----------------------------------------------------------------------------------


def test_close_stops_the_thread_and_is_idempotent(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    c = _client(ex, key, secret)
    thread = c._runner.thread
    assert thread.is_alive() and thread.daemon
    assert c.return_balances()
    c.close()
    assert not thread.is_alive() and c.closed
    c.close()
    with pytest.raises(RuntimeError, match="closed"):
        c.return_balances()


def test_a_dropped_client_stops_its_thread(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    c = _client(ex, key, secret)
    c.return_balances()
    thread = c._runner.thread
    del c
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_runs_on_uvloop_in_its_own_thread(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    uvloop = pytest.importorskip("uvloop")
    ex, keys = exchange
    key, secret = next(iter(keys.items()))

    async def where() -> tuple[type, str]:
        return type(asyncio.get_running_loop()), threading.current_thread().name

    with _client(ex, key, secret) as c:
        loop_type, name = c.run(where())
        assert loop_type is uvloop.Loop and name == c._runner.thread.name
        assert name != threading.current_thread().name


def test_calling_from_the_loop_thread_is_refused(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))

    async def inside() -> Any:
        return c.return_balances()

    with _client(ex, key, secret) as c:
        with pytest.raises(RuntimeError, match="own event-loop thread"):
            c.run(inside())
        assert c.return_balances()  # still usable


def test_repr_and_logs_never_show_the_secret(
    exchange: tuple[StandInExchange, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    caplog.set_level(logging.DEBUG)
    with _client(ex, key, secret) as c:
        c.return_balances()
        with pytest.raises(errors.OrderNotFoundError) as info:
            c.cancel_order(order_number=1)
        shown = repr(c)
        assert key[:8] in shown and key not in shown
    texts = [shown, str(info.value), repr(info.value), caplog.text]
    for text in texts:
        assert key not in text
        for i in range(len(secret) - 15):
            assert secret[i : i + 16] not in text


def test_an_interrupted_call_is_cancelled_on_the_loop(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    """Ctrl-C while waiting: the waiting thread gets KeyboardInterrupt, the loop a cancel."""
    import signal

    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    main = threading.main_thread().ident
    assert main == threading.get_ident() and main is not None

    def interrupt() -> None:
        started.wait()
        signal.pthread_kill(main, signal.SIGINT)  # what Ctrl-C does to the waiting thread

    with _client(ex, key, secret) as c:
        threading.Thread(target=interrupt).start()
        with pytest.raises(KeyboardInterrupt):
            c.run(forever())
        assert cancelled.wait(30)
        assert c.return_balances()  # the client still works
