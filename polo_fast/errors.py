"""Every error polo_fast raises, in one tree.

::

    SigningError (ValueError)           bad input to a Signer: nothing was signed
    └── SigningTypeError (TypeError)    an argument of the wrong type

    PoloniexError                       base of everything below
    ├── PoloniexArgumentError           bad arguments, refused before anything is sent
    │   │                               (also ValueError and SigningError)
    │   ├── UnknownCommandError         a command name the table does not list
    │   └── WithdrawalsDisabledError    withdraw without Client(allow_withdrawals=True)
    ├── PoloniexTypeError               an argument of the wrong type (also TypeError)
    ├── ExchangeError                   the exchange refused: {"error": "<text>"} (legacy) or
    │   │                               {"code", "message"} (Spot): .text, .code
    │   ├── NonceError                  refused for its nonce, NOT executed: safe to resend
    │   │                               (.expected_floor = X of "must be greater than X")
    │   ├── TimestampError              refused for its signTimestamp (Spot 400/408), NOT
    │   │                               executed: re-signed and re-sent once by the client
    │   ├── AuthenticationError         bad key/secret/signature, permission denied
    │   ├── RateLimitError              throttled (429)
    │   ├── InsufficientFundsError      "Not enough BTC.", 21709 low available balance
    │   ├── OrderNotFoundError          unknown order number, or not yours; closed (21301...)
    │   ├── InvalidParameterError       bad request, bad market, bad parameter value
    │   ├── OrderRejectedError          the order's terms were refused (post-only, bounds...)
    │   │   ├── CancelPendingError      a cancel/move of this order is already under way
    │   │   └── DuplicateClientOrderIdError  the clientOrderId was used before (21312)
    │   ├── AccountStateError           account frozen, locked or closed
    │   └── ExchangeBusyError           "Internal error. Please try again." and friends
    │       ├── MaintenanceError        maintenance mode: no create or cancel (21340)
    │       └── ServiceBusyError        service busy, try again (24201)
    ├── TransportError                  no usable answer came back: .sent (bytes may have left)
    │   ├── ConnectError                could not connect or complete TLS: nothing was sent
    │   ├── RequestTimeout              no complete answer within the timeout
    │   ├── ConnectionLost              the connection broke before the answer was complete
    │   ├── InvalidResponse             truncated or non-JSON answer, unparsable HTTP
    │   └── ExchangeUnavailable         HTTP 5xx / Cloudflare 520-524 with an HTML page
    └── MayHaveExecutedError            a state-changing command's outcome is unknown: the
                                        request may have executed; it is never re-sent

Two branches matter for retries and are kept apart on purpose: :class:`NonceError` means
"refused, nothing ran" (polo_fast re-signs and resends it by itself), while
:class:`MayHaveExecutedError` means "we do not know": an order, cancel, withdrawal... whose
bytes left and whose answer never came. It is not a :class:`TransportError`, so code that
retries transport errors never re-sends an order by accident; the transport error that
caused it is its ``__cause__``.

Exchange texts (spec ``poloniex-legacy-api.md`` §5.2) map to classes by rules each class
declares (``exact``, ``prefixes``, ``contains``); :func:`from_reply` is the one lookup. An
unknown text gives :class:`ExchangeError` itself, with the raw text kept. The Spot API's
numeric codes (``poloniex-spot-api.md`` §4) map the same way: each class declares its
``codes`` (a code claimed twice is refused at import), and :func:`from_code` looks a code up,
then the message by the text rules, then falls back to the base; ``.code`` keeps the code.
Messages name the command and the key's first 8 characters, never the secret.

This module imports nothing from polo_fast: it is a leaf every other module may import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "AccountStateError",
    "AuthenticationError",
    "CancelPendingError",
    "ConnectError",
    "ConnectionLost",
    "DuplicateClientOrderIdError",
    "ExchangeBusyError",
    "ExchangeError",
    "ExchangeUnavailable",
    "InsufficientFundsError",
    "InvalidParameterError",
    "InvalidResponse",
    "MaintenanceError",
    "MayHaveExecutedError",
    "NonceError",
    "OrderNotFoundError",
    "OrderRejectedError",
    "PoloniexArgumentError",
    "PoloniexError",
    "PoloniexTypeError",
    "RateLimitError",
    "RequestTimeout",
    "ServiceBusyError",
    "SigningError",
    "SigningTypeError",
    "TimestampError",
    "TransportError",
    "UnknownCommandError",
    "WithdrawalsDisabledError",
    "error_text",
    "from_code",
    "from_reply",
    "key_prefix",
]

KEY_PREFIX_LEN = 8
"""How many leading characters of an API key messages and reprs show."""


def key_prefix(key: str | None) -> str:
    """Return the part of an API key that may be shown: its first 8 characters and an ellipsis."""
    if not key:
        return "-"
    return key[:KEY_PREFIX_LEN] + ("…" if len(key) > KEY_PREFIX_LEN else "")


def _where(command: str | None, key: str | None) -> str:
    if command is None:
        return ""
    if not key:
        return f"{command}: "
    return f"{command} (key {key_prefix(key)}): "


class SigningError(ValueError):
    """Bad input to the signer (a value, a name, a nonce, a secret); nothing was signed."""


class SigningTypeError(SigningError, TypeError):
    """An argument of the wrong type (a rejected value type, a non-str name, a bad secret)."""


class PoloniexError(Exception):
    """Base class of every error raised by polo_fast."""


class PoloniexArgumentError(PoloniexError, SigningError):
    """An argument was refused before anything was signed or sent (also a ``ValueError``)."""


class UnknownCommandError(PoloniexArgumentError):
    """The command name is not in the command table (pass ``unchecked=True`` to send it anyway)."""


class WithdrawalsDisabledError(PoloniexArgumentError):
    """``withdraw`` was called on a client created without ``allow_withdrawals=True``."""


class PoloniexTypeError(PoloniexError, TypeError):
    """An argument had the wrong type; refused before anything was signed or sent."""


# -- exchange replies -------------------------------------------------------------------------

_EXACT: dict[str, type[ExchangeError]] = {}
_PREFIXES: list[tuple[str, type[ExchangeError]]] = []
_CONTAINS: list[tuple[str, type[ExchangeError]]] = []
_CODES: dict[int | str, type[ExchangeError]] = {}


class ExchangeError(PoloniexError):
    """The exchange refused: ``{"error": text}`` (legacy) or ``{"code", "message"}`` (Spot).

    Subclasses declare which texts they stand for in ``exact`` (the whole text), ``prefixes``
    (the text starts with it) and ``contains`` (anywhere), and which Spot codes in ``codes``;
    :func:`from_reply` and :func:`from_code` pick the class. This base class is used for
    texts and codes no subclass claims.

    Attributes:
        text: the exchange's error text (the Spot ``message``), unchanged.
        code: the Spot API's ``code`` (an int, sometimes a string), or None.
        command: the command (or Spot endpoint method) that was refused.
        status: the HTTP status of the answer (0 if unknown).
        payload: the whole parsed answer (it sometimes carries more members).
        key_prefix: the first characters of the key used, or ``"-"``.
    """

    exact: ClassVar[tuple[str, ...]] = ()
    prefixes: ClassVar[tuple[str, ...]] = ()
    contains: ClassVar[tuple[str, ...]] = ()
    codes: ClassVar[tuple[int | str, ...]] = ()

    def __init__(
        self,
        text: str,
        *,
        command: str | None = None,
        status: int = 0,
        payload: Any = None,
        key: str | None = None,
        code: int | str | None = None,
    ) -> None:
        self.text = text
        self.code = code
        self.command = command
        self.status = status
        self.payload = payload
        self.key_prefix = key_prefix(key)
        notes = [f"code {code}"] if code is not None else []
        if status:
            notes.append(f"HTTP {status}")
        note = f" [{', '.join(notes)}]" if notes else ""
        super().__init__(f"{_where(command, key)}{text}{note}")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for text in cls.__dict__.get("exact", ()):
            if text in _EXACT:
                raise RuntimeError(f"exchange text {text!r} claimed twice")
            _EXACT[text] = cls
        for text in cls.__dict__.get("prefixes", ()):
            if any(text == other for other, _ in _PREFIXES):
                raise RuntimeError(f"exchange prefix {text!r} claimed twice")
            _PREFIXES.append((text, cls))
        for text in cls.__dict__.get("contains", ()):
            _CONTAINS.append((text, cls))
        # Longest prefix first, so a specific rule beats a broad one ("Invalid ").
        _PREFIXES.sort(key=lambda item: -len(item[0]))
        for code in cls.__dict__.get("codes", ()):
            if code in _CODES:
                raise RuntimeError(f"exchange code {code!r} claimed twice")
            _CODES[code] = cls


# ASCII digits only: int() would also read other scripts' digits.
_NONCE_RE = re.compile(r"greater than ([0-9]+)\.(?:\s*You provided ([0-9]+)\.?)?")


class NonceError(ExchangeError):
    """The nonce was refused (HTTP 422); the request was **not** executed, so it is safe to
    resend with a greater nonce. polo_fast does that by itself, a bounded number of times.

    Attributes:
        expected_floor: ``X`` of "Nonce must be greater than X.", the last nonce the exchange
            accepted for the key, or None when the text does not say.
        provided: ``Y`` of "You provided Y.", or None.
    """

    prefixes: ClassVar[tuple[str, ...]] = ("Nonce must be greater than",)
    exact: ClassVar[tuple[str, ...]] = ("Invalid nonce parameter.",)

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        m = _NONCE_RE.search(text)
        self.expected_floor: int | None = int(m.group(1)) if m else None
        self.provided: int | None = int(m.group(2)) if m and m.group(2) else None


class AuthenticationError(ExchangeError):
    """Bad key, secret or signature, an IP outside the key's whitelist, or a missing right."""

    exact: ClassVar[tuple[str, ...]] = (
        "Invalid API key/secret pair.",
        "Permission denied",
        "Permission denied.",
    )


class RateLimitError(ExchangeError):
    """The caller is throttled (usually HTTP 429). Slow down; nothing was executed."""

    exact: ClassVar[tuple[str, ...]] = (
        "This IP has been temporarily throttled. Please ensure your requests are valid and try "
        "again in one minute.",
        "This IP has been temporarily throttled. Please ensure your requests are valid and try "
        "again.",
        "Too many requests. Please try again in a moment.",
    )
    prefixes: ClassVar[tuple[str, ...]] = ("Please do not make more than",)
    codes: ClassVar[tuple[int | str, ...]] = (429,)


class InsufficientFundsError(ExchangeError):
    """The account lacks the funds for the order, loan or withdrawal ("Not enough BTC.")."""

    prefixes: ClassVar[tuple[str, ...]] = ("Not enough",)
    codes: ClassVar[tuple[int | str, ...]] = (21709, 21721, 250005)


class OrderNotFoundError(ExchangeError):
    """The order (or loan offer) does not exist, is closed, or belongs to someone else."""

    exact: ClassVar[tuple[str, ...]] = (
        "Invalid order number, or you are not the person who placed the order.",
        "Order not found, or you are not the person who placed it.",
        "Invalid orderNumber parameter.",
        "Error canceling loan order, or you are not the person who placed it.",
    )
    contains: ClassVar[tuple[str, ...]] = ("is either completed or does not exist",)
    #: 21301 not found; 21304 filled, 21305 canceled, 21359 already canceled or filled
    codes: ClassVar[tuple[int | str, ...]] = (21301, 21304, 21305, 21359)


class InvalidParameterError(ExchangeError):
    """The request itself was refused: unknown command, missing or invalid parameter, bad
    or disabled market."""

    exact: ClassVar[tuple[str, ...]] = (
        "Invalid command.",
        "Required parameter missing.",
        "Invalid currency pair.",
        "Invalid currencyPair parameter.",
        "Trading is disabled in this market.",
        "This market is frozen.",
    )
    prefixes: ClassVar[tuple[str, ...]] = ("Invalid ", "Please specify")
    #: 601 invalid / 602 missing parameter, 10040/10041 bad or frozen symbol, 2131x bad
    #: side/type/timeInForce, 21344-21346 ranges and ids, 21355 history window, 21604/21605
    #: bad user id or account type, 24101-24106 market data parameters
    codes: ClassVar[tuple[int | str, ...]] = (
        601, 602, 10040, 10041, 21319, 21320, 21321, 21344, 21345, 21346, 21355, 21604, 21605,
        24101, 24102, 24103, 24104, 24105, 24106,
    )  # fmt: skip


class OrderRejectedError(ExchangeError):
    """The order's terms were refused: price or size bounds, post-only would trade,
    fill-or-kill could not fill, too many open orders..."""

    exact: ClassVar[tuple[str, ...]] = (
        "Rate must be greater than zero.",
        "Order is beyond acceptable bounds.",
        "You may only place orders that reduce your position.",
        "Unable to place post-only order at this price.",
        "Unable to fill order completely.",
        "No more than one of the post-only, fill-or-kill, and immediate-or-cancel flags should "
        "be set at the same time.",
    )
    prefixes: ClassVar[tuple[str, ...]] = (
        "Rate must be less than",
        "Total must be at least",
        "Amount must be at least",
        "You may not have more than",
    )
    #: price bounds, open-order limit, cid too long, sizes, minimums, scales, post-only
    #: mode, must be LIMIT_MAKER, too large, too much price movement, size limit
    codes: ClassVar[tuple[int | str, ...]] = (
        21309, 21310, 21311, 21314, 21315, 21317, 21322, 21328, 21330, 21335, 21336, 21337,
        21341, 21342, 21343, 21348, 21349, 21350, 21356, 21360,
    )  # fmt: skip


class CancelPendingError(OrderRejectedError):
    """A cancel or move of this order is already under way; wait for its answer."""

    prefixes: ClassVar[tuple[str, ...]] = ("You have already called cancelOrder",)


class DuplicateClientOrderIdError(OrderRejectedError):
    """The ``clientOrderId`` was used before (Spot 21312): the order was not placed.

    After an unknown outcome this is also how a re-sent order would be refused; the Spot
    client never re-sends, it looks the order up by its ``clientOrderId``.
    """

    codes: ClassVar[tuple[int | str, ...]] = (21312,)


class AccountStateError(ExchangeError):
    """The account is frozen, locked or closed."""

    exact: ClassVar[tuple[str, ...]] = ("This account is locked.", "This account is closed.")
    prefixes: ClassVar[tuple[str, ...]] = ("This account is frozen",)
    #: 21600 account not found, 21601 locked, 21351/21352 trading frozen, 21353 US
    #: customers, 21354 email verification, 21708 currency unavailable, 21711 locked
    codes: ClassVar[tuple[int | str, ...]] = (
        21600,
        21601,
        21351,
        21352,
        21353,
        21354,
        21708,
        21711,
    )


class ExchangeBusyError(ExchangeError):
    """The exchange reported trouble of its own ("Internal error. Please try again.")."""

    exact: ClassVar[tuple[str, ...]] = (
        "Internal error. Please try again.",
        "Connection timed out. Please try again.",
        "Transaction failed. Please try again.",
        "Currently in maintenance mode.",
    )
    prefixes: ClassVar[tuple[str, ...]] = ("Error pulling ",)


class MaintenanceError(ExchangeBusyError):
    """The exchange is in maintenance mode: no order is created or cancelled (Spot 21340)."""

    codes: ClassVar[tuple[int | str, ...]] = (21340,)


class ServiceBusyError(ExchangeBusyError):
    """The exchange is busy and asks to try again later (Spot 24201); nothing was executed."""

    codes: ClassVar[tuple[int | str, ...]] = (24201,)


class TimestampError(ExchangeError):
    """The Spot API refused the request for its ``signTimestamp``: more than a second ahead
    of the exchange's clock (HTTP 400) or older than the ``recvWindow`` (HTTP 408). The
    request was **not** executed; the Spot client measures the clock again, re-signs and
    re-sends it once.
    """


def error_text(payload: Any) -> str | None:
    """Return the exchange's error text in a parsed answer, or None if it is not an error.

    Handles the documented ``{"error": text}`` (with or without more members), and
    ``{"success": 0, "result": {"error": text}}`` as ``returnOrderStatus`` may answer.
    """
    if type(payload) is not dict:
        return None
    text = payload.get("error")
    if text is None:
        result = payload.get("result")
        if payload.get("success") == 0 and type(result) is dict:
            text = result.get("error")
        if text is None:
            return None
    return text if type(text) is str else str(text)


def classify(text: str) -> type[ExchangeError]:
    """Return the :class:`ExchangeError` class whose rules claim ``text`` (the base if none)."""
    cls = _EXACT.get(text)
    if cls is not None:
        return cls
    for prefix, cls in _PREFIXES:
        if text.startswith(prefix):
            return cls
    for part, cls in _CONTAINS:
        if part in text:
            return cls
    return ExchangeError


def from_reply(
    command: str | None, payload: Any, status: int = 0, *, key: str | None = None
) -> ExchangeError:
    """Build the typed error for an exchange answer.

    Parameters:
        command: the command that was refused (named in the message).
        payload: the parsed answer (``{"error": text, ...}``) or the error text itself.
        status: the HTTP status, kept on the error.
        key: the API key used; only its first 8 characters are kept.

    Returns:
        An instance of the class whose rules claim the text, or :class:`ExchangeError` with the
        raw text kept when no rule does.
    """
    if isinstance(payload, str):
        text = payload
    else:
        found = error_text(payload)
        text = found if found is not None else f"unexpected answer {str(payload)[:200]}"
    cls = classify(text)
    return cls(text, command=command, status=status, payload=payload, key=key)


def from_code(
    command: str | None,
    code: int | str | None,
    message: str,
    status: int = 0,
    *,
    key: str | None = None,
    payload: Any = None,
) -> ExchangeError:
    """Build the typed error for a Spot API refusal ``{"code": code, "message": message}``.

    The class claiming ``code`` wins; an unknown code is looked up by ``message`` with the
    text rules (``"Invalid API key/secret pair."`` is an :class:`AuthenticationError`
    whatever its code); else :class:`ExchangeError`. ``code`` is kept on the error.
    """
    cls = _CODES.get(code) if code is not None and type(code) is not bool else None
    if cls is None and type(code) is str and code.isdigit() and code.isascii():
        cls = _CODES.get(int(code))
    if cls is None:
        cls = classify(message)
    return cls(message, command=command, status=status, payload=payload, key=key, code=code)


# -- transport --------------------------------------------------------------------------------


class TransportError(PoloniexError):
    """No usable answer came back from the exchange.

    Attributes:
        command: the command being sent, if known.
        sent: True if the request's bytes may have reached the exchange (so a state-changing
            command's outcome is unknown); False if nothing was sent.
        status: the HTTP status, when an answer (an unusable one) arrived; else 0.
    """

    def __init__(
        self,
        detail: str,
        *,
        command: str | None = None,
        key: str | None = None,
        sent: bool = True,
        status: int = 0,
    ) -> None:
        self.detail = detail
        self.command = command
        self.key_prefix = key_prefix(key)
        self.sent = sent
        self.status = status
        super().__init__(f"{_where(command, key)}{detail}")


class ConnectError(TransportError):
    """Could not connect or complete the TLS handshake (certificate, TLS version...).

    Nothing was sent, so any command may be sent again.
    """

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs["sent"] = False
        super().__init__(detail, **kwargs)


class RequestTimeout(TransportError):
    """No complete answer arrived within the timeout."""


class ConnectionLost(TransportError):
    """The connection broke before the answer was complete."""


class InvalidResponse(TransportError):
    """The answer could not be read: truncated or invalid JSON, or broken HTTP."""


class ExchangeUnavailable(TransportError):
    """The exchange or Cloudflare answered HTTP 5xx (502, 503, 520-524...) with an HTML page."""


class MayHaveExecutedError(PoloniexError):
    """A state-changing command's outcome is unknown: it **may have executed**.

    The request's bytes left, and the connection broke, timed out or returned no readable
    answer. polo_fast never re-sends such a command. Find out what happened before acting
    again: ``return_open_orders`` / ``return_order_trades`` (and the ``clientOrderId`` you
    set, if any) tell an order's fate (spec §9); ``return_deposits_withdrawals`` a
    withdrawal's. The Spot client looks an order up by its ``clientOrderId`` first and
    raises this only when the lookups could not tell (``seen`` says what they saw). The
    transport error is the ``__cause__``.

    Attributes:
        command: the command sent.
        params: its parameters as (wire name, value) pairs (never the secret or signature).
        nonce: the nonce it was signed with (None for the Spot API, which has none).
        key_prefix: the first characters of the key used.
        client_order_id: the order's ``clientOrderId`` (Spot), or None.
        seen: what the Spot client's lookups saw (the order, or the last answer or error
            text per ``clientOrderId`` or order), or None.
    """

    def __init__(
        self,
        command: str,
        params: Sequence[tuple[str, Any]] | Mapping[str, Any],
        nonce: int | None,
        *,
        key: str | None = None,
        reason: str = "",
        client_order_id: str | None = None,
        seen: Any = None,
    ) -> None:
        self.command = command
        self.params: tuple[tuple[str, Any], ...] = tuple(
            params.items() if isinstance(params, Mapping) else params
        )
        self.nonce = nonce
        self.key_prefix = key_prefix(key)
        self.client_order_id = client_order_id
        self.seen = seen
        shown = ", ".join(f"{k}={v}" for k, v in self.params if k != "command")
        if nonce is not None:
            stamp = f"; nonce {nonce}"
            advice = (
                "returnOpenOrders / returnOrderTrades (or your clientOrderId) to learn its fate"
            )
        else:
            stamp = f"; clientOrderId {client_order_id}" if client_order_id else ""
            advice = (
                f"get_order(client_order_id={client_order_id!r}) / open_orders() to learn its fate"
                if client_order_id
                else "open_orders() / order_history() to learn its fate"
            )
        super().__init__(
            f"{_where(command, key)}outcome unknown, it MAY HAVE EXECUTED ({reason or 'no answer'}"
            f"{stamp}; {shown or 'no parameters'}). It was not re-sent. Check {advice} "
            "before acting again."
        )
