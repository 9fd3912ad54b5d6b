"""Spot signing benchmark: one ``POST /orders`` signature, polo_fast against ccxt and stdlib.

The order is the 6-field limit order of ``benchmarks/floor_spot.c`` (``symbol, side, type,
price, quantity, clientOrderId``, str values), signed at ``signTimestamp=1700000000000`` with
a 128-character secret. Rows (issue 11's targets in brackets):

- ``polo_fast_c``: ``orjson.dumps(order)`` + ``polo_fast.spot.Signer.sign("POST", "/orders",
  body=..., timestamp=...)`` on the cffi backend [>= 8x ccxt, >= 5x stdlib];
- ``polo_fast_pure``: the same on the pure-Python backend;
- ``ccxt``: ccxt 4.5.90's own ``poloniex().sign("orders", ["private"], "POST", order)`` with
  its clock pinned (it builds the same compact body and signs it: ``hmac.new`` per call);
- ``stdlib``: ``json.dumps(order, separators=(",", ":"))`` + ``hmac.new(secret, ...,
  sha256)`` + ``base64``.

And the whole HTTP/1.1 request (request line, head, ``signTimestamp``, ``signature``,
``Content-Type``, ``Content-Length``, body) from a prebuilt body, as a lane writes it:

- ``polo_fast_c_lane``: the writer of ``Signer._request_writer(head)``, one C call
  [within 2x of ``request`` in ``benchmarks/floor_spot``, the same call from a C loop];
- ``polo_fast_pure_lane``: the pure writer;
- ``stdlib_request``: ``hmac.new`` + ``base64`` + the request joined in Python.

Every row first checks its output against the stdlib reference, so a fast wrong answer
cannot pass. Run (best of several interleaved runs on a shared machine, see README):
``.venv/bin/python -m pytest benchmarks/bench_spot_sign.py --benchmark-only
--benchmark-columns=min,median,iqr,ops -q``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from polo_fast.spot import signing
from polo_fast.spot.signing import Signer

SECRET = "0123456789abcdef" * 8
KEY = SECRET.encode()
TS = 1700000000000
ORDER = {
    "symbol": "BTC_USDT",
    "side": "BUY",
    "type": "LIMIT",
    "price": "30000",
    "quantity": "0.001",
    "clientOrderId": "pf-1700000000000-0001",
}
BODY = orjson.dumps(ORDER)
HEAD = b"Host: api.poloniex.com\r\nkey: A1B2C3D4-E5F6A7B8-C9D0E1F2-A3B4C5D6\r\n"
EXPECTED = base64.b64encode(
    hmac.new(
        KEY, b"POST\n/orders\nrequestBody=%s&signTimestamp=%d" % (BODY, TS), hashlib.sha256
    ).digest()
).decode()
EXPECTED_REQUEST = (
    b"POST /orders HTTP/1.1\r\n%ssignTimestamp: %d\r\nsignature: %s\r\nContent-Type: "
    b"application/json\r\nContent-Length: %d\r\n\r\n%s"
    % (HEAD, TS, EXPECTED.encode(), len(BODY), BODY)
)

needs_cffi = pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")


def _run(benchmark: Any, fn: Callable[[], Any], expected: Any, iterations: int = 2000) -> None:
    assert fn() == expected
    benchmark.pedantic(fn, rounds=100, iterations=iterations, warmup_rounds=5)


def _signer_row(backend: str) -> Callable[[], str]:
    sign = Signer(SECRET, backend=backend).sign
    dumps = orjson.dumps

    def row() -> str:
        return sign("POST", "/orders", body=dumps(ORDER), timestamp=TS)

    return row


def stdlib() -> str:
    """What a bot writes today: compact json.dumps, hmac.new keyed per call, base64."""
    body = json.dumps(ORDER, separators=(",", ":"))
    message = f"POST\n/orders\nrequestBody={body}&signTimestamp={TS}".encode()
    return base64.b64encode(hmac.new(KEY, message, hashlib.sha256).digest()).decode()


@needs_cffi
def test_polo_fast_c(benchmark: Any) -> None:
    _run(benchmark, _signer_row("cffi"), EXPECTED)


def test_polo_fast_pure(benchmark: Any) -> None:
    _run(benchmark, _signer_row("python"), EXPECTED)


def test_ccxt(benchmark: Any) -> None:
    ccxt = pytest.importorskip("ccxt")
    exchange = ccxt.poloniex({"apiKey": "A1B2C3D4-E5F6A7B8-C9D0E1F2-A3B4C5D6", "secret": SECRET})
    exchange.nonce = lambda: TS  # its clock pinned: the same signTimestamp

    def row() -> str:
        signed = exchange.sign("orders", ["private"], "POST", ORDER)
        assert signed["body"] == BODY.decode()  # the same body, signed and sent
        return signed["headers"]["signature"]  # type: ignore[no-any-return]

    _run(benchmark, row, EXPECTED, iterations=200)


def test_stdlib(benchmark: Any) -> None:
    _run(benchmark, stdlib, EXPECTED)


@needs_cffi
def test_polo_fast_c_lane(benchmark: Any) -> None:
    write = Signer(SECRET, backend="cffi")._request_writer(HEAD)
    _run(benchmark, lambda: write(b"POST", b"/orders", b"", 0, BODY, TS), EXPECTED_REQUEST)


def test_polo_fast_pure_lane(benchmark: Any) -> None:
    write = Signer(SECRET, backend="python")._request_writer(HEAD)
    _run(benchmark, lambda: write(b"POST", b"/orders", b"", 0, BODY, TS), EXPECTED_REQUEST)


def stdlib_request() -> bytes:
    """hmac.new + base64 over the prebuilt body, then the request joined in Python."""
    message = b"POST\n/orders\nrequestBody=%s&signTimestamp=%d" % (BODY, TS)
    sig = base64.b64encode(hmac.new(KEY, message, hashlib.sha256).digest())
    return b"".join(
        (
            b"POST /orders HTTP/1.1\r\n",
            HEAD,
            b"signTimestamp: %d\r\nsignature: %s\r\n" % (TS, sig),
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY),
            BODY,
        )
    )


def test_stdlib_request(benchmark: Any) -> None:
    _run(benchmark, stdlib_request, EXPECTED_REQUEST)
