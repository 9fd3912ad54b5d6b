"""The interface every client under test implements for the bench harness.

A :class:`Conn` is one client instance bound to one API key (or, for clients that spread
calls over a key pool, to several). The harness (:mod:`.runner`) only ever awaits these
methods and times around them, so every client is measured by the same stopwatch. Blocking
clients subclass :class:`SyncConn`: their calls run inline in the harness's thread (no thread
hop is timed), and the parallel phase runs each worker in its own thread.

Targets: :class:`Target` carries where to connect and what to trade, shared by all clients.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

__all__ = ["BenchClientError", "Conn", "Nonces", "SyncConn", "Target"]


class BenchClientError(RuntimeError):
    """A client under test got an error answer (the run records it, never hides it)."""


@dataclass(frozen=True)
class Target:
    """Where the clients connect and the order they place.

    Attributes:
        url: the base URL (``https://127.0.0.1:PORT`` through a WAN proxy, or the real one).
        ca_path: an extra CA file to trust (the stand-in's), or None.
        real: True against the real exchange: read-only commands only, limiters on.
        nonce_scale: nonce units per second for the hand-written clients (1000 = ms).
        pair, rate, amount: the resting post-only buy (far below the book) that is
            placed and then cancelled (the legacy API).
        symbol, price, quantity: the Spot API's resting ``LIMIT`` buy (far below the
            stand-in's book, about 37,000 USDT), placed and then cancelled.
    """

    url: str
    ca_path: str | None = None
    real: bool = False
    nonce_scale: int = 1000
    pair: str = "BTC_ETH"
    rate: str = "0.00001000"
    amount: str = "20"
    symbol: str = "BTC_USDT"
    price: str = "20000"
    quantity: str = "0.001"

    def spot_order(self, client_order_id: str | None = None) -> dict[str, str]:
        """The Spot API's resting ``LIMIT`` buy as ``POST /orders`` fields (API names)."""
        order = {
            "symbol": self.symbol,
            "side": "BUY",
            "type": "LIMIT",
            "price": self.price,
            "quantity": self.quantity,
        }
        if client_order_id is not None:
            order["clientOrderId"] = client_order_id
        return order

    @property
    def rate_limit(self) -> float | None:
        """The client-side limiter: off on the stand-in, the exchange's 6/s on the real one."""
        return 6.0 if self.real else None


class Nonces:
    """Strictly increasing wall-clock nonces in ``scale`` units per second (for the bots)."""

    __slots__ = ("_div", "last")

    def __init__(self, scale: int = 1000) -> None:
        self._div = 1_000_000_000 // scale
        self.last = 0

    def next(self) -> int:
        """The next nonce: now in ``scale`` units, or one more than the last if that is later."""
        n = time.time_ns() // self._div
        if n <= self.last:
            n = self.last + 1
        self.last = n
        return n


class Conn(ABC):
    """One client under test, as the harness drives it (all methods awaited)."""

    #: short name used by ``--clients`` and in the results
    name: str = ""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Create the client object (no network); called before any timing."""

    def prepare(self, kind: str, n: int) -> None:  # noqa: B027 - optional hook
        """Get ready, untimed, for ``n`` requests of ``kind`` (``balances`` or ``orders``)."""

    @abstractmethod
    async def warm_up(self) -> None:
        """Open connections ahead of the first order (the client's own way, if it has one)."""

    @abstractmethod
    async def balances(self) -> None:
        """One signed ``returnBalances`` round trip."""

    @abstractmethod
    async def buy(self, seq: int) -> str:
        """Place the target's resting post-only buy; return what :meth:`cancel` needs."""

    @abstractmethod
    async def cancel(self, ref: str) -> None:
        """Cancel the order placed by :meth:`buy`."""

    @abstractmethod
    async def close(self) -> None:
        """Release the client's connections."""

    async def run_balances(self, n: int) -> None:
        """Parallel-phase worker: ``n`` sequential ``returnBalances`` calls."""
        for _ in range(n):
            await self.balances()


class SyncConn(Conn):
    """A blocking client: implement the ``do_*`` methods; the async face calls them inline."""

    @abstractmethod
    def do_warm_up(self) -> None:
        """Blocking :meth:`Conn.warm_up`."""

    @abstractmethod
    def do_balances(self) -> None:
        """Blocking :meth:`Conn.balances`."""

    @abstractmethod
    def do_buy(self, seq: int) -> str:
        """Blocking :meth:`Conn.buy`."""

    @abstractmethod
    def do_cancel(self, ref: str) -> None:
        """Blocking :meth:`Conn.cancel`."""

    @abstractmethod
    def do_close(self) -> None:
        """Blocking :meth:`Conn.close`."""

    async def warm_up(self) -> None:
        """Run :meth:`do_warm_up` inline."""
        self.do_warm_up()

    async def balances(self) -> None:
        """Run :meth:`do_balances` inline."""
        self.do_balances()

    async def buy(self, seq: int) -> str:
        """Run :meth:`do_buy` inline."""
        return self.do_buy(seq)

    async def cancel(self, ref: str) -> None:
        """Run :meth:`do_cancel` inline."""
        self.do_cancel(ref)

    async def close(self) -> None:
        """Run :meth:`do_close` inline."""
        self.do_close()

    def _run_n(self, n: int) -> None:
        for _ in range(n):
            self.do_balances()

    async def run_balances(self, n: int) -> None:
        """Run ``n`` blocking calls in a worker thread (one thread per worker)."""
        await asyncio.to_thread(self._run_n, n)


def order_number(out: Any) -> str:
    """The ``orderNumber`` of a buy's answer, as text; a clear error when there is none."""
    if not isinstance(out, dict) or "orderNumber" not in out:
        raise BenchClientError(f"buy answered without an orderNumber: {str(out)[:200]}")
    return str(out["orderNumber"])


class PoloniexApiCalls(SyncConn):
    """The measured calls of a client with python-poloniex's API (``self.client``): the
    original library and polo_fast's drop-in alike."""

    client: Any
    target: Target

    def do_balances(self) -> None:
        """``returnBalances()``."""
        self.client.returnBalances()

    def do_buy(self, seq: int) -> str:
        """``buy(pair, rate, amount, orderType='postOnly')``: a resting post-only buy."""
        t = self.target
        return order_number(self.client.buy(t.pair, t.rate, t.amount, orderType="postOnly"))

    def do_cancel(self, ref: str) -> None:
        """``cancelOrder(ref)`` by order number."""
        self.client.cancelOrder(ref)
