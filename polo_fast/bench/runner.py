"""Orchestration: for each RTT profile, the measured phases of every client.

Before anything is timed, :func:`prime` runs each client once (imports and first-call
caches are paid, as in a long-running bot). Then, per profile (:func:`run_profile`), with
the clients taking turns inside each phase so that noise on a shared machine falls on all
of them alike:

1. **cold**: a fresh client, no warm-up; the first order (``buy``, then an untimed
   ``cancelOrder``) pays TCP connect and TLS handshake. Repeated ``cold_reps`` times.
2. **after warm-up**: a fresh client, a garbage collection, its ``warm_up()`` (untimed
   here, recorded apart), then at once the first order, timed: nothing runs between
   ``warm_up()`` and the order that a warm order does not also have before it.
3. **warm**: one warmed client each; a few untimed requests, then ``balances`` timed
   ``returnBalances`` round trips and ``orders`` timed ``buy`` + ``cancelOrder`` pairs (each
   round trip timed alone), in chunks, client after client. Process CPU time (all threads
   of this process; the exchange runs in another one) is read around each chunk and divided
   by the requests sent.
4. **parallel**: four keys, four workers, ``parallel`` sequential ``returnBalances`` each;
   requests per second over the wall time.

Then, once for every profile at the same time (:func:`run_idle`), so that the phase costs
its idle time once and not per profile:

5. **after idle**: one warmed client per client and profile, a few untimed requests, then
   nothing for the idle time (120 s by default; the stand-in closes a keep-alive connection
   after 60 s idle, as a real server does), then each client's first order, timed, in
   turn. A client that keeps its connections warm pays a warm order; one that does not
   pays a reconnect (or finds its connection closed).

The Spot API's clients (:mod:`.spot_clients`) go through the same phases: their
``balances`` is a signed ``GET /accounts/balances``, their order a resting ``LIMIT`` buy
(``POST /orders``) and its cancel ``DELETE /orders/<id>``.

Against the real exchange only read-only commands run (``returnBalances`` is also the first
request of phases 1, 2 and 5), requests are paced under the exchange's rate limit and phase 4
is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from polo_fast.bench.clients import ClientSpec
from polo_fast.bench.conn import Conn, Target
from polo_fast.bench.plan import PARALLEL_KEYS, CellKeys, CellResult, Plan

__all__ = ["IdleCell", "prime", "run_idle", "run_profile"]


def _ms(t0: int, t1: int) -> float:
    return (t1 - t0) / 1e6


def _error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:300]}"


class _Pacer:
    """Sleeps between requests against the real exchange (never inside a timed span)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self) -> None:
        if self.seconds > 0:
            await asyncio.sleep(self.seconds)


async def _first_request(conn: Conn, real: bool) -> float:
    """Time the first request of a client: an order on the stand-in, balances on the real one."""
    conn.prepare("balances" if real else "orders", 1)
    if real:
        t0 = time.perf_counter_ns()
        await conn.balances()
        return _ms(t0, time.perf_counter_ns())
    t0 = time.perf_counter_ns()
    ref = await conn.buy(0)
    t1 = time.perf_counter_ns()
    await conn.cancel(ref)
    return _ms(t0, t1)


def _check(conn: Conn) -> None:
    check = getattr(conn, "check", None)
    if check is not None:
        check()


async def _closing(conn: Conn) -> None:
    with contextlib.suppress(Exception):  # a failed close must not hide the figures
        await conn.close()


@contextlib.asynccontextmanager
async def _started(
    spec: ClientSpec, target: Target, keys: Sequence[tuple[str, str]]
) -> AsyncIterator[Conn]:
    """A client of ``spec`` for ``keys``, started; closed when the block ends."""
    conn = spec.make(target, keys)
    try:
        await conn.start()
        yield conn
    finally:
        await _closing(conn)


async def _open_warm(conn: Conn, n: int, pacer: _Pacer) -> None:
    """Start ``conn``, warm it up, then ``n`` untimed (paced) ``returnBalances``."""
    await conn.start()
    await conn.warm_up()
    conn.prepare("balances", n)
    for _ in range(n):
        await conn.balances()
        await pacer()


async def _cold_one(
    spec: ClientSpec, target: Target, key: tuple[str, str], res: CellResult, pacer: _Pacer
) -> None:
    async with _started(spec, target, [key]) as conn:
        gc.collect()
        res.cold_ms.append(await _first_request(conn, target.real))
        _check(conn)
    await pacer()


async def _after_one(
    spec: ClientSpec, target: Target, key: tuple[str, str], res: CellResult, pacer: _Pacer
) -> None:
    async with _started(spec, target, [key]) as conn:
        # Collect before warm_up(), never between it and the order: a full collection there
        # (~4 ms of CPU) made the order pay what no warm order pays: cold caches (the floor's
        # first buy took 330 us of CPU instead of 75), the handshake's tail read late, and
        # the scheduler's bill for the burst when the process wakes up for the answer
        # (+3 ms at frankfurt on a busy machine).
        gc.collect()
        t0 = time.perf_counter_ns()
        await conn.warm_up()
        res.warm_up_ms.append(_ms(t0, time.perf_counter_ns()))
        await pacer()
        res.after_warm_up_ms.append(await _first_request(conn, target.real))
        _check(conn)
    await pacer()


def _rtt_s(results: dict[str, CellResult]) -> float:
    rtts = [r.rtt_ms for r in results.values()]
    return max(rtts) / 1000.0 if rtts else 0.0


def _chunks(n: int, rounds: int) -> list[int]:
    rounds = max(1, min(rounds, n))
    base, extra = divmod(n, rounds)
    return [base + (1 if i < extra else 0) for i in range(rounds)]


async def _balances_chunk(conn: Conn, n: int, res: CellResult, pacer: _Pacer) -> tuple[int, int]:
    """Time ``n`` returnBalances; return (cpu ns, requests) for the CPU figure."""
    samples = res.balances_ms
    if pacer.seconds:  # paced: CPU read around each request, never across a sleep
        cpu = 0
        for _ in range(n):
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            await conn.balances()
            samples.append(_ms(t0, time.perf_counter_ns()))
            cpu += time.process_time_ns() - c0
            await pacer()
        return cpu, n
    c0 = time.process_time_ns()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await conn.balances()
        samples.append(_ms(t0, time.perf_counter_ns()))
    return time.process_time_ns() - c0, n


async def _orders_chunk(conn: Conn, n: int, res: CellResult) -> tuple[int, int]:
    """Time ``n`` buy + cancel pairs; return (cpu ns, requests)."""
    c0 = time.process_time_ns()
    for i in range(n):
        t0 = time.perf_counter_ns()
        ref = await conn.buy(i)
        t1 = time.perf_counter_ns()
        await conn.cancel(ref)
        t2 = time.perf_counter_ns()
        res.buy_ms.append(_ms(t0, t1))
        res.cancel_ms.append(_ms(t1, t2))
    return time.process_time_ns() - c0, 2 * n


async def prime(
    specs: Sequence[ClientSpec], target: Target, keys: dict[str, tuple[str, str]]
) -> list[str]:
    """Run each client once, untimed, so one-time costs (imports, first-call caches) of a
    long-running bot are paid before anything is measured. Returns the errors seen."""
    errors = []
    for spec in specs:
        try:
            async with _started(spec, target, [keys[spec.name]]) as conn:
                await conn.warm_up()
                conn.prepare("balances", 1)
                await conn.balances()
                if not target.real:
                    conn.prepare("orders", 1)
                    await conn.cancel(await conn.buy(0))
        except Exception as exc:
            errors.append(f"{spec.name}: {_error(exc)}")
    return errors


async def run_profile(
    specs: Sequence[ClientSpec],
    target: Target,
    plan: Plan,
    keys: dict[str, CellKeys],
    results: dict[str, CellResult],
    *,
    pace: float = 0.0,
    rounds: int = 5,
    step: Callable[[str, str, float], None] | None = None,
) -> None:
    """Measure every client at one profile, filling ``results`` (client name -> result).

    Clients take turns: the cold and after-warm-up reps go client by client within each
    rep, and the warm loops run in ``rounds`` chunks per client in turn, so a burst of noise
    on a shared machine lands on every client alike instead of on one. Errors are recorded
    per client and phase, never raised; a failing client sits out the rest of that phase.
    """
    pacer = _Pacer(pace)
    note = step or (lambda _c, _p, _f: None)
    n = len(specs)
    settle = 0.02 + 1.5 * _rtt_s(results)

    for phase, one in (("cold", _cold_one), ("after warm_up", _after_one)):
        failed: set[str] = set()
        for rep in range(plan.cold_reps):
            for spec in specs:
                note(spec.name, phase, 1.0 / (plan.cold_reps * n))
                if spec.name in failed:
                    continue
                ck = keys[spec.name]
                key = (ck.cold if phase == "cold" else ck.after)[rep]
                try:
                    await one(spec, target, key, results[spec.name], pacer)
                except Exception as exc:
                    failed.add(spec.name)
                    results[spec.name].errors.append(f"{phase}: {_error(exc)}")
                # let the closed client's teardown (FIN through the proxy, the server's
                # cleanup) finish before the next client's first order is timed
                await asyncio.sleep(settle)

    # warm: every client open and warmed at once, then timed chunks in turn
    conns: dict[str, Conn] = {}
    cpu: dict[str, list[int]] = {s.name: [0, 0, 0, 0] for s in specs}
    try:
        for spec in specs:
            note(spec.name, "warm: warming up", 0.0)
            conn = spec.make(target, [keys[spec.name].main])
            try:
                await _open_warm(conn, plan.pre, pacer)
                conns[spec.name] = conn
            except Exception as exc:
                results[spec.name].errors.append(f"warm: {_error(exc)}")
                await _closing(conn)
        work: list[tuple[str, int]] = [("balances", k) for k in _chunks(plan.balances, rounds)]
        if plan.orders and not target.real:
            work += [("orders", k) for k in _chunks(plan.orders, rounds)]
        for kind, k in work:
            for spec in specs:
                note(spec.name, f"warm {kind}", 1.0 / (len(work) * n))
                conn_or_none = conns.get(spec.name)
                if conn_or_none is None:
                    continue
                gc.collect()
                try:
                    # signed just before use: with one key shared by every client (the real
                    # exchange), a pre-signed nonce must not be older than the others' nonces
                    conn_or_none.prepare(kind, k)
                    if kind == "balances":
                        ns, reqs = await _balances_chunk(conn_or_none, k, results[spec.name], pacer)
                        cpu[spec.name][0] += ns
                        cpu[spec.name][1] += reqs
                    else:
                        ns, reqs = await _orders_chunk(conn_or_none, k, results[spec.name])
                        cpu[spec.name][2] += ns
                        cpu[spec.name][3] += reqs
                    _check(conn_or_none)
                except Exception as exc:
                    results[spec.name].errors.append(f"warm {kind}: {_error(exc)}")
                    await _closing(conns.pop(spec.name))
    finally:
        for conn in conns.values():
            await _closing(conn)
    for name, (bns, breq, ons, oreq) in cpu.items():
        if breq:
            results[name].cpu_us_balances = bns / 1e3 / breq
        if oreq:
            results[name].cpu_us_orders = ons / 1e3 / oreq

    if plan.parallel and not target.real:
        for spec in specs:
            note(spec.name, "parallel", 1.0 / n)
            await _parallel(spec, target, plan, keys[spec.name], results[spec.name])


@dataclass(frozen=True)
class IdleCell:
    """One client instance of the idle phase: a client, its profile's target, its own key,
    and the cell result its first order after idle goes into."""

    spec: ClientSpec
    target: Target
    key: tuple[str, str]
    result: CellResult


async def run_idle(
    cells: Sequence[IdleCell],
    seconds: float,
    *,
    pace: float = 0.0,
    step: Callable[[str, str, float], None] | None = None,
) -> None:
    """Phase 5 for every profile at once: open and warm one instance per cell (two untimed
    ``returnBalances``), leave them all idle for ``seconds``, then time each one's first
    order (``returnBalances`` against the real exchange), cell after cell.

    Errors are recorded in the cell's result (``idle: ...``/``after idle: ...``), never raised.
    """
    pacer = _Pacer(pace)
    note = step or (lambda _c, _p, _f: None)
    live: list[tuple[IdleCell, Conn]] = []
    try:
        for cell in cells:
            note(cell.spec.name, "idle: warming up", 0.0)
            conn = cell.spec.make(cell.target, [cell.key])
            try:
                await _open_warm(conn, 2, pacer)
                _check(conn)
                live.append((cell, conn))
            except Exception as exc:
                cell.result.errors.append(f"idle: {_error(exc)}")
                await _closing(conn)
        gc.collect()
        note("every client", f"idle for {seconds:g} s", 0.0)
        await asyncio.sleep(seconds)
        for cell, conn in live:
            note(f"{cell.result.profile} {cell.spec.name}", "after idle", 1.0 / len(live))
            try:
                cell.result.after_idle_ms.append(await _first_request(conn, cell.target.real))
                _check(conn)
            except Exception as exc:
                cell.result.errors.append(f"after idle: {_error(exc)}")
            await pacer()
    finally:
        for _, conn in live:
            await _closing(conn)


async def _parallel(
    spec: ClientSpec, target: Target, plan: Plan, keys: CellKeys, res: CellResult
) -> None:
    """Four keys, four workers, ``plan.parallel`` sequential returnBalances each."""
    conns: list[Conn] = []
    try:
        if spec.pooled:
            pool = spec.make(target, keys.parallel)
            conns.append(pool)
            await pool.start()
            await pool.warm_up()
            pool.prepare("balances", plan.parallel * PARALLEL_KEYS)
            workers: Sequence[Conn] = [pool] * PARALLEL_KEYS
        else:
            for k in keys.parallel:
                c = spec.make(target, [k])
                conns.append(c)
                await c.start()
                await c.warm_up()
                c.prepare("balances", plan.parallel)
            workers = conns
        gc.collect()
        t0 = time.perf_counter_ns()
        await asyncio.gather(*(w.run_balances(plan.parallel) for w in workers))
        t1 = time.perf_counter_ns()
        for c in conns:
            _check(c)
        res.parallel_requests = plan.parallel * PARALLEL_KEYS
        res.parallel_seconds = (t1 - t0) / 1e9
    except Exception as exc:
        res.errors.append(f"parallel: {_error(exc)}")
    finally:
        for c in conns:
            await _closing(c)
