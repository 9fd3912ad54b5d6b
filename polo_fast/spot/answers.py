"""The Spot API's answers: an HTTP status and body in, the parsed result or a typed error out.

:func:`classify` is the dialect's classifier, handed to the transport (``classify=``): both
paths (the lane and aiohttp) end in it. What it reads (``poloniex-spot-api.md`` §4):

- 2xx: the JSON answer (integers kept exact, :func:`polo_fast.transport.loads`); a 2xx JSON
  object with a ``message`` and a ``code`` other than 200 (an int, or a non-empty string
  such as the observed ``"FORBIDDEN"``) is a refusal too, whatever else it holds (ccxt's
  reading: any such code is an error). The items of a list answer (cancels: ``code`` per
  item, 200 when done) are the caller's: a list is returned as it is;
- ``{"code", "message"}`` with a non-2xx status: the error class claiming the code
  (:func:`polo_fast.errors.from_code`), ``.code`` kept;
- 401 with an empty body (a bad key or signature, ccxt#15131): :class:`AuthenticationError`;
- 408, or a 400 with code 408 or whose message names the timestamp or the receive window
  (``signTimestamp``, ``recvWindow``): :class:`TimestampError`, a refusal the client
  re-signs and re-sends once. ``{"code": 400}`` alone is not one: a 400 may refuse
  anything, and a request re-sent for a refusal that was not about time could run twice;
- 429 whatever the body: :class:`RateLimitError`, never re-sent by itself;
- codes 500 (internal), 603 (internal request timeout) and 415 (system error), and a JSON
  5xx without a known code: the exchange may or may not have acted, so these are
  :class:`ExchangeUnavailable` (a transport error, outcome unknown): a read is retried, an
  order is looked up by its ``clientOrderId``, never re-sent;
- redirects and non-JSON pages as every dialect (:func:`polo_fast.transport.answers.refuse_status`,
  :func:`~polo_fast.transport.answers.not_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from polo_fast.errors import (
    AuthenticationError,
    ExchangeUnavailable,
    RateLimitError,
    TimestampError,
    from_code,
)
from polo_fast.transport.answers import loads, not_json, refuse_status

__all__ = ["UNKNOWN_OUTCOME_CODES", "classify", "refusal"]

#: Codes after which the exchange may or may not have acted (internal error, timeout).
UNKNOWN_OUTCOME_CODES = frozenset({500, 603, 415, "500", "603", "415"})
#: words (lower case) of a 400's message that make it a timestamp refusal
_TIME_WORDS = ("timestamp", "recvwindow", "recwindow")


def classify(status: int, body: bytes, command: str, key: str | None) -> Any:
    """Classify one Spot answer (see the module docstring).

    Parameters:
        status: the HTTP status.
        body: the body, complete.
        command: the endpoint's method name (for messages).
        key: the API key used (messages show its first 8 characters), or None/"" (public).

    Raises:
        ExchangeError: a refusal, typed by its code.
        TransportError: no usable answer (a redirect, a page, an unknown outcome).
    """
    if 200 <= status < 300:
        try:
            result = loads(body)
        except ValueError as exc:
            not_json(status, body, command, key or None, exc)
        if type(result) is not dict or "message" not in result:
            return result
        code = result.get("code")
        if code in (200, "200", "") or type(code) not in (int, str):
            return result
        return refusal(status, result, command, key or None)
    if status < 200 or 300 <= status < 400:
        refuse_status(status, command, key or None)
    if status == 401 and not body.strip():
        raise AuthenticationError(
            "the exchange refused the key or signature (HTTP 401, empty body)",
            command=command,
            status=status,
            key=key or None,
        )
    try:
        data = loads(body)
    except ValueError as exc:
        if status == 429:
            raise RateLimitError(
                "too many requests (HTTP 429)", command=command, status=status, key=key or None
            ) from None
        not_json(status, body, command, key or None, exc)
    if type(data) is dict and "message" in data:
        return refusal(status, data, command, key or None)
    if status == 429:
        raise RateLimitError(
            "too many requests (HTTP 429)", command=command, status=status, key=key or None
        )
    if status >= 500:
        raise ExchangeUnavailable(
            f"exchange unavailable (HTTP {status}): {str(data)[:200]}",
            status=status,
            command=command,
            key=key or None,
        )
    raise from_code(command, None, f"HTTP {status}: {str(data)[:200]}", status, key=key or None)


def refusal(status: int, data: Mapping[str, Any], command: str, key: str | None) -> NoReturn:
    """Raise the error of a ``{"code", "message"}`` answer (REST, or a WebSocket reply with
    ``status`` 200): an internal failure (500, 603, 415) as outcome-unknown
    (:class:`ExchangeUnavailable`, settled by the caller, never re-sent), 429 as a rate
    limit, a timestamp refusal, else the error of its code (:func:`errors.from_code`)."""
    code = data.get("code")
    message = data.get("message")
    text = message if type(message) is str else str(message)
    if code in UNKNOWN_OUTCOME_CODES or (status >= 500 and code is None):
        raise ExchangeUnavailable(
            f"the exchange reported an internal failure, outcome unknown ({code}: {text})",
            status=status,
            command=command,
            key=key,
        )
    if status == 429 or code in (429, "429"):
        raise RateLimitError(text, command=command, status=status, key=key, code=code, payload=data)
    if status == 408 or (
        status == 400 and (code in (408, "408") or any(w in text.lower() for w in _TIME_WORDS))
    ):
        raise TimestampError(text, command=command, status=status, key=key, code=code, payload=data)
    raise from_code(command, code, text, status, key=key, payload=data)
