"""Spot argument building, before and after: the table-driven build against the generated builders.

Issue 11's hot path: a Spot method checks its arguments and builds the request's parts (a
:class:`polo_fast.spot._args.Call`) before the C writer signs and frames it. Rows, each timed
as the best of ``R`` repetitions x ``N`` calls, every repetition running every row once
(interleaved, so a burst of load on the shared machine lands on all rows alike):

- ``<endpoint> table``: :func:`polo_fast.spot._args.build` with the arguments keyed by wire
  name, as the client's methods called it before the builders (the "before");
- ``<endpoint> builder``: the generated builder of :mod:`polo_fast.spot._builders` with the
  method's arguments, as the methods call it now (the "after");
- ``c_writer``: the signer's request writer (``Signer._request_writer(head)``, cffi) for the
  create_order body: the one C call that signs and frames the whole request, for scale.

``create_order`` is the 6-field limit order of ``benchmarks/bench_spot_sign.py`` (str
values, the clientOrderId given: the same price each time, a str the builder accepted
lately), then with a new price str each call (5,000 in turn: never among the recent ones),
with ``Decimal`` price and quantity, with ``float`` ones, and without a clientOrderId (one
is made up). Every pair is first checked to build the
same bytes, so a fast wrong answer cannot pass. Run::

    .venv/bin/python benchmarks/bench_spot_build.py [R] [N]     # default 30 x 2000
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_spot_sign import HEAD, ORDER, SECRET, TS  # the same order, key and head

from polo_fast.spot import _builders
from polo_fast.spot._args import Call, build
from polo_fast.spot.commands import BY_METHOD
from polo_fast.spot.signing import Signer

#: (row, endpoint method, wire-named arguments)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("create_order str", "create_order", dict(ORDER)),
    (
        "create_order Decimal",
        "create_order",
        {**ORDER, "price": Decimal("30000.5"), "quantity": Decimal("0.001")},
    ),
    ("create_order float", "create_order", {**ORDER, "price": 30000.5, "quantity": 0.001}),
    ("create_order no cid", "create_order", {**ORDER, "clientOrderId": None}),
    ("cancel_order cid", "cancel_order", {"id": "cid:pf-1700000000000-0001"}),
    ("get_order id", "get_order", {"id": "1234567890"}),
    ("cancel_orders", "cancel_orders", {"clientOrderIds": ["a-1", "a-2"]}),
    ("balances", "balances", {}),
    ("open_orders", "open_orders", {"symbol": "BTC_USDT", "limit": 100}),
    ("kill_switch", "kill_switch", {"timeout": 30}),
]


def _bind(fn: Callable[..., object], *args: Any) -> Callable[[], object]:
    return lambda: fn(*args)


def _parts(call: Call) -> tuple[Any, ...]:
    return (call.method, call.path, call.fields, call.n, call.body, call.client_order_ids)


def _fresh() -> dict[str, Callable[[], object]]:
    """create_order with a price str never seen lately, each call (the same for both)."""
    e = BY_METHOD["create_order"]
    texts = [f"{30000 + i / 100:.2f}" for i in range(5000)]
    table_prices = itertools.cycle(texts)
    builder_prices = itertools.cycle(texts)
    make = _builders.create_order
    cid = ORDER["clientOrderId"]

    def table() -> Call:
        return build(e, {**ORDER, "price": next(table_prices)})

    def builder() -> Call:
        price = next(builder_prices)
        return make("BTC_USDT", "BUY", "LIMIT", price, "0.001", None, None, cid, None, None, None)

    assert _parts(table()) == _parts(builder())
    return {"create_order new price table": table, "create_order new price builder": builder}


def rows() -> dict[str, Callable[[], object]]:
    """Every row's call, checked first: the builder's bytes are the table's."""
    out: dict[str, Callable[[], object]] = {}
    for row, name, args in CASES:
        e = BY_METHOD[name]
        values = tuple(args.get(p.name) for p in e.params)
        builder = getattr(_builders, name)
        if args.get("clientOrderId", "") is not None:
            assert _parts(builder(*values)) == _parts(build(e, args)), row
        out[f"{row} table"] = _bind(build, e, args)
        out[f"{row} builder"] = _bind(builder, *values)
        if row == "create_order str":
            out.update(_fresh())
    body = build(BY_METHOD["create_order"], ORDER).body
    write = Signer(SECRET, backend="cffi")._request_writer(HEAD)
    out["c_writer"] = lambda: write(b"POST", b"/orders", b"", 0, body, TS)
    return out


def main(argv: list[str]) -> int:
    """Time every row (interleaved), print µs per call: best and median of the repetitions."""
    reps = int(argv[0]) if argv else 30
    calls = int(argv[1]) if len(argv) > 1 else 2000
    table = rows()
    best: dict[str, list[float]] = {row: [] for row in table}
    loop = range(calls)
    for _ in range(reps):
        for row, fn in table.items():
            start = time.perf_counter_ns()
            for _ in loop:
                fn()
            best[row].append((time.perf_counter_ns() - start) / calls / 1000)
    print(f"{'row':<32} {'best µs':>8} {'median µs':>10}")
    for row, times in best.items():
        times.sort()
        print(f"{row:<32} {times[0]:8.3f} {times[len(times) // 2]:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
