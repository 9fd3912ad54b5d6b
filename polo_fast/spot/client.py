"""The async Spot client: policy. Keys, rate classes, the exchange's clock, one call path.

::

    async with polo_fast.spot.Client(key, secret) as c:
        await c.warm_up()
        await c.create_order("BTC_USDT", "BUY", type="LIMIT", price="20000", quantity="0.001")

Every call takes one path (:meth:`Client._call`): the arguments are checked and the wire
built by :func:`polo_fast.spot._args.build` before anything is signed; the call's rate class
admits it (:class:`~polo_fast._policy.RateLimiter`: private classes per key, public ones per
client); ``signTimestamp`` is the host's clock plus the offset measured to the exchange's;
one call of the key's request writer (:meth:`Signer._request_writer
<polo_fast.spot.signing.Signer._request_writer>`, one C call) writes the whole request, and
one call of the key's starter (:meth:`Transport.starter
<polo_fast.transport.Transport.starter>`) hands it to a warm lane connection, whose future
is awaited right there. A Spot request carries no nonce, so nothing orders a key's requests:
several are in flight at once, and the lane opens more connections as needed. Public
endpoints go the same way, unsigned, on the client's public lane.

What happens when an answer is not the result (:meth:`Client._recover`), in one place:

- a timestamp refusal (:class:`~polo_fast.errors.TimestampError`, not executed): the clock is
  measured again, the request re-signed and re-sent, once; a create re-sent so and refused
  as a duplicate ``clientOrderId`` (21312) is settled by lookup (the first attempt may have
  run after all);
- a request that never left (connect failure) may go again, up to ``read_retries`` times; a
  read whose answer was lost is retried the same way;
- a state-changing request whose answer was lost is **never re-sent**: an order is looked up
  by its ``clientOrderId`` (``GET /orders/cid:<id>``, a few tries within
  :data:`SETTLE_WINDOW` seconds) and the exchange's order object is returned, once it is
  known to be **this call's** order: its symbol, side, type, price, quantity, amount (and
  stop price, time in force) as the call sent them, created no earlier than the call was
  sent (less :data:`SETTLE_CLOCK_MARGIN_MS`). An order of that ``clientOrderId`` that is
  not this call's (the id was used before) settles nothing. A cancel is looked up by the
  order it names: cancelled since the call was sent, the cancel's answer; closed otherwise
  (filled, or cancelled before), :class:`~polo_fast.errors.OrderNotFoundError` (code 21359,
  the order in ``payload``: the cancel did nothing). When the lookups cannot tell,
  :class:`~polo_fast.errors.MayHaveExecutedError` carries the ``client_order_id`` and what
  they saw;
- 429 (:class:`~polo_fast.errors.RateLimitError`) and every other refusal are raised as they
  are, never re-sent.

With ``kill_switch=30`` the exchange's kill switch is armed at :meth:`Client.warm_up` (or the
first call), once the exchange's clock is measured, and re-armed every third of the timeout
in a background task, so a crashed bot's orders are cancelled by the exchange;
:meth:`Client.close` waits for an arming in flight, then disarms it.

A client belongs to the event loop of its first call and to the process that made it
(:class:`~polo_fast._policy.Admission`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import orjson

from polo_fast._policy import (
    FORKS,
    Admission,
    RateLimiter,
    check_connection_options,
    check_number,
)
from polo_fast._secret import HoldsSecret
from polo_fast.errors import (
    ConnectError,
    DuplicateClientOrderIdError,
    ExchangeError,
    MayHaveExecutedError,
    OrderNotFoundError,
    PoloniexArgumentError,
    PoloniexError,
    SigningError,
    TimestampError,
    TransportError,
    WithdrawalsDisabledError,
    key_prefix,
)
from polo_fast.spot._api import SpotMethods
from polo_fast.spot._args import Call, build, raw_call
from polo_fast.spot._values import _is_cid
from polo_fast.spot._ws_client import WsMethods
from polo_fast.spot.answers import classify
from polo_fast.spot.commands import ALL_ENDPOINTS, RATE_CLASSES, Endpoint, RateClass, class_for
from polo_fast.spot.signing import RequestWriter, Signer, _query
from polo_fast.transport import (
    DEFAULT_KEEP_WARM,
    DEFAULT_MAX_ANSWER_BYTES,
    USER_AGENT,
    Head,
    HttpTransport,
    Transport,
    make_ssl_context,
    parse_origin,
)
from polo_fast.transport.framing import check_header

__all__ = ["CLOCK_SAMPLES", "SETTLE_CLOCK_MARGIN_MS", "SETTLE_DELAYS", "SETTLE_WINDOW", "Client"]

log = logging.getLogger(__name__)

#: ``GET /timestamp`` round trips per clock measurement (the shortest one is kept).
CLOCK_SAMPLES = 5
#: Seconds within which a lost answer is settled by lookups.
SETTLE_WINDOW = 1.5
#: Pauses before each lookup of a lost order (their sum stays within the window).
SETTLE_DELAYS = (0.0, 0.1, 0.2, 0.35, 0.5)
#: ms: an order a lookup finds is this call's only if created no earlier than the call was
#: sent (the exchange's clock, as measured) less this margin. The exchange refuses a
#: ``signTimestamp`` more than 1 s ahead of its clock, so an accepted request's stamp is at
#: most 1 s after its arrival, whatever the host's clock; the other second absorbs the
#: measurement and the ms rounding.
SETTLE_CLOCK_MARGIN_MS = 2000
#: The kill switch is re-armed every this fraction of its timeout.
REARM_FRACTION = 1 / 3
#: Seconds before a failed kill-switch arming is tried again.
REARM_AFTER_FAILURE = 1.0
#: How often :meth:`Client.close` sends the disarm before it gives up (and logs).
DISARM_TRIES = 3

_PRIVATE_CLASSES = (RateClass.NRI_PRIV, RateClass.RI_PRIV)
_OPEN_STATES = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW", "PENDING_CANCEL"})
_CANCELED_STATES = frozenset({"CANCELED", "PARTIALLY_CANCELED"})
#: state-changing endpoints settled by the clientOrderId they carry -> the lookup's base path
_CREATES = {
    "create_order": b"/orders/",
    "create_smart_order": b"/smartorders/",
    "replace_order": b"/orders/",
    "replace_smart_order": b"/smartorders/",
}
_CANCELS = {"cancel_order": b"/orders/", "cancel_smart_order": b"/smartorders/"}
#: an order's terms a lookup's find must show as the call sent them: text, and decimal
_TEXT_TERMS = ("symbol", "side", "type", "timeInForce")
_DECIMAL_TERMS = ("price", "quantity", "amount", "stopPrice")
#: the ``type`` an order has when the call names none (creates only; a replace keeps its own)
_DEFAULT_TYPES = {b"/orders/": "MARKET", b"/smartorders/": "STOP"}


def _public_writer(head: bytes) -> RequestWriter:
    """The unsigned twin of a key's request writer: ``GET path[?query]`` and ``head``."""

    def request(
        method: bytes, path: bytes, fields: bytes, n: int, body: bytes | None, ts: int
    ) -> bytes:
        query = b"?" + _query(fields.split(b"\0"), n, None) if n else b""
        return b"%s %s%s HTTP/1.1\r\n%s\r\n" % (method, path, query, head)

    return request


class _Slot:
    """One API key (or the public lane): its writer, starter, head and rate limiters.

    ``write(method, path, fields, n, body, ts)`` builds the whole request in one call (the
    signer's C writer bound to the key's prebuilt head); ``start(command, data)`` hands it
    to the key's lane. ``limits`` maps an endpoint's method name to its rate class's limiter
    (shared by the class's endpoints; none: not limited).
    """

    __slots__ = ("busy", "head", "key", "limits", "start", "write")

    def __init__(
        self,
        key: str,
        write: RequestWriter,
        head: Head,
        start: Callable[[str, bytes], Awaitable[Any]],
        by_class: Mapping[RateClass, RateLimiter],
    ) -> None:
        self.key = key
        self.write = write
        self.head = head
        self.start = start
        self.limits: dict[str, RateLimiter] = {
            ep.method: by_class[ep.rate_class] for ep in ALL_ENDPOINTS if ep.rate_class in by_class
        }
        # request() outside the table: _args.raw_call's endpoint "request", weight 20
        outside = by_class.get(class_for(20, signed=True))
        if outside is not None:
            self.limits["request"] = outside
        self.busy = 0

    def __repr__(self) -> str:
        return f"<Slot {key_prefix(self.key)} busy={self.busy}>"


def _rates(rate_limits: Mapping[Any, float | None] | None) -> dict[RateClass, float]:
    """The calls per second of each class: the spec's floors, overridden by ``rate_limits``."""
    if rate_limits is None:
        return {}
    if not isinstance(rate_limits, Mapping):
        raise PoloniexArgumentError(
            "rate_limits must be a mapping of rate class -> calls per second, or None"
        )
    rates: dict[RateClass, float | None] = dict(RATE_CLASSES)
    for name, rate in rate_limits.items():
        try:
            cls = RateClass(name)
        except ValueError:
            raise PoloniexArgumentError(
                f"rate_limits: unknown rate class {name!r}; one of {[c.value for c in RateClass]}"
            ) from None
        check_number(f"rate_limits[{cls.value!r}]", rate, allow_none=True)
        rates[cls] = rate
    return {c: r for c, r in rates.items() if r is not None}


#: The endpoints that move funds off the exchange: refused unless ``allow_withdrawals=True``.
_WITHDRAWALS = frozenset({"withdraw", "withdraw_v2"})


class Client(SpotMethods, WsMethods, HoldsSecret, Admission):
    """The async Poloniex Spot client: ``async with Client(key, secret) as c: ...``.

    Parameters:
        key, secret: the API key and its secret. Omit both for public endpoints only.
        url: the REST base (the exchange by default; the stand-in's ``ex.url`` in tests).
        ws_url: the WebSocket base; ``/public`` and ``/private`` are appended.
        ca_path: a PEM file of extra CA certificates to trust (the stand-in's ``ex.ca_path``).
        ssl_context: a TLS context to use instead (it must verify and refuse TLS < 1.2).
        recv_window: ms; sent as ``recvWindow``: the exchange refuses a request whose
            ``signTimestamp`` is older than this when it arrives (None: the exchange's default).
        connections: warm lane connections per key, opened by :meth:`warm_up` (more are
            opened when more requests are in flight at once).
        timeout: seconds for one attempt: connect, TLS handshake and the complete answer.
        rate_limits: calls per second per rate class (``RateClass`` or its value ->
            rate, None turning a class off), over the spec's floors (``RATE_CLASSES``);
            private classes count per key, public ones per client. None: no limiting.
        kill_switch: seconds (10-600): arm the exchange's kill switch at :meth:`warm_up` (or
            the first call) and re-arm it every third of that while the client lives;
            :meth:`close` disarms it. None: leave it alone.
        keep_warm: seconds between keep-alive round trips on an idle lane connection (15.0);
            None or 0: off.
        read_retries: how often a read is retried after a lost connection, timeout,
            unreadable answer or 5xx (and any request that could not connect).
        ws: open the private WebSocket in :meth:`warm_up` (when the WebSocket half has it).
        allow_withdrawals: ``withdraw`` and ``withdraw_v2`` (also through :meth:`request`)
            refuse to run unless this is True.
        allow_insecure_http: accept an ``http://`` url (a local test server without TLS).
        max_answer_bytes: the largest answer accepted (4 MiB by default).
        transport: a :class:`~polo_fast.transport.Transport` to use instead of the network
            one (tests); TLS options are then ignored.

    Raises:
        PoloniexArgumentError, PoloniexTypeError: bad configuration.
    """

    # Defaults, so that repr() and close() work on a client whose __init__ failed.
    _slots: Sequence[_Slot] = ()
    _public: _Slot
    _one: _Slot | None = None
    _url = ""
    _ws_url = ""
    _ssl_context: ssl.SSLContext | None = None
    _transport: Transport | None = None
    _kill_switch: int | None = None
    _keeper: asyncio.Task[None] | None = None
    #: the outcome of the kill switch's current (or last) arming cycle
    _armed: asyncio.Future[None] | None = None
    #: the arming in flight (its own task: neither the keeper's nor close()'s cancel cuts it)
    _arming: asyncio.Task[None] | None = None
    _wake: asyncio.Event | None = None
    #: the clock measurement in flight (its own task, shared by every caller)
    _measuring: asyncio.Task[None] | None = None
    _measured = False
    _ws_enabled = False
    _allow_withdrawals = False

    def __init__(
        self,
        key: str | None = None,
        secret: str | bytes | None = None,
        *,
        url: str = "https://api.poloniex.com",
        ws_url: str = "wss://ws.poloniex.com/ws",
        ca_path: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        recv_window: int | None = None,
        connections: int = 2,
        timeout: float = 10.0,
        rate_limits: Mapping[Any, float | None] | None = RATE_CLASSES,
        kill_switch: int | None = None,
        keep_warm: float | None = DEFAULT_KEEP_WARM,
        read_retries: int = 2,
        ws: bool = True,
        allow_withdrawals: bool = False,
        allow_insecure_http: bool = False,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        transport: Transport | None = None,
    ) -> None:
        signer: Signer | None = None
        try:
            if (key is None) != (secret is None):
                raise PoloniexArgumentError("give both key and secret, or neither")
            if key is not None:
                if not isinstance(key, str) or not key:
                    raise PoloniexArgumentError("key must be a non-empty str")
                check_header("key", key)
                try:
                    signer = Signer(secret)  # type: ignore[arg-type]
                except (SigningError, TypeError) as exc:
                    raise PoloniexArgumentError(
                        f"secret of key {key_prefix(key)} refused: {exc}"
                    ) from None
        finally:
            del secret  # no frame on the way to an error keeps the secret
        check_connection_options(
            timeout=timeout,
            read_retries=read_retries,
            max_answer_bytes=max_answer_bytes,
            keep_warm=keep_warm,
            allow_insecure_http=allow_insecure_http,
        )
        if type(connections) is not int or connections < 1:
            raise PoloniexArgumentError(f"connections must be an int >= 1, not {connections!r}")
        if recv_window is not None and (type(recv_window) is not int or recv_window < 1):
            raise PoloniexArgumentError(
                f"recv_window must be an int of ms >= 1, not {recv_window!r}"
            )
        if kill_switch is not None and (
            type(kill_switch) is not int or not 10 <= kill_switch <= 600
        ):
            raise PoloniexArgumentError(
                f"kill_switch must be None or an int of seconds 10-600, not {kill_switch!r}"
            )
        if not isinstance(ws_url, str) or not ws_url.lower().startswith(("wss://", "ws://")):
            raise PoloniexArgumentError(f"ws_url must be a wss:// URL, not {ws_url!r}")
        rates = _rates(rate_limits)
        origin = parse_origin(url, allow_insecure_http=allow_insecure_http)
        if origin.base:
            raise PoloniexArgumentError(f"url must be https://host[:port] (no path), got {url!r}")
        ctx = make_ssl_context(ca_path, ssl_context) if origin.tls else None
        if transport is None:
            transport = HttpTransport(
                url,
                ctx,
                timeout=timeout,
                allow_insecure_http=allow_insecure_http,
                max_answer_bytes=max_answer_bytes,
                keep_warm=keep_warm,
                classify=classify,
            )
        self._url = url
        self._ws_url = ws_url.rstrip("/")
        self._ssl_context = ctx
        self._ws_enabled = bool(ws)
        self._allow_withdrawals = allow_withdrawals is True
        self._timeout = float(timeout)
        self._read_retries = read_retries
        self._connections = connections
        self._kill_switch = kill_switch
        self._transport = transport
        self._offset = 0  # ms to add to the host's clock to get the exchange's
        lines = f"Host: {origin.host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
        lines += "Accept: application/json\r\n"
        public_rates = {c: RateLimiter(r) for c, r in rates.items() if c not in _PRIVATE_CLASSES}
        public_head = transport.head({}, "")
        self._public = _Slot(
            "",
            _public_writer(lines.encode("ascii")),
            public_head,
            transport.starter(public_head),
            public_rates,
        )
        slots: list[_Slot] = []
        if key is not None and signer is not None:
            own = f"{lines}key: {key}\r\n"
            if recv_window is not None:
                own += f"recvWindow: {recv_window}\r\n"
            head = transport.head({"key": key}, key)
            private = {c: RateLimiter(r) for c, r in rates.items() if c in _PRIVATE_CLASSES}
            write = signer._request_writer(own.encode("ascii"))
            slots.append(_Slot(key, write, head, transport.starter(head), private))
            self._signer = signer
        self._slots = tuple(slots)
        self._one = slots[0] if slots else None
        self._admit()

    # -- lifecycle -----------------------------------------------------------------------

    async def warm_up(self, n: int | None = None) -> None:
        """Get ready for the first order: open ``n`` warm lane connections per key and as
        many on the public lane, measure the exchange's clock, arm the kill switch
        (``kill_switch=``) and open the private WebSocket (``ws=True``).

        ``n`` (reading of the issue's ``warm_up(n)``): warm lane connections per key, the
        public lane warmed the same; None: the client's ``connections=``. Connections
        already open count: a second ``warm_up()`` opens nothing more. One pooled aiohttp
        connection is warmed too (the fallback when a lane cannot connect); on a transport
        without lanes (the aiohttp path), ``n`` of them. After a failed kill-switch arming,
        ``warm_up()`` arms it again now and reports that try.

        Raises:
            PoloniexArgumentError: ``n`` is not an int >= 1.
            ConnectError: a connection could not be opened.
            PoloniexError: the clock could not be read or the kill switch not armed.
        """
        if n is None:
            n = self._connections
        elif type(n) is not int or n < 1:
            raise PoloniexArgumentError(f"warm_up: n must be None or an int >= 1, not {n!r}")
        self._enter()
        try:
            heads = tuple(s.head for s in (self._public, *self._slots))
            pooled = 1 if any(h.lane is not None for h in heads) else n
            await self._transport.warm_up(  # type: ignore[union-attr]
                pooled, heads, connections=n
            )
            await self._measure_clock()
            if self._keeper is not None:
                await self._armed_now()
        finally:
            self._leave()
        if self._ws_enabled and self._one is not None:
            ws_warm_up: Callable[[], Awaitable[None]] | None = getattr(self, "_ws_warm_up", None)
            if ws_warm_up is not None:
                await ws_warm_up()

    async def close(self) -> None:
        """Refuse new calls, wait for the calls in flight (up to ``timeout`` seconds), disarm
        the kill switch (after the arming in flight, if any), close the WebSocket and every
        connection. A call still in flight then fails with its outcome. The client cannot
        be used afterwards."""
        if self._closed:
            return
        self._closed = True
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()  # cuts its sleep; an arming in flight is its own task, left alone
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
        await self._drain(self._timeout)
        try:
            if self._armed is not None and self._loop is asyncio.get_running_loop():
                await self._disarm()
        finally:
            ws_close: Callable[[], Awaitable[None]] | None = getattr(self, "_ws_close", None)
            try:
                if ws_close is not None:
                    await ws_close()
            finally:
                if self._transport is not None:
                    await self._transport.close()
                await self._drain(1.0)  # the calls cut by the close get their errors first

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the client to ``loop`` (:class:`Admission`); start keeping the kill switch."""
        super()._bind(loop)
        if self._kill_switch is not None and self._slots and self._keeper is None:
            self._armed = loop.create_future()
            self._wake = asyncio.Event()
            self._keeper = loop.create_task(self._keep_armed(self._kill_switch))

    @property
    def clock_offset_ms(self) -> int:
        """The measured offset of the exchange's clock to the host's, in ms."""
        return self._offset

    def __repr__(self) -> str:
        return (
            f"polo_fast.spot.Client(keys={list(self.key_prefixes)!r}, url={self._url!r}, "
            f"kill_switch={self._kill_switch!r})"
        )

    # -- what the WebSocket half uses ------------------------------------------------------

    def _now_ms(self) -> int:
        """The exchange's clock, ms (the host's plus the measured offset)."""
        return time.time_ns() // 1_000_000 + self._offset

    def _rate_delay(self, command: str) -> float:
        """Count one call of ``command`` (a table method name) against the key's rate class
        now; return the seconds it must wait first (0.0: go now). The WebSocket half's trade
        requests use it, so they share the key's budget with REST, as the exchange counts."""
        slot = self._one
        limiter = slot.limits.get(command) if slot is not None else None
        return limiter.reserve() if limiter is not None else 0.0

    def _ws_signer(self) -> Signer:
        """The key's signer (the private WebSocket's login)."""
        if self._one is None:
            raise PoloniexArgumentError("the private WebSocket needs an API key")
        return self._signer

    def _ws_key(self) -> str:
        """The API key."""
        if self._one is None:
            raise PoloniexArgumentError("the private WebSocket needs an API key")
        return self._one.key

    # -- escape hatch -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any | None = None,
    ) -> Any:
        """Send any signed request: ``await c.request("GET", "/orders", params={...})``.

        ``params`` go in the query (sorted into the signature), ``body`` (a JSON-able value)
        is sent compact (``bytes``/``str`` exactly as given). Anything but GET is treated as
        state-changing: never re-sent after a lost answer; a route of the table keeps its
        rate class and its settling (an order with a ``clientOrderId`` in the body is looked
        up), and a public route goes unsigned.

        Raises:
            PoloniexArgumentError: a bad method, path or value (nothing sent).
        """
        call = raw_call(method, path, params, body)
        return await self._call(call.endpoint, {}, call)

    # -- the one call path ----------------------------------------------------------------------

    async def _call(
        self, endpoint: Endpoint, args: Mapping[str, Any], call: Call | None = None
    ) -> Any:
        """Check, sign and send one call, recovering as :meth:`_recover` says.

        The common case runs straight through without another coroutine or future: the rate
        class has budget and the key's starter returns an idle connection's future, awaited
        right here.
        """
        if call is None:
            call = build(endpoint, args)
        slot = self._public
        if endpoint.signed:
            one = self._one
            if one is None:
                raise PoloniexArgumentError(
                    f"{endpoint.method}: a signed endpoint needs an API key: Client(key, secret)"
                )
            slot = one
            if endpoint.method in _WITHDRAWALS and not self._allow_withdrawals:
                raise WithdrawalsDisabledError(
                    f"{endpoint.method} refused: create the client with allow_withdrawals=True "
                    "to enable it (the key needs withdrawal permission too); nothing was sent"
                )
        # Admission._enter(), inlined: admitted here, or refused before anything is signed
        if self._closed or asyncio.get_running_loop() is not self._loop or self._forks != FORKS[0]:
            self._enter()
        else:
            self._calls += 1
        slot.busy += 1
        try:
            limiter = slot.limits.get(endpoint.method)
            if limiter is not None:
                delay = limiter.reserve()
                if delay > 0.0:
                    await asyncio.sleep(delay)
            sent = time.time_ns() // 1_000_000  # host ms; a lost answer is settled against it
            try:
                data = slot.write(
                    call.method,
                    call.path,
                    call.fields,
                    call.n,
                    call.body,
                    sent + self._offset,  # _now_ms(), inlined
                )
            except (SigningError, TypeError) as exc:
                raise PoloniexArgumentError(f"{endpoint.method}: {exc}") from None
            pending = slot.start(endpoint.method, data)
            del data  # the bytes live no longer than the write
            try:
                return await pending
            except (TimestampError, TransportError) as exc:
                return await self._recover(slot, call, exc, sent)
        finally:
            slot.busy -= 1
            self._calls -= 1  # Admission._leave(), inlined
            if self._drained is not None:
                self._leave_closing()

    async def _attempt(
        self,
        slot: _Slot,
        command: str,
        method: bytes,
        path: bytes,
        fields: bytes = b"",
        n: int = 0,
        body: bytes | None = None,
    ) -> Any:
        """One more request outside the warm path (a retry, a lookup, the kill switch, the
        clock): rate-limited, stamped now, written and sent."""
        limiter = slot.limits.get(command)
        if limiter is not None:
            await limiter.acquire()
        try:
            data = slot.write(method, path, fields, n, body, self._now_ms())
        except (SigningError, TypeError) as exc:
            raise PoloniexArgumentError(f"{command}: {exc}") from None
        pending = slot.start(command, data)
        del data  # the signed bytes live no longer than the write (never in a traceback)
        return await pending

    async def _recover(self, slot: _Slot, call: Call, exc: Exception, sent: int) -> Any:
        """The recovery policy: try again, settle a lost answer, or raise what the caller
        must see (see the module docstring). Never re-sends a state-changing request whose
        bytes may have been executed. ``sent``: the host's ms when the call first left."""
        name = call.endpoint.method
        changes = call.method != b"GET"
        retimed = False
        retries = 0
        while True:
            if isinstance(exc, TimestampError):
                if retimed:
                    raise exc
                retimed = True
                log.debug("%s: timestamp refused (%s); measuring the clock", name, exc.text)
                await self._measure_clock()
            elif isinstance(exc, TransportError):
                if changes and exc.sent:
                    return await self._unknown_outcome(slot, call, exc, sent)
                if changes and not isinstance(exc, ConnectError):
                    raise exc  # refused at the edge (Cloudflare 521-523): not re-sent
                if retries >= self._read_retries:
                    raise exc
                retries += 1
                log.debug("%s: %s; retry %d of %d", name, exc.detail, retries, self._read_retries)
            else:
                raise exc
            try:
                return await self._attempt(
                    slot, name, call.method, call.path, call.fields, call.n, call.body
                )
            except (TimestampError, TransportError) as again:
                exc = again
            except DuplicateClientOrderIdError as dup:
                if retimed and name in _CREATES:  # the refused first attempt may have run
                    return await self._settle_duplicate(slot, call, dup, sent)
                raise

    # -- unknown outcomes, settled ------------------------------------------------------------

    async def _unknown_outcome(
        self, slot: _Slot, call: Call, exc: TransportError, sent: int
    ) -> Any:
        """A state-changing request's answer was lost: settle it by lookups, never re-send.

        A failure of the settling itself (a lookup that cannot even be written, a body it
        cannot read) is the call's unknown outcome too: :class:`MayHaveExecutedError`.
        """
        name = call.endpoint.method
        reason = exc.detail
        try:
            outcome = await self._settle_call(slot, call, reason, sent)
        except MayHaveExecutedError as err:
            raise err from exc
        except (PoloniexError, ValueError, TypeError) as err:
            raise MayHaveExecutedError(
                name,
                call.shown,
                None,
                key=slot.key,
                reason=f"{reason}; settling it failed: {err}",
                client_order_id=self._body_cid(call) or call.client_order_id,
            ) from exc
        if isinstance(outcome, _Refused):  # settled: the exchange had refused it
            raise outcome.error from exc
        return outcome

    async def _settle_call(self, slot: _Slot, call: Call, reason: str, sent: int) -> Any:
        """Settle ``call`` (sent at the host's ms ``sent``) by what it is: the order it
        creates, the orders it cancels."""
        name = call.endpoint.method
        cid = call.client_order_id
        if name in _CREATES:
            # the order the call creates: a replace may also address the old one by cid
            cid = self._body_cid(call)
            if cid is not None:
                base = _CREATES[name]
                expect = _terms(call.body, None if name.startswith("replace") else base)
                return await self._settle_create(
                    slot, name, cid, reason, base, call.shown, expect, sent
                )
        elif name == "create_orders" and call.client_order_ids:
            return await self._settle_batch(slot, call, reason, sent)
        elif name in _CANCELS:
            return await self._settle_cancel(slot, call, reason, sent)
        elif name == "cancel_orders" and call.body is not None:
            return await self._settle_cancels(slot, call, reason, sent)
        raise MayHaveExecutedError(
            name, call.shown, None, key=slot.key, reason=reason, client_order_id=cid
        )

    @staticmethod
    def _body_cid(call: Call) -> str | None:
        """The ``clientOrderId`` the call's JSON body carries (the new order's), or None."""
        if call.body is None:
            return None
        try:
            doc = orjson.loads(call.body)
        except orjson.JSONDecodeError:
            return None
        cid = doc.get("clientOrderId") if type(doc) is dict else None
        return cid if type(cid) is str and _is_cid(cid) else None

    async def _settle(
        self,
        command: str,
        client_order_id: str,
        reason: str,
        *,
        body: bytes | None = None,
        since_ms: int | None = None,
    ) -> Any:
        """Look the order ``client_order_id`` up (``GET /orders/cid:<id>``, a few tries within
        :data:`SETTLE_WINDOW` seconds) after ``command``'s answer was lost; never re-sends.

        Parameters:
            body: the create's JSON body as sent: the order found must show its terms
                (symbol, side, type, price, quantity, amount...), or it is not this call's.
            since_ms: the exchange's clock (:meth:`_now_ms`) just before the order was sent:
                an order created earlier (less :data:`SETTLE_CLOCK_MARGIN_MS`) is not this
                call's.

        Returns:
            The exchange's order object.

        Raises:
            MayHaveExecutedError: not found after the tries, the lookups failed, or the
                ``clientOrderId`` belongs to another order (``client_order_id`` and
                ``seen`` set).
        """
        if self._one is None:
            raise PoloniexArgumentError("settling an order needs an API key")
        expect = _terms(body, b"/orders/") if body is not None else None
        sent = since_ms - self._offset if since_ms is not None else None
        shown = tuple(expect.items()) if expect else ()
        return await self._settle_create(
            self._one, command, client_order_id, reason, b"/orders/", shown, expect, sent
        )

    async def _settle_create(
        self,
        slot: _Slot,
        command: str,
        cid: str,
        reason: str,
        base: bytes,
        shown: Iterable[tuple[str, Any]],
        expect: Mapping[str, Any] | None,
        sent: int | None,
    ) -> Any:
        """The order of ``cid`` if the lookups find it and it is this call's (``expect``'s
        terms, created no earlier than the call was sent at the host's ms ``sent``); else
        :class:`MayHaveExecutedError`."""
        found, seen, other = await self._find_own(slot, base, cid, expect, sent)
        if found is not None:
            log.debug("%s: answer lost (%s); settled by clientOrderId %s", command, reason, cid)
            return found
        why = (
            f"the clientOrderId belongs to another order ({other}), not to this call's"
            if other is not None
            else f"the lookups by clientOrderId saw: {seen}"
        )
        raise MayHaveExecutedError(
            command,
            tuple(shown),
            None,
            key=slot.key,
            reason=f"{reason}; {why}",
            client_order_id=cid,
            seen=seen,
        )

    async def _settle_duplicate(
        self, slot: _Slot, call: Call, dup: DuplicateClientOrderIdError, sent: int
    ) -> Any:
        """A create re-sent after a timestamp refusal was refused as a duplicate
        ``clientOrderId`` (21312): the first attempt may have run after all. The order of
        that id, if it is this call's; the refusal, if it is another order's (neither
        attempt placed anything); else :class:`MayHaveExecutedError`."""
        name = call.endpoint.method
        cid = self._body_cid(call)
        if cid is None:
            raise dup
        base = _CREATES[name]
        expect = _terms(call.body, None if name.startswith("replace") else base)
        found, seen, other = await self._find_own(slot, base, cid, expect, sent)
        if found is not None:
            log.debug("%s: duplicate after a re-send; settled by clientOrderId %s", name, cid)
            return found
        if other is not None:
            raise dup
        raise MayHaveExecutedError(
            name,
            call.shown,
            None,
            key=slot.key,
            reason="re-sent after a timestamp refusal and refused as a duplicate "
            f"clientOrderId; the lookups by clientOrderId saw: {seen}",
            client_order_id=cid,
            seen=seen,
        ) from dup

    async def _find_own(
        self,
        slot: _Slot,
        base: bytes,
        cid: str,
        expect: Mapping[str, Any] | None,
        sent: int | None,
    ) -> tuple[Any, Any, str | None]:
        """:meth:`_look_up` of the order ``base + "cid:" + cid``, checked to be the call's."""
        deadline = asyncio.get_running_loop().time() + SETTLE_WINDOW
        path = base + b"cid:" + cid.encode()
        return await self._look_up(slot, path, deadline, None, self._owner_check(expect, sent))

    def _since(self, sent: int | None) -> int | None:
        """The exchange's ms before which an order cannot be the work of a call sent at the
        host's ms ``sent``: the offset as measured now, less :data:`SETTLE_CLOCK_MARGIN_MS`
        (read when the lookups answer: a lookup refused for its timestamp re-measures)."""
        return None if sent is None else sent + self._offset - SETTLE_CLOCK_MARGIN_MS

    def _owner_check(
        self, expect: Mapping[str, Any] | None, sent: int | None
    ) -> Callable[[Any], str | None]:
        """Why an order a lookup found is not the call's (its terms or its age), or None."""

        def other(order: Any) -> str | None:
            if type(order) is not dict:
                return f"not an order: {str(order)[:100]}"
            oid = order.get("id")
            for name, want in (expect or {}).items():
                got = order.get(name)
                if got is None:
                    continue  # the exchange does not show it: nothing to compare
                if name in _DECIMAL_TERMS:
                    a, b = _decimal(got), _decimal(want)
                    same = a is not None and a == b
                else:
                    same = str(got).upper() == str(want).upper()
                if not same:
                    return f"order {oid}: {name} {got}, the call sent {want}"
            created = order.get("createTime")
            since = self._since(sent)
            if since is not None and type(created) is int and created < since:
                return f"order {oid}: created at {created} ms, before this call was sent"
            return None

        return other

    async def _look_up(
        self,
        slot: _Slot,
        path: bytes,
        deadline: float,
        settled: Callable[[Any], bool] | None,
        other: Callable[[Any], str | None] | None = None,
    ) -> tuple[Any, Any, str | None]:
        """Look ``path`` up until it is found (and ``settled(it)``), the tries run out or
        ``deadline`` passes: ``(order or None, what the last lookup saw, why the order
        found is not the call's or None)``. ``other(found)`` says why a found order is not
        the call's (then the lookups stop: more of them cannot change that). A timestamp
        refusal of a lookup measures the clock again."""
        loop = asyncio.get_running_loop()
        seen: Any = "no lookup answered"
        command = "get_smart_order" if path.startswith(b"/smartorders/") else "get_order"
        for pause in SETTLE_DELAYS:
            if pause:
                await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            left = deadline - loop.time()
            if left <= 0.0:
                break
            try:
                found = await asyncio.wait_for(self._attempt(slot, command, b"GET", path), left)
            except OrderNotFoundError as exc:
                seen = f"not found ({exc.code}: {exc.text})"
                continue
            except TimestampError as exc:
                seen = f"lookup refused for its timestamp ({exc.text})"
                with contextlib.suppress(PoloniexError, asyncio.TimeoutError):
                    await asyncio.wait_for(self._measure_clock(), max(0.0, deadline - loop.time()))
                continue
            except (ExchangeError, TransportError) as exc:
                seen = f"lookup failed: {exc}"
                continue
            except asyncio.TimeoutError:
                seen = "lookup timed out"
                break
            if type(found) is list and len(found) == 1:  # GET /smartorders/{id} is a list
                found = found[0]
            seen = found
            why = other(found) if other is not None else None
            if why is not None:
                return None, found, why
            if settled is None or settled(found):
                return found, found, None
        return None, seen, None

    async def _settle_batch(self, slot: _Slot, call: Call, reason: str, sent: int) -> Any:
        """A lost ``create_orders`` answer: each order looked up by its ``clientOrderId`` and
        checked against its item of the batch."""
        cids = call.client_order_ids
        items = _batch_terms(call.body)
        deadline = asyncio.get_running_loop().time() + SETTLE_WINDOW
        results = await asyncio.gather(
            *(
                self._look_up(
                    slot,
                    b"/orders/cid:" + c.encode(),
                    deadline,
                    None,
                    self._owner_check(items.get(c), sent),
                )
                for c in cids
            )
        )
        if all(f is not None for f, _, _ in results):
            return [f for f, _, _ in results]
        others = {c: o for c, (_, _, o) in zip(cids, results, strict=True) if o is not None}
        why = (
            f"clientOrderIds of other orders: {others}"
            if others
            else "not every order was found by its clientOrderId"
        )
        raise MayHaveExecutedError(
            "create_orders",
            call.shown,
            None,
            key=slot.key,
            reason=f"{reason}; {why}",
            seen={c: s for c, (_, s, _) in zip(cids, results, strict=True)},
        )

    async def _settle_cancel(self, slot: _Slot, call: Call, reason: str, sent: int) -> Any:
        """A lost ``cancel_order`` answer: the order looked up until closed; cancelled since
        the call was sent: the cancel's answer; closed otherwise (filled, or cancelled
        before): the refusal the exchange gave (the cancel did nothing)."""
        deadline = asyncio.get_running_loop().time() + SETTLE_WINDOW
        found, seen, _ = await self._look_up(slot, call.path, deadline, _closed_order)
        if found is not None:
            if _cancelled_since(found, self._since(sent)):
                return _cancel_item(found)
            return _Refused(_not_cancelled(call.endpoint.method, slot.key, found))
        raise MayHaveExecutedError(
            call.endpoint.method,
            call.shown,
            None,
            key=slot.key,
            reason=f"{reason}; the order lookups saw: {seen}",
            client_order_id=call.client_order_id,
            seen=seen,
        )

    async def _settle_cancels(self, slot: _Slot, call: Call, reason: str, sent: int) -> Any:
        """A lost ``cancel_orders`` answer: each order looked up; all closed: the answer
        (an item per order, ``code`` 200 for one cancelled since the call was sent, 21359
        for one closed before)."""
        refs = _cancel_refs(call.body)
        if not refs:
            raise MayHaveExecutedError(
                "cancel_orders",
                call.shown,
                None,
                key=slot.key,
                reason=f"{reason}; its body names no order the lookups could check",
            )
        deadline = asyncio.get_running_loop().time() + SETTLE_WINDOW
        results = await asyncio.gather(
            *(self._look_up(slot, r, deadline, _closed_order) for r in refs)
        )
        if all(f is not None for f, _, _ in results):
            since = self._since(sent)
            return [
                _cancel_item(f) if _cancelled_since(f, since) else _closed_item(f)
                for f, _, _ in results
            ]
        raise MayHaveExecutedError(
            "cancel_orders",
            call.shown,
            None,
            key=slot.key,
            reason=f"{reason}; not every order was seen closed",
            seen={r.decode(): s for r, (_, s, _) in zip(refs, results, strict=True)},
        )

    # -- the exchange's clock -------------------------------------------------------------------

    async def _measure_clock(self) -> None:
        """Measure the offset to the exchange's clock: :data:`CLOCK_SAMPLES` ``GET /timestamp``
        round trips, the shortest kept, offset = serverTime - its midpoint. Concurrent
        callers share one measurement, run as its own task: a caller cancelled while it
        waits leaves it running for the others.

        Raises:
            PoloniexError: no sample could be taken.
        """
        task = self._measuring
        if task is None or task.done():
            task = self._measuring = asyncio.get_running_loop().create_task(self._measure())
            task.add_done_callback(self._measure_done)
        await asyncio.shield(task)

    def _measure_done(self, task: asyncio.Task[None]) -> None:
        if self._measuring is task:
            self._measuring = None
        _retrieve(task)

    async def _measure(self) -> None:
        """One measurement (see :meth:`_measure_clock`)."""
        best: tuple[int, int] | None = None
        failure: PoloniexError | None = None
        for _ in range(CLOCK_SAMPLES):
            t0 = time.time_ns()
            try:
                answer = await self._attempt(self._public, "server_time", b"GET", b"/timestamp")
            except PoloniexError as exc:
                failure = exc
                continue
            t1 = time.time_ns()
            server = answer.get("serverTime") if type(answer) is dict else None
            if type(server) is not int:
                continue
            rtt = t1 - t0
            offset = server - (t0 + t1) // 2_000_000
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        if best is None:
            raise failure or PoloniexArgumentError("GET /timestamp gave no serverTime")
        self._offset = best[1]
        self._measured = True
        log.debug("exchange clock offset %d ms (round trip %d µs)", best[1], best[0] // 1000)

    # -- the kill switch ------------------------------------------------------------------------

    async def _arm_all(self, timeout: int) -> None:
        """Arm (``timeout`` seconds) or disarm (-1) every key's kill switch."""
        body = orjson.dumps({"timeout": str(timeout)})
        await asyncio.gather(
            *(
                self._attempt(slot, "kill_switch", b"POST", b"/orders/killSwitch", b"", 0, body)
                for slot in self._slots
            )
        )

    async def _arm_retimed(self, timeout: int) -> None:
        """:meth:`_arm_all`; refused for its timestamp: the clock measured, sent again once."""
        try:
            await self._arm_all(timeout)
        except TimestampError as exc:
            log.debug("kill switch: timestamp refused (%s); measuring the clock", exc.text)
            await self._measure_clock()
            await self._arm_all(timeout)

    async def _arm_cycle(self, timeout: int, armed: asyncio.Future[None]) -> None:
        """One arming, its outcome also in ``armed``. The first one waits for the clock:
        a host clock off by more than the exchange accepts must not make it fail."""
        try:
            if not self._measured:
                await self._measure_clock()
            await self._arm_retimed(timeout)
        except BaseException as exc:
            if not armed.done():
                if isinstance(exc, asyncio.CancelledError):
                    armed.cancel()
                else:
                    armed.set_exception(exc)
                    armed.exception()  # retrieved: warm_up raises it if it waits
            raise
        if not armed.done():
            armed.set_result(None)

    async def _keep_armed(self, timeout: int) -> None:
        """Arm the kill switch now and re-arm it every ``timeout * REARM_FRACTION`` seconds
        (after a failure, within :data:`REARM_AFTER_FAILURE`; at once when ``_wake`` is set).

        Each arming runs as its own task (:attr:`_arming`): cancelling the keeper (close())
        cuts its sleep, never an arming whose bytes may be on their way.
        """
        loop = asyncio.get_running_loop()
        period = timeout * REARM_FRACTION
        wake = self._wake
        if wake is None:
            wake = self._wake = asyncio.Event()
        while True:
            armed = self._armed
            if armed is None or armed.done():
                armed = self._armed = loop.create_future()
            wake.clear()
            arming = self._arming = loop.create_task(self._arm_cycle(timeout, armed))
            arming.add_done_callback(_retrieve)
            try:
                await asyncio.shield(arming)
            except Exception as exc:  # the keeper outlives any failure
                log.warning("kill switch: arming failed (%s); trying again", exc)
                wait = min(period, REARM_AFTER_FAILURE)
            else:
                wait = period
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)

    async def _armed_now(self) -> None:
        """warm_up(): the current arming's outcome; after a failed one, a fresh try's."""
        armed = self._armed
        if armed is None:
            return
        if armed.done() and (armed.cancelled() or armed.exception() is not None):
            armed = self._armed = asyncio.get_running_loop().create_future()
            if self._wake is not None:
                self._wake.set()  # the keeper arms now, into this future
        await asyncio.shield(armed)

    async def _disarm(self) -> None:
        """close(): wait (up to ``timeout``) for the arming in flight, then disarm every
        key's kill switch: twice when that arming's outcome stays unknown (it may still be
        applied after the first disarm). A failed disarm is tried :data:`DISARM_TRIES`
        times, then logged."""
        unknown = False
        arming = self._arming
        if arming is not None and not arming.done():
            try:
                await asyncio.wait_for(asyncio.shield(arming), self._timeout)
            except asyncio.TimeoutError:
                unknown = True
            except TransportError as exc:
                unknown = exc.sent
            except Exception:  # refused: it armed nothing; the disarm follows
                pass
        for _ in range(2 if unknown else 1):
            await self._disarm_once()

    async def _disarm_once(self) -> None:
        for attempt in range(1, DISARM_TRIES + 1):
            try:
                await self._arm_retimed(-1)
                return
            except PoloniexError as exc:
                more = "; trying again" if attempt < DISARM_TRIES else ""
                log.warning("kill switch: disarming at close failed (%s)%s", exc, more)


class _Refused(NamedTuple):
    """A lost answer settled as a refusal: the exchange did nothing (raised by the caller)."""

    error: ExchangeError


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Done callback: mark a background task's exception retrieved (its waiters raise it)."""
    if not task.cancelled():
        task.exception()


def _decimal(value: Any) -> Decimal | None:
    if type(value) not in (str, int, float) and not isinstance(value, Decimal):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _item_terms(doc: Mapping[str, Any], default_type: str | None) -> dict[str, Any]:
    """The terms of one order as a create sends them (``type`` defaulted as the API does)."""
    terms = {k: doc[k] for k in (*_TEXT_TERMS, *_DECIMAL_TERMS) if doc.get(k) is not None}
    if default_type is not None and "type" not in terms:
        terms["type"] = default_type
    return terms


def _terms(body: bytes | None, base: bytes | None) -> dict[str, Any] | None:
    """The terms of the order a create's (or a replace's: ``base`` None) body sends."""
    if body is None:
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(doc) is not dict:
        return None
    return _item_terms(doc, _DEFAULT_TYPES.get(base) if base is not None else None)


def _batch_terms(body: bytes | None) -> dict[str, dict[str, Any]]:
    """clientOrderId -> the terms of that item of a ``create_orders`` body."""
    try:
        doc = orjson.loads(body) if body is not None else None
    except orjson.JSONDecodeError:
        return {}
    if type(doc) is dict:
        doc = doc.get("orders")
    if type(doc) is not list:
        return {}
    return {
        item["clientOrderId"]: _item_terms(item, "MARKET")
        for item in doc
        if type(item) is dict and type(item.get("clientOrderId")) is str
    }


def _cancel_refs(body: bytes | None) -> list[bytes] | None:
    """The lookup paths of the orders a ``cancel_orders`` body names; None: unreadable."""
    try:
        doc = orjson.loads(body) if body is not None else None
    except orjson.JSONDecodeError:
        return None
    if type(doc) is not dict:
        return None
    ids, cids = doc.get("orderIds") or [], doc.get("clientOrderIds") or []
    if type(ids) is not list or type(cids) is not list:
        return None
    refs: list[bytes] = []
    for i in ids:
        text = str(i) if type(i) in (str, int) else ""
        if not (text.isascii() and text.isdigit()):
            return None
        refs.append(b"/orders/" + text.encode())
    for c in cids:
        if type(c) is not str or not _is_cid(c):
            return None
        refs.append(b"/orders/cid:" + c.encode())
    return refs


def _closed_order(order: Any) -> bool:
    """True for an order a lookup found no longer open (cancelled, filled, ...)."""
    return type(order) is dict and order.get("state") not in _OPEN_STATES


def _cancelled_since(order: dict[str, Any], since: int | None) -> bool:
    """The order was cancelled, not before ``since`` (ms; its ``updateTime``) as far as the
    lookup shows: the lost cancel did it."""
    if order.get("state") not in _CANCELED_STATES:
        return False
    updated = order.get("updateTime")
    return since is None or type(updated) is not int or updated >= since


def _cancel_item(order: dict[str, Any]) -> dict[str, Any]:
    """A cancel answer's item from the order a lookup found cancelled."""
    return {
        "orderId": order.get("id"),
        "clientOrderId": order.get("clientOrderId", ""),
        "state": order.get("state"),
        "code": 200,
        "message": "",
    }


#: the exchange's code for a cancel of an order no longer open
_ALREADY_CLOSED = 21359


def _closed_text(order: dict[str, Any]) -> str:
    return (
        f"the order was already {order.get('state')} when the cancel came: it did nothing "
        "(its answer was lost; settled by looking the order up)"
    )


def _closed_item(order: dict[str, Any]) -> dict[str, Any]:
    """A cancel answer's item for an order a lookup found closed before the cancel."""
    return {
        "orderId": order.get("id"),
        "clientOrderId": order.get("clientOrderId", ""),
        "state": order.get("state"),
        "code": _ALREADY_CLOSED,
        "message": _closed_text(order),
    }


def _not_cancelled(command: str, key: str, order: dict[str, Any]) -> OrderNotFoundError:
    """The refusal of a cancel whose order a lookup found closed before it (``payload``)."""
    return OrderNotFoundError(
        _closed_text(order), command=command, payload=order, key=key, code=_ALREADY_CLOSED
    )
