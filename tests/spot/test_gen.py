"""The generated Spot methods (``polo_fast/spot/_api.py``) and builders
(``polo_fast/spot/_builders.py``): fresh, one per endpoint, the issue's fixed signatures, and
each method hands ``_call`` the Call its builder makes of its arguments, the one the
table-driven build makes of them keyed by wire name."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from polo_fast.errors import PoloniexArgumentError
from polo_fast.spot import _api, _args, _builders
from polo_fast.spot._api import SpotMethods
from polo_fast.spot._args import Call, build, order_ref
from polo_fast.spot.commands import ALL_ENDPOINTS, BY_METHOD, Endpoint, Where

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_spot_api", ROOT / "tools" / "gen_spot_api.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_is_up_to_date() -> None:
    target = ROOT / "polo_fast" / "spot" / "_api.py"
    assert target.read_text() == _generator().render(), (
        "polo_fast/spot/_api.py is out of date with polo_fast/spot/commands.py: "
        "run python tools/gen_spot_api.py"
    )


def test_generated_builders_are_up_to_date() -> None:
    target = ROOT / "polo_fast" / "spot" / "_builders.py"
    assert target.read_text() == _generator().render_builders(), (
        "polo_fast/spot/_builders.py is out of date with polo_fast/spot/commands.py or the "
        "checks: run python tools/gen_spot_api.py"
    )


def test_check_mode_finds_a_stale_file(tmp_path: Path) -> None:
    gen = _generator()
    stale = tmp_path / "_builders.py"
    stale.write_text(gen.render_builders().replace("def _create_order(", "def _old_order("))
    assert gen.write_or_check(stale, gen.render_builders(), ["--check"], "gen_spot_api.py") == 1
    assert gen.write_or_check(stale, gen.render_builders(), [], "gen_spot_api.py") == 0
    assert stale.read_text() == gen.render_builders()


def test_check_mode_says_so() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_spot_api.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_endpoint_has_a_method_and_nothing_else_is_public() -> None:
    public = {n for n, f in vars(SpotMethods).items() if inspect.iscoroutinefunction(f)}
    assert public - {"_call"} == {e.method for e in ALL_ENDPOINTS}
    for e in ALL_ENDPOINTS:
        doc = inspect.getdoc(getattr(SpotMethods, e.method)) or ""
        assert doc.startswith(e.doc) and f"{e.http} {e.path}" in doc


def _sig(name: str) -> str:
    text = str(inspect.signature(getattr(SpotMethods, name)))
    return text.replace("'", "")


FIXED = {
    "server_time": "(self) -> Any",
    "markets": "(self) -> Any",
    "currencies": "(self, *, include_multi_chain_currencies: bool | None = None) -> Any",
    "order_book": "(self, symbol: str, limit: int | None = None, *, scale: str | None = None)"
    " -> Any",
    "balances": "(self, *, account_type: str | None = None) -> Any",
    "get_order": "(self, order_id: str | int | None = None, *, client_order_id: str | None = "
    "None) -> Any",
    "cancel_order": "(self, order_id: str | int | None = None, *, client_order_id: str | None "
    "= None) -> Any",
    "create_orders": "(self, orders: Sequence[Mapping[str, Any]]) -> Any",
    "cancel_orders": "(self, *, order_ids: Sequence[str] = (), client_order_ids: Sequence[str] "
    "= ()) -> Any",
    "cancel_all_orders": "(self, symbols: Sequence[str] | None = None, *, account_types: "
    "Sequence[str] | None = None) -> Any",
    "kill_switch": "(self, timeout: int) -> Any",
    "kill_switch_status": "(self) -> Any",
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_signatures(name: str) -> None:
    assert _sig(name) == FIXED[name]


def test_create_order_and_open_orders_signatures() -> None:
    create = inspect.signature(SpotMethods.create_order).parameters
    assert list(create)[:9] == [
        "self", "symbol", "side", "type", "price", "quantity", "amount", "time_in_force",
        "client_order_id",
    ]  # fmt: skip
    kinds = {n: p.kind for n, p in create.items()}
    assert kinds["symbol"] is kinds["side"] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(
        kinds[n] is inspect.Parameter.KEYWORD_ONLY and create[n].default is None
        for n in list(create)[3:]
    )
    opened = inspect.signature(SpotMethods.open_orders).parameters
    assert opened["symbol"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert opened["symbol"].default is None
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(opened.values())[2:])


class Recorder(SpotMethods):
    """Records what each method hands to ``_call``."""

    def __init__(self) -> None:
        self.seen: list[tuple[Endpoint, Mapping[str, Any], Call | None]] = []

    async def _call(
        self, endpoint: Endpoint, args: Mapping[str, Any], call: Call | None = None
    ) -> Any:
        self.seen.append((endpoint, args, call))
        return call


def _value(endpoint: Endpoint, arg: str, annotation: str) -> Any:
    if arg == "orders":
        return [{"symbol": "BTC_USDT", "side": "SELL", "quantity": "1"}]
    if arg in ("order_id", "id"):
        return 123
    if arg == "symbol":
        return "BTC_USDT"
    if "Number" in annotation:
        return Decimal("2")
    if annotation.startswith("int"):
        p = endpoint.param({"timeout": "timeout"}.get(arg, arg))
        return 30 if p is None or p.minimum is None or p.minimum <= 0 else p.minimum
    if annotation.startswith("Sequence"):
        return ["1"]
    if annotation == "bool":
        return True
    p = next(p for p in endpoint.params if p.arg == arg)
    return p.choices[0] if p.choices else "BTC"


_RULES: dict[str, dict[str, Any]] = {
    "create_order": {"amount": "10"},
    "create_smart_order": {"amount": "10", "stop_price": "2"},
    "cancel_orders": {"order_ids": ["1"]},
    "cancel_smart_orders": {"client_order_ids": ["c1"]},
    "get_order": {"order_id": 5},
    "cancel_order": {"order_id": 5},
    "get_smart_order": {"order_id": 5},
    "cancel_smart_order": {"order_id": 5},
}


def _wire(e: Endpoint, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The wire-named arguments the table-driven build takes for the method's ``kwargs``."""
    if e.body_array:
        return {"orders": kwargs["orders"]}
    wire = {p.name: kwargs.get(p.arg) for p in e.params if p.where is not Where.PATH}
    for p in e.params:
        if p.where is not Where.PATH:
            continue
        if p.arg in kwargs:
            wire[p.name] = kwargs[p.arg]
        else:  # an order, by id or by client order id
            wire[p.name] = order_ref(
                e.method, kwargs.get("order_id"), kwargs.get("client_order_id")
            )
    return wire


def _parts(call: Call) -> tuple[Any, ...]:
    return (
        call.endpoint, call.method, call.path, call.fields, call.n, call.body,
        call.client_order_id, call.client_order_ids, call.shown,
    )  # fmt: skip


@pytest.mark.parametrize("e", ALL_ENDPOINTS, ids=lambda e: e.method)
def test_each_method_hands_call_what_build_makes_of_its_wire_names(
    e: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_args, "new_client_order_id", lambda: "fixed-1")
    monkeypatch.setattr(_builders, "new_client_order_id", lambda: "fixed-1")
    recorder = Recorder()
    method = getattr(recorder, e.method)
    params = list(inspect.signature(method).parameters.values())
    args = {
        p.name: _value(e, p.name, str(p.annotation))
        for p in params
        if p.default is inspect.Parameter.empty
    }
    args.update(_RULES.get(e.method, {}))
    call = asyncio.run(method(**args))
    endpoint, handed, seen = recorder.seen[0]
    assert endpoint is BY_METHOD[e.method] and seen is call and not handed
    assert isinstance(call, Call) and call.endpoint is endpoint
    assert _parts(call) == _parts(build(e, _wire(e, args)))
    for p in e.params:
        if p.where is Where.PATH:
            assert any(name == p.name for name, _ in call.shown)


def test_every_argument_reaches_its_wire_name() -> None:
    recorder = Recorder()
    call = asyncio.run(
        recorder.create_order(
            "BTC_USDT", "sell", type="limit", price="2", quantity=Decimal("0.5"),
            time_in_force="ioc", client_order_id="c-1", account_type="spot",
            allow_borrow=False, stp_mode="none",
        )
    )  # fmt: skip
    assert call.body == (
        b'{"symbol":"BTC_USDT","side":"SELL","type":"LIMIT","price":"2","quantity":"0.5",'
        b'"timeInForce":"IOC","clientOrderId":"c-1","accountType":"SPOT","allowBorrow":false,'
        b'"stpMode":"NONE"}'
    )
    book = asyncio.run(recorder.order_book("ETH_USDT", 10, scale="0.1"))
    assert (book.path, book.fields, book.n) == (
        b"/markets/ETH_USDT/orderBook",
        b"scale\x00limit\x000.1\x0010",
        2,
    )


def test_order_reference_methods() -> None:
    recorder = Recorder()
    by_cid = asyncio.run(recorder.get_order(client_order_id="abc"))
    assert by_cid.path == b"/orders/cid:abc" and by_cid.client_order_id == "abc"
    assert asyncio.run(recorder.cancel_order(17)).path == b"/orders/17"
    with pytest.raises(PoloniexArgumentError, match="exactly one"):
        asyncio.run(recorder.get_order())
    with pytest.raises(PoloniexArgumentError, match="exactly one"):
        asyncio.run(recorder.cancel_order(1, client_order_id="x"))
    replaced = asyncio.run(recorder.replace_order("cid:old", client_order_id="new", price=2))
    assert replaced.path == b"/orders/cid:old" and replaced.body == (
        b'{"clientOrderId":"new","price":"2"}'
    )
    cancel = asyncio.run(recorder.cancel_orders(client_order_ids=("a",)))
    assert cancel.body == b'{"clientOrderIds":["a"]}'
    assert asyncio.run(recorder.cancel_all_orders()).body is None


def test_the_module_exports() -> None:
    assert set(_api.__all__) == {"Number", "SpotMethods"}
