"""The cell plan and the result model: how much one (client, profile) cell measures, with
which keys, and what it measured.

A cell is one client at one RTT profile. :func:`plan_for` sizes it by the profile's RTT so
that slow profiles take seconds, not minutes; :class:`CellKeys` gives every client instance
its own fresh key (so nonces never collide); :class:`CellResult` holds the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from polo_fast.testing.keys import make_keys

__all__ = [
    "FIRST_OPS",
    "PARALLEL_KEYS",
    "CellKeys",
    "CellResult",
    "Plan",
    "make_cell_keys",
    "new_result",
    "plan_for",
]

#: Keys (and workers) of the parallel phase.
PARALLEL_KEYS = 4


@dataclass(frozen=True)
class Plan:
    """How many of each measurement one cell takes."""

    balances: int
    orders: int
    parallel: int
    cold_reps: int
    pre: int = 3

    def as_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return {
            "balances": self.balances,
            "orders": self.orders,
            "parallel": self.parallel,
            "cold_reps": self.cold_reps,
            "pre": self.pre,
        }


def _clamp(x: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(x)))


def plan_for(
    rtt_ms: float, *, quick: bool = False, requests: int | None = None, real: bool = False
) -> Plan:
    """Size a cell by its RTT so that slow profiles take seconds, not minutes.

    ``requests`` fixes the warm ``returnBalances`` count (orders and parallel scale from it).
    """
    per_s = rtt_ms / 1000.0 + 0.0015  # a round trip plus a slow client's own time
    budget = 0.6 if quick else 3.0
    if real:
        n = requests or (10 if quick else 30)
        return Plan(balances=n, orders=0, parallel=0, cold_reps=2 if quick else 3, pre=1)
    if requests is not None:
        n = max(1, requests)
        return Plan(
            balances=n,
            orders=max(1, n // 2),
            parallel=max(1, n // 4),
            cold_reps=2 if quick else 3,
            pre=2,
        )
    if quick:
        return Plan(
            balances=_clamp(0.5 * budget / per_s, 10, 300),
            orders=_clamp(0.25 * budget / (2 * per_s), 3, 100),
            parallel=_clamp(0.1 * budget / per_s, 3, 50),
            cold_reps=_first_reps(rtt_ms, quick=True),
            pre=2,
        )
    return Plan(
        balances=_clamp(0.45 * budget / per_s, 20, 1500),
        orders=_clamp(0.3 * budget / (2 * per_s), 8, 400),
        parallel=_clamp(0.15 * budget / per_s, 8, 300),
        cold_reps=_first_reps(rtt_ms, quick=False),
    )


def _first_reps(rtt_ms: float, *, quick: bool) -> int:
    """How many cold and after-warm-up first orders to take (one sample each per client).

    A first order is one sample per fresh client, so its median needs more of them than a
    median of two where they are cheap (low RTT): on a shared machine a single scheduling
    delay of a few milliseconds is as large as the whole round trip at ``iad``.
    """
    if quick:
        return 5 if rtt_ms <= 10 else (2 if rtt_ms <= 50 else 1)
    return 9 if rtt_ms <= 10 else (5 if rtt_ms < 50 else 3)


@dataclass
class CellKeys:
    """The keys one cell uses: one per cold and after-warm-up client, one main, one for the
    client that idles, four parallel."""

    cold: list[tuple[str, str]]
    after: list[tuple[str, str]]
    main: tuple[str, str]
    parallel: list[tuple[str, str]]
    idle: tuple[str, str] | None = None

    def all(self) -> list[tuple[str, str]]:
        """Every (key, secret) pair of the cell."""
        idle = [self.idle] if self.idle is not None else []
        return [*self.cold, *self.after, self.main, *self.parallel, *idle]


def make_cell_keys(reps: int) -> CellKeys:
    """Fresh keys for one cell (each client instance gets its own, so nonces never collide)."""
    pairs = list(make_keys(2 * reps + 2 + PARALLEL_KEYS).items())
    return CellKeys(
        cold=pairs[:reps],
        after=pairs[reps : 2 * reps],
        main=pairs[2 * reps],
        idle=pairs[2 * reps + 1],
        parallel=pairs[2 * reps + 2 :],
    )


@dataclass
class CellResult:
    """What one cell measured (milliseconds unless named otherwise)."""

    client: str
    profile: str
    rtt_ms: float
    first_op: str
    api: str = "legacy"
    cold_ms: list[float] = field(default_factory=list)
    after_warm_up_ms: list[float] = field(default_factory=list)
    warm_up_ms: list[float] = field(default_factory=list)
    after_idle_ms: list[float] = field(default_factory=list)
    balances_ms: list[float] = field(default_factory=list)
    buy_ms: list[float] = field(default_factory=list)
    cancel_ms: list[float] = field(default_factory=list)
    cpu_us_balances: float | None = None
    cpu_us_orders: float | None = None
    parallel_requests: int = 0
    parallel_seconds: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def parallel_rps(self) -> float | None:
        """Requests per second over the parallel phase."""
        if not self.parallel_seconds or not self.parallel_requests:
            return None
        return self.parallel_requests / self.parallel_seconds


#: What each API's first request is called in the results: (order, read-only request).
FIRST_OPS = {
    "legacy": ("buy", "returnBalances"),
    "spot": ("POST /orders", "GET /accounts/balances"),
}


def new_result(
    client: str, profile: str, rtt_ms: float, real: bool, api: str = "legacy"
) -> CellResult:
    """An empty result for one cell of ``api`` (its first request is an order unless
    ``real``)."""
    order, read = FIRST_OPS[api]
    return CellResult(client, profile, rtt_ms, read if real else order, api)
