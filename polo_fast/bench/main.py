"""``polo-fast bench``: argument parsing and the run (stand-in, real exchange, or compare).

Default: start the stand-in exchange and one WAN proxy per RTT profile in a child process,
run every client at every profile (:mod:`.runner`), print the table and the performance
target checks, and write ``results.json`` and PNG plots into ``--out`` (``bench-out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from polo_fast.bench.clients import CLIENTS, DEFAULT_CLIENTS
from polo_fast.bench.conn import Target
from polo_fast.bench.runner import (
    CellKeys,
    CellResult,
    Plan,
    make_cell_keys,
    new_key,
    new_loop,
    new_result,
    plan_for,
    prime,
    run_profile,
)

__all__ = ["build_parser", "main"]

ALL_PROFILES = ("iad", "nyc", "chicago", "frankfurt", "tokyo")
QUICK_PROFILES = ("iad", "frankfurt")
#: Seconds between requests against the real exchange (under its 6 calls/s limit).
REAL_PACE = 0.25


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``polo-fast bench`` argument parser."""
    p = argparse.ArgumentParser(
        prog="polo-fast bench",
        description="Signed round trips side by side: polo_fast against python-poloniex, "
        "requests and aiohttp bots and a raw-protocol floor, per RTT profile (stand-in "
        "exchange behind a WAN-delay proxy), or read-only against the real exchange.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run (under a minute): profiles {','.join(QUICK_PROFILES)}, few requests",
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
        help=f"comma-separated RTT profiles (default {','.join(ALL_PROFILES)})",
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
        type=int,
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
        type=int,
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


class _Progress:
    """A tqdm bar over cells on stderr (or nothing)."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self._bar: Any = None
        if enabled is False:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        tqdm.monitor_interval = 0  # no monitor thread: it would count as client CPU
        self._bar = tqdm(
            total=total,
            desc="bench",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
            file=sys.stderr,
            disable=None if enabled is None else not enabled,
            dynamic_ncols=True,
            leave=False,
        )

    def step(self, text: str) -> None:
        """Show what is being measured."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def advance(self, n: float = 1.0) -> None:
        """Move the bar by ``n`` phases (fractions allowed)."""
        if self._bar is not None and n:
            self._bar.update(n)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()


@contextlib.contextmanager
def _pinned(cpu: int | None) -> Iterator[None]:
    """Pin this process to ``cpu`` for the run, restoring the previous set afterwards."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)


#: Other processes' load (in CPUs) above which the run is not pinned (see :func:`_cpu_split`).
BUSY_CPUS = 0.25


def _other_load(seconds: float = 0.3) -> float | None:
    """CPUs' worth of busy time on the machine over ``seconds``, while this process sleeps.

    Read from ``/proc/stat``; None where it cannot be read.
    """

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = f.readline().split()
        except OSError:
            return None
        if len(fields) < 5 or fields[0] != "cpu":
            return None
        ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        return sum(ticks), ticks[3] + ticks[4]

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * (os.cpu_count() or 1)


def _cpu_split(no_pin: bool) -> tuple[int | None, list[int] | None, str | None]:
    """(client CPU, stand-in CPUs, why not pinned): pinned on a quiet machine only.

    On a machine where other processes keep a CPU busy, a pinned process cannot move away
    from them: the scheduler then makes it wait out the other process's time slice (2-5 ms
    stalls measured here with Linux's EEVDF scheduler, mostly on requests that follow an
    idle moment, such as a first order), which unpinned processes avoid.
    """
    if no_pin or not hasattr(os, "sched_getaffinity"):
        return None, None, "--no-pin" if no_pin else "no CPU affinity on this system"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, "one CPU"
    busy = _other_load()
    if busy is not None and busy > BUSY_CPUS:
        return None, None, f"other processes busy ({busy:.1f} CPUs)"
    return cpus[0], cpus[1:], None


def _profile_timeout(rtt_ms: float, plan: Plan, clients: int, pace: float) -> float:
    """A generous bound for one profile: 20x its expected round trips, at least 120 s."""
    trips = (
        plan.balances + 2 * plan.orders + 4 * plan.parallel + 12 * plan.cold_reps + plan.pre + 20
    )
    return max(120.0, 20.0 * clients * trips * (rtt_ms / 1000.0 + 0.005 + pace))


def _run(
    profiles: list[tuple[str, float, Plan]],
    clients: list[str],
    keys: dict[tuple[str, str], CellKeys],
    targets: dict[str, Target],
    prime_keys: dict[str, tuple[str, str]] | None,
    progress: _Progress,
    pace: float = 0.0,
    rounds: int = 5,
) -> list[CellResult]:
    specs = [CLIENTS[c] for c in clients]
    loop = new_loop()
    out: list[CellResult] = []
    try:
        if prime_keys is not None:
            progress.step("priming every client (untimed)")
            first = targets[profiles[0][0]]
            for err in loop.run_until_complete(prime(specs, first, prime_keys)):
                sys.stderr.write(f"polo-fast bench: priming {err}\n")
        for profile, rtt, plan in profiles:
            results = {c: new_result(c, profile, rtt, targets[profile].real) for c in clients}

            def step(client: str, phase: str, frac: float, _p: str = profile) -> None:
                progress.step(f"{_p} {client}: {phase}")
                progress.advance(frac)

            limit = _profile_timeout(rtt, plan, len(clients), pace)
            try:
                loop.run_until_complete(
                    asyncio.wait_for(
                        run_profile(
                            specs,
                            targets[profile],
                            plan,
                            {c: keys[(profile, c)] for c in clients},
                            results,
                            pace=pace,
                            rounds=rounds,
                            step=step,
                        ),
                        timeout=limit,
                    )
                )
            except asyncio.TimeoutError:
                for r in results.values():
                    r.errors.append(f"profile timed out after {limit:.0f} s (results so far kept)")
            out.extend(results[c] for c in clients)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return out


def _finish(doc: dict[str, Any], args: argparse.Namespace) -> int:
    from polo_fast.bench.report import format_table, format_targets, write_json

    sys.stdout.write(format_table(doc))
    sys.stdout.write("\n" + format_targets(doc["targets"]))
    if args.out:
        path = write_json(doc, os.path.join(args.out, "results.json"))
        written = [str(path)]
        if not args.no_plots:
            try:
                from polo_fast.bench.plots import write_plots

                written += [str(p) for p in write_plots(doc, args.out)]
            except ImportError as exc:
                sys.stderr.write(f"polo-fast bench: no plots ({exc}); pip install matplotlib\n")
        sys.stdout.write("\nwrote " + ", ".join(written) + "\n")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from polo_fast.bench.report import format_compare, load_results

    try:
        docs = [load_results(p) for p in args.compare]
    except ValueError as exc:
        sys.stderr.write(f"polo-fast bench: {exc}\n")
        return 2
    sys.stdout.write(format_compare(docs))
    if args.out and not args.no_plots:
        from polo_fast.bench.plots import plot_compare

        try:
            path = plot_compare(docs, os.path.join(args.out, "compare.png"))
        except ImportError as exc:
            sys.stderr.write(f"polo-fast bench: no plot ({exc}); pip install matplotlib\n")
            return 0
        sys.stdout.write(f"\nwrote {path}\n")
    return 0


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
    bad = [p for p in profiles if p not in ALL_PROFILES]
    if bad:
        parser.error(f"unknown profile(s) {', '.join(bad)}; one of {', '.join(ALL_PROFILES)}")
    return clients, profiles


def _standin(args: argparse.Namespace, clients: list[str], profiles: list[str]) -> int:
    from polo_fast.bench.probe import HttpProbe, ProbeError
    from polo_fast.bench.report import build_results, host_facts
    from polo_fast.bench.server import ExchangeProcess
    from polo_fast.testing.wan import PROFILES

    plans = {p: plan_for(PROFILES[p], quick=args.quick, requests=args.requests) for p in profiles}
    cell_keys = {(p, c): make_cell_keys(plans[p].cold_reps) for p in profiles for c in clients}
    prime_keys = {c: new_key() for c in clients}
    keys = {k: s for ck in cell_keys.values() for k, s in ck.all()}
    keys.update(prime_keys.values())
    mine, theirs, unpinned = _cpu_split(args.no_pin)
    progress = _Progress(4 * len(profiles), args.progress)  # 4 phases per profile
    sys.stderr.write(
        f"polo-fast bench: {len(clients)} clients x {len(profiles)} profiles "
        f"({', '.join(profiles)}); stand-in exchange and WAN proxies in a child process"
        + (f" on CPU {','.join(map(str, theirs))}, clients on CPU {mine}" if theirs else "")
        + (f"; not pinned to CPUs: {unpinned}" if unpinned else "")
        + "\n"
    )
    t_start = time.monotonic()
    with ExchangeProcess(keys, profiles, cpus=theirs) as info, _pinned(mine):
        targets = {p: Target(url=info.profile_url(p), ca_path=info.ca_path) for p in profiles}
        try:
            results = _run(
                [(p, float(PROFILES[p]), plans[p]) for p in profiles],
                clients,
                cell_keys,
                targets,
                prime_keys,
                progress,
            )
        finally:
            progress.close()
        tls_version = None
        with contextlib.suppress(ProbeError):
            probe = HttpProbe(info.url, ca_path=info.ca_path)
            tls_version = probe.connect().tls_version
            probe.close()
    host = host_facts(tls_version=tls_version, colo=None, label=args.label)
    config = {
        "mode": "stand-in",
        "real": False,
        "quick": bool(args.quick),
        "profiles": profiles,
        "clients": clients,
        "rtt_ms": {p: PROFILES[p] for p in profiles},
        "plans": {p: plans[p].as_dict() for p in profiles},
        "pinned": theirs is not None,
        "unpinned_because": unpinned,
        "seconds": round(time.monotonic() - t_start, 1),
        "argv": list(args.argv),
        "command": shlex.join(["polo-fast", "bench", *args.argv]),
    }
    return _finish(build_results(results, host=host, config=config), args)


def _real(args: argparse.Namespace, clients: list[str]) -> int:
    from polo_fast.bench.colo import ColoError, fetch_trace, measure_api
    from polo_fast.bench.report import build_results, host_facts
    from polo_fast.bench.stats import median

    key, secret = os.environ.get(args.key_env), os.environ.get(args.secret_env)
    if not key or not secret:
        sys.stderr.write(
            f"polo-fast bench: against {args.url} the API key and secret come "
            f"from the environment: set {args.key_env} and {args.secret_env}\n"
        )
        return 2
    url = args.url.rstrip("/")
    try:
        trace, _ = fetch_trace(url + "/cdn-cgi/trace", ca_path=args.ca_path)
        api = measure_api(url, samples=3, ca_path=args.ca_path)
    except ColoError as exc:
        sys.stderr.write(f"polo-fast bench: {exc}\n")
        return 1
    colo = trace.get("colo")
    rtt = median(api.tcp_ms)
    plan = plan_for(rtt, quick=args.quick, requests=args.requests, real=True)
    pair = (key, secret)
    ck = CellKeys(
        cold=[pair] * plan.cold_reps, after=[pair] * plan.cold_reps, main=pair, parallel=[]
    )
    target = Target(url=url, ca_path=args.ca_path, real=True, nonce_scale=args.nonce_scale)
    progress = _Progress(3, args.progress)  # cold, after warm_up, warm
    sys.stderr.write(
        f"polo-fast bench: read-only against {url} (colo {colo}), "
        f"{REAL_PACE:g} s between requests\n"
    )
    try:
        results = _run(
            [("real", rtt, plan)],
            clients,
            {("real", c): ck for c in clients},
            {"real": target},
            None,
            progress,
            pace=REAL_PACE,
            rounds=1,
        )
    finally:
        progress.close()
    host = host_facts(tls_version=api.tls_version, colo=colo, label=args.label)
    config = {
        "mode": "real",
        "real": True,
        "url": url,
        "quick": bool(args.quick),
        "profiles": ["real"],
        "clients": clients,
        "rtt_ms": {"real": round(rtt, 3)},
        "plans": {"real": plan.as_dict()},
        "argv": list(args.argv),
        "command": shlex.join(["polo-fast", "bench", *args.argv]),
    }
    return _finish(build_results(results, host=host, config=config), args)


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
        return _compare(args)
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be at least 1")
    clients, profiles = _select(args, parser)
    if args.url:
        with _quiet_poloniex():
            return _real(args, clients)
    try:
        with _quiet_poloniex():
            return _standin(args, clients, profiles)
    except RuntimeError as exc:
        sys.stderr.write(f"polo-fast bench: {exc}\n")
        return 1
