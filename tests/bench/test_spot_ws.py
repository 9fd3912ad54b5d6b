"""The WebSocket rows of ``polo-fast bench --api spot`` (:mod:`polo_fast.bench.spot_ws`):
every row against the Spot stand-in on loopback, the floor's refused auth, the plan, the
book line, the issue 12 targets and the table."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from polo_fast.bench.conn import Target
from polo_fast.bench.report import check_ws_targets, format_ws
from polo_fast.bench.spot_ws import (
    WS_FLOOR,
    WS_ROWS,
    book_updates,
    rows_for,
    run_ws,
    ws_base,
    ws_plan,
)
from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange

pytest.importorskip("ccxt")


def test_every_row_places_its_orders(run: Any) -> None:
    keys = make_keys(len(WS_ROWS))
    by_row = dict(zip(WS_ROWS, keys.items(), strict=True))
    with SpotExchange(keys, rate_limit_scale=None).running() as ex:
        target = Target(url=ex.url, ca_path=str(ex.ca_path))
        res = run(run_ws(target, "loopback", 0.0, by_row, n=6, warm=2, rounds=3))
        journal = ex.journal()
    assert res.errors == []
    assert list(res.rows) == list(WS_ROWS)
    for row in res.rows.values():
        assert row["n"] == 6 and len(row["samples_ms"]) == 6
        assert 0 < row["p50_us"] <= row["p99_us"] and row["cpu_us"] > 0
    # each row's warm-up and timed orders reached the stand-in once each, over its channel
    placed = Counter((j["key"], j.get("http")) for j in journal if j["method"] == "create_order")
    for name, (key, _) in by_row.items():
        channel = None if name == "polo_fast-rest" else "WS"
        got = placed[(key, "WS")] if channel else sum(
            v for (k, h), v in placed.items() if k == key and h != "WS"
        )  # fmt: skip
        assert got == 8, (name, placed)
    d = res.as_dict()
    assert d["rows"][WS_FLOOR]["p50_x"] == 1.0
    assert d["rows"]["polo_fast-rest"]["p50_vs_rest"] == 1.0
    assert d["rows"]["ccxt-pro"]["cpu_vs_pro"] == 1.0
    assert "samples_ms" in d["rows"]["polo_fast-ws"]


def test_floor_with_a_wrong_secret_is_left_out(run: Any) -> None:
    keys = make_keys(2)
    (k1, s1), (k2, s2) = keys.items()
    with SpotExchange(keys, rate_limit_scale=None).running() as ex:
        target = Target(url=ex.url, ca_path=str(ex.ca_path))
        rows = {WS_FLOOR: (k1, s1[::-1]), "polo_fast-ws": (k2, s2)}
        res = run(run_ws(target, "loopback", 0.0, rows, n=2, warm=1))
    assert list(res.rows) == ["polo_fast-ws"]
    assert len(res.errors) == 1 and res.errors[0].startswith("ws-floor: start: ConnectionError")
    assert "auth was refused" in res.errors[0] and s1 not in res.errors[0]


def test_rows_and_plan() -> None:
    assert rows_for(["polo_fast", "ccxt", "aiohttp", "floor"]) == list(WS_ROWS)
    assert rows_for(["floor"]) == [WS_FLOOR]
    assert rows_for(["ccxt"]) == [WS_FLOOR, "ccxt-pro"]
    assert ws_base("https://127.0.0.1:8443/") == "wss://127.0.0.1:8443/ws"
    assert ws_plan(0.0) == (1000, 100)
    assert ws_plan(75.0) == (20, 3)
    assert ws_plan(0.0, quick=True) == (200, 20)
    assert ws_plan(160.0, quick=True) == (5, 3)
    assert ws_plan(75.0, requests=4) == (4, 2)


def test_book_line() -> None:
    book = book_updates(3)
    assert book["levels"] == 100 and book["batches"] == 3
    assert 0 < book["min_us"] <= book["median_us"] and book["update_median_us"] > 0
    assert book["updates_per_s"] == pytest.approx(1e6 / book["update_median_us"], rel=1e-3)


def _ws(profile: str, rtt: float, floor: float, ws: float, rest: float, cpu: float,
        pro_cpu: float) -> dict[str, Any]:  # fmt: skip
    def row(p50: float, c: float) -> dict[str, Any]:
        return {"n": 10, "p50_us": p50, "p99_us": 2 * p50, "cpu_us": c}

    rows = {
        WS_FLOOR: row(floor, 100.0), "polo_fast-ws": row(ws, cpu),
        "polo_fast-rest": row(rest, 250.0), "ccxt-pro": row(1.5 * rest, pro_cpu),
    }  # fmt: skip
    rows["polo_fast-ws"].update(p50_x=ws / floor, p50_vs_rest=ws / rest, cpu_x=cpu / 100.0)
    return {"profile": profile, "rtt_ms": rtt, "n": 10, "rows": rows, "errors": []}


def test_ws_targets_judged() -> None:
    # judged on the median update; the batch median (machine noise in it) is only shown
    book = {"levels": 100, "batches": 41, "update_median_us": 4.5, "median_us": 7.0,
            "min_us": 4.0, "updates_per_s": 222222}  # fmt: skip
    doc: dict[str, Any] = {
        "ws": [
            _ws("loopback", 0.0, 500.0, 590.0, 700.0, 50.0, 600.0),
            _ws("dub", 75.0, 76_000.0, 76_100.0, 76_500.0, 400.0, 900.0),
        ],
        "book": book,
    }
    targets = check_ws_targets(doc)
    assert [t["met"] for t in targets] == [True, True, True, True]
    assert "loopback 590 us = 1.18x (500 us); dub 76.10 ms = 1.00x" in targets[0]["measured"]
    assert "at loopback: polo_fast-ws 50.0 us, ccxt pro 600.0 us = 12.0x" in targets[2]["measured"]
    assert "loopback 590 us vs 700 us (-110 us)" in targets[1]["measured"]
    assert "median update 4.50 us" in targets[3]["measured"]
    # each target can fail
    doc["ws"][1] = _ws("dub", 75.0, 60_000.0, 76_100.0, 76_000.0, 400.0, 900.0)
    doc["ws"][0]["rows"]["ccxt-pro"]["cpu_us"] = 400.0
    book["update_median_us"] = 5.2
    assert [t["met"] for t in check_ws_targets(doc)] == [False, False, False, False]
    # nothing measured (--no-ws): every target is 'not measured'
    assert [t["met"] for t in check_ws_targets({})] == [None] * 4
    lines = format_ws(doc)
    assert any(line.startswith("== spot loopback (RTT 0 ms): WebSocket") for line in lines)
    assert any("76.10ms" in line for line in lines)
    assert any("median update 5.20 us" in line for line in lines)
