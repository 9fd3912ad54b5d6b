"""Balances and holds of the Spot stand-in: one SPOT account per API key.

Placing an order moves funds from ``available`` to ``hold``; a fill spends from ``hold`` and
credits the other currency (less the fee); a cancel releases what is left. Every change is
synchronous on the server's loop, so each request sees a consistent account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from polo_fast.testing._refdata import CURRENCIES, ZERO, fmt
from polo_fast.testing.spot._errors import BAD_PARAM, INSUFFICIENT, SpotError

__all__ = ["Wallet"]


@dataclass(eq=False)
class Wallet:
    """The SPOT account of one key: ``available`` and ``hold`` per currency."""

    account_id: int
    available: dict[str, Decimal]
    hold: dict[str, Decimal] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    """Currencies changed since the WebSocket feeds last looked (``balances`` events)."""

    @classmethod
    def opened(cls, account_id: int, balances: Mapping[str, Decimal]) -> Wallet:
        """A new account holding ``balances``, nothing on hold."""
        return cls(account_id, dict(balances))

    def reserve(self, currency: str, amount: Decimal) -> None:
        """Put ``amount`` on hold, or refuse with 21709 (low available balance)."""
        if amount > self.available.get(currency, ZERO):
            raise SpotError(INSUFFICIENT)
        self.available[currency] -= amount
        self.hold[currency] = self.hold.get(currency, ZERO) + amount
        self.changed.add(currency)

    def release(self, currency: str, amount: Decimal) -> None:
        """Move ``amount`` from hold back to available."""
        if amount > 0:
            self.hold[currency] -= amount
            self.available[currency] = self.available.get(currency, ZERO) + amount
            self.changed.add(currency)

    def spend(self, currency: str, amount: Decimal) -> None:
        """Pay ``amount`` out of hold (a fill)."""
        self.hold[currency] -= amount
        self.changed.add(currency)

    def credit(self, currency: str, amount: Decimal) -> None:
        """Add ``amount`` to available (a fill's proceeds, a transfer in)."""
        self.available[currency] = self.available.get(currency, ZERO) + amount
        self.changed.add(currency)

    def debit(self, currency: str, amount: Decimal) -> None:
        """Take ``amount`` from available (a withdrawal, a transfer out), or refuse: 601 when
        it is not above 0 (a negative debit would create money), 21709 when it is too much."""
        if amount <= 0:
            raise SpotError(BAD_PARAM, detail="amount must be greater than 0")
        if amount > self.available.get(currency, ZERO):
            raise SpotError(INSUFFICIENT)
        self.available[currency] -= amount
        self.changed.add(currency)

    def rows(self) -> list[dict[str, str]]:
        """The ``balances`` list of ``GET /accounts/balances``: every currency held."""
        codes = sorted(set(self.available) | {c for c, v in self.hold.items() if v})
        return [
            {
                "currencyId": str(CURRENCIES[c].id) if c in CURRENCIES else "0",
                "currency": c,
                "available": fmt(self.available.get(c, ZERO)),
                "hold": fmt(self.hold.get(c, ZERO)),
            }
            for c in codes
        ]

    def account(self) -> dict[str, object]:
        """One element of ``GET /accounts/balances``."""
        return {"accountId": str(self.account_id), "accountType": "SPOT", "balances": self.rows()}
