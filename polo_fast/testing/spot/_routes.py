"""Routing and parameter checks of the Spot stand-in, generated from the endpoint table.

:class:`Router` matches ``(http, path)`` to an :class:`~polo_fast.spot.commands.Endpoint`
(literal segments win over ``{params}``: ``/orders/history`` is not ``/orders/{id}``).
:func:`parse` reads a request's parameters from where the table puts them (path, query,
JSON body), checks types, bounds, allowed values, required ones and groups, and returns them
typed. Decimals are plain ASCII (``[0-9]`` and one point: no sign, exponent, ``_``,
spaces or other scripts' digits). Unknown parameters are ignored (reading: the exchange's
answer to them is unsure, §4, and ccxt sends ``symbol`` to ``GET /orders/{id}``). Booleans
are accepted in any case (``true``/``True``, §7 #18).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from polo_fast.spot.commands import BATCH_MAX, Endpoint, Kind, Param
from polo_fast.testing.spot._errors import BAD_PARAM, CID_TOO_LONG, MISSING_PARAM, SpotError

__all__ = ["Router", "parse", "parse_batch", "plain_decimal"]

_SEGMENT = re.compile(r"\{(\w+)\}")
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
"""A plain decimal as the exchange reads one: ASCII digits and one point, nothing else (no
sign, exponent, ``_``, spaces or other scripts' digits)."""
_DECIMAL_MAX_LENGTH = 40


class Router:
    """Find the endpoint of a request path; literal segments before parameters."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._routes: dict[str, list[tuple[re.Pattern[str], Endpoint]]] = {}
        ranked = sorted(endpoints, key=lambda e: -e.path.count("/") * 10 + e.path.count("{"))
        for ep in ranked:
            pattern = _SEGMENT.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", ep.path)
            self._routes.setdefault(ep.http, []).append((re.compile(pattern + r"\Z"), ep))

    def match(self, http: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint and its path parameters, or None."""
        for pattern, ep in self._routes.get(http, ()):
            m = pattern.match(path)
            if m:
                return ep, m.groupdict()
        return None


def plain_decimal(text: str) -> Decimal | None:
    """``text`` as a Decimal when it is a plain ASCII decimal (see ``_DECIMAL``), else None."""
    if len(text) > _DECIMAL_MAX_LENGTH or not _DECIMAL.match(text):
        return None
    return Decimal(text)


def _bad(p: Param, why: str = "") -> SpotError:
    return SpotError(BAD_PARAM, detail=f"{p.name}{' ' + why if why else ''}")


def _value(p: Param, raw: Any) -> Any:
    """``raw`` (a JSON value or query text) as the table's type, or :class:`SpotError`."""
    kind = p.kind
    if kind is Kind.LIST:
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _bad(p, "must be a list of strings")
        if p.choices is not None and any(i not in p.choices for i in items):
            raise _bad(p)
        return items
    if isinstance(raw, bool):
        if kind is Kind.BOOL:
            return raw
        raise _bad(p)
    if kind is Kind.BOOL:
        text = str(raw).lower()
        if text not in ("true", "false"):
            raise _bad(p, "must be true or false")
        return text == "true"
    if not isinstance(raw, (str, int, float)):
        raise _bad(p)
    text = str(raw)
    if kind is Kind.DECIMAL:
        value = plain_decimal(text)
        if value is None:
            raise _bad(p, "must be a plain decimal number")
        return value
    if kind is Kind.INT:
        if not re.fullmatch(r"-?[0-9]{1,19}", text):
            raise _bad(p, "must be an integer")
        number = int(text)
        if (p.minimum is not None and number < p.minimum) or (
            p.maximum is not None and number > p.maximum
        ):
            raise _bad(p, "out of range")
        return number
    if kind is Kind.ENUM:
        for choice in p.choices or ():
            if text == str(choice):
                return choice
        raise _bad(p)
    if p.max_length is not None and len(text) > p.max_length:
        raise SpotError(CID_TOO_LONG) if p.name == "clientOrderId" else _bad(p, "too long")
    if p.pattern is not None and not re.fullmatch(p.pattern, text):
        raise _bad(p)
    return text


def _check(ep: Endpoint, given: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in ep.params:
        raw = given.get(p.name)
        if raw is None:
            if p.required:
                raise SpotError(MISSING_PARAM, detail=p.name)
            continue
        out[p.name] = _value(p, raw)
    for group in ep.one_of:
        if sum(1 for n in group if n in out) > 1:
            raise SpotError(BAD_PARAM, detail="only one of " + ", ".join(group))
    for group in ep.any_of:
        if not any(out.get(n) for n in group):
            raise SpotError(MISSING_PARAM, detail="one of " + ", ".join(group))
    return out


def parse(
    ep: Endpoint, path: Mapping[str, str], query: list[tuple[str, str]], body: Any
) -> dict[str, Any]:
    """The request's parameters, typed and checked against ``ep``.

    ``body`` is the decoded JSON body (None when empty). Raises :class:`SpotError`.
    """
    given: dict[str, Any] = dict(path)
    if ep.http == "GET":
        names = [n for n, _ in query]
        if len(names) != len(set(names)):
            raise SpotError(BAD_PARAM, detail="repeated parameter")
        given.update((n, v) for n, v in query if n not in path)
    elif body is not None:
        if not isinstance(body, dict):
            raise SpotError(BAD_PARAM, detail="the body must be a JSON object")
        given.update((n, v) for n, v in body.items() if n not in path)
    return _check(ep, given)


def parse_batch(ep: Endpoint, body: Any) -> list[dict[str, Any] | SpotError]:
    """The items of a batch body (a JSON array of at most 20 objects), each checked alone."""
    if not isinstance(body, list) or not 1 <= len(body) <= BATCH_MAX:
        raise SpotError(BAD_PARAM, detail=f"the body must be a JSON array of 1-{BATCH_MAX} orders")
    items: list[dict[str, Any] | SpotError] = []
    for item in body:
        try:
            if not isinstance(item, dict):
                raise SpotError(BAD_PARAM, detail="each order must be a JSON object")
            items.append(_check(ep, item))
        except SpotError as exc:
            items.append(exc)
    return items
