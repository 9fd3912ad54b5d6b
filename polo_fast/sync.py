"""The blocking client: :class:`polo_fast.Client`'s methods for scripts and threaded bots.

::

    from polo_fast.sync import Client

    with Client(KEY, SECRET) as c:
        c.warm_up()
        print(c.return_balances())
        c.buy("BTC_ETH", "0.025", "2", post_only=True)

Each :class:`Client` owns a private event loop (uvloop when installed) running in a daemon
thread, and an async :class:`polo_fast.client.Client` living on it. A method call submits
the coroutine to that loop and blocks the calling thread until it finishes, so:

- any number of threads may call one client at once; the async client's per-key lanes keep
  private requests of one key in order, exactly as in async code;
- exceptions come out with their types (and objects) unchanged: ``except
  polo_fast.errors.InsufficientFundsError`` works as with the async client;
- ``close()`` (or leaving the ``with`` block) closes the connections and stops the thread;
  a client that is garbage-collected without ``close()`` stops its thread too.

The methods are the async client's, one per command of the table, with the same names and
arguments; they are generated into ``polo_fast/_sync_api.py`` by ``tools/gen_sync.py`` from
:class:`polo_fast.client.Client` itself (a test fails when that file is stale), so nothing
lists the commands a second time and type checkers see every method.

Calling a method from the client's own loop thread (e.g. inside a callback running on it)
would wait for itself; it raises ``RuntimeError`` instead. An interrupted call
(``KeyboardInterrupt`` in the waiting thread) cancels the request on the loop and re-raises;
a state-changing command cut that way may still have executed.

``close()`` while another thread's call is in flight waits for that call's outcome (up to
``timeout``) before closing, so the caller gets the exchange's answer, or a typed error
(may-have-executed for an order), never a bare ``CancelledError``. A client crossed by
``os.fork()`` (its loop thread does not exist in the child) refuses every call in the child
before sending anything: make one client per process, after the fork.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from polo_fast._sync_api import SyncMethods
from polo_fast.errors import PoloniexArgumentError, key_prefix
from polo_fast.signing import HoldsSecret
from polo_fast.transport import new_event_loop

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.client import Client as AsyncClient

__all__ = ["Client"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_C = TypeVar("_C", bound="_Base")


class _LoopThread:
    """An event loop running forever in a daemon thread, with a blocking ``run(coro)``."""

    def __init__(self, name: str) -> None:
        self.loop = new_event_loop()  # uvloop's when installed
        self.pid = os.getpid()
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
                "this polo_fast.sync.Client was created in another process (before a fork) "
                "and its loop thread does not exist here; nothing was sent: create one "
                "client per process, after the fork"
            )
        if threading.get_ident() == self.thread.ident:
            coro.close()
            raise RuntimeError(
                "polo_fast.sync.Client was called from its own event-loop thread; "
                "use the async polo_fast.Client there"
            )
        if self._stopped:
            coro.close()
            raise RuntimeError("polo_fast.sync.Client is closed")
        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result()
        except BaseException:
            if not fut.done():  # interrupted while waiting (KeyboardInterrupt, SystemExit)
                fut.cancel()
            raise

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


async def _open(args: tuple[Any, ...], kwargs: dict[str, Any]) -> AsyncClient:
    from polo_fast.client import Client as AsyncClient

    client = AsyncClient(*args, **kwargs)
    await client.__aenter__()
    return client


async def _close(client: AsyncClient) -> None:
    await client.__aexit__(None, None, None)


def _finalize(runner: _LoopThread, client: AsyncClient) -> None:
    """Close a client that was dropped without ``close()`` (best effort), stop its thread."""
    try:
        if not runner._stopped and runner.thread.is_alive():
            runner.run(_close(client))
    except Exception:  # at interpreter exit or from gc: never raise here
        log.debug("closing a dropped polo_fast.sync.Client failed", exc_info=True)
    finally:
        runner.stop()


class _Base(HoldsSecret):
    """The machinery under :class:`Client`: the loop thread and the generic call."""

    _runner: _LoopThread
    _aclient: AsyncClient
    _key_shown: str

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        key = args[0] if args else kwargs.get("key")
        if key is None and kwargs.get("keys"):
            keys = kwargs["keys"]
            first = next(iter(keys.items() if isinstance(keys, dict) else keys), (None,))
            key = first[0]
        self._key_shown = key_prefix(key if isinstance(key, str) else None)
        runner = _LoopThread(f"polo_fast.sync-{self._key_shown}")
        try:
            aclient = runner.run(_open(args, kwargs))
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
    def aclient(self) -> AsyncClient:
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
        return f"<polo_fast.sync.Client {shown}{state}>"

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client(_Base, SyncMethods):
    """The blocking Poloniex client: :class:`polo_fast.Client`'s constructor and methods,
    each call waiting for its answer.

    ``with Client(key, secret, url=..., ca_path=...) as c: c.return_balances()``. Safe to
    share between threads. See the module docstring.
    """
