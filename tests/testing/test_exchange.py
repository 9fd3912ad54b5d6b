"""The stand-in exchange as a judge: keys, signatures, nonces, parameters, rate limit, TLS.

Requests are signed with the standard library (``tests/testing/conftest.py``) and, for the
docs' own example, with the ``openssl`` CLI and sent with ``curl``.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import orjson
import pytest

from polo_fast.testing import StandInExchange
from polo_fast.testing.spot import SpotExchange
from tests.conftest import make_keys
from tests.testing.conftest import Raw, Run, cli, get_trace, sign

BAD = "Invalid API key/secret pair."


def _one_key() -> tuple[str, str]:
    ((key, secret),) = make_keys(1).items()
    return key, secret


async def _openssl_sign(secret: str, body: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "openssl", "sha512", "-hmac", secret, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate(body.encode())
    assert proc.returncode == 0
    return out.decode().strip().rsplit("= ", 1)[-1]  # strip "SHA2-512(stdin)= " or "(stdin)= "


async def _curl(url: str, ca: str, key: str, sign_hex: str, body: str) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--cacert",
        ca,
        "-H",
        f"Key: {key}",
        "-H",
        f"Sign: {sign_hex}",
        "-d",
        body,
        "-w",
        "\n%{http_code}",
        url + "/tradingApi",
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    payload, _, code = out.rpartition(b"\n")
    return int(code), payload


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None,
    reason="needs the curl and openssl command-line tools",
)
def test_curl_openssl_example_accepted_and_one_wrong_byte_refused(run: Run) -> None:
    key, secret = _one_key()

    async def body() -> None:
        async with StandInExchange({key: secret}) as ex:
            assert ex.ca_path
            n = 1_700_000_000_000
            msg = f"command=returnBalances&nonce={n}"
            good = await _openssl_sign(secret, msg)
            assert good == sign(secret, msg.encode())  # two independent references agree
            status, payload = await _curl(ex.url, ex.ca_path, key, good, msg)
            assert status == 200, payload
            assert orjson.loads(payload)["BTC"] == "10.00000000"
            # One wrong byte in the body (same Sign), then one wrong hex digit in the Sign.
            status, payload = await _curl(
                ex.url, ex.ca_path, key, good, f"command=returnBalances&nonce={n + 2}"
            )
            assert (status, orjson.loads(payload)) == (403, {"error": BAD})
            msg2 = f"command=returnBalances&nonce={n + 3}"
            bad = await _openssl_sign(secret, msg2)
            bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
            status, payload = await _curl(ex.url, ex.ca_path, key, bad, msg2)
            assert (status, orjson.loads(payload)) == (403, {"error": BAD})
            assert [e["nonce"] for e in ex.journal()] == [n]

    run(body())


def test_unknown_key_missing_sign_wrong_secret(run: Run) -> None:
    key, secret = _one_key()

    async def body() -> None:
        async with StandInExchange({key: secret}) as ex, Raw(ex.url, key, secret, ex.ca_path) as c:
            refused = (403, b'{"error":"Invalid API key/secret pair."}')
            assert await c.post(c.body("returnBalances"), key="NOPE-NOPE") == refused
            assert await c.post(c.body("returnBalances"), signature="") == refused
            assert await c.post(c.body("returnBalances"), sign_as=secret + "x") == refused
            upper = sign(secret, b := c.body("returnBalances")).upper()
            assert await c.post(b, signature=upper) == refused
            assert await c.post(b + b"\n", signature=sign(secret, b)) == refused
            assert ex.journal() == []

    run(body())


def test_nonce_replay_and_smaller_get_422_with_exact_text(run: Run) -> None:
    key, secret = _one_key()

    async def body() -> None:
        async with StandInExchange({key: secret}) as ex, Raw(ex.url, key, secret, ex.ca_path) as c:
            first = c.body("returnBalances", nonce=1_700_000_000_500)
            assert (await c.post(first))[0] == 200
            status, raw = await c.post(first)  # replay
            assert status == 422
            assert orjson.loads(raw) == {
                "error": "Nonce must be greater than 1700000000500. You provided 1700000000500."
            }
            status, raw = await c.post(c.body("returnBalances", nonce=1_700_000_000_499))
            assert (status, orjson.loads(raw)) == (
                422,
                {"error": "Nonce must be greater than 1700000000500. You provided 1700000000499."},
            )
            status, raw = await c.post(c.body("returnBalances", nonce="12ab"))
            assert (status, orjson.loads(raw)) == (422, {"error": "Invalid nonce parameter."})
            # Each key has its own counter.
            other_key, other_secret = "OTHER-KEY", "other-secret"
            ex._secrets[other_key] = other_secret.encode()
            assert (
                await c.post(c.body("returnBalances", nonce=5), key=other_key, sign_as=other_secret)
            )[0] == 200
            assert [e["nonce"] for e in ex.journal()] == [1_700_000_000_500, 5]

    run(body())


def test_command_and_parameter_errors(run: Run) -> None:
    key, secret = _one_key()
    cases = [
        ({"command": "returnEverything"}, "Invalid command."),
        (
            {"command": "buy", "currencyPair": "BTC_ETH", "rate": "0.01"},
            "Required parameter missing.",
        ),
        (
            {"command": "buy", "currencyPair": "BTC_ETH", "rate": "1e-08", "amount": "1"},
            "Invalid rate parameter.",
        ),
        (
            {"command": "buy", "currencyPair": "BTC_NOPE", "rate": "0.01", "amount": "1"},
            "Invalid currency pair.",
        ),
        (
            {"command": "buy", "currencyPair": "btc-eth", "rate": "0.01", "amount": "1"},
            "Invalid currencyPair parameter.",
        ),
        (
            {
                "command": "buy",
                "currencyPair": "BTC_ETH",
                "rate": "0.01",
                "amount": "1",
                "postOnly": "0",
            },
            "Invalid postOnly parameter.",
        ),
        (
            {"command": "returnBalances", "currency_pair": "BTC_ETH"},
            "Invalid currency_pair parameter.",
        ),
        ({"command": "returnOrderTrades", "orderNumber": "12x"}, "Invalid orderNumber parameter."),
        (
            {
                "command": "createLoanOffer",
                "currency": "BTC",
                "amount": "1",
                "duration": "61",
                "autoRenew": "0",
                "lendingRate": "0.0001",
            },
            "Invalid duration parameter.",
        ),
        ({"command": "cancelOrder"}, "Required parameter missing."),
    ]

    async def body() -> None:
        async with StandInExchange({key: secret}) as ex, Raw(ex.url, key, secret, ex.ca_path) as c:
            for params, text in cases:
                status, raw = await c.post(c.body(**params))
                assert (status, orjson.loads(raw)) == (422, {"error": text}), params
            # A body that is not strictly form-encoded, and one sent without the form type.
            for bad, headers in (
                (b"command=returnBalances&&nonce=9" + b"9" * 14, None),
                (c.body("returnBalances"), {"Content-Type": "text/plain"}),
            ):
                status, raw = await c.post(bad, headers=headers)
                assert (status, orjson.loads(raw)) == (422, {"error": "Invalid command."})
            assert ex.journal() == []  # nothing refused here reached execution

    run(body())


def test_rate_limit_gives_429_with_json_error(run: Run) -> None:
    key, secret = _one_key()

    async def body() -> None:
        # At most 1 call per 30 s: the second call is over the limit whatever the machine speed.
        async with (
            StandInExchange({key: secret}, rate_limit=1 / 30) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            assert (await c.call("returnBalances"))[0] == 200
            assert await c.call("returnBalances") == (
                429,
                {"error": "Please do not make more than 8 API calls per second."},
            )
            assert len(ex.journal()) == 1
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            for _ in range(20):
                assert (await c.call("returnFeeInfo"))[0] == 200

    run(body())


def test_withdraw_needs_permission(run: Run) -> None:
    keys = make_keys(2)
    (k1, s1), (k2, s2) = keys.items()

    async def body() -> None:
        async with (
            StandInExchange(keys, withdraw_keys=[k2]) as ex,
            Raw(ex.url, k1, s1, ex.ca_path) as c1,
            Raw(ex.url, k2, s2, ex.ca_path) as c2,
        ):
            args = {"currency": "ETH", "amount": "2", "address": "0xabc"}
            assert await c1.call("withdraw", **args) == (403, {"error": "Permission denied."})
            result = await c2.ok("withdraw", **args)
            assert result["response"] == "Withdrew 2.00000000 ETH."
            assert (await c2.ok("returnBalances"))["ETH"] == "198.00000000"
            history = await c2.ok("returnDepositsWithdrawals", start=0, end=2**32)
            (w,) = history["withdrawals"]
            assert (w["currency"], w["amount"], w["address"]) == ("ETH", "2.00000000", "0xabc")
            assert [e["command"] for e in ex.journal()] == [
                "withdraw",
                "returnBalances",
                "returnDepositsWithdrawals",
            ]

    run(body())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_11_client_is_refused_and_12_accepted(run: Run) -> None:
    async def body() -> None:
        async with StandInExchange(make_keys(1)) as ex:
            old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old.load_verify_locations(ex.ca_path)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
            with pytest.raises((ssl.SSLError, ConnectionError)):
                _, w = await asyncio.open_connection("127.0.0.1", ex.port, ssl=old)
                w.close()
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                ctx = ssl.create_default_context(cafile=ex.ca_path)
                ctx.minimum_version = ctx.maximum_version = version
                for host in ("127.0.0.1", "localhost"):
                    r, w = await asyncio.open_connection(
                        host, ex.port, ssl=ctx, server_hostname=host
                    )
                    w.write(b"GET /cdn-cgi/trace HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    reply = await r.read()
                    w.close()
                    assert b"colo=IAD" in reply
                    assert f"tls={version.name.replace('_', '.')}".encode() in reply

    run(body())


def test_plain_http_trace_and_sync_form() -> None:
    key, secret = _one_key()
    with StandInExchange({key: secret}, tls=False, colo="FRA").running() as ex:
        assert ex.url.startswith("http://127.0.0.1:") and ex.ca_path is None
        with urllib.request.urlopen(ex.url + "/cdn-cgi/trace") as resp:
            text = resp.read().decode()
        fields = dict(line.split("=", 1) for line in text.splitlines())
        assert fields["colo"] == "FRA" and fields["ip"] == "127.0.0.1"
        assert fields["http"] == "http/1.1" and float(fields["ts"]) > 0
        body = b"command=returnBalances&nonce=1"
        req = urllib.request.Request(
            ex.url + "/tradingApi",
            data=body,
            headers={
                "Key": key,
                "Sign": sign(secret, body),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        ex.add_fault("http_503", command="returnBalances")  # from the main thread
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 503
        with urllib.request.urlopen(req) as resp:
            assert orjson.loads(resp.read())["USDT"] == "100000.00000000"
    assert [e["command"] for e in ex.journal()] == ["returnBalances"]


def test_cli_prints_url_and_ca_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    args = ["--key", "CLI-KEY:cli-secret", "--journal", str(journal), "--rate-limit", "0"]
    with cli("exchange", *args, "--colo", "EWR") as text:
        url = text.split("stand-in exchange: ", 1)[1].split()[0]
        ca = text.split("CA certificate:", 1)[1].split()[0]
        assert "cli-secret" not in text  # a secret the user chose is never echoed
        ctx = ssl.create_default_context(cafile=ca)
        with urllib.request.urlopen(url + "/cdn-cgi/trace", context=ctx) as resp:
            assert b"colo=EWR" in resp.read()
        body = b"command=returnBalances&nonce=7"
        req = urllib.request.Request(
            url + "/tradingApi",
            data=body,
            headers={
                "Key": "CLI-KEY",
                "Sign": sign("cli-secret", body),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(req, context=ctx) as resp:
            assert resp.status == 200
    assert orjson.loads(journal.read_text().splitlines()[0])["nonce"] == 7


def test_cli_without_keys_generates_one_and_prints_it_once() -> None:
    with cli("exchange", "--no-tls") as text:
        url = text.split("stand-in exchange: ", 1)[1].split()[0]
        key = text.split("key:", 1)[1].split()[0]
        secret = text.split("secret:", 1)[1].split()[0]
        assert url.startswith("http://") and "CA certificate" not in text
        assert len(secret) == 128 and text.count(secret) == 1
        body = b"command=returnFeeInfo&nonce=1"
        req = urllib.request.Request(
            url + "/tradingApi",
            data=body,
            headers={
                "Key": key,
                "Sign": sign(secret, body),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(req) as resp:
            assert orjson.loads(resp.read())["takerFee"] == "0.00200000"


# -- idle keep-alive connections (issue 10) ----------------------------------------------


#: Both stand-ins share the listening and its checks (polo_fast.testing._service).
STANDINS = [StandInExchange, SpotExchange]


@pytest.mark.parametrize("standin", STANDINS)
def test_idle_keep_alive_connection_is_closed_after_the_timeout(
    run: Run, standin: type[StandInExchange | SpotExchange]
) -> None:
    timeout = 0.3

    async def body() -> None:
        keys = make_keys(1)
        async with standin(keys, tls=False, keepalive_timeout=timeout) as ex:
            assert ex.keepalive_timeout == timeout
            reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
            try:
                # a kept-alive connection serves request after request ...
                for _ in range(2):
                    head, _ = await get_trace(reader, writer)
                    assert head.startswith(b"HTTP/1.1 200")
                idle_from = asyncio.get_running_loop().time()
                # ... and, left idle, is closed by the server (EOF), not by us
                assert await asyncio.wait_for(reader.read(), timeout=30) == b""
                idle = asyncio.get_running_loop().time() - idle_from
                assert idle >= 0.8 * timeout
            finally:
                writer.close()

    run(body())


@pytest.mark.parametrize("standin", STANDINS)
def test_keep_alive_timeout_default_and_checks(
    standin: type[StandInExchange | SpotExchange],
) -> None:
    assert standin(tls=False).keepalive_timeout == 60.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="keepalive_timeout"):
            standin(tls=False, keepalive_timeout=bad)
    for port in (-1, 65536, 99999):
        with pytest.raises(ValueError, match="port"):
            standin(tls=False, port=port)


@pytest.mark.parametrize("api", ["legacy", "spot"])
def test_cli_sets_the_keep_alive_timeout(api: str) -> None:
    with cli("exchange", "--api", api, "--no-tls", "--keepalive-timeout", "0.3") as text:
        assert "closed after 0.3 s" in text
        url = text.split("exchange: ", 1)[1].split()[0]
        host, port = url.removeprefix("http://").rsplit(":", 1)

        async def idle_until_closed() -> bytes:
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                await get_trace(reader, writer)
                return await asyncio.wait_for(reader.read(), timeout=30)
            finally:
                writer.close()

        assert asyncio.run(idle_until_closed()) == b""


def test_the_bench_child_serves_on_polo_fast_loop() -> None:
    pytest.importorskip("uvloop")
    from polo_fast.bench.server import ExchangeProcess

    with ExchangeProcess(make_keys(1), []) as info:
        assert info.loop == "uvloop"
        ctx = ssl.create_default_context(cafile=info.ca_path)
        with urllib.request.urlopen(info.url + "/cdn-cgi/trace", context=ctx, timeout=10) as r:
            assert r.status == 200
