"""``polo_fast.compat.requests.PoloniexAuth`` against the stand-in exchange."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
import requests

from polo_fast.compat.requests import PoloniexAuth
from polo_fast.nonce import NonceSource
from polo_fast.testing.exchange import StandInExchange
from tests.conftest import make_keys


@pytest.fixture(scope="module")
def exchange() -> Iterator[tuple[StandInExchange, dict[str, str]]]:
    keys = make_keys(2)
    with StandInExchange(keys, rate_limit=None).running() as ex:
        yield ex, keys


@pytest.fixture
def session(exchange: tuple[StandInExchange, dict[str, str]]) -> Iterator[requests.Session]:
    ex, _ = exchange
    with requests.Session() as s:
        s.trust_env = False
        s.verify = str(ex.ca_path)
        yield s


def _signed_as_sent(resp: requests.Response, secret: str) -> bool:
    """The Sign header is the HMAC of exactly the bytes that were sent."""
    body = resp.request.body
    assert isinstance(body, bytes)
    expected = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, resp.request.headers["Sign"])


def test_dict_body_is_signed_and_accepted(
    exchange: tuple[StandInExchange, dict[str, str]], session: requests.Session
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    auth = PoloniexAuth(key, secret)
    start = len(ex.journal())
    r = session.post(f"{ex.url}/tradingApi", data={"command": "returnBalances"}, auth=auth)
    assert r.status_code == 200, r.text
    assert "BTC" in r.json()
    assert _signed_as_sent(r, secret)
    assert r.request.headers["Key"] == key
    fields = parse_qsl(r.request.body.decode())  # type: ignore[union-attr]
    assert fields[0] == ("command", "returnBalances") and fields[-1][0] == "nonce"
    entry = ex.journal()[start]
    assert entry["command"] == "returnBalances" and entry["nonce"] == int(fields[-1][1])


def test_encoded_body_with_a_stale_nonce_is_re_signed(
    exchange: tuple[StandInExchange, dict[str, str]], session: requests.Session
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    auth = PoloniexAuth(key, secret)
    start = len(ex.journal())
    body = "nonce=1&currencyPair=BTC_ETH&command=buy&rate=0.001&amount=0.5&postOnly=1"
    r = session.post(
        f"{ex.url}/tradingApi",
        data=body,
        auth=auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    number = r.json()["orderNumber"]
    fields = parse_qsl(r.request.body.decode())  # type: ignore[union-attr]
    assert [k for k, _ in fields] == [
        "command",
        "currencyPair",
        "rate",
        "amount",
        "postOnly",
        "nonce",
    ]
    assert int(fields[-1][1]) > 1 and _signed_as_sent(r, secret)
    # a bytes body, and an order placed once
    r = session.post(
        f"{ex.url}/tradingApi", auth=auth, data=f"command=cancelOrder&orderNumber={number}".encode()
    )
    assert r.status_code == 200 and r.json()["success"] == 1
    journal = ex.journal()[start:]
    assert [e["command"] for e in journal] == ["buy", "cancelOrder"]


def test_other_requests_pass_untouched(
    exchange: tuple[StandInExchange, dict[str, str]], session: requests.Session
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    auth = PoloniexAuth(key, secret)
    r = session.get(f"{ex.url}/public", params={"command": "returnTicker"}, auth=auth)
    assert r.status_code == 200 and "BTC_ETH" in r.json()
    assert "Key" not in r.request.headers and "Sign" not in r.request.headers


def test_bodies_that_are_not_forms_are_refused(
    exchange: tuple[StandInExchange, dict[str, str]], session: requests.Session
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    auth = PoloniexAuth(key, secret)
    start = len(ex.journal())
    with pytest.raises(ValueError, match="form bodies only"):
        session.post(f"{ex.url}/tradingApi", json={"command": "returnBalances"}, auth=auth)
    with pytest.raises(ValueError, match="exactly one 'command'"):
        session.post(f"{ex.url}/tradingApi", data={"currencyPair": "BTC_ETH"}, auth=auth)
    assert len(ex.journal()) == start  # nothing was sent


def test_a_nonce_refusal_raises_the_floor_for_the_next_request(
    exchange: tuple[StandInExchange, dict[str, str]], session: requests.Session
) -> None:
    ex, keys = exchange
    key, secret = list(keys.items())[1]
    micro = PoloniexAuth(key, secret, NonceSource(scale=1_000_000))
    r = session.post(f"{ex.url}/tradingApi", data={"command": "returnFeeInfo"}, auth=micro)
    assert r.status_code == 200
    milli = PoloniexAuth(key, secret)  # a smaller scale: refused once, then above the floor
    r = session.post(f"{ex.url}/tradingApi", data={"command": "returnFeeInfo"}, auth=milli)
    assert r.status_code == 422 and "Nonce must be greater than" in r.json()["error"]
    r = session.post(f"{ex.url}/tradingApi", data={"command": "returnFeeInfo"}, auth=milli)
    assert r.status_code == 200, r.text


def test_repr_and_logs_never_show_the_secret(
    exchange: tuple[StandInExchange, dict[str, str]],
    session: requests.Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    caplog.set_level(logging.DEBUG)
    auth = PoloniexAuth(key, secret)
    r = session.post(f"{ex.url}/tradingApi", data={"command": "returnBalances"}, auth=auth)
    assert r.status_code == 200
    assert repr(auth) == f"PoloniexAuth(key={key[:8] + '…'!r})"
    assert key not in repr(auth) and key not in caplog.text
    for text in (repr(auth), str(vars(auth)), caplog.text):  # the secret is in the signer only
        for i in range(len(secret) - 15):
            assert secret[i : i + 16] not in text
    with pytest.raises(TypeError):
        PoloniexAuth("", secret)
