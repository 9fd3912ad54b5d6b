"""The Spot API's argument checks and wire building, driven by the endpoint table.

:func:`build` turns one call (an :class:`~polo_fast.spot.commands.Endpoint` and its
arguments keyed by **wire** name, ``None`` = not given) into a :class:`Call`: the method,
the filled path, the query in the C field layout of
:meth:`polo_fast.spot.signing.Signer._request_writer`, the compact JSON body, the order's
``clientOrderId``. Everything is checked before anything is signed; a refusal is a
:class:`~polo_fast.errors.PoloniexArgumentError` (a bad value) or a
:class:`~polo_fast.errors.PoloniexTypeError` (a wrong type), one line naming the endpoint
and the argument. Each endpoint's check is prepared once, at import, as closures over the
table (no generated code, no ``exec``): the reference the generated builders of
:mod:`polo_fast.spot._builders` (one straight-line function per endpoint, called by the
client's methods) must match byte for byte and refusal for refusal. Values by kind (what
the query and the body carry, and what is refused): :mod:`polo_fast.spot._values`.

``bool`` is never a number, ``None`` is "not given", NaN and infinities are refused, and so
are unknown argument names. Bodies are compact JSON (orjson) with the keys in table order
and every number a string (the API's convention); a call with nothing for its body has no
body (``None``: the writer sends ``Content-Length: 0`` on POST and PUT). Query parameters
stay in table order in :attr:`Call.fields`: the signer and the request writer sort them.

Rules beyond single values (readings of the spec's §3.5, written down here):

- **Orders** (``POST /orders``, each item of ``POST /orders/batch``, ``POST /smartorders``):
  ``type`` defaults to ``MARKET`` (``STOP`` for smart orders); ``price`` is required with
  ``LIMIT``, ``LIMIT_MAKER`` and ``STOP_LIMIT`` and refused with ``MARKET`` and ``STOP``; a
  market BUY (``MARKET``, ``STOP``) is sized by ``amount`` (quote) and takes no
  ``quantity``, every other order by ``quantity`` (base) and takes no ``amount`` (the spec's
  table: "quantity (LIMIT and MARKET SELL)", "amount (MARKET BUY)"; the stand-in refuses the
  other one as 0); ``timeInForce`` other than ``GTC`` only with ``LIMIT`` and
  ``STOP_LIMIT`` (a market order does not rest, a ``LIMIT_MAKER`` is post-only); a smart
  order needs ``stopPrice``. A missing ``clientOrderId`` is filled with
  :func:`new_client_order_id`, in its table place.
- **Batch**: ``{"orders": [...]}``, 1 to :data:`~polo_fast.spot.commands.BATCH_MAX` dicts
  with the API's field names, each checked as ``POST /orders`` (the error names the item),
  each given a ``clientOrderId`` when it has none; one ``clientOrderId`` twice is refused.
- **Cancel-replace** (``PUT /orders/{id}``, ``/smartorders/{id}``): at most one of
  ``quantity`` / ``amount``; no ``price`` with a given market ``type``; no ``clientOrderId``
  is made up (the exchange's handling of a replacement without one is its own):
  :attr:`Call.client_order_id` is the new one when given, else the ``cid:`` addressed.
- **Order references**: an ``{id}`` under ``/orders/`` and ``/smartorders/`` is an order id
  (ASCII digits) or ``cid:<clientOrderId>`` (``GET /orders/{id}/trades``: digits only);
  :func:`order_ref` makes one from ``order_id`` / ``client_order_id``. No path value may be
  empty, ``.`` or ``..`` (``DELETE /orders/`` must never become a cancel-all).
- **Kill switch**: ``timeout`` is -1 (disarm) or 10..600 seconds (the table's bounds, and
  0..9 refused as the exchange does).
- The table's groups: ``one_of`` at most one given, ``any_of`` at least one given.

:func:`raw_call` is the unchecked route of ``Client.request()``: the method, the path and
the parameters' types are checked, the body is sent as given (or dumped compact).
"""

from __future__ import annotations

import base64
import itertools
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, NamedTuple

import orjson

from polo_fast._format import decimal_text, format_value
from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError, SigningError
from polo_fast.spot._values import (
    _DIGITS_ONLY_REFS,
    DECIMAL_MAX_LENGTH,
    Conv,
    _bad,
    _fast,
    _is_cid,
    _label,
    _path_conv,
    _show,
    order_ref,
)
from polo_fast.spot.commands import (
    ALL_ENDPOINTS,
    BATCH_MAX,
    Endpoint,
    Kind,
    Param,
    Where,
    class_for,
)

__all__ = [
    "BATCH_ARG",
    "DECIMAL_MAX_LENGTH",
    "METHODS",
    "Call",
    "Kit",
    "build",
    "kit",
    "new_client_order_id",
    "order_ref",
    "raw_call",
]

#: The argument of ``POST /orders/batch`` that holds the list of orders.
BATCH_ARG: Final = "orders"
#: The HTTP methods :func:`raw_call` sends.
METHODS: Final = ("GET", "POST", "PUT", "DELETE")

_RAW_PATH = re.compile(r"/[\x21\x22\x24-\x3e\x40-\x7e]*").fullmatch
_PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LIMIT"})
_RESTING = frozenset({"LIMIT", "STOP_LIMIT"})
_CREATES = frozenset({"create_order", "create_orders", "create_smart_order"})
_REPLACES = frozenset({"replace_order", "replace_smart_order"})
_REQUIRED: Final = object()
_dumps = orjson.dumps


# ---------------------------------------------------------------- the result


class Call:
    """One checked request, built once per call.

    Attributes:
        endpoint: the table's endpoint (for :func:`raw_call` outside the table, a stand-in
            endpoint named ``request``: signed, weight 20, state-changing unless GET).
        method: ``b"GET"``, ``b"POST"``, ``b"PUT"`` or ``b"DELETE"``.
        path: the filled, percent-encoded path without the query (``b"/orders/cid:abc"``).
        fields: the query parameters in the C field layout: ``n`` names, then their ``n``
            values, NUL-separated, UTF-8 (``b""`` when none); the writer sorts them.
        n: the number of query parameters.
        body: the JSON body exactly as it is signed and sent, or None.
        client_order_id: the ``clientOrderId`` of the one order this call creates,
            replaces or addresses (``cid:`` paths), or None.
        client_order_ids: every ``clientOrderId`` the call creates or addresses (a batch's
            items, a cancel's ``clientOrderIds``), in order.
    """

    __slots__ = (
        "_head",
        "_tail",
        "body",
        "client_order_id",
        "client_order_ids",
        "endpoint",
        "fields",
        "method",
        "n",
        "path",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        method: bytes,
        path: bytes,
        fields: bytes,
        n: int,
        body: bytes | None,
        client_order_id: str | None,
        client_order_ids: tuple[str, ...],
        shown: tuple[tuple[str, Any], ...],
        more: Mapping[str, Any] | None = None,
    ) -> None:
        """Hold the parts (made by :func:`build` and :func:`raw_call`, not by callers);
        ``shown`` and ``more``'s items make :attr:`shown` when it is read."""
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.fields = fields
        self.n = n
        self.body = body
        self.client_order_id = client_order_id
        self.client_order_ids = client_order_ids
        self._head = shown
        self._tail = more

    @property
    def shown(self) -> tuple[tuple[str, Any], ...]:
        """The wire parameters (path ones first), for error messages."""
        if self._tail is None:
            return self._head
        return self._head + tuple(self._tail.items())

    def __repr__(self) -> str:
        return (
            f"<Call {self.endpoint.method} {self.method.decode()} {self.path.decode()}"
            f" n={self.n} body={len(self.body) if self.body is not None else None}"
            f" cid={self.client_order_id!r}>"
        )


# ---------------------------------------------------------------- client order ids


def _fresh_prefix() -> str:
    return base64.urlsafe_b64encode(os.urandom(9)).decode()


_prefix = _fresh_prefix()
_counter = itertools.count(1)


def _after_fork() -> None:
    global _prefix, _counter
    _prefix = _fresh_prefix()
    _counter = itertools.count(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def new_client_order_id() -> str:
    """A fresh ``clientOrderId``: 72 random bits of this process (base64url, 12
    characters, drawn again in a forked child) and a counter in hex, e.g.
    ``"q3Xk_9aZ01bT1f"``: ``[A-Za-z0-9_-]``, at most 28 characters, unique in this process
    and, with overwhelming odds, across processes and restarts."""
    return f"{_prefix}{next(_counter):x}"


# ---------------------------------------------------------------- one endpoint


Rule = Callable[[str, dict[str, Any]], None]


def _order_rule(smart: bool) -> Rule:
    default = "STOP" if smart else "MARKET"
    price, qty, amt, tif, stop = (
        _param("price"),
        _param("quantity"),
        _param("amount"),
        _param("timeInForce"),
        _param("stopPrice"),
    )

    def rule(cmd: str, values: dict[str, Any]) -> None:
        kind = values.get("type", default)
        priced = kind in _PRICED
        if priced != ("price" in values):
            why = f"is required with type {kind}" if priced else f"is not for type {kind}"
            raise _bad(cmd, price, why)
        if not priced and values["side"] == "BUY":
            need, other = amt, qty  # a market BUY spends a quote amount
        else:
            need, other = qty, amt
        what = f"a {kind} {values['side']} order"
        if other.name in values:
            raise _bad(cmd, other, f"is not for {what}: give {_label(need)}")
        if need.name not in values:
            raise _bad(cmd, need, f"is required for {what}")
        if values.get("timeInForce", "GTC") != "GTC" and kind not in _RESTING:
            raise _bad(cmd, tif, f"must be GTC (or left out) for type {kind}")
        if smart and "stopPrice" not in values:
            raise _bad(cmd, stop, "is required for a smart (trigger) order")

    return rule


def _replace_rule(cmd: str, values: dict[str, Any]) -> None:
    if "quantity" in values and "amount" in values:
        raise PoloniexArgumentError(f"{cmd}: give at most one of quantity and amount")
    if "price" in values and values.get("type", "LIMIT") not in _PRICED:
        raise _bad(cmd, _param("price"), f"is not for type {values['type']}")


def _param(name: str) -> Param:
    return next(p for e in ALL_ENDPOINTS for p in e.params if p.name == name)


class _Plan:
    """One endpoint's check and wire building, prepared once from the table."""

    __slots__ = (
        "array",
        "checks",
        "convs",
        "creates",
        "endpoint",
        "fill",
        "groups",
        "item",
        "known",
        "lists",
        "method",
        "name",
        "names",
        "order",
        "path",
        "pieces",
        "query",
        "required",
        "rule",
        "single_cid",
    )

    def __init__(self, ep: Endpoint) -> None:
        cmd = ep.method
        self.endpoint = ep
        self.name = cmd
        self.method = ep.http.encode()
        self.query = ep.http == "GET"
        creates = cmd in _CREATES
        # every order this call makes carries a clientOrderId: a cancel-replace's new one too
        fill = creates or cmd in _REPLACES
        order_paths = ep.path.startswith(("/orders/", "/smartorders/"))
        pieces: list[tuple[str, Conv] | str] = []
        for i, segment in enumerate(re.split(r"\{(\w+)\}", ep.path)):
            if i % 2:
                p = ep.param(segment)
                assert p is not None and p.where is Where.PATH, (cmd, segment)
                pieces.append(
                    (segment, _path_conv(cmd, p, order_paths, cmd not in _DIGITS_ONLY_REFS))
                )
            elif segment:
                pieces.append(segment)
        self.pieces: tuple[tuple[str, Conv] | str, ...] | None = (
            tuple(pieces) if len(pieces) > 1 else None
        )
        self.path = ep.path.encode()
        wire = [p for p in ep.params if p.where is not Where.PATH]
        triples = {p.name: _fast(cmd, p) for p in wire}
        self.convs = {name: fast for name, (fast, _, _) in triples.items()}
        self.checks = {name: full for name, (_, full, _) in triples.items()}
        self.known = {name: known for name, (_, _, known) in triples.items()}
        self.order = tuple(p.name for p in wire)
        self.names = frozenset(p.name for p in ep.params)
        self.required = frozenset(p.name for p in wire if p.required)
        self.lists = any(p.kind is Kind.LIST for p in wire)
        self.groups = bool(ep.one_of or ep.any_of) and not creates  # the order rule is stricter
        self.fill = fill
        self.creates = creates
        smart = ep.path.startswith("/smartorders")
        self.rule: Rule | None = (
            _order_rule(smart) if creates else _replace_rule if cmd in _REPLACES else None
        )
        self.single_cid = fill
        self.array = ep.body_array
        self.item: _Plan | None = None
        if ep.body_array:
            self.names = frozenset((BATCH_ARG,))
            self.item = _Plan(
                Endpoint(cmd, "POST", ep.path, True, True, 0, ep.rate_class, ep.params,
                         ep.doc, ep.one_of, ep.any_of)
            )  # fmt: skip

    # -- the checks --------------------------------------------------------------------------
    def values(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The checked wire values of the query or body, in table order."""
        if self.fill and args.get("clientOrderId") is None:
            args = {**args, "clientOrderId": new_client_order_id()}
        get = args.get
        convs = self.convs
        try:
            out = {k: convs[k](v) for k in self.order if (v := get(k)) is not None}
        except (KeyError, TypeError):  # a value off the fast lookups: the full checks
            convs = self.checks
            out = {k: convs[k](v) for k in self.order if (v := get(k)) is not None}
        if not self.names.issuperset(args) or not self.required.issubset(out):
            self._refuse_names(args)
        if self.lists:  # an empty list is not given
            out = {k: v for k, v in out.items() if v is not None}
        if self.groups:
            self._check_groups(out)
        if self.rule is not None:
            self.rule(self.name, out)
        return out

    def _refuse_names(self, args: Mapping[str, Any]) -> None:
        cmd = self.name
        unknown = sorted(str(k) for k in args if k not in self.names)
        if unknown:
            raise PoloniexArgumentError(
                f"{cmd}: unknown argument {', '.join(map(repr, unknown))} (it takes: "
                f"{', '.join(sorted(self.names)) or 'nothing'}; wire names)"
            )
        p = next(
            p for p in self.endpoint.params if p.name in self.required and args.get(p.name) is None
        )
        raise PoloniexArgumentError(f"{cmd}: {_label(p)} is required")

    def _check_groups(self, out: dict[str, Any]) -> None:
        cmd = self.name
        for group in self.endpoint.one_of:
            if sum(1 for g in group if g in out) > 1:
                raise PoloniexArgumentError(f"{cmd}: give at most one of {', '.join(group)}")
        for group in self.endpoint.any_of:
            if not any(g in out for g in group):
                raise PoloniexArgumentError(
                    f"{cmd}: give at least one of {', '.join(group)} (non-empty)"
                )

    def build(self, args: Mapping[str, Any]) -> Call:
        """See :func:`build`."""
        if type(args) is not dict and not isinstance(args, Mapping):
            raise PoloniexTypeError(
                f"{self.name}: arguments must be a mapping of wire names, not {type(args).__name__}"
            )
        if self.pieces is None:
            path = self.path
            shown: tuple[tuple[str, Any], ...] = ()
            ref = None
        else:
            path, shown, ref = self._path(args)
        if self.array:
            return self._batch(args, path, shown)
        values = self.values(args)  # the path parameters are not among its fields
        cid = values.get("clientOrderId") if self.single_cid else None
        if cid is None and ref is not None:
            cid = ref
        cids = (cid,) if cid is not None else tuple(values.get("clientOrderIds", ()))
        if self.query:
            return Call(
                self.endpoint,
                self.method,
                path,
                "\0".join([*values, *values.values()]).encode() if values else b"",
                len(values),
                None,
                cid,
                cids,
                shown,
                values,
            )
        body = _dumps(values) if values else None
        return Call(self.endpoint, self.method, path, b"", 0, body, cid, cids, shown, values)

    def _path(
        self, args: Mapping[str, Any]
    ) -> tuple[bytes, tuple[tuple[str, Any], ...], str | None]:
        assert self.pieces is not None
        parts: list[str] = []
        shown: list[tuple[str, Any]] = []
        ref = None
        for piece in self.pieces:
            if isinstance(piece, str):
                parts.append(piece)
                continue
            name, conv = piece
            v = args.get(name)
            if v is None:
                p = self.endpoint.param(name)
                assert p is not None
                raise PoloniexArgumentError(f"{self.name}: {_label(p)} is required")
            text = conv(v)
            parts.append(text)
            shown.append((name, text))
            if text.startswith("cid:"):
                ref = text[4:]
        return "".join(parts).encode(), tuple(shown), ref

    def _batch(self, args: Mapping[str, Any], path: bytes, shown: tuple[Any, ...]) -> Call:
        cmd = self.name
        if not self.names.issuperset(args):
            self._refuse_names(args)
        orders = args.get(BATCH_ARG)
        if orders is None:
            raise PoloniexArgumentError(f"{cmd}: {BATCH_ARG} is required")
        if isinstance(orders, (str, bytes, Mapping)) or not isinstance(orders, (list, tuple)):
            raise PoloniexTypeError(
                f"{cmd}: {BATCH_ARG} must be a list of dicts, not {type(orders).__name__}"
            )
        if not 1 <= len(orders) <= BATCH_MAX:
            raise PoloniexArgumentError(
                f"{cmd}: {BATCH_ARG} must hold 1 to {BATCH_MAX} orders, got {len(orders)}"
            )
        item = self.item
        assert item is not None
        items: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for i, order in enumerate(orders):
            if not isinstance(order, Mapping):
                raise PoloniexTypeError(
                    f"{cmd}: order {i} must be a dict of the API's field names, "
                    f"not {type(order).__name__}"
                )
            try:
                values = item.values(order)
            except (PoloniexArgumentError, PoloniexTypeError) as exc:
                text = str(exc).replace(f"{cmd}: ", f"{cmd}: order {i}: ", 1)
                raise type(exc)(text) from None
            cid = values["clientOrderId"]
            if cid in seen:
                raise PoloniexArgumentError(
                    f"{cmd}: orders {seen[cid]} and {i} have the same clientOrderId {cid!r}"
                )
            seen[cid] = i
            items.append(values)
        cids = tuple(seen)
        shown += ((BATCH_ARG, len(items)), ("clientOrderIds", cids))
        return Call(self.endpoint, self.method, path, b"", 0, _dumps(items), None, cids, shown)


_PLANS: dict[str, _Plan] = {e.method: _Plan(e) for e in ALL_ENDPOINTS}


class Kit(NamedTuple):
    """What one generated builder of :mod:`polo_fast.spot._builders` is made of: the pieces
    of the endpoint's table-driven plan, so a value is refused where and as :func:`build`
    refuses it (:func:`kit` makes one)."""

    #: The table's endpoint.
    endpoint: Endpoint
    #: One converter per table parameter, in table order: a path parameter's checks and
    #: percent-encoding, every other one's full check (which remembers accepted STR values).
    convert: tuple[Conv, ...]
    #: Per table parameter: the values accepted as they are (a str ENUM's choices, the STR
    #: values accepted before), or None.
    known: tuple[Mapping[Any, str] | None, ...]
    #: The "is required" error of parameter ``i``.
    required: Callable[[int], PoloniexArgumentError]
    #: Raises when the wire values break a ``one_of`` / ``any_of`` group.
    groups: Callable[[dict[str, Any]], None]
    #: Raises when the wire values break the endpoint's order or replace rule.
    rule: Callable[[dict[str, Any]], None]
    #: The table-driven :func:`build` of the endpoint (the batch's builder hands over to it).
    build: Callable[[Mapping[str, Any]], Call]


def _no_rule(values: dict[str, Any]) -> None:
    """The rule of an endpoint without one."""


def kit(endpoint: Endpoint) -> Kit:
    """The :class:`Kit` of a table endpoint, from its prepared plan."""
    plan = _PLANS[endpoint.method]
    assert plan.endpoint is endpoint, endpoint.method
    cmd = plan.name
    paths = {piece[0]: piece[1] for piece in plan.pieces or () if not isinstance(piece, str)}
    params = endpoint.params
    rule = plan.rule

    def required(i: int) -> PoloniexArgumentError:
        return PoloniexArgumentError(f"{cmd}: {_label(params[i])} is required")

    return Kit(
        endpoint,
        tuple(paths[p.name] if p.where is Where.PATH else plan.checks[p.name] for p in params),
        tuple(None if p.where is Where.PATH else plan.known[p.name] for p in params),
        required,
        plan._check_groups,
        _no_rule if rule is None else lambda values: rule(cmd, values),
        plan.build,
    )


def build(endpoint: Endpoint, args: Mapping[str, Any]) -> Call:
    """Check ``args`` for ``endpoint`` and build the request's parts (module docstring).

    Parameters:
        endpoint: an endpoint of :data:`~polo_fast.spot.commands.ALL_ENDPOINTS` (another
            one is prepared on the fly).
        args: the arguments keyed by wire name (``"timeInForce"``); None = not given. For
            ``POST /orders/batch``: ``{"orders": [order, ...]}``.

    Returns:
        The :class:`Call`, ready for the signer's request writer.

    Raises:
        PoloniexArgumentError: a missing, unknown, malformed or out-of-range value, or a
            combination the rules refuse.
        PoloniexTypeError: a value of the wrong type.
    """
    plan = _PLANS.get(endpoint.method)
    if plan is None or plan.endpoint is not endpoint:
        plan = _Plan(endpoint)
    return plan.build(args)


# ---------------------------------------------------------------- the unchecked route


def _router() -> dict[str, list[tuple[Callable[[str], Any], int, Endpoint]]]:
    routes: dict[str, list[tuple[Callable[[str], Any], int, Endpoint]]] = {}
    for ep in ALL_ENDPOINTS:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(ep.path))
        routes.setdefault(ep.http, []).append(
            (re.compile(pattern).fullmatch, ep.path.count("{"), ep)
        )
    for options in routes.values():
        options.sort(key=lambda r: r[1])  # literal segments before {params}
    return routes


_ROUTES = _router()


def _endpoint_of(method: str, path: str) -> Endpoint:
    for match, _, ep in _ROUTES.get(method, ()):
        if match(path):
            return ep
    weight = 20
    return Endpoint(
        "request",
        method,
        path,
        True,
        method != "GET",
        weight,
        class_for(weight, True),
        (),
        "An endpoint outside the table, sent as given.",
    )


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return decimal_text("body", v)
    if isinstance(v, (tuple, set, frozenset)):
        return list(v)
    raise TypeError


def raw_call(
    method: str, path: str, params: Mapping[str, Any] | None = None, body: Any | None = None
) -> Call:
    """A :class:`Call` for ``Client.request()``: anything, signed, checked only for form.

    Parameters:
        method: ``"GET"``, ``"POST"``, ``"PUT"`` or ``"DELETE"`` (any letter case).
        path: the path, percent-encoded, without host and query (``"/orders/cid:x"``).
        params: query parameters, name -> ``str``/``int``/``Decimal``/``float``/``bool``
            (``None`` values left out), formatted as :mod:`polo_fast._format` writes them
            (``bool`` as ``true``/``false``); not with a body.
        body: ``bytes`` or ``str``, sent exactly as given; anything else is dumped as
            compact JSON (orjson; a ``Decimal`` as a plain decimal string). Not with GET.
            An empty body is no body.

    Returns:
        The Call, its endpoint the table's for a known route (rate class, state) or a
        stand-in one named ``request``.

    Raises:
        PoloniexArgumentError: an unknown method, a malformed path, a parameter refused,
            a body with GET or with params.
        PoloniexTypeError: an argument of the wrong type, a body orjson cannot dump.
    """
    if not isinstance(method, str) or not isinstance(path, str):
        raise PoloniexTypeError("request: method and path must be str")
    http = method.upper()
    if http not in METHODS:
        raise PoloniexArgumentError(f"request: method must be one of {', '.join(METHODS)}")
    if not _RAW_PATH(path):
        raise PoloniexArgumentError(
            f"request: path must start with '/' and hold only visible ASCII without '?' and '#' "
            f"(percent-encode the rest; pass the query as params), got {_show.repr(path)}"
        )
    names: list[str] = []
    texts: list[str] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if not isinstance(name, str) or not name or not name.isprintable():
            raise PoloniexArgumentError(f"request: bad parameter name {_show.repr(name)}")
        if name == "signTimestamp":
            raise PoloniexArgumentError("request: signTimestamp is added by the client")
        try:
            text = (
                ("true" if value else "false")
                if isinstance(value, bool)
                else (format_value(name, value))
            )
        except SigningError as exc:
            cls = PoloniexTypeError if isinstance(exc, TypeError) else PoloniexArgumentError
            raise cls(f"request: {exc}") from None
        if "\0" in text:
            raise PoloniexArgumentError(f"request: parameter {name!r} holds a NUL")
        names.append(name)
        texts.append(text)
    data: bytes | None
    if body is None:
        data = None
    elif isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    elif isinstance(body, str):
        try:
            data = body.encode()
        except UnicodeEncodeError:
            raise PoloniexArgumentError("request: body is not encodable as UTF-8") from None
    else:
        try:
            data = _dumps(body, default=_json_default)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise PoloniexTypeError(f"request: body cannot be dumped as JSON ({exc})") from None
    if not data:
        data = None
    if data is not None and (http == "GET" or names):
        raise PoloniexArgumentError(
            "request: a body goes with POST, PUT or DELETE and without params "
            "(put the parameters in the body)"
        )
    cid: str | None = None
    for prefix in ("/orders/cid:", "/smartorders/cid:"):
        if path.startswith(prefix) and _is_cid(path[len(prefix) :]):
            cid = path[len(prefix) :]
    if isinstance(body, Mapping) and isinstance(body.get("clientOrderId"), str):
        cid = body["clientOrderId"]
    n = len(names)
    try:
        fields = "\0".join(names + texts).encode() if n else b""
    except UnicodeEncodeError:
        raise PoloniexArgumentError("request: a parameter is not encodable as UTF-8") from None
    return Call(
        _endpoint_of(http, path),
        http.encode(),
        path.encode(),
        fields,
        n,
        data,
        cid,
        (cid,) if cid is not None else (),
        tuple(zip(names, texts, strict=True)),
    )
