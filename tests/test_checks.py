"""The argument checks: plain Python, and hard to fool (issue 9 items 5, 10, 15).

``polo_fast/_checks.py`` is written by ``tools/gen_api.py`` (its staleness test sits with
``_api.py``'s in ``test_client_api.py``); no code in ``polo_fast`` is generated at run time.
Numbers are ASCII digits only, amounts never ``-0``, values bounded, and an unchecked command
carries ``command`` exactly once: refused with a one-line error naming the argument, before
anything is signed or sent.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polo_fast import errors as E
from polo_fast._args import PLANS, build_params, loose_params
from polo_fast._checks import Check
from polo_fast.client import Client
from polo_fast.commands import BY_METHOD, MAX_TEXT
from polo_fast.testing.exchange import StandInExchange
from tests.conftest import make_keys

ROOT = Path(__file__).resolve().parent.parent


_RUNTIME_CODE = re.compile(r"(?<![\w.])(exec|eval|compile)\(")


def test_no_code_is_generated_at_run_time() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "polo_fast").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _RUNTIME_CODE.search(line.split("#", 1)[0])
    ]
    assert found == []


def _check(method: str) -> Check:
    check = PLANS[method].check
    assert check is not None
    return check


def _both(method: str, **kw: Any) -> list[tuple[type[Exception], str]]:
    """How ``build_params`` and the compiled plan refuse the same call (must agree)."""
    cmd = BY_METHOD[method]
    values = tuple(kw.get(p.arg) for p in cmd.params)
    out: list[tuple[type[Exception], str]] = []
    for fn in (lambda: build_params(cmd, values), lambda: _check(method)(values)):
        with pytest.raises(E.PoloniexArgumentError) as info:
            fn()
        out.append((type(info.value), str(info.value)))
    assert out[0] == out[1]
    return out


@pytest.mark.parametrize("digits", ["١٢", "１２", "٣.٣", "0.５", "१"])
def test_only_ascii_digits_are_numbers(digits: str) -> None:
    for _, text in _both("buy", currency_pair="BTC_ETH", rate=digits, amount="1"):
        assert "rate" in text
    for _, text in _both("cancel_order", order_number=digits):
        assert "order_number" in text


@pytest.mark.parametrize("zero", [Decimal("-0"), Decimal("-0.000"), -0.0])
def test_negative_zero_amounts_are_refused(zero: Any) -> None:
    for _, text in _both("buy", currency_pair="BTC_ETH", rate="0.1", amount=zero):
        assert "amount" in text and "negative" in text


@pytest.mark.parametrize(
    ("method", "kw", "arg"),
    [
        ("buy", {"rate": Decimal("1E+100000")}, "rate"),
        ("buy", {"rate": Decimal("1E-100000")}, "rate"),
        ("buy", {"amount": 10**5000}, "amount"),
        ("buy", {"amount": 1e300}, "amount"),
        ("buy", {"amount": "1" * 1_000_000}, "amount"),
        ("buy", {"client_order_id": 10**5000}, "client_order_id"),
        ("cancel_order", {"order_number": 10**5000}, "order_number"),
        ("return_lending_history", {"start": 0, "end": 10**5000}, "end"),
        ("withdraw", {"address": "x" * 1_000_000}, "address"),
        ("withdraw", {"address": "x", "payment_id": "m" * (MAX_TEXT + 1)}, "payment_id"),
    ],
)
def test_huge_values_are_refused_in_one_short_line(
    method: str, kw: dict[str, Any], arg: str
) -> None:
    base: dict[str, Any] = {
        "currency_pair": "BTC_ETH",
        "rate": "0.1",
        "amount": "1",
        "currency": "BTC",
    }
    cmd = BY_METHOD[method]
    call = {p.arg: {**base, **kw}.get(p.arg) for p in cmd.params}
    for _, text in _both(method, **call):
        assert f"{arg} (" in text and "\n" not in text and len(text) < 200, text
    # the bound leaves room for any real value
    fields, _ = _check("buy")(
        ("BTC_ETH", Decimal("0.00000001"), "1" * MAX_TEXT, None, None, None, 2**63 - 1)
    )
    assert b"1" * MAX_TEXT in fields


def test_unchecked_commands_carry_command_once() -> None:
    for name in ("command", "nonce"):
        with pytest.raises(E.PoloniexArgumentError, match=f"'{name}'"):
            loose_params("returnNothing", {name: "withdraw"})
    with pytest.raises(E.PoloniexArgumentError, match="memo"):
        loose_params("returnNothing", {"memo": "x" * 1_000_000})
    with pytest.raises(E.PoloniexArgumentError, match="n must be at most"):
        loose_params("returnNothing", {"n": 10**5000})
    assert loose_params("x", {"rate": Decimal("1E-8"), "n": 3, "on": True, "no": None}) == [
        ("command", "x"),
        ("rate", "0.00000001"),
        ("n", "3"),
        ("on", "1"),
    ]
    loose = PLANS["buy"].loose("returnNothing")
    with pytest.raises(E.PoloniexArgumentError, match="once"):
        loose.pairs([("command", "returnNothing"), ("command", "withdraw")])
    with pytest.raises(E.PoloniexArgumentError, match="open with"):
        loose.pairs([("command", "withdraw")])


def test_the_client_sends_no_second_command(run: Any) -> None:
    keys = make_keys(1)
    ((key, secret),) = keys.items()

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None, withdraw_keys=[key]) as ex:
            async with Client(key, secret, url=ex.url, ca_path=ex.ca_path, rate_limit=None) as c:
                with pytest.raises(E.PoloniexArgumentError, match="'command'"):
                    await c.private("returnNothing", unchecked=True, command="withdraw")
                with pytest.raises(E.PoloniexArgumentError, match="'command'"):
                    await c.public("returnNothing", unchecked=True, command="withdraw")
                with pytest.raises(E.PoloniexArgumentError, match="amount"):
                    await c.buy("BTC_ETH", "0.1", Decimal("-0"))
                with pytest.raises(E.PoloniexArgumentError, match="rate"):
                    await c.buy("BTC_ETH", Decimal("1E+100000"), 1)
                with pytest.raises(E.PoloniexArgumentError, match="rate"):
                    await c.buy("BTC_ETH", "١٢", 1)
                with pytest.raises(E.PoloniexArgumentError, match="memo"):
                    await c.private("returnNothing", unchecked=True, memo="x" * 1_000_000)
                assert await c.buy("BTC_ETH", "0.1", "1")  # a good order still goes
            assert [e["command"] for e in ex.journal()] == ["buy"]

    run(main())
