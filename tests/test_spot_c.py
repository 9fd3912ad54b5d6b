"""csrc/polo_spot.c, the Spot API signing route, checked from C and against Python and openssl.

Until the Python binding exists the C is compiled here (gcc/cc, ``-std=c99 -Wall -Wextra
-Werror``) into a temporary folder: ``fuzz/spot_check.c`` (the 11 vectors of
poloniex-spot-api.md §2.4, random inputs against a plain C reference, every output capacity
with guard bytes) runs on both HMAC routes; ``fuzz/spot_stdin.c`` reads one input from stdin
and prints the string to sign, the signature and the request, which are compared with a
plain-Python reference (``hmac``, ``base64``, ``urllib.parse.quote(v, safe='')`` as ccxt
4.5.90 encodes), with the ``openssl`` CLI and with ccxt's own ``poloniex.sign()``, for
hypothesis-generated methods, paths, parameters and bodies. Skipped, with the reason, only
when there is no C compiler or no libcrypto headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_secret

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
FUZZ = ROOT / "fuzz"
CFLAGS = ["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{CSRC}"]
ROUTES = {"sha256-ctx": [], "evp-md-ctx": ["-DPOLO_SIGN_USE_EVP"]}

SPEC_SECRET = "0123456789abcdef" * 8
HEAD = b"Host: api.poloniex.com\r\nkey: A1B2-C3D4\r\n"

pytestmark = pytest.mark.skipif(not (FUZZ / "spot_check.c").is_file(), reason="no fuzz/ folder")


def c_compiler() -> str:
    """A C compiler that builds and links against libcrypto, or skip the calling test."""
    for name in (os.environ.get("CC", ""), "gcc", "cc", "clang"):
        path = shutil.which(name) if name else None
        if path is None:
            continue
        probe = subprocess.run(
            [path, "-x", "c", "-", "-o", os.devnull, "-lcrypto"],
            input=b"#include <openssl/hmac.h>\nint main(void){return HMAC_size(0) != 0;}\n",
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return path
    pytest.skip("no C compiler that finds the libcrypto headers (apt-get install gcc libssl-dev)")


def compile_c(out: Path, sources: list[Path], defines: list[str]) -> Path:
    """Compile ``sources`` (with -lcrypto) into the executable ``out``; return its path."""
    done = subprocess.run(
        [c_compiler(), *CFLAGS, *defines, "-o", str(out), *map(str, sources), "-lcrypto"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module", params=list(ROUTES))
def spot_check(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """(route, fuzz/spot_check.c built for that HMAC route)."""
    route = str(request.param)
    out = tmp_path_factory.mktemp("spot_check") / "spot_check"
    return route, compile_c(out, [FUZZ / "spot_check.c", CSRC / "polo_spot.c"], ROUTES[route])


@pytest.fixture(scope="module")
def spot_stdin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fuzz/spot_stdin.c on the default route."""
    out = tmp_path_factory.mktemp("spot_stdin") / "spot_stdin"
    return compile_c(out, [FUZZ / "spot_stdin.c", CSRC / "polo_spot.c"], [])


@pytest.mark.parametrize("mode", [[], ["--hygiene"]], ids=["checks", "hygiene"])
def test_the_c_driver_passes_on_both_routes(spot_check: tuple[str, Path], mode: list[str]) -> None:
    """Vectors, 1,000 random inputs vs the C reference, every capacity; then secret hygiene.

    The driver also fails when an error code was never drawn: at 300 inputs about 2 % of seeds
    drew no POLO_SPOT_ERR_TOO_MANY; none of 200 seeds missed one at 1,000."""
    route, exe = spot_check
    n = "300" if mode else "1000"
    done = subprocess.run(
        [str(exe), *mode, "-n", n, "-s", str(secrets.randbits(32))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert f"route={route} " in done.stdout and f" iterations={n} " in done.stdout
    assert ("hygiene=1" in done.stdout) == bool(mode)
    assert "failures=0" in done.stdout


def test_the_header_joins_the_cffi_cdef(tmp_path: Path) -> None:
    """polo_spot.h's cdef block, read as polo_fast/_ffi_build.py reads polo_sign.h's and
    appended to it, builds one cffi module: no clashing names, every constant resolved."""
    cffi = pytest.importorskip("cffi")
    c_compiler()
    from polo_fast._ffi_build import cdef_of

    ffi = cffi.FFI()
    ffi.cdef(cdef_of("polo_sign.h") + "\n" + cdef_of("polo_spot.h"))
    ffi.set_source(
        "_spot_probe",
        '#include "polo_sign.h"\n#include "polo_spot.h"\n',
        sources=[str(CSRC / "polo_sign.c"), str(CSRC / "polo_spot.c")],
        include_dirs=[str(CSRC)],
        libraries=["crypto"],
        extra_compile_args=["-std=c99", "-Wall", "-Wextra", "-Werror"],
    )
    spec = importlib.util.spec_from_file_location("_spot_probe", ffi.compile(tmpdir=str(tmp_path)))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lib, mffi = module.lib, module.ffi
    assert (lib.POLO_SPOT_SIG_LEN, lib.POLO_SPOT_OK, lib.POLO_OK) == (44, 0, 0)
    key = SPEC_SECRET.encode()
    signer = mffi.gc(lib.polo_spot_signer_new(key, len(key)), lib.polo_spot_signer_free)
    out = mffi.new("char[]", 45)
    path = b"/accounts/balances"
    rc = lib.polo_spot_sign(
        signer, b"GET", path, len(path), b"", 0, mffi.NULL, 0, b"", 0, 0, 1659259836247, out, 45
    )
    assert rc == 0 and mffi.string(out) == b"NDeLgU6LZ8Y6FAwg0K2DtAy2BRHbaQEE+m8xH34gFqQ="
    assert mffi.string(lib.polo_spot_route()) == b"sha256-ctx"


# ---------------------------------------------------------------- C through stdin


Params = list[tuple[str, str]]
SpotInput = tuple[str, str, Params, "bytes | None", int]


def _item(b: bytes) -> bytes:
    return str(len(b)).encode() + b":" + b


def run_c(
    exe: Path, secret: bytes, method: str, path: str, params: Params, body: bytes | None, ts: int
) -> tuple[list[int], bytes, str, bytes]:
    """(return codes, string to sign, signature, request) from fuzz/spot_stdin.c."""
    has_body = b"0" if body is None else b"1"
    items = [secret, method.encode(), path.encode(), HEAD, body or b"", has_body]
    items += [str(ts).encode(), str(len(params)).encode()]
    items += [k.encode() for k, _ in params] + [v.encode() for _, v in params]
    out = subprocess.run(
        [str(exe)], input=b"".join(map(_item, items)), capture_output=True, timeout=30, check=True
    ).stdout
    line, rest = out.split(b"\n", 1)
    codes = [int(x) for x in line.split()[1:]]
    if min(codes) < 0:
        return codes, b"", "", b""
    n, rest = rest.split(b":", 1)
    sts, rest = rest[: int(n)], rest[int(n) :]
    sig, rest = rest[:44].decode(), rest[44:]
    n, req = rest.split(b":", 1)
    assert len(sts) == codes[0] and len(req) == int(n) == codes[2]
    return codes, sts, sig, req


def _query(params: Params) -> str:
    """name=value pairs, sorted by name, RFC 3986-encoded as ccxt's urlencode(quote_via=quote)."""
    pairs = sorted(params, key=lambda kv: kv[0])
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def py_string_to_sign(method: str, path: str, params: Params, body: bytes | None, ts: int) -> bytes:
    """The Spot string to sign as ccxt 4.5.90 builds it (keysort + urlencode(quote))."""
    head = f"{method}\n{path}\n".encode()
    if body is not None:
        return head + b"requestBody=" + body + f"&signTimestamp={ts}".encode()
    return head + _query([*params, ("signTimestamp", str(ts))]).encode()


def py_sign(secret: bytes, msg: bytes) -> str:
    """base64(HMAC-SHA256(secret, msg))."""
    return base64.b64encode(hmac.new(secret, msg, hashlib.sha256).digest()).decode()


def py_request(
    method: str, path: str, params: Params, body: bytes | None, ts: int, sig: str
) -> bytes:
    """The request polo_spot_request documents: sorted encoded query, head, signed headers."""
    target = path + ("?" + _query(params) if params else "")
    out = f"{method} {target} HTTP/1.1\r\n".encode() + HEAD
    out += f"signTimestamp: {ts}\r\nsignature: {sig}\r\n".encode()
    if body is not None:
        out += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
    elif method in ("POST", "PUT"):  # RFC 9110 8.6: a POST or PUT says it has no content
        out += b"Content-Length: 0\r\n"
    return out + b"\r\n" + (body or b"")


def openssl_sign(secret: bytes, msg: bytes) -> str:
    """``openssl dgst -sha256 -mac HMAC -macopt hexkey:.. -binary | base64``."""
    digest = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-binary",
            "-mac",
            "HMAC",
            "-macopt",
            f"hexkey:{secret.hex()}",
        ],
        input=msg,
        capture_output=True,
        check=True,
    ).stdout
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------- the spec's vectors

V3 = (
    b'{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"30000","quantity":"0.001",'
    b'"timeInForce":"GTC"}'
)
V4 = b'{"orderIds":["1234567890"],"clientOrderIds":["myId-1"]}'
V7 = (
    b'[{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"20000","quantity":"0.001"},'
    b'{"symbol":"ETH_USDT","side":"SELL","type":"LIMIT_MAKER","price":"4000","quantity":"0.01"}]'
)
V6_PARAMS = [("symbols", "BTC_USDT,ETH_USDT"), ("limit", "100")]
# id -> (method, path, params, body, ts); V10 has its own secret
VECTORS: dict[str, tuple[str, str, Params, bytes | None, int]] = {
    "V1": ("GET", "/accounts/balances", [], None, 1659259836247),
    "V2": ("GET", "/orders", [("symbol", "ETH_USDT"), ("limit", "5")], None, 1659259836247),
    "V3": ("POST", "/orders", [], V3, 1631018760000),
    "V4": ("DELETE", "/orders/cancelByIds", [], V4, 1631018760000),
    "V5": ("DELETE", "/orders/1234567890", [], None, 1631018760000),
    "V6": ("GET", "/trades", V6_PARAMS, None, 1700000000000),
    "V7": ("POST", "/orders/batch", [], V7, 1700000000000),
    "V8": ("POST", "/orders/killSwitch", [], b'{"timeout":"60"}', 1700000000000),
    "V9": ("GET", "/ws", [], None, 1631018760000),
    "V10": ("DELETE", "/some/path", [], b'{"a":1,"b":["2",null]}', 1674197467415),
}
SIGNATURES = {
    "V1": "NDeLgU6LZ8Y6FAwg0K2DtAy2BRHbaQEE+m8xH34gFqQ=",
    "V2": "YxW3agc20dRj6sZCsZU12/mRJyzckzq3iA1nxibMst8=",
    "V3": "4FEa5bXhEc/VCMg/sUSCEkJax5Ry/3cjFxXPjKhF11A=",
    "V4": "NVntQFetWcmwjis58+m6glFARmk7e4zbfmNQZFlSwYQ=",
    "V5": "JJrOCQkTU9EeTYHjaJrzSjrl1gPmtI7WWNHwq2GiLvU=",
    "V6": "86LT80FpvnlJLQyIPAbYOGh8RadGDWeMN7NBUJ1tHXg=",
    "V7": "L/mcxt+r+RmuVWp7cqwUoUs4j9WG7xNHOCC/Tro5OvI=",
    "V8": "SsP6sr8Fnd5IsqK9OxB2gj1zabRV45cQI8VD6V6+76Q=",
    "V9": "pp7/t4SgLXjXsLqptZNTstpvwvJtQ9PPrGFNms6u4p0=",
    "V10": "rCahSwbMNIzxQRUSqzxdMvYP9CDWfRUDNIFDVABxHQQ=",
}
V6R_STRING = b"GET\n/trades\nlimit=100&signTimestamp=1700000000000&symbols=BTC_USDT,ETH_USDT"
V6R_SIGNATURE = "yu29tyiZ2rLyl9NEUeYOeZEBg4Jor80moFkmVfH7oq4="


@pytest.mark.parametrize("vid", list(VECTORS))
def test_spec_vectors(spot_stdin: Path, vid: str) -> None:
    """V1-V10: C's string to sign, signature and request equal the spec, Python and openssl."""
    method, path, params, body, ts = VECTORS[vid]
    secret = b"poloniex-api-secret" if vid == "V10" else SPEC_SECRET.encode()
    codes, sts, sig, req = run_c(spot_stdin, secret, method, path, params, body, ts)
    assert codes[1:] == [0, len(req)], codes
    assert sts == py_string_to_sign(method, path, params, body, ts)
    assert sig == SIGNATURES[vid] == py_sign(secret, sts)
    assert req == py_request(method, path, params, body, ts, sig)
    if shutil.which("openssl"):
        assert openssl_sign(secret, sts) == sig


def test_v6r_is_the_raw_form_c_does_not_sign(spot_stdin: Path) -> None:
    """V6r (raw ``,``) is a valid HMAC of the raw string; C signs the encoded V6, as ccxt does."""
    assert py_sign(SPEC_SECRET.encode(), V6R_STRING) == V6R_SIGNATURE
    _, sts, sig, _ = run_c(
        spot_stdin, SPEC_SECRET.encode(), "GET", "/trades", V6_PARAMS, None, 1700000000000
    )
    assert sts.endswith(b"symbols=BTC_USDT%2CETH_USDT") and sig != V6R_SIGNATURE


# ---------------------------------------------------------------- generated inputs

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=16)
_NAMES = st.one_of(
    st.sampled_from(["limit", "symbol", "symbols", "states", "signTimestamq", "sign", "", "é"]),
    _TEXT,
).filter(lambda s: s != "signTimestamp")
_VALUES = st.one_of(
    st.sampled_from(["BTC_USDT,ETH_USDT", "a b", "!*'()", "", "~", "true", "索拉拉/USDT", "+"]),
    _TEXT,
)
_PATH = st.builds(
    lambda segs: "/" + "/".join(segs),
    st.lists(st.text("abcdefghijklmnopqrstuvwxyzABC0123456789-._~%:@", max_size=10), max_size=4),
)
_JSON = st.recursive(
    # integers within JSON's exact range: ccxt's encoder refuses what does not fit 64 bits
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_BIG = [{"symbol": "BTC_USDT", "n": i, "note": "é ü"} for i in range(1800)]  # about 100 kB


@st.composite
def spot_inputs(draw: st.DrawFn) -> SpotInput:
    """(method, path, params, body, ts): params, or a body (arrays, unicode, 100 kB)."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    path = draw(_PATH)
    ts = draw(st.integers(0, 2**64 - 1) | st.integers(1_600_000_000_000, 1_900_000_000_000))
    if method != "GET" and draw(st.booleans()):
        doc = _BIG if draw(st.integers(0, 15)) == 0 else draw(_JSON)
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return method, path, [], body, ts
    params = draw(st.dictionaries(_NAMES, _VALUES, max_size=8))
    return method, path, list(params.items()), None, ts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs(), secret_len=st.sampled_from([128, 1, 19, 64, 65, 200]))
def test_c_equals_python_for_generated_inputs(
    spot_stdin: Path, inp: SpotInput, secret_len: int
) -> None:
    """String to sign, signature and request: C equals the plain-Python reference."""
    method, path, params, body, ts = inp
    secret = make_secret().encode() if secret_len == 128 else secrets.token_bytes(secret_len)
    codes, sts, sig, req = run_c(spot_stdin, secret, method, path, params, body, ts)
    assert codes[1] == 0, codes
    assert sts == py_string_to_sign(method, path, params, body, ts)
    assert sig == py_sign(secret, sts)
    assert req == py_request(method, path, params, body, ts, sig)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs())
def test_c_signature_equals_openssl(spot_stdin: Path, inp: SpotInput) -> None:
    """The signature equals ``openssl dgst -sha256 -mac HMAC`` over C's string to sign."""
    method, path, params, body, ts = inp
    secret = make_secret().encode()
    _, sts, sig, _ = run_c(spot_stdin, secret, method, path, params, body, ts)
    assert sts == py_string_to_sign(method, path, params, body, ts)
    assert sig == openssl_sign(secret, sts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=spot_inputs())
def test_c_signature_equals_ccxt(spot_stdin: Path, inp: SpotInput) -> None:
    """ccxt 4.5.90's poloniex.sign() (nonce pinned) and C sign the same request alike.

    ccxt sends a GET's params in the query and a POST/PUT/DELETE's as a JSON body; C gets the
    body ccxt built. A GET ``symbol`` is left out: ccxt percent-encodes it once more
    (``encode_uri_component``) before signing.
    """
    ccxt = pytest.importorskip("ccxt")
    method, path, params, body, ts = inp
    secret = make_secret()
    exchange = ccxt.poloniex({"apiKey": "K", "secret": secret})
    exchange.nonce = lambda: ts
    query: object = {k: v for k, v in params if not (method == "GET" and k == "symbol")}
    if body is not None:
        query = json.loads(body)
        if not isinstance(query, (dict, list)) or not query:
            query = {"a": query}
    signed = exchange.sign(path[1:], ["private"], method, query)
    sent_body = None if signed["body"] is None else signed["body"].encode()
    sent = list(query.items()) if method == "GET" and isinstance(query, dict) else []
    _, sts, sig, _ = run_c(spot_stdin, secret.encode(), method, path, sent, sent_body, ts)
    assert sig == signed["headers"]["signature"], (sts, signed)
