"""The blocking faces' machinery: a private event loop in a daemon thread, and the base both
blocking clients stand on (:class:`polo_fast.sync.Client` for the legacy API,
:class:`polo_fast.spot.sync.Client` for the Spot API).

A :class:`BlockingClient` starts a :class:`LoopThread` (uvloop's loop when installed), opens
its dialect's async client on it (``async with``), and runs every call there, blocking the
calling thread until it finishes:

- any number of threads may call one client at once: each call is one coroutine on the loop,
  so the async client's own policy (lanes, gates, limiter) applies exactly as in async code;
- exceptions come out with their types (and objects) unchanged;
- a call from the loop's own thread would wait for itself: ``RuntimeError``; a call in a child
  crossed by ``os.fork()`` (the loop thread exists only in the parent) is refused before
  anything is sent; a call after ``close()``: ``RuntimeError``;
- an interrupted wait (``KeyboardInterrupt`` in the calling thread) cancels the call on the
  loop and re-raises;
- ``close()`` closes the async client (which waits for the calls in flight, up to its
  ``timeout``) and stops the thread; a client garbage-collected without ``close()`` does the
  same through ``weakref.finalize``.

A face subclasses :class:`BlockingClient` with its names (:attr:`BlockingClient._face`,
:attr:`BlockingClient._async_face`) and :meth:`BlockingClient._async_class`, and mixes in its
generated methods (``tools/gen_sync.py``), which hand each call to
:meth:`BlockingClient._call`.

An async iterator of the client (a WebSocket event stream) is read from a blocking thread
through a :class:`BlockingStream`: a task on the loop (the pump) moves its items to a
thread-safe queue, within a window so a slow reader holds the pump back (the async
iterator's own bounded buffer keeps the rest); closing or dropping the stream cancels the
pump and closes the async iterator on the loop, and a :class:`StreamSlot` hands the items
taken but not read to the next stream over the same source. :meth:`LoopThread.call` reads
state the loop changes (e.g. a local order book) in one step on the loop.

Imports nothing of polo_fast but the error tree, the secret holder and the loop factory; the
async client is imported when the first client starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from polo_fast._loop import new_event_loop
from polo_fast._secret import HoldsSecret
from polo_fast.errors import PoloniexArgumentError, key_prefix

__all__ = ["AsyncFace", "BlockingClient", "BlockingStream", "LoopThread", "StreamSlot"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_B = TypeVar("_B", bound="BlockingClient[Any]")
_S = TypeVar("_S", bound="BlockingStream[Any]")


class AsyncFace(Protocol):
    """What a blocking face needs of its async client: ``async with`` (open, close)."""

    async def __aenter__(self) -> Any: ...  # pragma: no cover - a protocol

    async def __aexit__(self, *exc: Any) -> Any: ...  # pragma: no cover - a protocol


A = TypeVar("A", bound=AsyncFace)


class LoopThread:
    """An event loop running forever in a daemon thread, with a blocking ``run(coro)``.

    Args:
        name: the thread's name.
        face: the public name of the client using it (``polo_fast.sync.Client``), for the
            refusals' messages.
        async_face: the async client to use on a loop instead (``polo_fast.Client``).
    """

    def __init__(self, name: str, face: str, async_face: str) -> None:
        self.loop = new_event_loop()  # uvloop's when installed
        self.pid = os.getpid()
        self.face = face
        self.async_face = async_face
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._stopped = False
        self._lock = threading.Lock()
        self.thread.start()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` ran."""
        return self._stopped

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it in the calling thread.

        Raises:
            RuntimeError: called from the loop's own thread, or after ``stop()``.
            PoloniexArgumentError: called in a forked child (the loop thread is not there).
            BaseException: whatever ``coro`` raised, unchanged.
        """
        if os.getpid() != self.pid:
            coro.close()
            raise PoloniexArgumentError(
                f"this {self.face} was created in another process (before a fork) "
                "and its loop thread does not exist here; nothing was sent: create one "
                "client per process, after the fork"
            )
        if threading.get_ident() == self.thread.ident:
            coro.close()
            raise RuntimeError(
                f"{self.face} was called from its own event-loop thread; "
                f"use the async {self.async_face} there"
            )
        if self._stopped:
            coro.close()
            raise RuntimeError(f"{self.face} is closed")
        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result()
        except BaseException:
            if not fut.done():  # interrupted while waiting (KeyboardInterrupt, SystemExit)
                fut.cancel()
            raise

    def call(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Call the plain function ``fn(*args)`` on the loop and wait for its result: a
        consistent reading of state the loop changes. The refusals are :meth:`run`'s."""
        return self.run(_invoke(fn, args))

    def stop(self) -> None:
        """Stop the loop (after its current callbacks) and join the thread; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if os.getpid() != self.pid:
            return  # a forked child: the thread (and its loop) exist only in the parent
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if threading.get_ident() != self.thread.ident:
                self.thread.join()


async def _invoke(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(*args)


async def _open(make: Callable[..., A], args: tuple[Any, ...], kwargs: dict[str, Any]) -> A:
    client = make(*args, **kwargs)
    await client.__aenter__()
    return client


async def _close(client: AsyncFace) -> None:
    await client.__aexit__(None, None, None)


def _finalize(runner: LoopThread, client: AsyncFace) -> None:
    """Close a client that was dropped without ``close()`` (best effort), stop its thread."""
    try:
        if not runner.stopped and runner.thread.is_alive():
            runner.run(_close(client))
    except Exception:  # at interpreter exit or from gc: never raise here
        log.debug("closing a dropped %s failed", runner.face, exc_info=True)
    finally:
        runner.stop()


class BlockingClient(HoldsSecret, Generic[A]):
    """The machinery under a blocking client: the loop thread and the generic call.

    A subclass names itself (``_face``, ``_async_face``) and its async client
    (:meth:`_async_class`); its generated methods call :meth:`_start` from ``__init__`` and
    :meth:`_call` from every method.
    """

    #: The public name of the blocking client (messages, ``repr``; its module names the thread).
    _face: ClassVar[str] = "polo_fast.sync.Client"
    #: The async client to use from coroutines instead (in the refusal from the loop thread).
    _async_face: ClassVar[str] = "polo_fast.Client"

    _runner: LoopThread
    _aclient: A
    _key_shown: str

    @staticmethod
    def _async_class() -> Callable[..., A]:
        """The async client class (imported here, on first use)."""
        raise NotImplementedError  # pragma: no cover - every face names its own

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Start the loop thread and open the async client on it with the constructor's
        arguments; on failure stop the thread and re-raise the constructor's error."""
        key = args[0] if args else kwargs.get("key")
        if key is None and kwargs.get("keys"):
            keys = kwargs["keys"]
            first = next(iter(keys.items() if isinstance(keys, dict) else keys), (None,))
            key = first[0]
        self._key_shown = key_prefix(key if isinstance(key, str) else None)
        module = self._face.rpartition(".")[0]
        runner = LoopThread(f"{module}-{self._key_shown}", self._face, self._async_face)
        try:
            aclient = runner.run(_open(self._async_class(), args, kwargs))
        except BaseException:
            runner.stop()
            raise
        self._runner = runner
        self._aclient = aclient
        self._finalizer = weakref.finalize(self, _finalize, runner, aclient)

    def _call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call the async client's ``method`` on the loop thread and wait for its result."""
        return self._runner.run(getattr(self._aclient, method)(*args, **kwargs))

    @property
    def aclient(self) -> A:
        """The async client underneath (use it only from coroutines run on :meth:`run`)."""
        return self._aclient

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run any coroutine on this client's loop thread and wait for its result."""
        return self._runner.run(coro)

    def close(self) -> None:
        """Close the connections and stop the loop thread; idempotent."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        finalizer = getattr(self, "_finalizer", None)
        return finalizer is None or not finalizer.alive

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        keys = getattr(getattr(self, "_aclient", None), "key_prefixes", ())
        shown = f"keys={list(keys)!r}" if len(keys) > 1 else f"key={self._key_shown!r}"
        return f"<{self._face} {shown}{state}>"

    def __enter__(self: _B) -> _B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- streams: an async iterator read from a blocking thread ---------------------------------------

_END: Any = object()  # the pump's last item: the async iterator ended (or was stopped)


class _Failed:
    """The pump's last item when the async iterator raised: the reader raises ``exc``."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Channel:
    """What the pump (loop thread) and the reader (any thread) share: the queue the items
    cross, and the window that keeps the pump from outrunning a slow reader.

    The pump stops taking items from the async iterator once ``window`` are unread (the
    iterator's own buffer then holds the rest, with its own bound), and the reader wakes it
    when it is down to half. ``paused`` is written before the pump's last look at the queue,
    so a reader that takes an item after that look sees it. ``finished``: the pump is over
    and its unread items were given back (or the reader took its last item).
    """

    __slots__ = ("finished", "low", "paused", "queue", "room", "window")

    def __init__(self, window: int) -> None:
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.window = window
        self.low = window // 2
        self.paused = False
        self.finished = False
        self.room: asyncio.Event | None = None  # made on the loop by the pump


class StreamSlot:
    """The successive blocking streams over one source (e.g. a client's ``order_events``):
    one reader at a time, and the items a closed stream left unread, read first by the next.

    Args:
        name: the source, for the refusal's message (``"order_events()"``).
    """

    __slots__ = ("carry", "current", "lock", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.carry: deque[Any] = deque()
        self.current: _Channel | None = None


async def _pump(source: AsyncIterator[Any], ch: _Channel) -> None:
    """Move ``source``'s items to ``ch.queue`` (on the loop), then ``_END`` or ``_Failed``."""
    last: Any = _END
    room = ch.room = asyncio.Event()
    put, size, window = ch.queue.put, ch.queue.qsize, ch.window
    try:
        async for item in source:
            put(item)
            if size() >= window:
                room.clear()
                ch.paused = True
                if size() >= window:  # looked again after saying so: see _Channel
                    await room.wait()
                ch.paused = False
    except Exception as exc:  # the reader gets it, typed and unchanged
        last = _Failed(exc)
    finally:
        try:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:  # an async generator stopped at a yield: finish it here
                await aclose()
        finally:
            put(last)


async def _begin(
    opening: Awaitable[AsyncIterator[T]], ch: _Channel, carry: deque[Any] | None
) -> asyncio.Task[None]:
    source = await opening
    while carry:  # what the last stream left unread comes first
        ch.queue.put(carry.popleft())
    return asyncio.get_running_loop().create_task(_pump(source, ch))


async def _halt(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})


def _stop_pump(
    runner: LoopThread, task: asyncio.Task[None], ch: _Channel, slot: StreamSlot | None
) -> None:
    """Cancel a stream's pump on its loop and wait for it (from a reader thread; from the
    loop's own thread, only cancel it: once cancelled it takes nothing more), then give its
    unread items back to ``slot``. Never raises."""
    try:
        if runner.stopped or os.getpid() != runner.pid or not runner.thread.is_alive():
            return  # the loop is gone (or elsewhere): the pump went with it
        if threading.get_ident() == runner.thread.ident:
            task.cancel()
        else:
            runner.run(_halt(task))
        while slot is not None:
            try:
                item = ch.queue.get_nowait()
            except queue.Empty:
                break
            if item is not _END and type(item) is not _Failed:
                slot.carry.append(item)
    except Exception:  # the loop stopped meanwhile: the pump went with it
        log.debug("stopping a %s stream failed", runner.face, exc_info=True)
    finally:
        ch.finished = True


class BlockingStream(Iterator[T]):
    """A blocking iterator over an async iterator that runs on a :class:`LoopThread`'s loop.

    ``opening`` (a coroutine, run on the loop) makes the async iterator; its errors are
    raised here, in the calling thread. Then a task on the loop (the pump) takes the
    iterator's items and puts them on a thread-safe queue, which ``next()`` reads:

    - ``timeout`` (seconds, or None: wait as long as it takes) bounds each ``next()``;
      past it, :class:`TimeoutError`, and the stream stays usable;
    - the async iterator's end (e.g. its client closed) ends this one once the items
      already queued are read; an error it raises is raised by ``next()``, typed and
      unchanged, and ends it too;
    - :meth:`close` (or leaving ``with``, or dropping the stream, e.g. ``break`` out of a
      ``for`` over ``c.order_events()``) cancels the pump on the loop, closes the async
      iterator there and waits for both: no task is left behind. With a ``slot``, the items
      the pump had taken and nobody read go back to it, and the next stream over the same
      source reads them first: nothing is lost between two streams, as between two
      ``async for``; and a second stream is refused while one is open.

    Safe to read from one thread at a time.

    Args:
        runner: the loop thread the async iterator belongs to.
        opening: a coroutine returning the async iterator (consumed by this call).
        timeout: the default wait of each ``next()``.
        window: items left unread before the pump stops taking more from the async
            iterator (whose own buffer then holds them).
        slot: the source's :class:`StreamSlot`; None: no guard, unread items dropped.

    Raises:
        RuntimeError: ``slot`` has another stream open (or the loop refused the call).
        PoloniexArgumentError: ``timeout`` is not positive.
        BaseException: what ``opening`` raised, unchanged.
    """

    def __init__(
        self,
        runner: LoopThread,
        opening: Coroutine[Any, Any, AsyncIterator[T]],
        *,
        timeout: float | None = None,
        window: int = 1024,
        slot: StreamSlot | None = None,
    ) -> None:
        if timeout is not None and not timeout > 0:
            opening.close()
            raise PoloniexArgumentError(f"timeout must be positive seconds or None, got {timeout}")
        self._runner = runner
        self._timeout = timeout
        self._ch = ch = _Channel(max(window, 2))
        self._ended = False
        try:
            if slot is None:
                task = runner.run(_begin(opening, ch, None))
            else:
                with slot.lock:
                    other = slot.current
                    if other is not None and not other.finished:
                        raise RuntimeError(
                            f"one reader at a time: {slot.name} is read by another stream "
                            "(close it, or leave its for loop or with block, first)"
                        )
                    task = runner.run(_begin(opening, ch, slot.carry))
                    slot.current = ch
        finally:
            opening.close()  # done, or refused before it ran: never left un-awaited
        self._finalizer = weakref.finalize(self, _stop_pump, runner, task, ch, slot)

    def __next__(self) -> T:
        return self.get(self._timeout)

    def get(self, timeout: float | None = None) -> T:
        """The next item, waiting at most ``timeout`` seconds (None: as long as it takes).

        Raises:
            StopIteration: the stream ended (closed, or its async iterator ended).
            TimeoutError: nothing came within ``timeout``.
            BaseException: what the async iterator raised, unchanged (once; then it ends).
        """
        if self._ended:
            raise StopIteration
        ch = self._ch
        try:
            item = ch.queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no item within {timeout} s") from None
        if ch.paused and ch.queue.qsize() <= ch.low:  # the pump waits for room: wake it
            ch.paused = False
            room = ch.room
            if room is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed: the pump is gone
                    self._runner.loop.call_soon_threadsafe(room.set)
        if item is _END or type(item) is _Failed:
            self._ended = ch.finished = True
            self._finalizer.detach()  # the pump put its last item: it is done, or ending
            if item is _END:
                raise StopIteration
            raise item.exc
        return item  # type: ignore[no-any-return]

    @property
    def active(self) -> bool:
        """True until the stream is closed or its last item read: its pump may still take
        items from the async iterator, so no other reader should."""
        return not self._ch.finished

    @property
    def closed(self) -> bool:
        """True once the stream ended or was closed."""
        return self._ended or not self._finalizer.alive

    def close(self) -> None:
        """Stop the async iterator on the loop and wait for it; idempotent. The items not
        yet read go back to the stream's slot; ``next()`` then ends the iteration."""
        self._ended = True
        self._finalizer()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
