"""The thin cffi layer over the compiled ``polo_fast._polo_sign`` (``csrc/``).

Each function here wraps one C call in the same shape (PyNaCl's bindings are the model):
sizes come from ``lib`` (the headers' ``#define``s, never repeated in Python), buffers are
allocated here, arguments the C side would refuse are turned into typed errors, the one C
call is made, and its return code is checked with :func:`ensure`, which maps every
``POLO_ERR_*`` to a typed :class:`~polo_fast.errors.SigningError`. Functions whose name
ends in ``_fast`` write into a reusable area and return ``None`` instead when the input
needs the exact-size route (too big for the area, a NUL inside a part, a parameter named
``nonce``), so the caller picks the slower function, which always answers or raises.

The Spot route (``csrc/polo_spot.{c,h}``, listed in ``_ffi_build.HEADERS``/``SOURCES``)
has its functions here in the same shape, named ``spot_*``: sizes from :data:`lib`, one C
call, return codes checked by :func:`ensure` against :data:`SPOT_ERRORS` (the two routes'
codes overlap, so each has its table). Their refusal texts, :data:`SPOT_REFUSALS`, are
read by the pure path too, so both backends refuse an input with the same words.

:data:`lib` is None when the module is not compiled, or when ``POLO_FAST_PURE=1`` forces
the pure path; the functions are then never called (``signing`` uses ``hmac``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from polo_fast._format import check_nonce
from polo_fast.errors import SigningError

__all__ = [
    "AVAILABLE",
    "ERRORS",
    "HEX_LEN",
    "REQUEST_AREA",
    "SPOT_AVAILABLE",
    "SPOT_ERRORS",
    "SPOT_MAX_PARAMS",
    "SPOT_REFUSALS",
    "SPOT_SIG_LEN",
    "SpotCall",
    "alloc",
    "body_bound",
    "encode_and_sign",
    "encode_and_sign_fast",
    "ensure",
    "ffi",
    "layout",
    "lib",
    "new_signer",
    "new_spot_signer",
    "request_writer",
    "sign",
    "sign_request",
    "sign_request_fast",
    "spot_body_signer",
    "spot_refusal",
    "spot_request",
    "spot_request_writer",
    "spot_sign",
    "spot_string_to_sign",
]

#: ``POLO_FAST_PURE=1`` (anything but empty or 0) forces the pure-Python path.
PURE = os.environ.get("POLO_FAST_PURE", "") not in ("", "0")

ffi: Any = None
lib: Any = None
if not PURE:
    with contextlib.suppress(ImportError):  # no compiled module: the pure path
        from polo_fast._polo_sign import ffi, lib  # type: ignore[no-redef]

#: True when the compiled module is loaded.
AVAILABLE: bool = lib is not None

#: Bytes of the reusable request areas (pooled, and one per key lane): head, lines and a
#: body of a few kB. A Python choice, not C's: a longer request takes the exact-size route.
REQUEST_AREA = 8192

#: ``POLO_ERR_*`` code -> (error class, what it means), for :func:`ensure`.
ERRORS: dict[int, tuple[type[Exception], str]] = {}

if lib is not None:
    HEX_LEN: int = lib.POLO_SIGN_HEX_LEN
    _PER_BYTE: int = lib.POLO_BODY_PER_BYTE
    _PER_FIELD: int = lib.POLO_BODY_PER_FIELD
    _TAIL: int = lib.POLO_BODY_TAIL
    _REQUEST_EXTRA: int = lib.POLO_LEN_DIGITS + lib.POLO_REQUEST_FIXED
    _NULL = ffi.NULL
    _unpack = ffi.unpack
    #: ``alloc(ctype, size)``: like ``ffi.new`` without zeroing (C writes before Python reads).
    alloc: Callable[..., Any] = ffi.new_allocator(should_clear_after_alloc=False)
    _c_sign = lib.polo_sign
    _c_encode = lib.polo_encode_and_sign
    _c_encode_out = lib.polo_encode_and_sign_out
    _c_request = lib.polo_sign_request
    ERRORS.update(
        {
            lib.POLO_ERR_ARG: (SigningError, "bad arguments"),
            lib.POLO_ERR_BODY_SPACE: (SigningError, "the output buffer is too small"),
            lib.POLO_ERR_SIGN_SPACE: (SigningError, "the Sign buffer is too small"),
            lib.POLO_ERR_FIELDS: (SigningError, "a NUL byte inside a name or value"),
            lib.POLO_ERR_NONCE_NAME: (
                SigningError,
                "parameter 'nonce' is added by the signer (last); pass it as nonce=",
            ),
            lib.POLO_ERR_CRYPTO: (MemoryError, "libcrypto failed"),
        }
    )


def ensure(rc: int, what: str, table: dict[int, tuple[type[Exception], str]] = ERRORS) -> int:
    """Return ``rc`` when it is a result (>= 0); raise the typed error of a ``POLO_ERR_*``
    (or of a ``POLO_SPOT_ERR_*`` with ``table=SPOT_ERRORS``).

    Raises:
        SigningError: the C side refused the input (nothing was signed).
        MemoryError: libcrypto failed.
    """
    if rc >= 0:
        return rc
    cls, why = table.get(rc, (SigningError, f"code {rc}"))
    raise cls(f"{what}: {why}; nothing was signed")


def layout(parts: list[bytes], n: int) -> tuple[bytes, Any]:
    """``(fields, lens)`` for ``parts`` (``n`` names, then ``n`` values) as C reads them:
    NUL-separated with ``lens`` NULL, or end to end with a ``size_t[]`` of the part lengths
    when a part holds a NUL."""
    data = b"\0".join(parts)
    if data.count(b"\0") == max(2 * n - 1, 0):
        return data, _NULL
    return b"".join(parts), ffi.new("size_t[]", [len(p) for p in parts])


def body_bound(fields_len: int, n_fields: int) -> int:
    """The most bytes the body of ``n_fields`` fields in ``fields_len`` bytes can need."""
    return _PER_BYTE * fields_len + _PER_FIELD * n_fields + _TAIL


def new_signer(key: bytearray) -> Any:
    """A ``polo_signer *`` keyed with ``key`` (freed with the returned object).

    The caller wipes ``key`` afterwards; C keeps only the precomputed HMAC states.

    Raises:
        MemoryError: ``polo_signer_new`` failed.
    """
    return _keyed(lib.polo_signer_new, lib.polo_signer_free, key)


def _keyed(c_new: Any, c_free: Any, key: bytearray) -> Any:
    """``c_new(key)``, freed by ``c_free`` with the returned object.

    Raises:
        MemoryError: ``c_new`` returned NULL.
    """
    ptr = c_new(ffi.from_buffer(key), len(key))
    if ptr == _NULL:
        raise MemoryError(f"{c_new.__name__} failed")
    return ffi.gc(ptr, c_free)


def sign(signer: Any, body: bytes | bytearray | memoryview) -> str:
    """The hex HMAC-SHA512 of ``body``, from ``polo_sign``."""
    if type(body) is not bytes:
        body = ffi.from_buffer(body)
    out = alloc("char[]", HEX_LEN)
    ensure(_c_sign(signer, body, len(body), out, HEX_LEN), "polo_sign")
    return _unpack(out, HEX_LEN).decode("ascii")  # type: ignore[no-any-return]


# Reusable output areas, shared by all threads: a call pops one (so it owns it alone, even
# when a signal handler or another thread signs meanwhile) and pushes it back once it has
# read the result. The pools grow to the number of calls ever in progress at once.
_OUTS: list[tuple[Any, Any, Any]] = []
_REQUESTS: list[Any] = []


def _new_out() -> tuple[Any, Any, Any]:
    """A ``polo_out`` area and pointers to its hex and body (read without struct lookups)."""
    area = alloc("polo_out *")
    hex_at = ffi.cast("char *", area.hex)
    return area, hex_at, ffi.cast("char *", area.body)


def encode_and_sign_fast(signer: Any, data: bytes, n: int, nonce: int) -> tuple[bytes, str] | None:
    """``(body, sign)`` from ``polo_encode_and_sign_out`` into a pooled area, or None when
    the body does not fit there, a part holds a NUL or a name is ``nonce``.

    Raises:
        SigningError: the nonce is not an int in 0 .. 2**64-1.
    """
    pool = _OUTS
    out = pool.pop() if pool else _new_out()
    try:
        size = _c_encode_out(signer, data, len(data), n, nonce, out[0])
    except (OverflowError, TypeError):
        check_nonce(nonce)  # raises the precise error for a bad nonce
        raise
    if size >= 0:
        done = _unpack(out[2], size), _unpack(out[1], HEX_LEN).decode()
        pool.append(out)
        return done
    pool.append(out)
    return None


def encode_and_sign(signer: Any, parts: list[bytes], n: int, nonce: int) -> tuple[bytes, str]:
    """``(body, sign)`` for ``parts`` (``n`` names, then ``n`` values) in right-sized buffers:
    the NUL-separated layout, or explicit lengths when a part holds a NUL.

    Raises:
        SigningError: a name ``nonce``, or a nonce out of range.
    """
    data, lens = layout(parts, n)
    cap = body_bound(len(data), n)
    buf = alloc("char[]", HEX_LEN + cap)
    try:
        size = _c_encode(signer, data, len(data), lens, n, nonce, buf + HEX_LEN, cap, buf, HEX_LEN)
    except (OverflowError, TypeError):
        check_nonce(nonce)  # raises the precise error for a bad nonce
        raise
    ensure(size, "polo_encode_and_sign")
    return _unpack(buf + HEX_LEN, size), _unpack(buf, HEX_LEN).decode()


def sign_request_fast(signer: Any, head: bytes, data: bytes, n: int, nonce: int) -> bytes | None:
    """The whole request from ``polo_sign_request`` into a pooled area, or None when it does
    not fit there, a part holds a NUL or a name is ``nonce``.

    Raises:
        SigningError: the nonce is not an int in 0 .. 2**64-1.
    """
    pool = _REQUESTS
    area = pool.pop() if pool else alloc("char[]", REQUEST_AREA)
    try:
        size = _c_request(signer, head, len(head), data, len(data), n, nonce, area, REQUEST_AREA)
    except (OverflowError, TypeError):
        check_nonce(nonce)  # raises the precise error for a bad nonce
        raise
    request = _unpack(area, size) if size >= 0 else None
    pool.append(area)
    return request


def sign_request(signer: Any, head: bytes, data: bytes, n: int, nonce: int) -> bytes:
    """The whole request from ``polo_sign_request`` in a right-sized buffer.

    Raises:
        SigningError: a part holds a NUL, a name ``nonce``, or a nonce out of range.
    """
    cap = len(head) + _REQUEST_EXTRA + body_bound(len(data), n)
    out = alloc("char[]", cap)
    try:
        size = _c_request(signer, head, len(head), data, len(data), n, nonce, out, cap)
    except (OverflowError, TypeError):
        check_nonce(nonce)  # raises the precise error for a bad nonce
        raise
    return _unpack(out, ensure(size, "polo_sign_request"))  # type: ignore[no-any-return]


def request_writer(signer: Any, head: bytes) -> Callable[[bytes, int, int], bytes]:
    """A function ``(fields, n, nonce) -> request`` for one prebuilt ``head``, writing into
    its own area (one caller on one thread: a key lane); requests too long for the area
    get a right-sized buffer.

    Raises (the returned function):
        SigningError: as :func:`sign_request`.
    """
    head_len = len(head)
    cap = REQUEST_AREA
    area = alloc("char[]", cap)
    c_request = _c_request
    unpack = _unpack

    def request(fields: bytes, n: int, nonce: int) -> bytes:
        try:
            size = c_request(signer, head, head_len, fields, len(fields), n, nonce, area, cap)
        except (OverflowError, TypeError):
            check_nonce(nonce)  # raises the precise error for a bad nonce
            raise
        if size >= 0:
            return unpack(area, size)  # type: ignore[no-any-return]
        return sign_request(signer, head, fields, n, nonce)

    return request


# ---------------------------------------------------------------- the Spot route

#: True when the compiled module holds the Spot route (``csrc/polo_spot.c``).
SPOT_AVAILABLE: bool = lib is not None and hasattr(lib, "polo_spot_request")

#: The most parameters one Spot call takes: ``POLO_SPOT_MAX_PARAMS`` (the pure path, which
#: has no ``lib`` to read it from, keeps the same bound; a test checks the two agree).
SPOT_MAX_PARAMS: int = lib.POLO_SPOT_MAX_PARAMS if SPOT_AVAILABLE else 64

#: ``POLO_SPOT_ERR_<name>`` -> (error class, what it means): the words of every refusal,
#: for :func:`ensure` (through :data:`SPOT_ERRORS`) and for the pure path
#: (:func:`spot_refusal`), so both backends refuse an input alike.
SPOT_REFUSALS: dict[str, tuple[type[Exception], str]] = {
    "ARG": (SigningError, "bad arguments"),
    "SPACE": (SigningError, "the output buffer is too small"),
    "FIELDS": (SigningError, "a NUL byte inside a name or value"),
    "METHOD": (SigningError, "method must be 'GET', 'POST', 'PUT' or 'DELETE'"),
    "PATH": (
        SigningError,
        "path must start with '/' and hold only visible ASCII without '?' and '#' "
        "(percent-encode the rest; the parameters go in params)",
    ),
    "DUP_NAME": (SigningError, "a parameter name is given twice"),
    "TS_NAME": (
        SigningError,
        "parameter 'signTimestamp' is added by the signer; pass it as timestamp=",
    ),
    "TOO_MANY": (SigningError, f"more than {SPOT_MAX_PARAMS} parameters"),
    "BODY": (
        SigningError,
        "a body with GET, an empty body (pass body=None), or a body and params together "
        "(send the params in the body)",
    ),
    "CRYPTO": (MemoryError, "libcrypto failed"),
}

#: ``POLO_SPOT_ERR_*`` code -> (error class, what it means), for :func:`ensure`.
SPOT_ERRORS: dict[int, tuple[type[Exception], str]] = {}

if SPOT_AVAILABLE:
    SPOT_SIG_LEN: int = lib.POLO_SPOT_SIG_LEN
    _SPOT_SPACE: int = lib.POLO_SPOT_ERR_SPACE
    _c_spot_sign = lib.polo_spot_sign
    _c_spot_sts = lib.polo_spot_string_to_sign
    _c_spot_request = lib.polo_spot_request
    _c_spot_bound = lib.polo_spot_request_bound
    SPOT_ERRORS.update({getattr(lib, f"POLO_SPOT_ERR_{k}"): v for k, v in SPOT_REFUSALS.items()})

#: The name the Spot refusals give the call (the same on both backends).
_SPOT = "spot signing"


def spot_refusal(code: str) -> Exception:
    """The error :func:`ensure` raises for ``POLO_SPOT_ERR_<code>``, for the pure path."""
    cls, why = SPOT_REFUSALS[code]
    return cls(f"{_SPOT}: {why}; nothing was signed")


def new_spot_signer(key: bytearray) -> Any:
    """A ``polo_spot_signer *`` keyed with ``key`` (freed with the returned object).

    The caller wipes ``key`` afterwards; C keeps only the precomputed HMAC-SHA256 states.

    Raises:
        MemoryError: ``polo_spot_signer_new`` failed.
    """
    return _keyed(lib.polo_spot_signer_new, lib.polo_spot_signer_free, key)


# Reusable signature areas (a bytearray and a C view of it), shared by all threads as
# _OUTS is: the signature is read with one bytearray.decode.
_SIGS: list[tuple[bytearray, Any]] = []


def _new_sig() -> tuple[bytearray, Any]:
    area = bytearray(SPOT_SIG_LEN)
    return area, ffi.from_buffer("char[]", area)


#: One Spot call's input as C reads it: ``(method, path, fields, lens, n, body, ts)``:
#: ``fields``/``lens``/``n`` as :func:`layout` gives them, ``body`` None for no body, ``ts``
#: an int in 0 .. 2**64-1 (checked by the caller: C raises ``OverflowError``).
SpotCall = tuple[bytes, bytes, bytes, Any, int, bytes | None, int]


def _spot_args(call: SpotCall) -> tuple[Any, ...]:
    """The C arguments of ``call`` from ``method`` to ``ts``, lengths included."""
    method, path, fields, lens, n, body, ts = call
    if body is None:
        return method, path, len(path), fields, len(fields), lens, n, _NULL, 0, 0, ts
    return method, path, len(path), fields, len(fields), lens, n, body, len(body), 1, ts


def spot_sign(signer: Any, call: SpotCall) -> str:
    """The base64 HMAC-SHA256 of the Spot string to sign, from ``polo_spot_sign``.

    Raises:
        SigningError: the C side refused the input.
    """
    item = _SIGS.pop() if _SIGS else _new_sig()
    return _spot_sig(_c_spot_sign(signer, *_spot_args(call), item[1], SPOT_SIG_LEN), item)


def spot_body_signer(signer: Any) -> Callable[[bytes, bytes, bytes, int], str]:
    """A function ``(method, path, body, ts) -> signature``: :func:`spot_sign` for a request
    with a body and no parameters (the hot path: an order) with ``signer`` and every C name
    bound, so a call takes the fewest Python steps. Safe for any number of threads (the
    signature areas come from the shared pool).

    Raises (the returned function):
        SigningError: the C side refused the input.
    """
    pool = _SIGS
    c_sign = _c_spot_sign
    null = _NULL
    sig_len = SPOT_SIG_LEN
    new_sig = _new_sig

    def sign_body(method: bytes, path: bytes, body: bytes, ts: int) -> str:
        item = pool.pop() if pool else new_sig()
        rc = c_sign(
            signer, method, path, len(path), b"", 0, null, 0, body, len(body), 1, ts, item[1],
            sig_len,
        )  # fmt: skip
        if rc == 0:  # inline: a call less on the hot path
            sig: str = item[0].decode()
            pool.append(item)
            return sig
        return _spot_sig(rc, item)

    return sign_body


def _spot_sig(rc: int, item: tuple[bytearray, Any]) -> str:
    """The signature in ``item`` (read before the area goes back to the pool), or raise."""
    sig = item[0].decode() if rc == 0 else ""
    _SIGS.append(item)
    ensure(rc, _SPOT, SPOT_ERRORS)
    return sig


def spot_string_to_sign(call: SpotCall) -> bytes:
    """The Spot string to sign, from ``polo_spot_string_to_sign``.

    Raises:
        SigningError: the C side refused the input.
    """
    args = _spot_args(call)
    cap = _c_spot_bound(args[2], 0, args[4], args[6], args[8])  # C's own bound, not a copy
    out = alloc("char[]", cap)
    size = _c_spot_sts(*args, out, cap)
    return _unpack(out, ensure(size, _SPOT, SPOT_ERRORS))  # type: ignore[no-any-return]


def spot_request(signer: Any, head: bytes, call: SpotCall) -> bytes:
    """The whole Spot request from ``polo_spot_request`` in a right-sized buffer.

    Raises:
        SigningError: the C side refused the input.
    """
    args = _spot_args(call)
    cap = _c_spot_bound(args[2], len(head), args[4], args[6], args[8])
    out = alloc("char[]", cap)
    size = _c_spot_request(signer, *args[:3], head, len(head), *args[3:], out, cap)
    return _unpack(out, ensure(size, _SPOT, SPOT_ERRORS))  # type: ignore[no-any-return]


def spot_request_writer(
    signer: Any, head: bytes, check_ts: Callable[[object], object]
) -> Callable[[bytes, bytes, bytes, int, bytes | None, int], bytes]:
    """A function ``(method, path, fields, n, body, ts) -> request`` for one prebuilt
    ``head``, writing with one ``polo_spot_request`` call into its own area (one caller on
    one thread: a lane); a request too long for the area gets a right-sized buffer.
    ``fields`` is NUL-separated (names, then values); ``body`` None for no body.

    Raises (the returned function):
        SigningError: as :func:`spot_request`; what ``check_ts(ts)`` raises for a bad ts.
    """
    head_len = len(head)
    cap = REQUEST_AREA
    area = alloc("char[]", cap)
    c_request = _c_spot_request
    unpack = _unpack
    null = _NULL

    def request(
        method: bytes, path: bytes, fields: bytes, n: int, body: bytes | None, ts: int
    ) -> bytes:
        if type(ts) is not int:  # C would take True as 1
            check_ts(ts)
        try:
            if body is None:
                size = c_request(
                    signer, method, path, len(path), head, head_len, fields, len(fields), null,
                    n, null, 0, 0, ts, area, cap,
                )  # fmt: skip
            else:
                size = c_request(
                    signer, method, path, len(path), head, head_len, fields, len(fields), null,
                    n, body, len(body), 1, ts, area, cap,
                )  # fmt: skip
        except (OverflowError, TypeError):
            check_ts(ts)  # raises the precise error for a bad timestamp
            raise
        if size >= 0:
            return unpack(area, size)  # type: ignore[no-any-return]
        if size != _SPOT_SPACE:
            ensure(size, _SPOT, SPOT_ERRORS)
        return spot_request(signer, head, (method, path, fields, null, n, body, ts))

    return request
