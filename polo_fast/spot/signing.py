"""The Spot API's request signature (``poloniex-spot-api.md`` §2): HMAC-SHA256 in base64.

``Signer(secret).sign(method, path, params=None, body=None, timestamp=None)`` returns the
44-character base64 ``signature`` header of the string to sign::

    METHOD "\\n" PATH "\\n" PARAMS
    PARAMS = "requestBody=" <body exactly as given> "&signTimestamp=" <timestamp>   (a body)
           | the params and signTimestamp, sorted by name, "name=value" joined by "&"

Names and values in PARAMS are percent-encoded as RFC 3986 (``A-Za-z0-9-._~`` kept, every
other UTF-8 byte ``%XX``), which is ``urllib.parse.quote(v, safe="")``, the encoding ccxt
4.5.90's ``poloniex.sign()`` signs (spec §7 #3: ``,`` is ``%2C``, so vector V6, not V6r).
Each name and value is encoded once; ccxt encodes a GET ``symbol`` once more first
(``encode_uri_component``), which differs only for a symbol with bytes outside
``A-Za-z0-9-._~()*!'``.

Two backends sit behind the one interface, byte for byte alike:

- ``"cffi"``: ``csrc/polo_spot.c`` through :mod:`polo_fast._binding` (one C call: string to
  sign streamed into HMAC-SHA256 states precomputed per key, then base64);
- ``"python"``: ``urllib.parse.quote`` + a pre-keyed ``hmac`` copied per call; used when the
  compiled module is missing, or forced with ``POLO_FAST_PURE=1``.

:data:`BACKEND` says which one is live; ``Signer(secret, backend="python")`` picks one.

Arguments (every backend checks them before anything is signed):

- ``method``: exactly ``"GET"``, ``"POST"``, ``"PUT"`` or ``"DELETE"``.
- ``path``: the request path without host and query, already percent-encoded: it starts
  with ``/`` and holds only visible ASCII other than ``?`` and ``#``.
- ``params``: a mapping or a sequence of ``(name, value)`` pairs (a GET's query, or a
  bodyless request's), each name once and never ``signTimestamp`` (the signer adds it).
  Values are written as :mod:`polo_fast._format` writes them (``str`` as is, ``int``
  digits, ``Decimal`` and ``float`` in plain decimal, never an exponent; NaN, infinities,
  ``None``, bytes and containers refused naming the parameter), and ``bool`` as ``true`` /
  ``false``: what ccxt, dutu and vansergen send (spec §7 #18: the official Python SDK's
  ``True`` is the outlier, and the endpoint table's ``Kind.BOOL`` says ``true``/``false``).
  At most :data:`~polo_fast._binding.SPOT_MAX_PARAMS` parameters.
- ``body``: the JSON text exactly as it will be sent (``str``, written as UTF-8, or
  bytes); signed as given, never re-serialised. A body with GET, or with params, is refused.
- ``timestamp``: ``signTimestamp``, an int of milliseconds since the epoch; ``None`` means
  now (``time.time_ns() // 1_000_000``). Pass it explicitly when you also send the header:
  both must carry the same value.

The secret never shows: not in a ``repr``, not in pickles (refused), and not in the local
variables of a traceback (:class:`polo_fast.signing.KeyedOnce`, shared with the legacy
signer, keys it once from a private copy it wipes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any
from urllib.parse import quote

from polo_fast import _binding
from polo_fast._binding import SPOT_MAX_PARAMS, spot_refusal
from polo_fast._format import MAX_TEXT, format_value
from polo_fast._secret import KeyedOnce, check_head
from polo_fast.errors import SigningError, SigningTypeError

__all__ = [
    "BACKEND",
    "BACKENDS",
    "METHODS",
    "Body",
    "ParamValue",
    "Params",
    "RequestWriter",
    "Signer",
    "check_timestamp",
    "sign",
]

#: The value types a parameter may have.
ParamValue = str | int | Decimal | float | bool
#: Parameters: a mapping name -> value, or a sequence of (name, value) pairs.
Params = Mapping[str, ParamValue] | Sequence[tuple[str, ParamValue]]
#: A request body: the JSON text as sent.
Body = str | bytes
#: What :meth:`Signer._request_writer` returns: ``(method, path, fields, n, body, ts) ->
#: request``.
RequestWriter = Callable[[bytes, bytes, bytes, int, bytes | None, int], bytes]

#: The backends importable here, the live one first.
BACKENDS: tuple[str, ...] = ("cffi", "python") if _binding.SPOT_AVAILABLE else ("python",)
#: The live backend: ``"cffi"`` (compiled C) or ``"python"`` (quote + hmac).
BACKEND: str = BACKENDS[0]

#: The HTTP methods the Spot API signs.
METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")
_METHOD_BYTES = {m: m.encode() for m in METHODS}
_U64 = 1 << 64
_TS_NAME = b"signTimestamp"
#: A path C accepts: '/', then bytes 0x21..0x7E but '?' (0x3F) and '#' (0x23).
_PATH = re.compile(rb"/[\x21\x22\x24-\x3e\x40-\x7e]*")
_first = itemgetter(0)


def check_timestamp(timestamp: object) -> int:
    """Return ``timestamp`` if it is an int in 0 .. 2**64-1 (milliseconds since the epoch).

    Raises:
        SigningTypeError: not an int (``bool`` included).
        SigningError: out of range.
    """
    if type(timestamp) is not int:
        raise SigningTypeError(
            f"timestamp must be an int of milliseconds, got {type(timestamp).__name__}; "
            "nothing was signed"
        )
    if not 0 <= timestamp < _U64:
        raise SigningError("timestamp must be in 0 .. 2**64-1 (milliseconds); nothing was signed")
    return timestamp


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- the arguments


def _parts(params: object) -> tuple[list[bytes], int]:
    """Validate and format ``params``: ``(names then values as UTF-8, number of names)``."""
    if isinstance(params, Mapping):
        items: Iterable[Any] = params.items()
    elif isinstance(params, (str, bytes, bytearray)) or not isinstance(params, Iterable):
        raise SigningTypeError(
            "params must be a mapping or a sequence of (name, value) pairs, "
            f"got {type(params).__name__}; nothing was signed"
        )
    else:
        items = params
    names: list[str] = []
    values: list[str] = []
    for item in items:
        if len(names) == SPOT_MAX_PARAMS:
            raise spot_refusal("TOO_MANY")
        if not isinstance(item, tuple) or len(item) != 2:
            raise SigningTypeError(
                f"params must hold (name, value) pairs, got {type(item).__name__}; "
                "nothing was signed"
            )
        name, value = item
        if not isinstance(name, str):
            raise SigningTypeError(
                f"parameter names must be str, got {type(name).__name__}; nothing was signed"
            )
        if len(name) > MAX_TEXT:
            raise SigningError(
                f"a parameter name is longer than {MAX_TEXT} characters; nothing was signed"
            )
        name = str.__str__(name)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            raise SigningTypeError(
                f"parameter {name!r}: None is not sent, leave the parameter out; nothing was signed"
            )
        else:
            text = format_value(name, value)
        if len(text) > MAX_TEXT:
            raise SigningError(
                f"parameter {name!r}: the text is longer than {MAX_TEXT} characters; "
                "nothing was signed"
            )
        names.append(name)
        values.append(text)
    n = len(names)
    if "signTimestamp" in names:
        raise spot_refusal("TS_NAME")
    if len(set(names)) != n:
        twice = next(x for i, x in enumerate(names) if x in names[:i])
        raise SigningError(
            f"parameter {twice!r} is given twice; each name may appear once, nothing was signed"
        )
    try:
        return [x.encode() for x in names] + [x.encode() for x in values], n
    except UnicodeEncodeError:
        name = next(k for k, v in zip(names, values, strict=True) if not _utf8(k + v))
        shown = repr(name) if _utf8(name) else "<a name>"
        raise SigningError(
            f"parameter {shown}: text is not encodable as UTF-8; nothing was signed"
        ) from None


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _body_bytes(body: object) -> bytes:
    if type(body) is bytes:
        return body
    if isinstance(body, str):
        if _utf8(body):
            return body.encode()
        raise SigningError("body: text is not encodable as UTF-8; nothing was signed")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise SigningTypeError(
        "body must be the JSON text as sent, str or bytes (serialise it first, e.g. "
        f"orjson.dumps), got {type(body).__name__}; nothing was signed"
    )


def _prepare(
    method: object, path: object, params: object, body: object, timestamp: object
) -> tuple[bytes, bytes, list[bytes], int, bytes | None, int]:
    """Check every argument: ``(method, path, parts, n, body, ts)`` as bytes and ints."""
    m = _METHOD_BYTES.get(method) if isinstance(method, str) else None
    if m is None:
        if isinstance(method, str):
            raise spot_refusal("METHOD")
        raise SigningTypeError(
            f"method must be str, got {type(method).__name__}; nothing was signed"
        )
    if not isinstance(path, str):
        raise SigningTypeError(f"path must be str, got {type(path).__name__}; nothing was signed")
    if not path.isascii():
        raise spot_refusal("PATH")
    parts, n = ([], 0) if params is None else _parts(params)
    if body is not None:
        body = _body_bytes(body)
        if n or m == b"GET" or not body:
            raise spot_refusal("BODY")
    ts = _now_ms() if timestamp is None else check_timestamp(timestamp)
    return m, path.encode(), parts, n, body, ts


# ---------------------------------------------------------------- the interface


class Signer(KeyedOnce):
    """Signs Spot API requests with one API secret: HMAC-SHA256 in base64.

    ``Signer(secret)`` takes the live backend (:data:`BACKEND`), ``backend="cffi"`` or
    ``"python"`` a given one. Immutable once made, so threads may share it; its ``repr``
    shows no secret, it refuses pickling, and ``copy.copy`` gives the signer itself.

    Parameters:
        secret: the API secret (an ASCII ``str`` or bytes-like), the HMAC key as is.
        backend: which backend; ``None`` for the live one.

    Raises:
        SigningError: an empty or non-ASCII secret; a backend not importable here.
        SigningTypeError: a secret of another type.
    """

    __slots__ = ()

    #: The backend of this signer: ``"cffi"`` or ``"python"``.
    backend: str = ""

    def __new__(cls, secret: str | bytes, *, backend: str | None = None) -> Signer:
        """Return a signer of the chosen backend's class."""
        del secret  # __init__ reads it; no frame of a refusal here holds it
        if cls is not Signer:
            return object.__new__(cls)
        choice = BACKEND if backend is None else backend
        if choice not in BACKENDS:
            hint = " (not compiled?)" if choice == "cffi" else ""
            raise SigningError(f"backend must be one of {BACKENDS} here, got {choice!r}{hint}")
        return object.__new__(_CffiSigner if choice == "cffi" else _PythonSigner)

    def sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp: int | None = None,
    ) -> str:
        """Return the 44-character base64 ``signature`` of one request (module docstring).

        Parameters:
            method: ``"GET"``, ``"POST"``, ``"PUT"`` or ``"DELETE"``.
            path: the request path, e.g. ``"/orders"``, percent-encoded, no query.
            params: the query parameters (mapping or pairs), or None.
            body: the JSON body exactly as sent (str or bytes), or None.
            timestamp: ``signTimestamp`` in ms; None: now.

        Raises:
            SigningError: an unknown method, a bad path, a bad value (NaN, infinity, too
                long), a name twice, a ``signTimestamp`` parameter, a body with GET or with
                params, a timestamp out of range, text not UTF-8 encodable.
            SigningTypeError: an argument or value of the wrong type.
        """
        if params is None and type(body) is bytes and type(timestamp) is int:
            try:  # the hot path, an order: one C call; anything else takes the route below
                return self._sign_body(_BODY_METHODS[method], path.encode(), body, timestamp)
            except (KeyError, TypeError, AttributeError, OverflowError, ValueError):
                pass  # the route below raises the precise error
        return self._sign(*_prepare(method, path, params, body, timestamp))

    def string_to_sign(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body | None = None,
        timestamp: int | None = None,
    ) -> bytes:
        """Return the exact bytes :meth:`sign` signs for the same arguments (for tests and
        for debugging a refused signature; it holds no secret).

        Raises:
            SigningError, SigningTypeError: as :meth:`sign`.
        """
        return self._string_to_sign(*_prepare(method, path, params, body, timestamp))

    def _request_writer(self, head: bytes) -> RequestWriter:
        """A function ``(method, path, fields, n, body, ts) -> request`` for one prebuilt
        ``head`` (constant header lines, each ending in CRLF, e.g. ``Host`` and ``key``).

        The request is ``METHOD SP PATH ["?" sorted encoded query] " HTTP/1.1" CRLF``, the
        head, ``signTimestamp``, ``signature``, with a body ``Content-Type:
        application/json`` and ``Content-Length``, a blank line and the body. ``method`` and
        ``path`` are bytes (``b"POST"``, ``b"/orders"``), ``fields`` the C field layout (``n``
        names, then as many values, NUL-separated, UTF-8; checked by the caller: no NUL
        inside a part, no name twice, no ``signTimestamp``), ``body`` the JSON bytes or
        None, ``ts`` an int of ms. On the cffi backend this is one C call into a buffer the
        function keeps, so it is for one caller on one thread (a lane); it is not
        re-entrant.

        Raises:
            SigningTypeError: ``head`` is not bytes.
        """
        raise NotImplementedError  # pragma: no cover - subclasses

    # The backend's part (and KeyedOnce._key): sign and write from _prepare's checked tuple.
    def _sign_body(self, method: bytes, path: bytes, body: bytes, ts: int) -> str:
        return self._sign(method, path, [], 0, body, check_timestamp(ts))

    def _sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> str:
        raise NotImplementedError  # pragma: no cover - subclasses

    def _string_to_sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> bytes:
        raise NotImplementedError  # pragma: no cover - subclasses

    def __repr__(self) -> str:
        return f"<polo_fast.spot.Signer backend={self.backend!r} at {id(self):#x}>"


_BODY_METHODS = {m: _METHOD_BYTES[m] for m in ("POST", "PUT", "DELETE")}


class _CffiSigner(Signer):
    """The compiled path: ``csrc/polo_spot.c`` through :mod:`polo_fast._binding`."""

    __slots__ = ("_s", "_sign_body")
    backend = "cffi"

    def _key(self, raw: bytearray) -> None:
        self._s = _binding.new_spot_signer(raw)
        self._sign_body = _binding.spot_body_signer(self._s)  # type: ignore[assignment]

    def _sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> str:
        return _binding.spot_sign(self._s, (method, path, *_binding.layout(parts, n), n, body, ts))

    def _string_to_sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> bytes:
        return _binding.spot_string_to_sign((method, path, *_binding.layout(parts, n), n, body, ts))

    def _request_writer(self, head: bytes) -> RequestWriter:
        """See :meth:`Signer._request_writer` (here: one C call into a private buffer)."""
        return _binding.spot_request_writer(self._s, check_head(head), check_timestamp)


class _PythonSigner(Signer):
    """The pure path: ``urllib.parse.quote`` and a pre-keyed ``hmac`` copied per call."""

    __slots__ = ("_hmac",)
    backend = "python"

    def _key(self, raw: bytearray) -> None:
        self._hmac = hmac.new(raw, digestmod=hashlib.sha256)

    def _b64(self, message: bytes) -> bytes:
        h = self._hmac.copy()
        h.update(message)
        return base64.b64encode(h.digest())

    def _sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> str:
        return self._b64(_py_string_to_sign(method, path, parts, n, body, ts)).decode()

    def _string_to_sign(
        self, method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
    ) -> bytes:
        return _py_string_to_sign(method, path, parts, n, body, ts)

    def _request_writer(self, head: bytes) -> RequestWriter:
        """See :meth:`Signer._request_writer` (here: split, quote, hmac, join)."""
        check_head(head)
        b64 = self._b64

        def request(
            method: bytes, path: bytes, fields: bytes, n: int, body: bytes | None, ts: int
        ) -> bytes:
            parts = fields.split(b"\0") if fields or n else []
            if len(parts) != 2 * n:
                raise spot_refusal("FIELDS")
            m, p = bytes(method), bytes(path)
            sig = b64(_py_string_to_sign(m, p, parts, n, body, check_timestamp(ts)))
            out = [m, b" ", p, b"?" + _query(parts, n, None) if n else b"", b" HTTP/1.1\r\n"]
            out += [head, b"signTimestamp: %d\r\nsignature: " % ts, sig, b"\r\n"]
            if body is not None:
                out.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
            elif m in (b"POST", b"PUT"):  # RFC 9110 8.6: say it, a front end may want it
                out.append(b"Content-Length: 0\r\n")
            out += [b"\r\n", body or b""]
            return b"".join(out)

        return request


def _py_string_to_sign(
    method: bytes, path: bytes, parts: list[bytes], n: int, body: bytes | None, ts: int
) -> bytes:
    """The string to sign, by C's rules, in Python (refusing what C refuses, in its order)."""
    if n > SPOT_MAX_PARAMS:
        raise spot_refusal("TOO_MANY")
    if method not in _METHOD_BYTES.values():
        raise spot_refusal("METHOD")
    if not _PATH.fullmatch(path):
        raise spot_refusal("PATH")
    if body is not None and (n or method == b"GET" or not body):
        raise spot_refusal("BODY")
    names = parts[:n]
    if _TS_NAME in names:
        raise spot_refusal("TS_NAME")
    if len(set(names)) != n:
        raise spot_refusal("DUP_NAME")
    head = b"%s\n%s\n" % (method, path)
    if body is not None:
        return b"%srequestBody=%s&signTimestamp=%d" % (head, body, ts)
    return head + _query(parts, n, ts)


def _query(parts: list[bytes], n: int, ts: int | None) -> bytes:
    """``name=value`` pairs (plus ``signTimestamp`` when ``ts`` is given), sorted by the
    raw name bytes (Python's str order for UTF-8), RFC 3986-encoded, joined by ``&``."""
    pairs = list(zip(parts[:n], parts[n:], strict=True))
    if ts is not None:
        pairs.append((_TS_NAME, b"%d" % ts))
    pairs.sort(key=_first)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()


# ---------------------------------------------------------------- one-liner


def sign(
    secret: str | bytes,
    method: str,
    path: str,
    params: Params | None = None,
    body: Body | None = None,
    timestamp: int | None = None,
) -> str:
    """One line in place of ``hmac`` + ``base64``: the ``signature`` header of one request.

    Arguments as :meth:`Signer.sign`; ``timestamp=None`` signs for now (pass it explicitly
    to send the same value as the ``signTimestamp`` header). For repeated signing keep a
    :class:`Signer`: it keys HMAC once.

    Raises:
        SigningError, SigningTypeError: as :class:`Signer` and :meth:`Signer.sign`.
    """
    try:
        signer = Signer(secret)
    finally:
        del secret  # not in this frame when an error below is raised
    return signer.sign(method, path, params, body, timestamp)
