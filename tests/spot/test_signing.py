"""polo_fast.spot.signing: the Spot signature through the public API, on both backends.

Every behavioural test runs on each importable backend (``backend`` fixture: ``cffi`` when
compiled, ``python``) and the two are compared byte for byte. The references are
independent of the code under test: the spec's vectors (poloniex-spot-api.md §2.4), a
plain-Python string to sign (``urllib.parse.quote(v, safe="")``, ccxt 4.5.90's encoding) with
``hmac`` + ``base64``, the ``openssl`` CLI, ccxt's own ``poloniex.sign()`` and the Spot
stand-in's judge. The references and the generated inputs are the ones ``tests/test_spot_c.py``
checks the C route with, so both files hold the route to the same rules.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polo_fast
import polo_fast.spot
from polo_fast import _binding
from polo_fast.errors import SigningError, SigningTypeError
from polo_fast.spot import signing
from polo_fast.spot.signing import Signer
from polo_fast.testing.spot._auth import signature_ok, strings_to_sign
from tests.conftest import make_secret
from tests.test_signing import _frame_locals
from tests.test_spot_c import (
    HEAD,
    SIGNATURES,
    SPEC_SECRET,
    V6_PARAMS,
    V6R_SIGNATURE,
    V6R_STRING,
    VECTORS,
    SpotInput,
    openssl_sign,
    py_request,
    py_sign,
    py_string_to_sign,
    spot_inputs,
)

TS = 1700000000000


@pytest.fixture(params=signing.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each importable backend: ``cffi`` (when compiled) and ``python``."""
    return str(request.param)


def signers(secret: str | bytes) -> list[Signer]:
    """One signer per importable backend."""
    return [Signer(secret, backend=b) for b in signing.BACKENDS]


# ---------------------------------------------------------------- backends and exports


def test_backend_reported_and_exported() -> None:
    assert signing.BACKENDS[0] == signing.BACKEND
    if _binding.SPOT_AVAILABLE:
        assert signing.BACKEND == "cffi"  # the compiled route is live when it is built
    assert polo_fast.spot.sign is signing.sign
    assert polo_fast.spot.Signer is Signer
    assert polo_fast.spot.BACKEND == signing.BACKEND
    assert sorted(polo_fast.spot.__all__) == ["BACKEND", "Client", "Signer", "sign"]
    with pytest.raises(AttributeError):
        polo_fast.spot.nothing  # noqa: B018


def test_pure_forced_by_environment_and_the_package_loads_the_signer_lazily() -> None:
    code = (
        "import sys, polo_fast.spot as s\n"
        "assert 'polo_fast.spot.signing' not in sys.modules\n"
        "print(s.BACKEND, s.Signer('k').backend)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "POLO_FAST_PURE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["python", "python"]


def test_sizes_and_refusals_come_from_the_compiled_module() -> None:
    if not _binding.SPOT_AVAILABLE:
        pytest.skip("compiled module missing")
    lib = _binding.lib
    assert _binding.SPOT_MAX_PARAMS == lib.POLO_SPOT_MAX_PARAMS
    codes = {n[len("POLO_SPOT_ERR_") :] for n in dir(lib) if n.startswith("POLO_SPOT_ERR_")}
    assert codes == set(_binding.SPOT_REFUSALS)
    assert len(_binding.SPOT_ERRORS) == len(codes)  # no two codes share a value


# ---------------------------------------------------------------- the spec's vectors


@pytest.mark.parametrize("vid", list(VECTORS))
def test_spec_vectors_through_the_public_api(backend: str, vid: str) -> None:
    method, path, params, body, ts = VECTORS[vid]
    secret = "poloniex-api-secret" if vid == "V10" else SPEC_SECRET
    signer = Signer(secret, backend=backend)
    assert signer.sign(method, path, params or None, body, ts) == SIGNATURES[vid]
    assert signer.string_to_sign(method, path, params, body, ts) == py_string_to_sign(
        method, path, params, body, ts
    )
    if backend == signing.BACKEND:  # the one-liner, with str bodies and dict params too
        text = None if body is None else body.decode()
        assert polo_fast.spot.sign(secret, method, path, dict(params), text, ts) == SIGNATURES[vid]


def test_v6r_is_the_raw_form_polo_fast_does_not_sign(backend: str) -> None:
    """Reading of spec §7 #3: values are RFC 3986-encoded as ccxt signs them (V6), so the
    raw form V6r (a valid HMAC of another string) is never produced."""
    assert py_sign(SPEC_SECRET.encode(), V6R_STRING) == V6R_SIGNATURE
    signer = Signer(SPEC_SECRET, backend=backend)
    sts = signer.string_to_sign("GET", "/trades", V6_PARAMS, timestamp=TS)
    assert sts.endswith(b"symbols=BTC_USDT%2CETH_USDT") and sts != V6R_STRING
    assert signer.sign("GET", "/trades", V6_PARAMS, timestamp=TS) == SIGNATURES["V6"]


# ---------------------------------------------------------------- generated inputs


def _as_given(params: list[tuple[str, str]], body: bytes | None, text: bool) -> Any:
    """The body as bytes or str (both signed alike), params as a dict."""
    return dict(params) or None, (body.decode() if text and body is not None else body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs(), text=st.booleans())
def test_string_signature_and_request_equal_the_reference(inp: SpotInput, text: bool) -> None:
    """Both backends: the string to sign, the signature and the lane's request equal the
    plain-Python reference, byte for byte."""
    method, path, params, body, ts = inp
    secret = make_secret()
    given_params, given_body = _as_given(params, body, text)
    sts = py_string_to_sign(method, path, params, body, ts)
    sig = py_sign(secret.encode(), sts)
    request = py_request(method, path, params, body, ts, sig)
    fields = b"\0".join([k.encode() for k, _ in params] + [v.encode() for _, v in params])
    for s in signers(secret):
        assert s.string_to_sign(method, path, given_params, given_body, ts) == sts
        assert s.sign(method, path, given_params, given_body, ts) == sig
        write = s._request_writer(HEAD)
        args = (method.encode(), path.encode(), fields, len(params), body, ts)
        if fields.count(b"\0") == max(2 * len(params) - 1, 0):
            assert write(*args) == request
        else:  # a NUL inside a part: the lane's checked fields never hold one
            with pytest.raises(SigningError, match="NUL"):
                write(*args)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs())
def test_signature_equals_openssl(inp: SpotInput) -> None:
    method, path, params, body, ts = inp
    secret = make_secret()
    for s in signers(secret):
        sts = s.string_to_sign(method, path, params, body, ts)
        assert s.sign(method, path, params, body, ts) == openssl_sign(secret.encode(), sts)


_ORDERS = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(["BTC_USDT", "ETH_USDT", "索拉拉_USDT"]),
        "side": st.sampled_from(["BUY", "SELL"]),
        "price": st.decimals(0, 10**6, places=8).map(str),
        "quantity": st.decimals(0, 1000, places=6).map(str),
    },
    optional={"clientOrderId": st.text(max_size=20), "allowBorrow": st.booleans()},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.one_of(_ORDERS, st.lists(_ORDERS, min_size=1, max_size=3)),
    method=st.sampled_from(["POST", "PUT", "DELETE"]),
    ts=st.integers(1_600_000_000_000, 1_900_000_000_000),
)
def test_orders_sign_as_ccxt_signs_them(order: Any, method: str, ts: int) -> None:
    """ccxt 4.5.90's own ``poloniex.sign()`` (clock pinned) and polo_fast sign the body ccxt
    sends alike (objects and batch arrays, unicode)."""
    ccxt = pytest.importorskip("ccxt")
    secret = make_secret()
    exchange = ccxt.poloniex({"apiKey": "K", "secret": secret})
    exchange.nonce = lambda: ts
    signed = exchange.sign("orders", ["private"], method, copy.deepcopy(order))
    for s in signers(secret):
        got = s.sign(method, "/orders", body=signed["body"], timestamp=ts)
        assert got == signed["headers"]["signature"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs())
def test_the_stand_in_judge_accepts_the_requests(inp: SpotInput) -> None:
    """The Spot stand-in's stdlib check (``polo_fast.testing.spot._auth``) accepts what
    both backends sign."""
    method, path, params, body, ts = inp
    secret = make_secret()
    candidates = strings_to_sign(method, [path], params, body or b"", str(ts))
    for s in signers(secret):
        assert signature_ok(secret.encode(), candidates, s.sign(method, path, params, body, ts))


def test_typed_values_are_written_as_plain_text(backend: str) -> None:
    """Decimal, float and int in plain decimal (polo_fast._format), bool as true/false
    (reading of spec §7 #18), tuples of pairs and mappings alike."""
    params: dict[str, Any] = {
        "a": Decimal("1E-8"),
        "b": 1e16,
        "c": 10**20,
        "d": True,
        "e": False,
        "f": Decimal("1.50"),
        "g": -0.0,
    }
    texts = [
        ("a", "0.00000001"),
        ("b", "10000000000000000"),
        ("c", "100000000000000000000"),
        ("d", "true"),
        ("e", "false"),
        ("f", "1.50"),
        ("g", "-0.0"),
    ]
    s = Signer("k", backend=backend)
    expected = py_string_to_sign("GET", "/x", texts, None, TS)
    assert s.string_to_sign("GET", "/x", params, timestamp=TS) == expected
    assert s.string_to_sign("GET", "/x", list(params.items()), timestamp=TS) == expected
    assert s.sign("GET", "/x", params, timestamp=TS) == py_sign(b"k", expected)


def test_reserved_characters_unicode_and_a_big_body(backend: str) -> None:
    s = Signer(SPEC_SECRET, backend=backend)
    params = {"q": "a b,c!*'()~é+/", "": "", "é": "索"}
    sts = s.string_to_sign("DELETE", "/a/b", params, timestamp=1)
    query = b"=&q=a%20b%2Cc%21%2A%27%28%29~%C3%A9%2B%2F&signTimestamp=1&%C3%A9=%E7%B4%A2"
    assert sts == b"DELETE\n/a/b\n" + query
    big = json.dumps([{"note": "é ü", "n": i} for i in range(4000)], ensure_ascii=False)
    assert len(big.encode()) > 100_000 > _binding.REQUEST_AREA
    sig = s.sign("POST", "/orders/batch", body=big, timestamp=TS)
    assert sig == py_sign(
        SPEC_SECRET.encode(), py_string_to_sign("POST", "/orders/batch", [], big.encode(), TS)
    )
    request = s._request_writer(HEAD)(b"POST", b"/orders/batch", b"", 0, big.encode(), TS)
    assert request == py_request("POST", "/orders/batch", [], big.encode(), TS, sig)


def test_the_default_timestamp_is_now_in_ms(backend: str) -> None:
    from time import time_ns

    s = Signer("k", backend=backend)
    before = time_ns() // 1_000_000
    got = s.sign("GET", "/accounts")
    after = time_ns() // 1_000_000
    assert after - before < 60_000
    assert got in {s.sign("GET", "/accounts", timestamp=t) for t in range(before, after + 1)}


# ---------------------------------------------------------------- refusals


_BAD: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"params": {"p": float("nan")}}, SigningError, "'p'.*NaN"),
    ({"params": {"p": float("inf")}}, SigningError, "'p'.*NaN and infinities"),
    ({"params": {"p": Decimal("-Infinity")}}, SigningError, "'p'.*infinities"),
    ({"params": {"p": None}}, SigningTypeError, "'p'.*None"),
    ({"params": {"p": b"x"}}, SigningTypeError, "'p'.*bytes"),
    ({"params": {"p": [1, 2]}}, SigningTypeError, "'p'"),
    ({"params": [("p", "1"), ("p", "2")]}, SigningError, "'p' is given twice"),
    ({"params": {"signTimestamp": "1"}}, SigningError, "signTimestamp.*timestamp="),
    ({"params": {str(i): i for i in range(65)}}, SigningError, "more than 64 parameters"),
    ({"params": [("p",)]}, SigningTypeError, "pairs"),
    ({"params": {1: "x"}}, SigningTypeError, "names must be str"),
    ({"params": "p=1"}, SigningTypeError, "mapping or a sequence"),
    ({"params": {"p": "\ud800"}}, SigningError, "UTF-8"),
    ({"method": "get"}, SigningError, "method must be 'GET'"),
    ({"method": "PATCH"}, SigningError, "method must be 'GET'"),
    ({"method": b"GET"}, SigningTypeError, "method must be str"),
    ({"path": "orders"}, SigningError, "path must start with '/'"),
    ({"path": ""}, SigningError, "path must start with '/'"),
    ({"path": "/orders?limit=5"}, SigningError, "path must"),
    ({"path": "/a b"}, SigningError, "path must"),
    ({"path": "/a#b"}, SigningError, "path must"),
    ({"path": "/é"}, SigningError, "path must"),
    ({"path": "/a\0"}, SigningError, "path must"),
    ({"path": b"/orders"}, SigningTypeError, "path must be str"),
    ({"method": "GET", "body": "{}"}, SigningError, "a body with GET"),
    ({"body": "{}", "params": {"a": "1"}}, SigningError, "body and params"),
    # empty: no body on the wire (Content-Length: 0), which the exchange checks against
    # "signTimestamp=<ts>" alone, never "requestBody=&signTimestamp=<ts>"
    ({"body": ""}, SigningError, "an empty body"),
    ({"body": b""}, SigningError, "an empty body"),
    ({"body": {"a": 1}}, SigningTypeError, "serialise it first"),
    ({"body": "\udc80"}, SigningError, "UTF-8"),
    ({"timestamp": True}, SigningTypeError, "timestamp must be an int"),
    ({"timestamp": 1.5}, SigningTypeError, "timestamp must be an int"),
    ({"timestamp": -1}, SigningError, r"timestamp must be in 0 \.\. 2\*\*64-1"),
    ({"timestamp": 2**64}, SigningError, r"timestamp must be in 0 \.\. 2\*\*64-1"),
]


@pytest.mark.parametrize(("change", "exc", "match"), _BAD)
def test_bad_inputs_are_refused_before_signing_alike(
    change: dict[str, Any], exc: type[Exception], match: str
) -> None:
    """Each bad input raises the same error, with the same words, on both backends (on the
    fast body route and the general one)."""
    args: dict[str, Any] = {"method": "POST", "path": "/orders", "timestamp": TS, **change}
    if "params" not in change:
        args.setdefault("body", b"{}")
    errors = []
    for s in signers("k"):
        for call in (s.sign, s.string_to_sign):
            with pytest.raises(exc, match=match) as info:
                call(**args)
            assert "nothing was signed" in str(info.value) or "longer" in str(info.value)
            errors.append((type(info.value), str(info.value)))
    assert len(set(errors)) == 1, errors


def test_the_request_writer_refuses_alike(backend: str) -> None:
    write = Signer("k", backend=backend)._request_writer(HEAD)
    cases: list[tuple[tuple[Any, ...], type[Exception], str]] = [
        ((b"GET", b"/x", b"a\0b", 1, None, -1), SigningError, "timestamp must be in"),
        ((b"GET", b"/x", b"a\0b", 1, None, True), SigningTypeError, "timestamp must be an int"),
        ((b"PATCH", b"/x", b"", 0, None, 1), SigningError, "method must"),
        ((b"GET", b"x", b"", 0, None, 1), SigningError, "path must"),
        ((b"GET", b"/x", b"", 0, b"{}", 1), SigningError, "a body with GET"),
        ((b"POST", b"/x", b"a\0b", 1, b"{}", 1), SigningError, "body and params"),
        ((b"GET", b"/x", b"a\0a\0b\0c", 2, None, 1), SigningError, "given twice"),
        ((b"GET", b"/x", b"signTimestamp\x001", 1, None, 1), SigningError, "signTimestamp"),
        ((b"GET", b"/x", b"a\0b\0c", 1, None, 1), SigningError, "NUL"),
    ]
    for args, exc, match in cases:
        with pytest.raises(exc, match=match):
            write(*args)
    with pytest.raises(SigningTypeError, match="head must be bytes"):
        Signer("k", backend=backend)._request_writer("Host: x\r\n")  # type: ignore[arg-type]


def test_bad_secrets_and_backends(backend: str) -> None:
    for secret, exc in (
        ("", SigningError),
        (b"", SigningError),
        ("é", SigningError),
        (1, TypeError),
    ):
        with pytest.raises(exc):
            Signer(secret, backend=backend)  # type: ignore[arg-type]
    with pytest.raises(SigningError, match="backend must be"):
        Signer("k", backend="rust")


# ---------------------------------------------------------------- the secret stays hidden


def test_repr_pickle_copy_and_traceback_frames(backend: str) -> None:
    secret = make_secret()
    s = Signer(secret, backend=backend)
    assert secret not in repr(s) and backend in repr(s) and "spot" in repr(s)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)
    assert copy.copy(s) is s and copy.deepcopy(s) is s
    refused = secret[:-1] + "é"  # not ASCII: refused
    for call in (
        lambda: Signer(refused, backend=backend),
        lambda: polo_fast.spot.sign(refused, "GET", "/x", timestamp=1),
    ):
        with pytest.raises(SigningError) as info:
            call()
        assert not [v for v in _frame_locals(info.value) if secret[:-1] in v]
    with pytest.raises(SigningError) as info:
        polo_fast.spot.sign(secret, "GET", "/x", {"p": float("nan")}, timestamp=1)
    assert not [v for v in _frame_locals(info.value) if secret in v]


def test_threads_share_one_signer(backend: str) -> None:
    """The pooled signature areas: threads signing at once each get their own answer."""
    s = Signer("k", backend=backend)
    v3 = VECTORS["V3"][3]
    assert v3 is not None
    bodies = [v3[:-1] + b',"n":%d}' % i for i in range(8)]
    expected = [py_sign(b"k", py_string_to_sign("POST", "/orders", [], b, TS)) for b in bodies]
    failures: list[int] = []

    def work(t: int) -> None:
        for i in range(300):
            k = (t + i) % len(bodies)
            if s.sign("POST", "/orders", body=bodies[k], timestamp=TS) != expected[k]:
                failures.append(k)

    # .result() re-raises a worker's exception: a thread that died fails the test
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(work, t) for t in range(4)]:
            done.result(timeout=120)
    assert failures == []


def test_a_post_or_put_without_a_body_says_content_length_0(backend: str) -> None:
    """RFC 9110 8.6: a POST or PUT with no content still sends ``Content-Length: 0`` (a front
    end may answer 411 without it); GET and DELETE do not; the string to sign is the
    no-body rule, ``signTimestamp=<ts>`` alone."""
    s = Signer(make_secret(), backend=backend)
    write = s._request_writer(b"Host: api.poloniex.com\r\nkey: K\r\n")
    for method, expected in (("POST", True), ("PUT", True), ("DELETE", False), ("GET", False)):
        request = write(method.encode(), b"/orders/1", b"", 0, None, TS)
        head, _, rest = request.partition(b"\r\n\r\n")
        assert rest == b""
        assert (b"\r\nContent-Length: 0" in head) is expected, (method, head)
        assert b"Content-Type" not in head
        sts = s.string_to_sign(method, "/orders/1", None, None, TS)
        assert sts == f"{method}\n/orders/1\nsignTimestamp={TS}".encode()
