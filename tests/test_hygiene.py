"""Secret hygiene: the API secret never shows, and the C signer leaves none of it behind.

Signer level (always):
- ``repr``, ``str``, pickling (refused, also inside containers), ``copy``, exceptions and
  their tracebacks, and DEBUG logs of every logger never contain the secret (nor any
  16-character run of it);
- the private bytearray copy the signer keys from is zeroed once the signer exists;
- the compiled signer's memory after ``polo_signer_free``: a fresh interpreter installs
  allocator hooks in the very libcrypto the module links (``CRYPTO_set_mem_functions``,
  through ctypes, before libcrypto allocates anything), so every block libcrypto hands out
  is tracked. While the signer lives, the key's HMAC inner/outer SHA-512 midstates must be
  found in a live block (positive control: the search patterns are right); every block freed
  from then on is scanned at the moment of ``free`` (what a core file or a later allocation
  would see), and after ``polo_signer_free`` no freed or live block may hold the secret, the
  key XOR ipad/opad blocks or either midstate. A negative control frees a block holding the
  midstate without cleansing it and must be caught. ``fuzz/sign_check.c --hygiene`` runs the
  same check for both HMAC routes under ASan and valgrind (``make asan``/``make valgrind``).

What cannot be checked, and why: the caller's own ``str``/``bytes`` secret is an immutable
Python object the library cannot wipe (it stays until the caller drops it and the
interpreter reuses the memory); the pure backend keys CPython's ``hmac``/OpenSSL HMAC
objects, whose cleanup is CPython's. Both are documented in docs/security.md.

Client level (once the client exists): a full session against the stand-in exchange at
DEBUG, with an authentication failure, a may-have-executed failure and the sync and compat
wrappers: no secret (or 16-character run of it) and no ``Sign`` header value appears in any
log record, exception message, traceback, repr or pickle.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import pickle
import re
import struct
import subprocess
import sys
import traceback
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polo_fast import _secret, signing
from polo_fast.signing import Signer, SigningError
from tests.conftest import make_secret

RUN = 16  # no run of this many characters of the secret may show anywhere


def runs(secret: str, n: int = RUN) -> set[str]:
    """Every ``n``-character run of ``secret``."""
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


def assert_clean(text: str, secret: str, what: str) -> None:
    """Fail if ``text`` holds the secret or any 16-character run of it."""
    hits = [r for r in runs(secret) if r in text]
    assert not hits, f"{what} shows part of the secret"


@pytest.fixture(params=signing.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each importable backend."""
    return str(request.param)


@pytest.fixture
def debug_logs() -> Iterator[list[str]]:
    """Every log record of every logger at DEBUG, formatted with args and tracebacks."""
    records: list[str] = []
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(fmt.format(record) + repr(record.args) + repr(record.__dict__))

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


# ---------------------------------------------------------------- the signer object


def test_repr_str_pickle_copy(backend: str) -> None:
    secret = make_secret()
    s = Signer(secret, backend=backend)
    for text in (repr(s), str(s), format(s), repr([s]), repr({"k": s})):
        assert_clean(text, secret, "a repr")
    for obj in (s, [s], {"signer": s}, (1, s)):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError, match="cannot be pickled"):
                pickle.dumps(obj, protocol=protocol)
    assert copy.copy(s) is s and copy.deepcopy([s])[0] is s
    assert not hasattr(s, "__dict__")  # nothing to dump by vars()


def test_signer_wipes_its_secret_copy(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    copies: list[bytearray] = []
    real = _secret._secret_bytes

    def keep(secret: object) -> bytearray:
        raw = real(secret)
        copies.append(raw)
        return raw

    monkeypatch.setattr(_secret, "_secret_bytes", keep)
    secret = make_secret()
    Signer(secret, backend=backend)
    Signer(secret.encode(), backend=backend)
    assert len(copies) == 2
    for raw in copies:
        assert len(raw) == len(secret) and raw == bytes(len(secret))


def test_errors_and_tracebacks_never_show_the_secret(backend: str, debug_logs: list[str]) -> None:
    secret = make_secret()
    s = Signer(secret, backend=backend)
    bad: list[tuple[Any, Any]] = [
        ({"command": "buy", "rate": float("nan")}, 1),
        ({"command": "buy", "rate": None}, 1),
        ({"command": "buy", "memo": "\udc80"}, 1),
        ({"nonce": "1"}, 1),
        ({"command": "buy"}, -1),
        ({"command": "buy"}, "1"),
        ("command=buy", 1),
    ]
    for params, nonce in bad:
        with pytest.raises(SigningError) as info:
            s.encode_and_sign(params, nonce)
        shown = "".join(traceback.format_exception(info.value)) + repr(info.value)
        assert_clean(shown, secret, "an exception")
    s.encode_and_sign({"command": "buy", "rate": Decimal("0.1")}, 5)
    assert_clean("\n".join(debug_logs), secret, "a DEBUG log")


# ---------------------------------------------------------------- C memory after free

_SHA512_K_HEX = (  # FIPS 180-4, section 4.2.3
    "428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc 3956c25bf348b538 "
    "59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 d807aa98a3030242 12835b0145706fbe "
    "243185be4ee4b28c 550c7dc3d5ffb4e2 72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 "
    "c19bf174cf692694 e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65 "
    "2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 983e5152ee66dfab "
    "a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 c6e00bf33da88fc2 d5a79147930aa725 "
    "06ca6351e003826f 142929670a0e6e70 27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed "
    "53380d139d95b3df 650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b "
    "a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 d192e819d6ef5218 "
    "d69906245565a910 f40e35855771202a 106aa07032bbd1b8 19a4c116b8d2d0c8 1e376c085141ab53 "
    "2748774cdf8eeb99 34b0bcb5e19b48a8 391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 "
    "682e6ff3d6b2b8a3 748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec "
    "90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b ca273eceea26619c "
    "d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 06f067aa72176fba 0a637dc5a2c898a6 "
    "113f9804bef90dae 1b710b35131c471b 28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc "
    "431d67c49c100d4c 4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817"
)
_SHA512_K = [int(x, 16) for x in _SHA512_K_HEX.split(" ")]
_SHA512_IV = [
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
]  # fmt: skip
_M64 = (1 << 64) - 1


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _M64


def sha512_midstate(block: bytes) -> bytes:
    """The SHA-512 state words after one 128-byte block, as ``SHA512_CTX.h`` holds them."""
    assert len(block) == 128
    w = list(struct.unpack(">16Q", block))
    for i in range(16, 80):
        s0 = _rotr(w[i - 15], 1) ^ _rotr(w[i - 15], 8) ^ (w[i - 15] >> 7)
        s1 = _rotr(w[i - 2], 19) ^ _rotr(w[i - 2], 61) ^ (w[i - 2] >> 6)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M64)
    a, b, c, d, e, f, g, h = _SHA512_IV
    for i in range(80):
        t1 = h + (_rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41)) + ((e & f) ^ (~e & g))
        t1 = (t1 + _SHA512_K[i] + w[i]) & _M64
        t2 = ((_rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))) & _M64
        a, b, c, d, e, f, g, h = (t1 + t2) & _M64, a, b, c, (d + t1) & _M64, e, f, g
    words = [(x + y) & _M64 for x, y in zip(_SHA512_IV, (a, b, c, d, e, f, g, h), strict=True)]
    return struct.pack(("<" if sys.byteorder == "little" else ">") + "8Q", *words)


# The child: load the compiled module by path (no hashlib, nothing else that uses libcrypto),
# hook libcrypto's allocator, make / use / free one signer, report what the scans found.
_CHILD = r"""
import ctypes, importlib.machinery, importlib.util, json, os, sys

so_path, secret_hex, patterns_hex = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
secret = bytes.fromhex(secret_hex)
patterns = [bytes.fromhex(p) for p in patterns_hex]  # secret runs, k^ipad, k^opad, midstates
inner, outer = patterns[-2], patterns[-1]

loader = importlib.machinery.ExtensionFileLoader("polo_fast._polo_sign", so_path)
spec = importlib.util.spec_from_file_location("polo_fast._polo_sign", so_path, loader=loader)
mod = importlib.util.module_from_spec(spec)
loader.exec_module(mod)
ffi, lib = mod.ffi, mod.lib

paths = {line.split()[-1] for line in open("/proc/self/maps") if "libcrypto" in line}
assert len(paths) == 1, paths
crypto = ctypes.CDLL(paths.pop())
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

sizes = {}
scan = {"on": False, "freed_hits": 0, "control_hits": 0}

def holds(ptr, size, pats):
    data = ctypes.string_at(ptr, size)
    return any(p in data for p in pats)

MALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int)
REALLOC = ctypes.CFUNCTYPE(
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int
)
FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)

def h_malloc(num, file, line):
    p = libc.malloc(num or 1)
    if p:
        sizes[p] = num
    return p

def h_free(ptr, file, line):
    if not ptr:
        return
    size = sizes.pop(ptr, 0)
    if scan["on"] and holds(ptr, size, patterns):
        scan["control_hits" if scan["on"] == "control" else "freed_hits"] += 1
    libc.free(ptr)

def h_realloc(ptr, num, file, line):
    if not ptr:
        return h_malloc(num, file, line)
    new = h_malloc(num, file, line)
    if new:
        ctypes.memmove(new, ptr, min(num, sizes.get(ptr, 0)))
        h_free(ptr, file, line)
    return new

hooks = (MALLOC(h_malloc), REALLOC(h_realloc), FREE(h_free))
crypto.CRYPTO_set_mem_functions.argtypes = [MALLOC, REALLOC, FREE]
report = {"hooked": crypto.CRYPTO_set_mem_functions(*hooks)}
if report["hooked"] == 1:
    scan["on"] = True
    s = lib.polo_signer_new(secret, len(secret))
    out = ffi.new("polo_out *")
    fields = b"command\0currencyPair\0buy\0BTC_ETH"
    n = lib.polo_encode_and_sign_out(s, fields, len(fields), 2, 7, out)
    report["body"] = ffi.unpack(out.body, n).decode()
    report["sign"] = ffi.unpack(out.hex, 128).decode()
    live = list(sizes.items())
    report["live_inner"] = sum(holds(p, n, [inner]) for p, n in live)
    report["live_outer"] = sum(holds(p, n, [outer]) for p, n in live)
    lib.polo_signer_free(s)
    report["freed_hits"] = scan["freed_hits"]
    report["live_hits_after"] = sum(holds(p, n, patterns) for p, n in list(sizes.items()))
    # negative control: a block holding the midstate, freed without cleansing, is caught
    scan["on"] = "control"
    crypto.CRYPTO_malloc.restype = ctypes.c_void_p
    crypto.CRYPTO_malloc.argtypes = [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int]
    crypto.CRYPTO_free.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    blk = crypto.CRYPTO_malloc(256, b"control", 1)
    ctypes.memmove(blk + 64, inner, len(inner))
    crypto.CRYPTO_free(blk, b"control", 1)
    report["control_hits"] = scan["control_hits"]
    scan["on"] = False
    report["route"] = ffi.string(lib.polo_route()).decode()
print(json.dumps(report), flush=True)
os._exit(0)  # libcrypto's exit handlers must not call back into a finalized interpreter
"""


def _hmac_patterns(secret: bytes) -> list[bytes]:
    import hashlib

    key = hashlib.sha512(secret).digest() if len(secret) > 128 else secret
    key = key.ljust(128, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    pats = [secret[:16], secret[-16:]] if len(secret) >= 16 else []
    return [*pats, ipad[:16], opad[:16], sha512_midstate(ipad)[:16], sha512_midstate(opad)[:16]]


def test_sha512_midstate_helper() -> None:
    # an empty message's padding block alone is one compression from the IV
    import hashlib

    block = b"\x80" + bytes(127)
    le = sys.byteorder == "little"
    digest = struct.pack(">8Q", *struct.unpack(("<" if le else ">") + "8Q", sha512_midstate(block)))
    assert digest == hashlib.sha512(b"").digest()


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("secret_len", [64, 128, 200])  # hex secret, one block, hashed key
def test_c_signer_memory_is_cleansed_after_free(secret_len: int, tmp_path: Path) -> None:
    import hashlib
    import hmac

    from polo_fast import _polo_sign

    secret = (
        os.urandom(secret_len // 2).hex().encode() if secret_len == 64 else os.urandom(secret_len)
    )
    patterns = _hmac_patterns(secret)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            _CHILD,
            str(_polo_sign.__file__),
            secret.hex(),
            ",".join(p.hex() for p in patterns),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["hooked"] == 1, "libcrypto allocated before the hooks: nothing was checked"
    body = b"command=buy&currencyPair=BTC_ETH&nonce=7"
    assert report["body"] == body.decode()
    assert report["sign"] == hmac.new(secret, body, hashlib.sha512).hexdigest()
    # positive control: while the signer lives, its midstates are in libcrypto memory
    assert report["live_inner"] >= 1 and report["live_outer"] >= 1, report
    # negative control: an uncleansed free of key material is seen
    assert report["control_hits"] == 1, report
    # the check itself: nothing of the key survives polo_signer_free
    assert report["freed_hits"] == 0, f"{report['route']}: freed blocks hold key material"
    assert report["live_hits_after"] == 0, f"{report['route']}: live blocks hold key material"


# ---------------------------------------------------------------- client, sync, compat


_SIGN_LINE = re.compile(rb"\r\nSign: ([0-9a-f]{128})\r\n")


@pytest.fixture
def signs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Sign value any signer computes during the test (they must not show either).

    Signers hand out Sign values three ways: ``sign``/``encode_and_sign`` return them, and
    ``encode_sign_request``/``_fields_request`` (the lanes' one-call path) embed them in the
    request bytes, where they are read back from the ``Sign:`` line.
    """
    seen: list[str] = []

    def from_request(request: bytes) -> bytes:
        m = _SIGN_LINE.search(request)
        assert m is not None, "a signed request without a Sign line"
        seen.append(m.group(1).decode())
        return request

    classes: list[type[Signer]] = [signing._PythonSigner]
    if "cffi" in signing.BACKENDS:
        classes.append(signing._CffiSigner)
    for cls in classes:
        real_eas = cls.encode_and_sign
        real_sign = cls.sign

        def eas(self: Any, params: Any, nonce: int, _real: Any = real_eas) -> tuple[bytes, str]:
            body, sig = _real(self, params, nonce)
            seen.append(sig)
            return body, sig

        def sign(self: Any, body: Any, _real: Any = real_sign) -> str:
            sig = str(_real(self, body))
            seen.append(sig)
            return sig

        monkeypatch.setattr(cls, "encode_and_sign", eas)
        monkeypatch.setattr(cls, "sign", sign)
        if hasattr(cls, "encode_sign_request"):
            real_esr = cls.encode_sign_request
            real_fr = cls._fields_request

            def esr(
                self: Any, head: bytes, params: Any, nonce: int, _real: Any = real_esr
            ) -> bytes:
                return from_request(_real(self, head, params, nonce))

            def fr(self: Any, head: bytes, _real: Any = real_fr) -> Any:
                inner = _real(self, head)
                return lambda fields, n, nonce: from_request(inner(fields, n, nonce))

            monkeypatch.setattr(cls, "encode_sign_request", esr)
            monkeypatch.setattr(cls, "_fields_request", fr)
    return seen


def shown(exc: BaseException) -> str:
    """Everything an exception can show: message, repr, attributes, the chained traceback."""
    attrs = {k: v for k, v in vars(exc).items() if not k.startswith("__")}
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + repr(attrs)


def refuses_pickle(obj: object) -> str:
    """Assert that ``obj`` cannot be pickled (it holds a signer); return the refusal text."""
    with pytest.raises((TypeError, pickle.PicklingError, AttributeError)) as info:
        pickle.dumps(obj)
    return repr(info.value)


def check_texts(texts: list[str], secrets: list[str], sign_values: list[str]) -> None:
    """No secret (or 16-character run of one) and no Sign value in any of ``texts``."""
    blob = "\n".join(texts)
    for secret in secrets:
        assert_clean(blob, secret, "a log, repr, exception or pickle")
    leaked = [s for s in sign_values if s in blob or s[:32] in blob]
    assert not leaked, "a Sign header value shows in a log, repr or exception"


def test_async_session_hygiene(
    run: Any, debug_logs: list[str], signs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from polo_fast import Client
    from polo_fast.errors import AuthenticationError, MayHaveExecutedError
    from polo_fast.testing import StandInExchange
    from tests.conftest import make_keys

    keys = make_keys(2)
    (key1, secret1), (key2, secret2) = keys.items()
    wrong = make_secret()
    texts: list[str] = []

    async def session() -> None:
        async with StandInExchange(keys=keys, rate_limit=None) as ex:
            opts: dict[str, Any] = {"url": ex.url, "ca_path": ex.ca_path, "timeout": 5.0}
            async with Client(keys=list(keys.items()), **opts) as pool:
                await pool.warm_up()
                await pool.return_balances()
                await pool.private("returnOpenOrders", currencyPair="all")
                await pool.public("returnTicker")
                texts.extend([repr(pool), str(pool), repr(pool.transport)])
                texts.append(refuses_pickle(pool))
            async with Client(key1, secret1, **opts) as one:
                order = await one.buy("BTC_ETH", Decimal("0.001"), Decimal("1"))
                await one.cancel_order(order_number=order["orderNumber"])
                ex.add_fault("close_after", command="buy")
                with pytest.raises(MayHaveExecutedError) as may:
                    await one.buy("BTC_ETH", Decimal("0.001"), Decimal("1"))
                texts.append(shown(may.value))
                with pytest.raises(Exception) as bad_arg:
                    await one.buy("BTC_ETH", Decimal("NaN"), Decimal("1"))
                texts.append(shown(bad_arg.value))
            async with Client(key2, wrong, **opts) as impostor:
                with pytest.raises(AuthenticationError) as auth:
                    await impostor.return_balances()
                texts.append(shown(auth.value))
                texts.append(repr(impostor))
            with pytest.raises(Exception) as bad_secret:
                Client(key1, "sécret-" + secret1, **opts)
            texts.append(shown(bad_secret.value))

    run(session())
    assert len(signs) >= 6 and debug_logs, "the session signed and logged nothing"
    check_texts(texts + debug_logs, [secret1, secret2, wrong], signs)


def test_sync_and_compat_hygiene(debug_logs: list[str], signs: list[str]) -> None:
    requests = pytest.importorskip("requests")
    from polo_fast import sync
    from polo_fast.compat.poloniex import Poloniex
    from polo_fast.compat.requests import PoloniexAuth
    from polo_fast.errors import AuthenticationError
    from polo_fast.nonce import NonceSource
    from polo_fast.testing import StandInExchange
    from tests.conftest import make_keys

    keys = make_keys(1)
    ((key, secret),) = keys.items()
    wrong = make_secret()
    texts: list[str] = []
    with StandInExchange(keys=keys, rate_limit=None).running() as ex:
        opts: dict[str, Any] = {"url": ex.url, "ca_path": ex.ca_path}
        with sync.Client(key, secret, **opts) as c:
            c.return_balances()
            texts.extend([repr(c), str(c), refuses_pickle(c)])
        with sync.Client(key, wrong, **opts) as c, pytest.raises(AuthenticationError) as auth:
            c.return_balances()
        texts.append(shown(auth.value))

        polo = Poloniex(key, secret, **opts)
        polo.returnBalances()
        texts.extend([repr(polo), str(polo), refuses_pickle(polo)])
        texts.append(repr(vars(polo).keys()))
        impostor = Poloniex(key, wrong, **opts)
        with pytest.raises(Exception) as compat_auth:
            impostor.returnBalances()
        texts.append(shown(compat_auth.value))

        # the compat client above pushed this key to microsecond nonces
        auth_obj = PoloniexAuth(key, secret, NonceSource(scale=1_000_000))
        r = requests.post(
            f"{ex.url}/tradingApi",
            data={"command": "returnBalances"},
            auth=auth_obj,
            verify=ex.ca_path,
            timeout=10,
        )
        assert r.status_code == 200
        texts.extend([repr(auth_obj), str(auth_obj), refuses_pickle(auth_obj)])
    assert signs and debug_logs
    check_texts(texts + debug_logs, [secret, wrong], signs)


def test_every_object_holding_a_secret_refuses_to_pickle() -> None:
    from polo_fast.client import Client
    from polo_fast.compat.poloniex import Poloniex
    from polo_fast.compat.requests import PoloniexAuth
    from polo_fast.sync import Client as SyncClient

    secret = make_secret()
    objects = [
        PoloniexAuth("KEYPREFIX-XXXX", secret),
        Poloniex("KEYPREFIX-XXXX", secret),
        SyncClient("KEYPREFIX-XXXX", secret, url="https://127.0.0.1:9"),
        Client("KEYPREFIX-XXXX", secret, url="https://127.0.0.1:9"),
    ]
    try:
        for obj in objects:
            with pytest.raises(TypeError, match="cannot be pickled") as info:
                pickle.dumps(obj)
            assert secret[:16] not in str(info.value)
    finally:
        objects[2].close()
