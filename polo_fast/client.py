"""The async client: key lanes, nonces, rate limits, one retry policy, a method per command.

::

    async with polo_fast.Client(key, secret) as c:
        await c.warm_up()
        await c.buy("BTC_ETH", Decimal("0.025"), 2, post_only=True)

Every call takes one path (``Client._call``): the arguments are checked against the command
table (``polo_fast/commands.py``) before anything is signed; a private command then takes
its key's lane (a lock: at most one request of a key in flight by default, the nonce drawn
inside it, so nonces reach the exchange in order), is signed in one call and sent by the
transport (the lean lane, or aiohttp).

Retry policy, in one place (:meth:`Client._private`):

- a nonce refusal (HTTP 422, nothing executed) is re-signed with a greater nonce and sent
  again, a bounded number of times: the only exchange refusal that is re-sent;
- a request that never left (connect failure) may go again, up to ``read_retries`` times;
- a read-only command whose answer was lost is retried up to ``read_retries`` times;
- a state-changing command whose bytes may have left and whose answer never came (a cut or
  timed-out connection, an unreadable answer, an HTML 5xx/520/524 page) raises
  :class:`~polo_fast.errors.MayHaveExecutedError` and is never re-sent; a Cloudflare
  521-523 page (the origin was never reached) raises
  :class:`~polo_fast.errors.ExchangeUnavailable` and is not re-sent either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import orjson

from polo_fast._api import CommandMethods
from polo_fast._args import PRIVATE_PLANS, PUBLIC_PLANS, Plan, check_key, loose_params
from polo_fast._lane import Lane, LaneFailure
from polo_fast._owners import OrderOwners
from polo_fast.errors import (
    ConnectError,
    MayHaveExecutedError,
    NonceError,
    PoloniexArgumentError,
    TransportError,
    UnknownCommandError,
    WithdrawalsDisabledError,
    key_prefix,
)
from polo_fast.nonce import NonceSource
from polo_fast.signing import HoldsSecret, Signer, SigningError, format_value
from polo_fast.transport import (
    Head,
    HttpTransport,
    Request,
    Transport,
    decode_answer,
    make_ssl_context,
    translate,
)

__all__ = ["Client", "RateLimiter"]

log = logging.getLogger(__name__)

#: How often one call re-signs and resends after nonce refusals before giving up.
NONCE_RETRIES = 16
#: Requests of one key in flight at once in optimistic mode.
OPTIMISTIC_IN_FLIGHT = 8

#: The rate limiter's window is this much (relative) longer than the nominal one.
WINDOW_MARGIN = 0.03

_DEBUG = logging.DEBUG
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class _Gate:
    """A FIFO gate admitting ``n`` holders at a time (a lock for ``n == 1``).

    A released place goes straight to the longest waiter, so a newcomer never overtakes
    one. ``Client._private`` inlines the uncontended cases (``free and not waiters``: take
    a place; no waiters: give it back) and calls :meth:`take` / :meth:`release` otherwise,
    so an uncontended call costs no coroutine and no future.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, n: int) -> None:
        self.free = n
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        """Wait for a place (in arrival order) and take it."""
        if self.free and not self.waiters:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut  # the releaser hands its place over: ``free`` is not touched
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # the place came, but we are leaving: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(fut)
            raise

    def release(self) -> None:
        """Give the place back: to the first live waiter, else to the pool."""
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class RateLimiter:
    """At most ``rate`` calls in any one-second window (a token bucket refilled per window).

    For ``rate >= 1`` it admits ``floor(rate)`` calls per ``floor(rate) / rate`` seconds,
    so no one-second window ever holds more than ``rate`` calls (a plain token bucket of
    capacity ``rate`` may briefly admit up to twice that); the window is kept a few percent
    longer (:data:`WINDOW_MARGIN`) so late wake-ups and network jitter cannot squeeze calls
    together at the exchange. A call over the budget waits its turn; callers are served in
    arrival order.
    """

    __slots__ = ("_n", "_period", "_times")

    def __init__(self, rate: float) -> None:
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise PoloniexArgumentError(
                f"rate_limit must be a positive number or None, not {rate!r}"
            )
        self._n = max(1, int(rate))
        # A small margin: a late wake-up or network jitter must not squeeze two windows'
        # worth of calls into one second at the exchange.
        self._period = self._n / rate * (1.0 + WINDOW_MARGIN) + 0.005
        self._times: deque[float] = deque(maxlen=self._n)

    async def acquire(self) -> None:
        """Wait until one more call fits in the budget, and count it."""
        delay = self.reserve()
        if delay > 0.0:
            await asyncio.sleep(delay)

    def reserve(self) -> float:
        """Count one more call now; return how long it must wait first (0.0: go now).

        The slot is taken at once, so callers that reserve in order are admitted in order.
        """
        now = asyncio.get_running_loop().time()
        times = self._times
        if len(times) < self._n:
            times.append(now)
            return 0.0
        slot = times[0] + self._period
        if slot <= now:
            times.append(now)
            return 0.0
        times.append(slot)
        return slot - now


def _no_lane(fields: bytes, n: int, nonce: int) -> bytes:
    raise RuntimeError("no lean lane for this key")  # pragma: no cover - never called


class _KeyLane:
    """One API key: its signer, nonce source, prebuilt head, gate, limiter and lean lane."""

    __slots__ = (
        "busy",
        "gate",
        "head",
        "key",
        "lane",
        "limiter",
        "nonce",
        "request",
        "signer",
        "timeout",
    )

    def __init__(
        self,
        key: str,
        signer: Signer,
        nonce: NonceSource,
        head: Head,
        limiter: RateLimiter | None,
        in_flight: int,
    ) -> None:
        self.key = key
        self.signer = signer
        self.nonce = nonce
        self.head = head
        self.limiter = limiter
        self.gate = _Gate(in_flight)
        self.busy = 0
        lane = head.lane
        self.lane: Lane | None = lane
        # (fields, n, nonce) -> the whole request for the lean lane, in one C call
        self.request = signer._fields_request(lane.head) if lane is not None else _no_lane
        self.timeout = lane.timeout if lane is not None else 0.0

    def __repr__(self) -> str:
        return f"<KeyLane {key_prefix(self.key)} busy={self.busy}>"


class Client(CommandMethods, HoldsSecret):
    """The async Poloniex client: ``async with Client(key, secret) as c: ...``.

    Parameters:
        key, secret: one API key and its secret. Omit both for public commands only.
        keys: several ``(key, secret)`` pairs instead: private calls go to the least busy
            key's lane (each key has its own lane, nonce and rate limit), for parallelism.
        url: the exchange (the real one by default; the stand-in's ``ex.url`` in tests).
        ca_path: a PEM file of extra CA certificates to trust (the stand-in's ``ex.ca_path``).
        ssl_context: a TLS context to use instead (it must verify and refuse TLS < 1.2).
        rate_limit: calls per second per key (6.0 as the exchange asks); None turns it off.
        timeout: seconds to connect, and again for each answer.
        optimistic: let several requests of one key fly at once; the exchange may then see
            nonces out of order, and each request it refuses for its nonce is re-signed and
            re-sent (bounded). Default: one request per key in flight, nonces in order.
        allow_withdrawals: ``withdraw`` refuses to run unless this is True.
        read_retries: how often a read-only command is retried after a lost connection,
            timeout, unreadable answer or 5xx (and any command that could not connect).
        lean: send private POSTs on the lean lane (False: always through aiohttp).
        proxy: an HTTP proxy URL; all requests then go through aiohttp.
        nonce_scale: nonce ticks per second (1000 = milliseconds; use the scale the key
            already used: a key that accepted a large nonce refuses smaller ones).
        transport: a :class:`~polo_fast.transport.Transport` to use instead of the network
            one (tests); ``url``, TLS and proxy options are then ignored.

    Raises:
        PoloniexArgumentError, PoloniexTypeError: bad configuration.
    """

    def __init__(
        self,
        key: str | None = None,
        secret: str | bytes | None = None,
        *,
        keys: Sequence[tuple[str, str | bytes]] | None = None,
        url: str = "https://poloniex.com",
        ca_path: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rate_limit: float | None = 6.0,
        timeout: float = 10.0,
        optimistic: bool = False,
        allow_withdrawals: bool = False,
        read_retries: int = 2,
        lean: bool = True,
        proxy: str | None = None,
        nonce_scale: int = 1000,
        transport: Transport | None = None,
    ) -> None:
        pairs: list[tuple[str, str | bytes]] = []
        if key is not None or secret is not None:
            if keys is not None:
                raise PoloniexArgumentError("give key and secret, or keys=[...], not both")
            pairs.append(check_key(key, secret))
        elif keys is not None:
            pairs.extend(check_key(k, s) for k, s in keys)
            if not pairs:
                raise PoloniexArgumentError("keys=[...] is empty")
        if len({k for k, _ in pairs}) != len(pairs):
            raise PoloniexArgumentError("the same API key is listed twice")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise PoloniexArgumentError(f"timeout must be a positive number, not {timeout!r}")
        if type(read_retries) is not int or read_retries < 0:
            raise PoloniexArgumentError(f"read_retries must be an int >= 0, not {read_retries!r}")
        self._url = url
        self._optimistic = bool(optimistic)
        self._allow_withdrawals = bool(allow_withdrawals)
        self._read_retries = read_retries
        self._rate_limit = rate_limit
        if transport is None:
            ctx = make_ssl_context(ca_path, ssl_context) if url.startswith("https:") else None
            transport = HttpTransport(url, ctx, timeout=timeout, lean=lean, proxy=proxy)
        self._transport = transport
        self._lanes: list[_KeyLane] = []
        for k, s in pairs:
            try:
                signer = Signer(s)
            except (SigningError, TypeError) as exc:
                raise PoloniexArgumentError(
                    f"secret of key {key_prefix(k)} refused: {exc}"
                ) from None
            head = transport.head({"Key": k}, k)
            limiter = RateLimiter(rate_limit) if rate_limit is not None else None
            in_flight = OPTIMISTIC_IN_FLIGHT if self._optimistic else 1
            self._lanes.append(
                _KeyLane(k, signer, NonceSource(nonce_scale), head, limiter, in_flight)
            )
        self._one = self._lanes[0] if len(self._lanes) == 1 else None
        self._next = 0
        self._owners: OrderOwners[_KeyLane] = OrderOwners()
        if len(self._lanes) > 1:  # a key pool: orders go back to the key that placed them
            self._private = self._private_pooled  # type: ignore[method-assign,assignment]
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection. The client cannot be used afterwards."""
        self._closed = True
        await self._transport.close()

    async def warm_up(self, n: int = 1) -> None:
        """Open and TLS-handshake every key's lane and ``n`` pooled aiohttp connections.

        Call it before the first order, so that order pays no connect or handshake.

        Raises:
            ConnectError: a connection could not be opened.
        """
        await self._transport.warm_up(n, tuple(lane.head for lane in self._lanes))

    @property
    def key_prefixes(self) -> tuple[str, ...]:
        """The first characters of each key, in pool order."""
        return tuple(key_prefix(lane.key) for lane in self._lanes)

    @property
    def transport(self) -> Transport:
        """The transport in use."""
        return self._transport

    def __repr__(self) -> str:
        return (
            f"Client(keys={list(self.key_prefixes)!r}, url={self._url!r}, "
            f"lean={self._transport.lean}, optimistic={self._optimistic}, "
            f"rate_limit={self._rate_limit!r})"
        )

    # -- escape hatches ---------------------------------------------------------------------

    async def public(self, command: str, /, *, unchecked: bool = False, **params: Any) -> Any:
        """Call a public command by its exchange name with wire parameter names.

        ``await c.public("returnOrderBook", currencyPair="BTC_ETH", depth=10)``. Known
        commands are checked against the table; an unknown name is refused unless
        ``unchecked=True`` (for commands newer than polo_fast).

        Raises:
            UnknownCommandError: not a public command (and not ``unchecked``).
        """
        plan = PUBLIC_PLANS.get(command)
        if plan is not None:
            return await self._call(plan, plan.from_wire(params))
        if command in PRIVATE_PLANS:
            raise UnknownCommandError(f"{command} is a private command: use private()")
        if not unchecked:
            raise UnknownCommandError(
                f"unknown public command {command!r} (pass unchecked=True to send it anyway)"
            )
        return await self._public_call(command, loose_params(command, params))

    async def private(self, command: str, /, *, unchecked: bool = False, **params: Any) -> Any:
        """Call a private command by its exchange name with wire parameter names.

        ``await c.private("buy", currencyPair="BTC_ETH", rate="0.025", amount=2)``. Known
        commands are checked against the table; an unknown name is refused unless
        ``unchecked=True``, and an unchecked command is treated as state-changing (never
        re-sent after an unknown outcome).

        Raises:
            UnknownCommandError: not a private command (and not ``unchecked``).
        """
        plan = PRIVATE_PLANS.get(command)
        if plan is not None:
            return await self._call(plan, plan.from_wire(params))
        if command in PUBLIC_PLANS:
            raise UnknownCommandError(f"{command} is a public command: use public()")
        if not unchecked:
            raise UnknownCommandError(
                f"unknown private command {command!r} (pass unchecked=True to send it anyway)"
            )
        return await self._private(Plan.loose(command), loose_params(command, params))

    # -- the one call path --------------------------------------------------------------------

    async def _call(self, plan: Plan, values: tuple[Any, ...]) -> Any:
        if plan.private:
            return await self._private(plan, values)
        return await self._public_call(plan.name, plan.pairs(values))

    async def _public(self, plan: Plan, values: tuple[Any, ...]) -> Any:
        return await self._public_call(plan.name, plan.pairs(values))

    async def _public_call(self, name: str, params: list[tuple[str, Any]]) -> Any:
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        request = Request(name, query=urlencode([(k, format_value(k, v)) for k, v in params]))
        retries = 0
        while True:
            try:
                return await self._transport.send(request)
            except TransportError as exc:
                if retries >= self._read_retries:
                    raise
                retries += 1
                log.debug("%s: %s; retry %d of %d", name, exc.detail, retries, self._read_retries)

    def _pick(self) -> _KeyLane:
        lanes = self._lanes
        if len(lanes) == 1:
            return lanes[0]
        if not lanes:
            raise PoloniexArgumentError(
                "private commands need an API key: Client(key, secret) or Client(keys=[...])"
            )
        start = self._next
        self._next = (start + 1) % len(lanes)
        best = lanes[start]
        for i in range(1, len(lanes)):
            lane = lanes[(start + i) % len(lanes)]
            if lane.busy < best.busy:
                best = lane
        return best

    async def _private_pooled(
        self, plan: Plan, values: tuple[Any, ...] | list[tuple[str, Any]]
    ) -> Any:
        """:meth:`_private` for a key pool: a command naming an order this client placed goes
        to the key that placed it (:mod:`polo_fast._owners`); new orders are remembered."""
        lane = self._owners.lane_for(plan, values) or self._pick()
        result = await Client._private(self, plan, values, lane)
        self._owners.record(plan, values, result, lane)
        return result

    async def _private(
        self,
        plan: Plan,
        values: tuple[Any, ...] | list[tuple[str, Any]],
        lane: _KeyLane | None = None,
    ) -> Any:
        """Check, sign and send one private call; the retry policy (module docstring).

        ``values``: one per table parameter, or the ``(name, value)`` pairs of an unchecked
        command (:meth:`Plan.loose`).

        The common case runs straight through without another coroutine or future: the key's
        gate is free, the rate limiter has budget and the lean lane has an open connection;
        then the request is built by one C call (``_KeyLane.request``), written, and its
        answer awaited right here. Anything else (a wait, no open connection, a proxy, a
        test transport, an unchecked command) takes the general route: ``encode_and_sign``
        and ``Transport.send``. Both send the same bytes and end in the same errors.
        """
        name = plan.name
        fields = plan.fixed
        if fields is None and plan.check is not None:
            fields = plan.check(values)
        if plan.withdraw and not self._allow_withdrawals:
            raise WithdrawalsDisabledError(
                "withdraw refused: create the client with allow_withdrawals=True to enable it "
                "(the key needs withdrawal permission too)"
            )
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        if lane is None:
            lane = self._one or self._pick()
        lane.busy += 1
        nonce_tries = 0
        retries = 0
        try:
            while True:
                nonce = None
                try:
                    gate = lane.gate
                    if gate.free and not gate.waiters:  # uncontended: no future, no coroutine
                        gate.free -= 1
                    else:
                        await gate.take()
                    try:
                        limiter = lane.limiter
                        if limiter is not None:
                            delay = limiter.reserve()
                            if delay > 0.0:
                                await asyncio.sleep(delay)
                        # Drawn inside the key's gate: nonces leave in the order drawn.
                        nonce = lane.nonce.next()
                        if log.isEnabledFor(_DEBUG):
                            log.debug("%s key=%s nonce=%d", name, key_prefix(lane.key), nonce)
                        lean = lane.lane
                        conn = lean.take() if lean is not None and fields is not None else None
                        if conn is not None:
                            try:
                                data = lane.request(fields[0], fields[1], nonce)  # type: ignore[index]
                            except BaseException as exc:
                                lean.put(conn)  # type: ignore[union-attr]
                                if isinstance(exc, (SigningError, TypeError)):
                                    raise PoloniexArgumentError(f"{name}: {exc}") from exc
                                raise
                            try:
                                status, body = await conn.request(data, lane.timeout)
                            except BaseException as exc:
                                conn.abort()  # its answer may still come: never reuse it
                                if isinstance(exc, LaneFailure):
                                    raise translate(exc, Request(name, lane.head)) from exc
                                raise
                            lean.put(conn)  # type: ignore[union-attr]
                            if status == 200:  # the common answer: decode_answer's checks, inlined
                                try:
                                    result = _loads(body)
                                except _JSONDecodeError:
                                    pass
                                else:
                                    if type(result) is not dict or not (
                                        "error" in result or result.get("success") == 0
                                    ):
                                        return result
                            return decode_answer(status, body, name, lane.key)
                        try:
                            body, sign = lane.signer.encode_and_sign(plan.pairs(values), nonce)
                        except (SigningError, TypeError) as exc:
                            raise PoloniexArgumentError(f"{name}: {exc}") from exc
                        return await self._transport.send(
                            Request(name, lane.head, body=body, sign=sign)
                        )
                    finally:
                        if gate.waiters:
                            gate.release()
                        else:  # nobody waits: _Gate.release inlined
                            gate.free += 1
                except NonceError as exc:
                    if exc.expected_floor is None or nonce_tries >= NONCE_RETRIES:
                        raise
                    nonce_tries += 1
                    lane.nonce.bump(exc.expected_floor)
                    log.debug(
                        "%s key=%s: nonce refused (floor %d), re-signing",
                        name,
                        key_prefix(lane.key),
                        exc.expected_floor,
                    )
                except TransportError as exc:
                    if plan.changes_state:
                        if exc.sent:
                            params = plan.pairs(values)
                            raise MayHaveExecutedError(
                                name, params[1:], nonce, key=lane.key, reason=exc.detail
                            ) from exc
                        if not isinstance(exc, ConnectError):
                            raise  # refused at the edge (Cloudflare 521-523): not re-sent
                    if retries >= self._read_retries:
                        raise
                    retries += 1
                    log.debug(
                        "%s key=%s: %s; retry %d of %d",
                        name,
                        key_prefix(lane.key),
                        exc.detail,
                        retries,
                        self._read_retries,
                    )
        finally:
            lane.busy -= 1
