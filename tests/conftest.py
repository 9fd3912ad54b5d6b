"""Shared fixtures: event-loop flavours, generated test keys (from ``polo_fast.testing.keys``).

Tests are plain functions; async bodies run through the ``run`` fixture, which is
parametrised over the stock asyncio loop and uvloop (set ``POLO_FAST_TEST_LOOPS=uvloop``
to run one flavour only). No test sleeps to synchronise or reaches beyond loopback.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from polo_fast.testing.keys import make_key, make_keys, make_secret

__all__ = ["Runner", "make_key", "make_keys", "make_secret"]

T = TypeVar("T")

_LOOPS = [x for x in os.environ.get("POLO_FAST_TEST_LOOPS", "asyncio,uvloop").split(",") if x]


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


Runner = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture(params=_LOOPS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The event-loop flavour under test: ``asyncio`` or ``uvloop``."""
    return str(request.param)


@pytest.fixture
def run(loop_kind: str) -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """Run a coroutine to completion on a fresh loop of the parametrised flavour."""
    loop = _new_loop(loop_kind)
    asyncio.set_event_loop(loop)

    def _run(coro: Coroutine[Any, Any, Any]) -> Any:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout=120))

    try:
        yield _run
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


@pytest.fixture
def keys() -> dict[str, str]:
    """Four generated key -> secret pairs."""
    return make_keys(4)
