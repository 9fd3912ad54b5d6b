"""HTTP plumbing of the stand-ins: listening, the per-key rate limiter, the answers (plain
JSON or spoiled as a fault rule says) and ``/cdn-cgi/trace``.

Shared by the legacy and the Spot stand-in; kept apart from their ``exchange.py`` (which
check and route requests) so that each module does one job. Nothing here looks at keys'
secrets or at command semantics.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections import deque
from typing import Any

import orjson
from aiohttp import web

from polo_fast.testing._faults import FaultRule, html_page

__all__ = [
    "JSON_HEADERS",
    "RateLimiter",
    "answer",
    "drop",
    "fault_before",
    "json_answer",
    "listen",
    "peek_command",
    "trace",
    "trickle",
]

JSON_HEADERS = {"Content-Type": "application/json"}
_HTML = {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare"}


async def listen(
    app: web.Application,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    *,
    keepalive_timeout: float,
) -> tuple[web.AppRunner, int, str]:
    """Serve ``app`` on ``host:port`` (0: a free port), closing keep-alive connections idle
    for ``keepalive_timeout`` seconds; return the runner (``cleanup()`` stops it), the port
    and the base URL (``http(s)://host:port``).

    Raises:
        OSError: when the address cannot be listened on (nothing is left open).
    """
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=0.5,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = site._server
    assert server is not None
    bound = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    shown = f"[{host}]" if ":" in host else host
    return runner, bound, f"{'https' if ssl_context else 'http'}://{shown}:{bound}"


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


def json_answer(status: int, result: Any) -> web.Response:
    """``result`` as a JSON response with ``status``."""
    return web.Response(body=orjson.dumps(result, default=str), status=status, headers=JSON_HEADERS)


def fault_before(request: web.Request, rule: FaultRule, throttled: Any) -> web.StreamResponse:
    """The answer of a rule that fires before the request runs (it never executes);
    ``throttled`` is the API's 429 body (the ``rate_limit`` action)."""
    if rule.action == "close_before":
        drop(request)
        return web.Response()
    if rule.action == "rate_limit":
        return json_answer(429, throttled)
    status = int(rule.action.split("_")[1])  # http_500 ... cf_522
    return web.Response(body=html_page(status), status=status, headers=_HTML)


async def answer(
    request: web.Request, status: int, result: Any, rule: FaultRule | None
) -> web.StreamResponse:
    """The answer of an executed request, spoiled as ``rule`` says (None: a plain answer)."""
    if rule is None:
        return json_answer(status, result)
    body = orjson.dumps(result, default=str)
    if rule.action == "close_after":
        drop(request)
        return web.Response()
    if rule.action == "delay":
        await asyncio.sleep(rule.delay)
    elif rule.action == "cf_524":
        return web.Response(body=html_page(524), status=524, headers=_HTML)
    elif rule.action == "truncate":
        body = body[: max(1, len(body) // 2)]
    elif rule.action == "trickle":
        return await trickle(request, status, body, rule.delay)
    return web.Response(body=body, status=status, headers=JSON_HEADERS)


def trace(request: web.Request, colo: str) -> web.Response:
    """The answer of ``GET /cdn-cgi/trace``, shaped like Cloudflare's (``colo=`` is ``colo``):
    a client's keep-warm round trip, and where ``polo-fast colo`` reads the colo."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport else None
    sslobj = transport.get_extra_info("ssl_object") if transport else None
    lines = [
        "fl=37f1",
        f"h={request.host}",
        f"ip={peer[0] if peer else '127.0.0.1'}",
        f"ts={time.time():.3f}",
        f"visit_scheme={'https' if sslobj else 'http'}",
        f"uag={request.headers.get('User-Agent', '')}",
        f"colo={colo}",
        "sliver=none",
        f"http=http/{request.version.major}.{request.version.minor}",
        "loc=US",
        f"tls={sslobj.version() if sslobj else 'off'}",
        "sni=plaintext",
        "warp=off",
        "gateway=off",
        "rbi=off",
        "kex=X25519",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
