"""A drop-in for the python-poloniex client (``poloniexapi`` 0.5.7 on PyPI), run by polo_fast.

Change one line of an old bot::

    from poloniex import Poloniex, PoloniexError              # before
    from polo_fast.compat.poloniex import Poloniex, PoloniexError   # after

and it keeps working: the class, its constructor (``key, secret, timeout, coach, jsonNums,
proxies``), every method name, argument name, order and default, and the shapes of the
results are python-poloniex's; underneath, every call goes through
:class:`polo_fast.sync.Client` (signed in C, validated against the command table, one
in-flight private request per key so nonces arrive in order).

Kept from python-poloniex:
    - ``jsonNums``: by default JSON numbers with a fraction come back as ``str`` and integers
      as ``int`` (python-poloniex parses with ``parse_float=str``); a callable such as
      ``float`` or ``Decimal`` is applied to every JSON number, as there.
    - ``coach``: ``True`` (default) limits calls to 6 per second per instance; a
      :class:`Coach` object may be shared by several instances; ``False`` turns it off.
    - ``PoloniexError`` catches everything the client raises (it is polo_fast's base error).
    - Nonces in microseconds (python-poloniex's scale), so a key it used keeps working.
    - The time labels ``MINUTE`` ... ``YEAR``, ``key`` and ``secret`` settable after
      construction, ``__call__(command, args={})`` for any command, ``PUBLIC_COMMANDS``,
      ``PRIVATE_COMMANDS``.

Deliberate differences (each is a bug or a hazard in the original):
    - **No blind retries of state-changing commands.** python-poloniex re-sends any call up
      to four times after a connection error or timeout, orders and withdrawals included,
      so one ``buy`` can execute twice. Here an order, cancel, move, transfer, loan or
      withdrawal whose answer was lost raises
      :class:`~polo_fast.errors.MayHaveExecutedError` (a ``PoloniexError``) and is never
      re-sent. Read-only calls are retried by polo_fast's bounded policy; nonce refusals are
      re-signed and re-sent (nothing ran).
    - ``withdraw`` refuses unless the instance was created with ``allow_withdrawals=True``
      (the exchange's own keys have withdrawals off by default).
    - Numbers are sent in plain decimal (``str(1e-08)`` sent ``1e-08``), and ``0`` is a
      value: ``start=0`` means the epoch instead of being dropped. ``False``/``None`` still
      mean "not given". Float timestamps are sent as whole seconds.
    - ``timeout=None`` means polo_fast's default (10 s), not "wait forever".
    - ``str(error)`` names the command and the key's first characters besides the
      exchange's text; the bare text is ``error.text`` (substring tests keep working).
    - ``transferBalance(confirmed=...)`` is accepted and not sent: the exchange documents no
      such parameter; ``__call__`` refuses parameters the command table does not list
      (nothing is sent). The websocket class ``PoloniexSocketed``, the ``session`` and the
      ``nonce`` attribute are not provided.
    - Answers are parsed by orjson, so with the default ``jsonNums`` a fractional JSON
      number comes back as its shortest text (``0.1`` for ``0.10``), the same value.
    - Thread-safe: one instance may be shared by threads (python-poloniex's nonce was not).

polo_fast keywords, after python-poloniex's arguments: ``url=``, ``ca_path=``,
``ssl_context=``, ``rate_limit=`` (polo_fast's per-key limiter, off by default here because
the coach limits), ``keys=[(key, secret), ...]`` (a key pool), ``allow_withdrawals=``,
``nonce_scale=``, ``allow_insecure_http=`` (an ``http://`` test server only: HTTPS is
required otherwise) and any other :class:`polo_fast.sync.Client` option.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from polo_fast.commands import PRIVATE, PUBLIC, Kind, Param
from polo_fast.errors import (
    ExchangeError,
    PoloniexArgumentError,
    PoloniexError,
    TransportError,
    key_prefix,
)
from polo_fast.signing import HoldsSecret

__all__ = [
    "PRIVATE_COMMANDS",
    "PUBLIC_COMMANDS",
    "Coach",
    "Poloniex",
    "PoloniexBase",
    "PoloniexError",
    "RetryException",
    "retryDelays",
]

logger = logging.getLogger(__name__)

RetryException = TransportError
"""python-poloniex raised ``RetryException`` when its retries ran out on network trouble;
polo_fast's equivalent is :class:`~polo_fast.errors.TransportError` (an order whose outcome is
unknown raises :class:`~polo_fast.errors.MayHaveExecutedError` instead, see above)."""

retryDelays: tuple[int, ...] = ()
"""python-poloniex's retry delays. polo_fast does not sleep-and-resend; kept for imports."""

#: The public ``returnTradeHistory`` under python-poloniex's name for it.
_MARKET_TRADE_HIST = "marketTradeHist"

PUBLIC_COMMANDS: list[str] = [
    _MARKET_TRADE_HIST if name == "returnTradeHistory" else name for name in PUBLIC
]
"""python-poloniex's list of public command names (``marketTradeHist`` for the public
trade history), taken from the command table."""

PRIVATE_COMMANDS: list[str] = list(PRIVATE)
"""The private command names, taken from the command table."""

_ORDER_TYPES = ("fillOrKill", "immediateOrCancel", "postOnly")
_MOVE_ORDER_TYPES = ("immediateOrCancel", "postOnly")
_CHART_PERIODS = (300, 900, 1800, 7200, 14400, 86400)

JsonNums = Callable[[str], Any]
_P = TypeVar("_P", bound="PoloniexBase")


class Coach:
    """python-poloniex's call limiter: at most ``callLimit`` calls in any ``timeFrame`` seconds.

    ``wait()`` blocks until a call may go. One coach may be shared by several
    :class:`Poloniex` instances (and threads) to hold them to one budget, as in
    python-poloniex; unlike it, no timer thread is started per call.

    Parameters:
        timeFrame: the window in seconds (default 1.0).
        callLimit: calls allowed per window (default 6, the exchange's documented limit).
        clock, sleep: injectable for tests (defaults :func:`time.monotonic`,
            :func:`time.sleep`).
    """

    def __init__(
        self,
        timeFrame: float = 1.0,
        callLimit: int = 6,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if timeFrame <= 0 or callLimit < 1:
            raise PoloniexArgumentError("Coach needs timeFrame > 0 and callLimit >= 1")
        self.timeFrame = float(timeFrame)
        self.callLimit = int(callLimit)
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until a call fits in the budget, then count it."""
        with self._lock:  # waiters queue on the lock: first come, first served
            while True:
                now = self._clock()
                calls = self._calls
                while calls and calls[0] + self.timeFrame <= now:
                    calls.popleft()
                if len(calls) < self.callLimit:
                    calls.append(now)
                    return
                self._sleep(calls[0] + self.timeFrame - now)

    def __repr__(self) -> str:
        return f"Coach(timeFrame={self.timeFrame}, callLimit={self.callLimit})"


def _to_numbers(value: Any, parse_float: JsonNums, parse_int: JsonNums | None) -> Any:
    """Apply python-poloniex's ``json.loads(parse_float=..., parse_int=...)`` to a parsed value.

    Floats are rendered with ``repr`` (the shortest text that reads back as the same
    float, which is what JSON encoders write), then given to ``parse_float``.
    """
    kind = type(value)
    if kind is float:
        return parse_float(repr(value))
    if kind is int:
        return value if parse_int is None else parse_int(str(value))
    if kind is dict:
        return {k: _to_numbers(v, parse_float, parse_int) for k, v in value.items()}
    if kind is list:
        return [_to_numbers(v, parse_float, parse_int) for v in value]
    return value


def _given(value: Any) -> bool:
    """python-poloniex's "not given" is ``False`` (or ``None``); ``0`` is a value here."""
    return value is not None and value is not False


_DIGITS = re.compile(r"\d+").fullmatch
_DECIMAL = re.compile(r"\d+(?:\.\d*)?").fullmatch
_INTS = (Kind.INT, Kind.CLIENT_ORDER_ID, Kind.BIT, Kind.FLAG)
_NAMES = (Kind.PAIR, Kind.PAIR_OR_ALL, Kind.CURRENCY)


def _wire(param: Param | None, value: Any) -> Any:
    """Accept what python-poloniex sent (everything as ``str(...)``) for the table's kinds.

    Digit strings become ints for integer parameters, float timestamps (``time() - DAY``)
    whole seconds, pair and currency names upper case (``all`` stays lower case). Anything
    else is left for the client's checks to accept or refuse.
    """
    if param is None:
        return value
    kind = param.kind
    if kind is Kind.TIMESTAMP:
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str) and _DECIMAL(value):
            return int(Decimal(value))
    elif kind in _INTS:
        if isinstance(value, str) and _DIGITS(value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind in _NAMES and isinstance(value, str):
        return _upper(value)
    return value


def _upper(value: Any) -> str:
    """``str(x).upper()`` as python-poloniex does, keeping the table's lower-case ``all``."""
    text = str(value).upper()
    return "all" if text == "ALL" else text


def _proxy_url(proxies: Mapping[str, str] | None) -> str | None:
    if not proxies:
        return None
    for scheme in ("https", "all", "http"):
        if proxies.get(scheme):
            return proxies[scheme]
    raise PoloniexArgumentError("proxies: give an 'https' (or 'all') proxy URL")


class PoloniexBase(HoldsSecret):
    """python-poloniex's base class: configuration, ``__call__`` and ``marketTradeHist``.

    Parameters (python-poloniex's, in its order):
        key: the API key (``False`` for public calls only; may be set later as ``.key``).
        secret: the API secret (may be set later as ``.secret``).
        timeout: seconds to wait for an answer (``None``: polo_fast's default, 10 s).
        coach: ``True`` for a 6 calls/s limiter, a :class:`Coach` (may be shared), or
            ``False``/``None`` for none.
        jsonNums: ``False`` to get fractional JSON numbers as ``str`` (the default, as in
            python-poloniex), or a callable applied to every JSON number (``float``,
            ``decimal.Decimal``).
        proxies: a requests-style ``{"https": "http://host:port"}``; the https entry is used.

    polo_fast keywords:
        url, ca_path, ssl_context, rate_limit, keys, allow_withdrawals, nonce_scale, and any
        other :class:`polo_fast.sync.Client` option (passed through unchanged).
    """

    MINUTE = 60
    HOUR = 60 * 60
    DAY = 60 * 60 * 24
    WEEK = DAY * 7
    MONTH = DAY * 30
    YEAR = DAY * 365

    def __init__(
        self,
        key: str | bool | None = False,
        secret: str | bool | None = False,
        timeout: float | None = None,
        coach: bool | Coach | None = True,
        jsonNums: JsonNums | bool | None = False,
        proxies: Mapping[str, str] | None = None,
        *,
        url: str = "https://poloniex.com",
        ca_path: str | None = None,
        ssl_context: Any = None,
        rate_limit: float | None = None,
        keys: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        allow_withdrawals: bool = False,
        nonce_scale: int = 1_000_000,
        allow_insecure_http: bool = False,
        **client_options: Any,
    ) -> None:
        self.logger = logger
        self._lock = threading.Lock()
        self._client: Any = None
        self._key: str | None = key if isinstance(key, str) and key else None
        self._secret: str | None = secret if isinstance(secret, str) and secret else None
        self.timeout = timeout
        self.coach: Any = Coach() if coach is True else coach
        self.jsonNums = jsonNums
        self.proxies = proxies
        self._options: dict[str, Any] = dict(
            url=url,
            ca_path=ca_path,
            ssl_context=ssl_context,
            rate_limit=rate_limit,
            keys=list(keys.items()) if isinstance(keys, Mapping) else keys,
            allow_withdrawals=allow_withdrawals,
            nonce_scale=nonce_scale,
            allow_insecure_http=allow_insecure_http,
            **client_options,
        )

    # -- configuration -----------------------------------------------------------------------

    @property
    def key(self) -> str | None:
        """The API key (setting it rebuilds the client on the next call)."""
        return self._key

    @key.setter
    def key(self, value: str | None) -> None:
        self._key = value or None
        self._drop_client()

    @property
    def secret(self) -> str | None:
        """The API secret (setting it rebuilds the client on the next call; never in repr)."""
        return self._secret

    @secret.setter
    def secret(self, value: str | None) -> None:
        self._secret = value or None
        self._drop_client()

    def configure(self, **options: Any) -> None:
        """Change polo_fast options (``url=``, ``ca_path=``, ``rate_limit=``...) after creation.

        The underlying client is closed and rebuilt with the new options on the next call.
        """
        with self._lock:
            self._options.update(options)
        self._drop_client()

    def warm_up(self, n: int = 1) -> None:
        """Open and TLS-handshake the key's lane and ``n`` pooled connections now (a polo_fast
        addition), so the first order pays no connect or handshake."""
        self._sync_client().warm_up(n)

    def close(self) -> None:
        """Close the connections and stop the client's loop thread (a later call reopens)."""
        self._drop_client()

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={key_prefix(self._key)!r})"

    def _drop_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _sync_client(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                from polo_fast.sync import Client

                options = dict(self._options)
                if self.timeout is not None:
                    options["timeout"] = self.timeout
                proxy = _proxy_url(self.proxies)
                if proxy is not None:
                    options["proxy"] = proxy
                if options.get("keys") is not None:
                    self._client = Client(**options)
                else:
                    self._client = Client(self._key, self._secret, **options)
            return self._client

    def _has_keys(self) -> bool:
        return bool((self._key and self._secret) or self._options.get("keys"))

    # -- the call ------------------------------------------------------------------------------

    def _decode(self, result: Any) -> Any:
        nums = self.jsonNums
        if not nums:
            return _to_numbers(result, str, None)
        if not callable(nums):
            raise PoloniexArgumentError("jsonNums must be False or a callable such as float")
        return _to_numbers(result, nums, nums)

    def _send(self, command: str, params: Mapping[str, Any], private: bool) -> Any:
        if private and not self._has_keys():
            raise PoloniexError(f"An Api Key and Secret needed for command '{command}'")
        cmd = (PRIVATE if private else PUBLIC)[command]
        wire = {k: _wire(cmd.param(k), v) for k, v in params.items() if _given(v)}
        if self.coach:
            self.coach.wait()
        client = self._sync_client()
        call = client.private if private else client.public
        try:
            result = call(command, **wire)
        except ExchangeError as exc:
            # python-poloniex raised only for a top-level "error"; a {"success": 0, ...}
            # answer (failed transfer, new address refused...) came back as a result.
            if type(exc.payload) is dict and "error" not in exc.payload:
                return self._decode(exc.payload)
            raise
        return self._decode(result)

    def __call__(self, command: str, args: Mapping[str, Any] | None = None) -> Any:
        """Send ``command`` with the wire parameters ``args``; return the decoded answer.

        As in python-poloniex: a name in :data:`PRIVATE_COMMANDS` is sent signed to
        ``/tradingApi`` (so ``returnTradeHistory`` is the private one), a name in
        :data:`PUBLIC_COMMANDS` to ``/public`` (``marketTradeHist`` is the public trade
        history). ``args`` is not modified; ``command``/``nonce`` members in it are ignored.

        Raises:
            PoloniexError: unknown command, missing key for a private one, or any error the
                exchange or the connection gave (see :mod:`polo_fast.errors`).
        """
        params = {k: v for k, v in (args or {}).items() if k not in ("command", "nonce")}
        if command in PRIVATE:
            return self._send(command, params, private=True)
        if command == _MARKET_TRADE_HIST:
            return self._send("returnTradeHistory", params, private=False)
        if command in PUBLIC and command != "returnTradeHistory":
            return self._send(command, params, private=False)
        raise PoloniexArgumentError(f"Invalid Command!: {command}")

    def marketTradeHist(self, currencyPair: str, start: Any = False, end: Any = False) -> Any:
        """The past 200 trades of a market, or the trades between ``start`` and ``end``."""
        return self._send(
            "returnTradeHistory",
            {
                "currencyPair": _upper(currencyPair),
                "start": start,
                "end": end,
            },
            private=False,
        )


class Poloniex(PoloniexBase):
    """python-poloniex's ``Poloniex`` client, on polo_fast. See the module docstring."""

    # -- public --------------------------------------------------------------------------------

    def returnTicker(self) -> Any:
        """The ticker of every market."""
        return self.__call__("returnTicker")

    def return24hVolume(self) -> Any:
        """The 24-hour volume of every market, and totals per primary currency."""
        return self.__call__("return24hVolume")

    def returnOrderBook(self, currencyPair: str = "all", depth: int = 20) -> Any:
        """The order book of a market (default all markets, 20 levels per side)."""
        return self.__call__(
            "returnOrderBook",
            {
                "currencyPair": _upper(currencyPair),
                "depth": depth,
            },
        )

    def returnChartData(
        self, currencyPair: str, period: Any = False, start: Any = False, end: Any = False
    ) -> Any:
        """Candles of a market; ``period`` in seconds (300 ... 86400); the last day by default.

        Raises:
            PoloniexError: ``period`` is not one of the exchange's candle lengths.
        """
        if period not in _CHART_PERIODS:
            raise PoloniexArgumentError(f"{period} invalid candle period")
        if not _given(start):
            start = time.time() - self.DAY
        if not _given(end):
            end = time.time()
        return self.__call__(
            "returnChartData",
            {
                "currencyPair": _upper(currencyPair),
                "period": period,
                "start": start,
                "end": end,
            },
        )

    def returnCurrencies(self) -> Any:
        """Every currency and its settings."""
        return self.__call__("returnCurrencies")

    def returnLoanOrders(self, currency: str) -> Any:
        """Loan offers and demands for ``currency``."""
        return self.__call__("returnLoanOrders", {"currency": _upper(currency)})

    # -- private: balances, addresses ----------------------------------------------------------

    def returnBalances(self) -> Any:
        """Available exchange-account balances."""
        return self.__call__("returnBalances")

    def returnCompleteBalances(self, account: str = "all") -> Any:
        """Available, on-order and BTC value per currency (``account='all'`` adds margin and
        lending, as python-poloniex sends by default)."""
        return self.__call__("returnCompleteBalances", {"account": str(account)})

    def returnDepositAddresses(self) -> Any:
        """Deposit addresses per currency."""
        return self.__call__("returnDepositAddresses")

    def generateNewAddress(self, currency: str) -> Any:
        """Make a new deposit address for ``currency``."""
        return self.__call__("generateNewAddress", {"currency": currency})

    def returnDepositsWithdrawals(self, start: Any = False, end: Any = False) -> Any:
        """Deposits and withdrawals between ``start`` and ``end`` (default: the last 30 days)."""
        if not _given(start):
            start = time.time() - self.MONTH
        if not _given(end):
            end = time.time()
        return self.__call__(
            "returnDepositsWithdrawals",
            {
                "start": start,
                "end": end,
            },
        )

    # -- private: orders -----------------------------------------------------------------------

    def returnOpenOrders(self, currencyPair: str = "all") -> Any:
        """Open orders of one market, or of all (``'all'``, keyed by pair)."""
        return self.__call__("returnOpenOrders", {"currencyPair": _upper(currencyPair)})

    def returnTradeHistory(
        self, currencyPair: str = "all", start: Any = False, end: Any = False, limit: Any = None
    ) -> Any:
        """Your own trades in one market or all, optionally in a range and limited."""
        return self.__call__(
            "returnTradeHistory",
            {
                "currencyPair": _upper(currencyPair),
                "start": start,
                "end": end,
                "limit": limit if limit else None,
            },
        )

    def returnOrderTrades(self, orderNumber: Any) -> Any:
        """The fills of one order."""
        return self.__call__("returnOrderTrades", {"orderNumber": str(orderNumber)})

    def returnOrderStatus(self, orderNumber: Any) -> Any:
        """The status of one open order."""
        return self.__call__("returnOrderStatus", {"orderNumber": str(orderNumber)})

    def _order(
        self, command: str, currencyPair: str, rate: Any, amount: Any, orderType: Any
    ) -> Any:
        args: dict[str, Any] = {
            "currencyPair": _upper(currencyPair),
            "rate": rate,
            "amount": amount,
        }
        if orderType:
            if orderType not in _ORDER_TYPES:
                raise PoloniexArgumentError("Invalid orderType")
            args[orderType] = 1
        return self.__call__(command, args)

    def buy(self, currencyPair: str, rate: Any, amount: Any, orderType: Any = False) -> Any:
        """Place a limit buy; ``orderType`` may be ``'fillOrKill'``, ``'immediateOrCancel'`` or
        ``'postOnly'``. Never re-sent after a lost answer (see the module docstring).

        Raises:
            PoloniexError: a bad ``orderType``, the exchange's refusal, or
                :class:`~polo_fast.errors.MayHaveExecutedError`.
        """
        return self._order("buy", currencyPair, rate, amount, orderType)

    def sell(self, currencyPair: str, rate: Any, amount: Any, orderType: Any = False) -> Any:
        """Place a limit sell; as :meth:`buy`."""
        return self._order("sell", currencyPair, rate, amount, orderType)

    def cancelOrder(self, orderNumber: Any) -> Any:
        """Cancel an order."""
        return self.__call__("cancelOrder", {"orderNumber": str(orderNumber)})

    def cancelAllOrders(self, currencyPair: str | None = None) -> Any:
        """Cancel every open order, of one market or of all (once per 2 minutes)."""
        if not currencyPair:
            return self.__call__("cancelAllOrders")
        return self.__call__("cancelAllOrders", {"currencyPair": _upper(currencyPair)})

    def moveOrder(
        self, orderNumber: Any, rate: Any, amount: Any = False, orderType: Any = False
    ) -> Any:
        """Cancel an order and place a replacement at ``rate`` atomically; ``orderType`` may be
        ``'postOnly'`` or ``'immediateOrCancel'``."""
        args: dict[str, Any] = {"orderNumber": str(orderNumber), "rate": rate}
        if amount:
            args["amount"] = amount
        if orderType:
            if orderType not in _MOVE_ORDER_TYPES:
                raise PoloniexArgumentError(f"Invalid orderType: {orderType}")
            args[orderType] = 1
        return self.__call__("moveOrder", args)

    def withdraw(
        self,
        currency: str,
        amount: Any,
        address: str,
        paymentId: Any = False,
        currencyToWithdrawAs: Any = False,
    ) -> Any:
        """Withdraw to ``address``. Refused unless created with ``allow_withdrawals=True``."""
        args: dict[str, Any] = {
            "currency": _upper(currency),
            "amount": amount,
            "address": str(address),
        }
        if paymentId:
            args["paymentId"] = str(paymentId)
        if currencyToWithdrawAs:
            args["currencyToWithdrawAs"] = str(currencyToWithdrawAs)
        return self.__call__("withdraw", args)

    # -- private: fees, accounts ---------------------------------------------------------------

    def returnFeeInfo(self) -> Any:
        """Your maker and taker fees and 30-day volume."""
        return self.__call__("returnFeeInfo")

    def returnAvailableAccountBalances(self, account: Any = False) -> Any:
        """Balances per account, or of one ``account`` (exchange, margin, lending)."""
        if account:
            return self.__call__("returnAvailableAccountBalances", {"account": account})
        return self.__call__("returnAvailableAccountBalances")

    def returnTradableBalances(self) -> Any:
        """Amounts tradable on margin, per market."""
        return self.__call__("returnTradableBalances")

    def transferBalance(
        self,
        currency: str,
        amount: Any,
        fromAccount: str,
        toAccount: str,
        confirmed: Any = False,
    ) -> Any:
        """Move ``amount`` of ``currency`` between accounts (``confirmed`` is not sent)."""
        if confirmed:
            logger.debug("transferBalance: 'confirmed' is not an exchange parameter; not sent")
        return self.__call__(
            "transferBalance",
            {
                "currency": _upper(currency),
                "amount": amount,
                "fromAccount": str(fromAccount),
                "toAccount": str(toAccount),
            },
        )

    # -- private: margin -----------------------------------------------------------------------

    def returnMarginAccountSummary(self) -> Any:
        """A summary of the margin account."""
        return self.__call__("returnMarginAccountSummary")

    def marginBuy(self, currencyPair: str, rate: Any, amount: Any, lendingRate: Any = 2) -> Any:
        """Place a margin buy (``lendingRate`` defaults to 2, as in python-poloniex)."""
        return self.__call__(
            "marginBuy",
            {
                "currencyPair": _upper(currencyPair),
                "rate": rate,
                "amount": amount,
                "lendingRate": lendingRate,
            },
        )

    def marginSell(self, currencyPair: str, rate: Any, amount: Any, lendingRate: Any = 2) -> Any:
        """Place a margin sell; as :meth:`marginBuy`."""
        return self.__call__(
            "marginSell",
            {
                "currencyPair": _upper(currencyPair),
                "rate": rate,
                "amount": amount,
                "lendingRate": lendingRate,
            },
        )

    def getMarginPosition(self, currencyPair: str = "all") -> Any:
        """Your margin position in a market, or in all."""
        return self.__call__("getMarginPosition", {"currencyPair": _upper(currencyPair)})

    def closeMarginPosition(self, currencyPair: str) -> Any:
        """Close your margin position in a market at market price."""
        return self.__call__("closeMarginPosition", {"currencyPair": _upper(currencyPair)})

    # -- private: lending ----------------------------------------------------------------------

    def createLoanOffer(
        self, currency: str, amount: Any, lendingRate: Any, autoRenew: Any = 0, duration: Any = 2
    ) -> Any:
        """Offer a loan (``duration`` in days, default 2; ``autoRenew`` 0 or 1)."""
        return self.__call__(
            "createLoanOffer",
            {
                "currency": _upper(currency),
                "amount": amount,
                "duration": duration,
                "autoRenew": autoRenew,
                "lendingRate": lendingRate,
            },
        )

    def cancelLoanOffer(self, orderNumber: Any) -> Any:
        """Cancel a loan offer."""
        return self.__call__("cancelLoanOffer", {"orderNumber": str(orderNumber)})

    def returnOpenLoanOffers(self) -> Any:
        """Your open loan offers."""
        return self.__call__("returnOpenLoanOffers")

    def returnActiveLoans(self) -> Any:
        """Your active loans, provided and used."""
        return self.__call__("returnActiveLoans")

    def returnLendingHistory(self, start: Any = False, end: Any = False, limit: Any = False) -> Any:
        """Closed loans between ``start`` and ``end`` (default: the last 30 days)."""
        if not _given(start):
            start = time.time() - self.MONTH
        if not _given(end):
            end = time.time()
        return self.__call__(
            "returnLendingHistory",
            {
                "start": start,
                "end": end,
                "limit": limit if limit else None,
            },
        )

    def toggleAutoRenew(self, orderNumber: Any) -> Any:
        """Flip auto-renew on an active loan."""
        return self.__call__("toggleAutoRenew", {"orderNumber": str(orderNumber)})
