"""Run a stand-in service (exchange, WAN proxy) on its own loop in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator

__all__ = ["in_background", "new_loop"]


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


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
