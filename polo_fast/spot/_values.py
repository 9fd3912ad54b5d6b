"""The Spot API's value checks: one converter per parameter of the endpoint table.

Each converter takes one value (not None) and returns its wire form, or raises a
:class:`~polo_fast.errors.PoloniexArgumentError` (a bad value) or a
:class:`~polo_fast.errors.PoloniexTypeError` (a wrong type), one line naming the endpoint and
the argument. :mod:`polo_fast.spot._args` prepares them per endpoint (its ``_Plan``) and the
generated builders of :mod:`polo_fast.spot._builders` call them for every value off their
inlined fast tests, so both refuse a value exactly alike.

Values by :class:`~polo_fast.spot.commands.Kind` (what the query and the body carry):

=========  ==================================================  ============================
kind       accepted                                            on the wire
=========  ==================================================  ============================
DECIMAL    ``Decimal``, ``int``, ``float``, or a plain decimal  a string of plain decimal
           ``str`` (``"0.015"``); above 0, finite, at most      digits, never an exponent
           40 characters in plain decimal                       (:mod:`polo_fast._format`)
INT        ``int``, or a ``str`` of ASCII digits (``"-1"``),    a string of digits
           at most 19 digits, within the table's bounds
BOOL       ``True`` / ``False`` only                            ``true``/``false`` (JSON),
                                                                ``"true"``/``"false"`` (query)
ENUM       one of the choices, in any letter case               the choice as the API spells
           (``"buy"`` is ``"BUY"``); int choices as int or str  it (``"BUY"``)
LIST       a list or tuple of STR items (below; an enum's       a JSON array (body), a
           items as ENUM); empty = not given                    comma-joined string (query)
STR        a non-empty printable ``str`` (an ``int`` too),      as is; in a path
           within ``max_length`` and ``pattern``                percent-encoded (RFC 3986,
                                                                ``:`` kept for ``cid:``)
=========  ==================================================  ============================

"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from polo_fast._format import MAX_TEXT, decimal_text, float_text, int_text
from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError
from polo_fast.spot.commands import CLIENT_ORDER_ID_MAX, CLIENT_ORDER_ID_RE, Kind, Param, Where

__all__ = ["DECIMAL_MAX_LENGTH", "Conv", "order_ref", "shortcut"]

#: The longest plain-decimal text a DECIMAL may have (the stand-in's bound too).
DECIMAL_MAX_LENGTH: Final = 40

_DIGITS = re.compile(r"[0-9]{1,20}").fullmatch
_INT_TEXT = re.compile(r"-?[0-9]{1,19}").fullmatch
_PATH_PLAIN = re.compile(r"[A-Za-z0-9._~:-]+").fullmatch
_INT_LIMIT = 10**19
_DIGITS_ONLY_REFS = frozenset({"order_trades"})
#: (endpoint, parameter) -> values refused inside the table's bounds, and why.
_HOLES: Mapping[tuple[str, str], tuple[range, str]] = {
    ("kill_switch", "timeout"): (range(0, 10), "must be -1 (disarm) or 10 to 600 seconds"),
}
_show = reprlib.Repr()
_show.maxstring = 40
_show.maxother = 40

Conv = Callable[[Any], Any]
"""One value (not None) -> its wire form (None: leave it out, an empty LIST)."""


# ---------------------------------------------------------------- errors


def _label(p: Param) -> str:
    arg = p.arg
    return p.name if arg == p.name else f"{arg} ({p.name})"


def _bad(cmd: str, p: Param, why: str) -> PoloniexArgumentError:
    return PoloniexArgumentError(f"{cmd}: {_label(p)} {why}")


def _wrong(cmd: str, p: Param, v: object, want: str) -> PoloniexTypeError:
    return PoloniexTypeError(f"{cmd}: {_label(p)} must be {want}, not {type(v).__name__}")


# ---------------------------------------------------------------- one value per kind


def _decimal(cmd: str, p: Param, recent: dict[Any, str] | None = None) -> Conv:
    """A DECIMAL's converter; it records the plain decimal str values it accepts in
    ``recent`` (if given), forgetting them all when :data:`_KNOWN_MAX` are held."""
    most = DECIMAL_MAX_LENGTH

    def slow(v: Any) -> str:
        t = type(v)
        if t is str:
            raise _bad(
                cmd,
                p,
                "must be plain decimal digits such as '0.015' (no sign, exponent or spaces), "
                f"got {_show.repr(v)}",
            )
        if t not in (int, float, Decimal):  # bool, a subclass (read as its base), or wrong
            if not isinstance(v, bool):
                for base in (str, Decimal, float, int):
                    if isinstance(v, base):
                        return conv(base(v) if base is not str else str.__str__(v))
            raise _wrong(cmd, p, v, "a Decimal, int, float or decimal str")
        if t is Decimal:
            if not v.is_finite():
                raise _bad(cmd, p, f"must be a finite number, got {v}")
            if v.is_signed() or not v:
                raise _bad(cmd, p, f"must be above 0, got {v}")
            exponent = v.as_tuple().exponent
            assert isinstance(exponent, int)  # finite
            if v.adjusted() >= most or -exponent > most:
                raise _bad(cmd, p, f"must be at most {most} digits in plain decimal, got {v}")
            text = decimal_text(p.name, v)
        elif t is float:
            if not math.isfinite(v):
                raise _bad(cmd, p, f"must be a finite number, got {v}")
            if v <= 0:
                raise _bad(cmd, p, f"must be above 0, got {v}")
            if v >= 1e40:
                raise _bad(cmd, p, f"must be at most {most} digits in plain decimal, got {v}")
            text = float_text(p.name, v)
        else:
            if v <= 0:
                raise _bad(cmd, p, f"must be above 0, got {v}")
            if v.bit_length() > 4 * most:
                raise _bad(cmd, p, f"must be at most {most} digits, got {v.bit_length()} bits")
            text = int_text(p.name, v)
        if len(text) > most:
            raise _bad(cmd, p, f"must be at most {most} characters in plain decimal, got {text}")
        return text

    def conv(v: Any) -> str:
        t = type(v)
        if t is str:
            if len(v) <= most and v.isascii() and v.replace(".", "", 1).isdigit():
                if v.strip("0."):
                    if recent is not None:
                        if len(recent) >= _KNOWN_MAX:
                            recent.clear()
                        recent[v] = v
                    return v  # type: ignore[no-any-return]
                raise _bad(cmd, p, f"must be above 0, got {v!r}")
        elif t is Decimal and v.is_finite() and not v.is_signed() and v:
            text: str = v.__str__()
            if "E" not in text and len(text) <= most:
                return text
        elif t is float and 0.0 < v < 1e16:  # repr has no exponent from 1e-4 up to 1e16
            text = float.__repr__(v)
            if "e" not in text:
                return text
        elif t is int and 0 < v < _INT_LIMIT:
            return int.__repr__(v)
        return slow(v)

    return conv


def _int(cmd: str, p: Param) -> Conv:
    lo, hi = p.minimum, p.maximum
    hole = _HOLES.get((cmd, p.name))

    def conv(v: Any) -> str:
        t = type(v)
        if t is int:
            n: int = v
        elif t is str and _INT_TEXT(v):
            n = int(v)
        elif t is str:
            raise _bad(cmd, p, f"must be an integer, got {_show.repr(v)}")
        elif isinstance(v, int) and not isinstance(v, bool):
            n = int(v)
        else:
            raise _wrong(cmd, p, v, "an int")
        if not -_INT_LIMIT < n < _INT_LIMIT:
            raise _bad(cmd, p, "must have at most 19 digits")
        if lo is not None and n < lo:
            raise _bad(cmd, p, f"must be at least {lo}, got {n}")
        if hi is not None and n > hi:
            raise _bad(cmd, p, f"must be at most {hi}, got {n}")
        if hole is not None and n in hole[0]:
            raise _bad(cmd, p, f"{hole[1]}, got {n}")
        return str(n)

    return conv


def _bool(cmd: str, p: Param, query: bool) -> Conv:
    yes, no = ("true", "false") if query else (True, False)

    def conv(v: Any) -> Any:
        if v is True:
            return yes
        if v is False:
            return no
        raise _wrong(cmd, p, v, "True or False")

    return conv


def _enum(cmd: str, p: Param) -> Conv:
    choices = p.choices or ()
    exact: dict[Any, str] = {}
    for c in choices:
        exact[c] = exact[str(c)] = str(c)
    folded = {str(c).casefold(): str(c) for c in choices}
    listed = ", ".join(repr(c) for c in choices)

    def conv(v: Any) -> str:
        t = type(v)
        if t is str or t is int:
            wire = exact.get(v)
            if wire is not None:
                return wire
            if t is str:
                wire = folded.get(v.casefold())
                if wire is not None:
                    return wire
            raise _bad(cmd, p, f"must be one of {listed}, got {_show.repr(v)}")
        if isinstance(v, str):  # a StrEnum member, say: read as its text
            return conv(str.__str__(v))
        if isinstance(v, int) and not isinstance(v, bool):
            return conv(int(v))
        raise _wrong(cmd, p, v, f"one of {listed}")

    return conv


def _text(cmd: str, p: Param, v: Any) -> str:
    """``v`` as a checked STR: non-empty, printable, within the bounds, matching."""
    if type(v) is not str:
        if isinstance(v, str):
            v = str.__str__(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            v = int_text(p.name, v)
        else:
            raise _wrong(cmd, p, v, "a str")
    most = p.max_length or MAX_TEXT
    if len(v) > most:
        raise _bad(cmd, p, f"must be at most {most} characters, got {len(v)}")
    if not v.isprintable() or not v:  # also NUL, controls, lone surrogates
        raise _bad(cmd, p, f"must be a non-empty printable str, got {_show.repr(v)}")
    if p.pattern is not None and not re.fullmatch(p.pattern, v):
        raise _bad(cmd, p, f"must match {p.pattern}, got {_show.repr(v)}")
    return v  # type: ignore[no-any-return]


def _is_cid(v: str) -> bool:
    """``v`` matches ``[A-Za-z0-9_-]{1,64}`` (string methods: faster than the regex)."""
    return (
        0 < len(v) <= CLIENT_ORDER_ID_MAX
        and v.isascii()
        and v.replace("-", "a").replace("_", "a").isalnum()
    )


def _str(cmd: str, p: Param) -> Conv:
    most = p.max_length or MAX_TEXT
    if p.pattern == CLIENT_ORDER_ID_RE:

        def cid(v: Any) -> str:
            if type(v) is str and _is_cid(v):
                return v
            return _text(cmd, p, v)

        return cid
    match = re.compile(p.pattern).fullmatch if p.pattern is not None else None

    def conv(v: Any) -> str:
        if (
            type(v) is str
            and len(v) <= most
            and v.isprintable()
            and v
            and (match is None or match(v))
        ):
            return v
        return _text(cmd, p, v)

    return conv


def _list(cmd: str, p: Param, query: bool) -> Conv:
    item_param = Param(p.name, Kind.STR, p.where, pattern=_ITEM_PATTERNS.get(p.name))
    one = _enum(cmd, p) if p.choices is not None else _str(cmd, item_param)

    def conv(v: Any) -> Any:
        if isinstance(v, (str, bytes, bytearray, Mapping)) or not isinstance(v, (list, tuple)):
            raise _wrong(cmd, p, v, "a list or tuple of str")
        items = [one(item) for item in v]
        if query:
            if any("," in item for item in items):
                raise _bad(cmd, p, "items must not hold ',' (the query's separator)")
            return ",".join(items) if items else None
        return items or None

    return conv


#: LIST parameters whose items have a form (the rest: any printable str).
_ITEM_PATTERNS: Mapping[str, str] = {"clientOrderIds": CLIENT_ORDER_ID_RE}


def _converter(cmd: str, p: Param) -> Conv:
    query = p.where is Where.QUERY
    kind = p.kind
    if kind is Kind.DECIMAL:
        return _decimal(cmd, p)
    if kind is Kind.INT:
        return _int(cmd, p)
    if kind is Kind.BOOL:
        return _bool(cmd, p, query)
    if kind is Kind.ENUM:
        return _enum(cmd, p)
    if kind is Kind.LIST:
        return _list(cmd, p, query)
    return _str(cmd, p)


#: The most values one parameter's memo of accepted STR values holds.
_KNOWN_MAX = 1024


def shortcut(p: Param) -> str | None:
    """How a value of ``p`` is accepted without a call to its converter (the table-driven
    plan and the generated builders take the same shortcuts): ``"known"`` (a str among the
    values known good: an ENUM's exact choices, or the STR values accepted before, e.g. a
    bot's markets), ``"recent"`` (a DECIMAL str among the plain decimals accepted lately:
    a bot's prices and sizes repeat), ``"cid"`` (a ``clientOrderId`` of the right form),
    ``"bool"`` (True or False), or None (always converted)."""
    kind = p.kind
    if kind is Kind.ENUM and p.choices and all(type(c) is str for c in p.choices):
        return "known"  # only str choices: no int, float or bool compares equal to one
    if kind is Kind.STR:
        return "cid" if p.pattern == CLIENT_ORDER_ID_RE else "known"
    if kind is Kind.DECIMAL:
        return "recent"
    if kind is Kind.BOOL:
        return "bool"
    return None


def _fast(cmd: str, p: Param) -> tuple[Conv, Conv, dict[Any, str] | None]:
    """``(fast, full, known)`` of parameter ``p`` of endpoint ``cmd``: ``full`` is its
    converter; ``known`` maps the values accepted as they are (:func:`shortcut`'s
    ``"known"`` and ``"recent"``) to themselves (their wire form), or is None; ``fast`` is
    a C-level lookup of ``known`` that raises KeyError or TypeError for anything else, which
    :meth:`_Plan.values` then hands to ``full``. ``full`` records the str values it accepts
    in ``known``: at most :data:`_KNOWN_MAX` STR values, kept, and the DECIMAL ones accepted
    lately (all forgotten when :data:`_KNOWN_MAX` are held: prices move). For other kinds,
    and for ``clientOrderId`` (new each time), ``fast`` is ``full`` and ``known`` None."""
    how = shortcut(p)
    if how == "recent":
        recent: dict[Any, str] = {}
        conv = _decimal(cmd, p, recent)
        return conv, conv, recent
    full = _converter(cmd, p)
    if how != "known":
        return full, full, None
    if p.kind is Kind.ENUM:
        choices = {c: str(c) for c in p.choices or ()}
        return choices.__getitem__, full, choices
    known: dict[Any, str] = {}

    def remember(v: Any) -> str:
        text: str = full(v)
        if type(v) is str and len(known) < _KNOWN_MAX:
            known[v] = text
        return text

    return known.__getitem__, remember, known


def _path_conv(cmd: str, p: Param, order_ref: bool, cid_ok: bool) -> Conv:
    """A path value: checked, then percent-encoded (RFC 3986, ``:`` kept)."""

    most = p.max_length or MAX_TEXT

    def conv(v: Any) -> str:
        plain = type(v) is str and len(v) <= most and _PATH_PLAIN(v) is not None
        text: str = v if plain else _text(cmd, p, v)
        if order_ref:
            if text.startswith("cid:") and cid_ok:
                if not _is_cid(text[4:]):
                    raise _bad(
                        cmd, p, f"cid:<clientOrderId> must match {CLIENT_ORDER_ID_RE}, "
                        f"got {_show.repr(text)}",
                    )  # fmt: skip
            elif not (text.isascii() and _DIGITS(text)):
                want = "an order id (digits)" + (" or cid:<clientOrderId>" if cid_ok else "")
                raise _bad(cmd, p, f"must be {want}, got {_show.repr(text)}")
        if text in (".", ".."):
            raise _bad(cmd, p, f"must not be {text!r} (a path step)")
        return text if plain or _PATH_PLAIN(text) else quote(text, safe=":")

    return conv


def order_ref(command: str, order_id: str | int | None, client_order_id: str | None) -> str:
    """The ``{id}`` of an order path from exactly one of ``order_id`` (an order id, or a
    ready ``cid:...``) and ``client_order_id`` (sent as ``cid:<client_order_id>``).

    Raises:
        PoloniexArgumentError: both or neither given, a malformed client order id.
        PoloniexTypeError: a client order id that is not a str.
    """
    if (order_id is None) == (client_order_id is None):
        raise PoloniexArgumentError(f"{command}: give exactly one of order_id and client_order_id")
    if client_order_id is None:
        return order_id if type(order_id) is str else _text(command, _ORDER_ID, order_id)
    if type(client_order_id) is not str:
        raise PoloniexTypeError(
            f"{command}: client_order_id must be a str, not {type(client_order_id).__name__}"
        )
    if not _is_cid(client_order_id):
        raise PoloniexArgumentError(
            f"{command}: client_order_id must match {CLIENT_ORDER_ID_RE}, "
            f"got {_show.repr(client_order_id)}"
        )
    return "cid:" + client_order_id


_ORDER_ID = Param("order_id", Kind.STR, Where.PATH, True)
