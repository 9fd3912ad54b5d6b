"""Signing benchmark: body + Sign for one order, polo_fast against the stdlib path.

The order is ``command=buy, currencyPair=BTC_ETH, rate=0.01234567, amount=1.5,
fillOrKill=1, nonce=154264078495300`` (str values, a dict in wire order, as a bot or the
client passes it). Rows:

- ``polo_fast_c``: ``Signer.encode_and_sign`` on the cffi backend (one C call);
- ``polo_fast_c_pairs``: the same order as a list of ``(name, value)`` tuples;
- ``polo_fast_c_typed``: the same with ``Decimal`` rate, ``float`` amount and ``int`` flag;
- ``polo_fast_pure``: the pure-Python backend;
- ``stdlib``: ``urlencode`` + ``hmac.new(secret, body, hashlib.sha512).hexdigest()``;
- ``stdlib_typed``: the same on the typed order (``urlencode`` writes ``str()`` of each);
- ``stdlib_hmac_copy``: ``urlencode`` + a pre-keyed ``hmac`` object ``copy()``-ed per call.

And the whole HTTP request (head + ``Content-Length`` + ``Sign`` line + body), as the lean
lane writes it:

- ``polo_fast_c_request``: ``Signer.encode_sign_request(head, dict_of_str, nonce)``, one C
  call for everything;
- ``polo_fast_c_lane``: the client's hot path: the C field buffer its compiled argument
  check produces, through the lane's bound ``Signer._fields_request(head)`` (no dict, no
  join, no per-thread pool);
- ``stdlib_request``: ``urlencode`` + ``hmac.new`` + the same bytes joined in Python.

The C-only floor is ``benchmarks/floor_sign`` (``make bench-sign`` runs both). Run:
``.venv/bin/python -m pytest benchmarks/bench_sign.py --benchmark-only
--benchmark-columns=median,iqr,mean,ops -q``. Each row first checks its output against the
stdlib reference, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from polo_fast import signing
from polo_fast.signing import Signer

SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 4
KEY = SECRET.encode()
NONCE = 154264078495300
ORDER = {
    "command": "buy",
    "currencyPair": "BTC_ETH",
    "rate": "0.01234567",
    "amount": "1.5",
    "fillOrKill": "1",
}
ORDER_TYPED: dict[str, Any] = {
    "command": "buy",
    "currencyPair": "BTC_ETH",
    "rate": Decimal("0.01234567"),
    "amount": 1.5,
    "fillOrKill": 1,
}
EXPECTED_BODY = (
    b"command=buy&currencyPair=BTC_ETH&rate=0.01234567&amount=1.5&fillOrKill=1"
    b"&nonce=154264078495300"
)
EXPECTED = (EXPECTED_BODY, hmac.new(KEY, EXPECTED_BODY, hashlib.sha512).hexdigest())


def stdlib(params: dict[str, Any], nonce: int) -> tuple[bytes, str]:
    """What bots write today: urlencode, then HMAC keyed from scratch."""
    body = urlencode({**params, "nonce": nonce}).encode()
    return body, hmac.new(KEY, body, hashlib.sha512).hexdigest()


_KEYED = hmac.new(KEY, digestmod=hashlib.sha512)


def stdlib_hmac_copy(params: dict[str, Any], nonce: int) -> tuple[bytes, str]:
    """urlencode, then a copy of a pre-keyed hmac object."""
    body = urlencode({**params, "nonce": nonce}).encode()
    h = _KEYED.copy()
    h.update(body)
    return body, h.hexdigest()


def _run(benchmark: Any, fn: Callable[[Any, int], tuple[bytes, str]], params: Any) -> None:
    assert fn(params, NONCE) == EXPECTED
    benchmark.pedantic(fn, args=(params, NONCE), rounds=200, iterations=2000, warmup_rounds=5)


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_polo_fast_c(benchmark: Any) -> None:
    _run(benchmark, Signer(SECRET, backend="cffi").encode_and_sign, ORDER)


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_polo_fast_c_pairs(benchmark: Any) -> None:
    _run(benchmark, Signer(SECRET, backend="cffi").encode_and_sign, list(ORDER.items()))


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_polo_fast_c_typed(benchmark: Any) -> None:
    _run(benchmark, Signer(SECRET, backend="cffi").encode_and_sign, ORDER_TYPED)


def test_polo_fast_pure(benchmark: Any) -> None:
    _run(benchmark, Signer(SECRET, backend="python").encode_and_sign, ORDER)


def test_stdlib(benchmark: Any) -> None:
    _run(benchmark, stdlib, ORDER)


def test_stdlib_typed(benchmark: Any) -> None:
    _run(benchmark, stdlib, ORDER_TYPED)


def test_stdlib_hmac_copy(benchmark: Any) -> None:
    _run(benchmark, stdlib_hmac_copy, ORDER)


HEAD = (
    b"POST /tradingApi HTTP/1.1\r\nHost: poloniex.com\r\nKey: BENCHKEY-00000000-11111111\r\n"
    b"User-Agent: polo_fast/0.1\r\nAccept: application/json\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
)
EXPECTED_REQUEST = (
    HEAD
    + str(len(EXPECTED_BODY)).encode()
    + b"\r\nSign: "
    + EXPECTED[1].encode()
    + b"\r\n\r\n"
    + EXPECTED_BODY
)
FIELDS = b"command\0currencyPair\0rate\0amount\0fillOrKill\0buy\0BTC_ETH\x000.01234567\x001.5\x001"


def stdlib_request(params: dict[str, Any], nonce: int) -> bytes:
    """urlencode + hmac.new, then the request joined in Python."""
    body, sign = stdlib(params, nonce)
    return b"".join((HEAD, b"%d" % len(body), b"\r\nSign: ", sign.encode(), b"\r\n\r\n", body))


def _run_request(benchmark: Any, fn: Callable[..., bytes], *args: Any) -> None:
    assert fn(*args) == EXPECTED_REQUEST
    benchmark.pedantic(fn, args=args, rounds=200, iterations=2000, warmup_rounds=5)


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_polo_fast_c_request(benchmark: Any) -> None:
    _run_request(benchmark, Signer(SECRET, backend="cffi").encode_sign_request, HEAD, ORDER, NONCE)


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_polo_fast_c_lane(benchmark: Any) -> None:
    lane = Signer(SECRET, backend="cffi")._fields_request(HEAD)
    _run_request(benchmark, lane, FIELDS, 5, NONCE)


def test_stdlib_request(benchmark: Any) -> None:
    _run_request(benchmark, stdlib_request, ORDER, NONCE)
