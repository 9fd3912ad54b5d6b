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

Retry policy, in one place (:meth:`Client._private_call`):

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
import logging
import math
import ssl
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from polo_fast._api import CommandMethods
from polo_fast._args import build_params, check_key, from_wire, loose_params
from polo_fast.commands import PRIVATE, PUBLIC, Command
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
from polo_fast.signing import Signer, SigningError, format_value
from polo_fast.transport import Head, HttpTransport, Request, Transport, make_ssl_context

__all__ = ["Client", "RateLimiter"]

log = logging.getLogger(__name__)

#: How often one call re-signs and resends after nonce refusals before giving up.
NONCE_RETRIES = 16
#: Requests of one key in flight at once in optimistic mode.
OPTIMISTIC_IN_FLIGHT = 8

#: The rate limiter's window is this much (relative) longer than the nominal one.
WINDOW_MARGIN = 0.03



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
        now = asyncio.get_running_loop().time()
        times = self._times
        if len(times) < self._n:
            times.append(now)
            return
        slot = times[0] + self._period
        if slot <= now:
            times.append(now)
            return
        times.append(slot)
        await asyncio.sleep(slot - now)


class _KeyLane:
    """One API key: its signer, nonce source, prebuilt head, lock and limiter."""

    __slots__ = ("busy", "head", "key", "limiter", "lock", "nonce", "sem", "signer")

    def __init__(
        self, key: str, signer: Signer, nonce: NonceSource, head: Head,
        limiter: RateLimiter | None,
    ) -> None:
        self.key = key
        self.signer = signer
        self.nonce = nonce
        self.head = head
        self.limiter = limiter
        self.lock = asyncio.Lock()
        self.sem = asyncio.Semaphore(OPTIMISTIC_IN_FLIGHT)
        self.busy = 0

    def __repr__(self) -> str:
        return f"<KeyLane {key_prefix(self.key)} busy={self.busy}>"


class Client(CommandMethods):
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
            self._lanes.append(_KeyLane(k, signer, NonceSource(nonce_scale), head, limiter))
        self._next = 0
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
        cmd = PUBLIC.get(command)
        if cmd is not None:
            return await self._call(cmd, from_wire(cmd, params))
        if command in PRIVATE:
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
        cmd = PRIVATE.get(command)
        if cmd is not None:
            return await self._call(cmd, from_wire(cmd, params))
        if command in PUBLIC:
            raise UnknownCommandError(f"{command} is a public command: use public()")
        if not unchecked:
            raise UnknownCommandError(
                f"unknown private command {command!r} (pass unchecked=True to send it anyway)"
            )
        return await self._private_call(command, True, loose_params(command, params))

    # -- the one call path --------------------------------------------------------------------

    async def _call(self, command: Command, values: tuple[Any, ...]) -> Any:
        params = build_params(command, values)
        if command.private:
            return await self._private_call(command.name, command.changes_state, params)
        return await self._public_call(command.name, params)

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

    async def _private_call(
        self, name: str, changes_state: bool, params: list[tuple[str, Any]]
    ) -> Any:
        if name == "withdraw" and not self._allow_withdrawals:
            raise WithdrawalsDisabledError(
                "withdraw refused: create the client with allow_withdrawals=True to enable it "
                "(the key needs withdrawal permission too)"
            )
        if self._closed:
            raise PoloniexArgumentError("the client is closed")
        lane = self._pick()
        lane.busy += 1
        optimistic = self._optimistic
        gate = lane.sem if optimistic else lane.lock
        nonce_tries = 0
        retries = 0
        try:
            while True:
                nonce = None
                try:
                    await gate.acquire()
                    try:
                        if lane.limiter is not None:
                            await lane.limiter.acquire()
                        # Drawn inside the lane's lock: nonces leave in the order drawn.
                        nonce = lane.nonce.next()
                        try:
                            body, sign = lane.signer.encode_and_sign(params, nonce)
                        except (SigningError, TypeError) as exc:
                            raise PoloniexArgumentError(f"{name}: {exc}") from exc
                        if log.isEnabledFor(logging.DEBUG):
                            log.debug("%s key=%s nonce=%d", name, key_prefix(lane.key), nonce)
                        return await self._transport.send(
                            Request(name, lane.head, body=body, sign=sign)
                        )
                    finally:
                        gate.release()
                except NonceError as exc:
                    if exc.expected_floor is None or nonce_tries >= NONCE_RETRIES:
                        raise
                    nonce_tries += 1
                    lane.nonce.bump(exc.expected_floor)
                    log.debug("%s key=%s: nonce refused (floor %d), re-signing",
                              name, key_prefix(lane.key), exc.expected_floor)
                except TransportError as exc:
                    if changes_state:
                        if exc.sent:
                            raise MayHaveExecutedError(
                                name, params[1:], nonce, key=lane.key, reason=exc.detail
                            ) from exc
                        if not isinstance(exc, ConnectError):
                            raise  # refused at the edge (Cloudflare 521-523): not re-sent
                    if retries >= self._read_retries:
                        raise
                    retries += 1
                    log.debug("%s key=%s: %s; retry %d of %d", name, key_prefix(lane.key),
                              exc.detail, retries, self._read_retries)
        finally:
            lane.busy -= 1
