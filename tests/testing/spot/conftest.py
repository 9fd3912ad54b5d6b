"""Helpers for the Spot stand-in tests: a raw client signed with the standard library.

Requests are signed with ``hmac``/``hashlib``/``base64`` exactly as the spec's §2.2 says
(never with polo_fast's signer, which the stand-in is meant to judge) and sent with a plain
aiohttp session trusting the stand-in's CA.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange

Run = Callable[[Coroutine[Any, Any, Any]], Any]
"""The ``run`` fixture of tests/conftest.py: runs a coroutine on a fresh loop."""

ENCODE: dict[str, Callable[[str], str]] = {
    "rfc3986": lambda v: quote(v, safe=""),
    "uri_component": lambda v: quote(v, safe="~()*!'"),
    "raw": lambda v: v,
}


def sign(secret: str, message: str) -> str:
    """base64(HMAC-SHA256(secret, message)), as the spec's vectors."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Answer:
    """An HTTP answer: status, raw body and the JSON (None if the body is not JSON)."""

    status: int
    raw: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.raw)


class Raw:
    """A raw Spot client: builds, signs and sends one request per call."""

    def __init__(self, session: aiohttp.ClientSession, url: str, key: str, secret: str) -> None:
        self.session, self.url, self.key, self.secret = session, url, key, secret
        self.offset_ms = 0

    def headers(
        self, method: str, path: str, query: dict[str, str], body: str, *, ts: int | None = None,
        encoding: str = "rfc3986",
    ) -> dict[str, str]:  # fmt: skip
        """The signed headers of a request, per spec §2.2."""
        stamp = str(ts if ts is not None else int(time.time() * 1000) + self.offset_ms)
        if body:
            params = f"requestBody={body}&signTimestamp={stamp}"
        else:
            enc = ENCODE[encoding]
            pairs = sorted({**query, "signTimestamp": stamp}.items())
            params = "&".join(f"{k}={enc(v)}" for k, v in pairs)
        headers = {
            "key": self.key,
            "signTimestamp": stamp,
            "signature": sign(self.secret, f"{method}\n{path}\n{params}"),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    async def call(
        self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None, *,
        signed: bool = True, spaced: bool = False, ts: int | None = None,
        encoding: str = "rfc3986", headers: dict[str, str] | None = None,
    ) -> Answer:  # fmt: skip
        """Send one request and read its whole answer."""
        query = query or {}
        text = "" if body is None else json.dumps(body, separators=None if spaced else (",", ":"))
        hdrs = self.headers(method, path, query, text, ts=ts, encoding=encoding) if signed else {}
        hdrs.update(headers or {})
        qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        url = self.url + path + (f"?{qs}" if qs else "")
        async with self.session.request(method, url, data=text or None, headers=hdrs) as resp:
            return Answer(resp.status, await resp.read(), dict(resp.headers))

    async def sync_clock(self) -> None:
        """Measure the stand-in's clock offset with ``GET /timestamp`` and use it."""
        before = time.time() * 1000
        answer = await self.call("GET", "/timestamp", signed=False)
        after = time.time() * 1000
        self.offset_ms = int(answer.json["serverTime"] - (before + after) / 2)


def session_for(ca_path: str | None) -> aiohttp.ClientSession:
    """An aiohttp session trusting ``ca_path`` (plain HTTP when None)."""
    ctx: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_path) if ca_path else False
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=0))


@contextlib.asynccontextmanager
async def standin(n: int = 1, **options: Any) -> AsyncIterator[tuple[SpotExchange, list[Raw]]]:
    """A started stand-in with ``n`` generated keys, and a raw client per key."""
    keys = make_keys(n)
    async with SpotExchange(keys, **options) as ex, session_for(ex.ca_path) as s:
        yield ex, [Raw(s, ex.url, k, v) for k, v in keys.items()]


LIMIT_BUY = {
    "symbol": "BTC_USDT",
    "side": "BUY",
    "type": "LIMIT",
    "price": "30000",
    "quantity": "0.01",
    "timeInForce": "GTC",
}
"""A buy well below the seeded market (BTC ~37000 USDT): it rests."""
