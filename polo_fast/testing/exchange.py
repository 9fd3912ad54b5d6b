"""The stand-in exchange: a faithful local Poloniex (legacy HTTP API) for tests and benchmarks.

``async with StandInExchange(keys={"KEY": "SECRET"}) as ex:`` serves, on 127.0.0.1 and a free
port, ``ex.url + "/public"`` (GET), ``ex.url + "/tradingApi"`` (signed POST) and
``ex.url + "/cdn-cgi/trace"``, over HTTPS with a throwaway ``trustme`` CA (``ex.ca_path``) by
default. ``with StandInExchange(...).running() as ex:`` does the same from a background
thread, for blocking code. ``polo-fast exchange`` (:mod:`polo_fast.testing._cli`) runs it
from the command line.

Like a real server it closes a keep-alive connection that stays idle for
``keepalive_timeout`` seconds (60 by default; nginx's default is 75, Cloudflare's idle
timeout towards clients is longer): a client that keeps a connection for its next order
must either use it within that time or expect to reconnect.

It is a judge, so it shares nothing with the client: signatures are checked with the
standard library (``hmac``, constant-time compare, on the raw body bytes), bodies are parsed
with ``urllib.parse`` (strict), and of polo_fast it reads only the command table. A private
request passes, in this order: the key is known (else 403 ``Invalid API key/secret pair.``);
``Sign`` is the HMAC-SHA512 hex of the raw body (else the same 403); the body form-decodes
strictly; the command exists and its parameters are present and well-formed (422); the nonce
is an integer greater than the key's last accepted one (422 ``Nonce must be greater than X.
You provided Y.``; an accepted nonce is used up even if a later check refuses); the key is
within its rate limit (429); ``withdraw`` only for keys granted withdrawals (403 ``Permission
denied.``). Then the command runs and the request is journaled as one JSON line.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from polo_fast.commands import PRIVATE, PUBLIC
from polo_fast.testing._errors import (
    BAD_COMMAND,
    BAD_KEY,
    BAD_NONCE,
    PERMISSION,
    RATE_LIMITED,
    ApiError,
    nonce_error,
)
from polo_fast.testing._faults import EXECUTES
from polo_fast.testing._http import RateLimiter, answer, fault_before, peek_command
from polo_fast.testing._margin import HANDLERS as MARGIN_HANDLERS
from polo_fast.testing._market import Market
from polo_fast.testing._private import HANDLERS as ACCOUNT_HANDLERS
from polo_fast.testing._public import HANDLERS as PUBLIC_HANDLERS
from polo_fast.testing._service import DEFAULT_KEEPALIVE_TIMEOUT, StandInService
from polo_fast.testing._validate import decode, validate

__all__ = ["DEFAULT_KEEPALIVE_TIMEOUT", "StandInExchange"]


HANDLERS = {**ACCOUNT_HANDLERS, **MARGIN_HANDLERS}
assert set(HANDLERS) == set(PRIVATE), set(PRIVATE) ^ set(HANDLERS)
assert set(PUBLIC_HANDLERS) == set(PUBLIC), set(PUBLIC) ^ set(PUBLIC_HANDLERS)

_FORM = "application/x-www-form-urlencoded"
_THROTTLED = {"error": RATE_LIMITED}


class StandInExchange(StandInService):
    """A local Poloniex (legacy API) on loopback: signed private commands, public data, faults.

    Args:
        keys: API key -> secret. The secret's bytes are the HMAC key, as on the exchange.
        tls: serve HTTPS with a throwaway CA (``ca_path``); False serves plain HTTP.
        host, port: where to listen; port 0 picks a free one (``url`` says which).
        rate_limit: private calls per second per key (HTTP 429 above it); None turns it off.
        withdraw_keys: the keys allowed to ``withdraw``.
        colo: the ``colo=`` value of ``/cdn-cgi/trace``.
        journal_path: where accepted requests are appended as JSON lines (a temp file if None).
        balances: every key's starting exchange balances, currency -> amount.
        seed: the seed of the order books and public data (same seed, same market).
        max_open_orders: open orders a key may have per market.
        cancel_all_interval: seconds between two ``cancelAllOrders`` of a key (the exchange
            allows one per 2 minutes).
        keepalive_timeout: seconds a keep-alive connection may stay idle (no request in
            progress) before the stand-in closes it, as a real server does (default 60).

    Raises:
        ValueError: for a port outside 0-65535 or a keep-alive timeout that is not a finite
            number above 0.
    """

    thread_name = "polo-standin"
    fault_commands = frozenset(PRIVATE) | frozenset(PUBLIC)

    def __init__(
        self,
        keys: Mapping[str, str | bytes] | None = None,
        tls: bool = True,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float | None = 6.0,
        withdraw_keys: Iterable[str] = (),
        colo: str = "IAD",
        journal_path: str | os.PathLike[str] | None = None,
        balances: Mapping[str, Decimal | int | str | float] | None = None,
        seed: int = 1,
        max_open_orders: int = 100,
        cancel_all_interval: float = 120.0,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
    ) -> None:
        super().__init__(keys, tls, host, port, colo, journal_path, keepalive_timeout)
        self.rate_limit = rate_limit
        self.withdraw_keys = frozenset(withdraw_keys)
        self.market = Market(seed, balances, max_open_orders, cancel_all_interval)
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self._nonces: dict[str, int] = {}

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/public", self._public)
        app.router.add_post("/tradingApi", self._private)

    def _record(
        self,
        key: str,
        nonce: int,
        command: str,
        params: list[tuple[str, str]],
        result: Any,
        status: int,
    ) -> None:
        self._write_journal(
            {
                "key": key,
                "nonce": nonce,
                "command": command,
                "params": dict(params),
                "status": status,
                "result": result,
            }
        )

    # -- endpoints ---------------------------------------------------------------------------
    async def _private(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        rule = self._faults.take(peek_command(body)) if self._faults else None
        if rule is not None and rule.action not in EXECUTES:
            return fault_before(request, rule, _THROTTLED)
        status, result = self._execute(request, body)
        return await answer(request, status, result, rule)

    def _execute(self, request: web.Request, body: bytes) -> tuple[int, Any]:
        key = request.headers.get("Key", "")
        secret = self._secrets.get(key)
        if secret is None:
            return 403, {"error": BAD_KEY}
        expected = hmac.new(secret, body, hashlib.sha512).hexdigest().encode()
        given = request.headers.get("Sign", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected, given):
            return 403, {"error": BAD_KEY}
        try:
            ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if ctype != _FORM:
                raise ValueError("not a form body")
            pairs = decode(body.decode("utf-8", "strict"))
        except ValueError:
            return 422, {"error": BAD_COMMAND}
        command = None
        nonce_raw: list[str] = []
        params: list[tuple[str, str]] = []
        for name, value in pairs:
            if name == "command":
                if command is not None:
                    return 422, {"error": BAD_COMMAND}
                command = value
            elif name == "nonce":
                nonce_raw.append(value)
            else:
                params.append((name, value))
        cmd = PRIVATE.get(command or "")
        if cmd is None:
            return 422, {"error": BAD_COMMAND}
        try:
            typed = validate(cmd, params, public=False)
            if len(nonce_raw) != 1 or not nonce_raw[0].isdigit() or not nonce_raw[0].isascii():
                raise ApiError(BAD_NONCE)
            nonce = int(nonce_raw[0])
            last = self._nonces.get(key, 0)
            if nonce <= last:
                raise nonce_error(last, nonce)
            self._nonces[key] = nonce
            if self._limiter is not None and not self._limiter.allow(key):
                raise ApiError(RATE_LIMITED, 429)
            if cmd.name == "withdraw" and key not in self.withdraw_keys:
                raise ApiError(PERMISSION, 403)
        except ApiError as exc:
            return exc.status, exc.body()
        try:
            status, result = 200, HANDLERS[cmd.name](self.market, self.market.account(key), typed)
        except ApiError as exc:
            status, result = exc.status, exc.body()
        self._record(key, nonce, cmd.name, params, result, status)
        return status, result

    async def _public(self, request: web.Request) -> web.StreamResponse:
        query = request.rel_url.raw_query_string
        try:
            pairs = decode(query)
        except ValueError:
            pairs = [("command", "")]
        command = next((v for n, v in pairs if n == "command"), None)
        rule = self._faults.take(command) if self._faults else None
        if rule is not None and rule.action not in EXECUTES:
            return fault_before(request, rule, _THROTTLED)
        cmd = PUBLIC.get(command or "")
        if cmd is None or sum(1 for n, _ in pairs if n == "command") != 1:
            status, result = 422, {"error": BAD_COMMAND}
        else:
            try:
                typed = validate(cmd, [(n, v) for n, v in pairs if n != "command"], public=True)
                status, result = 200, PUBLIC_HANDLERS[cmd.name](self.market, typed)
            except ApiError as exc:
                status, result = exc.status, exc.body()
        return await answer(request, status, result, rule)
