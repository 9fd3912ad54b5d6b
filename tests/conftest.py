"""Shared fixtures: event-loop flavours, generated test keys.

Tests are plain functions; async bodies run through the ``run`` fixture, which is
parametrised over the stock asyncio loop and uvloop (set ``POLO_FAST_TEST_LOOPS=uvloop``
to run one flavour only). No test sleeps to synchronise or reaches beyond loopback.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import string
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

_LOOPS = [x for x in os.environ.get("POLO_FAST_TEST_LOOPS", "asyncio,uvloop").split(",") if x]

_ALNUM = string.ascii_uppercase + string.digits


def make_key() -> str:
    """A fresh API key in the exchange's shape: four dash-joined groups of 8."""
    return "-".join("".join(secrets.choice(_ALNUM) for _ in range(8)) for _ in range(4))


def make_secret() -> str:
    """A fresh 128-character hex secret, generated per test run (never a real key)."""
    return secrets.token_hex(64)


def make_keys(n: int) -> dict[str, str]:
    """``n`` fresh key -> secret pairs."""
    return {make_key(): make_secret() for _ in range(n)}


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
