"""A plain WebSocket client for the Spot stand-in's tests, and a plain ``book_lv2`` book.

Auth is signed with ``hmac``/``hashlib``/``base64`` as the spec's §5 says (vector V9), never
with polo_fast code; the socket is aiohttp's client. :class:`L2Book` applies a ``book_lv2``
stream the way the docs tell a client to: a snapshot, then an update only when its
``lastId`` equals the ``id`` held; anything else is a gap (:class:`Gap`) or, when the id was
already applied, a duplicate (counted and ignored).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp

from polo_fast.testing.spot import SpotExchange
from tests.testing.spot.conftest import session_for, sign


def auth_message(key: str, secret: str, ts: int | str | None = None) -> dict[str, Any]:
    """The private socket's auth request, signed over ``GET\\n/ws\\nsignTimestamp=<ts>``."""
    stamp = ts if ts is not None else int(time.time() * 1000)
    signature = sign(secret, f"GET\n/ws\nsignTimestamp={stamp}")
    params = {
        "key": key,
        "signTimestamp": stamp,
        "signature": signature,
        "signatureMethod": "HmacSHA256",
        "signatureVersion": "2",
    }
    return {"event": "subscribe", "channel": ["auth"], "params": params}


class Socket:
    """One open WebSocket with JSON helpers."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self.ws = ws

    async def send(self, message: Any) -> None:
        """Send ``message`` as a JSON text frame (a str is sent as it is)."""
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = 10.0) -> Any:
        """The next JSON message; raises ``ConnectionError`` when the socket closed."""
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {msg.type!r}")
        return json.loads(msg.data)

    async def until(self, pred: Callable[[Any], bool], seen: list[Any] | None = None) -> Any:
        """Read until a message matches ``pred``; earlier ones go to ``seen``."""
        while True:
            message = await self.recv()
            if pred(message):
                return message
            if seen is not None:
                seen.append(message)

    async def drain(self, seen: list[Any]) -> None:
        """Read everything queued before a pong (a ping is answered after it)."""
        await self.send({"event": "ping"})
        await self.until(lambda m: m == {"event": "pong"}, seen)

    async def auth(self, key: str, secret: str) -> Any:
        """Authenticate; return the ``auth`` answer."""
        await self.send(auth_message(key, secret))
        return await self.until(lambda m: m.get("channel") == "auth")

    async def request(
        self, rid: str, event: str, params: dict[str, Any], seen: list[Any] | None = None
    ) -> Any:
        """Send one trade request and return its reply (other messages go to ``seen``)."""
        await self.send({"id": rid, "event": event, "params": params})
        return await self.until(lambda m: m.get("id") == rid, seen)


@contextlib.asynccontextmanager
async def connect(
    ex: SpotExchange, which: str, session: aiohttp.ClientSession | None = None
) -> AsyncIterator[Socket]:
    """Open ``ex.ws_url + "/" + which`` (``public`` or ``private``)."""
    async with contextlib.AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(session_for(ex.ca_path))
        ws = await stack.enter_async_context(
            session.ws_connect(f"{ex.ws_url}/{which}", autoping=False)
        )
        yield Socket(ws)


class Gap(Exception):
    """An update whose ``lastId`` is not the ``id`` held: the book must be resubscribed."""


class L2Book:
    """A plain price -> quantity book fed by ``book_lv2`` messages."""

    def __init__(self) -> None:
        self.asks: dict[Decimal, Decimal] = {}
        self.bids: dict[Decimal, Decimal] = {}
        self.id: int | None = None
        self.updates = 0
        self.duplicates = 0

    def apply(self, message: dict[str, Any]) -> None:
        """Apply one ``book_lv2`` message; raise :class:`Gap` on a missing update."""
        (item,) = message["data"]
        if message["action"] == "snapshot":
            self.asks, self.bids = {}, {}
        elif self.id is None:
            raise Gap("an update before the snapshot")
        elif item["id"] <= self.id:
            self.duplicates += 1
            return
        elif item["lastId"] != self.id:
            raise Gap(f"lastId {item['lastId']} after id {self.id}")
        else:
            self.updates += 1
        for side, levels in ((self.asks, item["asks"]), (self.bids, item["bids"])):
            for price, qty in levels:
                if Decimal(qty) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(qty)
        self.id = item["id"]

    def top(
        self, depth: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The best ``depth`` asks (ascending) and bids (descending)."""
        asks = sorted(self.asks.items())[:depth]
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        return asks, bids


def flat_levels(flat: list[str]) -> list[tuple[Decimal, Decimal]]:
    """``["p","q","p","q",...]`` (REST ``orderBook``) as ``[(p, q), ...]``."""
    return [(Decimal(flat[i]), Decimal(flat[i + 1])) for i in range(0, len(flat), 2)]
