"""Is the first call after an idle pause slow even on an open, warm connection?

One process, the stand-in exchange on loopback in the same event loop, one client: 50 warm
``returnBalances``, then an idle pause (with and without ``keep_warm``), then the first and
second call after it. The connection stays open throughout (the pauses are shorter than the
stand-in's 60 s keep-alive timeout), so any gap is the process coming back cold, not the
network. Run: ``.venv/bin/python benchmarks/idle_cold.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import polo_fast
from polo_fast._loop import run
from polo_fast.testing import StandInExchange
from polo_fast.testing.keys import make_keys


async def once(idle: float, keep_warm: float | None) -> str:
    """Warm median, then the first and second call after ``idle`` seconds."""
    keys = make_keys(1)
    ((key, secret),) = keys.items()
    async with (
        StandInExchange(keys, rate_limit=None) as ex,
        polo_fast.Client(
            key, secret, url=ex.url, ca_path=ex.ca_path, rate_limit=None, keep_warm=keep_warm
        ) as c,
    ):
        await c.warm_up(1)
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            await c.return_balances()
            times.append(time.perf_counter() - t0)
        warm = statistics.median(times)
        await asyncio.sleep(idle)
        t0 = time.perf_counter()
        await c.return_balances()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        await c.return_balances()
        second = time.perf_counter() - t0
    return (
        f"idle {idle:>4.0f} s, keep_warm {keep_warm!s:>4}: warm {warm * 1e3:.3f} ms, "
        f"first {first * 1e3:.3f} ms ({first / warm:.2f}x), second {second * 1e3:.3f} ms"
    )


def main() -> None:
    """Three pauses: short with keep-warm, longer with and without it."""
    for idle, keep_warm in ((3.0, 1.0), (12.0, 5.0), (12.0, None)):
        print(run(once(idle, keep_warm)))


if __name__ == "__main__":
    main()
