"""Load: N signed private requests over 4 keys through one client, nothing lost or doubled.

The stand-in exchange runs in a subprocess (``python -m polo_fast exchange``, rate
limit off, its journal in a temp dir), so client and exchange each have a core. One
:class:`polo_fast.Client` with 4 keys (strict lanes: one request per key in flight) serves
8 workers that together send N requests: 95 % ``returnTradeHistory`` with a unique
``start`` (a read) and 5 % ``buy`` (immediate-or-cancel, far below the market, so nothing
rests) with a unique ``clientOrderId`` (state-changing). Afterwards the journal must hold
exactly the N requests, each identity once (zero lost, zero duplicated), every key's nonces
strictly increasing, and the client must have met zero nonce refusals. RSS is sampled at
the start and every 10 %, and printed.

``POLO_FAST_SOAK_N`` sets N (default 3,000, the CI variant); ``make soak`` runs 100,000.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from polo_fast import Client
from polo_fast.nonce import NonceSource
from tests.conftest import make_keys

N = int(os.environ.get("POLO_FAST_SOAK_N", "3000"))
WORKERS = 8
#: Every this many requests is a (state-changing) buy.
ORDER_EVERY = 20


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; 0.0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0.0


@pytest.fixture(scope="module")
def standin(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str, Path, dict[str, str]]]:
    """The stand-in in a subprocess: (url, CA path, journal path, keys)."""
    tmp = tmp_path_factory.mktemp("load")
    keys = make_keys(8)  # 4 per event-loop flavour: each run starts on fresh keys
    keys_file = tmp / "keys.txt"
    keys_file.write_text("".join(f"{k}:{s}\n" for k, s in keys.items()))
    keys_file.chmod(0o600)
    journal = tmp / "journal.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polo_fast",
            "exchange",
            "--keys-file",
            str(keys_file),
            "--rate-limit",
            "0",
            "--journal",
            str(journal),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = ca = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("stand-in exchange:"):
                url = line.split(":", 1)[1].strip()
            elif line.startswith("CA certificate:"):
                ca = line.split(":", 1)[1].strip()
            elif line.startswith("Ctrl-C"):
                break
        assert url and ca, proc.stderr.read() if proc.stderr else "no output"
        yield url, ca, journal, keys
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_load_nothing_lost_nothing_doubled(
    run: Any,
    standin: tuple[str, str, Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    loop_kind: str,
) -> None:
    url, ca, journal, all_keys = standin
    # fresh keys per flavour: at thousands of requests per second a key's millisecond nonces
    # run ahead of the clock, and a new client on the same key would meet (and recover from)
    # a few nonce refusals, which this test counts as failures
    pairs = sorted(all_keys.items())
    keys = dict(pairs[:4] if loop_kind == "asyncio" else pairs[4:])
    skip = len(journal.read_bytes().splitlines()) if journal.exists() else 0  # other loop's

    refusals = collections.Counter[str]()
    real_bump = NonceSource.bump

    def counting_bump(self: NonceSource, floor: int) -> None:
        refusals["nonce"] += 1
        real_bump(self, floor)

    monkeypatch.setattr(NonceSource, "bump", counting_bump)
    # identities (trade-history start, clientOrderId) unique across both loop flavours
    base = 1_500_000_000 + (0 if loop_kind == "asyncio" else 100_000_000)
    rss: list[float] = []
    sent = collections.Counter[str]()
    errors: list[str] = []

    async def main() -> float:
        async with Client(
            keys=list(keys.items()), url=url, ca_path=ca, rate_limit=None, timeout=30.0
        ) as client:
            await client.warm_up()
            counter = iter(range(N))
            rss.append(rss_mb())
            t0 = time.perf_counter()

            async def worker() -> None:
                for i in counter:
                    try:
                        if i % ORDER_EVERY == ORDER_EVERY - 1:
                            # a state-changing request that leaves nothing resting: an
                            # immediate-or-cancel bid far below the market
                            await client.buy(
                                "BTC_ETH",
                                Decimal("0.001"),
                                Decimal("1"),
                                immediate_or_cancel=True,
                                client_order_id=base + i,
                            )
                            sent["buy"] += 1
                        else:
                            await client.return_trade_history(
                                "BTC_ETH", start=base + i, end=base + i + 1
                            )
                            sent["returnTradeHistory"] += 1
                    except Exception as exc:  # counted, reported below
                        errors.append(f"{i}: {type(exc).__name__}: {exc}")
                    if i % max(1, N // 10) == 0 and i:
                        rss.append(rss_mb())

            await asyncio.gather(*(worker() for _ in range(WORKERS)))
            elapsed = time.perf_counter() - t0
            rss.append(rss_mb())
            return elapsed

    elapsed = run(main())
    assert errors == []
    total = sum(sent.values())
    entries = [orjson.loads(line) for line in journal.read_bytes().splitlines()[skip:]]

    # zero lost, zero duplicated: exactly the requests sent, each identity once
    by_command = collections.Counter(e["command"] for e in entries)
    assert by_command == sent, (by_command, sent)
    assert all(e["status"] == 200 for e in entries)
    starts = [
        int(e["params"]["start"]) - base for e in entries if e["command"] == "returnTradeHistory"
    ]
    orders = [int(e["params"]["clientOrderId"]) - base for e in entries if e["command"] == "buy"]
    assert sorted(starts + orders) == list(range(N))
    placed = [str(e["result"]["orderNumber"]) for e in entries if e["command"] == "buy"]
    assert len(set(placed)) == len(placed)
    # zero nonce refusals; each key's nonces strictly increasing in the exchange's order
    assert refusals["nonce"] == 0
    per_key: dict[str, list[int]] = collections.defaultdict(list)
    for e in entries:
        per_key[e["key"]].append(e["nonce"])
    assert set(per_key) == set(keys)  # every request used one of this run's 4 keys
    for nonces in per_key.values():
        assert all(a < b for a, b in itertools.pairwise(nonces))

    growth = rss[-1] - rss[0]
    print(
        f"\nload[{loop_kind}]: {total} signed private requests over {len(keys)} keys in "
        f"{elapsed:.1f} s ({total / elapsed:,.0f}/s); journal {len(entries)} entries; "
        f"lost 0, duplicated 0, nonce refusals {refusals['nonce']}; "
        f"RSS start {rss[0]:.1f} MB, end {rss[-1]:.1f} MB, growth {growth:+.1f} MB; "
        f"samples {[round(x, 1) for x in rss]}"
    )
    # flat memory: no per-request growth (generous: allocator noise, caches warming up)
    assert growth < 40 + N * 0.0002
