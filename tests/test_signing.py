"""polo_fast.signing: bodies equal urllib.parse.urlencode, signs equal hmac and openssl.

Every behavioural test runs on both backends (``backend`` fixture) and the two are compared
byte for byte; the C-level return codes are exercised through the ffi directly.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import pickle
import shutil
import subprocess
import sys
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polo_fast
from polo_fast import signing
from polo_fast.signing import Signer, SigningError, SigningTypeError, format_value
from tests.conftest import make_secret

SPEC_SECRET = (
    "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
    "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)
SPEC_VECTORS = [
    (
        [("command", "returnBalances")],
        1700000000000,
        b"command=returnBalances&nonce=1700000000000",
        "f15c6b13dea384a0cec25b361437025359a33adb70fddcb2c974469804f4ed26"
        "a8ef0e156d1e20e68a98bf45c238e32b6c106aa8c47df77e32ca7e97e719e0cf",
    ),
    (
        [("command", "buy"), ("currencyPair", "BTC_ETH"), ("rate", "0.025"), ("amount", "2")],
        1700000000001,
        b"command=buy&currencyPair=BTC_ETH&rate=0.025&amount=2&nonce=1700000000001",
        "b2957d07090a3f6a2a42b9a415f63b17c40cfa953c7d1072a84c92cdf15843e7"
        "0097c158bbef17fadd2af61fa4f11565cc449f488b1a09602fc68af7df27cc66",
    ),
    (
        [],
        1700000000002,
        b"nonce=1700000000002",
        "d3e62dacb36011ca7d0a25e299d35955bf67c21a054c1e50a86966131674e1d1"
        "f598bdba3b58177b9b42e7e7a61cc3f756a2a26e085ff6947500b14d56f0a95c",
    ),
]


@pytest.fixture(params=signing.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each importable backend: ``cffi`` (when compiled) and ``python``."""
    return str(request.param)


def reference(secret: str | bytes, pairs: list[tuple[str, str]], nonce: int) -> tuple[bytes, str]:
    """The stdlib path: urlencode + hmac."""
    key = secret.encode() if isinstance(secret, str) else secret
    body = urlencode([*pairs, ("nonce", nonce)]).encode()
    return body, hmac.new(key, body, hashlib.sha512).hexdigest()


def openssl_hmac(secret: str, body: bytes) -> str:
    """``openssl dgst -sha512 -hmac SECRET`` of ``body``, prefix stripped."""
    out = subprocess.run(
        ["openssl", "dgst", "-sha512", "-hmac", secret],
        input=body,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().rsplit("= ", 1)[-1]


# ---------------------------------------------------------------- references


def test_backend_reported() -> None:
    assert signing.BACKEND in ("cffi", "python")
    assert signing.BACKENDS[0] == signing.BACKEND
    if os.environ.get("POLO_FAST_PURE", "") not in ("", "0"):
        assert signing.BACKEND == "python"
    assert polo_fast.Signer is Signer
    assert polo_fast.sign is signing.sign


def test_pure_forced_by_environment() -> None:
    code = "import polo_fast.signing as s; print(s.BACKEND, s.Signer('k').backend)"
    env = {**os.environ, "POLO_FAST_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["python", "python"]


@pytest.mark.parametrize(("pairs", "nonce", "body", "sig"), SPEC_VECTORS)
def test_spec_vectors(
    backend: str, pairs: list[tuple[str, str]], nonce: int, body: bytes, sig: str
) -> None:
    s = Signer(SPEC_SECRET, backend=backend)
    assert s.encode_and_sign(pairs, nonce) == (body, sig)
    assert s.encode_and_sign(dict(pairs), nonce) == (body, sig)
    assert s.sign(body) == sig
    assert s.sign(bytearray(body)) == sig
    assert s.sign(memoryview(body)) == sig


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
def test_openssl_cli_docs_example(backend: str) -> None:
    secret = make_secret()
    s = Signer(secret, backend=backend)
    body, sig = s.encode_and_sign({"command": "returnBalances"}, 154264078495300)
    assert body == b"command=returnBalances&nonce=154264078495300"
    assert sig == openssl_hmac(secret, body)
    assert len(sig) == 128 and sig == sig.lower()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
def test_openssl_cli_random_bodies(backend: str) -> None:
    rnd = __import__("random").Random(1234)
    for size in (0, 1, 111, 112, 127, 128, 129, 239, 240, 1000, 5000):
        secret = make_secret()
        body = bytes(rnd.randrange(256) for _ in range(size))
        assert Signer(secret, backend=backend).sign(body) == openssl_hmac(secret, body)


def test_long_and_short_keys(backend: str) -> None:
    for key in (b"k", b"x" * 127, b"x" * 128, b"x" * 129, bytes(range(256)) * 3):
        s = Signer(key, backend=backend)
        body = b"command=returnBalances&nonce=1"
        assert s.sign(body) == hmac.new(key, body, hashlib.sha512).hexdigest()


# ---------------------------------------------------------------- bodies

_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),  # lone surrogates: tested apart
    max_size=40,
)
_special = st.sampled_from(["", " ", "&", "=", "+", "%", "#", "a b&c=d+e%f#g", "\0", "é€😀"])
_value = st.one_of(_text, _special, st.text(alphabet="ab &=+%#\0", max_size=12))
# each name once: a name given twice is refused (test_a_name_given_twice_is_refused)
_params = st.lists(
    st.tuples(_value.filter(lambda n: n != "nonce"), _value),
    max_size=12,
    unique_by=lambda pair: pair[0],
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=_params, nonce=st.integers(min_value=0, max_value=2**64 - 1))
def test_body_equals_urlencode(pairs: list[tuple[str, str]], nonce: int) -> None:
    secret = "s3cret"
    expected = reference(secret, pairs, nonce)
    results = [Signer(secret, backend=b).encode_and_sign(pairs, nonce) for b in signing.BACKENDS]
    for got in results:
        assert got == expected
    for b in signing.BACKENDS:
        assert Signer(secret, backend=b).encode_and_sign(dict(pairs), nonce) == expected


def test_big_values_and_many_params(backend: str) -> None:
    s = Signer("k", backend=backend)
    big = [("command", "x"), ("memo", "é &=+%#\0" * 1300), ("blob", "z" * 10_000)]
    assert s.encode_and_sign(big, 1) == reference("k", big, 1)
    many = [(f"p{i}", f"v {i}&") for i in range(500)]
    assert s.encode_and_sign(many, 2) == reference("k", many, 2)
    assert s.encode_and_sign(dict(many), 2) == reference("k", many, 2)


def test_backends_agree_on_typed_values() -> None:
    params: list[tuple[str, Any]] = [
        ("command", "buy"),
        ("currencyPair", "BTC_ETH"),
        ("rate", Decimal("0.01234567")),
        ("amount", 1.5),
        ("fillOrKill", 1),
        ("tiny", 1e-8),
        ("big", Decimal("1E+3")),
    ]
    bodies = {Signer("k", backend=b).encode_and_sign(params, 9) for b in signing.BACKENDS}
    assert len(bodies) == 1
    body = bodies.pop()[0]
    assert body == (
        b"command=buy&currencyPair=BTC_ETH&rate=0.01234567&amount=1.5&fillOrKill=1"
        b"&tiny=0.00000001&big=1000&nonce=9"
    )


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        (0, "0"),
        (-5, "-5"),
        (2**70, str(2**70)),
        (Decimal("0.01234567"), "0.01234567"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("1.50"), "1.50"),
        (Decimal("-0"), "-0"),
        (0.1, "0.1"),
        (1.5, "1.5"),
        (1e-8, "0.00000001"),
        (1.23e-7, "0.000000123"),
        (1e16, "10000000000000000"),
        (1e22, "10000000000000000000000"),
        (-0.0, "-0.0"),
        (123456.789, "123456.789"),
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value("x", value) == text


def test_format_value_subclasses() -> None:
    import enum

    class Side(str, enum.Enum):
        BUY = "buy"

    class Level(enum.IntEnum):
        ONE = 1

    class F(float):
        pass

    assert format_value("x", Side.BUY) == "buy"
    assert format_value("x", Level.ONE) == "1"
    assert format_value("x", F(2.5e-9)) == "0.0000000025"


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (True, SigningTypeError),
        (False, SigningTypeError),
        (None, SigningTypeError),
        (float("nan"), SigningError),
        (float("inf"), SigningError),
        (float("-inf"), SigningError),
        (Decimal("NaN"), SigningError),
        (Decimal("sNaN"), SigningError),
        (Decimal("Infinity"), SigningError),
        (b"bytes", SigningTypeError),
        (bytearray(b"x"), SigningTypeError),
        (memoryview(b"x"), SigningTypeError),
        ([1], SigningTypeError),
        ((1,), SigningTypeError),
        ({"a": 1}, SigningTypeError),
        ({1}, SigningTypeError),
        (object(), SigningTypeError),
        (1 + 2j, SigningTypeError),
    ],
)
def test_rejected_values_name_the_parameter(backend: str, value: object, exc: type) -> None:
    s = Signer("k", backend=backend)
    for params in (
        {"command": "buy", "rate": value},
        [("command", "buy"), ("rate", value)],
    ):
        with pytest.raises(exc, match="'rate'") as info:
            s.encode_and_sign(params, 1)  # type: ignore[arg-type]
        assert isinstance(info.value, ValueError)
        assert "k" not in str(info.value).split("'rate'")[0][-3:]  # no secret echo


def test_bad_names_and_params(backend: str) -> None:
    s = Signer("k", backend=backend)
    bad: list[Any] = [
        {1: "x"},
        [(b"command", "x")],
        [(None, "x")],
        [("a", "b", "c")],
        [("a",)],
        ["ab"],
        "command=buy",
        b"command=buy",
        42,
        None,
    ]
    for params in bad:
        with pytest.raises(SigningTypeError):
            s.encode_and_sign(params, 1)
    nonce_params: list[Any] = [{"nonce": "5"}, [("command", "x"), ("nonce", 5)]]
    for params in nonce_params:
        with pytest.raises(SigningError, match="nonce"):
            s.encode_and_sign(params, 1)


def test_unencodable_text_names_the_parameter(backend: str) -> None:
    s = Signer("k", backend=backend)
    with pytest.raises(SigningError, match="'memo'"):
        s.encode_and_sign({"command": "x", "memo": "a\udc80b"}, 1)


def test_bad_nonces(backend: str) -> None:
    s = Signer("k", backend=backend)
    for nonce in (-1, 2**64, 2**80):
        with pytest.raises(SigningError, match="nonce"):
            s.encode_and_sign({"command": "x"}, nonce)
    bad: list[Any] = [1.0, "1", None, True, Decimal(1)]
    for nonce in bad:
        with pytest.raises(SigningTypeError, match="nonce"):
            s.encode_and_sign({"command": "x"}, nonce)
    assert s.encode_and_sign({}, 2**64 - 1)[0] == b"nonce=18446744073709551615"
    assert s.encode_and_sign({}, 0)[0] == b"nonce=0"


def test_bad_secrets(backend: str) -> None:
    for secret, exc in (
        ("", SigningError),
        (b"", SigningError),
        ("sécret", SigningError),
        (None, SigningTypeError),
        (123, SigningTypeError),
        (["k"], SigningTypeError),
    ):
        with pytest.raises(exc, match="secret"):
            Signer(secret, backend=backend)  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        Signer("k", backend="rust")


def test_bytes_secret_used_as_is(backend: str) -> None:
    key = bytes(range(256))
    body, sig = Signer(key, backend=backend).encode_and_sign({"command": "x"}, 1)
    assert sig == hmac.new(key, body, hashlib.sha512).hexdigest()


def test_sign_rejects_str_body(backend: str) -> None:
    with pytest.raises(SigningTypeError):
        Signer("k", backend=backend).sign("nonce=1")  # type: ignore[arg-type]


def test_repr_pickle_copy(backend: str) -> None:
    secret = make_secret()
    s = Signer(secret, backend=backend)
    assert secret not in repr(s) and secret[:8] not in repr(s)
    assert backend in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    assert copy.copy(s) is s and copy.deepcopy(s) is s
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]


def test_module_sign_one_liner() -> None:
    body, sig = polo_fast.sign(SPEC_SECRET, {"command": "returnBalances"}, 1700000000000)
    assert (body, sig) == SPEC_VECTORS[0][2:]
    b1, _ = polo_fast.sign("k", [("command", "returnBalances")])
    b2, _ = polo_fast.sign("k", [("command", "returnBalances")])
    n1 = int(b1.rsplit(b"=", 1)[1])
    n2 = int(b2.rsplit(b"=", 1)[1])
    assert n2 > n1 > 1_600_000_000_000


def test_threads_share_one_signer(backend: str) -> None:
    import concurrent.futures

    s = Signer("k", backend=backend)
    errors: list[str] = []

    def work(t: int) -> None:
        for i in range(300):
            params = {"command": "buy", "rate": f"{t}.{i}", "memo": "x" * (i * 17 % 5000)}
            if s.encode_and_sign(params, i) != reference("k", list(params.items()), i):
                errors.append(f"{t}/{i}")

    # .result() re-raises a worker's exception: a thread that died fails the test
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(work, t) for t in range(4)]:
            done.result(timeout=120)
    assert errors == []


# ---------------------------------------------------------------- the C API directly

needs_c = pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")


@needs_c
def test_c_return_codes() -> None:
    from polo_fast._polo_sign import ffi, lib

    key = b"k"
    s = ffi.gc(lib.polo_signer_new(key, 1), lib.polo_signer_free)
    assert lib.polo_signer_new(key, 0) == ffi.NULL
    assert lib.polo_signer_new(ffi.NULL, 5) == ffi.NULL
    assert ffi.string(lib.polo_route()) in (b"sha512-ctx", b"evp-md-ctx")

    fields = b"command\0rate\0buy\0" + b"0.5"
    expected = b"command=buy&rate=0.5&nonce=7"
    hexbuf = ffi.new("char[]", 129)
    # exact fit and every smaller capacity, with a guard region checked for overwrites
    for cap in range(len(expected) + 2, -1, -1):
        body = ffi.new("char[]", cap + 16)
        ffi.memmove(body, b"\xaa" * (cap + 16), cap + 16)
        rc = lib.polo_encode_and_sign(
            s, fields, len(fields), ffi.NULL, 2, 7, body, cap, hexbuf, 129
        )
        if cap >= len(expected):
            assert rc == len(expected)
            assert ffi.unpack(body, rc) == expected
            assert (
                ffi.string(hexbuf) == hmac.new(key, expected, hashlib.sha512).hexdigest().encode()
            )
        else:
            assert rc == lib.POLO_ERR_BODY_SPACE
        assert ffi.unpack(body + cap, 16) == b"\xaa" * 16

    body = ffi.new("char[]", 256)
    small_hex = ffi.new("char[]", 130)
    ffi.memmove(small_hex, b"\xbb" * 130, 130)
    rc = lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 7, body, 256, small_hex, 127)
    assert rc == lib.POLO_ERR_SIGN_SPACE
    assert ffi.unpack(small_hex, 130) == b"\xbb" * 130
    rc = lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 7, body, 256, small_hex, 128)
    assert rc == len(expected)
    assert ffi.unpack(small_hex + 128, 2) == b"\xbb\xbb"  # exactly 128: no NUL written
    assert lib.polo_sign(s, b"x", 1, small_hex, 127) == lib.POLO_ERR_SIGN_SPACE

    # bad arguments
    args = (fields, len(fields), ffi.NULL, 2, 7, body, 256, hexbuf, 129)
    assert lib.polo_encode_and_sign(ffi.NULL, *args) == lib.POLO_ERR_ARG
    assert (
        lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 7, ffi.NULL, 256, hexbuf, 129)
        == lib.POLO_ERR_ARG
    )
    assert (
        lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 7, body, 256, ffi.NULL, 129)
        == lib.POLO_ERR_ARG
    )
    assert (
        lib.polo_encode_and_sign(s, ffi.NULL, 3, ffi.NULL, 0, 7, body, 256, hexbuf, 129)
        == lib.POLO_ERR_ARG
    )
    assert lib.polo_sign(ffi.NULL, b"x", 1, hexbuf, 129) == lib.POLO_ERR_ARG
    assert lib.polo_sign(s, ffi.NULL, 1, hexbuf, 129) == lib.POLO_ERR_ARG
    assert lib.polo_sign(s, ffi.NULL, 0, hexbuf, 129) == lib.POLO_OK
    # separator count must be exactly 2n-1
    for n in (1, 3):
        assert (
            lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, n, 7, body, 256, hexbuf, 129)
            == lib.POLO_ERR_FIELDS
        )
    assert lib.polo_encode_and_sign(s, b"x", 1, ffi.NULL, 0, 7, body, 256, hexbuf, 129) == (
        lib.POLO_ERR_FIELDS
    )
    # lengths form: a NUL inside a value; lengths that do not add up
    parts = [b"command", b"memo", b"buy", b"a\0b"]
    data = b"".join(parts)
    lens = ffi.new("size_t[]", [len(p) for p in parts])
    rc = lib.polo_encode_and_sign(s, data, len(data), lens, 2, 7, body, 256, hexbuf, 129)
    assert ffi.unpack(body, rc) == b"command=buy&memo=a%00b&nonce=7"
    bad = ffi.new("size_t[]", [7, 4, 3, 4])
    assert lib.polo_encode_and_sign(s, data, len(data) - 1, bad, 2, 7, body, 256, hexbuf, 129) == (
        lib.POLO_ERR_ARG
    )
    huge = ffi.new("size_t[]", [7, 2**64 - 1, 3, 4])
    assert lib.polo_encode_and_sign(s, data, len(data), huge, 2, 7, body, 256, hexbuf, 129) == (
        lib.POLO_ERR_ARG
    )
    nonce_name = b"nonce\0" + b"5"
    assert (
        lib.polo_encode_and_sign(
            s, nonce_name, len(nonce_name), ffi.NULL, 1, 7, body, 256, hexbuf, 129
        )
        == lib.POLO_ERR_NONCE_NAME
    )


@needs_c
def test_c_out_area() -> None:
    from polo_fast._polo_sign import ffi, lib

    s = ffi.gc(lib.polo_signer_new(b"k", 1), lib.polo_signer_free)
    out = ffi.new("polo_out *")
    fields = b"command\0buy"
    n = lib.polo_encode_and_sign_out(s, fields, len(fields), 1, 3, out)
    assert ffi.unpack(out.body, n) == b"command=buy&nonce=3"
    assert ffi.unpack(out.hex, 128).decode() == Signer(b"k").sign(b"command=buy&nonce=3")
    big = b"memo\0" + b"%" * 2000  # 6000 encoded bytes: does not fit in 4096
    rc = lib.polo_encode_and_sign_out(s, big, len(big), 1, 3, out)
    assert rc == lib.POLO_ERR_BODY_SPACE
    assert lib.polo_encode_and_sign_out(s, fields, len(fields), 1, 3, ffi.NULL) == lib.POLO_ERR_ARG
    # the Python side falls back to a right-sized buffer for such bodies
    body, _ = Signer(b"k", backend="cffi").encode_and_sign({"memo": "%" * 2000}, 3)
    assert body == b"memo=" + b"%25" * 2000 + b"&nonce=3"


@needs_c
def test_c_exact_size_path_matches_bound_path() -> None:
    from polo_fast._polo_sign import ffi, lib

    s = ffi.gc(lib.polo_signer_new(b"k", 1), lib.polo_signer_free)
    fields = "a b\0é&\0x y z\0%%%".encode()
    hexbuf = ffi.new("char[]", 129)
    big = ffi.new("char[]", 1000)
    n_big = lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 1, big, 1000, hexbuf, 129)
    exact = ffi.new("char[]", n_big)
    n = lib.polo_encode_and_sign(s, fields, len(fields), ffi.NULL, 2, 1, exact, n_big, hexbuf, 129)
    assert n == n_big and ffi.unpack(exact, n) == ffi.unpack(big, n_big)
    assert (
        ffi.unpack(big, n_big)
        == urlencode([("a b", "x y z"), ("é&", "%%%"), ("nonce", 1)]).encode()
    )


# ---------------------------------------------------------------- whole requests

HEAD = (
    b"POST /tradingApi HTTP/1.1\r\nHost: 127.0.0.1:4443\r\nKey: K-123\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
)


def assembled(head: bytes, body: bytes, sig: str) -> bytes:
    """The request laid out by hand: what ``encode_sign_request`` must return."""
    return head + str(len(body)).encode() + b"\r\nSign: " + sig.encode() + b"\r\n\r\n" + body


def c_fields(pairs: list[tuple[str, str]]) -> tuple[bytes, int]:
    """The C field layout of ``pairs``: names, then values, NUL-separated."""
    return "\0".join([n for n, _ in pairs] + [v for _, v in pairs]).encode(), len(pairs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=_params, nonce=st.integers(min_value=0, max_value=2**64 - 1))
def test_request_equals_assembly_of_body_and_sign(pairs: list[tuple[str, str]], nonce: int) -> None:
    expected = assembled(HEAD, *reference("s3cret", pairs, nonce))
    for b in signing.BACKENDS:
        s = Signer("s3cret", backend=b)
        assert s.encode_sign_request(HEAD, pairs, nonce) == expected
        if not any("\0" in n or "\0" in v for n, v in pairs):
            assert s._fields_request(HEAD)(*c_fields(pairs), nonce) == expected


def test_request_big_bodies_typed_values_and_errors(backend: str) -> None:
    s = Signer("k", backend=backend)
    big = [("command", "x"), ("memo", "é &=+%#" * 1300), ("blob", "z" * 10_000)]
    expected = assembled(HEAD, *reference("k", big, 1))
    assert len(expected) > signing._REQUEST_AREA  # past the reusable buffer
    assert s.encode_sign_request(HEAD, big, 1) == expected
    assert s._fields_request(HEAD)(*c_fields(big), 1) == expected
    assert s.encode_sign_request(b"", [("command", "x")], 2) == assembled(
        b"", *reference("k", [("command", "x")], 2)
    )
    typed: list[tuple[str, Any]] = [("command", "buy"), ("rate", Decimal("1E-8")), ("n", 3)]
    assert s.encode_sign_request(HEAD, dict(typed), 5) == assembled(
        HEAD, *s.encode_and_sign(typed, 5)
    )
    with pytest.raises(SigningTypeError):
        s.encode_sign_request("head", {"command": "x"}, 1)  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        s.encode_sign_request(HEAD, {"nonce": "1"}, 1)
    with pytest.raises(SigningError):
        s.encode_sign_request(HEAD, {"command": "x"}, 2**64)
    with pytest.raises(SigningError):
        s._fields_request(HEAD)(b"command\0x", 1, 2**64)
    with pytest.raises(SigningTypeError):
        s.encode_sign_request(HEAD, {"rate": None}, 1)  # type: ignore[dict-item]


@needs_c
def test_c_sign_request_buffers_and_codes() -> None:
    from polo_fast._polo_sign import ffi, lib

    key = b"k"
    s = ffi.gc(lib.polo_signer_new(key, 1), lib.polo_signer_free)
    fields = b"command\0rate\0buy\0" + b"0.5"
    body = b"command=buy&rate=0.5&nonce=7"
    expected = assembled(HEAD, body, hmac.new(key, body, hashlib.sha512).hexdigest())
    assert len(b"\r\nSign: ") + 128 + len(b"\r\n\r\n") == lib.POLO_REQUEST_FIXED
    # the C side needs room for the longest prefix while it encodes: at most this much
    need = len(HEAD) + 20 + lib.POLO_REQUEST_FIXED + len(body)
    for cap in range(need + 2, -1, -1):
        out = ffi.new("char[]", cap + 16)
        ffi.memmove(out, b"\xaa" * (cap + 16), cap + 16)
        rc = lib.polo_sign_request(s, HEAD, len(HEAD), fields, len(fields), 2, 7, out, cap)
        if cap >= need:
            assert rc == len(expected)
            assert ffi.unpack(out, rc) == expected
        else:
            assert rc == lib.POLO_ERR_BODY_SPACE
        assert ffi.unpack(out + cap, 16) == b"\xaa" * 16  # nothing written past the end
    out = ffi.new("char[]", 1024)
    args = (fields, len(fields), 2, 7, out, 1024)
    assert lib.polo_sign_request(ffi.NULL, HEAD, len(HEAD), *args) == lib.POLO_ERR_ARG
    assert lib.polo_sign_request(s, ffi.NULL, 3, *args) == lib.POLO_ERR_ARG
    assert (
        lib.polo_sign_request(s, HEAD, len(HEAD), fields, len(fields), 2, 7, ffi.NULL, 1024)
        == lib.POLO_ERR_ARG
    )
    assert lib.polo_sign_request(s, HEAD, len(HEAD), fields, len(fields), 3, 7, out, 1024) == (
        lib.POLO_ERR_FIELDS
    )
    nonce_name = b"nonce\0" + b"5"
    assert lib.polo_sign_request(s, HEAD, len(HEAD), nonce_name, 7, 1, 7, out, 1024) == (
        lib.POLO_ERR_NONCE_NAME
    )
    # an empty head and no fields: the lines and "nonce=" alone
    rc = lib.polo_sign_request(s, ffi.NULL, 0, ffi.NULL, 0, 0, 42, out, 1024)
    assert ffi.unpack(out, rc) == assembled(
        b"", b"nonce=42", hmac.new(key, b"nonce=42", hashlib.sha512).hexdigest()
    )


# ---------------------------------------------------------------- hardening (issue 9)


def test_a_name_given_twice_is_refused(backend: str) -> None:
    s = Signer("k", backend=backend)
    twice: list[Any] = [
        [("command", "returnNothing"), ("command", "withdraw")],
        [("command", "x"), ("memo", "a"), ("memo", "b")],
        [("command", "x"), ("rate", Decimal("1")), ("rate", 2.5)],
    ]
    for params in twice:
        with pytest.raises(SigningError, match="twice"):
            s.encode_and_sign(params, 1)
        with pytest.raises(SigningError, match="twice"):
            s.encode_sign_request(HEAD, params, 1)
        with pytest.raises(SigningError, match="twice"):
            polo_fast.sign("k", params, 1)


def test_values_are_bounded_with_an_error_naming_them(backend: str) -> None:
    s = Signer("k", backend=backend)
    from polo_fast._format import MAX_TEXT as limit

    assert s.encode_and_sign({"memo": "x" * limit}, 1)[0].startswith(b"memo=xxx")
    for value in ("x" * (limit + 1), "é" * 1_000_000, Decimal("1E+100000"), Decimal("1E-70000")):
        with pytest.raises(SigningError, match=r"'memo'.*longer than") as info:
            s.encode_and_sign({"command": "x", "memo": value}, 1)
        assert "\n" not in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(SigningError, match=r"'n'.*longer than"):
        s.encode_and_sign([("command", "x"), ("n", 10**70_000)], 1)
    with pytest.raises(SigningError, match=r"'n'.*longer than"):
        format_value("n", 10**5000)  # int.__str__'s own limit: a ValueError naming nothing


def _frame_locals(exc: BaseException) -> list[str]:
    """The repr of every local variable of every polo_fast frame an error's traceback holds
    (what ``pytest --showlocals``, rich or Sentry would print)."""
    package = os.path.dirname(polo_fast.__file__)
    seen: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(package):
            seen += [repr(v) for v in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    return seen


def test_a_refused_secret_stays_out_of_traceback_frames(backend: str) -> None:
    from polo_fast._args import check_key

    secret = make_secret()[:-1] + "é"  # not ASCII: refused
    calls: list[Any] = [
        lambda: Signer(secret, backend=backend),
        lambda: polo_fast.sign(secret, {"command": "x"}, 1),
        lambda: check_key("", secret),
        lambda: check_key("K", bytearray(secret.encode())),
    ]
    for call in calls:
        with pytest.raises((SigningError, TypeError, ValueError)) as info:
            call()
        shown = [v for v in _frame_locals(info.value) if secret[:-1] in v]
        assert shown == [], "a frame of the refusal holds the secret"
    good = make_secret()
    with pytest.raises(SigningError) as info:
        polo_fast.sign(good, {"command": "x", "rate": float("nan")}, 1)
    assert not [v for v in _frame_locals(info.value) if good in v]


def test_checked_fields_sign_as_their_pairs(backend: str) -> None:
    """``Signer._fields_sign``: the general route signs the fields the command check made,
    byte for byte what ``encode_and_sign`` gives for the same pairs."""
    s = Signer("k", backend=backend)
    for pairs in (
        [("command", "buy"), ("currencyPair", "BTC_ETH"), ("rate", "0.5"), ("amount", "2")],
        [("command", "returnBalances")],
        [("command", "x"), ("memo", "é &=+%#" * 1300)],  # past the reusable area
    ):
        assert s._fields_sign(*c_fields(pairs), 7) == s.encode_and_sign(pairs, 7)
    with pytest.raises(SigningError, match="nonce"):
        s._fields_sign(b"command\0x", 1, 2**64)


@needs_c
def test_c_sizes_come_from_the_compiled_module() -> None:
    from polo_fast._polo_sign import ffi, lib

    from polo_fast import _binding

    assert ffi.sizeof("polo_out") == lib.POLO_SIGN_HEX_LEN + lib.POLO_OUT_BODY_CAP
    assert _binding.HEX_LEN == lib.POLO_SIGN_HEX_LEN
    fields, n = c_fields([("command", "x"), ("memo", "%" * 50)])
    # the right-sized route allocates exactly the C body bound, and it suffices
    bound = _binding.body_bound(len(fields), n)
    assert bound == 3 * len(fields) + 2 * n + 26
    assert _binding.encode_and_sign(
        Signer("k", backend="cffi")._s,  # type: ignore[attr-defined]
        fields.split(b"\0"),
        n,
        2**64 - 1,
    ) == Signer("k", backend="python")._fields_sign(fields, n, 2**64 - 1)
    with pytest.raises(SigningError, match="'nonce' is added by the signer"):
        _binding.ensure(lib.POLO_ERR_NONCE_NAME, "polo_encode_and_sign")
    with pytest.raises(MemoryError):
        _binding.ensure(lib.POLO_ERR_CRYPTO, "polo_sign")
