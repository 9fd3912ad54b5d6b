"""The kill switch of the Spot stand-in: cancel a key's open orders when its timer runs out.

``POST /orders/killSwitch {"timeout": "<s>"}`` arms (or re-arms) the timer: 10-600 seconds,
``-1`` disarms. When it fires, every open order of the key is canceled, as the exchange does.
``unit`` scales the seconds for tests (``0.01`` makes the 10 s minimum a tenth of a second);
the answers still speak in the requested seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from polo_fast.testing.spot._errors import BAD_PARAM, NO_KILL_SWITCH, SpotError

__all__ = ["KillSwitch"]

MIN_TIMEOUT, MAX_TIMEOUT = 10, 600


@dataclass
class _Timer:
    start: int
    deadline: int
    handle: asyncio.TimerHandle


class KillSwitch:
    """Per-key timers on the server's loop; ``fire(key)`` cancels the key's orders."""

    def __init__(
        self, fire: Callable[[str], object], clock: Callable[[], int], unit: float
    ) -> None:
        self._fire = fire
        self._clock = clock
        self.unit = unit
        self._timers: dict[str, _Timer] = {}
        self._fired: dict[str, asyncio.Event] = {}

    def set(self, key: str, timeout: int) -> dict[str, int]:
        """Arm, re-arm (``timeout`` seconds) or disarm (-1) the key's switch.

        A refused ``timeout`` (601) leaves an armed switch as it was.
        """
        if timeout != -1 and not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise SpotError(BAD_PARAM, detail=f"timeout must be -1 or {MIN_TIMEOUT}-{MAX_TIMEOUT}")
        now = self._clock()
        old = self._timers.pop(key, None)
        if old is not None:
            old.handle.cancel()
        if timeout == -1:
            return {"startTime": now, "cancellationTime": now}
        loop = asyncio.get_running_loop()
        handle = loop.call_later(timeout * self.unit, self._expire, key)
        self._timers[key] = _Timer(now, now + timeout * 1000, handle)
        return {"startTime": now, "cancellationTime": now + timeout * 1000}

    def status(self, key: str) -> dict[str, int]:
        """The key's armed timer, or 25020 (no active kill switch)."""
        timer = self._timers.get(key)
        if timer is None:
            raise SpotError(NO_KILL_SWITCH)
        return {"startTime": timer.start, "cancellationTime": timer.deadline}

    def fired(self, key: str) -> asyncio.Event:
        """An event set the next time the key's switch fires (for tests)."""
        return self._fired.setdefault(key, asyncio.Event())

    def _expire(self, key: str) -> None:
        self._timers.pop(key, None)
        self._fire(key)
        self.fired(key).set()

    def close(self) -> None:
        """Cancel every timer (the server stops)."""
        for timer in self._timers.values():
            timer.handle.cancel()
        self._timers.clear()
