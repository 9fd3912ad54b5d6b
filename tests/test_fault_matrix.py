"""The fault matrix: every stand-in fault x {read-only, state-changing} x {strict, optimistic}.

The expected outcome of each cell is read from the table in docs/faults.md, so the docs and
this test cannot drift. Each cell uses a key of its own on one stand-in exchange (rate limit
off), so the journal entries of a cell are exactly its key's. Besides the outcome, every
cell checks the journal: a state-changing request ran exactly as often as the table's
*executed* column says (never twice), a retried read ran once per attempt that reached the
exchange, and no (key, nonce) pair was accepted twice.

The second table of docs/faults.md is the hostile server's (``tests/hostile.py``: redirects,
``1xx``, oversized and compressed answers, desynchronised answers, truncation, stalled TLS
handshakes): every cell runs on both paths (lean lane and aiohttp), and the server's own
count proves that no state-changing request reached it twice and no redirect was followed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import trustme

from polo_fast import Client
from polo_fast.errors import (
    ExchangeUnavailable,
    MayHaveExecutedError,
    RateLimitError,
    TransportError,
)
from polo_fast.testing import StandInExchange
from polo_fast.testing._faults import ACTIONS, EXECUTES
from tests.conftest import make_keys
from tests.hostile import ANSWER, FAULTS, HostileServer, client_ca

DOC = Path(__file__).resolve().parent.parent / "docs" / "faults.md"
KINDS = ("read-only", "state-changing")
MODES = ("strict", "optimistic")
OUTCOMES = {"answered", "retried", "unavailable", "may-have-executed", "rate-limited"}
#: The client's timeout in every cell, and the ``delay`` fault's hold (longer than it).
TIMEOUT = 2.0
DELAY = 3.0
#: ``trickle`` spreads the body over this long (shorter than the timeout).
TRICKLE = 0.3
COMMAND = {"read-only": "returnBalances", "state-changing": "buy"}


def parse_table(text: str, section: int = 0) -> dict[str, dict[str, str]]:
    """Table ``section`` (0: the stand-in's, 1: the hostile server's) of docs/faults.md:
    fault -> {column header: cell}."""
    tables: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    rows = tables[section]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    table: dict[str, dict[str, str]] = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        m = re.fullmatch(r"`(\w+)`", cells[0])
        assert m is not None, f"docs/faults.md: bad fault cell {cells[0]!r}"
        assert len(cells) == len(header), f"docs/faults.md: row {cells[0]} has {len(cells)} cells"
        table[m.group(1)] = dict(zip(header[1:], cells[1:], strict=True))
    return table


TABLE = parse_table(DOC.read_text(encoding="utf-8"))
CASES = [(f, k, m) for f in TABLE for k in KINDS for m in MODES]


def test_table_covers_every_fault_of_the_stand_in() -> None:
    assert set(TABLE) == set(ACTIONS)
    for fault, row in TABLE.items():
        assert row["executed"] == ("yes" if fault in EXECUTES else "no"), fault
        for kind, mode in itertools.product(KINDS, MODES):
            assert row[f"{kind}, {mode}"] in OUTCOMES, (fault, kind, mode)


@pytest.fixture(scope="module")
def exchange() -> Iterator[tuple[StandInExchange, Iterator[tuple[str, str]]]]:
    """One stand-in (rate limit off) and a supply of keys it knows, one per cell."""
    keys = make_keys(4 * len(CASES))
    with StandInExchange(keys=keys, rate_limit=None).running() as ex:
        yield ex, iter(keys.items())


async def _call(ex: StandInExchange, key: str, secret: str, kind: str, mode: str) -> Any:
    async with Client(
        key,
        secret,
        url=ex.url,
        ca_path=ex.ca_path,
        rate_limit=None,
        timeout=TIMEOUT,
        optimistic=mode == "optimistic",
    ) as client:
        if kind == "read-only":
            return await client.return_balances()
        # a small bid far below the market: it rests in the book
        return await client.buy("BTC_ETH", Decimal("0.001"), Decimal("1.5"))


@pytest.mark.parametrize(("fault", "kind", "mode"), CASES)
def test_fault_cell(
    run: Any,
    exchange: tuple[StandInExchange, Iterator[tuple[str, str]]],
    fault: str,
    kind: str,
    mode: str,
) -> None:
    ex, keys = exchange
    key, secret = next(keys)
    command = COMMAND[kind]
    row = TABLE[fault]
    want = row[f"{kind}, {mode}"]
    executes = row["executed"] == "yes"

    ex.clear_faults()
    delay = DELAY if fault == "delay" else TRICKLE
    ex.add_fault(fault, command=command, count=1, delay=delay)
    error: BaseException | None = None
    result: Any = None
    try:
        result = run(_call(ex, key, secret, kind, mode))
    except (MayHaveExecutedError, TransportError, RateLimitError) as exc:
        error = exc
    assert not ex._faults, "the fault rule was never met: the cell tested nothing"
    ex.clear_faults()

    entries = [e for e in ex.journal() if e["key"] == key]
    ran = [e for e in entries if e["command"] == command]
    assert len(ran) == len(entries), "the cell's key ran something else"
    assert all(e["status"] == 200 for e in ran), [e["result"] for e in ran]

    if error is None:
        assert isinstance(result, dict)
        if kind == "state-changing":
            assert "orderNumber" in result
        # the first attempt met the fault; a result after a fault that did not let the
        # first attempt run, or a second journal entry, means a retry answered
        got = "retried" if (not executes or len(ran) == 2) else "answered"
        assert len(ran) == (1 + executes if got == "retried" else 1)
    elif isinstance(error, MayHaveExecutedError):
        got = "may-have-executed"
        assert error.command == command
        assert isinstance(error.nonce, int)
        assert isinstance(error.__cause__, TransportError)
        assert secret not in str(error) and secret not in repr(error.params)
    elif isinstance(error, ExchangeUnavailable):
        got = "unavailable"
        assert error.status in (521, 522, 523)
    elif isinstance(error, RateLimitError):
        got = "rate-limited"
    else:  # pragma: no cover - reported by the assertion below
        got = f"raised {type(error).__name__}: {error}"
    assert got == want, f"{fault} / {kind} / {mode}: {got}, docs/faults.md says {want}"

    if kind == "state-changing":
        # the proof: never executed twice; exactly as often as the executed column says
        assert len(ran) == (1 if executes or got == "answered" else 0)
    if got in ("unavailable", "rate-limited", "may-have-executed") and kind == "read-only":
        assert len(ran) == int(executes)
    accepted = [(e["key"], e["nonce"]) for e in ex.journal()]
    assert len(accepted) == len(set(accepted)), "a (key, nonce) was accepted twice"


# -- the hostile server's table ---------------------------------------------------------------

HOSTILE = parse_table(DOC.read_text(encoding="utf-8"), 1)
PATHS = ("lean", "aiohttp")
HOSTILE_CASES = [(f, k, m, p) for f in HOSTILE for k in KINDS for m in MODES for p in PATHS]
#: The client's timeout in the hostile cells (a stalled handshake costs one).
HOSTILE_TIMEOUT = 1.0
GOOD = orjson.loads(ANSWER)


def test_hostile_table_covers_every_fault_of_the_server() -> None:
    assert set(HOSTILE) == set(FAULTS)
    for fault, row in HOSTILE.items():
        for kind, mode in itertools.product(KINDS, MODES):
            assert row[f"{kind}, {mode}"] in OUTCOMES, (fault, kind, mode)


@pytest.fixture(scope="module")
def hostile_ca() -> trustme.CA:
    return trustme.CA()


async def _hostile_call(client: Client, kind: str) -> Any:
    if kind == "read-only":
        return await client.return_balances()
    return await client.buy("BTC_ETH", Decimal("0.001"), Decimal("1.5"))


@pytest.mark.parametrize(("fault", "kind", "mode", "path"), HOSTILE_CASES)
def test_hostile_cell(
    run: Any, tmp_path: Path, hostile_ca: trustme.CA, fault: str, kind: str, mode: str, path: str
) -> None:
    want = HOSTILE[fault][f"{kind}, {mode}"]
    command = COMMAND[kind]
    ca_path = client_ca(hostile_ca, tmp_path)
    ((key, secret),) = make_keys(1).items()

    async def main() -> None:
        async with HostileServer(hostile_ca) as srv:
            async with Client(
                key,
                secret,
                url=srv.url,
                ca_path=ca_path,
                rate_limit=None,
                timeout=HOSTILE_TIMEOUT,
                optimistic=mode == "optimistic",
                lean=path == "lean",
            ) as client:
                srv.add(fault, command)
                error: BaseException | None = None
                result: Any = None
                try:
                    result = await _hostile_call(client, kind)
                except (MayHaveExecutedError, TransportError) as exc:
                    error = exc
                assert not srv.faults, "the fault was never met: the cell tested nothing"
                reached = srv.count(command)
                await srv.push_extra()  # ``unsolicited``: an answer arrives while idle
                # the client stays healthy and the next call gets its own answer
                assert await _hostile_call(client, kind) == GOOD
            if error is None:
                assert result == GOOD, "a call returned an answer that was not its own"
                got = "answered" if reached == 1 and fault != "stalled_handshake" else "retried"
            elif isinstance(error, MayHaveExecutedError):
                got = "may-have-executed"
                assert isinstance(error.__cause__, TransportError) and error.__cause__.sent
                assert secret not in str(error)
            else:
                got = f"raised {type(error).__name__}: {error}"
            assert got == want, f"{fault} / {kind} / {mode} / {path}: {got}, docs say {want}"
            # the server's own count: never twice, and no redirect followed
            if kind == "state-changing":
                assert reached == 1
            assert not [
                s for s in srv.seen if s.method != "POST" and s.path.endswith("/tradingApi")
            ]

    run(main())
