"""The async client: policy. Key slots, gate, rate limiter, nonce, one retry loop.

::

    async with polo_fast.Client(key, secret) as c:
        await c.warm_up()
        await c.buy("BTC_ETH", Decimal("0.025"), 2, post_only=True)

Every private call takes one path (:meth:`Client._private`): the arguments are checked
against the command table (``polo_fast/commands.py``) before anything is signed; the call
then takes its key's slot (:class:`_KeySlot`: a gate, at most one request of a key in
flight by default, the nonce drawn inside it so nonces reach the exchange in order), and
each attempt (:meth:`Client._attempt`, inlined in ``_private`` for checked commands) frames
and signs the request in one call and hands it to the transport with one call: the key's
starter, which :meth:`Transport.starter <polo_fast.transport.Transport.starter>` gave once
per key (``slot.start(command, data)``: :meth:`Transport.start` for a test transport, the
lane's write, falling back to ``send``, for the network one). The client never touches a
connection, an HTTP parser or a JSON decoder: the transport returns the result or a typed
error. With several keys, a :class:`_KeyPool` (chosen at construction) picks the key of
each call.

Retry policy, in one place (:meth:`Client._retry`):

- a nonce refusal (HTTP 422, nothing executed) is re-signed with a greater nonce and sent
  again, a bounded number of times: the only exchange refusal that is re-sent; a floor no
  nonce can exceed fails that call only;
- a request that never left (connect failure) may go again, up to ``read_retries`` times;
- a read-only command whose answer was lost is retried up to ``read_retries`` times;
- a state-changing command whose bytes may have left and whose answer never came (a cut or
  timed-out connection, an unreadable answer, a redirect, an HTML 5xx/520/524 page) raises
  :class:`~polo_fast.errors.MayHaveExecutedError` and is never re-sent; a Cloudflare
  521-523 page (the origin was never reached) raises
  :class:`~polo_fast.errors.ExchangeUnavailable` and is not re-sent either.

A client belongs to the event loop of its first call and to the process that made it: a
call from another loop, or from a forked child, is refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from polo_fast._api import CommandMethods
from polo_fast._args import PRIVATE_PLANS, PUBLIC_PLANS, Plan, check_key, loose_params
from polo_fast._owners import OrderOwners
from polo_fast._policy import (
    FORKS,
    Admission,
    Gate,
    RateLimiter,
    check_connection_options,
    check_number,
)
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
from polo_fast.nonce import FileNonce, NonceSource
from polo_fast.signing import HoldsSecret, Signer, SigningError, format_value
from polo_fast.transport import (
    DEFAULT_KEEP_WARM,
    DEFAULT_MAX_ANSWER_BYTES,
    Head,
    HttpTransport,
    Request,
    Transport,
    make_ssl_context,
    parse_origin,
)

__all__ = ["Client", "RateLimiter"]

log = logging.getLogger(__name__)

#: How often one call re-signs and resends after nonce refusals before giving up.
NONCE_RETRIES = 16
#: Requests of one key in flight at once in optimistic mode.
OPTIMISTIC_IN_FLIGHT = 8
#: The signer takes nonces below 2**64: a refusal asking for more cannot be met.
NONCE_LIMIT = 2**64 - 1

_DEBUG = logging.DEBUG

#: The gate, the rate limiter, the fork counter and the admission of calls live in
#: :mod:`polo_fast._policy` (shared with the Spot client); the gate's old name stays.
_Gate = Gate


class _KeySlot:
    """One API key: its signer, nonce source, prebuilt head, gate and rate limiter.

    ``frame`` builds the key's whole request (head, ``Sign``, body) from the compiled fields
    of a call and a nonce, in one signing call (C, or the pure fallback: the same bytes).
    """

    __slots__ = ("busy", "frame", "gate", "head", "key", "limiter", "nonce", "signer", "start")

    def __init__(
        self,
        key: str,
        signer: Signer,
        nonce: NonceSource | FileNonce,
        head: Head,
        limiter: RateLimiter | None,
        in_flight: int,
        start: Callable[[str, bytes], Awaitable[Any]],
    ) -> None:
        self.key = key
        #: ``(command, data) -> awaitable``: the transport's start for this key
        #: (``Transport.starter``, asked once)
        self.start = start
        self.signer = signer
        self.nonce = nonce
        self.head = head
        self.limiter = limiter
        self.gate = Gate(in_flight)
        self.busy = 0
        self.frame: Callable[[bytes, int, int], bytes] = signer._fields_request(head.request_head)

    def __repr__(self) -> str:
        return f"<KeySlot {key_prefix(self.key)} busy={self.busy}>"


class _KeyPool:
    """Several keys: each call goes to the least busy key, except a command naming an order
    this client placed, which goes to the key that placed it (:mod:`polo_fast._owners`)."""

    __slots__ = ("next", "owners", "slots")

    def __init__(self, slots: Sequence[_KeySlot]) -> None:
        self.slots = tuple(slots)
        self.next = 0
        self.owners: OrderOwners[_KeySlot] = OrderOwners()

    def choose(self, plan: Plan, values: Sequence[Any]) -> _KeySlot:
        """The key for one call of ``plan``."""
        owner = self.owners.lane_for(plan, values)
        if owner is not None:
            return owner
        slots = self.slots
        start = self.next
        self.next = (start + 1) % len(slots)
        best = slots[start]
        for i in range(1, len(slots)):
            slot = slots[(start + i) % len(slots)]
            if slot.busy < best.busy:
                best = slot
        return best

    def record(self, plan: Plan, values: Sequence[Any], result: Any, slot: _KeySlot) -> None:
        """Remember which key placed the order a successful call created."""
        self.owners.record(plan, values, result, slot)


def _nonces(nonce: object, n: int, scale: int) -> list[NonceSource | FileNonce]:
    """One nonce source per key: given (one, or one per key), else a new one each."""
    if nonce is None:
        return [NonceSource(scale) for _ in range(n)]
    given: list[Any] = list(nonce) if isinstance(nonce, (list, tuple)) else [nonce]
    if not all(isinstance(x, (NonceSource, FileNonce)) for x in given):
        raise PoloniexArgumentError(
            "nonce must be a NonceSource or FileNonce (or a list of them, one per key)"
        )
    if len(given) != n or len({id(x) for x in given}) != n:
        raise PoloniexArgumentError(
            f"nonce: give one nonce source per key ({n}), each its own, not {len(given)}"
        )
    return given


def _slots(
    pairs: list[tuple[str, str | bytes]],
    transport: Transport,
    nonces: list[NonceSource | FileNonce],
    rate_limit: float | None,
    in_flight: int,
) -> list[_KeySlot]:
    """A slot per key; the secrets end in the signers (no frame keeps them on an error)."""
    slots: list[_KeySlot] = []
    try:
        for i, (k, _) in enumerate(pairs):
            try:
                signer = Signer(pairs[i][1])
            except (SigningError, TypeError) as exc:
                raise PoloniexArgumentError(
                    f"secret of key {key_prefix(k)} refused: {exc}"
                ) from None
            head = transport.head({"Key": k}, k)
            limiter = RateLimiter(rate_limit) if rate_limit is not None else None
            slots.append(
                _KeySlot(k, signer, nonces[i], head, limiter, in_flight, transport.starter(head))
            )
    finally:
        pairs.clear()
    return slots


class Client(CommandMethods, HoldsSecret, Admission):
    """The async Poloniex client: ``async with Client(key, secret) as c: ...``.

    Parameters:
        key, secret: one API key and its secret. Omit both for public commands only.
        keys: several ``(key, secret)`` pairs instead: private calls go to the least busy
            key (each key has its own gate, nonce and rate limit), for parallelism.
        url: the exchange (the real one by default; the stand-in's ``ex.url`` in tests).
            HTTPS only; the scheme is read case-insensitively.
        ca_path: a PEM file of extra CA certificates to trust (the stand-in's ``ex.ca_path``).
        ssl_context: a TLS context to use instead (it must verify and refuse TLS < 1.2).
        rate_limit: calls per second per key (6.0 as the exchange asks); None turns it off.
        timeout: seconds for one attempt: connect, TLS handshake and the complete answer.
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
        allow_insecure_http: accept an ``http://`` url (a local test server without TLS):
            keys, signatures and orders then travel in clear text. Off by default.
        max_answer_bytes: the largest answer accepted (4 MiB by default); a larger one, or
            a compressed one, is refused before it is buffered.
        keep_warm: seconds between keep-alive round trips (``GET /cdn-cgi/trace``) on an
            idle lane connection, which is also replaced in the background when it closes,
            so an order after a quiet spell is not a cold one (15.0); None or 0: off.
        nonce: a :class:`~polo_fast.nonce.NonceSource` or
            :class:`~polo_fast.nonce.FileNonce` (shared by processes using one key), or a
            list of them, one per key of ``keys``; default: a new ``NonceSource`` per key.

    Raises:
        PoloniexArgumentError, PoloniexTypeError: bad configuration.
    """

    # Defaults, so that repr() and close() work on a client whose __init__ failed.
    _slots: Sequence[_KeySlot] = ()
    _url = ""
    _transport: Transport | None = None
    _optimistic = False
    _rate_limit: float | None = None
    _closed = True

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
        allow_insecure_http: bool = False,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        keep_warm: float | None = DEFAULT_KEEP_WARM,
        nonce: NonceSource | FileNonce | Sequence[NonceSource | FileNonce] | None = None,
    ) -> None:
        pairs: list[tuple[str, str | bytes]] = []
        try:
            if key is not None or secret is not None:
                if keys is not None:
                    raise PoloniexArgumentError("give key and secret, or keys=[...], not both")
                pairs.append(check_key(key, secret))
            elif keys is not None:
                pairs.extend(check_key(k, s) for k, s in keys)
                if not pairs:
                    raise PoloniexArgumentError("keys=[...] is empty")
        finally:
            del secret, keys  # no frame on the way to an error keeps the secret
        try:
            self._configure(
                pairs,
                url=url,
                ca_path=ca_path,
                ssl_context=ssl_context,
                rate_limit=rate_limit,
                timeout=timeout,
                optimistic=optimistic,
                allow_withdrawals=allow_withdrawals,
                read_retries=read_retries,
                lean=lean,
                proxy=proxy,
                nonce_scale=nonce_scale,
                transport=transport,
                allow_insecure_http=allow_insecure_http,
                max_answer_bytes=max_answer_bytes,
                keep_warm=keep_warm,
                nonce=nonce,
            )
        finally:
            pairs.clear()

    def _configure(
        self,
        pairs: list[tuple[str, str | bytes]],
        *,
        url: str,
        ca_path: str | None,
        ssl_context: ssl.SSLContext | None,
        rate_limit: float | None,
        timeout: float,
        optimistic: bool,
        allow_withdrawals: bool,
        read_retries: int,
        lean: bool,
        proxy: str | None,
        nonce_scale: int,
        transport: Transport | None,
        allow_insecure_http: bool,
        max_answer_bytes: int,
        keep_warm: float | None,
        nonce: NonceSource | FileNonce | Sequence[NonceSource | FileNonce] | None,
    ) -> None:
        if len({k for k, _ in pairs}) != len(pairs):
            raise PoloniexArgumentError("the same API key is listed twice")
        check_connection_options(
            timeout=timeout,
            read_retries=read_retries,
            max_answer_bytes=max_answer_bytes,
            keep_warm=keep_warm,
            allow_insecure_http=allow_insecure_http,
        )
        check_number("rate_limit", rate_limit, allow_none=True)
        nonces = _nonces(nonce, len(pairs), nonce_scale)
        if transport is None:
            origin = parse_origin(url, allow_insecure_http=allow_insecure_http)
            ctx = make_ssl_context(ca_path, ssl_context) if origin.tls else None
            transport = HttpTransport(
                url,
                ctx,
                timeout=timeout,
                lean=lean,
                proxy=proxy,
                allow_insecure_http=allow_insecure_http,
                max_answer_bytes=max_answer_bytes,
                keep_warm=keep_warm,
            )
        self._url = url
        self._optimistic = bool(optimistic)
        self._allow_withdrawals = bool(allow_withdrawals)
        self._read_retries = read_retries
        self._rate_limit = rate_limit
        self._timeout = float(timeout)
        self._transport = transport
        in_flight = OPTIMISTIC_IN_FLIGHT if self._optimistic else 1
        self._slots = _slots(pairs, transport, nonces, rate_limit, in_flight)
        self._one = self._slots[0] if len(self._slots) == 1 else None
        # the key-pool strategy, chosen once: None for one key (or none)
        self._pool = _KeyPool(self._slots) if len(self._slots) > 1 else None
        self._admit()

    # -- lifecycle -----------------------------------------------------------------------

    async def close(self) -> None:
        """Refuse new calls, wait for the calls in flight (up to ``timeout`` seconds), then
        close every connection. A call still in flight then fails with its outcome: a
        state-changing one as may-have-executed. The client cannot be used afterwards."""
        self._closed = True
        await self._drain(self._timeout)
        if self._transport is not None:
            await self._transport.close()
        await self._drain(1.0)  # the calls cut by the close get their errors first

    async def warm_up(self, n: int = 1) -> None:
        """Open and TLS-handshake every key's lane and ``n`` pooled aiohttp connections.

        Call it before the first order, so that order pays no connect or handshake.

        Raises:
            ConnectError: a connection could not be opened.
        """
        self._enter()
        try:
            await self._transport.warm_up(n, tuple(slot.head for slot in self._slots))  # type: ignore[union-attr]
        finally:
            self._leave()

    def __repr__(self) -> str:
        lean = self._transport.lean if self._transport is not None else False
        return (
            f"Client(keys={list(self.key_prefixes)!r}, url={self._url!r}, "
            f"lean={lean}, optimistic={self._optimistic}, "
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
        self._enter()
        try:
            request = Request(name, query=urlencode([(k, format_value(k, v)) for k, v in params]))
            transport: Transport = self._transport  # type: ignore[assignment]
            retries = 0
            while True:
                try:
                    return await transport.start(request)
                except TransportError as exc:
                    if retries >= self._read_retries:
                        raise
                    retries += 1
                    log.debug(
                        "%s: %s; retry %d of %d", name, exc.detail, retries, self._read_retries
                    )
        finally:
            self._leave()

    def _attempt(
        self,
        slot: _KeySlot,
        plan: Plan,
        fields: tuple[bytes, int] | None,
        values: Any,
        nonce: int,
    ) -> Awaitable[Any]:
        """One attempt: frame and sign the request in one call, hand it to the transport.

        Returns what the transport's ``start`` returns (on the fast path, the connection's
        own future): awaiting it gives the result or raises a typed error.
        """
        try:
            if fields is not None:
                data = slot.frame(fields[0], fields[1], nonce)
            else:
                data = slot.signer.encode_sign_request(
                    slot.head.request_head, plan.pairs(values), nonce
                )
        except (SigningError, TypeError) as exc:
            raise PoloniexArgumentError(f"{plan.name}: {exc}") from None
        return slot.start(plan.name, data)

    def _retry(
        self,
        exc: Exception,
        slot: _KeySlot,
        plan: Plan,
        values: Any,
        nonce: int | None,
        tries: list[int] | None,
    ) -> list[int]:
        """The retry policy: return to try again, or raise what the caller must see.

        ``tries``: ``[nonce refusals, other retries]`` so far in this call (None: none);
        returned updated.
        """
        name = plan.name
        if tries is None:
            tries = [0, 0]
        if isinstance(exc, NonceError):
            floor = exc.expected_floor
            if floor is None or tries[0] >= NONCE_RETRIES or not 0 <= floor < NONCE_LIMIT:
                raise exc
            tries[0] += 1
            slot.nonce.bump(floor)
            log.debug(
                "%s key=%s: nonce refused (floor %d), re-signing", name, key_prefix(slot.key), floor
            )
            return tries
        if not isinstance(exc, TransportError):
            raise exc
        if plan.changes_state:
            if exc.sent:
                params = plan.pairs(values)
                raise MayHaveExecutedError(
                    name, params[1:], nonce, key=slot.key, reason=exc.detail
                ) from exc
            if not isinstance(exc, ConnectError):
                raise exc  # refused at the edge (Cloudflare 521-523): not re-sent
        if tries[1] >= self._read_retries:
            raise exc
        tries[1] += 1
        log.debug(
            "%s key=%s: %s; retry %d of %d",
            name,
            key_prefix(slot.key),
            exc.detail,
            tries[1],
            self._read_retries,
        )
        return tries

    async def _private(self, plan: Plan, values: tuple[Any, ...] | list[tuple[str, Any]]) -> Any:
        """Check, sign and send one private call, retrying as :meth:`_retry` says.

        ``values``: one per table parameter, or the ``(name, value)`` pairs of an unchecked
        command (:meth:`Plan.loose`).

        The common case runs straight through without another coroutine or future: the key's
        gate is free, the rate limiter has budget, and the transport returns an idle
        connection's future, which is awaited right here.
        """
        fields = plan.fixed
        if fields is None and plan.check is not None:
            fields = plan.check(values)
        if plan.withdraw and not self._allow_withdrawals:
            raise WithdrawalsDisabledError(
                "withdraw refused: create the client with allow_withdrawals=True to enable it "
                "(the key needs withdrawal permission too)"
            )
        pool = self._pool
        slot = self._one
        if slot is None:
            if pool is None:
                raise PoloniexArgumentError(
                    "private commands need an API key: Client(key, secret) or Client(keys=[...])"
                )
            slot = pool.choose(plan, values)
        # _enter(), inlined: admitted here, or refused before anything is signed
        if (
            self._closed
            or asyncio.get_running_loop() is not self._loop
            or (self._forks != FORKS[0])
        ):
            self._enter()
        else:
            self._calls += 1
        slot.busy += 1
        tries: list[int] | None = None
        try:
            while True:
                nonce = None
                gate = slot.gate
                if gate.free and not gate.waiters:  # uncontended: no future, no coroutine
                    gate.free -= 1
                else:
                    await gate.take()
                try:
                    limiter = slot.limiter
                    if limiter is not None:
                        delay = limiter.reserve()
                        if delay > 0.0:
                            await asyncio.sleep(delay)
                    # Drawn inside the key's gate: nonces leave in the order drawn.
                    nonce = slot.nonce.next()
                    if log.isEnabledFor(_DEBUG):
                        log.debug("%s key=%s nonce=%d", plan.name, key_prefix(slot.key), nonce)
                    if fields is not None:  # _attempt(), inlined for checked commands
                        try:
                            data = slot.frame(fields[0], fields[1], nonce)
                        except (SigningError, TypeError) as exc:
                            raise PoloniexArgumentError(f"{plan.name}: {exc}") from None
                        pending = slot.start(plan.name, data)
                        del data  # the bytes live no longer than the write
                        result = await pending
                    else:
                        result = await self._attempt(slot, plan, fields, values, nonce)
                    break
                except (NonceError, TransportError) as exc:
                    tries = self._retry(exc, slot, plan, values, nonce, tries)
                finally:
                    if gate.waiters:
                        gate.release()
                    else:  # nobody waits: Gate.release inlined
                        gate.free += 1
        finally:
            slot.busy -= 1
            self._calls -= 1  # _leave(), inlined
            if self._drained is not None:
                self._leave_closing()
        if pool is not None:
            pool.record(plan, values, result, slot)
        return result
