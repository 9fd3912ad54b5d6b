"""Argument checks: every value is checked against the command table before signing.

:func:`build_params` turns the values of one call (one per table parameter, in table order;
None = absent) into the request's ``(wire name, value)`` pairs, or raises
:class:`~polo_fast.errors.PoloniexArgumentError` / :class:`~polo_fast.errors.PoloniexTypeError`
naming the command and the argument: types per :class:`~polo_fast.commands.Kind`, required
parameters, exclusive and one-of groups, choices, minimum and maximum, the pair format, NaN
and infinities, bool outside flags, unknown parameter names (escape hatches).

:class:`Plan` is the same check compiled once per command (:data:`PLANS`): a closure per
parameter takes the common valid values (a pair str, a plain decimal str, a finite Decimal,
a flag bool) straight to their wire text and hands everything else to the generic check, so
a call accepts, refuses and words its errors exactly as :func:`build_params`; the result is
the signer's C field buffer, ready for one C call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from polo_fast.commands import ALL_COMMANDS, Command, Endpoint, Kind, Param
from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError, key_prefix
from polo_fast.signing import _decimal_text, format_value

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

        def decimal(v: Any) -> str | None:
            t = type(v)
            if t is str:
                # ASCII: the same test as _PLAIN_DECIMAL, without the regex engine
                if v.isascii() and v.replace(".", "", 1).isdigit():
                    return v  # type: ignore[no-any-return]
            elif t is Decimal and v.is_finite() and not v < 0:
                return _decimal_text(name, v)
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
        self.check: Callable[[Sequence[Any]], tuple[bytes, int]] | None = _compile(command)
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
        """The checked ``(wire name, value)`` pairs of one call (see :func:`build_params`)."""
        if self.command is None:
            return list(values)
        return build_params(self.command, values)

    def __repr__(self) -> str:
        return f"<Plan {self.name}>"


def _compile(cmd: Command) -> Callable[[Sequence[Any]], tuple[bytes, int]]:
    """Build ``check(values) -> (fields, n)`` for ``cmd`` as one straight-line function.

    The source is generated from the table (like ``dataclasses`` and ``namedtuple`` do):
    the values are unpacked once, each parameter is handled in table order by its
    :func:`_converter` (the common valid values by an inlined test), and the field buffer is
    joined once. A value is refused exactly where and as :func:`build_params` refuses it.
    """
    name = cmd.name
    if not cmd.params:
        fields = ("command\0" + name).encode()
        result = (fields, 1)

        def check_nothing(values: Sequence[Any]) -> tuple[bytes, int]:
            if values:
                build_params(cmd, values)  # raises: one value per parameter
            return result

        return check_nothing
    params = cmd.params
    ns: dict[str, Any] = {
        "_cmd": cmd,
        "_p": params,
        "_c": tuple(_converter(cmd, p) for p in params),
        "_required": _required,
        "_groups": _check_groups,
        "_build": build_params,
        "_seen": _PAIRS_SEEN,
    }
    count = len(params)
    lead = 0  # leading required parameters: their names are known up front
    while lead < count and params[lead].required:
        lead += 1
    names = ["command", *(p.name for p in params[:lead])]
    src = [
        "def check(values):",
        f"    if len(values) != {count}:",
        "        _build(_cmd, values)  # raises: one value per parameter",
        f"    {''.join(f'v{i}, ' for i in range(count))}= values",
        f"    names = {names!r}",
        f"    texts = [{name!r}]",
    ]
    for i, p in enumerate(params):
        v = f"v{i}"
        src.append(f"    if {v} is not None:")
        if p.kind is Kind.PAIR or p.kind is Kind.PAIR_OR_ALL:
            src.append(f"        if type({v}) is not str or {v} not in _seen:")
            src.append(f"            {v} = _c[{i}]({v})")
        elif p.kind is Kind.DECIMAL:
            src.append(
                f"        if type({v}) is not str or not ({v}.isascii() "
                f"and {v}.replace('.', '', 1).isdigit()):"
            )
            src.append(f"            {v} = _c[{i}]({v})")
        elif p.kind is Kind.FLAG:
            src.append(
                f"        {v} = '1' if {v} is True else None if {v} is False else _c[{i}]({v})"
            )
        else:
            src.append(f"        {v} = _c[{i}]({v})")
        if p.required:
            src.append(f"    if {v} is None:")
            src.append(f"        raise _required(_cmd, _p[{i}])")
            if i >= lead:
                src.append(f"    names.append({p.name!r})")
            src.append(f"    texts.append({v})")
        else:
            src.append(f"    if {v} is not None:")
            src.append(f"        names.append({p.name!r})")
            src.append(f"        texts.append({v})")
    if cmd.exclusive or cmd.one_of:
        src.append("    _groups(_cmd, names)")
    src += [
        "    n = len(texts)",
        "    names += texts",
        "    return '\\0'.join(names).encode(), n",
    ]
    exec(compile("\n".join(src), f"<polo_fast check {name}>", "exec"), ns)
    check: Callable[[Sequence[Any]], tuple[bytes, int]] = ns["check"]
    return check


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
