"""The Spot stand-in judges signatures and timestamps as the spec's §2 says."""

from __future__ import annotations

import time

import pytest

from polo_fast.testing.keys import make_pair
from polo_fast.testing.spot import SpotExchange
from polo_fast.testing.spot._auth import signature_ok, strings_to_sign
from tests.testing.spot.conftest import LIMIT_BUY, Raw, Run, session_for, sign, standin

SECRET = "0123456789abcdef" * 8  # the spec's synthetic vector secret (§2.4)
BODY3 = (
    '{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"30000",'
    '"quantity":"0.001","timeInForce":"GTC"}'
)


BODY4 = '{"orderIds":["1234567890"],"clientOrderIds":["myId-1"]}'
BODY7 = (
    '[{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"20000","quantity":"0.001"},'
    '{"symbol":"ETH_USDT","side":"SELL","type":"LIMIT_MAKER","price":"4000","quantity":"0.01"}]'
)
V = "1659259836247", "1631018760000", "1700000000000"
PAIRS = [("symbols", "BTC_USDT,ETH_USDT"), ("limit", "100")]
VECTORS = {
    "V1": ("GET", "/accounts/balances", [], "", V[0],
           "NDeLgU6LZ8Y6FAwg0K2DtAy2BRHbaQEE+m8xH34gFqQ="),
    "V2": ("GET", "/orders", [("symbol", "ETH_USDT"), ("limit", "5")], "", V[0],
           "YxW3agc20dRj6sZCsZU12/mRJyzckzq3iA1nxibMst8="),
    "V3": ("POST", "/orders", [], BODY3, V[1], "4FEa5bXhEc/VCMg/sUSCEkJax5Ry/3cjFxXPjKhF11A="),
    "V4": ("DELETE", "/orders/cancelByIds", [], BODY4, V[1],
           "NVntQFetWcmwjis58+m6glFARmk7e4zbfmNQZFlSwYQ="),
    "V5": ("DELETE", "/orders/1234567890", [], "", V[1],
           "JJrOCQkTU9EeTYHjaJrzSjrl1gPmtI7WWNHwq2GiLvU="),
    "V6": ("GET", "/trades", PAIRS, "", V[2], "86LT80FpvnlJLQyIPAbYOGh8RadGDWeMN7NBUJ1tHXg="),
    "V6r": ("GET", "/trades", PAIRS, "", V[2], "yu29tyiZ2rLyl9NEUeYOeZEBg4Jor80moFkmVfH7oq4="),
    "V7": ("POST", "/orders/batch", [], BODY7, V[2],
           "L/mcxt+r+RmuVWp7cqwUoUs4j9WG7xNHOCC/Tro5OvI="),
    "V8": ("POST", "/orders/killSwitch", [], '{"timeout":"60"}', V[2],
           "SsP6sr8Fnd5IsqK9OxB2gj1zabRV45cQI8VD6V6+76Q="),
    "V9": ("GET", "/ws", [], "", V[1], "pp7/t4SgLXjXsLqptZNTstpvwvJtQ9PPrGFNms6u4p0="),
}  # fmt: skip
"""The spec's §2.4 vectors (secret ``SECRET``)."""


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "ts", "expected"), list(VECTORS.values()), ids=list(VECTORS)
)
def test_spec_vectors_are_accepted(
    method: str, path: str, query: list[tuple[str, str]], body: str, ts: str, expected: str
) -> None:
    candidates = strings_to_sign(method, [path], query, body.encode(), ts)
    assert signature_ok(SECRET.encode(), candidates, expected)
    assert signature_ok(SECRET.encode(), candidates, expected.replace("=", "%3D"))
    wrong = ("B" if expected[0] != "B" else "C") + expected[1:]
    assert not signature_ok(SECRET.encode(), candidates, wrong)


def test_third_party_vector_v10() -> None:
    body = b'{"a":1,"b":["2",null]}'
    candidates = strings_to_sign("DELETE", ["/some/path"], [], body, "1674197467415")
    assert signature_ok(
        b"poloniex-api-secret", candidates, "rCahSwbMNIzxQRUSqzxdMvYP9CDWfRUDNIFDVABxHQQ="
    )


def test_refusals_and_accepted_forms(run: Run) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange({key: secret}) as ex, session_for(ex.ca_path) as s:
            raw = Raw(s, ex.url, key, secret)
            ok = await raw.call("GET", "/accounts/balances")
            assert ok.status == 200 and ok.json[0]["accountType"] == "SPOT"
            # Bad signature, unknown key, missing headers: 401 with an empty body.
            for bad in (
                Raw(s, ex.url, key, secret[:-1] + "0" if secret[-1] != "0" else secret[:-1] + "1"),
                Raw(s, ex.url, "UNKNOWN-KEY", secret),
            ):
                answer = await bad.call("GET", "/accounts/balances")
                assert (answer.status, answer.raw) == (401, b"")
                assert answer.headers.get("Web-Filter") == "unauthenticated"
            answer = await raw.call("GET", "/accounts/balances", signed=False)
            assert (answer.status, answer.raw) == (401, b"")
            # A body signed with one byte changed is refused.
            headers = raw.headers("POST", "/orders", {}, '{"symbol":"BTC_USDT"}')
            async with s.post(
                ex.url + "/orders", data='{"symbol":"ETH_USDT"}', headers=headers
            ) as r:
                assert (r.status, await r.read()) == (401, b"")
            # Stale (408) and future (400) timestamps, each with the documented code.
            now = int(time.time() * 1000)
            stale = await raw.call("GET", "/accounts/balances", ts=now - 61_000)
            assert (stale.status, stale.json["code"]) == (408, 408)
            future = await raw.call("GET", "/accounts/balances", ts=now + 5_000)
            assert (future.status, future.json["code"]) == (400, 400)
            window = await raw.call(
                "GET", "/accounts/balances", ts=now - 3_000, headers={"recvWindow": "1500"}
            )
            assert window.status == 408
            # Every GET encoding of a reserved character, and spaced JSON bodies, pass.
            for encoding in ("rfc3986", "uri_component", "raw"):
                answer = await raw.call(
                    "GET", "/trades", {"symbols": "BTC_USDT,ETH_USDT"}, encoding=encoding
                )
                assert answer.status == 200, encoding
            spaced = await raw.call("POST", "/orders", body=LIMIT_BUY, spaced=True)
            assert spaced.status == 200 and spaced.json["id"].isdigit()
            # A bodyless POST signs "signTimestamp=..." only; "{}" as the body signs it.
            empty = await raw.call("DELETE", "/orders", body={})
            assert empty.status == 200 and len(empty.json) == 1
            journal = ex.journal()
            assert [j["status"] for j in journal].count(401) == 4
            assert all(secret not in str(j) for j in journal)

    run(body())


def test_clock_offset_knob(run: Run) -> None:
    """A stand-in clock 3 s behind refuses host-clock timestamps until the client measures it."""

    async def body() -> None:
        async with standin(clock_offset_ms=-3000) as (_ex, [raw]):
            assert (await raw.call("GET", "/accounts/balances")).status == 400
            await raw.sync_clock()
            assert -3500 < raw.offset_ms < -2500
            assert (await raw.call("GET", "/accounts/balances")).status == 200

    run(body())


def test_unknown_route_and_bad_json(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (ex, [raw]):
            missing = await raw.call("GET", "/nowhere", signed=False)
            assert (missing.status, missing.json["code"]) == (404, 404)
            headers = raw.headers("POST", "/orders", {}, "{not json")
            async with raw.session.post(ex.url + "/orders", data="{not json", headers=headers) as r:
                assert r.status == 400 and (await r.json())["code"] == 601
            assert ex.ws_url == ex.url.replace("http://", "ws://") + "/ws"

    run(body())


def test_signature_helper_matches_vector_v1() -> None:
    assert sign(SECRET, "GET\n/accounts/balances\nsignTimestamp=1659259836247") == (
        "NDeLgU6LZ8Y6FAwg0K2DtAy2BRHbaQEE+m8xH34gFqQ="
    )
