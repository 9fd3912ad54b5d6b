"""Policy pieces both dialects' clients share: the gate, the rate limiter, the fork counter.

- :class:`Gate`: a FIFO gate admitting ``n`` holders at a time (the legacy client's per-key
  ordering: nonces reach the exchange in the order drawn);
- :class:`RateLimiter`: at most ``rate`` calls in any one-second window, callers served in
  arrival order (the legacy client's per-key limit; the Spot client's per rate class);
- :data:`FORKS` and :func:`forked`: bumped in a forked child, so a client made before a fork
  refuses to send from the child;
- :func:`check_number`: a configuration number that must be positive and finite.

Imports nothing of polo_fast but the error tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from polo_fast.errors import PoloniexArgumentError, key_prefix

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.transport import Transport

__all__ = [
    "FORKS",
    "WINDOW_MARGIN",
    "Admission",
    "Gate",
    "RateLimiter",
    "check_number",
    "forked",
]

_A = TypeVar("_A", bound="Admission")

#: The rate limiter's window is this much (relative) longer than the nominal one.
WINDOW_MARGIN = 0.03

#: Bumped in a forked child: a client made before the fork refuses to send from it. A
#: client keeps ``FORKS[0]`` as it was at its creation and compares on each call.
FORKS = [0]


def forked() -> None:
    """Count a fork (registered with :func:`os.register_at_fork` for the child)."""
    FORKS[0] += 1


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=forked)


class Gate:
    """A FIFO gate admitting ``n`` holders at a time (a lock for ``n == 1``).

    A released place goes straight to the longest waiter, so a newcomer never overtakes
    one. A caller may inline the uncontended cases (``free and not waiters``: take a place;
    no waiters: give it back) and call :meth:`take` / :meth:`release` otherwise, so an
    uncontended call costs no coroutine and no future.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, n: int) -> None:
        self.free = n
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        """Wait for a place (in arrival order) and take it."""
        if self.free and not self.waiters:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut  # the releaser hands its place over: ``free`` is not touched
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # the place came, but we are leaving: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(fut)
            raise

    def release(self) -> None:
        """Give the place back: to the first live waiter, else to the pool."""
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class RateLimiter:
    """At most ``rate`` calls in any one-second window (a token bucket refilled per window).

    For ``rate >= 1`` it admits ``floor(rate)`` calls per ``floor(rate) / rate`` seconds,
    so no one-second window ever holds more than ``rate`` calls (a plain token bucket of
    capacity ``rate`` may briefly admit up to twice that); the window is kept a few percent
    longer (:data:`WINDOW_MARGIN`) so late wake-ups and network jitter cannot squeeze calls
    together at the exchange. A call over the budget waits its turn; callers are served in
    arrival order.

    Raises:
        PoloniexArgumentError: ``rate`` is not a positive finite number.
    """

    __slots__ = ("_n", "_period", "_times")

    def __init__(self, rate: float) -> None:
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise PoloniexArgumentError(
                f"rate_limit must be a positive number or None, not {rate!r}"
            )
        self._n = max(1, int(rate))
        # A small margin: a late wake-up or network jitter must not squeeze two windows'
        # worth of calls into one second at the exchange.
        self._period = self._n / rate * (1.0 + WINDOW_MARGIN) + 0.005
        self._times: deque[float] = deque(maxlen=self._n)

    async def acquire(self) -> None:
        """Wait until one more call fits in the budget, and count it."""
        delay = self.reserve()
        if delay > 0.0:
            await asyncio.sleep(delay)

    def reserve(self) -> float:
        """Count one more call now; return how long it must wait first (0.0: go now).

        The slot is taken at once, so callers that reserve in order are admitted in order.
        """
        now = asyncio.get_running_loop().time()
        times = self._times
        if len(times) < self._n:
            times.append(now)
            return 0.0
        slot = times[0] + self._period
        if slot <= now:
            times.append(now)
            return 0.0
        times.append(slot)
        return slot - now


def check_number(name: str, value: object, *, allow_none: bool = False) -> None:
    """Refuse ``value`` unless it is a positive finite int or float (or None if allowed).

    Raises:
        PoloniexArgumentError: naming ``name``.
    """
    if value is None and allow_none:
        return
    if type(value) in (int, float) and math.isfinite(value) and value > 0:  # type: ignore[arg-type,operator]
        return
    extra = " or None" if allow_none else ""
    raise PoloniexArgumentError(f"{name} must be a positive number{extra}, not {value!r}")


def check_connection_options(
    *,
    timeout: object,
    read_retries: object,
    max_answer_bytes: object,
    keep_warm: object,
    allow_insecure_http: object,
) -> None:
    """The options both clients hand to their transport and retry loop, checked alike.

    Raises:
        PoloniexArgumentError: naming the option refused.
    """
    check_number("timeout", timeout)
    if type(read_retries) is not int or read_retries < 0:
        raise PoloniexArgumentError(f"read_retries must be an int >= 0, not {read_retries!r}")
    if type(max_answer_bytes) is not int or max_answer_bytes < 1024:
        raise PoloniexArgumentError(
            f"max_answer_bytes must be an int >= 1024, not {max_answer_bytes!r}"
        )
    if keep_warm is not None and keep_warm != 0:
        check_number("keep_warm", keep_warm)
    if type(allow_insecure_http) is not bool:
        raise PoloniexArgumentError("allow_insecure_http must be True or False")


class Admission:
    """A client's admission of calls: one event loop, one process, none after close; and
    ``async with`` (leaving it calls ``close()``).

    A client belongs to the loop of its first call and to the process that made it; a
    call from another loop, from a forked child, or after :meth:`close` began, is refused
    before anything is signed. :meth:`_drain` waits for the calls in flight (``close``).
    The legacy and the Spot client share it; their hot paths inline :meth:`_enter` (the
    common case is ``_calls += 1``) and :meth:`_leave`.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _forks = 0
    _calls = 0
    _drained: asyncio.Future[None] | None = None
    _closed = True
    _slots: Sequence[Any] = ()  # the client's key slots (each with a ``key``)
    _transport: Transport | None = None

    @property
    def key_prefixes(self) -> tuple[str, ...]:
        """The first characters of each key, in pool order (empty without a key)."""
        return tuple(key_prefix(slot.key) for slot in self._slots)

    @property
    def transport(self) -> Transport:
        """The transport in use."""
        if self._transport is None:
            raise PoloniexArgumentError("this client was never configured")
        return self._transport

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Refuse new calls, wait for the calls in flight, close everything (the client's)."""
        raise NotImplementedError  # pragma: no cover - the clients

    def _admit(self) -> None:
        """Ready to admit calls (the end of a client's ``__init__``)."""
        self._loop = None
        self._forks = FORKS[0]
        self._calls = 0
        self._drained = None
        self._closed = False

    def _enter(self) -> None:
        """Admit a call: refused (nothing sent) when closed, on another loop, or after a fork.

        Raises:
            PoloniexArgumentError: closed, another loop, or a forked child.
        """
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._forks != FORKS[0]:
            self._bind(loop)
        self._calls += 1

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the client to ``loop`` at its first call; refuse another loop, or a fork."""
        if self._forks != FORKS[0]:
            raise PoloniexArgumentError(
                "this polo_fast client was created in another process (before a fork); "
                "nothing was sent: create one client per process, after the fork"
            )
        if self._loop is not None:
            raise PoloniexArgumentError(
                "this polo_fast client belongs to another event loop; nothing was sent: "
                "create and use a client on one loop (polo_fast.sync.Client for threads)"
            )
        self._loop = loop

    def _leave(self) -> None:
        self._calls -= 1
        if self._drained is not None:
            self._leave_closing()

    def _leave_closing(self) -> None:
        """A call ended while ``close`` waits: wake it when it was the last."""
        if not self._calls and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def _drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds until no call of this client is in flight."""
        if self._calls and self._loop is asyncio.get_running_loop():
            self._drained = self._loop.create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._drained), timeout)
