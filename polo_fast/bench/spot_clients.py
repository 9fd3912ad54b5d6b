"""The Spot API clients under test, by name: polo_fast's two Spot faces, ccxt, aiohttp, the floor.

:data:`SPOT_CLIENTS` is the Spot API's twin of :data:`~polo_fast.bench.clients.CLIENTS`
(the same :class:`~polo_fast.bench.clients.ClientSpec`, ``api="spot"``); :data:`BY_API`
holds both registries. The measured calls are the Spot API's: ``balances`` is a signed
``GET /accounts/balances``, ``buy`` a resting ``LIMIT`` buy (``POST /orders``), ``cancel`` its
``DELETE /orders/<id>``.

polo_fast's faces run with ``keep_warm`` on and ``rate_limits=None`` (the stand-in's limits
are off too), without the private WebSocket (``ws=False``: REST is what is measured). The
Spot API has no nonce, so one key may have several requests in flight: in the parallel
phase one polo_fast client serves the four workers from **one** key over four warm lanes
(``connections=4``, ``warm_up(4)``), where every other client runs one instance per key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polo_fast.bench.clients import (
    CLIENTS,
    ClientSpec,
    close_blocking,
    connection_options,
    enter_blocking,
    single,
)
from polo_fast.bench.conn import Conn, SyncConn, Target
from polo_fast.bench.floor import SpotFloorConn
from polo_fast.bench.spot_competitors import CcxtAsync, CcxtSync, SpotAiohttpBot, order_id

__all__ = [
    "BY_API",
    "DEFAULT_SPOT_CLIENTS",
    "SPOT_CLIENTS",
    "SpotPoloFastAsync",
    "SpotPoloFastSync",
    "spot_client_options",
]

KeyList = Sequence[tuple[str, str]]

#: Lanes a polo_fast Spot client opens and warms with one key (``connections=``); the
#: parallel phase asks for as many as it has workers.
LANES = 2


def spot_client_options(target: Target, lanes: int) -> dict[str, Any]:
    """The keyword arguments the bench gives both polo_fast Spot faces."""
    return {
        "url": target.url,
        "ca_path": target.ca_path,
        "rate_limits": None,
        "ws": False,
        "connections": lanes,
        **connection_options(target.url),
    }


class _SpotFace:
    """What both polo_fast Spot faces share: the target, one key, the lane count."""

    def __init__(self, target: Target, keys: KeyList) -> None:
        self.target = target
        self._key, self._secret = keys[0]
        self._lanes = max(LANES, len(keys))
        self.client: Any = None

    def _make(self, cls: Any) -> Any:
        return cls(self._key, self._secret, **spot_client_options(self.target, self._lanes))

    def _order(self) -> dict[str, Any]:
        order = self.target.spot_order()
        return {"type": order["type"], "price": order["price"], "quantity": order["quantity"]}


class SpotPoloFastAsync(_SpotFace, Conn):
    """``polo_fast.spot.Client`` (async), warmed with ``warm_up(n)`` over ``n`` lanes."""

    name = "polo_fast"

    async def start(self) -> None:
        """Create and enter the client (its ``__aenter__`` opens no connection to time)."""
        from polo_fast.spot.client import Client

        self.client = await self._make(Client).__aenter__()

    async def warm_up(self) -> None:
        """``await client.warm_up(n)``: clock offset measured, every lane opened and warm."""
        await self.client.warm_up(self._lanes)

    async def balances(self) -> None:
        """``await client.balances()``."""
        await self.client.balances()

    async def buy(self, seq: int) -> str:
        """``await client.create_order(symbol, "BUY", type="LIMIT", price=..., quantity=...)``."""
        return order_id(await self.client.create_order(self.target.symbol, "BUY", **self._order()))

    async def cancel(self, ref: str) -> None:
        """``await client.cancel_order(ref)``."""
        await self.client.cancel_order(ref)

    async def close(self) -> None:
        """Leave the client's context."""
        client, self.client = self.client, None
        if client is not None:
            await client.__aexit__(None, None, None)


class SpotPoloFastSync(_SpotFace, SyncConn):
    """``polo_fast.spot.sync.Client``: the blocking face (its own loop thread)."""

    name = "polo_fast-sync"

    async def start(self) -> None:
        """Create the blocking client."""
        from polo_fast.spot.sync import Client

        self.client = enter_blocking(self._make(Client))

    def do_warm_up(self) -> None:
        """``client.warm_up(n)``."""
        self.client.warm_up(self._lanes)

    def do_balances(self) -> None:
        """``client.balances()``."""
        self.client.balances()

    def do_buy(self, seq: int) -> str:
        """``client.create_order(symbol, "BUY", type="LIMIT", price=..., quantity=...)``."""
        return order_id(self.client.create_order(self.target.symbol, "BUY", **self._order()))

    def do_cancel(self, ref: str) -> None:
        """``client.cancel_order(ref)``."""
        self.client.cancel_order(ref)

    def do_close(self) -> None:
        """Close the client (and its loop thread)."""
        client, self.client = self.client, None
        close_blocking(client)


SPOT_CLIENTS: dict[str, ClientSpec] = {
    s.name: s
    for s in (
        ClientSpec(
            "polo_fast",
            "polo_fast.spot.Client (async, lanes, warm_up, keep_warm)",
            SpotPoloFastAsync,
            pooled=True,
            polo_fast=True,
            api="spot",
        ),
        ClientSpec(
            "polo_fast-sync",
            "polo_fast.spot.sync.Client (blocking)",
            SpotPoloFastSync,
            pooled=True,
            polo_fast=True,
            api="spot",
        ),
        ClientSpec(
            "ccxt", "ccxt 4.5.90 async (aiohttp), unmodified", single(CcxtAsync), api="spot"
        ),
        ClientSpec("ccxt-sync", "ccxt 4.5.90 (requests), unmodified", single(CcxtSync), api="spot"),
        ClientSpec(
            "aiohttp", "aiohttp + json.dumps + hmac + base64", single(SpotAiohttpBot), api="spot"
        ),
        ClientSpec(
            "floor", "raw asyncio protocol, pre-signed request", single(SpotFloorConn), api="spot"
        ),
    )
}

#: The default ``--clients`` list of the Spot API, in table order.
DEFAULT_SPOT_CLIENTS: tuple[str, ...] = tuple(SPOT_CLIENTS)

#: Every API's clients: ``legacy`` and ``spot``.
BY_API: dict[str, dict[str, ClientSpec]] = {"legacy": CLIENTS, "spot": SPOT_CLIENTS}
