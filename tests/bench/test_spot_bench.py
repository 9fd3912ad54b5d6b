"""``polo-fast bench --api spot|both``: every Spot client end to end on loopback, the argument
rules, the Spot floor, the Spot targets; ``polo-fast colo --target/--api-url``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from polo_fast.bench import main_bench, main_colo
from polo_fast.bench.clients import CLIENTS
from polo_fast.bench.colo import (
    DEFAULT_API_PATH,
    DEFAULT_API_URLS,
    SPOT_API_PATH,
    ApiTiming,
    api_path_for,
    build_parser,
    verdict,
)
from polo_fast.bench.conn import BenchClientError, Target
from polo_fast.bench.floor import SpotFloorConn
from polo_fast.bench.main import _select
from polo_fast.bench.main import build_parser as bench_parser
from polo_fast.bench.report import check_targets, format_table
from polo_fast.bench.spot_clients import DEFAULT_SPOT_CLIENTS, SPOT_CLIENTS
from polo_fast.bench.spot_ws import WS_ROWS
from polo_fast.bench.trace import colo_info
from polo_fast.testing.exchange import StandInExchange
from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange
from tests.bench.test_colo import REAL_IAD, _http_server

pytest.importorskip("ccxt")

SPOT_TARGETS = [
    "spot: loopback warm latency vs floor",
    "spot: iad and dub warm latency vs floor",
    "spot: client CPU per signed request vs ccxt",
    "spot: first order after warm_up()",
    "spot ws: order round trip vs raw WebSocket floor",
    "spot ws: order round trip vs the REST lane",
    "spot ws: client CPU per WebSocket order vs ccxt pro",
    "spot ws: book update",
]


def _cells(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["api"], c["client"], c["profile"]): c for c in doc["results"]}


def test_spot_quick_run_every_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the --quick defaults (loopback and dub), every Spot client, a short idle phase
    rc = main_bench(
        ["--api", "spot", "--quick", "--requests", "4", "--idle-seconds", "1",
         "--out", str(tmp_path), "--no-plots", "--no-progress", "--no-pin"]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["config"]["apis"] == ["spot"]
    assert doc["config"]["profiles"] == ["loopback", "dub"]
    assert doc["config"]["rtt_ms"] == {"loopback": 0.0, "dub": 75.0}
    cells = _cells(doc)
    assert set(cells) == {("spot", c, p) for c in DEFAULT_SPOT_CLIENTS for p in ("loopback", "dub")}
    assert set(DEFAULT_SPOT_CLIENTS) == {
        "polo_fast", "polo_fast-sync", "ccxt", "ccxt-sync", "aiohttp", "floor"
    }  # fmt: skip
    for (_, client, profile), c in cells.items():
        assert c["errors"] == [], (client, profile, c["errors"])
        assert c["first_op"] == "POST /orders"
        assert c["ops"]["balances"]["n"] == 4 and c["ops"]["buy"]["n"] == 2
        assert c["ops"]["cancel"]["n"] == 2
        assert c["cold_ms"]["n"] >= 1 and c["after_warm_up_ms"]["n"] >= 1
        assert c["after_idle_ms"]["n"] == 1
        assert c["cpu_us_per_request"] > 0
        assert c["parallel"]["requests"] == 4 and c["parallel"]["rps"] > 0
        assert c["ratios"]["balances_p50"] > 0 and c["ratios"]["cpu_per_request"] > 0
        assert c["vs_ccxt"]["balances_p50"] is not None
        if client == "ccxt":
            assert c["vs_ccxt"]["balances_p50"] == 1.0
    floor = cells[("spot", "floor", "loopback")]
    assert floor["ratios"]["balances_p50"] == 1.0
    # the WAN proxy's delay is visible at dub: a warm round trip costs at least one RTT
    dub = cells[("spot", "polo_fast", "dub")]
    assert dub["ops"]["balances"]["min_ms"] >= 0.95 * 75.0
    assert [t["name"] for t in doc["targets"]] == SPOT_TARGETS
    assert all(t["measured"] for t in doc["targets"]), doc["targets"]
    for text in ("== spot loopback", "== spot dub", "GET /accounts/balances", "p50/cx",
                 *DEFAULT_SPOT_CLIENTS):  # fmt: skip
        assert text in stdout
    # the WebSocket rows at each profile (--requests 4: 4 timed orders per row), the book
    assert [w["profile"] for w in doc["ws"]] == ["loopback", "dub"]
    for w in doc["ws"]:
        assert w["errors"] == [] and list(w["rows"]) == list(WS_ROWS), w
        assert all(r["n"] == 4 and r["p50_us"] > 0 and r["cpu_us"] > 0 for r in w["rows"].values())
        assert w["rows"]["ws-floor"]["p50_x"] == 1.0
        assert w["rows"]["polo_fast-ws"]["p50_vs_rest"] is not None
    # the WAN proxy carries the WebSocket too: every order at dub costs at least one RTT
    assert min(doc["ws"][1]["rows"]["polo_fast-ws"]["samples_ms"]) >= 0.95 * 75.0
    assert doc["book"]["levels"] == 100 and doc["book"]["median_us"] > 0
    assert doc["config"]["ws_plans"] == {"loopback": [4, 2], "dub": [4, 2]}
    for text in ("== spot loopback (RTT 0 ms): WebSocket createOrder", "== spot dub (RTT 75 ms): "
                 "WebSocket", "polo_fast-ws", "polo_fast-rest", "ccxt-pro", "ws-floor",
                 "spot book_lv2 (100 levels"):  # fmt: skip
        assert text in stdout
    assert doc["host"]["packages"]["ccxt"] == "4.5.90"


def test_both_apis_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main_bench(
        ["--api", "both", "--clients", "polo_fast,ccxt", "--profiles", "loopback",
         "--requests", "2", "--idle-seconds", "0", "--out", str(tmp_path), "--no-progress",
         "--no-pin"]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["config"]["apis"] == ["legacy", "spot"]
    assert doc["config"]["api_clients"] == {
        "legacy": ["polo_fast", "floor"], "spot": ["polo_fast", "ccxt", "floor"]
    }  # fmt: skip
    cells = _cells(doc)
    assert set(cells) == {
        ("legacy", "polo_fast", "loopback"), ("legacy", "floor", "loopback"),
        ("spot", "polo_fast", "loopback"), ("spot", "ccxt", "loopback"),
        ("spot", "floor", "loopback"),
    }  # fmt: skip
    for key, c in cells.items():
        assert c["errors"] == [], (key, c["errors"])
    # each API's ratios are over its own floor
    assert cells[("legacy", "floor", "loopback")]["ratios"]["balances_p50"] == 1.0
    assert cells[("spot", "floor", "loopback")]["ratios"]["balances_p50"] == 1.0
    assert "vs_ccxt" not in cells[("legacy", "polo_fast", "loopback")]
    names = [t["name"] for t in doc["targets"]]
    assert names[:3] == [
        "iad warm latency vs floor", "client CPU per signed request",
        "first order after warm_up()",
    ]  # fmt: skip
    assert names[3:] == SPOT_TARGETS
    assert [list(w["rows"]) for w in doc["ws"]] == [list(WS_ROWS)]  # polo_fast's and ccxt's
    assert "== loopback" in stdout and "== spot loopback" in stdout
    for name in ("cdf_loopback.png", "cdf_spot_loopback.png", "bars.png"):
        assert (tmp_path / name).is_file(), name


def test_no_ws_skips_the_websocket_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main_bench(
        ["--api", "spot", "--clients", "floor", "--profiles", "loopback", "--requests", "2",
         "--idle-seconds", "0", "--no-ws", "--out", str(tmp_path), "--no-plots",
         "--no-progress", "--no-pin"]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    doc = json.loads((tmp_path / "results.json").read_text())
    assert "ws" not in doc and "ws_plans" not in doc["config"]
    assert "WebSocket createOrder" not in stdout and "spot book_lv2 (" not in stdout
    ws_targets = [t for t in doc["targets"] if t["name"].startswith("spot ws:")]
    assert len(ws_targets) == 4 and all(t["met"] is None for t in ws_targets)


def _args(argv: list[str]) -> tuple[Any, Any]:
    parser = bench_parser()
    return parser.parse_args(argv), parser


def test_api_selection() -> None:
    args, parser = _args(["--api", "both"])
    sel = _select(args, parser)
    assert sel["legacy"] == (
        ["polo_fast", "polo_fast-sync", "polo_fast-compat", "python-poloniex", "requests",
         "aiohttp", "floor"],
        ["iad", "nyc", "chicago", "frankfurt"],
    )  # fmt: skip
    assert sel["spot"] == (list(SPOT_CLIENTS), ["loopback", "iad", "dub"])
    args, parser = _args(["--api", "spot"])
    assert _select(args, parser)["spot"][1] == ["loopback", "iad", "nyc", "dub", "tokyo"]
    args, parser = _args(["--api", "both", "--clients", "ccxt", "--quick"])
    assert _select(args, parser) == {"spot": (["ccxt", "floor"], ["loopback", "dub"])}
    args, parser = _args(["--api", "spot", "--profiles", "iad,dub"])
    assert _select(args, parser)["spot"][1] == ["iad", "dub"]
    args, parser = _args([])
    assert _select(args, parser) == {
        "legacy": (list(CLIENTS), ["iad", "nyc", "chicago", "frankfurt", "tokyo"])
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--api", "spot", "--clients", "python-poloniex"], "unknown client"),
        (["--api", "legacy", "--clients", "ccxt"], "unknown client"),
        (["--api", "spot", "--profiles", "mars"], "unknown profile"),
        (["--api", "moon"], "--api"),
        (["--api", "spot", "--url", "https://api.poloniex.com"], "--url"),
    ],
)
def test_bad_api_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main_bench(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_spot_floor_refusal_is_caught(run: Any) -> None:
    # a floor with the wrong secret gets 401s: check() names them after timing
    keys = make_keys(1)
    ((key, secret),) = keys.items()

    async def body(ex: SpotExchange, conn: SpotFloorConn) -> None:
        await conn.start()
        try:
            await conn.warm_up()
            conn.prepare("balances", 1)
            await conn.balances()
            with pytest.raises(BenchClientError, match="HTTP 401"):
                conn.check()
        finally:
            await conn.close()

    with SpotExchange(keys).running() as ex:
        target = Target(url=ex.url, ca_path=str(ex.ca_path))
        run(body(ex, SpotFloorConn(target, key, secret[::-1])))
        good = SpotFloorConn(target, key, secret)

        async def ok() -> None:
            await good.start()
            try:
                good.prepare("orders", 2)
                for i in range(2):
                    await good.cancel(await good.buy(i))
                assert good.check() == 4
            finally:
                await good.close()

        run(ok())
        journal = [j for j in ex.journal() if j["key"] == key and j["status"] == 200]
    assert [j["method"] for j in journal] == ["create_order", "cancel_order"] * 2


def test_spot_targets_judged() -> None:
    def cell(client: str, profile: str, p50: float, p99: float, cpu: float, after: float,
             rtt: float) -> dict[str, Any]:  # fmt: skip
        return {
            "api": "spot", "client": client, "profile": profile, "rtt_ms": rtt,
            "ops": {"balances": {"p50_ms": p50, "p99_ms": p99}, "buy": {"p50_ms": p50}},
            "cpu_us_per_request": cpu, "after_warm_up_ms": {"median": after},
        }  # fmt: skip

    doc = {"results": [
        cell("polo_fast", "loopback", 0.5, 0.7, 50.0, 0.52, 0.0),
        cell("floor", "loopback", 0.45, 0.6, 40.0, 0.5, 0.0),
        cell("ccxt", "loopback", 1.5, 3.0, 600.0, 1.6, 0.0),
        cell("polo_fast", "dub", 76.0, 77.0, 200.0, 90.0, 75.0),
        cell("floor", "dub", 75.9, 76.5, 150.0, 76.0, 75.0),
    ]}  # fmt: skip
    targets = check_targets(doc)
    assert [t["name"] for t in targets] == SPOT_TARGETS
    assert [t["met"] for t in targets] == [True, True, True, False, None, None, None, None]
    assert "ccxt 600.0 us = 12.0x polo_fast" in targets[2]["measured"]
    assert "dub 90.00/76.00 ms = 1.18x" in targets[3]["measured"]
    doc["results"][2]["cpu_us_per_request"] = 400.0
    assert check_targets(doc)[2]["met"] is False
    text = format_table({"results": doc["results"], "config": {}})
    assert "== spot loopback (RTT 0 ms)" in text and "order p50" in text


# -- polo-fast colo ------------------------------------------------------------------------


def test_colo_arguments() -> None:
    args = build_parser().parse_args([])
    assert args.target == "IAD" and args.api_url is None and args.api_path is None
    assert DEFAULT_API_URLS == ("https://poloniex.com", "https://api.poloniex.com")
    args = build_parser().parse_args(
        ["--target", "dub", "--api-url", "https://a.example", "--api-url", "https://b.example"]
    )
    assert args.target == "DUB"
    assert args.api_url == ["https://a.example", "https://b.example"]
    assert build_parser().parse_args(["--target", " nrt "]).target == "NRT"
    for bad in ("DUBL", "D1B", "", "xx"):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["--target", bad])
        assert exc.value.code == 2
    assert api_path_for("https://api.poloniex.com") == SPOT_API_PATH
    assert api_path_for("https://poloniex.com") == DEFAULT_API_PATH


def test_colo_defaults_time_both_api_hosts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no network: the trace is served on loopback, the API timing is recorded, not sent
    import polo_fast.bench.colo as colo

    asked: list[tuple[str, str]] = []

    def fake_measure(url: str, *, path: str, **kw: Any) -> ApiTiming:
        asked.append((url, path))
        return ApiTiming(url=url, address="192.0.2.1", tls_version="TLSv1.3", rtt_ms=[2.0])

    monkeypatch.setattr(colo, "measure_api", fake_measure)
    with _http_server(200, REAL_IAD) as url:
        rc = main_colo(["--url", url + "/cdn-cgi/trace", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert asked == [
        ("https://poloniex.com", DEFAULT_API_PATH),
        ("https://api.poloniex.com", SPOT_API_PATH),
    ]
    assert [a["url"] for a in doc["apis"]] == list(DEFAULT_API_URLS)
    assert doc["api"]["url"] == "https://poloniex.com"
    assert doc["target"] == "IAD" and doc["in_target"] is True
    assert (
        doc["verdict"].startswith("in IAD")
        and "https://api.poloniex.com 2.0 ms" in (doc["verdict"])
    )


@pytest.mark.parametrize(("target", "in_target"), [("FRA", True), ("dub", False), ("IAD", False)])
def test_colo_target_against_stand_ins(
    target: str, in_target: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = make_keys(1)
    with StandInExchange(keys=keys, colo="FRA").running() as legacy, SpotExchange(
        keys, colo="FRA"
    ).running() as spot:  # fmt: skip
        # one CA per stand-in: trust the Spot one through a bundle of both
        bundle = tmp_path / "both-cas.pem"
        bundle.write_bytes(
            Path(str(legacy.ca_path)).read_bytes() + Path(str(spot.ca_path)).read_bytes()
        )
        rc = main_colo(
            ["--url", legacy.url + "/cdn-cgi/trace", "--target", target,
             "--api-url", legacy.url, "--api-url", spot.url, "--api-path", "/cdn-cgi/trace",
             "--ca-path", str(bundle), "--samples", "1", "--json"]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = json.loads(out)
    assert doc["colo"] == "FRA" and doc["target"] == target.upper()
    assert doc["in_target"] is in_target
    assert [a["url"] for a in doc["apis"]] == [legacy.url, spot.url]
    assert all(a["http_status"] == 200 for a in doc["apis"])
    word = "in" if in_target else "not in"
    assert doc["verdict"].startswith(f"{word} {target.upper()}:"), doc["verdict"]
    if target.upper() == "IAD":
        assert doc["nearest_profile"] == "frankfurt"
    elif not in_target:
        assert "covers IAD only" in doc["verdict"] and doc["nearest_profile"] is None


def test_colo_verdict_for_another_target() -> None:
    info = colo_info({"colo": "DUB"}, "dub")
    assert info.target == "DUB" and info.in_target is True and info.est_extra_rtt_ms == 0.0
    assert verdict(info, None) == ("in DUB: served from DUB (Dublin), the target colo", "iad")
    info = colo_info({"colo": "IAD"}, "DUB")
    assert info.in_target is False and info.in_iad is True
    assert verdict(info, None)[0].startswith("not in DUB: served from IAD (Ashburn, VA)")
