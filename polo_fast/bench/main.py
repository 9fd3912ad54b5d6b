"""``polo-fast bench``: the command line (arguments, checks, dispatch) and nothing else.

Default: the stand-in mode (:func:`.run.standin`): the stand-in exchange and one WAN proxy
per RTT profile in a child process, every client at every profile, then the idle phase for
all profiles at once; the table and the performance target checks; ``results.json`` and
PNG plots in ``--out`` (``bench-out``). ``--api`` picks the API: ``legacy`` (default, the
legacy clients against the legacy stand-in), ``spot`` (the Spot API's clients against the
Spot stand-in; per profile also the WebSocket order rows, and once the local book's cost
per update: :mod:`.spot_ws`, unless ``--no-ws``) or ``both`` (one run, one idle phase).
``--url`` runs read-only against the real exchange's legacy API (:func:`.run.real`);
``--compare`` merges earlier results (:func:`.run.compare`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence

from polo_fast.bench import run
from polo_fast.bench.server import LOOPBACK
from polo_fast.bench.spot_clients import BY_API
from polo_fast.cli import Parser, count, non_negative
from polo_fast.testing.wan import PROFILES

__all__ = [
    "ALL_PROFILES",
    "APIS",
    "BOTH_PROFILES",
    "IDLE_SECONDS",
    "QUICK_PROFILES",
    "SPOT_BOTH_PROFILES",
    "SPOT_PROFILES",
    "SPOT_QUICK_PROFILES",
    "build_parser",
    "main",
]

#: The legacy API's default profile set (every profile of
#: :data:`~polo_fast.testing.wan.PROFILES`, and ``loopback``, can be chosen with
#: ``--profiles``; ``dub`` sits between chicago and frankfurt and is not run by default for
#: the legacy API, so a full run keeps its length).
ALL_PROFILES = ("iad", "nyc", "chicago", "frankfurt", "tokyo")
QUICK_PROFILES = ("iad", "frankfurt")
#: The Spot API's: ``loopback`` (no proxy: the issue's "warm round trip on loopback"
#: target), ``iad`` and ``dub`` (the two colo advices), and a near and a far one.
SPOT_PROFILES = (LOOPBACK, "iad", "nyc", "dub", "tokyo")
#: The shares of ``--api both`` (``make bench``), so the whole run stays near 8 minutes on
#: 2 cores: the Spot API at the profiles its targets are judged at, the legacy API without
#: ``tokyo`` (the most expensive profile: every client within 2 % of the floor there, as
#: at ``frankfurt``; a single-API run still has it).
SPOT_BOTH_PROFILES = (LOOPBACK, "iad", "dub")
BOTH_PROFILES = ("iad", "nyc", "chicago", "frankfurt")
SPOT_QUICK_PROFILES = (LOOPBACK, "dub")
#: Seconds the idle phase leaves every client alone before its first order (``--quick``:
#: the second figure): longer than the stand-in's 60 s keep-alive timeout.
IDLE_SECONDS = (120.0, 5.0)
#: ``--api`` choices: one API's clients, or both APIs' in one run.
APIS = ("legacy", "spot", "both")
_NAMES = (LOOPBACK, *PROFILES)
#: The highest ``--nonce-scale``: nanoseconds.
MAX_NONCE_SCALE = 1_000_000_000


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``polo-fast bench`` argument parser."""
    p = Parser(
        prog="polo-fast bench",
        description="Signed round trips side by side: polo_fast against python-poloniex, "
        "requests and aiohttp bots (legacy API) or ccxt and an aiohttp bot (Spot API) and a "
        "raw-protocol floor, per RTT profile (stand-in exchange behind a WAN-delay proxy), "
        "or read-only against the real exchange.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run (about a minute per API): profiles {','.join(QUICK_PROFILES)} "
        f"(spot {','.join(SPOT_QUICK_PROFILES)}), few requests, {IDLE_SECONDS[1]:g} s idle",
    )
    p.add_argument(
        "--api",
        choices=APIS,
        default="legacy",
        help="which API's clients to measure: legacy (default), spot (polo_fast.spot, ccxt "
        "4.5.90, aiohttp, floor against the Spot stand-in) or both in one run",
    )
    p.add_argument(
        "--no-ws",
        action="store_true",
        help="spot: skip the WebSocket order rows (ws-floor, polo_fast-ws beside its REST "
        "lane, ccxt pro) at each profile and the book_lv2 line",
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
        help=f"comma-separated RTT profiles, for every API of the run (default: legacy "
        f"{','.join(ALL_PROFILES)}, spot {','.join(SPOT_PROFILES)}; with --api both legacy "
        f"{','.join(BOTH_PROFILES)} and spot {','.join(SPOT_BOTH_PROFILES)}; any of "
        f"{','.join(_NAMES)}; {LOOPBACK}: no WAN proxy)",
    )
    p.add_argument(
        "--clients",
        type=_csv,
        default=None,
        help=f"comma-separated clients (default: every client of the API: legacy "
        f"{','.join(BY_API['legacy'])}; spot {','.join(BY_API['spot'])}); with --api both a "
        "name applies to each API that has it; the floor is always measured",
    )
    p.add_argument(
        "--requests",
        type=count,
        default=None,
        help="warm returnBalances (spot: GET /accounts/balances) per client and profile "
        "(default: sized by RTT)",
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
) -> dict[str, tuple[list[str], list[str]]]:
    """Each API of the run -> (its clients, floor last if not named; its profiles)."""
    apis = ["legacy", "spot"] if args.api == "both" else [args.api]
    if args.clients:
        known = {c for api in apis for c in BY_API[api]}
        unknown = [c for c in args.clients if c not in known]
        if unknown:
            names = ", ".join(dict.fromkeys(c for api in apis for c in BY_API[api]))
            parser.error(f"unknown client(s) {', '.join(unknown)}; one of {names}")
    bad = [p for p in args.profiles or () if p not in _NAMES]
    if bad:
        parser.error(f"unknown profile(s) {', '.join(bad)}; one of {', '.join(_NAMES)}")
    out: dict[str, tuple[list[str], list[str]]] = {}
    for api in apis:
        registry = BY_API[api]
        clients = [c for c in args.clients if c in registry] if args.clients else list(registry)
        if not clients and len(apis) > 1:
            continue  # --api both --clients naming only the other API's clients
        if "floor" not in clients:
            clients.append("floor")
        if args.profiles:
            profiles = list(args.profiles)
        elif api == "spot" and args.quick:
            profiles = list(SPOT_QUICK_PROFILES)
        elif api == "spot":
            profiles = list(SPOT_BOTH_PROFILES if len(apis) > 1 else SPOT_PROFILES)
        elif args.quick:
            profiles = list(QUICK_PROFILES)
        else:
            profiles = list(BOTH_PROFILES if len(apis) > 1 else ALL_PROFILES)
        out[api] = (clients, profiles)
    return out


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
    if args.url and args.api != "legacy":
        parser.error(f"--api {args.api} with --url: the real exchange is measured on the "
                     "legacy API's read-only command only (use --api legacy)")  # fmt: skip
    if args.nonce_scale > MAX_NONCE_SCALE:
        parser.error(f"--nonce-scale is at most {MAX_NONCE_SCALE} (nanoseconds)")
    if args.idle_seconds is None:
        args.idle_seconds = IDLE_SECONDS[1] if args.quick else IDLE_SECONDS[0]
    selection = _select(args, parser)
    if args.url:
        with _quiet_poloniex():
            return run.real(args, selection["legacy"][0])
    try:
        with _quiet_poloniex():
            return run.standin(args, selection)
    except RuntimeError as exc:
        sys.stderr.write(f"polo-fast bench: {exc}\n")
        return 1
