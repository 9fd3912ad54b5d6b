"""Request signing: the form body and its HMAC-SHA512 ``Sign`` (spec §3), in one step.

``Signer(secret).encode_and_sign(params, nonce) -> (body, sign)`` writes the
``application/x-www-form-urlencoded`` body, byte-identical to ``urllib.parse.urlencode`` of
the same pairs followed by ``nonce``, and the 128-character lower-case hex HMAC-SHA512 of
exactly those bytes. Two backends sit behind the one interface:

- ``"cffi"``: the compiled ``polo_fast._polo_sign`` (``csrc/polo_sign.c`` on libcrypto),
  through :mod:`polo_fast._binding`: one C call encodes, signs from precomputed HMAC states
  and writes hex into buffers;
- ``"python"``: ``urllib.parse.urlencode`` + ``hmac``, used when the compiled module is
  missing, or forced with the environment variable ``POLO_FAST_PURE=1``.

:data:`BACKEND` says which one is live; ``Signer(secret, backend="python")`` picks one
explicitly (tests compare both byte for byte).

Values are written as :mod:`polo_fast._format` describes (``str`` as is, ``int`` digits,
``Decimal`` and ``float`` in plain decimal, never an exponent; ``bool``, ``None``, NaN,
infinities, bytes and containers refused naming the parameter, nothing signed); each name
at most once, ``nonce`` never (the signer appends it, last); a name or value holds at most
:data:`~polo_fast._format.MAX_TEXT` characters.

The secret never shows: not in a ``repr``, not in pickles (refused), and not in the local
variables of a traceback (a refused secret is dropped from every frame before the error
is raised).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from polo_fast import _binding
from polo_fast._format import check_nonce, fields, format_value, pairs
from polo_fast._secret import HoldsSecret, KeyedOnce, check_head
from polo_fast.errors import SigningError, SigningTypeError

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.nonce import NonceSource

__all__ = [
    "BACKEND",
    "BACKENDS",
    "HoldsSecret",
    "KeyedOnce",
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

#: The backends importable here, the live one first.
BACKENDS: tuple[str, ...] = ("cffi", "python") if _binding.AVAILABLE else ("python",)
#: The live backend: ``"cffi"`` (compiled C) or ``"python"`` (urlencode + hmac).
BACKEND: str = BACKENDS[0]

#: Bytes of the reusable request areas (:data:`polo_fast._binding.REQUEST_AREA`).
_REQUEST_AREA = _binding.REQUEST_AREA


class Signer(KeyedOnce):
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
        del secret  # __init__ reads it; no frame of a refusal here holds it
        if cls is Signer:
            choice = BACKEND if backend is None else backend
            if choice == "cffi":
                if not _binding.AVAILABLE:
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
            SigningError: a bad value (NaN, infinity, too long), a name given twice,
                ``nonce`` among the names, a nonce out of range, text that is not UTF-8
                encodable.
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
        NUL-separated, UTF-8; already validated by the command checks: no NUL inside a
        part, no name twice, no ``nonce`` name). The function keeps its own output buffer,
        so it is for one caller on one thread (the client's key lane on its event loop); it
        is not re-entrant.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def _fields_sign(self, fields: bytes, n: int, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)`` for checked C ``fields`` (as :meth:`_fields_request` takes
        them): what :meth:`encode_and_sign` returns for the same pairs, without formatting
        or validating them again (the client's general route, after the command check).

        Raises:
            SigningError: a nonce out of range.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    def __repr__(self) -> str:
        return f"<polo_fast.Signer backend={self.backend!r} at {id(self):#x}>"


class _PythonSigner(Signer):
    """The pure path: ``urllib.parse.urlencode`` and a pre-keyed ``hmac`` copied per call."""

    __slots__ = ("_hmac",)
    backend = "python"

    def _key(self, raw: bytearray) -> None:
        self._hmac = hmac.new(raw, digestmod=hashlib.sha512)

    def sign(self, body: bytes | bytearray | memoryview) -> str:
        """Return the hex HMAC-SHA512 of ``body`` (see :meth:`Signer.sign`)."""
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise SigningTypeError(f"body must be bytes, got {type(body).__name__}")
        h = self._hmac.copy()
        h.update(body)
        return h.hexdigest()

    def encode_and_sign(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)`` (see :meth:`Signer.encode_and_sign`)."""
        wire = pairs(params)
        wire.append(("nonce", str(check_nonce(nonce))))
        body = urlencode(wire).encode("ascii")
        h = self._hmac.copy()
        h.update(body)
        return body, h.hexdigest()

    def encode_sign_request(self, head: bytes, params: Params, nonce: int) -> bytes:
        """Return the complete request (see :meth:`Signer.encode_sign_request`)."""
        check_head(head)
        return _assemble(head, *self.encode_and_sign(params, nonce))

    def _fields_sign(self, fields: bytes, n: int, nonce: int) -> tuple[bytes, str]:
        """See :meth:`Signer._fields_sign` (here: split, urlencode, hmac)."""
        parts = fields.decode().split("\0") if fields else []
        return self.encode_and_sign(list(zip(parts[:n], parts[n:], strict=True)), nonce)

    def _fields_request(self, head: bytes) -> Callable[[bytes, int, int], bytes]:
        """See :meth:`Signer._fields_request` (here: split, urlencode, hmac, join)."""
        fields_sign = self._fields_sign

        def request(fields: bytes, n: int, nonce: int) -> bytes:
            return _assemble(head, *fields_sign(fields, n, nonce))

        return request


def _assemble(head: bytes, body: bytes, sign: str) -> bytes:
    """The request as :meth:`Signer.encode_sign_request` lays it out, from body and Sign."""
    return b"".join(
        (head, b"%d" % len(body), b"\r\nSign: ", sign.encode("ascii"), b"\r\n\r\n", body)
    )


def _reiterable(params: Any) -> Any:
    """``params`` as given when it can be read twice (the fast route, then the exact one);
    any other iterable read once into a list."""
    if isinstance(params, (Mapping, Sequence)) or not isinstance(params, Iterable):
        return params
    return list(params)


class _CffiSigner(Signer):
    """The compiled path: ``csrc/polo_sign.c`` through :mod:`polo_fast._binding`."""

    __slots__ = ("_s",)
    backend = "cffi"

    def _key(self, raw: bytearray) -> None:
        self._s = _binding.new_signer(raw)

    def sign(self, body: bytes | bytearray | memoryview) -> str:
        """Return the hex HMAC-SHA512 of ``body`` (see :meth:`Signer.sign`)."""
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise SigningTypeError(f"body must be bytes, got {type(body).__name__}")
        return _binding.sign(self._s, body)

    def encode_and_sign(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Return ``(body, sign)`` (see :meth:`Signer.encode_and_sign`)."""
        if type(params) is not dict and type(params) is not list:
            params = _reiterable(params)
        data, n = fields(params)
        if type(nonce) is not int:
            check_nonce(nonce)
        done = _encode_and_sign_fast(self._s, data, n, nonce)
        if done is not None:
            return done
        # a body over the area, a NUL inside a part, or a parameter named nonce
        return self._encode_and_sign_slow(params, nonce)

    def encode_sign_request(self, head: bytes, params: Params, nonce: int) -> bytes:
        """Return the complete request (see :meth:`Signer.encode_sign_request`)."""
        check_head(head)
        if type(params) is not dict and type(params) is not list:
            params = _reiterable(params)
        data, n = fields(params)
        if type(nonce) is not int:
            check_nonce(nonce)
        done = _binding.sign_request_fast(self._s, head, data, n, nonce)
        if done is not None:
            return done
        # too big for the area, a NUL inside a part, or a parameter named nonce
        return _assemble(head, *self._encode_and_sign_slow(params, nonce))

    def _fields_sign(self, fields: bytes, n: int, nonce: int) -> tuple[bytes, str]:
        """See :meth:`Signer._fields_sign` (here: one C call)."""
        if type(nonce) is not int:
            check_nonce(nonce)
        done = _encode_and_sign_fast(self._s, fields, n, nonce)
        if done is not None:
            return done
        return _binding.encode_and_sign(self._s, fields.split(b"\0"), n, nonce)

    def _fields_request(self, head: bytes) -> Callable[[bytes, int, int], bytes]:
        """See :meth:`Signer._fields_request` (here: one C call into a private buffer)."""
        return _binding.request_writer(self._s, head)

    def _encode_and_sign_slow(self, params: Params, nonce: int) -> tuple[bytes, str]:
        """Every input the fast route does not take: validate, format, right-sized buffers."""
        wire = pairs(params)
        nonce = check_nonce(nonce)
        parts = [name.encode() for name, _ in wire] + [text.encode() for _, text in wire]
        return _binding.encode_and_sign(self._s, parts, len(wire), nonce)


_encode_and_sign_fast = _binding.encode_and_sign_fast


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
    try:
        signer = Signer(secret)
    finally:
        del secret  # not in this frame when an error below is raised
    return signer.encode_and_sign(params, _default_nonce() if nonce is None else nonce)
