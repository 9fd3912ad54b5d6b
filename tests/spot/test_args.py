"""The Spot argument checks and wire building (``polo_fast.spot._args``): what is refused
before signing, the exact bytes of paths, queries and bodies, and client order ids."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polo_fast.errors import PoloniexArgumentError, PoloniexTypeError
from polo_fast.spot import _args, _builders, _values
from polo_fast.spot._args import BATCH_ARG, Call, build, new_client_order_id, order_ref, raw_call
from polo_fast.spot.commands import ALL_ENDPOINTS, BATCH_MAX, Endpoint, Kind, Param, Where, get
from polo_fast.testing.spot._routes import Router, parse, parse_batch

CREATE = get("create_order")
BATCH = get("create_orders")
SMART = get("create_smart_order")
CID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def limit(**more: Any) -> dict[str, Any]:
    """A valid LIMIT BUY, wire-named; ``more`` overrides."""
    base: dict[str, Any] = {
        "symbol": "BTC_USDT",
        "side": "BUY",
        "type": "LIMIT",
        "price": "30000.5",
        "quantity": "0.01",
        "clientOrderId": "abc-1",
    }
    base.update(more)
    return base


def refused(endpoint: Endpoint, args: Mapping[str, Any], words: str) -> None:
    """``build`` refuses with a ValueError-kind error whose text holds ``words``."""
    with pytest.raises(PoloniexArgumentError) as info:
        build(endpoint, args)
    assert words in str(info.value), str(info.value)
    assert str(info.value).startswith(endpoint.method + ":")


def wrong_type(endpoint: Endpoint, args: Mapping[str, Any], words: str) -> None:
    with pytest.raises(PoloniexTypeError) as info:
        build(endpoint, args)
    assert words in str(info.value), str(info.value)


# ---------------------------------------------------------------- exact bytes


def test_create_order_body_is_compact_in_table_order_with_numbers_as_strings() -> None:
    args = limit(price=Decimal("30000.50"), quantity=0.01, timeInForce="ioc", side="buy")
    args = {k: args[k] for k in reversed(list(args))}  # the caller's order does not matter
    call = build(CREATE, args)
    assert call.method == b"POST" and call.path == b"/orders"
    assert call.body == (
        b'{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"30000.50",'
        b'"quantity":"0.01","timeInForce":"IOC","clientOrderId":"abc-1"}'
    )
    assert (call.fields, call.n) == (b"", 0)
    assert call.client_order_id == "abc-1" and call.client_order_ids == ("abc-1",)
    assert call.shown[0] == ("symbol", "BTC_USDT") and ("price", "30000.50") in call.shown
    assert call.endpoint is CREATE


def test_market_buy_spends_amount_and_gets_a_client_order_id_in_its_table_place() -> None:
    call = build(CREATE, {"symbol": "BTC_USDT", "side": "BUY", "amount": 10, "stpMode": "NONE"})
    body = orjson.loads(call.body or b"")
    assert list(body) == ["symbol", "side", "amount", "clientOrderId", "stpMode"]
    assert body["amount"] == "10"
    assert CID.fullmatch(body["clientOrderId"]) and body["clientOrderId"] == call.client_order_id


def test_decimals_go_out_plain() -> None:
    cases = {
        Decimal("1E-8"): "0.00000001",
        Decimal("1E+3"): "1000",
        Decimal("0.10"): "0.10",
        1e-8: "0.00000001",
        0.1: "0.1",
        1e16: "10000000000000000",
        12: "12",
        "5.": "5.",
        ".5": ".5",
    }
    for value, text in cases.items():
        body = orjson.loads(build(CREATE, limit(price=value)).body or b"")
        assert body["price"] == text, value


def test_get_query_is_the_c_field_layout_in_table_order() -> None:
    call = build(get("order_book"), {"symbol": "BTC_USDT", "limit": 10, "scale": "0.01"})
    assert (call.method, call.path) == (b"GET", b"/markets/BTC_USDT/orderBook")
    assert (call.fields, call.n, call.body) == (b"scale\x00limit\x000.01\x0010", 2, None)
    trades = build(get("trades"), {"symbols": ("BTC_USDT", "ETH_USDT"), "limit": "5", "from": 12})
    assert trades.fields == b"limit\x00from\x00symbols\x005\x0012\x00BTC_USDT,ETH_USDT"
    assert trades.n == 3
    history = build(get("order_history"), {"hideCancel": True, "states": ["filled"]})
    assert history.fields == b"states\x00hideCancel\x00FILLED\x00true"
    plain = build(get("balances"), {})
    assert (plain.fields, plain.n, plain.body, plain.path) == (b"", 0, None, b"/accounts/balances")


def test_paths_are_filled_and_percent_encoded() -> None:
    assert build(get("get_order"), {"id": "cid:abc_1-X"}).path == b"/orders/cid:abc_1-X"
    assert build(get("get_order"), {"id": 123}).path == b"/orders/123"
    market = build(get("market"), {"symbol": "索拉拉_USDT"})
    assert market.path == b"/markets/%E7%B4%A2%E6%8B%89%E6%8B%89_USDT"
    assert unquote(market.path.decode()) == "/markets/索拉拉_USDT"
    odd = build(get("account_balances"), {"id": "a b/c?d#e%"})
    assert odd.path == b"/accounts/a%20b%2Fc%3Fd%23e%25/balances"


def test_order_addressed_by_cid_carries_it() -> None:
    call = build(get("cancel_order"), {"id": order_ref("cancel_order", None, "my-id")})
    assert (call.method, call.path, call.body) == (b"DELETE", b"/orders/cid:my-id", None)
    assert call.client_order_id == "my-id"
    assert build(get("get_order"), {"id": "42"}).client_order_id is None


def test_bodyless_state_changes_have_no_body() -> None:
    call = build(get("cancel_all_orders"), {"symbols": []})
    assert (call.method, call.path, call.body) == (b"DELETE", b"/orders", None)
    all_of = build(get("cancel_all_orders"), {"symbols": ["BTC_USDT"], "accountTypes": ["spot"]})
    assert all_of.body == b'{"symbols":["BTC_USDT"],"accountTypes":["SPOT"]}'


def test_kill_switch_and_cancel_by_ids_bodies() -> None:
    assert build(get("kill_switch"), {"timeout": 30}).body == b'{"timeout":"30"}'
    assert build(get("kill_switch"), {"timeout": -1}).body == b'{"timeout":"-1"}'
    call = build(get("cancel_orders"), {"orderIds": ("1", "2"), "clientOrderIds": ()})
    assert call.body == b'{"orderIds":["1","2"]}'
    by_cid = build(get("cancel_orders"), {"clientOrderIds": ["a", "b"]})
    assert by_cid.client_order_ids == ("a", "b") and by_cid.client_order_id is None


def test_batch_body_is_an_array_each_item_checked_and_given_a_cid() -> None:
    orders = [
        {"symbol": "BTC_USDT", "side": "sell", "quantity": Decimal("1.5")},
        limit(clientOrderId="mine"),
    ]
    call = build(BATCH, {"orders": orders})
    items = orjson.loads(call.body or b"")
    assert call.path == b"/orders/batch" and isinstance(items, list) and len(items) == 2
    assert items[0]["side"] == "SELL" and items[0]["quantity"] == "1.5"
    assert CID.fullmatch(items[0]["clientOrderId"])
    assert items[1]["clientOrderId"] == "mine"
    assert call.client_order_ids == (items[0]["clientOrderId"], "mine")
    assert call.client_order_id is None
    assert "clientOrderId" not in orders[0]  # the caller's dicts are not changed
    assert call.body == orjson.dumps(items)


def test_a_replacement_order_always_carries_a_new_cid() -> None:
    """The order a cancel-replace makes gets a clientOrderId like any new order (the caller's,
    else a made-up one), so a lost answer can be settled by looking that order up."""
    for name, path in (("replace_order", b"/orders/cid:old"), ("replace_smart_order", None)):
        replace = get(name)
        new = build(replace, {"id": "cid:old", "clientOrderId": "new", "price": "2"})
        assert new.method == b"PUT" and (path is None or new.path == path)
        assert orjson.loads(new.body or b"")["clientOrderId"] == "new"
        assert new.client_order_id == "new" and new.client_order_ids == ("new",)
        made = build(replace, {"id": "cid:old", "price": "2"})
        cid = orjson.loads(made.body or b"")["clientOrderId"]
        assert CID.fullmatch(cid) and cid != "old"
        assert made.client_order_id == cid
        bare = build(replace, {"id": "7"})
        assert orjson.loads(bare.body or b"") == {"clientOrderId": bare.client_order_id}


# ---------------------------------------------------------------- refusals (the list)


def test_unknown_side_and_type() -> None:
    refused(CREATE, limit(side="HOLD"), "side must be one of 'BUY', 'SELL', got 'HOLD'")
    refused(CREATE, limit(type="STOP"), "type must be one of 'MARKET', 'LIMIT', 'LIMIT_MAKER'")
    wrong_type(CREATE, limit(side=1.5), "side must be one of")
    wrong_type(CREATE, limit(side=["BUY"]), "side must be one of")  # unhashable
    wrong_type(CREATE, limit(symbol=["BTC_USDT"]), "symbol must be a str")
    for _ in range(2):  # a known symbol (the fast lookup) and the full check word alike
        refused(CREATE, limit(symbol="BTC USDT\n"), "non-empty printable")
        assert build(CREATE, limit(symbol="ETH_USDT")).body is not None


def test_price_goes_with_limit_types_only() -> None:
    refused(CREATE, limit(type="MARKET", amount="5", quantity=None), "price is not for type")
    refused(CREATE, {"symbol": "BTC_USDT", "side": "SELL", "price": "1", "quantity": 1}, "price")
    refused(CREATE, limit(price=None), "price is required with type LIMIT")
    refused(CREATE, limit(type="LIMIT_MAKER", price=None), "price is required")
    refused(SMART, {"symbol": "BTC_USDT", "side": "BUY", "price": "1", "amount": "1",
                    "stopPrice": "2"}, "price is not for type STOP")  # fmt: skip


def test_quantity_or_amount_as_the_spec_says() -> None:
    refused(CREATE, limit(amount="5"), "amount is not for a LIMIT BUY order: give quantity")
    refused(CREATE, limit(quantity=None), "quantity is required for a LIMIT BUY order")
    market_buy = {"symbol": "BTC_USDT", "side": "BUY"}
    refused(CREATE, {**market_buy, "quantity": "1"}, "quantity is not for a MARKET BUY order")
    refused(CREATE, market_buy, "amount is required for a MARKET BUY order")
    refused(CREATE, {**market_buy, "quantity": "1", "amount": "2"}, "is not for a MARKET BUY")
    market_sell = {"symbol": "BTC_USDT", "side": "SELL"}
    refused(CREATE, {**market_sell, "amount": "1"}, "amount is not for a MARKET SELL order")
    assert build(CREATE, {**market_sell, "quantity": "1"}).body is not None


def test_time_in_force_only_where_it_means_something() -> None:
    market = {"symbol": "BTC_USDT", "side": "SELL", "quantity": "1"}
    refused(CREATE, {**market, "timeInForce": "IOC"}, "time_in_force (timeInForce) must be GTC")
    refused(CREATE, limit(type="LIMIT_MAKER", timeInForce="FOK"), "must be GTC")
    assert build(CREATE, {**market, "timeInForce": "GTC"}).body is not None
    assert build(CREATE, limit(timeInForce="FOK")).body is not None


def test_smart_order_needs_a_stop_price() -> None:
    args = {"symbol": "BTC_USDT", "side": "SELL", "type": "STOP_LIMIT", "price": "1",
            "quantity": "1"}  # fmt: skip
    refused(SMART, args, "stop_price (stopPrice) is required")
    body = orjson.loads(build(SMART, {**args, "stopPrice": "1.1"}).body or b"")
    assert body["stopPrice"] == "1.1" and CID.fullmatch(body["clientOrderId"])


@pytest.mark.parametrize(
    "cid", ["", "has space", "x" * 65, "ü", "a:b", "a\x00b", "tab\t", "é" * 3, "a.b"]
)
def test_bad_client_order_ids(cid: str) -> None:
    with pytest.raises(PoloniexArgumentError, match="clientOrderId"):
        build(CREATE, limit(clientOrderId=cid))
    with pytest.raises(PoloniexArgumentError):
        order_ref("get_order", None, cid)
    with pytest.raises(PoloniexArgumentError):
        build(get("get_order"), {"id": "cid:" + cid})


def test_client_order_id_of_64_characters_is_fine() -> None:
    cid = "A-z_9" * 12 + "abcd"
    assert build(CREATE, limit(clientOrderId=cid)).client_order_id == cid


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
    ],
)
def test_nan_and_infinities_are_refused(value: Any) -> None:
    refused(CREATE, limit(price=value), "must be a finite number")


@pytest.mark.parametrize("value", [True, False, b"1", [1], {"a": 1}, object()])
def test_bool_and_other_types_are_not_numbers(value: Any) -> None:
    wrong_type(CREATE, limit(price=value), "price must be a Decimal, int, float or decimal str")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "must be above 0"),
        ("0.000", "must be above 0"),
        (0, "must be above 0"),
        (-1, "must be above 0"),
        (-0.0, "must be above 0"),
        (Decimal("-0"), "must be above 0"),
        (Decimal("-1.5"), "must be above 0"),
        ("-1", "plain decimal digits"),
        ("1e5", "plain decimal digits"),
        (" 1", "plain decimal digits"),
        ("1_000", "plain decimal digits"),
        ("١٢", "plain decimal digits"),
        (".", "plain decimal digits"),
        ("", "plain decimal digits"),
        ("1" * 41, "plain decimal digits"),
        (Decimal("1E-50"), "at most 40"),
        (Decimal("1E+50"), "at most 40"),
        (10**41, "at most 40"),
        (1e-45, "at most 40"),
        (1e300, "at most 40"),
    ],
)
def test_decimal_refusals(value: Any, words: str) -> None:
    refused(CREATE, limit(price=value), words)


def test_none_means_not_given_and_required_ones_are_required() -> None:
    refused(CREATE, limit(symbol=None), "symbol is required")
    refused(CREATE, {"side": "BUY", "amount": "1"}, "symbol is required")
    refused(get("kill_switch"), {}, "timeout is required")
    refused(get("get_order"), {"id": None}, "id is required")
    refused(get("wallet_activity"), {"start": 1}, "end is required")


def test_unknown_arguments_are_refused() -> None:
    refused(CREATE, limit(timeinforce="GTC"), "unknown argument 'timeinforce'")
    refused(get("balances"), {"symbol": "BTC_USDT"}, "unknown argument 'symbol'")
    refused(BATCH, {"orders": [limit()], "symbol": "x"}, "unknown argument 'symbol'")
    refused(BATCH, {"orders": [limit(foo=1)]}, "order 0: unknown argument 'foo'")


def test_batch_refusals() -> None:
    fresh = [limit(clientOrderId=None)]
    refused(BATCH, {"orders": fresh * (BATCH_MAX + 1)}, "1 to 20 orders, got 21")
    refused(BATCH, {"orders": []}, "1 to 20 orders, got 0")
    refused(BATCH, {}, "orders is required")
    refused(BATCH, {"orders": [limit(), limit()]}, "orders 0 and 1 have the same clientOrderId")
    refused(BATCH, {"orders": [limit(clientOrderId=None), limit(side="X")]}, "order 1: side")
    wrong_type(BATCH, {"orders": limit()}, "orders must be a list of dicts")
    wrong_type(BATCH, {"orders": ["x"]}, "order 0 must be a dict")
    twenty = build(BATCH, {"orders": fresh * BATCH_MAX}).body or b""
    assert len({item["clientOrderId"] for item in orjson.loads(twenty)}) == BATCH_MAX


def test_cancel_by_ids_needs_one_list_and_kill_switch_its_bounds() -> None:
    cancel = get("cancel_orders")
    refused(cancel, {}, "give at least one of orderIds, clientOrderIds")
    refused(cancel, {"orderIds": [], "clientOrderIds": ()}, "give at least one of")
    refused(cancel, {"clientOrderIds": ["bad id"]}, "(clientOrderIds) must match")
    refused(cancel, {"orderIds": [""]}, "non-empty printable")
    wrong_type(cancel, {"orderIds": "123"}, "a list or tuple of str")
    wrong_type(cancel, {"orderIds": [1.5]}, "must be a str")
    assert build(cancel, {"orderIds": [123]}).body == b'{"orderIds":["123"]}'  # ids as ints too
    kill = get("kill_switch")
    for bad in (0, 5, 9):
        refused(kill, {"timeout": bad}, "must be -1 (disarm) or 10 to 600 seconds")
    refused(kill, {"timeout": 601}, "at most 600")
    refused(kill, {"timeout": -2}, "at least -1")
    refused(kill, {"timeout": "ten"}, "must be an integer")
    wrong_type(kill, {"timeout": True}, "must be an int")
    wrong_type(kill, {"timeout": 30.0}, "must be an int")
    assert build(kill, {"timeout": "600"}).body == b'{"timeout":"600"}'


def test_value_kinds_refuse_the_wrong_things() -> None:
    book = get("order_book")
    refused(book, {"symbol": "BTC_USDT", "limit": 7}, "limit must be one of 5, 10, 20")
    wrong_type(book, {"symbol": "BTC_USDT", "limit": True}, "limit must be one of")
    assert build(book, {"symbol": "BTC_USDT", "limit": "20"}).fields == b"limit\x0020"
    refused(book, {"symbol": ""}, "non-empty printable")
    refused(book, {"symbol": "."}, "a path step")
    refused(book, {"symbol": ".."}, "a path step")
    refused(book, {"symbol": "BTC\nUSDT"}, "non-empty printable")
    wrong_type(book, {"symbol": b"BTC_USDT"}, "symbol must be a str")
    history = get("order_history")
    wrong_type(history, {"hideCancel": "true"}, "hide_cancel (hideCancel) must be True or False")
    refused(history, {"states": ["NEW"]}, "states must be one of")
    refused(history, {"limit": 101}, "at most 100")
    refused(get("trades"), {"symbols": ["A,B"]}, "must not hold ','")
    refused(get("order_trades"), {"id": "cid:abc"}, "must be an order id (digits)")
    cancel = get("cancel_order")
    for empty in ("", order_ref("cancel_order", "", None), "..", "cid:", " 1"):
        with pytest.raises(PoloniexArgumentError):  # never DELETE /orders/ (cancel-all's path)
            build(cancel, {"id": empty})
    refused(get("get_order"), {"id": "abc"}, "an order id (digits) or cid:<clientOrderId>")
    refused(get("open_orders"), {"from": "1" * 20}, "must be an integer")
    wrong_type(CREATE, 42, "arguments must be a mapping")  # type: ignore[arg-type]


def test_order_ref() -> None:
    assert order_ref("get_order", 12, None) == "12"
    assert order_ref("get_order", "12", None) == "12"
    assert order_ref("get_order", None, "x_1") == "cid:x_1"
    with pytest.raises(PoloniexArgumentError, match="exactly one of order_id and client_order_id"):
        order_ref("get_order", None, None)
    with pytest.raises(PoloniexArgumentError, match="exactly one"):
        order_ref("cancel_order", "1", "x")
    with pytest.raises(PoloniexTypeError):
        order_ref("get_order", None, 5)  # type: ignore[arg-type]
    with pytest.raises(PoloniexTypeError):
        order_ref("get_order", True, None)


# ---------------------------------------------------------------- every endpoint


def _sample(ep: Endpoint, p: Param) -> Any:
    """A valid value of ``p`` (its minimal required one)."""
    if p.where is Where.PATH:
        if p.name == "symbol":
            return "BTC_USDT"
        if p.name == "currency":
            return "BTC"
        return "123"
    if p.kind is Kind.DECIMAL:
        return Decimal("1.5")
    if p.kind is Kind.INT:
        return p.minimum if p.minimum is not None and p.minimum > 0 else 30
    if p.kind is Kind.BOOL:
        return True
    if p.kind is Kind.ENUM:
        return (p.choices or ("x",))[0]
    if p.kind is Kind.LIST:
        return [str((p.choices or ("BTC_USDT",))[0])]
    return "BTC_USDT" if p.name == "symbol" else "BTC"


_EXTRA: dict[str, dict[str, Any]] = {
    "create_order": {"amount": "10"},
    "create_smart_order": {"amount": "10", "stopPrice": "2"},
    "cancel_orders": {"orderIds": ["1"]},
    "cancel_smart_orders": {"clientOrderIds": ["c1"]},
}


def required_args(ep: Endpoint) -> dict[str, Any]:
    if ep.body_array:
        return {"orders": [{"symbol": "BTC_USDT", "side": "SELL", "quantity": "1"}]}
    args = {p.name: _sample(ep, p) for p in ep.params if p.required}
    args.update(_EXTRA.get(ep.method, {}))
    return args


def all_args(ep: Endpoint) -> dict[str, Any]:
    """Every parameter given, where the rules allow it."""
    if ep.body_array:
        return required_args(ep)
    args = {p.name: _sample(ep, p) for p in ep.params}
    if ep.method in ("create_order", "create_orders", "create_smart_order"):
        args.update(type="LIMIT" if ep.method != "create_smart_order" else "STOP_LIMIT")
        args.pop("amount")
    if ep.method in ("replace_order", "replace_smart_order"):
        args.update(type="LIMIT" if ep.method == "replace_order" else "STOP_LIMIT")
        args.pop("amount")
    return args


def standin_reads(ep: Endpoint, call: Call) -> Any:
    """What the stand-in's own parser makes of the built request (it raises on a refusal)."""
    match = Router(ALL_ENDPOINTS).match(ep.http, unquote(call.path.decode()))
    assert match is not None and match[0] is ep, (ep.method, call.path)
    parts = call.fields.split(b"\0") if call.n else []
    query = [
        (k.decode(), v.decode()) for k, v in zip(parts[: call.n], parts[call.n :], strict=True)
    ]
    body = orjson.loads(call.body) if call.body is not None else None
    if ep.body_array:
        return parse_batch(ep, body)
    return parse(ep, match[1], query, body)


@pytest.mark.parametrize("ep", ALL_ENDPOINTS, ids=lambda e: e.method)
def test_every_endpoint_builds_and_the_standin_accepts_it(ep: Endpoint) -> None:
    for args in (required_args(ep), all_args(ep)):
        call = build(ep, args)
        assert call.method == ep.http.encode() and call.endpoint is ep
        assert b"{" not in call.path
        if ep.http == "GET":
            assert call.body is None
        else:
            assert call.n == 0
        read = standin_reads(ep, call)
        if not ep.body_array:
            for name, value in args.items():
                p = ep.param(name)
                assert p is not None and name in read, (ep.method, name)
                if p.kind is Kind.DECIMAL:
                    assert read[name] == Decimal(str(value))


def test_a_copy_of_an_endpoint_is_prepared_on_the_fly() -> None:
    twin = Endpoint(*(getattr(CREATE, f) for f in (
        "method", "http", "path", "signed", "changes_state", "weight", "rate_class", "params",
        "doc", "one_of", "any_of")))  # fmt: skip
    assert twin is not CREATE
    assert build(twin, limit()).body == build(CREATE, limit()).body


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(
        min_value=Decimal("1e-12"), max_value=Decimal("1e20"), allow_nan=False, places=None
    ).filter(lambda d: d > 0 and len(format(d, "f")) <= 40)
)
def test_any_positive_decimal_goes_out_plain_and_exact(value: Decimal) -> None:
    text = orjson.loads(build(CREATE, limit(quantity=value)).body or b"")["quantity"]
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", text), text
    assert Decimal(text) == value


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-12, max_value=1e20, allow_nan=False, allow_infinity=False))
def test_any_positive_float_goes_out_plain_and_exact(value: float) -> None:
    text = orjson.loads(build(CREATE, limit(price=value)).body or b"")["price"]
    assert "e" not in text.lower() and float(text) == value


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda s: s not in (".", "..")))
def test_any_printable_path_value_round_trips(value: str) -> None:
    if not value.isprintable():
        with pytest.raises(PoloniexArgumentError):
            build(get("account_balances"), {"id": value})
        return
    path = build(get("account_balances"), {"id": value}).path.decode()
    assert re.fullmatch(r"/accounts/[A-Za-z0-9._~:%-]+/balances", path), path
    assert unquote(path[len("/accounts/") : -len("/balances")]) == value


# ---------------------------------------------------------------- client order ids


def test_client_order_ids_are_short_valid_and_unique() -> None:
    ids = [new_client_order_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(CID.fullmatch(i) and len(i) <= 32 for i in ids)


def test_client_order_ids_differ_across_processes_and_forks() -> None:
    code = "from polo_fast.spot._args import new_client_order_id as n; print(n())"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(runs) == 2
    mine = new_client_order_id()
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+: fork of a threaded process; the child only writes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: its next id must not be the parent's next one
        try:
            os.write(write, new_client_order_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    parent = new_client_order_id()
    assert CID.fullmatch(child) and child != parent
    assert child[:12] != mine[:12] == parent[:12]


# ---------------------------------------------------------------- raw_call


def test_raw_call_sends_what_it_is_given() -> None:
    call = raw_call("post", "/orders", None, {"symbol": "BTC_USDT", "price": Decimal("1E-8"),
                                              "clientOrderId": "raw1", "n": 1.5})  # fmt: skip
    assert call.method == b"POST" and call.endpoint is CREATE
    assert call.body == b'{"symbol":"BTC_USDT","price":"0.00000001","clientOrderId":"raw1","n":1.5}'
    assert call.client_order_id == "raw1"
    spaced = raw_call("POST", "/orders", None, '{"a": 1}')
    assert spaced.body == b'{"a": 1}'
    assert raw_call("PUT", "/x", None, b"[1]").body == b"[1]"
    assert raw_call("POST", "/x", None, b"").body is None
    got = raw_call("GET", "/orders/cid:ab", {"symbol": "BTC_USDT", "x": None, "b": True}, None)
    assert (got.fields, got.n) == (b"symbol\x00b\x00BTC_USDT\x00true", 2)
    assert got.endpoint is get("get_order") and got.client_order_id == "ab"
    assert raw_call("GET", "/orders/history", None, None).endpoint is get("order_history")
    other = raw_call("DELETE", "/v9/new", {"q": Decimal("1E+2")}, None)
    assert other.endpoint.method == "request" and other.endpoint.changes_state
    assert other.fields == b"q\x00100"


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "error"),
    [
        ("PATCH", "/orders", None, None, PoloniexArgumentError),
        ("GET", "orders", None, None, PoloniexArgumentError),
        ("GET", "/orders?x=1", None, None, PoloniexArgumentError),
        ("GET", "/a b", None, None, PoloniexArgumentError),
        ("GET", "/a\x00", None, None, PoloniexArgumentError),
        ("GET", "/é", None, None, PoloniexArgumentError),
        ("GET", "/x#y", None, None, PoloniexArgumentError),
        ("GET", "/x", None, {"a": 1}, PoloniexArgumentError),
        ("POST", "/x", {"a": 1}, {"a": 1}, PoloniexArgumentError),
        ("GET", "/x", {"a": math.nan}, None, PoloniexArgumentError),
        ("GET", "/x", {"a": [1]}, None, PoloniexTypeError),
        ("GET", "/x", {"signTimestamp": 1}, None, PoloniexArgumentError),
        ("GET", "/x", {"a": "b\x00"}, None, PoloniexArgumentError),
        ("GET", "/x", {"a": "\udc80"}, None, PoloniexArgumentError),
        ("POST", "/x", None, {"a": object()}, PoloniexTypeError),
        ("POST", "/x", None, "\ud800", PoloniexArgumentError),
        (b"GET", "/x", None, None, PoloniexTypeError),
    ],
)
def test_raw_call_refusals(
    method: Any, path: str, params: Any, body: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        raw_call(method, path, params, body)


def test_call_repr_shows_no_body() -> None:
    call = build(CREATE, limit())
    assert "30000.5" not in repr(call) and "create_order" in repr(call)
    assert isinstance(_args.DECIMAL_MAX_LENGTH, int)


# ---------------------------------------------------------------- the generated builders

FIXED_CID = "fixed-cid_1"


class Text(str):
    """A str subclass (as a StrEnum member is one)."""


class Count(int):
    """An int subclass (as an IntEnum member is one)."""


#: Values of every shape, for any parameter: valid for some kinds, refused by others.
ODD: tuple[Any, ...] = (
    Text("BUY"), Text("buy"), Text("BTC_USDT"), Text("1.5"), Text("GTC"), Text(""),
    Text("cid:abc"), Count(10), Count(30), Count(0),
    True, False, 0, -1, 1, 9, 10, 600, 601, 2**64, 1.5, 0.0, -2.5, 1e300, math.nan, math.inf,
    Decimal("1.5"), Decimal("0"), Decimal("-1"), Decimal("NaN"), Decimal("1E-8"),
    Decimal("1E+50"), "", "x", "0", "0.015", "00.10", "1.", ".5", ".", "1e5", " 1", "-1",
    "BTC_USDT", "btc_usdt", "buy", "Limit", "limit_maker", "cid:abc", "cid:", "cid:a b",
    "12345", "a,b", "a/b?c", "..", "\0", "a" * 65, "é", "\ud800", [], ["1"], ["a", "b"],
    ("c1", "c1"), ["a,b"], [1], ["x" * 70], {"a": 1}, b"1", object(),
)  # fmt: skip


def _valid(p: Param) -> st.SearchStrategy[Any]:
    """Values ``p`` accepts (and some its rules then refuse)."""
    if p.choices:
        texts = [str(c) for c in p.choices]
        one: st.SearchStrategy[Any] = st.sampled_from(
            [*p.choices, *texts, *(t.lower() for t in texts)]
        )
        return st.lists(one, max_size=3) if p.kind is Kind.LIST else one
    if p.kind is Kind.DECIMAL:
        return st.one_of(
            st.decimals(min_value=Decimal("1E-12"), max_value=Decimal("1E12"), places=8),
            st.integers(1, 10**12),
            st.floats(min_value=1e-9, max_value=1e20),
            st.sampled_from(["1", "0.01", "30000.5", "1.0", "0.00000001"]),
        )
    if p.kind is Kind.INT:
        lo = p.minimum if p.minimum is not None else -(10**6)
        hi = p.maximum if p.maximum is not None else 10**12
        return st.one_of(st.integers(lo, hi), st.integers(lo, hi).map(str))
    if p.kind is Kind.BOOL:
        return st.booleans()
    if p.kind is Kind.LIST:
        return st.lists(st.sampled_from(["1", "22", "abc-1", "BTC_USDT"]), max_size=3)
    if p.where is Where.PATH and p.name == "id":
        return st.one_of(st.integers(1, 10**12).map(str), st.just("cid:abc-1"))
    if p.pattern is not None:
        return st.from_regex(p.pattern, fullmatch=True)
    return st.sampled_from(["BTC_USDT", "ETH_USDT", "BTC", "SPOT", "abc"])


def _value(p: Param) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        _valid(p),
        st.sampled_from(ODD),
        st.text(max_size=6),
        st.integers(-(10**20), 10**20),
    )


def _outcome(make: Any) -> tuple[Any, ...]:
    try:
        call = make()
    except (PoloniexArgumentError, PoloniexTypeError) as exc:
        return ("refused", type(exc), str(exc))
    assert isinstance(call, Call)
    return (
        call.endpoint,
        call.method,
        call.path,
        call.fields,
        call.n,
        call.body,
        call.client_order_id,
        call.client_order_ids,
        call.shown,
    )


def _same(ep: Endpoint, values: list[Any]) -> tuple[Any, ...]:
    """The builder's outcome, asserted equal to the table-driven build's."""
    builder = getattr(_builders, ep.method)
    names = [BATCH_ARG] if ep.body_array else [p.name for p in ep.params]
    args = dict(zip(names, values, strict=True))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_args, "new_client_order_id", lambda: FIXED_CID)
        mp.setattr(_builders, "new_client_order_id", lambda: FIXED_CID)
        want = _outcome(lambda: build(ep, args))
        got = _outcome(lambda: builder(*values))
    assert got == want, (ep.method, values)
    return got


@pytest.mark.parametrize("ep", ALL_ENDPOINTS, ids=lambda e: e.method)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_generated_builder_matches_the_table_driven_build(
    ep: Endpoint, data: st.DataObject
) -> None:
    if ep.body_array:
        item = st.fixed_dictionaries({}, optional={p.name: _value(p) for p in ep.params})
        values = [data.draw(st.one_of(st.lists(item, max_size=3), st.sampled_from(ODD)))]
    else:
        values = [data.draw(_value(p), label=p.name) for p in ep.params]
    _same(ep, values)


@pytest.mark.parametrize("ep", ALL_ENDPOINTS, ids=lambda e: e.method)
def test_the_generated_builder_builds_what_the_table_builds(ep: Endpoint) -> None:
    for args in (required_args(ep), all_args(ep)):
        values = [args[BATCH_ARG]] if ep.body_array else [args.get(p.name) for p in ep.params]
        assert _same(ep, values)[0] is ep  # built, not refused


ORDERS: list[dict[str, Any]] = [
    limit(),
    limit(clientOrderId=None),
    limit(type="LIMIT_MAKER", timeInForce="GTC", price=Decimal("1.10")),
    limit(type="LIMIT", timeInForce="FOK", quantity=0.5, price=7),
    limit(type=None, price=None, quantity=None, amount="10"),
    limit(type="MARKET", side="SELL", price=None, quantity="2"),
    limit(type="MARKET", price=None, quantity="2"),  # a market BUY takes amount
    limit(type="MARKET", side="SELL", price=None, quantity="2", timeInForce="IOC"),
    limit(type="MARKET", price="1", amount="1", quantity=None),
    limit(price=None),
    limit(amount="1"),
    limit(quantity=None, amount="1"),
    limit(timeInForce="IOC", type="LIMIT_MAKER"),
    limit(side="sell", type="limit", stpMode="expire_both", allowBorrow=False),
    limit(accountType="SPOT", allowBorrow=1),
    limit(symbol=None),
    limit(symbol="BTC USDT"),
    limit(price="0"),
    limit(price="1e5"),
    limit(side=Text("BUY")),
    limit(side=Text("BUY"), timeInForce=Text("gtc"), symbol=Text("BTC_USDT"), price=Text("2")),
]


@pytest.mark.parametrize("order", ORDERS)
def test_the_order_rule_refuses_alike(order: dict[str, Any]) -> None:
    for ep in (CREATE, SMART):
        args = {**order, "stopPrice": "1"} if ep is SMART else order
        if ep is SMART:
            args = {k: v for k, v in args.items() if ep.param(k) is not None}
            if args.get("type") in ("LIMIT", "limit", "LIMIT_MAKER"):
                args["type"] = "STOP_LIMIT"
        _same(ep, [args.get(p.name) for p in ep.params])


def test_the_builders_module_is_generated_for_every_endpoint() -> None:
    for ep in ALL_ENDPOINTS:
        assert callable(getattr(_builders, ep.method)), ep.method
    assert "GENERATED" in (_builders.__doc__ or "")


def test_recent_decimals_are_bounded_and_forgotten_all_at_once() -> None:
    recent = _args.kit(CREATE).known[3]  # price
    assert recent is not None
    most = _values._KNOWN_MAX
    for i in range(most + 5):
        price = f"1.{i:05d}"
        call = _builders.create_order(
            "BTC_USDT", "BUY", "LIMIT", price, "1", None, None, "c-1", None, None, None
        )
        assert call.body is not None and f'"price":"{price}"'.encode() in call.body
        assert recent[price] == price
    assert 0 < len(recent) <= most and "1.00000" not in recent
    before = len(recent)
    _builders.create_order(
        "BTC_USDT", "BUY", "LIMIT", "1.5", "1", None, None, "c-1", None, None, None
    )
    assert len(recent) == before + 1
