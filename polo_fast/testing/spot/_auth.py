"""Signature and timestamp checks of the Spot stand-in, with the standard library only.

The stand-in is a judge: it rebuilds the string to sign from the request as received and
compares HMAC-SHA256 (``hmac``, constant time) in base64 with the ``signature`` header. It
never uses polo_fast's signer. What it accepts (spec §2.2, readings of §7 #3, #4, #5, #8):

- ``METHOD "\\n" PATH "\\n" PARAMS``; PATH as sent (percent-encoded) or decoded.
- GET (and a bodyless POST/PUT/DELETE): the query parameters plus ``signTimestamp``, sorted by
  key, joined as ``k=v`` with ``&``; each value in any of :data:`ENCODINGS` (RFC 3986 as
  ccxt, ``encodeURIComponent`` as the official SDK, raw as SDK-JAVA/vansergen). Sorting the
  joined ``k=v`` strings instead (dutu) is accepted too.
- With a body: ``requestBody=<the body exactly as sent>&signTimestamp=<ts>``, so compact and
  spaced JSON both pass (the body is never re-serialised).
- The ``signature`` header in base64, or URL-encoded (``%3D``) as the docs' example shows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from urllib.parse import quote, unquote

from polo_fast.testing.spot._errors import FUTURE_TS, RECV_WINDOW, SpotError

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "ENCODINGS",
    "FUTURE_TOLERANCE_MS",
    "check_timestamp",
    "signature_ok",
    "strings_to_sign",
]

FUTURE_TOLERANCE_MS = 1000
"""A ``signTimestamp`` this far ahead of the exchange's clock is refused (400, spec §2.3)."""
DEFAULT_RECV_WINDOW_MS = 60_000
"""How old a ``signTimestamp`` may be without a ``recvWindow`` header (undocumented, §7 #7:
the one source, a third-party summary, says one minute); older is refused with 408."""

ENCODINGS: dict[str, Callable[[str], str]] = {
    "rfc3986": lambda v: quote(v, safe=""),  # ccxt 4.5.90 (urlencode with quote)
    "uri_component": lambda v: quote(v, safe="~()*!'"),  # SDK-PY, dutu (encodeURIComponent)
    "raw": lambda v: v,  # SDK-JAVA, vansergen
}
"""The GET value encodings a signature may use (spec §2.2 table)."""


def _joined(pairs: list[tuple[str, str]], encode: Callable[[str], str]) -> Iterable[str]:
    items = [f"{encode(k)}={encode(v)}" for k, v in sorted(pairs, key=lambda kv: kv[0])]
    yield "&".join(items)
    yield "&".join(sorted(items))  # dutu and the Node demo sort the joined strings


def strings_to_sign(
    method: str, paths: Iterable[str], query: list[tuple[str, str]], body: bytes, ts: str
) -> set[bytes]:
    """Every string the client may have signed for this request (usually just one)."""
    if body:
        params = {b"requestBody=" + body + b"&signTimestamp=" + ts.encode()}
    else:
        pairs = [*query, ("signTimestamp", ts)]
        params = {s.encode() for enc in ENCODINGS.values() for s in _joined(pairs, enc)}
    return {f"{method}\n{path}\n".encode() + p for path in set(paths) for p in params}


def signature_ok(secret: bytes, candidates: Iterable[bytes], given: str) -> bool:
    """True when ``given`` is base64(HMAC-SHA256(secret, s)) of one of ``candidates``."""
    if "%" in given:
        given = unquote(given)
    given_b = given.encode("utf-8", "surrogateescape")
    ok = False
    for message in candidates:
        expected = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest())
        ok |= hmac.compare_digest(expected, given_b)
    return ok


def check_timestamp(ts: str, recv_window: str | None, now_ms: int, default_window: int) -> None:
    """Refuse a ``signTimestamp`` from the future (400) or older than the window (408).

    ``recv_window`` is the optional ``recvWindow`` header (ms); without it ``default_window``.
    """
    stamp = int(ts)
    if stamp - now_ms > FUTURE_TOLERANCE_MS:
        raise SpotError(FUTURE_TS, 400)
    window = default_window
    if recv_window is not None and recv_window.isdigit() and recv_window.isascii():
        window = int(recv_window)
    if now_ms - stamp > window:
        raise SpotError(RECV_WINDOW, 408)
