"""The Spot stand-in's state: books, wallets, orders, kill switches, transfers, smart orders.

One :class:`Venue` per stand-in. Handlers (``_public.py``, ``_private.py``) read and change it
synchronously on the server's loop, so every request is atomic. ``clock()`` is the exchange's
time in ms: the host's clock plus the stand-in's ``clock_offset_ms``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from polo_fast.testing._refdata import DEFAULT_BALANCES
from polo_fast.testing.spot._accounts import Wallet
from polo_fast.testing.spot._killswitch import KillSwitch
from polo_fast.testing.spot._market import Books
from polo_fast.testing.spot._orders import Trading

__all__ = ["HANDLERS", "Handler", "Params", "Venue", "handler"]

Params = dict[str, Any]
Handler = Callable[["Venue", str, Params], Any]
"""A handler: venue, API key ("" for public calls), checked parameters -> JSON answer."""

HANDLERS: dict[str, Handler] = {}
"""Every endpoint's handler by the table's method name (filled by ``_public``/``_private``)."""


def handler(*methods: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``methods``."""

    def deco(fn: Handler) -> Handler:
        for method in methods:
            assert method not in HANDLERS, method
            HANDLERS[method] = fn
        return fn

    return deco


class Venue:
    """Everything the stand-in exchange keeps."""

    def __init__(
        self,
        seed: int,
        balances: Mapping[str, Decimal] | None,
        clock: Callable[[], int],
        kill_switch_unit: float,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.balances = dict(balances if balances is not None else DEFAULT_BALANCES)
        self.books = Books(seed, time.time())
        self.wallets: dict[str, Wallet] = {}
        self.trading = Trading(self.books, self.wallet, clock)
        self.kill = KillSwitch(self.trading.cancel_all, clock, kill_switch_unit)
        self.ids = itertools.count(100_000)
        self.transfers: dict[str, list[dict[str, Any]]] = {}
        self.withdrawals: dict[str, list[dict[str, Any]]] = {}
        self.smart: dict[int, dict[str, Any]] = {}

    def wallet(self, key: str) -> Wallet:
        """The key's SPOT account, opened with the starting balances on first use."""
        wallet = self.wallets.get(key)
        if wallet is None:
            wallet = self.wallets[key] = Wallet.opened(
                290_000_000_000_000_000 + len(self.wallets), self.balances
            )
        return wallet
