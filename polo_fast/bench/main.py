"""``polo-fast bench``: the command line (arguments, checks, dispatch) and nothing else.

Default: the stand-in mode (:func:`.run.standin`): the stand-in exchange and one WAN proxy
per RTT profile in a child process, every client at every profile, then the idle phase for
all profiles at once; the table and the performance target checks; ``results.json`` and
PNG plots in ``--out`` (``bench-out``). ``--url`` runs read-only against the real exchange
(:func:`.run.real`); ``--compare`` merges earlier results (:func:`.run.compare`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence

from polo_fast.bench import run
from polo_fast.bench.clients import CLIENTS, DEFAULT_CLIENTS
from polo_fast.cli import Parser, count, non_negative
from polo_fast.testing.wan import PROFILES

__all__ = ["ALL_PROFILES", "APIS", "IDLE_SECONDS", "QUICK_PROFILES", "build_parser", "main"]

#: The default profile set (every profile of :data:`~polo_fast.testing.wan.PROFILES` can be
#: chosen with ``--profiles``; ``dub`` sits between chicago and frankfurt and is not run by
#: default, so a full run keeps its length).
ALL_PROFILES = ("iad", "nyc", "chicago", "frankfurt", "tokyo")
QUICK_PROFILES = ("iad", "frankfurt")
#: Seconds the idle phase leaves every client alone before its first order (``--quick``:
#: the second figure): longer than the stand-in's 60 s keep-alive timeout.
IDLE_SECONDS = (120.0, 5.0)
#: ``--api`` choices; only ``legacy`` has clients so far.
APIS = ("legacy", "spot", "both")
#: The highest ``--nonce-scale``: nanoseconds.
MAX_NONCE_SCALE = 1_000_000_000


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``polo-fast bench`` argument parser."""
    p = Parser(
        prog="polo-fast bench",
        description="Signed round trips side by side: polo_fast against python-poloniex, "
        "requests and aiohttp bots and a raw-protocol floor, per RTT profile (stand-in "
        "exchange behind a WAN-delay proxy), or read-only against the real exchange.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run (under a minute): profiles {','.join(QUICK_PROFILES)}, few requests, "
        f"{IDLE_SECONDS[1]:g} s idle",
    )
    p.add_argument(
        "--api",
        choices=APIS,
        default="legacy",
        help="which API's clients to measure: legacy (default), spot or both",
    )
    p.add_argument(
        "--idle-seconds",
        type=non_negative,
        default=None,
        metavar="SECONDS",
        help=f"idle time before the after-idle first order (default {IDLE_SECONDS[0]:g}, "
        f"--quick {IDLE_SECONDS[1]:g}; 0 skips the idle phase)",
    )
    p.add_argument(
        "--out",
        default="bench-out",
        help="directory for results.json and the PNG plots (default bench-out)",
    )
    p.add_argument("--no-plots", action="store_true", help="write results.json only")
    p.add_argument(
        "--profiles",
        type=_csv,
        default=None,
        help=f"comma-separated RTT profiles (default {','.join(ALL_PROFILES)}; "
        f"any of {','.join(PROFILES)})",
    )
    p.add_argument(
        "--clients",
        type=_csv,
        default=None,
        help=f"comma-separated clients (default {','.join(DEFAULT_CLIENTS)}); "
        "the floor is always measured",
    )
    p.add_argument(
        "--requests",
        type=count,
        default=None,
        help="warm returnBalances per client and profile (default: sized by RTT)",
    )
    p.add_argument(
        "--url",
        default=None,
        help="the real exchange (e.g. https://poloniex.com): read-only commands "
        "only, keys from --key-env/--secret-env",
    )
    p.add_argument("--key-env", default="POLO_FAST_KEY", help="variable holding the API key")
    p.add_argument(
        "--secret-env", default="POLO_FAST_SECRET", help="variable holding the API secret"
    )
    p.add_argument(
        "--nonce-scale",
        type=count,
        default=1000,
        help="nonce units per second against the real exchange (default 1000 = "
        "ms; use the scale your key already accepted)",
    )
    p.add_argument(
        "--ca-path",
        default=None,
        help="with --url: an extra CA to trust (e.g. a stand-in started with polo-fast exchange)",
    )
    p.add_argument("--label", default=None, help="this host's name in --compare tables")
    p.add_argument(
        "--no-pin", action="store_true", help="do not pin clients and the stand-in to separate CPUs"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="RESULTS_JSON",
        default=None,
        help="merge results.json files from several hosts into one table and plot",
    )
    return p


def _select(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[list[str], list[str]]:
    clients = list(args.clients or DEFAULT_CLIENTS)
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; one of {', '.join(CLIENTS)}")
    if "floor" not in clients:
        clients.append("floor")
    profiles = list(args.profiles or (QUICK_PROFILES if args.quick else ALL_PROFILES))
    bad = [p for p in profiles if p not in PROFILES]
    if bad:
        parser.error(f"unknown profile(s) {', '.join(bad)}; one of {', '.join(PROFILES)}")
    return clients, profiles


@contextlib.contextmanager
def _quiet_poloniex() -> Iterator[None]:
    """Mute python-poloniex's own error log (its errors are recorded in the results)."""
    logger = logging.getLogger("poloniex")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``polo-fast bench``; return the exit code (0 ok, 1 run failed, 2 usage)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(raw)
    args.argv = raw
    if args.compare:
        return run.compare(args)
    if args.api != "legacy":
        parser.error(f"--api {args.api}: the Spot API clients are not built yet (use legacy)")
    if args.nonce_scale > MAX_NONCE_SCALE:
        parser.error(f"--nonce-scale is at most {MAX_NONCE_SCALE} (nanoseconds)")
    if args.idle_seconds is None:
        args.idle_seconds = IDLE_SECONDS[1] if args.quick else IDLE_SECONDS[0]
    clients, profiles = _select(args, parser)
    if args.url:
        with _quiet_poloniex():
            return run.real(args, clients)
    try:
        with _quiet_poloniex():
            return run.standin(args, clients, profiles)
    except RuntimeError as exc:
        sys.stderr.write(f"polo-fast bench: {exc}\n")
        return 1
