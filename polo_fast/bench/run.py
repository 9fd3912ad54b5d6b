"""One ``polo-fast bench`` run per mode: the stand-in (default), the real exchange, or a
comparison of earlier results.

The stand-in mode starts the stand-in exchange and one WAN proxy per RTT profile
(:data:`polo_fast.testing.wan.PROFILES`) in a child process (:mod:`.server`), runs every
client at every profile (:mod:`.runner`), then the idle phase for all profiles at once,
and prints the table and the performance-target checks (:mod:`.report`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import time
from typing import Any

from polo_fast._loop import new_event_loop
from polo_fast.bench.clients import CLIENTS, keep_warm
from polo_fast.bench.conn import Target
from polo_fast.bench.host import cpu_split, pinned
from polo_fast.bench.plan import CellKeys, CellResult, Plan, make_cell_keys, new_result, plan_for
from polo_fast.bench.progress import Progress
from polo_fast.bench.runner import IdleCell, prime, run_idle, run_profile
from polo_fast.testing.keys import make_pair
from polo_fast.testing.wan import PROFILES

__all__ = ["REAL_PACE", "compare", "finish", "real", "standin"]

#: Seconds between requests against the real exchange (under its 6 calls/s limit).
REAL_PACE = 0.25


def _profile_timeout(rtt_ms: float, plan: Plan, clients: int, pace: float) -> float:
    """A generous bound for one profile: 20x its expected round trips, at least 120 s."""
    trips = (
        plan.balances + 2 * plan.orders + 4 * plan.parallel + 12 * plan.cold_reps + plan.pre + 20
    )
    return max(120.0, 20.0 * clients * trips * (rtt_ms / 1000.0 + 0.005 + pace))


def _idle_timeout(seconds: float, cells: int, max_rtt_ms: float, pace: float) -> float:
    """A generous bound for the idle phase: its idle time plus 120 s or 20x its round trips."""
    return seconds + max(120.0, 20.0 * cells * 6 * (max_rtt_ms / 1000.0 + 0.005 + pace))


def _run(
    profiles: list[tuple[str, float, Plan]],
    clients: list[str],
    keys: dict[tuple[str, str], CellKeys],
    targets: dict[str, Target],
    prime_keys: dict[str, tuple[str, str]] | None,
    progress: Progress,
    *,
    idle_seconds: float = 0.0,
    pace: float = 0.0,
    rounds: int = 5,
) -> list[CellResult]:
    specs = [CLIENTS[c] for c in clients]
    loop = new_event_loop()
    out: list[CellResult] = []
    idle: list[IdleCell] = []
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
            idle += [
                IdleCell(spec, targets[profile], key, results[spec.name])
                for spec in specs
                if (key := keys[(profile, spec.name)].idle) is not None
            ]
        if idle_seconds > 0 and idle:

            def idle_step(client: str, phase: str, frac: float) -> None:
                progress.step(f"{client}: {phase}")
                progress.advance(frac)

            limit = _idle_timeout(idle_seconds, len(idle), max(r for _, r, _ in profiles), pace)
            try:
                loop.run_until_complete(
                    asyncio.wait_for(
                        run_idle(idle, idle_seconds, pace=pace, step=idle_step), timeout=limit
                    )
                )
            except asyncio.TimeoutError:
                for cell in idle:
                    cell.result.errors.append(f"idle phase timed out after {limit:.0f} s")
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return out


def finish(doc: dict[str, Any], args: argparse.Namespace) -> int:
    """Print the table and the target checks; write results.json and the plots."""
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


def compare(args: argparse.Namespace) -> int:
    """``polo-fast bench --compare``: one table (and plot) over several results files."""
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


def _config(args: argparse.Namespace, mode: str, clients: list[str]) -> dict[str, Any]:
    """The ``config`` entries every mode writes."""
    return {
        "mode": mode,
        "real": mode == "real",
        "quick": bool(args.quick),
        "clients": clients,
        "idle_seconds": args.idle_seconds,
        "keep_warm": keep_warm(),
        "argv": list(args.argv),
        "command": shlex.join(["polo-fast", "bench", *args.argv]),
    }


def _phases(profiles: int, idle_seconds: float) -> int:
    """Progress-bar steps: four phases per profile, plus the idle phase for all of them."""
    return 4 * profiles + (1 if idle_seconds > 0 else 0)


def standin(args: argparse.Namespace, clients: list[str], profiles: list[str]) -> int:
    """The stand-in mode: every client at every profile, then the idle phase; print, write."""
    from polo_fast.bench.host import host_facts
    from polo_fast.bench.probe import HttpProbe, ProbeError
    from polo_fast.bench.report import build_results
    from polo_fast.bench.server import ExchangeProcess

    plans = {p: plan_for(PROFILES[p], quick=args.quick, requests=args.requests) for p in profiles}
    cell_keys = {(p, c): make_cell_keys(plans[p].cold_reps) for p in profiles for c in clients}
    prime_keys = {c: make_pair() for c in clients}
    keys = {k: s for ck in cell_keys.values() for k, s in ck.all()}
    keys.update(prime_keys.values())
    mine, theirs, unpinned = cpu_split(args.no_pin)
    progress = Progress(_phases(len(profiles), args.idle_seconds), args.progress)
    sys.stderr.write(
        f"polo-fast bench: {len(clients)} clients x {len(profiles)} profiles "
        f"({', '.join(profiles)}); stand-in exchange and WAN proxies in a child process"
        + (f" on CPU {','.join(map(str, theirs))}, clients on CPU {mine}" if theirs else "")
        + (f"; not pinned to CPUs: {unpinned}" if unpinned else "")
        + "\n"
    )
    t_start = time.monotonic()
    with ExchangeProcess(keys, profiles, cpus=theirs) as info, pinned(mine):
        targets = {p: Target(url=info.profile_url(p), ca_path=info.ca_path) for p in profiles}
        try:
            results = _run(
                [(p, float(PROFILES[p]), plans[p]) for p in profiles],
                clients,
                cell_keys,
                targets,
                prime_keys,
                progress,
                idle_seconds=args.idle_seconds,
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
        **_config(args, "stand-in", clients),
        "profiles": profiles,
        "rtt_ms": {p: PROFILES[p] for p in profiles},
        "plans": {p: plans[p].as_dict() for p in profiles},
        "keepalive_timeout": info.keepalive_timeout,
        "pinned": theirs is not None,
        "unpinned_because": unpinned,
        "seconds": round(time.monotonic() - t_start, 1),
    }
    return finish(build_results(results, host=host, config=config), args)


def real(args: argparse.Namespace, clients: list[str]) -> int:
    """The read-only mode against the real exchange (``--url``); print, write."""
    from polo_fast.bench.colo import ColoError, fetch_trace, measure_api
    from polo_fast.bench.host import host_facts
    from polo_fast.bench.report import build_results
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
        cold=[pair] * plan.cold_reps,
        after=[pair] * plan.cold_reps,
        main=pair,
        parallel=[],
        idle=pair,
    )
    target = Target(url=url, ca_path=args.ca_path, real=True, nonce_scale=args.nonce_scale)
    progress = Progress(_phases(1, args.idle_seconds), args.progress)
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
            idle_seconds=args.idle_seconds,
            pace=REAL_PACE,
            rounds=1,
        )
    finally:
        progress.close()
    host = host_facts(tls_version=api.tls_version, colo=colo, label=args.label)
    config = {
        **_config(args, "real", clients),
        "url": url,
        "profiles": ["real"],
        "rtt_ms": {"real": round(rtt, 3)},
        "plans": {"real": plan.as_dict()},
    }
    return finish(build_results(results, host=host, config=config), args)
