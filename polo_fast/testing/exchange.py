"""The stand-in exchange: a faithful local Poloniex (legacy HTTP API) for tests and benchmarks.

``async with StandInExchange(keys={"KEY": "SECRET"}) as ex:`` serves, on 127.0.0.1 and a free
port, ``ex.url + "/public"`` (GET), ``ex.url + "/tradingApi"`` (signed POST) and
``ex.url + "/cdn-cgi/trace"``, over HTTPS with a throwaway ``trustme`` CA (``ex.ca_path``) by
default. ``with StandInExchange(...).running() as ex:`` does the same from a background
thread, for blocking code. ``main(argv)`` is the ``polo-fast exchange`` command.

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

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from aiohttp import web

from polo_fast.commands import PRIVATE, PUBLIC
from polo_fast.testing._background import in_background
from polo_fast.testing._errors import (
    BAD_COMMAND,
    BAD_KEY,
    BAD_NONCE,
    PERMISSION,
    RATE_LIMITED,
    ApiError,
    nonce_error,
)
from polo_fast.testing._faults import ACTIONS, EXECUTES, FaultRule, Faults, html_page
from polo_fast.testing._http import JSON_HEADERS, RateLimiter, drop, peek_command, trickle
from polo_fast.testing._margin import HANDLERS as MARGIN_HANDLERS
from polo_fast.testing._market import Market
from polo_fast.testing._private import HANDLERS as ACCOUNT_HANDLERS
from polo_fast.testing._public import HANDLERS as PUBLIC_HANDLERS
from polo_fast.testing._validate import decode, validate

__all__ = ["StandInExchange", "main"]

log = logging.getLogger(__name__)

HANDLERS = {**ACCOUNT_HANDLERS, **MARGIN_HANDLERS}
assert set(HANDLERS) == set(PRIVATE), set(PRIVATE) ^ set(HANDLERS)
assert set(PUBLIC_HANDLERS) == set(PUBLIC), set(PUBLIC) ^ set(PUBLIC_HANDLERS)

_HTML = {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare"}
_FORM = "application/x-www-form-urlencoded"
_FAULT_STATUS = {
    "http_500": 500,
    "http_502": 502,
    "http_503": 503,
    "cf_520": 520,
    "cf_522": 522,
    "cf_524": 524,
}


class StandInExchange:
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
    """

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
    ) -> None:
        self._secrets: dict[str, bytes] = {
            k: (s.encode() if isinstance(s, str) else bytes(s)) for k, s in (keys or {}).items()
        }
        self.tls = tls
        self.host = host
        self.port = port
        self.rate_limit = rate_limit
        self.withdraw_keys = frozenset(withdraw_keys)
        self.colo = colo
        self.market = Market(seed, balances, max_open_orders, cancel_all_interval)
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self._nonces: dict[str, int] = {}
        self._faults = Faults()
        self._tmp = tempfile.TemporaryDirectory(prefix="polo-standin-")
        self.ca_path: str | None = None
        self._ssl: ssl.SSLContext | None = self._make_tls() if tls else None
        self.journal_path = str(journal_path or Path(self._tmp.name) / "journal.jsonl")
        self._journal: IO[bytes] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def __repr__(self) -> str:
        return f"StandInExchange(url={self.url!r}, keys={len(self._secrets)})"

    # -- TLS ---------------------------------------------------------------------------------
    def _make_tls(self) -> ssl.SSLContext:
        try:
            import trustme
        except ImportError as exc:  # pragma: no cover - trustme is in the test extra
            raise RuntimeError(
                "the stand-in's HTTPS needs trustme: pip install 'polo_fast[test]' "
                "(or pass tls=False)"
            ) from exc

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        cert.configure_cert(ctx)
        path = Path(self._tmp.name) / "ca.pem"
        path.write_bytes(ca.cert_pem.bytes())
        self.ca_path = str(path)
        return ctx

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start listening; sets ``url``."""
        app = web.Application(client_max_size=1 << 20)
        app.router.add_get("/public", self._public)
        app.router.add_post("/tradingApi", self._private)
        app.router.add_get("/cdn-cgi/trace", self._trace)
        self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - closed in stop()
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        server = site._server
        assert server is not None
        sock = server.sockets[0]  # type: ignore[attr-defined]
        self.port = int(sock.getsockname()[1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{'https' if self.tls else 'http'}://{host}:{self.port}"
        log.debug("stand-in exchange listening on %s", self.url)

    async def stop(self) -> None:
        """Close every connection and stop listening (the journal file stays)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    async def __aenter__(self) -> StandInExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[StandInExchange]:
        """Run the exchange in a background thread with its own loop (uvloop if present)."""
        with in_background(self.start, self.stop, "polo-standin"):
            yield self

    # -- faults and journal ------------------------------------------------------------------
    def add_fault(
        self, action: str, *, command: str | None = None, count: int | None = 1, delay: float = 0.0
    ) -> None:
        """Make the next ``count`` requests for ``command`` (None: any) fail with ``action``.

        ``count=None`` keeps the rule until :meth:`clear_faults`. ``delay`` is the seconds of
        ``delay`` and the duration of ``trickle``. Actions are listed in ``_faults.py``.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown fault action {action!r}; one of {sorted(ACTIONS)}")
        if command is not None and command not in PRIVATE and command not in PUBLIC:
            raise ValueError(f"unknown command {command!r}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        self._faults.add(action, command, count, float(delay))

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        self._faults.clear()

    def journal(self) -> list[dict[str, Any]]:
        """Every accepted private request so far, oldest first (read back from the file)."""
        if self._journal is not None:
            self._journal.flush()
        with open(self.journal_path, "rb") as f:
            return [orjson.loads(line) for line in f if line.strip()]

    def _record(
        self,
        key: str,
        nonce: int,
        command: str,
        params: list[tuple[str, str]],
        result: Any,
        status: int,
    ) -> None:
        if self._journal is None:
            return
        line = orjson.dumps(
            {
                "ts": time.time(),
                "key": key,
                "nonce": nonce,
                "command": command,
                "params": dict(params),
                "status": status,
                "result": result,
            }
        )
        self._journal.write(line + b"\n")
        self._journal.flush()

    # -- endpoints ---------------------------------------------------------------------------
    async def _private(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        rule = self._faults.take(peek_command(body)) if self._faults else None
        if rule is not None and rule.action not in EXECUTES:
            return await self._fault_before(request, rule)
        status, result = self._execute(request, body)
        return await self._answer(request, status, result, rule)

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
            return await self._fault_before(request, rule)
        cmd = PUBLIC.get(command or "")
        if cmd is None or sum(1 for n, _ in pairs if n == "command") != 1:
            status, result = 422, {"error": BAD_COMMAND}
        else:
            try:
                typed = validate(cmd, [(n, v) for n, v in pairs if n != "command"], public=True)
                status, result = 200, PUBLIC_HANDLERS[cmd.name](self.market, typed)
            except ApiError as exc:
                status, result = exc.status, exc.body()
        return await self._answer(request, status, result, rule)

    async def _trace(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        sslobj = request.transport.get_extra_info("ssl_object") if request.transport else None
        lines = [
            "fl=37f1",
            f"h={request.host}",
            f"ip={peer[0] if peer else '127.0.0.1'}",
            f"ts={time.time():.3f}",
            f"visit_scheme={'https' if self.tls else 'http'}",
            f"uag={request.headers.get('User-Agent', '')}",
            f"colo={self.colo}",
            "sliver=none",
            f"http=http/{request.version.major}.{request.version.minor}",
            "loc=US",
            f"tls={sslobj.version() if sslobj else 'off'}",
            "sni=plaintext",
            "warp=off",
            "gateway=off",
            "rbi=off",
            "kex=X25519",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    # -- answering, with faults --------------------------------------------------------------
    async def _fault_before(self, request: web.Request, rule: FaultRule) -> web.StreamResponse:
        if rule.action == "close_before":
            drop(request)
            return web.Response()
        if rule.action == "rate_limit":
            return web.Response(
                body=orjson.dumps({"error": RATE_LIMITED}), status=429, headers=JSON_HEADERS
            )
        status = _FAULT_STATUS[rule.action]
        return web.Response(body=html_page(status), status=status, headers=_HTML)

    async def _answer(
        self, request: web.Request, status: int, result: Any, rule: FaultRule | None
    ) -> web.StreamResponse:
        body = orjson.dumps(result)
        if rule is None:
            return web.Response(body=body, status=status, headers=JSON_HEADERS)
        action = rule.action
        if action == "close_after":
            drop(request)
            return web.Response()
        if action == "delay":
            await asyncio.sleep(rule.delay)
        elif action == "cf_524":
            return web.Response(body=html_page(524), status=524, headers=_HTML)
        elif action == "truncate":
            body = body[: max(1, len(body) // 2)]
        elif action == "trickle":
            return await trickle(request, status, body, rule.delay)
        return web.Response(body=body, status=status, headers=JSON_HEADERS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in exchange until Ctrl-C (``polo-fast exchange``). Returns the exit code.

    Options: ``--host``, ``--port``, ``--no-tls``, ``--keys-file`` / ``--key KEY:SECRET``
    (repeatable; without any, one key is generated and printed once), ``--withdraw-key``,
    ``--rate-limit``, ``--colo``, ``--journal``, ``--seed``.
    """
    from polo_fast.testing._cli import run_exchange

    return run_exchange(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
