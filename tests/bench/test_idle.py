"""The bench's idle phase: every profile idles at the same time, then each first order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from polo_fast.bench import main_bench
from polo_fast.bench.clients import ClientSpec
from polo_fast.bench.conn import Conn, Target
from polo_fast.bench.plan import new_result
from polo_fast.bench.report import check_targets
from polo_fast.bench.runner import IdleCell, run_idle
from polo_fast.testing.keys import make_pair


class _Recorder(Conn):
    """A client under test that only writes down what the harness asks of it."""

    name = "recorder"

    def __init__(self, log: list[str], target: Target) -> None:
        self.log = log
        self.where = target.url

    async def warm_up(self) -> None:
        self.log.append(f"warm_up {self.where}")

    async def balances(self) -> None:
        self.log.append(f"balances {self.where}")

    async def buy(self, seq: int) -> str:
        self.log.append(f"buy {self.where}")
        return "1"

    async def cancel(self, ref: str) -> None:
        self.log.append(f"cancel {self.where}")

    async def close(self) -> None:
        self.log.append(f"close {self.where}")


def test_every_profile_idles_at_once(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:  # the phase's one idle wait, recorded
        sleeps.append(seconds)
        log.append("idle")

    monkeypatch.setattr(asyncio, "sleep", sleep)  # the module runner sleeps with
    spec = ClientSpec("recorder", "records calls", lambda t, _k: _Recorder(log, t))
    profiles = ("iad", "frankfurt", "tokyo")
    cells = [
        IdleCell(spec, Target(url=p), make_pair(), new_result("recorder", p, 1.0, False))
        for p in profiles
    ]
    run(run_idle(cells, 120.0))
    assert sleeps == [120.0]  # once for every profile, not once per profile
    idle_at = log.index("idle")
    assert [e for e in log[:idle_at] if e.startswith("warm_up")] == [
        f"warm_up {p}" for p in profiles
    ]
    assert [e for e in log[idle_at:] if e.startswith("buy")] == [f"buy {p}" for p in profiles]
    assert all(len(c.result.after_idle_ms) == 1 and not c.result.errors for c in cells)
    assert log[-3:] == [f"close {p}" for p in profiles]


def test_idle_phase_in_a_run_and_skipped_with_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--quick", "--profiles", "iad,frankfurt", "--clients", "polo_fast",
            "--requests", "2", "--no-plots", "--no-progress", "--no-pin"]  # fmt: skip
    assert main_bench([*base, "--idle-seconds", "0.2", "--out", str(tmp_path / "a")]) == 0
    table = capsys.readouterr().out
    doc = json.loads((tmp_path / "a" / "results.json").read_text())
    assert doc["config"]["idle_seconds"] == 0.2
    for c in doc["results"]:
        assert c["errors"] == [], c["errors"]
        assert c["after_idle_ms"]["n"] == 1
        assert c["vs_warm"]["after_idle"] > 0 and c["vs_warm"]["cold"] > 0
    assert "after 0.2 s idle" in table
    # a 0.2 s idle is shown, not judged against the 120 s target
    assert len(doc["targets"]) == 3

    base[2] = "iad"
    assert main_bench([*base, "--idle-seconds", "0", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "b" / "results.json").read_text())
    assert all(c["after_idle_ms"] is None for c in doc["results"])


def test_the_idle_target_is_judged_after_120_s() -> None:
    def cell(client: str, profile: str, idle: float, warm: float) -> dict[str, Any]:
        return {"client": client, "profile": profile, "rtt_ms": 1.0,
                "ops": {"buy": {"p50_ms": warm}}, "after_idle_ms": {"median": idle}}  # fmt: skip

    doc: dict[str, Any] = {
        "config": {"idle_seconds": 120.0, "keep_warm": 15.0},
        "results": [cell("polo_fast", "iad", 1.05, 1.0), cell("polo_fast", "tokyo", 200.0, 160.0)],
    }
    idle = check_targets(doc)[3]
    assert idle["name"] == "first order after 120 s idle" and idle["met"] is False
    assert "tokyo 200.00/160.00 ms = 1.25x" in idle["measured"]
    doc["results"][1]["after_idle_ms"]["median"] = 170.0
    assert check_targets(doc)[3]["met"] is True


def test_every_polo_fast_face_is_kept_warm_and_plain_http_is_read_case_insensitively() -> None:
    """The bench gives keep_warm to all three polo_fast faces, the drop-in included (it takes
    it through its client options), and opts in to plain HTTP whatever the scheme's case."""
    from polo_fast.bench.clients import KEEP_WARM, connection_options
    from polo_fast.compat.poloniex import Poloniex

    assert connection_options("https://127.0.0.1:1") == {"keep_warm": KEEP_WARM}
    for url in ("http://127.0.0.1:1", "HTTP://127.0.0.1:1"):
        assert connection_options(url) == {"keep_warm": KEEP_WARM, "allow_insecure_http": True}
    drop_in = Poloniex("K", "S", url="http://127.0.0.1:1", **connection_options("http://x"))
    assert drop_in._options["keep_warm"] == KEEP_WARM
