"""Parameter values to wire text, and the input checks every signing route shares.

Values are written as follows (all backends):

=============  ===================================================================
``str``        as is (UTF-8, then percent-encoded); ``str`` subclasses by their text
``int``        decimal digits (also objects with ``__index__``, e.g. NumPy integers)
``Decimal``    plain decimal, never an exponent: ``Decimal('1E+3')`` -> ``1000``,
               ``Decimal('1E-8')`` -> ``0.00000001``; trailing zeros are kept
``float``      the shortest repr digits in plain decimal: ``0.1`` -> ``0.1``,
               ``1e-8`` -> ``0.00000001``, ``1e16`` -> ``10000000000000000``;
               ``-0.0`` is written ``-0.0``, as ``str()`` does (never rewritten to 0)
rejected       ``bool``, ``None``, NaN, infinities, ``bytes``-like, containers and every
               other type: :class:`~polo_fast.errors.SigningTypeError` /
               :class:`~polo_fast.errors.SigningError` naming the parameter; nothing is signed
=============  ===================================================================

Bounds: a name or a value's text holds at most :data:`MAX_TEXT` characters (64 Ki); an
``int`` or ``Decimal`` whose text would be longer is refused before it is written out (so
``10**5000`` and ``Decimal('1E+100000')`` give a one-line error naming the parameter, not
a ``ValueError`` from ``int.__str__`` or a 100 kB body). The command checks
(:mod:`polo_fast._args`) apply tighter, per-parameter bounds on top.

Names must be ``str``, each name at most once (so ``command`` appears once: the checked
one); the name ``nonce`` is refused (the signer appends it, last).

This module imports only :mod:`polo_fast.errors`; the signers (:mod:`polo_fast.signing`)
and the argument checks (:mod:`polo_fast._args`) build on it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from polo_fast.errors import SigningError, SigningTypeError

__all__ = [
    "MAX_TEXT",
    "check_nonce",
    "decimal_text",
    "fields",
    "float_text",
    "format_value",
    "int_text",
    "pairs",
]

#: The most characters of one parameter name or value text any signer accepts.
MAX_TEXT = 65_536
#: ``2**64``: nonces are unsigned 64-bit integers.
_U64 = 1 << 64
#: An int with more bits than this has more than :data:`MAX_TEXT` decimal digits.
_MAX_INT_BITS = int(MAX_TEXT * math.log2(10))
_NUL = "\0"
_join0 = _NUL.join
_PAIR_TYPES = frozenset((tuple,))
#: How many later calls of :func:`fields` format a dict first after one whose values were
#: not all str (a hint only: the bytes are the same either way).
_FORMAT_FIRST_CALLS = 64
_format_first = 0


def _reject(name: str, why: str, value: object, *, type_error: bool = True) -> SigningError:
    cls = SigningTypeError if type_error else SigningError
    return cls(f"parameter {name!r}: {why} (got {type(value).__name__}); nothing was signed")


def _too_long(name: str, what: str) -> SigningError:
    return SigningError(
        f"parameter {name!r}: {what} longer than {MAX_TEXT} characters; nothing was signed"
    )


def float_text(name: str, value: float) -> str:
    """The plain-decimal text of a float (shortest repr digits, never an exponent).

    Raises:
        SigningError: NaN or an infinity.
    """
    text = float.__repr__(value)
    if "e" in text or "n" in text:  # exponent form, or nan / inf
        if not math.isfinite(value):
            raise _reject(name, "NaN and infinities cannot be sent", value, type_error=False)
        text = format(Decimal(text), "f")
    return text


def decimal_text(name: str, value: Decimal) -> str:
    """The plain-decimal text of a Decimal (never an exponent; trailing zeros kept).

    Raises:
        SigningError: NaN, an infinity, or a text longer than :data:`MAX_TEXT`.
    """
    text = value.__str__()
    if "E" in text or "a" in text or "n" in text:  # exponent form, or NaN / Infinity
        if not value.is_finite():
            raise _reject(name, "NaN and infinities cannot be sent", value, type_error=False)
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if max(value.adjusted(), 0) - min(exponent, 0) >= MAX_TEXT:
            raise _too_long(name, "the number in plain decimal is")
        text = format(value, "f")
    return text


def int_text(name: str, value: int) -> str:
    """The decimal digits of an int.

    Raises:
        SigningError: more than :data:`MAX_TEXT` digits (or more than Python converts).
    """
    if value.bit_length() > _MAX_INT_BITS:
        raise _too_long(name, "the integer is")
    try:
        return int.__repr__(value)
    except ValueError:  # sys.get_int_max_str_digits()
        raise _too_long(name, "the integer is") from None


def format_value(name: str, value: object) -> str:
    """The wire text of one parameter value (see the module docstring for the rules).

    Parameters:
        name: the parameter name, used in error messages.
        value: the value.

    Raises:
        SigningTypeError: a rejected type (bool, None, bytes-like, containers, other).
        SigningError: NaN, an infinity, or a number too long to write out.
    """
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is int:
        return int_text(name, value)  # type: ignore[arg-type]
    if t is Decimal:
        return decimal_text(name, value)  # type: ignore[arg-type]
    if t is float:
        return float_text(name, value)  # type: ignore[arg-type]
    if value is None or isinstance(value, bool):
        raise _reject(name, "use str, int, Decimal or float; bool and None are not sent", value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int_text(name, value)
    if isinstance(value, float):
        return float_text(name, value)
    if isinstance(value, Decimal):
        return decimal_text(name, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _reject(name, "bytes-like values are not sent; pass str", value)
    if (
        hasattr(t, "__index__")
        and not isinstance(value, (Iterable, Mapping))
        and "bool" not in t.__name__
    ):
        try:
            index = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
        else:
            return int_text(name, index)
    raise _reject(name, "use str, int, Decimal or float", value)


def _name_text(name: object) -> str:
    if type(name) is str:
        text = name
    elif isinstance(name, str):
        text = str.__str__(name)
    else:
        raise SigningTypeError(
            f"parameter names must be str, got {type(name).__name__}; nothing was signed"
        )
    if text == "nonce":
        raise SigningError("parameter 'nonce' is added by the signer (last); pass it as nonce=")
    if len(text) > MAX_TEXT:
        raise SigningError(f"a parameter name is longer than {MAX_TEXT} characters")
    return text


def _check_utf8(name: str, text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SigningError(
                f"parameter {name!r}: text is not encodable as UTF-8 ({exc.reason}); "
                "nothing was signed"
            ) from None


def pairs(params: object) -> list[tuple[str, str]]:
    """Validate and format ``params``; return ``(name, value text)`` pairs in wire order.

    Raises:
        SigningTypeError: params neither a mapping nor pairs, a non-str name, a rejected
            value type.
        SigningError: a name given twice, ``nonce`` among the names, a bad or too long
            value, text that is not UTF-8 encodable.
    """
    if isinstance(params, Mapping):
        items: Iterable[Any] = params.items()
    elif isinstance(params, (str, bytes, bytearray)) or not isinstance(params, Iterable):
        raise SigningTypeError(
            f"params must be a mapping or a sequence of (name, value) pairs, "
            f"got {type(params).__name__}; nothing was signed"
        )
    else:
        items = params
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise SigningTypeError(
                f"params must hold (name, value) pairs, got {type(item).__name__} "
                f"{'of length ' + str(len(item)) if isinstance(item, tuple) else ''}".rstrip()
                + "; nothing was signed"
            )
        name = _name_text(item[0])
        if name in seen:
            raise SigningError(
                f"parameter {name!r} is given twice; each name may appear once, nothing was signed"
            )
        seen.add(name)
        _check_utf8("<name>", name)
        text = format_value(name, item[1])
        if len(text) > MAX_TEXT:
            raise _too_long(name, "the text is")
        _check_utf8(name, text)
        out.append((name, text))
    return out


def fields(params: object) -> tuple[bytes, int]:
    """The C field buffer for ``params`` (names, then values, NUL-separated, UTF-8) and the
    number of names.

    A ``dict`` of ``str`` is one join. Other common inputs (a ``dict`` or a list of pairs
    of ``str``, ``int``, ``Decimal``, ``float``) take one pass with the formatting inlined;
    anything else, and every malformed input, is handed to :func:`pairs`, which raises the
    precise error. Value lengths are not checked here: a buffer that does not fit the
    caller's area goes through :func:`pairs` (the signer's exact-size route), which checks
    them.

    Raises:
        SigningError, SigningTypeError: as :func:`pairs`.
    """
    global _format_first
    source = params  # what pairs() reads again for the precise error
    try:
        if type(params) is not dict:
            items: Any = params
            if type(items) is not list and type(items) is not tuple:
                if isinstance(items, Mapping):
                    items = items.items()
                if isinstance(items, (str, bytes, bytearray)):
                    raise TypeError  # not pairs: pairs() words it
                items = source = [*items]  # read an iterator once
            if not items:
                return b"", 0
            if {*map(type, items)} != _PAIR_TYPES:
                raise TypeError  # not all (name, value) tuples: pairs() words it
            params = dict(items)  # ValueError: a tuple not of two
            if len(params) != len(items):
                raise ValueError  # a name twice: pairs() words it
        if _format_first:
            _format_first -= 1
        else:
            try:  # all names and values str: one join
                return _join0([*params, *params.values()]).encode(), len(params)
            except (TypeError, UnicodeEncodeError):
                # Not all str: format first for the next calls too (a caller keeps its
                # types), sparing them the failed join; try the join again later.
                _format_first = _FORMAT_FIRST_CALLS
        parts: list[Any] = [*params]  # the names, then each value's text
        n = len(parts)
        for value in params.values():
            t = type(value)
            if t is str:
                parts.append(value)
            elif t is Decimal:  # exact types here, so str() and repr() are theirs
                text = str(value)
                if "E" in text or "a" in text or "n" in text:  # exponent, NaN, Infinity
                    text = decimal_text(parts[len(parts) - n], value)
                parts.append(text)
            elif t is float:
                text = repr(value)
                if "e" in text or "n" in text:  # exponent, nan, inf
                    text = float_text(parts[len(parts) - n], value)
                parts.append(text)
            elif t is int:
                parts.append(repr(value))
            else:
                parts.append(format_value(parts[len(parts) - n], value))
        return _join0(parts).encode(), n
    except SigningError:
        raise
    except (TypeError, ValueError, UnicodeEncodeError, AttributeError):
        pairs(source)  # raises the precise error
        raise  # pragma: no cover - pairs found nothing wrong


def check_nonce(nonce: object) -> int:
    """Return ``nonce`` if it is an int in 0 .. 2**64-1.

    Raises:
        SigningTypeError: not an int.
        SigningError: out of range.
    """
    if type(nonce) is not int:
        raise SigningTypeError(
            f"nonce must be an int, got {type(nonce).__name__}; nothing was signed"
        )
    if not 0 <= nonce < _U64:
        raise SigningError("nonce must be in 0 .. 2**64-1; nothing was signed")
    return nonce
