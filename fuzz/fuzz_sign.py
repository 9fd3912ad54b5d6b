"""Fuzz the signer: arbitrary parameters and secrets against ``urlencode`` + ``hmac``.

Run it with atheris (``make fuzz FUZZ_SECONDS=60``)::

    python fuzz/fuzz_sign.py build/fuzz/corpus tests/fuzz_corpus -max_total_time=60

Each input is decoded by :class:`Reader` (a plain, versionless byte format, so the kept corpus
in ``tests/fuzz_corpus/`` replays without atheris; ``tests/test_fuzz_corpus.py`` does that
in the normal suite) into one of three cases, and :func:`check_one` raises
``AssertionError`` on any disagreement:

``signer`` (modes 0, 1, 3)
    a secret (str or bytes, sometimes empty or non-ASCII), up to 63 parameters (mode 3: up
    to 2,000, with values up to ~20 kB) whose names and values are arbitrary text (NUL,
    surrogates, astral characters, the form's own ``&=+%#``), values also int, Decimal,
    float (NaN and infinities included), bool, None and bytes, and a nonce (sometimes out of
    range). Every backend's ``encode_and_sign`` (list form; dict form when the names are
    unique) must equal ``urlencode`` + ``hmac.new(..., sha512)`` byte for byte, with values
    formatted by an independent rule (``format(Decimal(repr(x)), 'f')`` for floats), or
    raise the same exception class as the reference predicts, whose message must not
    contain the secret. ``Signer.sign`` of arbitrary bytes must equal ``hmac``.
``raw`` (mode 2, compiled backend only)
    the C API through the ffi: arbitrary byte parts (NULs included) in the lengths or the
    NUL-separated layout, body and hex capacities drawn around the exact size; the return
    code must be the one ``csrc/polo_sign.h`` promises, the output must equal
    ``quote_plus`` + ``hmac``, and a guard region after each buffer must be intact.

Without the compiled module, raw cases are skipped and signer cases check the pure backend.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import shlex
import struct
import sys
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote_plus, urlencode

from polo_fast import signing
from polo_fast.signing import Signer, SigningError, SigningTypeError

__all__ = ["EXACT_BUFFERS", "GUARD", "Reader", "check_one", "main"]

#: Bytes of sentinel after each output buffer in raw cases.
GUARD = 16
#: A request head as the client's lanes prebuild it (``encode_sign_request``).
_HTTP_HEAD = (
    b"POST /tradingApi HTTP/1.1\r\nHost: poloniex.com\r\nKey: ABCDEFGH-12345678\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
)
#: The one-call request API exists (``Signer.encode_sign_request``, ``polo_sign_request``).
_HAS_REQUEST = hasattr(Signer, "encode_sign_request")
#: Raw cases also call into exact-size buffers (an overrun is then a sanitizer report).
#: A test that deliberately overstates a capacity turns this off: the guards absorb it.
EXACT_BUFFERS = True
_SENTINEL = 0xA5
_SPECIAL = " &=+%#?/;:@!$'()*,[]~._-\0\t\n\r\"<>\\^`{|}"
_ASCII = "abcXYZ019"

# C return codes (read from the compiled module when present).
_lib: Any = None
_ffi: Any = None
if "cffi" in signing.BACKENDS:
    from polo_fast._polo_sign import ffi as _ffi  # type: ignore[no-redef]
    from polo_fast._polo_sign import lib as _lib  # type: ignore[no-redef]


class Reader:
    """Consumes fuzz bytes deterministically; reads past the end give zeros."""

    def __init__(self, data: bytes) -> None:
        """Read from ``data``."""
        self.data = data
        self.pos = 0
        #: Lone surrogates and rejected values are drawn only in cases that allow them (one
        #: bad item anywhere refuses the whole request, so they must not be everywhere).
        self.allow_bad = False

    def u8(self) -> int:
        """One byte, 0..255."""
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def uint(self, nbytes: int) -> int:
        """An unsigned little-endian integer of ``nbytes`` bytes."""
        return int.from_bytes(self.raw(nbytes).ljust(nbytes, b"\0"), "little")

    def raw(self, n: int) -> bytes:
        """Up to ``n`` bytes."""
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def char(self) -> str:
        """One character: mostly ASCII and form specials, sometimes any code point."""
        k = self.u8()
        if k < 96:
            return _SPECIAL[k % len(_SPECIAL)] if k & 1 else _ASCII[k % len(_ASCII)]
        if k < 160:
            return chr(32 + self.u8() % 95)
        if k < 200:
            c = self.uint(2)  # BMP
            return chr(c) if not 0xD800 <= c < 0xE000 or self.allow_bad else chr(c - 0x800)
        if k < 250 or not self.allow_bad:
            return chr(0x10000 + self.uint(3) % 0x100000)  # astral
        return chr(0xD800 + self.uint(2) % 0x800)  # a lone surrogate

    def text(self, max_len: int) -> str:
        """A string of up to ``max_len`` characters."""
        n = self.uint(2) % (max_len + 1) if max_len > 255 else self.u8() % (max_len + 1)
        return "".join(self.char() for _ in range(n))


# ---------------------------------------------------------------- signer cases


def _expected_text(value: object) -> tuple[str | None, type[Exception] | None]:
    """The reference wire text of a value, or the exception class the signer must raise."""
    if isinstance(value, bool) or value is None or isinstance(value, bytes):
        return None, SigningTypeError
    if isinstance(value, str):
        return value, None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None, SigningError
        return format(value, "f"), None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, SigningError
        return format(Decimal(repr(value)), "f"), None
    raise AssertionError(f"unexpected value type {type(value).__name__}")  # pragma: no cover


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value(r: Reader, max_len: int) -> object:
    kind = r.u8() % 32
    if kind < 16:
        return r.text(max_len)
    if kind < 20:  # any int, big and negative ones included
        # (never from_bytes(b""): CPython 3.11 reads an uninitialised digit there, which
        # memcheck reports under make valgrind)
        v = int.from_bytes(r.raw(r.u8() % 33) or b"\0", "little")
        return -v if r.u8() & 1 else v
    if kind < 24:  # Decimal from drawn text; unparsable text or a huge exponent: scaled int
        digits = "".join("0123456789.-+eE"[r.u8() % 15] for _ in range(r.u8() % 24))
        try:
            d = Decimal(digits)
        except InvalidOperation:
            d = Decimal(r.uint(4)).scaleb(-(r.u8() % 30))
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and abs(exponent) > 60:  # plain form would be huge
            d = Decimal(r.uint(4)).scaleb(-(r.u8() % 30))
        return d
    if kind < 26:  # any float bit pattern: NaN, infinities, subnormals
        x = float(struct.unpack("<d", r.raw(8).ljust(8, b"\0"))[0])
        return x if math.isfinite(x) or r.allow_bad else 0.5
    if kind < 28:  # a plain non-negative int, as most parameters are
        return r.uint(8)
    if kind == 28:
        return (0.1, 1e-8, 1.23e-7, 1e16, 1e22, -0.0, 5e-324, 1.7976931348623157e308)[r.u8() % 8]
    if kind == 29 or not r.allow_bad:
        specials = ("-0", "1E+3", "1E-8", "0.00", "NaN", "sNaN", "Infinity", "-Infinity")
        return Decimal(specials[r.u8() % (8 if r.allow_bad else 4)])
    if kind == 30:
        return (True, False, None)[r.u8() % 3]
    return r.raw(r.u8() % 8)


def _check_signer(r: Reader, many: bool) -> str:
    r.allow_bad = r.u8() % 4 == 0
    # the secret: bytes, or str (ASCII, or not: must be refused), sometimes empty
    raw_secret = r.raw(r.u8() % 200)
    secret: str | bytes
    secret_text = raw_secret.decode("latin-1")
    if r.u8() & 1 and raw_secret.isascii():
        secret = secret_text
    elif r.u8() % 16 == 0 and r.allow_bad:
        secret = secret_text + "é"  # non-ASCII str secret
    else:
        secret = raw_secret
    nonce_kind = r.u8() % 16
    nonce: int = r.uint(8)
    if nonce_kind == 0 and r.allow_bad:
        nonce = -1 - r.u8()
    elif nonce_kind == 1 and r.allow_bad:
        nonce = 2**64 + r.u8()
    elif nonce_kind == 2:
        nonce = 2**64 - 1
    n = r.uint(2) % 2001 if many else r.u8() % 64
    repeat = 1 + (r.u8() % 40 if many else 0)
    params: list[tuple[str, Any]] = []
    for _ in range(n):
        name = r.text(12 if many else 40)
        if r.u8() % 64 == 0 and r.allow_bad:
            name = "nonce"
        value = _value(r, 40)
        if isinstance(value, str) and repeat > 1 and r.u8() % 4 == 0:
            value = value * repeat
        params.append((name, value))
    body_msg = r.raw(r.uint(2) % 600)
    head = _HTTP_HEAD if r.u8() & 1 else r.raw(r.u8() % 120)

    # the reference: every problem of the input, in order. With one problem its class is
    # the one to raise; with several, either backend may report any of them (the compiled
    # path formats all values before it looks at names), so the class must be among them.
    problems: list[type[Exception]] = []
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in params:
        if name == "nonce" or not _encodable(name) or name in seen:  # each name once
            problems.append(SigningError)
        seen.add(name)
        text, exc = _expected_text(value)
        if exc is not None:
            problems.append(exc)
        elif text is not None and not _encodable(text):
            problems.append(SigningError)
        elif text is not None:
            pairs.append((name, text))
    if not problems and not 0 <= nonce < 2**64:
        problems.append(SigningError)
    if (isinstance(secret, str) and not secret.isascii()) or not secret:
        problems = [SigningError]  # the constructor refuses first
    want_exc: type[Exception] | None = problems[0] if problems else None

    key = secret.encode("latin-1") if isinstance(secret, str) else secret
    ref: tuple[bytes, str] | None = None
    ref_request: bytes | None = None
    if want_exc is None:
        body = urlencode([*pairs, ("nonce", str(nonce))]).encode("ascii")
        ref = body, hmac.new(key, body, hashlib.sha512).hexdigest()
        ref_request = b"%s%d\r\nSign: %s\r\n\r\n%s" % (head, len(body), ref[1].encode(), body)
    unique = len({name for name, _ in params}) == len(params)
    secret_shown = secret_text if len(secret_text) >= 8 else None
    if secret_shown is not None and any(secret_shown in repr(p) for p in params):
        secret_shown = None  # the secret is also a parameter: messages may quote it

    for backend in signing.BACKENDS:
        try:
            signer = Signer(secret, backend=backend)
        except SigningError as exc:
            assert want_exc is SigningError and (not secret or isinstance(secret, str)), (
                f"{backend}: Signer refused a valid secret: {exc!r}"
            )
            assert secret_shown is None or secret_shown not in str(exc)
            continue
        if secret_shown is not None:
            assert secret_shown not in repr(signer)
        assert signer.sign(body_msg) == hmac.new(key, body_msg, hashlib.sha512).hexdigest(), (
            f"{backend}: sign() differs from hmac"
        )
        forms: list[Any] = [params]
        if unique:
            forms.append(dict(params))
        for form in forms:
            try:
                got = signer.encode_and_sign(form, nonce)
            except SigningError as exc:
                assert type(exc) in problems, (
                    f"{backend}/{type(form).__name__}: raised {exc!r}, expected "
                    f"{[p.__name__ for p in problems] or 'a result'}"
                )
                assert secret_shown is None or secret_shown not in str(exc)
                continue
            assert want_exc is None, (
                f"{backend}/{type(form).__name__}: signed, expected {want_exc.__name__}"
            )
            assert got == ref, f"{backend}/{type(form).__name__}: body or sign differs"
        if _HAS_REQUEST:
            _check_request(signer, backend, forms, head, nonce, problems, pairs, ref_request)
    kind = "signer-many" if many else "signer"
    return f"{kind}:{'signed' if want_exc is None else 'refused'}"


def _check_request(
    signer: Signer,
    backend: str,
    forms: list[Any],
    head: bytes,
    nonce: int,
    problems: list[type[Exception]],
    pairs: list[tuple[str, str]],
    ref_request: bytes | None,
) -> None:
    """``encode_sign_request`` (and the client's ``_fields_request``) against the reference."""
    for form in forms:
        try:
            got = signer.encode_sign_request(head, form, nonce)
        except SigningError as exc:
            assert type(exc) in problems, f"{backend}: encode_sign_request raised {exc!r}"
            continue
        assert not problems, f"{backend}: encode_sign_request signed a refused request"
        assert got == ref_request, f"{backend}/{type(form).__name__}: request differs"
    if problems or any("\0" in n or "\0" in v for n, v in pairs):
        return  # _fields_request takes validated, NUL-free fields only (the client's path)
    fields = "\0".join([n for n, _ in pairs] + [v for _, v in pairs]).encode()
    request = signer._fields_request(head)
    assert request(fields, len(pairs), nonce) == ref_request, f"{backend}: _fields_request"
    assert request(fields, len(pairs), nonce) == ref_request, f"{backend}: area reuse"


# ---------------------------------------------------------------- raw C cases


def _guarded(cap: int) -> Any:
    buf = _ffi.new("char[]", cap + GUARD)
    _ffi.memmove(buf, bytes([_SENTINEL]) * (cap + GUARD), cap + GUARD)
    return buf


def _guard_ok(buf: Any, cap: int) -> bool:
    return bool(_ffi.unpack(buf + cap, GUARD) == bytes([_SENTINEL]) * GUARD)


def _check_raw(r: Reader) -> str:
    if _lib is None:
        return "raw:skipped"
    key = r.raw(1 + r.u8() % 200)
    n = r.u8() % 24
    parts = [r.raw(r.u8() % 64) for _ in range(2 * n)]
    if n and r.u8() % 16 == 0:
        parts[r.u8() % n] = b"nonce"
    nonce = r.uint(8)
    use_lens = bool(r.u8() & 1)
    if not use_lens and r.u8() % 4:
        parts = [p.replace(b"\0", b"") for p in parts]  # mostly a valid NUL layout
    data = b"".join(parts) if use_lens else b"\0".join(parts)
    expected = (
        "".join(
            f"{quote_plus(parts[i], safe='')}={quote_plus(parts[n + i], safe='')}&"
            for i in range(n)
        )
        + f"nonce={nonce}"
    ).encode("ascii")
    exact = len(expected)
    bound = 3 * len(data) + 2 * n + 26
    choice = r.u8() % 7
    body_cap = (0, max(exact - 1, 0), exact, exact + 1, bound, r.uint(2) % (exact + 2), 4096)[
        choice
    ]
    hex_cap = (128, 129, 128, 129, 127, r.u8() % 140, 0)[r.u8() % 7]
    has_nul = any(b"\0" in p for p in parts)

    def want_for(body_cap: int, hex_cap: int) -> int:
        if hex_cap < 128:
            return int(_lib.POLO_ERR_SIGN_SPACE)
        if not use_lens and has_nul:
            return int(_lib.POLO_ERR_FIELDS)
        if body_cap < exact:
            return int(_lib.POLO_ERR_BODY_SPACE)
        if b"nonce" in parts[:n]:
            return int(_lib.POLO_ERR_NONCE_NAME)
        return exact

    ptr = _lib.polo_signer_new(key, len(key))
    if not key:  # the input ran out: an empty key is refused
        assert ptr == _ffi.NULL, "raw: polo_signer_new accepted an empty key"
        return "raw:refused"
    assert ptr != _ffi.NULL, "raw: polo_signer_new failed"
    s = _ffi.gc(ptr, _lib.polo_signer_free)
    lens = _ffi.new("size_t[]", [len(p) for p in parts]) if use_lens else _ffi.NULL
    sig = hmac.new(key, expected, hashlib.sha512).hexdigest().encode()

    def encode(body_cap: int, hex_cap: int, guard: bool) -> int:
        """One call; guarded buffers (sentinel checked) or exact-size ones (for ASan)."""
        if guard:
            body, hexbuf = _guarded(body_cap), _guarded(hex_cap)
        else:
            body, hexbuf = _ffi.new("char[]", body_cap), _ffi.new("char[]", hex_cap)
        rc = int(
            _lib.polo_encode_and_sign(
                s, data, len(data), lens, n, nonce, body, body_cap, hexbuf, hex_cap
            )
        )
        want = want_for(body_cap, hex_cap)
        assert rc == want, f"raw: rc {rc}, expected {want} (body_cap {body_cap}/{exact})"
        if guard:
            assert _guard_ok(body, body_cap), f"raw: write past body[{body_cap}]"
            assert _guard_ok(hexbuf, hex_cap), f"raw: write past hex[{hex_cap}]"
        if rc >= 0:
            assert _ffi.unpack(body, rc) == expected, "raw: body differs from quote_plus"
            assert _ffi.unpack(hexbuf, 128) == sig, "raw: sign differs from hmac"
            if guard:
                tail = _ffi.unpack(hexbuf + 128, 1)
                assert tail == (b"\0" if hex_cap > 128 else bytes([_SENTINEL])), "raw: NUL"
        return want

    # the drawn capacities, then the edges around the exact size; each first into
    # exact-size buffers (an overrun is an ASan report under make asan), then guarded ones
    if EXACT_BUFFERS:
        encode(body_cap, hex_cap, guard=False)
    want = encode(body_cap, hex_cap, guard=True)
    for edge in sorted({max(exact - 1, 0), exact}):
        if EXACT_BUFFERS:
            encode(edge, 128, guard=False)
        encode(edge, 128, guard=True)

    if hasattr(_lib, "polo_sign_request"):
        _check_raw_request(r, s, data, n, nonce, use_lens, has_nul, parts, expected, sig)

    # polo_sign of the same bytes with a drawn capacity
    sign_cap = (128, 129, 127, 0)[r.u8() % 4]
    out = _guarded(sign_cap)
    rc = _lib.polo_sign(s, data, len(data), out, sign_cap)
    if sign_cap < 128:
        assert rc == _lib.POLO_ERR_SIGN_SPACE
    else:
        assert rc == _lib.POLO_OK
        assert _ffi.unpack(out, 128) == hmac.new(key, data, hashlib.sha512).hexdigest().encode()
    assert _guard_ok(out, sign_cap), f"raw: polo_sign wrote past hex[{sign_cap}]"
    return f"raw:{'signed' if want >= 0 else 'refused'}"


def _check_raw_request(
    r: Reader,
    s: Any,
    data: bytes,
    n: int,
    nonce: int,
    use_lens: bool,
    has_nul: bool,
    parts: list[bytes],
    body: bytes,
    sig: bytes,
) -> None:
    """``polo_sign_request``: the drawn capacity and the edges, exact-size and guarded."""
    if use_lens:  # the request call takes the NUL-separated layout only
        data = b"\0".join(parts)
    head = _HTTP_HEAD if r.u8() & 1 else r.raw(r.u8() % 120)
    want_request = b"%s%d\r\nSign: %s\r\n\r\n%s" % (head, len(body), sig, body)
    base = len(head) + 20 + int(_lib.POLO_REQUEST_FIXED)
    need = base + len(body)
    drawn = r.uint(2) % (need + 2)
    for cap in sorted({drawn, 0, base - 1, need - 1, need, len(want_request)}):
        if cap < base:
            want = int(_lib.POLO_ERR_BODY_SPACE)
        elif has_nul and n:
            want = int(_lib.POLO_ERR_FIELDS)
        elif cap - base < len(body):
            want = int(_lib.POLO_ERR_BODY_SPACE)
        elif b"nonce" in parts[:n]:
            want = int(_lib.POLO_ERR_NONCE_NAME)
        else:
            want = len(want_request)
        for guard in (False, True) if EXACT_BUFFERS else (True,):
            out = _guarded(cap) if guard else _ffi.new("char[]", cap)
            rc = int(
                _lib.polo_sign_request(s, head, len(head), data, len(data), n, nonce, out, cap)
            )
            assert rc == want, f"raw: request rc {rc}, expected {want} (cap {cap}/{need})"
            if guard:
                assert _guard_ok(out, cap), f"raw: polo_sign_request wrote past out[{cap}]"
            if rc >= 0:
                assert _ffi.unpack(out, rc) == want_request, "raw: request layout differs"


def check_one(data: bytes) -> str:
    """Decode one fuzz input, check it; return the case kind. ``AssertionError`` = a bug."""
    r = Reader(data)
    mode = r.u8() % 4
    if mode == 2:
        return _check_raw(r)
    return _check_signer(r, many=mode == 3)


# ---------------------------------------------------------------- atheris entry point


def main(argv: list[str]) -> None:
    """Run the atheris fuzzer with ``argv`` (libFuzzer flags and corpus directories)."""
    import atheris

    counts: dict[str, int] = {}

    def one_input(data: bytes) -> None:
        kind = check_one(data)
        counts[kind] = counts.get(kind, 0) + 1
        total = sum(counts.values())
        if total & (total - 1) == 0 and total >= 1024:  # powers of two: a cheap progress line
            print(f"fuzz_sign: {total} inputs {sorted(counts.items())}", flush=True)

    # coverage feedback from the signer and this harness (already imported: instrument now)
    atheris.instrument_all()
    # libFuzzer's -merge re-runs argv[0] through the shell: make that "python this-file"
    argv = [f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(__file__))}", *argv[1:]]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
