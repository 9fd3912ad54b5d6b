"""Every endpoint of the Spot table, through the client, on the lane and on aiohttp.

Each endpoint is called with its required parameters (sample values by wire name) through
the client's one call path: built, signed (or not), framed and sent, then judged by the
stand-in with the standard library. A round trip counts when the stand-in accepted the
request as well formed and correctly signed: it either executed it (status 200) or refused it
for a reason of the account or the record (an unknown transfer id, a balance too low), never
for the signature, the encoding or a missing parameter. Then the withdrawal guard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from polo_fast import errors
from polo_fast.spot.answers import classify
from polo_fast.spot.client import Client
from polo_fast.spot.commands import ALL_ENDPOINTS, Endpoint
from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange
from polo_fast.transport import HttpTransport, make_ssl_context

KEYS = make_keys(3)

#: A value for each required parameter, by wire name (path ones included).
SAMPLES: dict[str, Any] = {
    "symbol": "BTC_USDT",
    "currency": "BTC",
    "id": "1",
    "interval": "MINUTE_1",
    "side": "BUY",
    "amount": "1",
    "fromAccount": "SPOT",
    "toAccount": "FUTURES",
    "fromAccountId": "1",
    "fromAccountType": "SPOT",
    "toAccountId": "2",
    "toAccountType": "SPOT",
    "address": "bc1qexampleaddress",
    "coin": "BTC",
    "network": "BTC",
    "start": 1_700_000_000_000,
    "end": 1_700_000_100_000,
    "timeout": "30",
}

#: What a refusal of a well-formed, correctly signed request for a record that does not exist
#: (id "1") says: the request was verified and understood.
NOT_FOUND = re.compile(r"not found|no such", re.I)


def _args(ep: Endpoint) -> dict[str, Any]:
    if ep.body_array:
        return {"orders": [{"symbol": "BTC_USDT", "side": "BUY", "type": "LIMIT",
                            "price": "30000", "quantity": "0.001"}]}  # fmt: skip
    args = {p.name: SAMPLES[p.name] for p in ep.required}
    if ep.method in ("create_order", "create_smart_order"):
        args.update(type="LIMIT" if ep.method == "create_order" else "STOP_LIMIT",
                     price="30000", quantity="0.001")  # fmt: skip
        args.pop("amount", None)
        if ep.method == "create_smart_order":
            args["stopPrice"] = "31000"
    if ep.method in ("replace_order", "replace_smart_order"):
        args["price"] = "30001"
    if ep.method in ("cancel_orders", "cancel_smart_orders"):
        args["clientOrderIds"] = ["nothing-here"]
    return args


@pytest.fixture(scope="module")
def exchange() -> Iterator[SpotExchange]:
    with SpotExchange(KEYS, rate_limit_scale=None).running() as ex:
        yield ex


@pytest.mark.parametrize("path", ["lane", "aiohttp"])
def test_every_endpoint_of_the_table_round_trips(
    run: Any, exchange: SpotExchange, path: str
) -> None:
    key, secret = list(KEYS.items())[0 if path == "lane" else 1]

    async def body() -> dict[str, str]:
        transport = None
        if path == "aiohttp":
            ctx = make_ssl_context(exchange.ca_path)
            transport = HttpTransport(exchange.url, ctx, lean=False, classify=classify)
        outcome: dict[str, str] = {}
        async with Client(
            key, secret, url=exchange.url, ws_url=exchange.ws_url, ca_path=exchange.ca_path,
            rate_limits=None, ws=False, allow_withdrawals=True, transport=transport,
        ) as c:  # fmt: skip
            await c.warm_up()
            for ep in ALL_ENDPOINTS:
                try:
                    await c._call(ep, _args(ep))
                    outcome[ep.method] = "ok"
                except errors.ExchangeError as exc:
                    outcome[ep.method] = f"{type(exc).__name__}: {exc.text}"
        return outcome

    outcome = run(body())
    assert set(outcome) == {ep.method for ep in ALL_ENDPOINTS}
    refused = {m: v for m, v in outcome.items() if v != "ok"}
    # refused only for the record ("1" names no order, transfer or account), never for the
    # signature, the clock, the encoding or a parameter
    assert all(NOT_FOUND.search(v) for v in refused.values()), refused
    assert len(refused) <= 12, refused
    mine = [j for j in exchange.journal() if j["key"] == key]
    assert len(mine) >= sum(ep.signed for ep in ALL_ENDPOINTS)
    assert not [j for j in mine if j["status"] in (401, 408, 429)], mine


@pytest.mark.parametrize("how", ["withdraw", "withdraw_v2", "request"])
def test_withdrawals_need_allow_withdrawals(run: Any, exchange: SpotExchange, how: str) -> None:
    key, secret = list(KEYS.items())[2]

    async def body() -> None:
        async with Client(
            key, secret, url=exchange.url, ws_url=exchange.ws_url, ca_path=exchange.ca_path,
            ws=False,
        ) as c:  # fmt: skip
            with pytest.raises(errors.WithdrawalsDisabledError, match="allow_withdrawals"):
                if how == "withdraw":
                    await c.withdraw("BTC", "1", "bc1qexampleaddress")
                elif how == "withdraw_v2":
                    await c.withdraw_v2("BTC", "BTC", "1", "bc1qexampleaddress")
                else:
                    order = {"currency": "BTC", "amount": "1", "address": "bc1qexampleaddress"}
                    await c.request("POST", "/wallets/withdraw", body=order)

    run(body())
    assert not [j for j in exchange.journal() if j["key"] == key]
