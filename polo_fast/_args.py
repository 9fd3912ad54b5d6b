"""Argument checks: every value is checked against the command table before signing.

:func:`build_params` turns the values of one call (one per table parameter, in table order;
None = absent) into the request's ``(wire name, value)`` pairs, or raises
:class:`~polo_fast.errors.PoloniexArgumentError` / :class:`~polo_fast.errors.PoloniexTypeError`
naming the command and the argument: types per :class:`~polo_fast.commands.Kind`, required
parameters, exclusive and one-of groups, choices, minimum and maximum, the pair format, NaN
and infinities, bool outside flags, unknown parameter names (escape hatches).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from polo_fast.commands import Command, Kind, Param
from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError, key_prefix

__all__ = ["build_params", "check_key", "from_wire", "loose_params"]

_PAIR = re.compile(r"[A-Z0-9]{1,24}_[A-Z0-9]{1,24}").fullmatch
_CURRENCY = re.compile(r"[A-Z0-9]{1,24}").fullmatch
_PLAIN_DECIMAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)").fullmatch
_DIGITS = re.compile(r"\d{1,20}").fullmatch


def _arg_error(cmd: Command, p: Param, why: str) -> PoloniexArgumentError:
    return PoloniexArgumentError(f"{cmd.name}: {p.arg} ({p.name}) {why}")


def _type_error(cmd: Command, p: Param, v: object, want: str) -> PoloniexTypeError:
    return PoloniexTypeError(
        f"{cmd.name}: {p.arg} ({p.name}) must be {want}, not {type(v).__name__}"
    )


def _check(cmd: Command, p: Param, v: Any) -> Any:
    """Return the wire value of ``v`` for ``p``, or raise; ``None`` means "leave it out"."""
    kind = p.kind
    t = type(v)
    if kind is Kind.DECIMAL:
        if t is Decimal:
            if not v.is_finite():
                raise _arg_error(cmd, p, f"must be a finite number, got {v!r}")
            if v < 0:
                raise _arg_error(cmd, p, f"must not be negative, got {v}")
        elif t is str:
            if not _PLAIN_DECIMAL(v):
                raise _arg_error(
                    cmd, p, f"must be plain decimal digits such as '0.00015', got {v!r}"
                )
        elif t is float:
            if not math.isfinite(v):
                raise _arg_error(cmd, p, f"must be a finite number, got {v!r}")
            if v < 0:
                raise _arg_error(cmd, p, f"must not be negative, got {v}")
        elif t is int:
            if v < 0:
                raise _arg_error(cmd, p, f"must not be negative, got {v}")
        else:
            raise _type_error(cmd, p, v, "a Decimal, int, float or decimal string")
        return v
    if kind is Kind.PAIR or kind is Kind.PAIR_OR_ALL:
        if t is not str:
            raise _type_error(cmd, p, v, "a str such as 'BTC_ETH'")
        if not _PAIR(v) and not (kind is Kind.PAIR_OR_ALL and v == "all"):
            allowed = "X_Y in upper case such as 'BTC_ETH'"
            if kind is Kind.PAIR_OR_ALL:
                allowed += ", or 'all'"
            raise _arg_error(cmd, p, f"must be {allowed}, got {v!r}")
        return v
    if kind is Kind.FLAG:
        if v is True or (t is int and v == 1):
            return 1
        if v is False or (t is int and v == 0):
            return None
        raise _type_error(cmd, p, v, "a bool")
    if t is bool:
        if kind is Kind.BIT:
            return int(v)
        raise _type_error(cmd, p, v, "a number or str (bool is only for flags)")
    if kind is Kind.INT or kind is Kind.TIMESTAMP or kind is Kind.CLIENT_ORDER_ID:
        if t is not int:
            raise _type_error(cmd, p, v, "an int")
        if v < 0:
            raise _arg_error(cmd, p, f"must not be negative, got {v}")
    elif kind is Kind.ORDER_NUMBER:
        if t is int:
            if v < 0 or v >= 1 << 64:
                raise _arg_error(cmd, p, f"must be a 64-bit unsigned number, got {v}")
        elif t is str:
            if not _DIGITS(v) or int(v) >= 1 << 64:
                raise _arg_error(cmd, p, f"must be the order's decimal digits, got {v!r}")
        else:
            raise _type_error(cmd, p, v, "an int or a str of digits")
    elif kind is Kind.BIT:
        if t is not int or v not in (0, 1):
            raise _arg_error(cmd, p, f"must be 0 or 1 (or a bool), got {v!r}")
    elif kind is Kind.CURRENCY:
        if t is not str:
            raise _type_error(cmd, p, v, "a str such as 'BTC'")
        if not _CURRENCY(v):
            raise _arg_error(cmd, p, f"must be an upper-case code such as 'BTC', got {v!r}")
    elif t is not str:  # ACCOUNT, STR
        raise _type_error(cmd, p, v, "a str")
    elif not v or not v.isprintable():
        raise _arg_error(cmd, p, "must be a non-empty printable str")
    if p.choices is not None and v not in p.choices:
        raise _arg_error(cmd, p, f"must be one of {', '.join(map(repr, p.choices))}, got {v!r}")
    if p.minimum is not None and v < p.minimum:
        raise _arg_error(cmd, p, f"must be at least {p.minimum}, got {v}")
    if p.maximum is not None and v > p.maximum:
        raise _arg_error(cmd, p, f"must be at most {p.maximum}, got {v}")
    return v


def build_params(cmd: Command, values: Sequence[Any]) -> list[tuple[str, Any]]:
    """Check ``values`` (one per parameter, in table order; None = absent) for ``cmd``.

    Returns:
        The request's ``(wire name, value)`` pairs, ``command`` first, absent ones left out.

    Raises:
        PoloniexArgumentError: a missing, out-of-range or conflicting value.
        PoloniexTypeError: a value of the wrong type.
    """
    out: list[tuple[str, Any]] = [("command", cmd.name)]
    for p, v in zip(cmd.params, values, strict=True):
        if v is not None:
            v = _check(cmd, p, v)
        if v is None:
            if p.required:
                raise PoloniexArgumentError(f"{cmd.name}: {p.arg} ({p.name}) is required")
            continue
        out.append((p.name, v))
    if cmd.exclusive or cmd.one_of:
        present = {name for name, _ in out}
        for group in cmd.exclusive:
            if len(present.intersection(group)) > 1:
                raise PoloniexArgumentError(
                    f"{cmd.name}: at most one of {', '.join(group)} may be set"
                )
        for group in cmd.one_of:
            if len(present.intersection(group)) != 1:
                raise PoloniexArgumentError(
                    f"{cmd.name}: exactly one of {', '.join(group)} must be given"
                )
    return out


def from_wire(cmd: Command, params: dict[str, Any]) -> tuple[Any, ...]:
    """Order wire-named parameters (``currencyPair=...``) as the table lists them.

    Raises:
        PoloniexArgumentError: a name the command does not take.
    """
    unknown = [name for name in params if cmd.param(name) is None]
    if unknown:
        accepted = ", ".join(p.name for p in cmd.params) or "no parameters"
        raise PoloniexArgumentError(
            f"{cmd.name}: unknown parameter {', '.join(map(repr, unknown))} "
            f"(it takes {accepted})"
        )
    return tuple(params.get(p.name) for p in cmd.params)


def loose_params(command: str, params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Parameters of an unchecked command: any name, values of a signable type."""
    out: list[tuple[str, Any]] = [("command", command)]
    for name, v in params.items():
        if v is None:
            continue
        if type(v) is bool:
            v = int(v)
        elif (type(v) is float and not math.isfinite(v)) or (
            type(v) is Decimal and not v.is_finite()
        ):
            raise PoloniexArgumentError(f"{command}: {name} must be finite, got {v!r}")
        elif not isinstance(v, (str, int, float, Decimal)):
            raise PoloniexTypeError(f"{command}: {name} must be str, int, float or Decimal")
        out.append((name, v))
    return out


def check_key(key: Any, secret: Any) -> tuple[str, str | bytes]:
    """Check one ``(key, secret)`` pair of the client's configuration (never shows the secret).

    Raises:
        PoloniexTypeError, PoloniexArgumentError: an empty or unsendable key or secret.
    """
    if not isinstance(key, str) or not key:
        raise PoloniexTypeError("an API key must be a non-empty str")
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise PoloniexArgumentError(f"API key {key_prefix(key)} holds characters HTTP cannot carry")
    if not isinstance(secret, (str, bytes)) or not secret:
        raise PoloniexTypeError(f"the secret of key {key_prefix(key)} must be a non-empty str")
    return key, secret


