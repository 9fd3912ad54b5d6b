"""Request signing: the form body and its HMAC-SHA512 ``Sign`` (spec §3), in one step.

``Signer(secret).encode_and_sign(params, nonce) -> (body, sign)`` writes the
``application/x-www-form-urlencoded`` body, byte-identical to ``urllib.parse.urlencode`` of
the same pairs followed by ``nonce``, and the 128-character lower-case hex HMAC-SHA512 of
exactly those bytes. Two backends sit behind the one interface:

- ``"cffi"``: the compiled ``polo_fast._polo_sign`` (``csrc/polo_sign.c`` on libcrypto):
  one C call encodes, signs from precomputed HMAC states and writes hex into buffers;
- ``"python"``: ``urllib.parse.urlencode`` + ``hmac``, used when the compiled module is
  missing, or forced with the environment variable ``POLO_FAST_PURE=1``.

:data:`BACKEND` says which one is live; ``Signer(secret, backend="python")`` picks one
explicitly (tests compare both byte for byte).

Values are written as follows (all backends):

=============  ===================================================================
``str``        as is (UTF-8, then percent-encoded); ``str`` subclasses by their text
``int``        decimal digits (also objects with ``__index__``, e.g. NumPy integers)
``Decimal``    plain decimal, never an exponent: ``Decimal('1E+3')`` -> ``1000``,
               ``Decimal('1E-8')`` -> ``0.00000001``; trailing zeros are kept
``float``      the shortest repr digits in plain decimal: ``0.1`` -> ``0.1``,
               ``1e-8`` -> ``0.00000001``, ``1e16`` -> ``10000000000000000``;
               ``-0.0`` is written ``-0.0``, as ``str()`` does (never rewritten to 0)
rejected       ``bool``, ``None``, NaN, infinities, ``bytes``-like, containers and every
               other type: :class:`SigningTypeError` / :class:`SigningError` naming the
               parameter, and nothing is signed
=============  ===================================================================

Names must be ``str``; the name ``nonce`` is refused (the signer appends it, last).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import operator
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.nonce import NonceSource

__all__ = [
    "BACKEND",
    "BACKENDS",
    "HoldsSecret",
    "ParamValue",
    "Params",
    "Signer",
    "SigningError",
    "SigningTypeError",
    "format_value",
    "sign",
]

#: The value types a parameter may have.
ParamValue = str | int | Decimal | float
#: Parameters: a mapping name -> value, or a sequence of (name, value) pairs, in wire order.
Params = Mapping[str, ParamValue] | Sequence[tuple[str, ParamValue]]


class SigningError(ValueError):
    """Bad input to the signer (a value, a name, a nonce, a secret); nothing was signed."""


class SigningTypeError(SigningError, TypeError):
    """An argument of the wrong type (a rejected value type, a non-str name, a bad secret)."""


_PURE = os.environ.get("POLO_FAST_PURE", "") not in ("", "0")

try:
    if _PURE:
        raise ImportError("POLO_FAST_PURE is set")
    from polo_fast._polo_sign import ffi as _ffi
    from polo_fast._polo_sign import lib as _lib
except ImportError:  # no compiled module (or forced): the pure path
    _ffi = None
    _lib = None

#: The backends importable here, the live one first.
BACKENDS: tuple[str, ...] = ("cffi", "python") if _lib is not None else ("python",)
#: The live backend: ``"cffi"`` (compiled C) or ``"python"`` (urlencode + hmac).
BACKEND: str = BACKENDS[0]

_U64 = 1 << 64
_HEX_LEN = 128
_NUL = "\0"
_join0 = _NUL.join


# ---------------------------------------------------------------- values


def _reject(name: str, why: str, value: object, *, type_error: bool = True) -> SigningError:
    cls = SigningTypeError if type_error else SigningError
    return cls(f"parameter {name!r}: {why} (got {type(value).__name__}); nothing was signed")


def _float_text(name: str, value: float) -> str:
    text = float.__repr__(value)
    if "e" in text or "n" in text:  # exponent form, or nan / inf
        if not math.isfinite(value):
            raise _reject(name, "NaN and infinities cannot be sent", value, type_error=False)
        text = format(Decimal(text), "f")
    return text


def _decimal_text(name: str, value: Decimal) -> str:
    text = value.__str__()
    if "E" in text or "a" in text or "n" in text:  # exponent form, or NaN / Infinity
        if not value.is_finite():
            raise _reject(name, "NaN and infinities cannot be sent", value, type_error=False)
        text = format(value, "f")
    return text


def format_value(name: str, value: object) -> str:
    """The wire text of one parameter value (see the module docstring for the rules).

    Parameters:
        name: the parameter name, used in error messages.
        value: the value.

    Raises:
        SigningTypeError: a rejected type (bool, None, bytes-like, containers, other).
        SigningError: NaN or an infinity.
    """
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is int:
        return int.__repr__(value)
    if t is Decimal:
        return _decimal_text(name, value)  # type: ignore[arg-type]
    if t is float:
        return _float_text(name, value)  # type: ignore[arg-type]
    if value is None or isinstance(value, bool):
        raise _reject(name, "use str, int, Decimal or float; bool and None are not sent", value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(name, value)
    if isinstance(value, Decimal):
        return _decimal_text(name, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _reject(name, "bytes-like values are not sent; pass str", value)
    if (
        hasattr(t, "__index__")
        and not isinstance(value, (Iterable, Mapping))
        and "bool" not in t.__name__
    ):
        try:
            return int.__repr__(operator.index(value))  # type: ignore[arg-type]
        except TypeError:
            pass
    raise _reject(name, "use str, int, Decimal or float", value)


def _name_text(name: object) -> str:
    if type(name) is str:
        text = name
    elif isinstance(name, str):
        text = str.__str__(name)
    else:
        raise SigningTypeError(
            f"parameter names must be str, got {type(name).__name__}; nothing was signed"
        )
    if text == "nonce":
        raise SigningError("parameter 'nonce' is added by the signer (last); pass it as nonce=")
    return text


def _utf8(name: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SigningError(
            f"parameter {name!r}: text is not encodable as UTF-8 ({exc.reason}); nothing was signed"
        ) from None


def _pairs(params: object) -> list[tuple[str, str]]:
    """Validate and format ``params``; return (name, value text) pairs in wire order."""
    if isinstance(params, Mapping):
        items: Iterable[Any] = params.items()
    elif isinstance(params, (str, bytes, bytearray)) or not isinstance(params, Iterable):
        raise SigningTypeError(
            f"params must be a mapping or a sequence of (name, value) pairs, "
            f"got {type(params).__name__}; nothing was signed"
        )
    else:
        items = params
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise SigningTypeError(
                f"params must hold (name, value) pairs, got {type(item).__name__} "
                f"{'of length ' + str(len(item)) if isinstance(item, tuple) else ''}".rstrip()
                + "; nothing was signed"
            )
        name = _name_text(item[0])
        _utf8("<name>", name) if not name.isascii() else None
        text = format_value(name, item[1])
        if not text.isascii():
            _utf8(name, text)
        out.append((name, text))
    return out


def _fields(params: object) -> tuple[bytes, int]:
    """The C field buffer for ``params`` (names, then values, NUL-separated) and the count.

    Formats non-str values; any malformed input is handed to :func:`_pairs`, which raises
    the precise error.
    """
    try:
        items: Any = (
            params.items() if type(params) is dict or isinstance(params, Mapping) else params
        )
        names: list[Any] = []
        values: list[str] = []
        for item in items:
            if type(item) is not tuple and not isinstance(item, tuple):
                raise TypeError
            name, value = item
            names.append(name)
            t = type(value)
            if t is str:
                values.append(value)
            elif t is int:
                values.append(int.__repr__(value))
            elif t is Decimal:
                values.append(_decimal_text(name, value))
            elif t is float:
                values.append(_float_text(name, value))
            else:
                values.append(format_value(name, value))
        return _join0(names + values).encode(), len(names)
    except SigningError:
        raise
    except (TypeError, ValueError, UnicodeEncodeError, AttributeError):
        _pairs(params)  # raises the precise error
        raise  # pragma: no cover - _pairs found nothing wrong


def _check_nonce(nonce: object) -> int:
    if type(nonce) is not int:
        raise SigningTypeError(
            f"nonce must be an int, got {type(nonce).__name__}; nothing was signed"
        )
    if not 0 <= nonce < _U64:
        raise SigningError("nonce must be in 0 .. 2**64-1; nothing was signed")
    return nonce


def _secret_bytes(secret: object) -> bytearray:
    """A private mutable copy of the secret bytes (the caller wipes it after keying)."""
    if isinstance(secret, str):
        if not secret.isascii():
            raise SigningError("secret: a str secret must be ASCII (pass bytes otherwise)")
        raw = bytearray(secret, "ascii")
    elif isinstance(secret, (bytes, bytearray, memoryview)):
        raw = bytearray(secret)
    else:
        raise SigningTypeError(f"secret must be str or bytes, got {type(secret).__name__}")
    if not raw:
        raise SigningError("secret must not be empty")
    return raw


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


# ---------------------------------------------------------------- the interface


class HoldsSecret:
    """Mixin for objects that hold an API secret (directly or through a :class:`Signer`):
    they refuse to be pickled, so a secret cannot travel to a worker, a cache or a file by
    accident."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"a {type(self).__name__} holds an API secret and cannot be pickled; "
            "make one per process"
        )


class Signer(HoldsSecret):
    """Signs request bodies with one API secret (HMAC-SHA512, lower-case hex).

    ``Signer(secret)`` picks the live backend (:data:`BACKEND`); ``backend="cffi"`` or
    ``backend="python"`` picks one explicitly. A signer is immutable after creation and safe
    to share between threads. It never shows the secret (``repr``), cannot be pickled, and
    ``copy.copy`` returns the same object.

    Parameters:
        secret: the API secret, ``str`` (ASCII) or bytes-like; its bytes are the HMAC key.
        backend: ``None`` (the live one), ``"cffi"`` or ``"python"``.

    Raises:
        SigningError: empty secret, non-ASCII str secret, or an unavailable backend.
        SigningTypeError: a secret that is neither str nor bytes-like.
    """

    __slots__ = ()

    #: ``"cffi"`` or ``"python"``.
    backend: str = ""

    def __new__(cls, secret: str | bytes, *, backend: str | None = None) -> Signer:
        """Return a signer of the chosen backend's class."""
        if cls is Signer:
            choice = BACKEND if backend is None else backend
            if choice == "cffi":
                if _lib is None:
                    raise SigningError("the cffi backend is not available (not compiled?)")
                cls = _CffiSigner
            elif choice == "python":
                cls = _PythonSigner
            else:
                raise SigningError(f"backend must be 'cffi' or 'python', got {choice!r}")
        return object.__new__(cls)

    def sign(self, body: bytes | bytearray | memoryview) -> str:
        """Return the 128-character lower-case hex HMAC-SHA512 of ``body``.

        Raises:
            SigningTypeError: ``body`` is not bytes-like.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def encode_and_sign(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)``: the form body of ``params`` then ``nonce=``, and its Sign.

        This is the hot path: a ``dict`` of ``str`` values takes the fastest route (one join
        and one C call); other mappings, ``(name, value)`` sequences and non-``str`` values
        are formatted first (see the module docstring).

        Parameters:
            params: ``{name: value}`` or ``[(name, value), ...]`` in wire order, ``command``
                first (the caller includes it); must not contain ``nonce``.
            nonce: an int in 0 .. 2**64-1, appended last as ``nonce=<digits>``.

        Raises:
            SigningError: a bad value (NaN, infinity), ``nonce`` among the names, a nonce
                out of range, text that is not UTF-8 encodable.
            SigningTypeError: a rejected value type, a non-str name, a non-int nonce, params
                neither a mapping nor a sequence of pairs.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def encode_sign_request(self, head: bytes, params: Params, nonce: int) -> bytes:
        """Return a complete HTTP/1.1 request for ``params``: ``head``, then the body's length,
        the ``Sign`` line, a blank line and the body (:meth:`encode_and_sign`'s), as one bytes.

        ``head`` is the prebuilt request head ending in ``Content-Length: `` (request line,
        ``Host``, ``Key``, ``Content-Type``...), written as given. On the cffi backend this
        is one C call for everything; the bytes equal ``head + b"%d" % len(body) +
        b"\r\nSign: " + sign.encode() + b"\r\n\r\n" + body`` on every backend.

        Raises:
            SigningError, SigningTypeError: as :meth:`encode_and_sign`; ``head`` not bytes.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def _fields_request(self, head: bytes) -> Callable[[bytes, int, int], bytes]:
        """A function ``(fields, n_fields, nonce) -> request`` for one prebuilt ``head``.

        ``fields`` is the C field layout (``n_fields`` names, then as many values, each
        NUL-separated, UTF-8; already validated: no NUL inside a part, no ``nonce`` name).
        The function keeps its own output buffer, so it is for one caller on one thread
        (the client's key lane on its event loop); it is not re-entrant.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def __repr__(self) -> str:
        return f"<polo_fast.Signer backend={self.backend!r} at {id(self):#x}>"

    def __copy__(self) -> Signer:
        return self

    def __deepcopy__(self, memo: Any) -> Signer:
        return self


class _PythonSigner(Signer):
    """The pure path: ``urllib.parse.urlencode`` and a pre-keyed ``hmac`` copied per call."""

    __slots__ = ("_hmac",)
    backend = "python"

    def __init__(self, secret: str | bytes, *, backend: str | None = None) -> None:
        raw = _secret_bytes(secret)
        try:
            self._hmac = hmac.new(bytes(raw), digestmod=hashlib.sha512)
        finally:
            _wipe(raw)

    def sign(self, body: bytes | bytearray | memoryview) -> str:
        """Return the hex HMAC-SHA512 of ``body`` (see :meth:`Signer.sign`)."""
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise SigningTypeError(f"body must be bytes, got {type(body).__name__}")
        h = self._hmac.copy()
        h.update(body)
        return h.hexdigest()

    def encode_and_sign(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)`` (see :meth:`Signer.encode_and_sign`)."""
        pairs = _pairs(params)
        pairs.append(("nonce", str(_check_nonce(nonce))))
        body = urlencode(pairs).encode("ascii")
        h = self._hmac.copy()
        h.update(body)
        return body, h.hexdigest()

    def encode_sign_request(self, head: bytes, params: Params, nonce: int) -> bytes:
        """Return the complete request (see :meth:`Signer.encode_sign_request`)."""
        _check_head(head)
        return _assemble(head, *self.encode_and_sign(params, nonce))

    def _fields_request(self, head: bytes) -> Callable[[bytes, int, int], bytes]:
        """See :meth:`Signer._fields_request` (here: split, urlencode, hmac, join)."""
        encode_and_sign = self.encode_and_sign

        def request(fields: bytes, n: int, nonce: int) -> bytes:
            parts = fields.decode().split(_NUL) if fields else []
            pairs = list(zip(parts[:n], parts[n:], strict=True))
            return _assemble(head, *encode_and_sign(pairs, nonce))

        return request


def _check_head(head: object) -> None:
    if type(head) is not bytes:
        raise SigningTypeError(f"head must be bytes, got {type(head).__name__}")


def _assemble(head: bytes, body: bytes, sign: str) -> bytes:
    """The request as :meth:`Signer.encode_sign_request` lays it out, from body and Sign."""
    return b"".join(
        (head, b"%d" % len(body), b"\r\nSign: ", sign.encode("ascii"), b"\r\n\r\n", body)
    )


# Per-thread output areas for the C path (``polo_out``: 128 hex bytes, then a 4 kB body).
# Each thread keeps a small stack of them; a call pops one and pushes it back, so a signal
# handler that signs while the interrupted call still reads its area gets another one.
_tls = threading.local()

if _ffi is not None:
    _alloc = _ffi.new_allocator(should_clear_after_alloc=False)
    _unpack = _ffi.unpack
    _NULL = _ffi.NULL
    _c_encode = _lib.polo_encode_and_sign
    _c_encode_out = _lib.polo_encode_and_sign_out
    _c_sign = _lib.polo_sign
    _c_request = _lib.polo_sign_request

#: Bytes of the per-thread (and per-lane) request buffers: head, lines and a body of a few kB.
_REQUEST_AREA = 8192


def _new_buffers(body_cap: int) -> tuple[Any, Any]:
    buf = _alloc("char[]", _HEX_LEN + body_cap)
    return buf, buf + _HEX_LEN


def _new_out() -> tuple[Any, Any, Any]:
    out = _alloc("polo_out *")
    return out, out.hex, out.body


def _pool() -> list[tuple[Any, Any, Any]]:
    pool: list[tuple[Any, Any, Any]] = []
    _tls.pool = pool
    return pool


class _CffiSigner(Signer):
    """The compiled path: ``polo_encode_and_sign`` / ``polo_sign`` from ``csrc/``."""

    __slots__ = ("_s",)
    backend = "cffi"

    def __init__(self, secret: str | bytes, *, backend: str | None = None) -> None:
        raw = _secret_bytes(secret)
        try:
            ptr = _lib.polo_signer_new(_ffi.from_buffer(raw), len(raw))
        finally:
            _wipe(raw)
        if ptr == _NULL:
            raise MemoryError("polo_signer_new failed")
        self._s = _ffi.gc(ptr, _lib.polo_signer_free)

    def sign(self, body: bytes | bytearray | memoryview) -> str:
        """Return the hex HMAC-SHA512 of ``body`` (see :meth:`Signer.sign`)."""
        if type(body) is not bytes:
            if not isinstance(body, (bytes, bytearray, memoryview)):
                raise SigningTypeError(f"body must be bytes, got {type(body).__name__}")
            body = _ffi.from_buffer(body)
        out = _alloc("char[]", _HEX_LEN)
        rc = _c_sign(self._s, body, len(body), out, _HEX_LEN)
        if rc != 0:  # pragma: no cover - only allocation failures remain
            raise SigningError(f"polo_sign failed ({rc})")
        return _unpack(out, _HEX_LEN).decode("ascii")

    def encode_and_sign(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)`` (see :meth:`Signer.encode_and_sign`)."""
        if type(params) is dict:
            try:  # all names and values str: the fastest route, one join
                data = _join0([*params, *params.values()]).encode()
                n = len(params)
            except (TypeError, UnicodeEncodeError):
                data, n = _fields(params)
        else:
            data, n = _fields(params)
        if type(nonce) is not int:
            _check_nonce(nonce)
        try:
            pool = _tls.pool
        except AttributeError:
            pool = _pool()
        area = pool.pop() if pool else _new_out()
        try:
            size = _c_encode_out(self._s, data, len(data), n, nonce, area[0])
            if size >= 0:
                return _unpack(area[2], size), _unpack(area[1], _HEX_LEN).decode()
        except OverflowError:
            _check_nonce(nonce)
            raise
        finally:
            pool.append(area)
        # a body over 4 kB, a NUL inside a part, or a parameter named nonce
        return self._encode_and_sign_slow(params, nonce)

    def encode_sign_request(self, head: bytes, params: Params, nonce: int) -> bytes:
        """Return the complete request (see :meth:`Signer.encode_sign_request`)."""
        _check_head(head)
        if type(params) is dict:
            try:  # all names and values str: one join
                data = _join0([*params, *params.values()]).encode()
                n = len(params)
            except (TypeError, UnicodeEncodeError):
                data, n = _fields(params)
        else:
            data, n = _fields(params)
        if type(nonce) is not int:
            _check_nonce(nonce)
        try:
            pool = _tls.requests
        except AttributeError:
            pool = _tls.requests = []
        area = pool.pop() if pool else _alloc("char[]", _REQUEST_AREA)
        try:
            size = _c_request(
                self._s, head, len(head), data, len(data), n, nonce, area, _REQUEST_AREA
            )
            if size >= 0:
                return _unpack(area, size)
        except OverflowError:
            _check_nonce(nonce)
            raise
        finally:
            pool.append(area)
        # too big for the area, a NUL inside a part, or a parameter named nonce
        return _assemble(head, *self._encode_and_sign_slow(params, nonce))

    def _fields_request(self, head: bytes) -> Callable[[bytes, int, int], bytes]:
        """See :meth:`Signer._fields_request` (here: one C call into a private buffer)."""
        signer = self._s
        head_len = len(head)
        area = _alloc("char[]", _REQUEST_AREA)
        c_request = _c_request
        unpack = _unpack
        slow = self._fields_request_slow

        def request(fields: bytes, n: int, nonce: int) -> bytes:
            try:
                size = c_request(
                    signer, head, head_len, fields, len(fields), n, nonce, area, _REQUEST_AREA
                )
            except OverflowError:
                _check_nonce(nonce)
                raise
            if size >= 0:
                return unpack(area, size)
            return slow(head, fields, n, nonce)

        return request

    def _fields_request_slow(self, head: bytes, fields: bytes, n: int, nonce: int) -> bytes:
        """A request over :data:`_REQUEST_AREA` bytes: a right-sized buffer."""
        _check_nonce(nonce)
        cap = len(head) + 20 + _lib.POLO_REQUEST_FIXED + 3 * len(fields) + 2 * n + 26
        out = _alloc("char[]", cap)
        size = _c_request(self._s, head, len(head), fields, len(fields), n, nonce, out, cap)
        if size < 0:
            raise SigningError(f"polo_sign_request failed ({size}); nothing was signed")
        return _unpack(out, size)

    def _encode_and_sign_slow(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Every input the fast route does not take: validate, format, pick the C layout."""
        pairs = _pairs(params)
        nonce = _check_nonce(nonce)
        parts = [name.encode() for name, _ in pairs] + [text.encode() for _, text in pairs]
        n = len(pairs)
        data = b"".join(parts)
        cap = 3 * len(data) + 2 * n + 26
        hexbuf, bodybuf = _new_buffers(cap)
        if any(b"\0" in p for p in parts):
            lens = _ffi.new("size_t[]", [len(p) for p in parts])
            size = _c_encode(self._s, data, len(data), lens, n, nonce, bodybuf, cap, hexbuf, 128)
        else:
            data = b"\0".join(parts)
            size = _c_encode(
                self._s, data, len(data), _NULL, n, nonce, bodybuf, cap, hexbuf, _HEX_LEN
            )
        if size < 0:  # pragma: no cover - validated above; a bug if reached
            raise SigningError(f"polo_encode_and_sign failed ({size}); nothing was signed")
        return _unpack(bodybuf, size), _unpack(hexbuf, _HEX_LEN).decode()


# ---------------------------------------------------------------- one-liner

_nonces: NonceSource | None = None
_nonces_lock = threading.Lock()


def _default_nonce() -> int:
    global _nonces
    if _nonces is None:
        from polo_fast.nonce import NonceSource

        with _nonces_lock:
            if _nonces is None:
                _nonces = NonceSource()
    return _nonces.next()


def sign(secret: str | bytes, params: Params, nonce: int | None = None) -> tuple[bytes, str]:
    """One line in place of ``urlencode`` + ``hmac``: return ``(body, sign)``.

    ``body`` (bytes) is the form body of ``params`` with ``nonce=`` appended last, ``sign``
    (str) its 128-character hex HMAC-SHA512 under ``secret``. With ``nonce=None`` the nonce
    comes from a module-wide :class:`~polo_fast.nonce.NonceSource` (milliseconds, strictly
    increasing within this process). For repeated signing keep a :class:`Signer`.

    Raises:
        SigningError, SigningTypeError: as :class:`Signer` and
            :meth:`Signer.encode_and_sign`.
    """
    signer = Signer(secret)
    return signer.encode_and_sign(params, _default_nonce() if nonce is None else nonce)
