"""The command table against the spec's own command lists (§7 and §8.1)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from polo_fast import commands
from polo_fast.commands import Endpoint, Kind

SPEC = Path(__file__).resolve().parents[2] / "shared" / "poloniex-legacy-api.md"

_TICKED = re.compile(r"`([A-Za-z0-9]+)`")


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i + len(start))]


def _spec_rows() -> tuple[dict[str, tuple[set[str], set[str]]], dict[str, tuple[bool, str, str]]]:
    if not SPEC.exists():
        # .ci/run sets POLO_FAST_REQUIRE_SPEC=1: there ../shared always lies beside the clone.
        if os.environ.get("POLO_FAST_REQUIRE_SPEC") == "1":
            pytest.fail(f"the API spec is missing at {SPEC}")
        pytest.skip(f"the API spec is not beside this checkout ({SPEC})")
    text = SPEC.read_text(encoding="utf-8")
    public: dict[str, tuple[set[str], set[str]]] = {}
    for line in _section(text, "## 7. Public commands", "### 7.1").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            name = _TICKED.findall(cells[0])[0]
            public[name] = (
                set(_TICKED.findall(cells[1])) - {"all"},
                set(_TICKED.findall(cells[2])),
            )
    private: dict[str, tuple[bool, str, str]] = {}
    for line in _section(text, "### 8.1 Summary", "### 8.2").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            name = _TICKED.findall(cells[1])[0]
            private[name] = ("yes" in cells[2], cells[3], cells[4])
    return public, private


def _names(cell: str, table: dict[str, tuple[bool, str, str]], col: int) -> set[str]:
    same = re.match(r"same as `(\w+)`", cell)
    if same:
        return _names(table[same.group(1)][col], table, col)
    return set(_TICKED.findall(cell)) - {"all", "exchange", "margin", "lending"}


def test_public_commands_match_the_spec() -> None:
    public, _ = _spec_rows()
    assert len(public) == 7
    assert set(commands.PUBLIC) == set(public)
    for name, (required, optional) in public.items():
        cmd = commands.PUBLIC[name]
        assert {p.name for p in cmd.params if p.required} == required, name
        assert {p.name for p in cmd.params if not p.required} == optional, name
        assert not cmd.changes_state and cmd.endpoint is Endpoint.PUBLIC


def test_private_commands_match_the_spec() -> None:
    _, private = _spec_rows()
    assert len(private) == 30
    assert set(commands.PRIVATE) == set(private)
    for name, (state, req_cell, opt_cell) in private.items():
        cmd = commands.PRIVATE[name]
        assert cmd.changes_state is state, name
        required = _names(req_cell, private, 1)
        optional = _names(opt_cell, private, 2)
        if name == "cancelOrder":
            # A requires orderNumber; B takes exactly one of orderNumber / clientOrderId.
            assert cmd.one_of == (("orderNumber", "clientOrderId"),)
            assert {p.name for p in cmd.params} >= required
            continue
        if name == "returnCompleteBalances":
            optional = {"account"}
        assert {p.name for p in cmd.params if p.required} == required, name
        assert {p.name for p in cmd.params if not p.required} == optional, name


def test_method_names_are_unique_snake_case() -> None:
    methods = [c.method for c in commands.ALL_COMMANDS]
    assert len(methods) == len(set(methods)) == 37
    for m in methods:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", m), m
    assert commands.BY_METHOD["return_open_orders"].name == "returnOpenOrders"
    assert commands.BY_METHOD["return_trade_history"].private
    assert not commands.BY_METHOD["return_public_trade_history"].private


def test_state_changing_commands_are_the_specs_list() -> None:
    changing = {c.name for c in commands.ALL_COMMANDS if c.changes_state}
    assert changing == {
        "generateNewAddress",
        "buy",
        "sell",
        "cancelOrder",
        "cancelAllOrders",
        "moveOrder",
        "withdraw",
        "transferBalance",
        "marginBuy",
        "marginSell",
        "closeMarginPosition",
        "createLoanOffer",
        "cancelLoanOffer",
        "toggleAutoRenew",
    }


def test_parameter_shapes() -> None:
    buy = commands.get("buy", private=True)
    assert [p.name for p in buy.required] == ["currencyPair", "rate", "amount"]
    assert buy.exclusive == (("fillOrKill", "immediateOrCancel", "postOnly"),)
    assert buy.param("rate") is not None and buy.param("rate").kind is Kind.DECIMAL  # type: ignore[union-attr]
    assert commands.get("returnChartData", private=False).param("period").choices == (  # type: ignore[union-attr]
        300,
        900,
        1800,
        7200,
        14400,
        86400,
    )
    assert commands.get("cancelAllOrders", private=True).min_interval == 120.0
    with pytest.raises(KeyError):
        commands.get("returnBalances", private=False)


@pytest.mark.parametrize(
    ("wire", "snake"),
    [
        ("returnOpenOrders", "return_open_orders"),
        ("currencyPair", "currency_pair"),
        ("fillOrKill", "fill_or_kill"),
        ("return24hVolume", "return24h_volume"),
        ("buy", "buy"),
    ],
)
def test_snake_case(wire: str, snake: str) -> None:
    assert commands.snake_case(wire) == snake
