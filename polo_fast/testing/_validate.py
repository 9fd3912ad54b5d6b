"""Strict request parsing and parameter checks, driven by the command table.

Bodies and query strings are decoded with :func:`urllib.parse.parse_qsl` (strict, blank
values kept). Every parameter is checked against its :class:`~polo_fast.commands.Param`:
unknown or repeated names are refused, decimals must be plain digits (never ``1e-08``),
flags must be ``1``. Values come back typed: ``Decimal``, ``int``, ``True`` for flags, ``str``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from polo_fast.commands import FLAG_PARAMS, Command, Kind, Param
from polo_fast.testing._errors import FLAGS_EXCLUSIVE, MISSING, ApiError, invalid
from polo_fast.testing._refdata import CURRENCIES, PAIRS, q8

__all__ = ["decode", "validate"]

_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_DIGITS = re.compile(r"[0-9]{1,20}\Z")
_PAIR = re.compile(r"[A-Z0-9]{1,12}_[A-Z0-9]{1,12}\Z")

# Public commands answer with their own texts (spec §5.1).
_PUBLIC_TEXTS = {
    "currencyPair": ("Please specify a currency pair.", "Invalid currency pair."),
    "depth": ("Invalid depth.", "Invalid depth."),
    "period": ("Please specify a valid period.", "Please specify a valid period."),
    "start": ("Invalid start time.", "Invalid start time."),
    "end": ("Invalid end time.", "Invalid end time."),
    "currency": ("Please specify a currency.", "Invalid currency."),
}


def decode(raw: str) -> list[tuple[str, str]]:
    """Form-decode ``raw`` strictly; raise ``ValueError`` on anything malformed."""
    if not raw:
        return []
    return parse_qsl(raw, keep_blank_values=True, strict_parsing=True, errors="strict")


def _error(param: Param, public: bool, missing: bool) -> ApiError:
    if public:
        texts = _PUBLIC_TEXTS.get(param.name)
        if texts is not None:
            return ApiError(texts[0] if missing else texts[1])
    return ApiError(MISSING) if missing else invalid(param.name)


_FRACTIONAL_TS = re.compile(r"[0-9]+\.[0-9]+\Z")


def _convert(param: Param, value: str, public: bool) -> Any:
    kind = param.kind
    out: Any = value
    if kind in (Kind.PAIR, Kind.PAIR_OR_ALL):
        if kind is Kind.PAIR_OR_ALL and value.lower() == "all":
            return "all"  # python-poloniex sends "ALL" by default; it worked against the API
        if not _PAIR.match(value):
            raise _error(param, public, False)
        if value not in PAIRS:
            raise ApiError("Invalid currency pair.")
        return value
    if kind is Kind.CURRENCY:
        if value not in CURRENCIES:
            raise _error(param, public, False)
        return value
    if kind is Kind.DECIMAL:
        if not _DECIMAL.match(value):
            raise _error(param, public, False)
        return q8(Decimal(value))  # the exchange books 8 decimal places
    if kind is Kind.FLAG:
        if value != "1":
            raise _error(param, public, False)
        return True
    if kind is Kind.TIMESTAMP and _FRACTIONAL_TS.match(value):
        # python-poloniex sends float times ("1491030000.0"); the API took them as seconds.
        value = value.split(".", 1)[0]
    if kind in (Kind.INT, Kind.TIMESTAMP, Kind.ORDER_NUMBER, Kind.CLIENT_ORDER_ID, Kind.BIT):
        if not _DIGITS.match(value):
            raise _error(param, public, False)
        out = int(value)
        if out >= 2**64:
            raise _error(param, public, False)
    elif kind is Kind.STR and not value:
        raise _error(param, public, False)
    if param.choices is not None and out not in param.choices:
        raise _error(param, public, False)
    if param.minimum is not None and out < param.minimum:
        raise _error(param, public, False)
    if param.maximum is not None and out > param.maximum:
        raise _error(param, public, False)
    return out


def validate(cmd: Command, pairs: list[tuple[str, str]], *, public: bool) -> dict[str, Any]:
    """Check ``pairs`` (``command``/``nonce`` already removed) against ``cmd``; return typed values.

    Raises:
        ApiError: a missing, unknown, repeated or malformed parameter, or a broken
            exclusive / one-of rule, with the exchange's text.
    """
    raw: dict[str, str] = {}
    for name, value in pairs:
        param = cmd.param(name)
        if param is None and public:
            # The public endpoint is a plain GET that ignores what it does not read:
            # python-poloniex has sent the last private call's ``nonce`` on every later
            # public query (a mutable default dict) for years without an error.
            continue
        if param is None or name in raw:
            raise invalid(name)
        raw[name] = value
    for param in cmd.params:
        if param.required and param.name not in raw:
            raise _error(param, public, True)
    for group in cmd.one_of:
        given = [n for n in group if n in raw]
        if not given:
            raise ApiError(MISSING)
        if len(given) > 1:
            raise invalid(given[1])
    for group in cmd.exclusive:
        if sum(1 for n in group if n in raw) > 1:
            raise ApiError(
                FLAGS_EXCLUSIVE if set(group) <= set(FLAG_PARAMS) else invalid(group[1]).text
            )
    typed: dict[str, Any] = {}
    for name, value in raw.items():
        param = cmd.param(name)
        assert param is not None
        typed[name] = _convert(param, value, public)
    return typed
