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

The loop thread and the call machinery are shared with the Spot API's blocking client
(:mod:`polo_fast._blocking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polo_fast._blocking import BlockingClient
from polo_fast._sync_api import SyncMethods

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.client import Client as AsyncClient

__all__ = ["Client"]


class _Base(BlockingClient["AsyncClient"]):
    """The machinery under :class:`Client` (:class:`polo_fast._blocking.BlockingClient`: the
    loop thread and the generic call) bound to :class:`polo_fast.client.Client`."""

    _face = "polo_fast.sync.Client"
    _async_face = "polo_fast.Client"

    @staticmethod
    def _async_class() -> type[AsyncClient]:
        """:class:`polo_fast.client.Client`, imported when the first client starts."""
        from polo_fast.client import Client as AsyncClient

        return AsyncClient


class Client(_Base, SyncMethods):
    """The blocking Poloniex client: :class:`polo_fast.Client`'s constructor and methods,
    each call waiting for its answer.

    ``with Client(key, secret, url=..., ca_path=...) as c: c.return_balances()``. Safe to
    share between threads. See the module docstring.
    """
