"""The blocking Spot client: :class:`polo_fast.spot.Client`'s methods for scripts and threads.

::

    from polo_fast.spot.sync import Client

    with Client(KEY, SECRET) as c:
        c.warm_up()
        print(c.balances())
        c.create_order("BTC_USDT", "BUY", type="LIMIT", price="20000", quantity="0.001")

Each :class:`Client` owns a private event loop (uvloop when installed) running in a daemon
thread, and an async :class:`polo_fast.spot.client.Client` living on it; the machinery is the
legacy blocking client's (:mod:`polo_fast._blocking`), so the rules are the same:

- any number of threads may call one client at once; each call is one request on the async
  client's pool of warm lanes, exactly as concurrent calls in async code;
- exceptions come out with their types (and objects) unchanged: ``except
  polo_fast.errors.InsufficientFundsError`` works as with the async client, and a lost answer
  to an order is settled by its ``clientOrderId`` the same way (``MayHaveExecutedError``
  with ``client_order_id`` only when the exchange cannot tell);
- ``close()`` (or leaving the ``with`` block) closes the async client (disarming a kept
  kill switch, waiting for the calls in flight) and stops the thread; a client that is
  garbage-collected without ``close()`` stops its thread too;
- a call from the client's own loop thread raises ``RuntimeError``; an interrupted call
  (``KeyboardInterrupt`` in the waiting thread) cancels the request on the loop and
  re-raises; a client crossed by ``os.fork()`` refuses every call in the child before
  sending anything.

The methods are the async client's, with the same names, arguments, annotations and
docstrings: generated into ``polo_fast/spot/_sync_api.py`` by ``tools/gen_sync.py`` from
:class:`polo_fast.spot.client.Client` itself (a test fails when that file is stale).

The WebSocket streams are written here by hand, as blocking twins of the async ones:

::

    for ev in c.order_events(timeout=30):      # or c.balance_events()
        print(ev.client_order_id, ev.state)

    with c.book_stream("BTC_USDT") as book:
        while book.wait_changed(timeout=5):
            print(book.best_bid(), book.best_ask())

- :meth:`Client.order_events` / :meth:`Client.balance_events` hand back a
  :class:`polo_fast._blocking.BlockingStream`: the async iterator runs on the client's loop
  and its items cross to the reading thread through a thread-safe queue. Closing the client
  ends the iteration (after the events already received); ``break`` (dropping the stream),
  ``close()`` or leaving ``with`` stops the async iterator on the loop, leaving no task.
  One reader per stream kind at a time, as in async code.
- :meth:`Client.book_stream` hands back a :class:`BlockingBook`: the local book lives on the
  loop, which changes it; every reading (``best_bid()``, ``bids``, :meth:`BlockingBook.state`)
  is taken there, in one step, so it is never half an update.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from polo_fast._blocking import BlockingClient, BlockingStream, LoopThread, StreamSlot
from polo_fast.spot._sync_api import SpotSyncMethods

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.spot._ws_client import BalanceEvent, OrderEvent
    from polo_fast.spot.book import Book, Level
    from polo_fast.spot.client import Client as AsyncClient

__all__ = ["BlockingBook", "BookState", "Client"]

T = TypeVar("T")


class Client(BlockingClient["AsyncClient"], SpotSyncMethods):
    """The blocking Poloniex Spot client: :class:`polo_fast.spot.Client`'s constructor and
    methods, each call waiting for its answer, and blocking twins of its WebSocket streams.

    ``with Client(key, secret, url=..., ca_path=...) as c: c.balances()``. Safe to share
    between threads. See the module docstring.
    """

    _face = "polo_fast.spot.sync.Client"
    _async_face = "polo_fast.spot.Client"

    _slots: dict[str, StreamSlot]

    @staticmethod
    def _async_class() -> type[AsyncClient]:
        """:class:`polo_fast.spot.client.Client`, imported when the first client starts."""
        from polo_fast.spot.client import Client as AsyncClient

        return AsyncClient

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """The base's start, with one :class:`StreamSlot` per event stream."""
        self._slots = {kind: StreamSlot(f"{kind}()") for kind in ("order_events", "balance_events")}
        super()._start(args, kwargs)

    # -- the WebSocket streams ------------------------------------------------------------------
    def order_events(self, *, timeout: float | None = None) -> BlockingStream[OrderEvent]:
        """``for ev in c.order_events():`` the private ``orders`` channel as
        :class:`~polo_fast.spot._ws_client.OrderEvent` items (as the async
        :meth:`polo_fast.spot.Client.order_events`: buffered from the moment the private socket
        authenticated, reconciled after reconnects).

        Returns once the private socket is open and authenticated (opening it if needed).
        The iteration ends when the client closes (after the events already received);
        ``break``, ``close()`` or ``with`` stop it earlier, and the events it had received
        but not handed out come first in the next ``order_events()``: none is lost.

        Args:
            timeout: seconds each ``next()`` waits at most (then :class:`TimeoutError`, and
                the stream stays usable); None: as long as it takes.

        Raises:
            RuntimeError: another ``order_events()`` stream of this client is still open,
                or the client is closed.
            AuthenticationError, ConnectError: the private socket could not be set up.
            PoloniexArgumentError: ``timeout`` is not positive.
        """
        return self._events("order_events", timeout)

    def balance_events(self, *, timeout: float | None = None) -> BlockingStream[BalanceEvent]:
        """``for ev in c.balance_events():`` the private ``balances`` channel as
        :class:`~polo_fast.spot._ws_client.BalanceEvent` items (as :meth:`order_events`)."""
        return self._events("balance_events", timeout)

    def _events(self, kind: str, timeout: float | None) -> BlockingStream[Any]:
        opening = _open_events(self._aclient, kind)
        return BlockingStream(self._runner, opening, timeout=timeout, slot=self._slots[kind])

    def book_stream(self, symbol: str) -> BlockingBook:
        """``with c.book_stream("BTC_USDT") as book:`` the local L2 book of ``symbol`` kept
        on the client's loop from the public ``book_lv2`` channel (as the async
        :meth:`polo_fast.spot.Client.book_stream`, whose book it reads): see
        :class:`BlockingBook`.

        Raises (on entering the ``with``):
            ConnectError: the public socket could not be opened.
            PoloniexArgumentError: ``symbol`` is not a market name.
            RuntimeError: the client is closed.
        """
        return BlockingBook(self, symbol)


async def _open_events(aclient: AsyncClient, kind: str) -> AsyncIterator[Any]:
    """The async client's ``kind`` stream, once its private socket is set up (so refusals
    and set-up errors are raised to the caller of the blocking stream)."""
    await aclient._ws_private()  # refused when closed; opens and authenticates when needed
    stream: AsyncIterator[Any] = getattr(aclient, kind)()
    return stream


class BookState(NamedTuple):
    """One reading of a local book, taken on the loop in one step.

    Attributes:
        symbol: the market.
        id: the ``id`` of the last ``book_lv2`` message applied; ``ts``: its time (ms).
        bids: (price, quantity) texts, best (highest) first; ``asks``: best (lowest) first.
        synced: False from a gap or a drop to the next snapshot.
        resyncs: fresh snapshots needed so far; ``updates``: updates applied.
    """

    symbol: str
    id: int
    ts: int
    bids: list[Level]
    asks: list[Level]
    synced: bool
    resyncs: int
    updates: int


def _state(book: Book) -> BookState:
    return BookState(book.symbol, book.id, book.ts, book.bids, book.asks, book.synced,
                     book.resyncs, book.updates)  # fmt: skip


def _resyncs(book: Book) -> int:
    return book.resyncs


def _synced(book: Book) -> bool:
    return book.synced


_Version = tuple[int, int, int, bool]


def _version(book: Book) -> _Version:
    """What tells one state of a book from the next: a snapshot changes ``id`` and
    ``synced``, an update ``id`` and ``updates``, going stale ``synced`` and ``resyncs``."""
    return book.id, book.updates, book.resyncs, book.synced


def _versioned(fn: Callable[[Book], T], book: Book) -> tuple[T, _Version]:
    return fn(book), _version(book)


async def _changed(book: Book, seen: _Version, timeout: float | None) -> tuple[bool, _Version]:
    """Wait (on the loop) until ``book``'s version is no longer ``seen``, or ``timeout``."""
    if _version(book) == seen:
        # Book.changed() sets the book's waiter only when its task first runs; a message
        # applied before that wakes nobody. So: start it, yield once (its first step runs
        # before this one resumes: FIFO), and look again before waiting.
        waiting = asyncio.ensure_future(book.changed())
        try:
            await asyncio.sleep(0)
            if _version(book) == seen:
                await asyncio.wait_for(waiting, timeout)
        except asyncio.TimeoutError:
            return False, seen
        finally:
            if not waiting.done():
                waiting.cancel()  # left waiting (the book's own waiter is shielded)
            elif not waiting.cancelled():
                waiting.exception()  # retrieved (raised above, or not needed): never logged
    return True, _version(book)


class BlockingBook:
    """A blocking view of one :class:`polo_fast.spot.book.Book` (``c.book_stream(symbol)``).

    The book itself stays on the client's loop, which applies the stream's updates to it.
    Each reading here is taken there in one step (:meth:`LoopThread.call`): a reading is
    never half an update, and two readings may differ when an update came between them;
    :meth:`state` reads everything at once. :meth:`wait_changed` waits for a book newer than
    the view's last reading (or wait), so a change that came in between is never missed.
    Readings outside the ``with`` block raise ``RuntimeError``: the book is not kept then.
    """

    __slots__ = ("_aclient", "_book", "_cm", "_runner", "_seen", "symbol")

    def __init__(self, client: Client, symbol: str) -> None:
        self._runner: LoopThread = client._runner
        self._aclient = client._aclient
        self.symbol = symbol
        self._cm: Any = None
        self._book: Book | None = None
        self._seen: _Version = (0, 0, 0, False)

    def __enter__(self) -> BlockingBook:
        if self._cm is not None:
            raise RuntimeError(f"the {self.symbol} book stream is already open")
        cm = self._aclient.book_stream(self.symbol)
        book = self._runner.run(cm.__aenter__())
        self._seen = self._runner.call(_version, book)
        self._book = book
        self._cm = cm
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Leave the book stream (unsubscribe when no other stream of the client reads this
        market); idempotent. A closed client's books went with it."""
        cm, self._cm, self._book = self._cm, None, None
        if cm is not None and not self._runner.stopped:
            self._runner.run(cm.__aexit__(None, None, None))

    def _open_book(self) -> Book:
        book = self._book
        if book is None:
            raise RuntimeError(
                f"the {self.symbol} book stream is not open: read it inside "
                f'"with c.book_stream({self.symbol!r}) as book:"'
            )
        return book

    def _read(self, fn: Callable[[Book], T]) -> T:
        read: tuple[T, _Version] = self._runner.call(_versioned, fn, self._open_book())
        self._seen = read[1]
        return read[0]

    def best_bid(self) -> Level | None:
        """The highest bid as (price, quantity) texts, or None when there is none."""
        return self._read(_best_bid)

    def best_ask(self) -> Level | None:
        """The lowest ask as (price, quantity) texts, or None when there is none."""
        return self._read(_best_ask)

    @property
    def bids(self) -> list[Level]:
        """The bids as (price, quantity) texts, best (highest) first."""
        return self._read(_bids)

    @property
    def asks(self) -> list[Level]:
        """The asks as (price, quantity) texts, best (lowest) first."""
        return self._read(_asks)

    @property
    def resyncs(self) -> int:
        """Fresh snapshots needed after a gap or a dropped socket."""
        return self._read(_resyncs)

    @property
    def synced(self) -> bool:
        """True while the book follows the stream (False from a gap to the next snapshot)."""
        return self._read(_synced)

    def state(self) -> BookState:
        """Everything at once: both sides, ``id``, ``ts``, ``synced``, the counters."""
        return self._read(_state)

    def wait_changed(self, timeout: float | None = None) -> bool:
        """Wait until the book changed (a snapshot or an update applied, or it went stale:
        check :attr:`synced`) since this view's last reading or wait (or since the ``with``
        began): at once when it already did.

        Returns:
            True when it changed; False when ``timeout`` seconds passed first.

        Raises:
            ConnectionLost: the stream ended while waiting (the client closed).
            RuntimeError: the stream is not open, or the client's loop stopped meanwhile.
        """
        try:
            changed, self._seen = self._runner.run(_changed(self._open_book(), self._seen, timeout))
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            raise RuntimeError(f"{Client._face} closed while waiting for a change") from None
        return changed

    def __repr__(self) -> str:
        state = "open" if self._book is not None else "closed"
        return f"<BlockingBook {self.symbol} {state}>"


def _best_bid(book: Book) -> Level | None:
    return book.best_bid()


def _best_ask(book: Book) -> Level | None:
    return book.best_ask()


def _bids(book: Book) -> list[Level]:
    return book.bids


def _asks(book: Book) -> list[Level]:
    return book.asks
