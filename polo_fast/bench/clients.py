"""The clients under test, by name: polo_fast's three faces, the competitors, the floor.

Each entry of :data:`CLIENTS` builds a :class:`~polo_fast.bench.conn.Conn` for a target and
a list of (key, secret) pairs: one pair for the latency phases, four for the parallel phase
(a client that spreads calls over a key pool gets all four at once, ``pooled=True``; the
others get one instance per key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from polo_fast.bench.competitors import AiohttpBot, PythonPoloniex, RequestsBot
from polo_fast.bench.conn import Conn, PoloniexApiCalls, SyncConn, Target, order_number
from polo_fast.bench.floor import FloorConn

__all__ = [
    "CLIENTS",
    "DEFAULT_CLIENTS",
    "ClientSpec",
    "PoloFastAsync",
    "PoloFastCompat",
    "PoloFastSync",
    "close_blocking",
    "connection_options",
    "enter_blocking",
    "keep_warm",
    "single",
]

KeyList = Sequence[tuple[str, str]]


#: ``keep_warm`` (seconds) the bench gives polo_fast's clients where they have that option:
#: an idle lane makes a small round trip this often, so an order after a long idle finds
#: its connection open and warm.
KEEP_WARM = 15.0


def keep_warm() -> float:
    """The ``keep_warm`` the bench passes to every polo_fast face (:data:`KEEP_WARM`)."""
    return KEEP_WARM


def connection_options(url: str) -> dict[str, Any]:
    """``keep_warm`` for every polo_fast face (the async and blocking clients take it, the
    drop-in hands it to its client), and ``allow_insecure_http=True`` for a plain ``http://``
    target (the scheme read as the transport reads it: case-insensitively)."""
    kw: dict[str, Any] = {"keep_warm": KEEP_WARM}
    if urlsplit(url).scheme == "http":  # urlsplit lower-cases the scheme
        kw["allow_insecure_http"] = True
    return kw


def _make(cls: Any, target: Target, keys: list[tuple[str, str]]) -> Any:
    """A polo_fast client (async or sync: the same constructor) for ``target`` and ``keys``."""
    kw: dict[str, Any] = {
        "url": target.url,
        "ca_path": target.ca_path,
        "rate_limit": target.rate_limit,
        "nonce_scale": target.nonce_scale,
        **connection_options(target.url),
    }
    if len(keys) == 1:
        key, secret = keys[0]
        return cls(key, secret, **kw)
    return cls(keys=keys, **kw)


def enter_blocking(client: Any) -> Any:
    """Enter a blocking client's context (``__enter__``) if it has one; return the client."""
    enter = getattr(client, "__enter__", None)
    return enter() if enter is not None else client


def close_blocking(client: Any) -> None:
    """Leave a blocking client's context (``__exit__``), or ``close()`` it; None: nothing."""
    if client is None:
        return
    exit_ = getattr(client, "__exit__", None)
    if exit_ is not None:
        exit_(None, None, None)
    else:
        client.close()


class _AllKeys:
    """polo_fast's async and blocking faces alike: one client over all the keys."""

    def __init__(self, target: Target, keys: KeyList) -> None:
        self.target = target
        self._keys = list(keys)
        self.client: Any = None


class PoloFastAsync(_AllKeys, Conn):
    """``polo_fast.Client`` (async), warmed with ``warm_up()``; one client over all keys."""

    name = "polo_fast"

    async def start(self) -> None:
        """Create and enter the client (its ``__aenter__`` opens no connection to time)."""
        from polo_fast.client import Client

        client = _make(Client, self.target, self._keys)
        self.client = await client.__aenter__()

    async def warm_up(self) -> None:
        """``await client.warm_up(n)``: open and handshake every key lane ahead of time."""
        await self.client.warm_up(len(self._keys))

    async def balances(self) -> None:
        """``await client.return_balances()``."""
        await self.client.return_balances()

    async def buy(self, seq: int) -> str:
        """``await client.buy(pair, rate, amount, post_only=True)``."""
        t = self.target
        return order_number(await self.client.buy(t.pair, t.rate, t.amount, post_only=True))

    async def cancel(self, ref: str) -> None:
        """``await client.cancel_order(order_number=ref)``."""
        await self.client.cancel_order(order_number=ref)

    async def close(self) -> None:
        """Leave the client's context."""
        if self.client is not None:
            await self.client.__aexit__(None, None, None)
            self.client = None


class PoloFastSync(_AllKeys, SyncConn):
    """``polo_fast.sync.Client``: the blocking face (its own loop thread)."""

    name = "polo_fast-sync"

    async def start(self) -> None:
        """Create the blocking client."""
        from polo_fast.sync import Client

        self.client = enter_blocking(_make(Client, self.target, self._keys))

    def do_warm_up(self) -> None:
        """``client.warm_up()``."""
        self.client.warm_up(len(self._keys))

    def do_balances(self) -> None:
        """``client.return_balances()``."""
        self.client.return_balances()

    def do_buy(self, seq: int) -> str:
        """``client.buy(pair, rate, amount, post_only=True)``."""
        t = self.target
        return order_number(self.client.buy(t.pair, t.rate, t.amount, post_only=True))

    def do_cancel(self, ref: str) -> None:
        """``client.cancel_order(order_number=ref)``."""
        self.client.cancel_order(order_number=ref)

    def do_close(self) -> None:
        """Close the client (and its loop thread)."""
        client, self.client = self.client, None
        close_blocking(client)


class PoloFastCompat(PoloniexApiCalls):
    """``polo_fast.compat.poloniex.Poloniex``: python-poloniex's API on polo_fast."""

    name = "polo_fast-compat"

    def __init__(self, target: Target, keys: KeyList) -> None:
        self.target = target
        self._key, self._secret = keys[0]
        self.client: Any = None

    async def start(self) -> None:
        """Create the drop-in client, pointed at the target."""
        from polo_fast.compat.poloniex import Poloniex

        t = self.target
        kw: dict[str, Any] = {
            "url": t.url,
            "ca_path": t.ca_path,
            "rate_limit": t.rate_limit,
            "coach": t.real,
        }
        if t.real:
            kw["nonce_scale"] = t.nonce_scale
        kw.update(connection_options(t.url))
        self.client = Poloniex(self._key, self._secret, **kw)

    def do_warm_up(self) -> None:
        """The drop-in's ``warm_up()`` (a python-poloniex bot has no warm-up call; one
        switched to polo_fast can add this one line)."""
        self.client.warm_up()

    def do_close(self) -> None:
        """Close the drop-in client."""
        client, self.client = self.client, None
        close = getattr(client, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class ClientSpec:
    """One client under test.

    Attributes:
        name: the ``--clients`` name.
        label: one line for the table's legend.
        make: builds a Conn for a target and its keys.
        pooled: True if one instance takes all parallel-phase keys (and serves the four
            workers).
        polo_fast: True for polo_fast's own faces.
        api: the API it speaks: ``legacy`` or ``spot``.
    """

    name: str
    label: str
    make: Callable[[Target, KeyList], Conn]
    pooled: bool = False
    polo_fast: bool = False
    api: str = "legacy"


def single(cls: Callable[[Target, str, str], Conn]) -> Callable[[Target, KeyList], Conn]:
    """A ``make`` for a client built with one (key, secret) pair: the first of the list."""

    def make(target: Target, keys: KeyList) -> Conn:
        key, secret = keys[0]
        return cls(target, key, secret)

    return make


CLIENTS: dict[str, ClientSpec] = {
    s.name: s
    for s in (
        ClientSpec(
            "polo_fast",
            "polo_fast.Client (async, lean lane, warm_up)",
            PoloFastAsync,
            pooled=True,
            polo_fast=True,
        ),
        ClientSpec(
            "polo_fast-sync",
            "polo_fast.sync.Client (blocking)",
            PoloFastSync,
            pooled=True,
            polo_fast=True,
        ),
        ClientSpec(
            "polo_fast-compat",
            "polo_fast.compat.poloniex.Poloniex (drop-in)",
            PoloFastCompat,
            polo_fast=True,
        ),
        ClientSpec("python-poloniex", "poloniexapi 0.5.7, unmodified", single(PythonPoloniex)),
        ClientSpec("requests", "requests + stdlib hmac signing", single(RequestsBot)),
        ClientSpec("aiohttp", "aiohttp + stdlib hmac signing", single(AiohttpBot)),
        ClientSpec("floor", "raw asyncio protocol, pre-signed request", single(FloorConn)),
    )
}

#: The default ``--clients`` list, in table order.
DEFAULT_CLIENTS: tuple[str, ...] = tuple(CLIENTS)
