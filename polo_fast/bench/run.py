"""One ``polo-fast bench`` run per mode: the stand-in (default), the real exchange, or a
comparison of earlier results.

The stand-in mode starts the stand-in exchange of each API asked for (``--api legacy``,
``spot`` or ``both``) and one WAN proxy per RTT profile (:data:`polo_fast.testing.wan.PROFILES`;
``loopback`` has none) in a child process (:mod:`.server`), runs every client of each API at
every profile (:mod:`.runner`), API after API, then the idle phase for every API and profile
at once (it costs its idle time once), and prints the table and the performance-target
checks (:mod:`.report`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from polo_fast._loop import new_event_loop
from polo_fast.bench.clients import keep_warm
from polo_fast.bench.conn import Target
from polo_fast.bench.host import cpu_split, pinned
from polo_fast.bench.plan import CellKeys, CellResult, Plan, make_cell_keys, new_result, plan_for
from polo_fast.bench.progress import Progress
from polo_fast.bench.runner import IdleCell, prime, run_idle, run_profile
from polo_fast.bench.server import rtt_of
from polo_fast.bench.spot_clients import BY_API
from polo_fast.bench.spot_ws import WsResult, book_updates, rows_for, run_ws, ws_plan
from polo_fast.testing.keys import make_pair

__all__ = ["REAL_PACE", "ApiRun", "compare", "finish", "real", "standin"]

#: Seconds between requests against the real exchange (under its 6 calls/s limit).
REAL_PACE = 0.25


def _profile_timeout(rtt_ms: float, plan: Plan, clients: int, pace: float) -> float:
    """A generous bound for one profile: 20x its expected round trips, at least 120 s."""
    trips = (
        plan.balances + 2 * plan.orders + 4 * plan.parallel + 12 * plan.cold_reps + plan.pre + 20
    )
    return max(120.0, 20.0 * clients * trips * (rtt_ms / 1000.0 + 0.005 + pace))


def _ws_timeout(rtt_ms: float, orders: int, rows: int) -> float:
    """A generous bound for the WebSocket rows at one profile: 20x their round trips, at
    least 120 s."""
    return max(120.0, 20.0 * rows * (orders + 10) * (rtt_ms / 1000.0 + 0.005))


def _idle_timeout(seconds: float, cells: int, max_rtt_ms: float, pace: float) -> float:
    """A generous bound for the idle phase: its idle time plus 120 s or 20x its round trips."""
    return seconds + max(120.0, 20.0 * cells * 6 * (max_rtt_ms / 1000.0 + 0.005 + pace))


@dataclass
class ApiRun:
    """One API's share of a run: its clients, its profiles (name, RTT, plan), each cell's
    keys (by profile and client), each profile's target, and the keys of the untimed
    priming run (None: no priming); the Spot API's WebSocket rows (:mod:`.spot_ws`): by
    profile, each row's key and (timed, warm-up) orders, and their results."""

    api: str
    clients: list[str]
    profiles: list[tuple[str, float, Plan]]
    keys: dict[tuple[str, str], CellKeys]
    targets: dict[str, Target]
    prime_keys: dict[str, tuple[str, str]] | None = None
    ws_keys: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    ws_plans: dict[str, tuple[int, int]] = field(default_factory=dict)
    ws_results: list[WsResult] = field(default_factory=list)


def _run(
    runs: list[ApiRun],
    progress: Progress,
    *,
    idle_seconds: float = 0.0,
    pace: float = 0.0,
    rounds: int = 5,
) -> list[CellResult]:
    loop = new_event_loop()
    out: list[CellResult] = []
    idle: list[IdleCell] = []
    try:
        for one in runs:
            out += _run_api(loop, one, progress, idle, pace=pace, rounds=rounds)
        if idle_seconds > 0 and idle:

            def idle_step(client: str, phase: str, frac: float) -> None:
                progress.step(f"{client}: {phase}")
                progress.advance(frac)

            max_rtt = max(r for one in runs for _, r, _ in one.profiles)
            limit = _idle_timeout(idle_seconds, len(idle), max_rtt, pace)
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


def _run_api(
    loop: asyncio.AbstractEventLoop,
    one: ApiRun,
    progress: Progress,
    idle: list[IdleCell],
    *,
    pace: float,
    rounds: int,
) -> list[CellResult]:
    """Prime, then every profile of one API; the cells of its idle phase go into ``idle``."""
    registry = BY_API[one.api]
    specs = [registry[c] for c in one.clients]
    tag = "" if one.api == "legacy" else f"{one.api} "
    out: list[CellResult] = []
    if one.prime_keys is not None:
        progress.step(f"{tag}priming every client (untimed)")
        first = one.targets[one.profiles[0][0]]
        for err in loop.run_until_complete(prime(specs, first, one.prime_keys)):
            sys.stderr.write(f"polo-fast bench: {tag}priming {err}\n")
    for profile, rtt, plan in one.profiles:
        target = one.targets[profile]
        results = {c: new_result(c, profile, rtt, target.real, one.api) for c in one.clients}

        def step(client: str, phase: str, frac: float, _p: str = profile) -> None:
            progress.step(f"{tag}{_p} {client}: {phase}")
            progress.advance(frac)

        limit = _profile_timeout(rtt, plan, len(one.clients), pace)
        try:
            loop.run_until_complete(
                asyncio.wait_for(
                    run_profile(
                        specs,
                        target,
                        plan,
                        {c: one.keys[(profile, c)] for c in one.clients},
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
        out.extend(results[c] for c in one.clients)
        if profile in one.ws_keys:
            one.ws_results.append(_run_ws(loop, one, profile, rtt, progress, tag))
        idle += [
            IdleCell(spec, target, key, results[spec.name])
            for spec in specs
            if (key := one.keys[(profile, spec.name)].idle) is not None
        ]
    return out


def _run_ws(
    loop: asyncio.AbstractEventLoop,
    one: ApiRun,
    profile: str,
    rtt: float,
    progress: Progress,
    tag: str,
) -> WsResult:
    """The WebSocket rows of ``one`` at ``profile`` (after its REST phases)."""
    rows = one.ws_keys[profile]
    n, warm = one.ws_plans[profile]
    progress.step(f"{tag}{profile} WebSocket orders: {', '.join(rows)}")
    limit = _ws_timeout(rtt, n + warm, len(rows))
    try:
        res = loop.run_until_complete(
            asyncio.wait_for(
                run_ws(one.targets[profile], profile, rtt, rows, n=n, warm=warm), timeout=limit
            )
        )
    except asyncio.TimeoutError:
        res = WsResult(profile, rtt, n, errors=[f"timed out after {limit:.0f} s"])
    progress.advance(1.0)
    return res


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


def _phases(profiles: int, idle_seconds: float, ws_profiles: int = 0) -> int:
    """Progress-bar steps: four phases per profile, one per profile with WebSocket rows,
    plus the idle phase for all of them."""
    return 4 * profiles + ws_profiles + (1 if idle_seconds > 0 else 0)


def standin(args: argparse.Namespace, selection: dict[str, tuple[list[str], list[str]]]) -> int:
    """The stand-in mode: every API of ``selection`` (api -> (clients, profiles)), every
    client at every profile, then the idle phase; print, write."""
    from polo_fast.bench.host import host_facts
    from polo_fast.bench.probe import HttpProbe, ProbeError
    from polo_fast.bench.report import build_results
    from polo_fast.bench.server import ExchangeProcess

    every = list(dict.fromkeys(p for _, profiles in selection.values() for p in profiles))
    plans = {p: plan_for(rtt_of(p), quick=args.quick, requests=args.requests) for p in every}
    runs = [
        ApiRun(
            api,
            clients,
            [(p, rtt_of(p), plans[p]) for p in profiles],
            {(p, c): make_cell_keys(plans[p].cold_reps) for p in profiles for c in clients},
            {},
            {c: make_pair() for c in clients},
        )
        for api, (clients, profiles) in selection.items()
    ]
    ws = not getattr(args, "no_ws", False)
    for one in runs:
        if one.api == "spot" and ws:
            one.ws_keys = {
                p: {r: make_pair() for r in rows_for(one.clients)} for p, _, _ in one.profiles
            }
            one.ws_plans = {
                p: ws_plan(rtt, quick=args.quick, requests=args.requests)
                for p, rtt, _ in one.profiles
            }
    keys = {k: s for one in runs for ck in one.keys.values() for k, s in ck.all()}
    keys.update(pair for one in runs for pair in (one.prime_keys or {}).values())
    keys.update(pair for one in runs for rows in one.ws_keys.values() for pair in rows.values())
    mine, theirs, unpinned = cpu_split(args.no_pin)
    n_phases = sum(len(one.profiles) for one in runs)
    n_ws = sum(len(one.ws_keys) for one in runs)
    progress = Progress(_phases(n_phases, args.idle_seconds, n_ws), args.progress)
    apis = list(selection)
    shape = "; ".join(
        f"{api}: {len(c)} clients x {len(p)} profiles ({', '.join(p)})"
        for api, (c, p) in selection.items()
    )
    sys.stderr.write(
        f"polo-fast bench: {shape}; stand-in exchange and WAN proxies in a child process"
        + (f" on CPU {','.join(map(str, theirs))}, clients on CPU {mine}" if theirs else "")
        + (f"; not pinned to CPUs: {unpinned}" if unpinned else "")
        + "\n"
    )
    t_start = time.monotonic()
    with ExchangeProcess(keys, every, apis=apis, cpus=theirs) as info, pinned(mine):
        for one in runs:
            where = info.apis[one.api]
            one.targets = {
                p: Target(url=where.profile_url(p), ca_path=where.ca_path)
                for p, _, _ in one.profiles
            }
        try:
            results = _run(runs, progress, idle_seconds=args.idle_seconds)
            book = None
            if n_ws:
                progress.step("spot book_lv2: updates applied in-process (recorded feed)")
                book = book_updates(11 if args.quick else 41)
        finally:
            progress.close()
        tls_version = None
        with contextlib.suppress(ProbeError):
            probe = HttpProbe(info.url, ca_path=info.ca_path)
            tls_version = probe.connect().tls_version
            probe.close()
    host = host_facts(tls_version=tls_version, colo=None, label=args.label)
    clients = list(dict.fromkeys(c for cs, _ in selection.values() for c in cs))
    config = {
        **_config(args, "stand-in", clients),
        "apis": apis,
        "api_clients": {api: c for api, (c, _) in selection.items()},
        "api_profiles": {api: p for api, (_, p) in selection.items()},
        "profiles": every,
        "rtt_ms": {p: rtt_of(p) for p in every},
        "plans": {p: plans[p].as_dict() for p in every},
        "keepalive_timeout": info.keepalive_timeout,
        "pinned": theirs is not None,
        "unpinned_because": unpinned,
        "seconds": round(time.monotonic() - t_start, 1),
    }
    if n_ws:
        config["ws_plans"] = {p: list(nw) for one in runs for p, nw in one.ws_plans.items()}
    ws_docs = [r.as_dict() for one in runs for r in one.ws_results]
    doc = build_results(results, host=host, config=config, ws=ws_docs, book=book)
    return finish(doc, args)


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
        one = ApiRun(
            "legacy",
            clients,
            [("real", rtt, plan)],
            {("real", c): ck for c in clients},
            {"real": target},
        )
        results = _run([one], progress, idle_seconds=args.idle_seconds, pace=REAL_PACE, rounds=1)
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
