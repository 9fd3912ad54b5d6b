"""Argument checks: every value is checked against the command table before signing.

:func:`build_params` turns the values of one call (one per table parameter, in table order;
None = absent) into the request's ``(wire name, value)`` pairs, or raises
:class:`~polo_fast.errors.PoloniexArgumentError` / :class:`~polo_fast.errors.PoloniexTypeError`
naming the command and the argument: types per :class:`~polo_fast.commands.Kind`, required
parameters, exclusive and one-of groups, choices, minimum and maximum, the pair format, NaN
and infinities, bool outside flags, unknown parameter names (escape hatches).

Numbers are ASCII digits only (Arabic-Indic or full-width digits are refused, as ``int()`` reads
them); amounts and rates are never negative, ``-0`` and ``-0.0`` included; integers fit in
64 bits; a value's wire text holds at most :attr:`~polo_fast.commands.Param.max_length`
characters (:data:`~polo_fast.commands.MAX_TEXT`, 256, unless the table says otherwise).
Errors are one line: a long value is shown by its start and length.

:class:`Plan` is the same check compiled once per command (:data:`PLANS`): the straight-line
function ``tools/gen_api.py`` writes for the command into :mod:`polo_fast._checks`, bound to
a closure per parameter (:func:`_converter`) that takes the common valid values (a pair
str, a plain decimal str, a finite Decimal, a flag bool) straight to their wire text and
hands everything else to the generic check, so a call accepts, refuses and words its
errors exactly as :func:`build_params`; the result is the signer's C field buffer, ready
for one C call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from polo_fast._checks import CHECKS, Kit
from polo_fast._format import format_value
from polo_fast.commands import ALL_COMMANDS, MAX_TEXT, Command, Endpoint, Kind, Param
from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError, key_prefix

__all__ = [
    "PLANS",
    "PRIVATE_PLANS",
    "PUBLIC_PLANS",
    "Plan",
    "build_params",
    "check_key",
    "from_wire",
    "loose_params",
]

# ASCII only ([0-9], not \d): other scripts' digits are not numbers on the wire.
_PAIR = re.compile(r"[A-Z0-9]{1,24}_[A-Z0-9]{1,24}").fullmatch
_CURRENCY = re.compile(r"[A-Z0-9]{1,24}").fullmatch
_PLAIN_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)").fullmatch
_DIGITS = re.compile(r"[0-9]{1,20}").fullmatch
_U64 = 1 << 64


def _shown(v: Any) -> str:
    """``v`` for an error message: its repr, or its start and size when that is long."""
    if type(v) is int and v.bit_length() > 128:
        return f"an integer of {v.bit_length()} bits"
    if isinstance(v, str) and len(v) > 40:
        return f"{v[:24]!r}... ({len(v)} characters)"
    return repr(v)


def _num(v: Any) -> str:
    """A number for an error message: its text, or its size when that is long."""
    return _shown(v) if type(v) is int and v.bit_length() > 128 else str(v)


def _arg_error(cmd: Command, p: Param, why: str) -> PoloniexArgumentError:
    return PoloniexArgumentError(f"{cmd.name}: {p.arg} ({p.name}) {why}")


def _type_error(cmd: Command, p: Param, v: object, want: str) -> PoloniexTypeError:
    return PoloniexTypeError(
        f"{cmd.name}: {p.arg} ({p.name}) must be {want}, not {type(v).__name__}"
    )


def _too_long(cmd: Command, p: Param) -> PoloniexArgumentError:
    return _arg_error(cmd, p, f"must be at most {p.max_length} characters on the wire")


def _bounded_text(name: str, v: Any, most: int) -> str | None:
    """The wire text of a signable ``v`` when it holds at most ``most`` characters, else
    None; a huge int or Decimal is sized before it is written out."""
    if type(v) is int or isinstance(v, int):
        if v.bit_length() > 4 * most:  # over 1.2 * most digits
            return None
    elif isinstance(v, Decimal) and v.is_finite():
        exponent = v.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if v.adjusted() >= most or -exponent >= most:
            return None
    text = format_value(name, v)
    return text if len(text) <= most else None


def _check_decimal(cmd: Command, p: Param, v: Any) -> None:
    """Refuse a DECIMAL value that is not a finite, non-negative number of bounded text."""
    t = type(v)
    if t is Decimal:
        if not v.is_finite():
            raise _arg_error(cmd, p, f"must be a finite number, got {v!r}")
        if v.is_signed():  # negative, or -0
            raise _arg_error(cmd, p, f"must not be negative, got {v}")
        if _bounded_text(p.name, v, p.max_length) is None:
            raise _too_long(cmd, p)
    elif t is str:
        if len(v) > p.max_length:
            raise _too_long(cmd, p)
        if not _PLAIN_DECIMAL(v):
            raise _arg_error(
                cmd, p, f"must be plain decimal digits such as '0.00015', got {_shown(v)}"
            )
    elif t is float:
        if not math.isfinite(v):
            raise _arg_error(cmd, p, f"must be a finite number, got {v!r}")
        if math.copysign(1.0, v) < 0:  # negative, or -0.0
            raise _arg_error(cmd, p, f"must not be negative, got {v}")
        if _bounded_text(p.name, v, p.max_length) is None:
            raise _too_long(cmd, p)
    elif t is int:
        if v < 0:
            raise _arg_error(cmd, p, f"must not be negative, got {_num(v)}")
        if _bounded_text(p.name, v, p.max_length) is None:
            raise _too_long(cmd, p)
    else:
        raise _type_error(cmd, p, v, "a Decimal, int, float or decimal string")


def _check(cmd: Command, p: Param, v: Any) -> Any:
    """Return the wire value of ``v`` for ``p``, or raise; ``None`` means "leave it out"."""
    kind = p.kind
    t = type(v)
    if kind is Kind.DECIMAL:
        _check_decimal(cmd, p, v)
        return v
    if kind is Kind.PAIR or kind is Kind.PAIR_OR_ALL:
        if t is not str:
            raise _type_error(cmd, p, v, "a str such as 'BTC_ETH'")
        if not _PAIR(v) and not (kind is Kind.PAIR_OR_ALL and v == "all"):
            allowed = "X_Y in upper case such as 'BTC_ETH'"
            if kind is Kind.PAIR_OR_ALL:
                allowed += ", or 'all'"
            raise _arg_error(cmd, p, f"must be {allowed}, got {_shown(v)}")
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
            raise _arg_error(cmd, p, f"must not be negative, got {_num(v)}")
        if v >= _U64:
            raise _arg_error(cmd, p, f"must be below 2**64, got {_num(v)}")
    elif kind is Kind.ORDER_NUMBER:
        if t is int:
            if v < 0 or v >= _U64:
                raise _arg_error(cmd, p, f"must be a 64-bit unsigned number, got {_num(v)}")
        elif t is str:
            if not _DIGITS(v) or int(v) >= _U64:
                raise _arg_error(cmd, p, f"must be the order's decimal digits, got {_shown(v)}")
        else:
            raise _type_error(cmd, p, v, "an int or a str of digits")
    elif kind is Kind.BIT:
        if t is not int or v not in (0, 1):
            raise _arg_error(cmd, p, f"must be 0 or 1 (or a bool), got {_shown(v)}")
    elif kind is Kind.CURRENCY:
        if t is not str:
            raise _type_error(cmd, p, v, "a str such as 'BTC'")
        if not _CURRENCY(v):
            raise _arg_error(cmd, p, f"must be an upper-case code such as 'BTC', got {_shown(v)}")
    elif t is not str:  # ACCOUNT, STR
        raise _type_error(cmd, p, v, "a str")
    elif not v or not v.isprintable():
        raise _arg_error(cmd, p, "must be a non-empty printable str")
    elif len(v) > p.max_length:
        raise _too_long(cmd, p)
    if p.choices is not None and v not in p.choices:
        raise _arg_error(
            cmd, p, f"must be one of {', '.join(map(repr, p.choices))}, got {_shown(v)}"
        )
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
                raise _required(cmd, p)
            continue
        out.append((p.name, v))
    if cmd.exclusive or cmd.one_of:
        _check_groups(cmd, [name for name, _ in out])
    return out


def _check_groups(cmd: Command, names: list[str]) -> None:
    present = set(names)
    for group in cmd.exclusive:
        if len(present.intersection(group)) > 1:
            raise PoloniexArgumentError(f"{cmd.name}: at most one of {', '.join(group)} may be set")
    for group in cmd.one_of:
        if len(present.intersection(group)) != 1:
            raise PoloniexArgumentError(
                f"{cmd.name}: exactly one of {', '.join(group)} must be given"
            )


def _required(cmd: Command, p: Param) -> PoloniexArgumentError:
    return PoloniexArgumentError(f"{cmd.name}: {p.arg} ({p.name}) is required")


# -- compiled per command --------------------------------------------------------------------

#: Market names that passed the pair check (``X_Y`` upper case), so the next call with the
#: same str skips the regex; bounded.
_PAIRS_SEEN: set[str] = set()
_PAIRS_SEEN_MAX = 4096

#: One parameter's check: a value (not None) -> its wire text, or None to leave it out.
Converter = Callable[[Any], "str | None"]
#: One command's check: its values -> the signer's C field buffer and the number of names.
Check = Callable[[Sequence[Any]], tuple[bytes, int]]


def _converter(cmd: Command, p: Param) -> Converter:
    """The check of ``p`` as one closure: common valid values take a short path to their
    wire text; anything else goes through :func:`_check` (which refuses it, wording the
    error as always, or returns the checked value) and :func:`format_value`."""
    name = p.name
    kind = p.kind

    def generic(v: Any) -> str | None:
        checked = _check(cmd, p, v)
        return None if checked is None else format_value(name, checked)

    if kind is Kind.DECIMAL:
        most = p.max_length

        def decimal(v: Any) -> str | None:
            t = type(v)
            if t is str:
                # ASCII: the same test as _PLAIN_DECIMAL, without the regex engine
                if len(v) <= most and v.isascii() and v.replace(".", "", 1).isdigit():
                    return v  # type: ignore[no-any-return]
            elif t is Decimal and v.is_finite() and not v.is_signed():
                text: str = v.__str__()
                if "E" not in text and len(text) <= most:  # plain already
                    return text
            return generic(v)

        return decimal
    if kind is Kind.PAIR or kind is Kind.PAIR_OR_ALL:
        seen = _PAIRS_SEEN

        def pair(v: Any) -> str | None:
            if type(v) is str and v in seen:
                return v
            text = generic(v)
            if text is not None and text != "all" and len(seen) < _PAIRS_SEEN_MAX:
                seen.add(text)  # a bot trades a handful of markets: remember them
            return text

        return pair
    if kind is Kind.FLAG:

        def flag(v: Any) -> str | None:
            if v is True:
                return "1"
            if v is False:
                return None
            return generic(v)

        return flag
    return generic


class Plan:
    """One command compiled from the table: its checks as closures, its flags precomputed.

    Attributes:
        command: the :class:`~polo_fast.commands.Command`.
        name: the exchange's command name.
        private: True for signed ``/tradingApi`` commands.
        changes_state: never re-sent after an unknown outcome.
        withdraw: True for ``withdraw`` (refused unless withdrawals are allowed).
    """

    __slots__ = ("changes_state", "check", "command", "fixed", "name", "private", "withdraw")

    def __init__(self, command: Command) -> None:
        self.command: Command | None = command
        self.name = command.name
        self.private = command.endpoint is Endpoint.PRIVATE
        self.changes_state = command.changes_state
        self.withdraw = command.name == "withdraw"
        #: ``check(values) -> (fields, n)``: the signer's C field buffer (``command`` and the
        #: present parameters' wire names, then their wire texts, NUL-separated, UTF-8) and
        #: the number of names; raises like :func:`build_params`. None: no C fields (an
        #: unchecked command: :meth:`loose`).
        self.check: Check | None = _compile(command)
        #: What ``check(())`` returns for a command without parameters, else None.
        self.fixed: tuple[bytes, int] | None = self.check(()) if not command.params else None

    @classmethod
    def loose(cls, name: str) -> Plan:
        """A plan for an unchecked private command (``private(name, unchecked=True)``): its
        values are the ``(name, value)`` pairs of :func:`loose_params`; state-changing."""
        plan = cls.__new__(cls)
        plan.command = None
        plan.name = name
        plan.private = True
        plan.changes_state = True
        plan.withdraw = name == "withdraw"
        plan.check = None
        plan.fixed = None
        return plan

    def from_wire(self, params: dict[str, Any]) -> tuple[Any, ...]:
        """Order wire-named parameters as the table lists them (see :func:`from_wire`)."""
        if self.command is None:
            raise PoloniexArgumentError(f"{self.name}: an unchecked command has no table entry")
        return from_wire(self.command, params)

    def pairs(self, values: Sequence[Any]) -> list[tuple[str, Any]]:
        """The checked ``(wire name, value)`` pairs of one call (see :func:`build_params`);
        for an unchecked command, its :func:`loose_params` pairs as given.

        Raises:
            PoloniexArgumentError: a value refused; for an unchecked command, pairs that do
                not open with this command or name ``command`` again.
        """
        if self.command is None:
            pairs = list(values)
            if not pairs or pairs[0] != ("command", self.name):
                raise PoloniexArgumentError(f"{self.name}: the pairs must open with its command")
            if any(pair[0] == "command" for pair in pairs[1:]):
                raise PoloniexArgumentError(f"{self.name}: 'command' may appear only once")
            return pairs
        return build_params(self.command, values)

    def __repr__(self) -> str:
        return f"<Plan {self.name}>"


def _compile(cmd: Command) -> Check:
    """``check(values) -> (fields, n)`` for ``cmd``: the straight-line function
    ``tools/gen_api.py`` wrote for it in :mod:`polo_fast._checks`, given the command's
    :func:`_converter` closures; a command without parameters returns its one field."""
    if not cmd.params:
        result = (("command\0" + cmd.name).encode(), 1)

        def check_nothing(values: Sequence[Any]) -> tuple[bytes, int]:
            if values:
                build_params(cmd, values)  # raises: one value per parameter
            return result

        return check_nothing

    def arity(values: Sequence[Any]) -> None:
        build_params(cmd, values)  # raises: one value per parameter

    def required(i: int) -> PoloniexArgumentError:
        return _required(cmd, cmd.params[i])

    def groups(names: list[str]) -> None:
        _check_groups(cmd, names)

    kit = Kit(
        convert=tuple(_converter(cmd, p) for p in cmd.params),
        arity=arity,
        required=required,
        groups=groups,
        seen=_PAIRS_SEEN,
    )
    return CHECKS[cmd.method](kit)


#: A plan per command, by client method name (``"return_balances"``).
PLANS: Mapping[str, Plan] = MappingProxyType({c.method: Plan(c) for c in ALL_COMMANDS})
#: Plans of the public commands by exchange name.
PUBLIC_PLANS: Mapping[str, Plan] = MappingProxyType(
    {p.name: p for p in PLANS.values() if not p.private}
)
#: Plans of the private commands by exchange name.
PRIVATE_PLANS: Mapping[str, Plan] = MappingProxyType(
    {p.name: p for p in PLANS.values() if p.private}
)


def from_wire(cmd: Command, params: dict[str, Any]) -> tuple[Any, ...]:
    """Order wire-named parameters (``currencyPair=...``) as the table lists them.

    Raises:
        PoloniexArgumentError: a name the command does not take.
    """
    unknown = [name for name in params if cmd.param(name) is None]
    if unknown:
        accepted = ", ".join(p.name for p in cmd.params) or "no parameters"
        raise PoloniexArgumentError(
            f"{cmd.name}: unknown parameter {', '.join(map(repr, unknown))} (it takes {accepted})"
        )
    return tuple(params.get(p.name) for p in cmd.params)


def loose_params(command: str, params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Parameters of an unchecked command: ``command`` first (once), then any other name
    with a value of a signable type, written out (``None`` leaves a name out).

    Raises:
        PoloniexArgumentError: a parameter named ``command`` or ``nonce`` (polo_fast writes
            them, once each), NaN or an infinity, a wire text over
            :data:`~polo_fast.commands.MAX_TEXT` characters.
        PoloniexTypeError: a value of another type.
    """
    out: list[tuple[str, Any]] = [("command", command)]
    for name, v in params.items():
        if name == "command" or name == "nonce":
            raise PoloniexArgumentError(
                f"{command}: {name!r} cannot be a parameter: polo_fast writes it, once"
            )
        if v is None:
            continue
        t = type(v)
        if t is bool:
            v = int(v)
        elif (t is float and not math.isfinite(v)) or (t is Decimal and not v.is_finite()):
            raise PoloniexArgumentError(f"{command}: {name} must be finite, got {v!r}")
        elif not isinstance(v, (str, int, float, Decimal)):
            raise PoloniexTypeError(f"{command}: {name} must be str, int, float or Decimal")
        text = _bounded_text(name, v, MAX_TEXT)
        if text is None:
            raise PoloniexArgumentError(
                f"{command}: {name} must be at most {MAX_TEXT} characters on the wire"
            )
        out.append((name, text))
    return out


def check_key(key: Any, secret: Any) -> tuple[str, str | bytes]:
    """Check one ``(key, secret)`` pair of the client's configuration (never shows the secret,
    nor keeps it in a frame of the error it raises).

    Raises:
        PoloniexTypeError, PoloniexArgumentError: an empty or unsendable key or secret.
    """
    if not isinstance(key, str) or not key:
        del secret
        raise PoloniexTypeError("an API key must be a non-empty str")
    if not (key.isascii() and key.isprintable()) or " " in key:
        del secret
        raise PoloniexArgumentError(f"API key {key_prefix(key)} holds characters HTTP cannot carry")
    if not isinstance(secret, (str, bytes)) or not secret:
        del secret
        raise PoloniexTypeError(f"the secret of key {key_prefix(key)} must be a non-empty str")
    return key, secret
