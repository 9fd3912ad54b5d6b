"""HTTP plumbing of the stand-in: the per-key rate limiter and the faulty ways of answering.

Kept apart from ``exchange.py`` (which checks and routes requests) so that each module does
one job. Nothing here looks at keys' secrets or at command semantics.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

from aiohttp import web

__all__ = ["JSON_HEADERS", "RateLimiter", "drop", "peek_command", "trickle"]

JSON_HEADERS = {"Content-Type": "application/json"}


class RateLimiter:
    """Per-key sliding window: at most ``ceil(rate)`` calls in any ``ceil(rate)/rate`` s."""

    def __init__(self, rate: float) -> None:
        self.burst = max(1, math.ceil(rate))
        self.window = self.burst / rate
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count a call of ``key`` and say whether it is within the limit."""
        now = time.monotonic()
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = deque()
        while calls and now - calls[0] >= self.window:
            calls.popleft()
        if len(calls) >= self.burst:
            return False
        calls.append(now)
        return True


def peek_command(body: bytes) -> str | None:
    """The ``command`` of a body, read leniently (only to match fault rules)."""
    for part in body.split(b"&"):
        if part.startswith(b"command="):
            return part[8:].decode("latin-1")
    return None


def drop(request: web.Request) -> None:
    """Close the connection under ``request`` without answering."""
    if request.transport is not None:
        request.transport.close()


async def trickle(
    request: web.Request, status: int, body: bytes, seconds: float
) -> web.StreamResponse:
    """Send ``body`` in up to 10 pieces spread evenly over ``seconds``."""
    resp = web.StreamResponse(status=status, headers=JSON_HEADERS)
    resp.content_length = len(body)
    await resp.prepare(request)
    pieces = max(2, min(len(body), 10))
    step = math.ceil(len(body) / pieces)
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    pause = seconds / max(1, len(chunks) - 1)
    for i, chunk in enumerate(chunks):
        if i:
            await asyncio.sleep(pause)
        await resp.write(chunk)
    await resp.write_eof()
    return resp
