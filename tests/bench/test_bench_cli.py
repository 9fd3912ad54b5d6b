"""``polo-fast bench`` end to end (quick mode, stand-in exchange) and its building blocks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from polo_fast.bench import main_bench
from polo_fast.bench.clients import CLIENTS, DEFAULT_CLIENTS
from polo_fast.bench.floor import FloorProtocol, _chunked_end
from polo_fast.bench.plan import plan_for
from polo_fast.bench.report import SCHEMA, check_targets, format_targets
from polo_fast.bench.stats import median, percentile, ratio, summarize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _cells(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["client"], c["profile"]): c for c in doc["results"]}


def test_quick_run_writes_json_and_pngs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = main_bench(
        ["--quick", "--profiles", "iad,frankfurt", "--clients", "polo_fast,aiohttp",
         "--requests", "6", "--out", str(out), "--no-progress", "--no-pin"]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == SCHEMA
    assert doc["host"]["python"] and doc["host"]["openssl"] and doc["host"]["kernel"]
    assert doc["host"]["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert doc["config"]["profiles"] == ["iad", "frankfurt"]
    cells = _cells(doc)
    # the floor is always measured, so ratios exist
    assert set(cells) == {(c, p) for c in ("polo_fast", "aiohttp", "floor")
                          for p in ("iad", "frankfurt")}  # fmt: skip
    for (client, profile), c in cells.items():
        assert c["errors"] == [], (client, profile, c["errors"])
        bal = c["ops"]["balances"]
        assert bal["n"] == 6 and len(bal["samples_ms"]) == 6
        assert bal["p50_ms"] <= bal["p90_ms"] <= bal["p99_ms"] <= bal["max_ms"]
        assert c["ops"]["buy"]["n"] == 3 and c["ops"]["cancel"]["n"] == 3
        assert c["cold_ms"]["n"] == 2 and c["after_warm_up_ms"]["n"] == 2
        assert c["cpu_us_per_request"] > 0
        assert c["parallel"]["requests"] == 4 and c["parallel"]["rps"] > 0
        if client == "floor":
            assert c["ratios"]["balances_p50"] == 1.0
        else:
            assert c["ratios"]["balances_p50"] > 0
    # the WAN emulator's delay is visible: a warm round trip at frankfurt costs >= one RTT,
    # a cold first order (TCP + TLS + request) three
    fr = cells[("polo_fast", "frankfurt")]
    assert fr["ops"]["balances"]["min_ms"] >= 0.95 * fr["rtt_ms"]
    assert fr["cold_ms"]["min"] >= 2.9 * fr["rtt_ms"]
    assert [t["name"] for t in doc["targets"]] == [
        "iad warm latency vs floor", "client CPU per signed request",
        "first order after warm_up()",
    ]  # fmt: skip
    for name in ("results.json", "cdf_iad.png", "cdf_frankfurt.png", "bars.png"):
        assert (out / name).is_file(), name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC
    for text in ("== iad", "== frankfurt", "polo_fast", "aiohttp", "floor",
                 "Performance targets"):  # fmt: skip
        assert text in stdout

    # --compare merges it with a second host's file into one table and one plot
    other = json.loads((out / "results.json").read_text())
    other["host"]["label"] = "other-host (FRA)"
    (tmp_path / "b.json").write_text(json.dumps(other))
    rc = main_bench(
        ["--compare", str(out / "results.json"), str(tmp_path / "b.json"),
         "--out", str(tmp_path / "cmp")]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert rc == 0
    assert "other-host (FRA)" in stdout and doc["host"]["label"][:20] in stdout
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == PNG_MAGIC


def test_default_client_list_tiny_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main_bench(
        ["--quick", "--profiles", "iad", "--requests", "2", "--out", str(tmp_path),
         "--no-plots", "--no-progress", "--no-pin"]
    )  # fmt: skip
    assert rc == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    cells = _cells(doc)
    assert [c for c, _ in cells] == list(DEFAULT_CLIENTS)
    assert set(DEFAULT_CLIENTS) == set(CLIENTS)
    for (client, _), c in cells.items():
        errors = c["errors"]
        if client == "python-poloniex":
            # its shared mutable default args dict can corrupt concurrent calls in threads
            errors = [e for e in errors if not e.startswith("parallel:")]
        assert errors == [], (client, errors)
        assert c["ops"]["balances"]["n"] == 2
        assert c["ops"]["buy"]["n"] == 1
        assert c["cold_ms"]["n"] == 2
    assert not list(tmp_path.glob("*.png"))
    stdout = capsys.readouterr().out
    for client in DEFAULT_CLIENTS:
        assert client in stdout


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for argv in (["--clients", "nosuch"], ["--profiles", "mars"], ["--requests", "0"]):
        with pytest.raises(SystemExit) as exc:
            main_bench(argv)
        assert exc.value.code == 2
    bogus = tmp_path / "x.json"
    bogus.write_text('{"not": "results"}')
    assert main_bench(["--compare", str(bogus)]) == 2
    assert "not a polo-fast bench results file" in capsys.readouterr().err
    # the real exchange needs keys from the environment; nothing is sent without them
    monkeypatch.delenv("POLO_FAST_KEY", raising=False)
    monkeypatch.delenv("POLO_FAST_SECRET", raising=False)
    assert main_bench(["--url", "https://poloniex.com"]) == 2
    assert "POLO_FAST_KEY" in capsys.readouterr().err


# -- building blocks -------------------------------------------------------------------------


def test_stats() -> None:
    xs = [float(x) for x in range(1, 101)]
    assert percentile(xs, 50) == 50.0
    assert percentile(xs, 99) == 99.0
    assert percentile(xs, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    s = summarize([5.0, 1.0, 3.0])
    assert (s.n, s.p50, s.max, s.min, s.mean) == (3, 3.0, 5.0, 1.0, 3.0)
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert ratio(2.0, 1.0) == 2.0 and ratio(None, 1.0) is None and ratio(1.0, 0.0) is None
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        percentile(xs, 0)


def test_plan_sizes_by_rtt() -> None:
    iad, tokyo = plan_for(0.5), plan_for(160.0)
    assert iad.balances > tokyo.balances >= 20
    assert plan_for(0.5, quick=True).balances < iad.balances
    fixed = plan_for(85.0, requests=10)
    assert (fixed.balances, fixed.orders) == (10, 5)
    real = plan_for(1.0, real=True)
    assert real.orders == 0 and real.parallel == 0


def test_targets_printed_not_asserted() -> None:
    def cell(client: str, profile: str, p50: float, p99: float, cpu: float,
             after: float, cold: float, rtt: float) -> dict[str, Any]:  # fmt: skip
        return {
            "client": client, "profile": profile, "rtt_ms": rtt,
            "ops": {"balances": {"p50_ms": p50, "p99_ms": p99}, "buy": {"p50_ms": p50}},
            "cpu_us_per_request": cpu, "after_warm_up_ms": {"median": after},
            "cold_ms": {"median": cold},
        }  # fmt: skip

    doc = {"results": [
        cell("polo_fast", "iad", 1.2, 1.4, 100.0, 1.5, 5.0, 0.5),
        cell("floor", "iad", 1.0, 1.0, 80.0, 1.1, 4.0, 0.5),
        cell("python-poloniex", "iad", 2.0, 3.0, 400.0, 2.0, 6.0, 0.5),
        cell("requests", "iad", 2.0, 3.0, 250.0, 2.0, 6.0, 0.5),
        cell("polo_fast", "frankfurt", 85.5, 86.0, 900.0, 85.6, 260.0, 85.0),
    ]}  # fmt: skip
    targets = check_targets(doc)
    assert [t["met"] for t in targets] == [True, False, False]
    assert "2.5x polo_fast" in targets[1]["measured"]
    assert "iad 1.50/1.20 ms = 1.25x" in targets[2]["measured"]
    assert "at iad: polo_fast 100.0 us" in targets[1]["measured"]
    text = format_targets(targets)
    assert text.count("[met]") == 1 and text.count("[NOT met]") == 2
    assert check_targets({"results": []})[0]["met"] is None


def test_floor_framing(run: Any) -> None:
    async def body() -> None:
        proto = FloorProtocol()

        class T:
            def write(self, data: bytes) -> None:
                pass

        proto.transport = T()  # type: ignore[assignment]
        fut = proto.request(b"x")
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello"
        for i in range(len(answer)):  # byte by byte
            proto.data_received(answer[i : i + 1])
        assert await fut == answer
        chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n")  # fmt: skip
        fut = proto.request(b"x")
        proto.data_received(chunked[:60])
        assert not fut.done()
        proto.data_received(chunked[60:])
        assert await fut == chunked
        fut = proto.request(b"x")
        proto.connection_lost(None)
        with pytest.raises(ConnectionError):
            await fut
        await asyncio.sleep(0)

    run(body())
    buf = bytearray(b"5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n")
    assert _chunked_end(buf, 0) == len(buf)
    assert _chunked_end(bytearray(b"5\r\nhel"), 0) == -1


@pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")  # python-poloniex's coach
def test_read_only_mode_sends_only_read_only_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "--url" is for the real exchange; here it points at a stand-in with the exchange's own
    # rate limit on, one key shared by every client, exactly as a user's key would be.
    from polo_fast.testing.exchange import StandInExchange
    from tests.conftest import make_keys

    keys = make_keys(1)
    ((key, secret),) = keys.items()
    monkeypatch.setenv("POLO_FAST_KEY", key)
    monkeypatch.setenv("POLO_FAST_SECRET", secret)
    with StandInExchange(keys=keys, colo="FRA").running() as ex:
        rc = main_bench(
            ["--url", ex.url, "--ca-path", str(ex.ca_path), "--quick", "--requests", "3",
             "--clients", "polo_fast,python-poloniex", "--out", str(tmp_path), "--no-plots",
             "--no-progress", "--label", "test-host"]
        )  # fmt: skip
        journal = ex.journal()
    out = capsys.readouterr().out
    assert rc == 0, out
    assert journal and {e["command"] for e in journal} == {"returnBalances"}
    assert all(e["status"] == 200 for e in journal)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["config"]["real"] is True and doc["host"]["colo"] == "FRA"
    assert doc["host"]["label"] == "test-host"
    for c in doc["results"]:
        assert c["profile"] == "real" and c["first_op"] == "returnBalances"
        assert c["errors"] == [], (c["client"], c["errors"])
        assert c["ops"]["balances"]["n"] == 3 and c["ops"]["buy"] is None
        assert c["cpu_us_per_request"] > 0
    assert secret not in out and secret not in (tmp_path / "results.json").read_text()
