"""The engine of ``polo-fast bench`` and ``polo-fast colo``.

- :func:`main_bench`: signed round trips to the stand-in exchange (through WAN-delay
  proxies, one per RTT profile) or to the real exchange, side by side for several clients
  and a raw-protocol floor, on the legacy API, the Spot API (``--api spot``: polo_fast's
  Spot faces, ccxt 4.5.90, aiohttp) or both; a table, ``results.json`` and PNG plots.
- :func:`main_colo`: the Cloudflare colo serving this host, TCP/TLS/HTTP timings to the API
  hosts (legacy and Spot), and a verdict against the target colo (IAD by default).

Both are imported on first call, so ``import polo_fast.bench`` loads nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main_bench", "main_colo"]


def main_bench(argv: Sequence[str] | None = None) -> int:
    """Run ``polo-fast bench`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from polo_fast.bench.main import main

    return main(argv)


def main_colo(argv: Sequence[str] | None = None) -> int:
    """Run ``polo-fast colo`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from polo_fast.bench.colo import main_colo as run

    return run(argv)
