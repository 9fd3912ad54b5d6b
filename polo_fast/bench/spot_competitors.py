"""The Spot API clients polo_fast is measured against, each as its user would run it.

- :class:`CcxtAsync` / :class:`CcxtSync`: **ccxt 4.5.90** (``ccxt.async_support.poloniex``
  and ``ccxt.poloniex``), unmodified: its ``urls["api"]`` point at the target (the same
  override a user makes for the sandbox), the stand-in's CA is trusted through ccxt's own
  options (``cafile`` for aiohttp; ``verify``/``validateServerSsl`` for requests), nothing
  of its signing is touched; its client-side rate limiter is off (``enableRateLimit``), as
  every client's and the stand-in's are. Its markets are loaded once per stand-in by a throwaway
  instance and handed to every new instance with ccxt's own
  ``set_markets_from_exchange()`` (what a bot that caches markets does), so a fresh client's
  first order pays its connection, not ``load_markets()``. ``timeout_on_exit`` (ccxt async
  sleeps 250 ms in ``close()``) is 0: ``close()`` is never timed and the run is shorter.
- :class:`SpotAiohttpBot`: one ``aiohttp.ClientSession`` (tuned ``TCPConnector``) and the
  stdlib way to sign: ``json.dumps`` + ``hmac.new`` + ``base64`` per request.

Each one's ``warm_up`` is what its user can do without polo_fast: a small public GET
(``GET /timestamp``: ccxt's ``fetch_time()``) on the same session, which opens (and
TLS-handshakes) the pooled connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from polo_fast.bench.competitors import aiohttp_session
from polo_fast.bench.conn import BenchClientError, Conn, SyncConn, Target

__all__ = ["CcxtAsync", "CcxtSync", "SpotAiohttpBot", "ccxt_symbol", "order_id"]

#: Loaded ccxt markets, by stand-in (its CA file, or the URL): a throwaway instance each.
_MARKETS: dict[str, Any] = {}


def ccxt_symbol(symbol: str) -> str:
    """ccxt's unified symbol of a Spot market id: ``BTC_USDT`` -> ``BTC/USDT``."""
    return symbol.replace("_", "/", 1)


def order_id(out: Any) -> str:
    """The ``id`` of a create-order answer, as text; a clear error when there is none."""
    if not isinstance(out, dict) or not out.get("id"):
        raise BenchClientError(f"the order was answered without an id: {str(out)[:200]}")
    return str(out["id"])


def _ccxt_config(target: Target, key: str, secret: str, *, sync: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiKey": key,
        "secret": secret,
        "timeout": 10_000,
        "enableRateLimit": False,  # every client's limiter is off, as the stand-in's
    }
    if target.ca_path:
        if sync:  # ccxt passes verify=(verify and validateServerSsl) to requests
            config["verify"] = target.ca_path
            config["validateServerSsl"] = target.ca_path
        else:
            config["cafile"] = target.ca_path
    if not sync:
        config["timeout_on_exit"] = 0
    return config


def _point(client: Any, target: Target) -> Any:
    base = target.url.rstrip("/")
    client.urls["api"] = {"spot": base, "swap": base}
    return client


def _cache_key(target: Target) -> str:
    return target.ca_path or target.url


class _Ccxt:
    """What both ccxt faces share: one key, the symbol, the order's arguments."""

    def __init__(self, target: Target, key: str, secret: str) -> None:
        self.target = target
        self._key, self._secret = key, secret
        self._symbol = ccxt_symbol(target.symbol)
        self.client: Any = None

    def _config(self, *, sync: bool) -> dict[str, Any]:
        return _ccxt_config(self.target, self._key, self._secret, sync=sync)

    def _new(self, cls: Any, source: Any, *, sync: bool) -> Any:
        """A ``cls`` instance pointed at the target, with ``source``'s loaded markets."""
        client = _point(cls(self._config(sync=sync)), self.target)
        client.set_markets_from_exchange(source)
        return client

    def _buy_args(self) -> tuple[str, str, str, float, float]:
        """``create_order``'s arguments: a limit buy of the target's quantity and price."""
        t = self.target
        return self._symbol, "limit", "buy", float(t.quantity), float(t.price)


class CcxtAsync(_Ccxt, Conn):
    """``ccxt.async_support.poloniex`` (4.5.90), unmodified, on the harness's loop."""

    name = "ccxt"

    async def start(self) -> None:
        """Create the client and hand it the cached markets (no connection opened)."""
        import ccxt.async_support as ccxt_async

        source = _MARKETS.get(_cache_key(self.target))
        if source is None:
            loader = _point(ccxt_async.poloniex(self._config(sync=False)), self.target)
            try:
                await loader.load_markets()
            finally:
                await loader.close()
            _MARKETS[_cache_key(self.target)] = source = loader
        self.client = self._new(ccxt_async.poloniex, source, sync=False)

    async def warm_up(self) -> None:
        """``await fetch_time()``: a small public GET opens the pooled connection."""
        await self.client.fetch_time()

    async def balances(self) -> None:
        """``await fetch_balance()``: ``GET /accounts/balances``."""
        await self.client.fetch_balance()

    async def buy(self, seq: int) -> str:
        """``await create_order(symbol, "limit", "buy", quantity, price)``."""
        return order_id(await self.client.create_order(*self._buy_args()))

    async def cancel(self, ref: str) -> None:
        """``await cancel_order(id, symbol)``: ``DELETE /orders/<id>``."""
        await self.client.cancel_order(ref, self._symbol)

    async def close(self) -> None:
        """``await close()``."""
        client, self.client = self.client, None
        if client is not None:
            await client.close()


class CcxtSync(_Ccxt, SyncConn):
    """``ccxt.poloniex`` (4.5.90), unmodified: blocking, a ``requests.Session``."""

    name = "ccxt-sync"

    async def start(self) -> None:
        """Create the client and hand it the cached markets (no connection opened)."""
        import ccxt

        source = _MARKETS.get(_cache_key(self.target))
        if source is None:
            loader = _point(ccxt.poloniex(self._config(sync=True)), self.target)
            try:
                loader.load_markets()
            finally:
                loader.session.close()
            _MARKETS[_cache_key(self.target)] = source = loader
        self.client = self._new(ccxt.poloniex, source, sync=True)

    def do_warm_up(self) -> None:
        """``fetch_time()``: a small public GET opens the pooled connection."""
        self.client.fetch_time()

    def do_balances(self) -> None:
        """``fetch_balance()``: ``GET /accounts/balances``."""
        self.client.fetch_balance()

    def do_buy(self, seq: int) -> str:
        """``create_order(symbol, "limit", "buy", quantity, price)``."""
        return order_id(self.client.create_order(*self._buy_args()))

    def do_cancel(self, ref: str) -> None:
        """``cancel_order(id, symbol)``: ``DELETE /orders/<id>``."""
        self.client.cancel_order(ref, self._symbol)

    def do_close(self) -> None:
        """Close its session."""
        client, self.client = self.client, None
        if client is not None:
            client.session.close()


class SpotAiohttpBot(Conn):
    """aiohttp + stdlib signing (``json.dumps`` + ``hmac`` + ``base64``): one session."""

    name = "aiohttp"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        self.target = target
        self._key = key
        self._secret = secret.encode()
        self._base = target.url.rstrip("/")
        self._session: Any = None

    async def start(self) -> None:
        """Create the session (no connection yet)."""
        self._session = aiohttp_session(self.target.ca_path)

    def _headers(self, method: str, path: str, body: str | None) -> dict[str, str]:
        ts = str(time.time_ns() // 1_000_000)
        params = f"requestBody={body}&signTimestamp={ts}" if body else f"signTimestamp={ts}"
        message = f"{method}\n{path}\n{params}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        headers = {
            "key": self._key,
            "signTimestamp": ts,
            "signature": base64.b64encode(digest).decode(),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    async def private(self, method: str, path: str, payload: Any = None) -> Any:
        """Sign and send one private request; return the parsed JSON."""
        body = None if payload is None else json.dumps(payload)
        headers = self._headers(method, path, body)
        async with self._session.request(
            method, self._base + path, data=body, headers=headers
        ) as r:
            raw = await r.read()
            status = r.status
        if status != 200:
            raise BenchClientError(f"HTTP {status}: {raw[:200].decode(errors='replace')}")
        return json.loads(raw)

    async def warm_up(self) -> None:
        """A small public GET (``/timestamp``) opens the pooled connection."""
        async with self._session.get(self._base + "/timestamp") as r:
            await r.read()
            r.raise_for_status()

    async def balances(self) -> None:
        """``GET /accounts/balances``."""
        await self.private("GET", "/accounts/balances")

    async def buy(self, seq: int) -> str:
        """``POST /orders``: a resting limit buy."""
        return order_id(await self.private("POST", "/orders", self.target.spot_order()))

    async def cancel(self, ref: str) -> None:
        """``DELETE /orders/<id>``."""
        await self.private("DELETE", f"/orders/{ref}")

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
