"""The clients polo_fast is measured against, each as a careful user would write or use it.

- :class:`RequestsBot`: ``requests.Session`` (keep-alive pool) + ``urllib.parse.urlencode`` +
  ``hmac``/``hashlib`` signing + ``json``: the classic hand-written bot.
- :class:`AiohttpBot`: one ``aiohttp.ClientSession`` with a tuned ``TCPConnector``, the same
  stdlib signing, on the harness's event loop (uvloop when installed).
- :class:`PythonPoloniex`: the ``poloniexapi`` package (python-poloniex), unmodified. Its
  URLs are hard-coded to ``https://poloniex.com``; on the stand-in a requests transport
  adapter mounted on its session sends them to the stand-in's URL instead, and the session
  trusts the stand-in's CA. Its own rate-limit "coach" is off on the stand-in.

Each one's ``warm_up`` is what its user can do without polo_fast: a small public GET on the
same session, which opens (and TLS-handshakes) the pooled connection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from polo_fast.bench.conn import (
    BenchClientError,
    Conn,
    Nonces,
    PoloniexApiCalls,
    SyncConn,
    Target,
    order_number,
)
from polo_fast.bench.probe import make_ssl_context

__all__ = ["AiohttpBot", "PythonPoloniex", "RequestsBot", "aiohttp_session"]

_FORM = "application/x-www-form-urlencoded"


def _checked(out: Any) -> Any:
    if isinstance(out, dict) and "error" in out:
        raise BenchClientError(str(out["error"]))
    return out


class _StdlibForm:
    """What both hand-written bots do the same way: their URLs, the requests they send, and
    each private body form-encoded with ``urlencode`` and signed with ``hmac``/``hashlib``."""

    def __init__(self, target: Target, key: str, secret: str) -> None:
        self._key = key
        self._secret = secret.encode()
        self._nonces = Nonces(target.nonce_scale)
        self.private_url = target.url.rstrip("/") + "/tradingApi"
        self.public_url = target.url.rstrip("/") + "/public"
        #: the warm-up: a small public GET on the same session
        self.warm_params = {"command": "returnOrderBook", "currencyPair": target.pair, "depth": "1"}
        #: the resting post-only buy
        self.buy_params = [
            ("currencyPair", target.pair),
            ("rate", target.rate),
            ("amount", target.amount),
            ("postOnly", "1"),
        ]

    def signed(
        self, command: str, params: list[tuple[str, str]] | None
    ) -> tuple[bytes, dict[str, str]]:
        """The body (with the next nonce) and headers of one private command."""
        data = [("command", command), *(params or ()), ("nonce", str(self._nonces.next()))]
        body = urlencode(data).encode()
        sign = hmac.new(self._secret, body, hashlib.sha512).hexdigest()
        return body, {"Key": self._key, "Sign": sign, "Content-Type": _FORM}


class RequestsBot(SyncConn):
    """requests + stdlib signing: what a careful user writes without polo_fast."""

    name = "requests"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        import requests

        self.target = target
        self._form = _StdlibForm(target, key, secret)
        self.session = requests.Session()
        # Given per request: a REQUESTS_CA_BUNDLE in the environment beats session.verify.
        self._verify: str | bool = target.ca_path or True

    def private(self, command: str, params: list[tuple[str, str]] | None = None) -> Any:
        """Sign and POST one private command; return the parsed JSON (strings kept)."""
        body, headers = self._form.signed(command, params)
        r = self.session.post(
            self._form.private_url, data=body, timeout=10, verify=self._verify, headers=headers
        )
        return _checked(json.loads(r.text, parse_float=str))

    def do_warm_up(self) -> None:
        """A small public GET opens the pooled connection."""
        r = self.session.get(
            self._form.public_url, timeout=10, verify=self._verify, params=self._form.warm_params
        )
        r.raise_for_status()

    def do_balances(self) -> None:
        """``returnBalances``."""
        self.private("returnBalances")

    def do_buy(self, seq: int) -> str:
        """A resting post-only buy."""
        return order_number(self.private("buy", self._form.buy_params))

    def do_cancel(self, ref: str) -> None:
        """``cancelOrder`` by order number."""
        self.private("cancelOrder", [("orderNumber", ref)])

    def do_close(self) -> None:
        """Close the session's pool."""
        self.session.close()


class AiohttpBot(Conn):
    """aiohttp + stdlib signing: one ClientSession, tuned connector, keep-alive."""

    name = "aiohttp"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        self.target = target
        self._form = _StdlibForm(target, key, secret)
        self._session: Any = None

    async def start(self) -> None:
        """Create the session (no connection yet)."""
        self._session = aiohttp_session(self.target.ca_path)

    async def private(self, command: str, params: list[tuple[str, str]] | None = None) -> Any:
        """Sign and POST one private command; return the parsed JSON (strings kept)."""
        body, headers = self._form.signed(command, params)
        async with self._session.post(self._form.private_url, data=body, headers=headers) as r:
            raw = await r.read()
        return _checked(json.loads(raw, parse_float=str))

    async def warm_up(self) -> None:
        """A small public GET opens the pooled connection."""
        async with self._session.get(self._form.public_url, params=self._form.warm_params) as r:
            await r.read()
            r.raise_for_status()

    async def balances(self) -> None:
        """``returnBalances``."""
        await self.private("returnBalances")

    async def buy(self, seq: int) -> str:
        """A resting post-only buy."""
        return order_number(await self.private("buy", self._form.buy_params))

    async def cancel(self, ref: str) -> None:
        """``cancelOrder`` by order number."""
        await self.private("cancelOrder", [("orderNumber", ref)])

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def aiohttp_session(ca_path: str | None) -> Any:
    """The hand-written aiohttp bots' session: a tuned ``TCPConnector`` (no connection
    limit, DNS cache, 60 s keep-alive) trusting ``ca_path``, no cookie jar, 10 s timeout.
    Call it on the running loop."""
    import aiohttp

    connector = aiohttp.TCPConnector(
        ssl=make_ssl_context(ca_path), limit=0, ttl_dns_cache=300, keepalive_timeout=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=10),
    )


_POLONIEX_PREFIX = "https://poloniex.com"


def _redirect_adapter(base_url: str, ca_path: str | None) -> Any:
    """A requests transport adapter that sends ``https://poloniex.com/...`` to ``base_url``.

    It also verifies against ``ca_path``: requests lets a ``REQUESTS_CA_BUNDLE`` environment
    variable override ``session.verify``, so the trust is set where the request is sent.
    """
    from requests.adapters import HTTPAdapter

    base = base_url.rstrip("/")

    class _Redirect(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            url = str(request.url)
            if url.startswith(_POLONIEX_PREFIX):
                request.url = base + url[len(_POLONIEX_PREFIX) :]
            if ca_path:
                kwargs["verify"] = ca_path
            return super().send(request, *args, **kwargs)

    return _Redirect()


class PythonPoloniex(PoloniexApiCalls):
    """The python-poloniex client (``poloniexapi``), unmodified, pointed at the target."""

    name = "python-poloniex"

    def __init__(self, target: Target, key: str, secret: str) -> None:
        import poloniex

        self.target = target
        self.client = poloniex.Poloniex(key, secret, timeout=10, coach=target.real)
        if target.url.rstrip("/") != _POLONIEX_PREFIX:
            self.client.session.mount(
                _POLONIEX_PREFIX, _redirect_adapter(target.url, target.ca_path)
            )
        if target.real:
            # Its own nonce is microseconds; a key that once accepted one refuses every
            # millisecond nonce after. Start it on the shared scale instead.
            self.client._nonce = time.time_ns() // (1_000_000_000 // target.nonce_scale)

    @property
    def last_nonce(self) -> int:
        """The last nonce it used (so a run can wait for the clock to pass it)."""
        return int(self.client._nonce)

    def do_warm_up(self) -> None:
        """A small public call opens the pooled connection."""
        self.client.returnOrderBook(self.target.pair, depth=1)

    def do_close(self) -> None:
        """Close its session."""
        self.client.session.close()

    def _run_n(self, n: int) -> None:
        try:
            super()._run_n(n)
        except Exception as exc:
            raise BenchClientError(
                f"python-poloniex failed in 4 threads, one instance per key ({exc}); note "
                "that its __call__ writes command and nonce into a mutable default args "
                "dict shared by all instances, so concurrent argument-less calls such as "
                "returnBalances can sign one body and send another"
            ) from exc
