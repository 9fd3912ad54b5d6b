"""Answers: an HTTP status and body in, a parsed result or a typed polo_fast error out.

One function per dialect classifies an answer (:data:`Classify`); the legacy API's is
:func:`decode_answer`. Both transport paths (the lean lane and aiohttp) end in the dialect's
function, and every exception of aiohttp, the OS, ``ssl`` or the lane is translated in
:func:`translate`, once, with the original chained as ``__cause__``.

What is shared by every dialect lives here too: JSON decoding that keeps integers exact
(:func:`loads`), and the statuses no dialect may take as an answer: an informational
``1xx`` never reaches a classifier (the lane skips it), a redirect (``3xx``) is refused,
since following one would send a signed request again or elsewhere, and HTML pages of a
5xx or of Cloudflare say whether the request reached the exchange.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import aiohttp
import orjson

from polo_fast.errors import (
    ConnectError,
    ConnectionLost,
    ExchangeUnavailable,
    InvalidResponse,
    RateLimitError,
    RequestTimeout,
    TransportError,
    error_text,
    from_reply,
)

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.transport.base import Request

__all__ = [
    "Classify",
    "LaneFailure",
    "decode",
    "decode_answer",
    "loads",
    "not_json",
    "refuse_status",
    "translate",
]

#: A dialect's answer classifier: ``(status, body, command, key) -> result``; raises the
#: dialect's typed errors (exchange refusals) or a TransportError (no usable answer).
Classify = Callable[[int, bytes, str, "str | None"], Any]

_orjson_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
#: Digits to ``0``, every other byte to a space: 19 zeros in a row in the result mean an
#: integer of 19 digits or more, one orjson may have turned into a float (beyond 64 bits:
#: from 2**64 up, and from -2**63 - 1 down, which has 19 digits). (A table and a substring
#: search cost a few hundred instructions; a regular expression, thousands. The search is
#: ``find``, not ``in``: ``bytes.__contains__`` first tries the needle as an integer and
#: raises and clears a TypeError before searching, which costs more than the search.)
_DIGITS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19

_CLOUDFLARE = {
    520: "Cloudflare 520: the origin returned an unknown error",
    521: "Cloudflare 521: the origin is down",
    522: "Cloudflare 522: connection to the origin timed out",
    523: "Cloudflare 523: the origin is unreachable",
    524: "Cloudflare 524: the origin did not answer in time",
}
#: Cloudflare could not reach the origin at all: the request never got there.
_EDGE_ONLY = frozenset({521, 522, 523})


class LaneFailure(Exception):
    """A lean-lane request failed (:func:`translate` turns it into a polo_fast error).

    Attributes:
        kind: ``"connect"`` (could not connect; nothing written), ``"lost"`` (the connection
            closed before the answer was complete), ``"timeout"`` or ``"http"`` (unreadable,
            oversized or unsolicited answer).
        sent: whether bytes of the request were written to the connection.
    """

    def __init__(self, kind: str, sent: bool, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.sent = sent


def loads(body: bytes) -> Any:
    """Parse JSON with orjson, keeping integers of any size exact.

    orjson turns an integer beyond 64 bits into a float (digits lost); an answer holding one
    (an order number, say) is parsed again by the standard library, which keeps it exact.

    Raises:
        ValueError: not JSON (``orjson.JSONDecodeError`` or ``json.JSONDecodeError``).
    """
    data = _orjson_loads(body)
    if type(data) is float or body.translate(_DIGITS).find(_LONG_RUN) >= 0:
        return json.loads(body)
    return data


def decode(status: int, body: bytes, request: Request) -> Any:
    """Turn an HTTP answer to ``request`` into the parsed JSON result, or raise its error.

    The legacy dialect's classifier (:func:`decode_answer`) with the command and key taken
    from the request.
    """
    head = request.head
    return decode_answer(status, body, request.command, head.label if head is not None else None)


def decode_answer(status: int, body: bytes, command: str, key: str | None) -> Any:
    """The legacy API's answers: parsed JSON, or the matching typed error.

    A JSON ``{"error": text}`` (or ``{"success": 0, ...}`` with a text) becomes the typed
    :class:`~polo_fast.errors.ExchangeError` whatever the status; a redirect or another
    non-final status :class:`InvalidResponse` (outcome unknown); 5xx and Cloudflare 520-524
    HTML pages :class:`ExchangeUnavailable`; 429/403 HTML pages :class:`RateLimitError`;
    anything else that is not JSON :class:`InvalidResponse`.
    """
    if status == 200:  # the common answer, first and cheapest (loads(), inlined)
        try:
            result = _orjson_loads(body)
        except ValueError:
            pass
        else:
            if body.translate(_DIGITS).find(_LONG_RUN) >= 0:
                result = json.loads(body)
            if type(result) is not dict or not ("error" in result or result.get("success") == 0):
                return result
    if status < 200 or 300 <= status < 400:
        refuse_status(status, command, key)
    try:
        data = loads(body)
    except ValueError as exc:
        not_json(status, body, command, key, exc)
    if type(data) is dict and ("error" in data or data.get("success") == 0):
        text = error_text(data)
        if text is None:
            msg = data.get("message", data.get("response"))
            text = msg if type(msg) is str else None
        if text is not None:
            raise from_reply(command, data, status, key=key)
    if 200 <= status < 300:
        return data
    if status >= 500:
        raise ExchangeUnavailable(
            f"exchange unavailable (HTTP {status})", status=status, command=command, key=key
        )
    raise from_reply(command, f"HTTP {status}: {str(data)[:200]}", status, key=key)


def refuse_status(status: int, command: str, key: str | None) -> NoReturn:
    """Raise for a status that is not an answer: a redirect (never followed) or a ``1xx``.

    The request reached a server, so its outcome is unknown (``sent=True``): a state-changing
    command becomes may-have-executed, never re-sent elsewhere.
    """
    what = "a redirect, not followed" if 300 <= status < 400 else "not a final answer"
    raise InvalidResponse(
        f"HTTP {status} is {what}; the request's outcome is unknown",
        sent=True,
        status=status,
        command=command,
        key=key,
    )


def not_json(status: int, body: bytes, command: str, key: str | None, exc: Exception) -> NoReturn:
    """Raise for an answer that is not JSON (every dialect's classifier ends here for one).

    A 5xx or Cloudflare page is :class:`ExchangeUnavailable` (``sent=False`` for 521-523: the
    origin was never reached), a 429/403 page :class:`RateLimitError`, anything else
    :class:`InvalidResponse` (outcome unknown).
    """
    if status >= 500:
        note = _CLOUDFLARE.get(status, f"HTTP {status}")
        raise ExchangeUnavailable(
            f"exchange unavailable ({note}); answer was not JSON",
            status=status,
            sent=status not in _EDGE_ONLY,
            command=command,
            key=key,
        ) from None
    if status in (429, 403):
        raise RateLimitError(
            f"HTTP {status} with a non-JSON page (Cloudflare throttling or ban)",
            command=command,
            status=status,
            key=key,
        ) from None
    err = InvalidResponse(
        f"answer is not valid JSON (HTTP {status}, {len(body)} bytes; truncated?)",
        sent=True,
        status=status,
        command=command,
        key=key,
    )
    raise err from exc


def translate(exc: BaseException, request: Request) -> TransportError:
    """Turn an aiohttp, OS, ``ssl`` or lane exception into a polo_fast error (cause chained).

    This is the one place where lower-level exceptions are mapped; the most specific match
    wins. Connect-phase failures (nothing sent) become :class:`ConnectError`; anything after
    the request may have been written keeps ``sent=True``.
    """
    head = request.head
    where: dict[str, Any] = {"command": request.command, "key": head.label if head else None}
    err: TransportError
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, LaneFailure):
        if exc.kind == "connect":
            err = ConnectError(str(exc), **where)
        elif exc.kind == "timeout":
            err = RequestTimeout(str(exc), sent=exc.sent, **where)
        elif exc.kind == "http":
            err = InvalidResponse(str(exc), sent=exc.sent, **where)
        else:
            err = ConnectionLost(str(exc), sent=exc.sent, **where)
    elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
        err = ConnectError(f"TLS certificate refused: {exc.certificate_error}", **where)
    elif isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientSSLError)):
        err = ConnectError(f"cannot connect: {exc}", **where)
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        err = ConnectError(f"connect timed out: {exc}", **where)
    elif isinstance(exc, asyncio.TimeoutError):
        err = RequestTimeout("no complete answer within the timeout", sent=True, **where)
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        err = ConnectionLost("server closed the connection before answering", sent=True, **where)
    elif isinstance(exc, aiohttp.ClientPayloadError):
        err = InvalidResponse(f"answer cut short: {exc}", sent=True, **where)
    elif isinstance(exc, aiohttp.ClientResponseError):
        err = InvalidResponse(f"unreadable HTTP answer: {exc.message}", sent=True, **where)
    elif isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        err = ConnectError(f"TLS failure: {exc}", **where)
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
        err = ConnectionLost(f"connection failed: {exc!r}", sent=True, **where)
    else:
        err = TransportError(f"unexpected failure: {exc!r}", sent=True, **where)
    err.__cause__ = exc
    return err
