"""Run a stand-in service (exchange, WAN proxy) on its own loop in a background thread.

:class:`Service` is what every stand-in service shares: ``start()``/``stop()`` coroutines,
``async with service:``, and ``with service.running():`` for blocking code.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from polo_fast._loop import new_event_loop

__all__ = ["Service", "in_background", "new_loop"]

S = TypeVar("S", bound="Service")

#: The one loop factory (:func:`polo_fast._loop.new_event_loop`), under its old name here.
new_loop = new_event_loop


@contextlib.contextmanager
def in_background(
    start: Callable[[], Awaitable[object]], stop: Callable[[], Awaitable[object]], name: str
) -> Iterator[None]:
    """Run ``start()`` on a new loop in a daemon thread, serve until the block ends, ``stop()``.

    A failure of ``start()`` is raised in the caller's thread.
    """
    ready = threading.Event()
    failure: list[BaseException] = []
    loop = new_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to the caller's thread
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]
    try:
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


class Service:
    """A service with ``start()``/``stop()`` coroutines: ``async with`` it on a running loop, or
    ``with service.running():`` from blocking code (its own loop in a background thread).

    Subclasses implement :meth:`start` and :meth:`stop` and name their thread.
    """

    thread_name = "polo-service"

    async def start(self) -> None:
        """Start serving."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop serving and close everything."""
        raise NotImplementedError

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running(self: S) -> Iterator[S]:
        """Run the service in a background thread with its own loop (uvloop if present)."""
        with in_background(self.start, self.stop, self.thread_name):
            yield self
