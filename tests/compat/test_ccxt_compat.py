"""The ccxt drop-in: ccxt's own requests, signed by polo_fast's C route, byte for byte.

Each request the drop-in builds is compared with the one unmodified ccxt 4.5.90 builds for the
same call and the same ``signTimestamp`` (both ``nonce()`` pinned): URL, method, body and
headers, signature included. Then the drop-in trades against the stand-in exchange, which
checks every signature with the standard library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange

ccxt = pytest.importorskip("ccxt")
compat = pytest.importorskip("polo_fast.compat.ccxt")

KEYS = make_keys(2)
TS = 1_700_000_000_123


def _pair(**config: Any) -> tuple[Any, Any]:
    """(ccxt's own class, the drop-in), same credentials, ``nonce()`` pinned to ``TS``."""
    key, secret = next(iter(KEYS.items()))
    out = []
    for cls in (ccxt.poloniex, compat.poloniex):
        ex = cls({"apiKey": key, "secret": secret, **config})
        ex.nonce = lambda: TS
        out.append(ex)
    return out[0], out[1]


CASES: list[tuple[str, list[str], str, Any]] = [
    ("accounts/balances", ["private"], "GET", {}),
    ("accounts/balances", ["private"], "GET", {"accountType": "SPOT"}),
    ("orders", ["private"], "GET", {"symbol": "BTC_USDT", "limit": 100}),
    ("orders/history", ["private"], "GET", {"symbols": "BTC_USDT,ETH_USDT", "hideCancel": True}),
    ("orders/{id}", ["private"], "GET", {"id": "cid:abc-1"}),
    (
        "orders",
        ["private"],
        "POST",
        {"symbol": "BTC_USDT", "side": "BUY", "type": "LIMIT", "price": "30000", "quantity": "1"},
    ),
    ("orders/batch", ["private"], "POST", [{"symbol": "BTC_USDT", "side": "SELL"}]),
    ("orders/{id}", ["private"], "DELETE", {"id": "123"}),
    ("orders", ["private"], "DELETE", {"symbols": ["BTC_USDT"]}),
    ("orders/killSwitch", ["private"], "POST", {"timeout": "30"}),
    ("markets", ["public"], "GET", {}),
    ("markets/{symbol}/orderBook", ["public"], "GET", {"symbol": "BTC_USDT", "limit": 5}),
]


def _copy(params: Any) -> Any:
    return [dict(x) for x in params] if isinstance(params, list) else dict(params)


@pytest.mark.parametrize(("path", "api", "method", "params"), CASES)
def test_the_drop_in_builds_the_request_ccxt_builds(
    path: str, api: list[str], method: str, params: Any
) -> None:
    theirs, ours = _pair()
    expected = theirs.sign(path, api, method, _copy(params))
    assert ours.sign(path, api, method, _copy(params)) == expected
    # the private calls were signed by polo_fast's signer (C unless POLO_FAST_PURE=1)
    assert (ours._polo_signer is not None) == (api == ["private"])


text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    query=st.dictionaries(st.from_regex(r"[a-zA-Z]{1,8}", fullmatch=True), text, max_size=4),
    body=st.dictionaries(st.from_regex(r"[a-zA-Z]{1,8}", fullmatch=True), text, max_size=4),
)
def test_any_query_or_body_is_signed_as_ccxt_signs_it(
    query: dict[str, str], body: dict[str, str]
) -> None:
    theirs, ours = _pair()
    assert ours.sign("trades", ["private"], "GET", dict(query)) == theirs.sign(
        "trades", ["private"], "GET", dict(query)
    )
    assert ours.sign("orders", ["private"], "POST", dict(body)) == theirs.sign(
        "orders", ["private"], "POST", dict(body)
    )


def test_a_new_secret_gets_a_new_signer() -> None:
    theirs, ours = _pair()
    ours.sign("accounts", ["private"], "GET", {})
    first = ours._polo_signer
    other = next(iter(make_keys(1).values()))
    theirs.secret = ours.secret = other
    assert ours.sign("accounts", ["private"], "GET", {}) == theirs.sign(
        "accounts", ["private"], "GET", {}
    )
    assert ours._polo_signer is not first


@pytest.fixture(scope="module")
def exchange() -> Iterator[SpotExchange]:
    """One stand-in (HTTPS) for the module, in a background thread."""
    with SpotExchange(KEYS).running() as ex:
        yield ex


def test_the_drop_in_trades_against_the_stand_in(exchange: SpotExchange) -> None:
    key, secret = list(KEYS.items())[1]
    client = compat.poloniex(
        {
            "apiKey": key,
            "secret": secret,
            "verify": exchange.ca_path,
            "validateServerSsl": exchange.ca_path,
        }
    )
    client.urls["api"] = {"spot": exchange.url, "swap": exchange.url}
    client.load_markets()
    assert client.fetch_balance()["USDT"]["free"] == 100000
    order = client.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": "dropin-1"}
    )
    assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    assert client.cancel_order(order["id"], "BTC/USDT")["id"] == order["id"]
    calls = [j for j in exchange.journal() if j["key"] == key]
    assert [j["method"] for j in calls] == ["balances", "create_order", "get_order", "cancel_order"]
    assert all(j["status"] == 200 for j in calls)
