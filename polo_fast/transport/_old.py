"""Transports: how a request reaches the exchange and how its answer comes back.

A :class:`Transport` has one send method and ``close``; the client builds requests and owns
policy (keys, nonces, retries), the transport moves bytes and turns answers into results or
errors. :class:`HttpTransport` is the real one:

- aiohttp carries everything general: public commands, connection management, proxies, and
  private requests whenever the lean lane cannot serve. One ``ClientSession`` per client,
  a ``TCPConnector`` with keep-alive pooling and a DNS cache, no cookie jar.
- Signed private POSTs take the lean lane (``polo_fast/_lane.py``): one keep-alive HTTP/1.1
  connection per key, a prebuilt request head, answers parsed with httptools. Without a
  proxy and while the lane can connect, it serves; otherwise aiohttp serves, with the same
  results and the same errors.

Both paths end in :func:`decode` (status + body -> parsed JSON or a typed error), and every
exception of aiohttp, the OS, ``ssl`` or the lane is translated in :func:`translate`, once,
with the original chained as ``__cause__``. TLS is 1.2 or newer with verification always
on (:func:`make_ssl_context`).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiohttp
import orjson
from yarl import URL

from polo_fast._lane import Lane, LaneFailure
from polo_fast.errors import (
    ConnectError,
    ConnectionLost,
    ExchangeUnavailable,
    InvalidResponse,
    PoloniexArgumentError,
    RateLimitError,
    RequestTimeout,
    TransportError,
    error_text,
    from_reply,
)

__all__ = [
    "USER_AGENT",
    "Head",
    "HttpTransport",
    "Request",
    "Transport",
    "decode",
    "decode_answer",
    "make_ssl_context",
    "new_event_loop",
    "translate",
]

log = logging.getLogger(__name__)

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError

USER_AGENT = "polo_fast/0.1"

_CLOUDFLARE = {
    520: "Cloudflare 520: the origin returned an unknown error",
    521: "Cloudflare 521: the origin is down",
    522: "Cloudflare 522: connection to the origin timed out",
    523: "Cloudflare 523: the origin is unreachable",
    524: "Cloudflare 524: the origin did not answer in time",
}
#: Cloudflare could not reach the origin at all: the request never got there.
_EDGE_ONLY = frozenset({521, 522, 523})


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a new event loop: uvloop's when it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def make_ssl_context(
    ca_path: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> ssl.SSLContext:
    """Build the client's TLS context: TLS 1.2 or newer, certificate and host name verified.

    Parameters:
        ca_path: a PEM file of extra CA certificates to trust (e.g. the stand-in exchange's),
            added to the system's.
        ssl_context: use this context instead; it must verify certificates and host names and
            refuse anything older than TLS 1.2.

    Raises:
        PoloniexArgumentError: ``ssl_context`` does not verify, or allows TLS < 1.2.
    """
    if ssl_context is not None:
        if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
            raise PoloniexArgumentError(
                "ssl_context must verify certificates and host names (CERT_REQUIRED, "
                "check_hostname=True); polo_fast never talks to an unverified exchange"
            )
        if ssl_context.minimum_version < ssl.TLSVersion.TLSv1_2:
            raise PoloniexArgumentError("ssl_context must refuse TLS older than 1.2")
        return ssl_context
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_path is not None:
        ctx.load_verify_locations(cafile=ca_path)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Head:
    """What is prebuilt once per API key: the lane and the request headers.

    Made by :meth:`Transport.head`. ``label`` (the key) is only used for error messages,
    which show its first 8 characters.
    """

    __slots__ = ("headers", "label", "lane")

    def __init__(self, headers: Mapping[str, str], label: str, lane: Lane | None) -> None:
        self.headers = dict(headers)
        self.label = label
        self.lane = lane

    def __repr__(self) -> str:
        return f"<Head lane={self.lane is not None}>"


class Request:
    """One request: a public GET (``head is None``) or a signed private POST.

    Attributes:
        command: the command name (for messages and logs).
        head: the key's prebuilt :class:`Head` for a private POST, else None.
        query: the public GET's query string (``command=returnTicker&...``).
        body: the private POST's form-encoded body.
        sign: its signature (hex), sent as the ``Sign`` header and never logged.
    """

    __slots__ = ("body", "command", "head", "query", "sign")

    def __init__(
        self,
        command: str,
        head: Head | None = None,
        *,
        query: str = "",
        body: bytes = b"",
        sign: str = "",
    ) -> None:
        self.command = command
        self.head = head
        self.query = query
        self.body = body
        self.sign = sign

    def __repr__(self) -> str:
        return f"<Request {self.command} {'POST' if self.head is not None else 'GET'}>"


class Transport(abc.ABC):
    """How requests reach the exchange: one send method, and close.

    ``head``, ``warm_up`` and ``lean`` have working defaults; a test transport needs only
    :meth:`send` and :meth:`close`.
    """

    @abc.abstractmethod
    async def send(self, request: Request) -> Any:
        """Send ``request`` and return the parsed JSON answer.

        Raises:
            ExchangeError: the exchange answered ``{"error": ...}`` (typed by its text).
            TransportError: no usable answer; ``.sent`` says whether bytes may have left.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the transport cannot be used afterwards."""

    def head(self, headers: Mapping[str, str], label: str) -> Head:
        """Prebuild what one API key needs on every private request (``headers``: ``Key``)."""
        return Head(headers, label, None)

    async def warm_up(self, n: int, heads: tuple[Head, ...]) -> None:  # noqa: B027
        """Open connections before the first request (default: nothing to do)."""

    @property
    def lean(self) -> bool:
        """True when private POSTs may take the lean lane."""
        return False


def _where(request: Request) -> dict[str, Any]:
    return {"command": request.command, "key": request.head.label if request.head else None}


def translate(exc: BaseException, request: Request) -> TransportError:
    """Turn an aiohttp, OS, ``ssl`` or lane exception into a polo_fast error (cause chained).

    This is the one place where lower-level exceptions are mapped; the most specific match
    wins. Connect-phase failures (nothing sent) become :class:`ConnectError`; anything after
    the request may have been written keeps ``sent=True``.
    """
    where = _where(request)
    err: TransportError
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, LaneFailure):
        if exc.kind == "connect":
            err = ConnectError(str(exc), **where)
        elif exc.kind == "timeout":
            err = RequestTimeout(str(exc), sent=exc.sent, **where)
        elif exc.kind == "http":
            err = InvalidResponse(str(exc), sent=exc.sent, **where)
        else:
            err = ConnectionLost(str(exc), sent=exc.sent, **where)
    elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
        err = ConnectError(f"TLS certificate refused: {exc.certificate_error}", **where)
    elif isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientSSLError)):
        err = ConnectError(f"cannot connect: {exc}", **where)
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        err = ConnectError(f"connect timed out: {exc}", **where)
    elif isinstance(exc, asyncio.TimeoutError):
        err = RequestTimeout("no complete answer within the timeout", sent=True, **where)
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        err = ConnectionLost("server closed the connection before answering", sent=True, **where)
    elif isinstance(exc, aiohttp.ClientPayloadError):
        err = InvalidResponse(f"answer cut short: {exc}", sent=True, **where)
    elif isinstance(exc, aiohttp.ClientResponseError):
        err = InvalidResponse(f"unreadable HTTP answer: {exc.message}", sent=True, **where)
    elif isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        err = ConnectError(f"TLS failure: {exc}", **where)
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
        err = ConnectionLost(f"connection failed: {exc!r}", sent=True, **where)
    else:
        err = TransportError(f"unexpected failure: {exc!r}", sent=True, **where)
    err.__cause__ = exc
    return err


def decode(status: int, body: bytes, request: Request) -> Any:
    """Turn an HTTP answer into the parsed JSON result, or raise the matching error.

    A JSON ``{"error": text}`` (or ``{"success": 0, ...}`` with a text) becomes the typed
    :class:`~polo_fast.errors.ExchangeError` whatever the status; 5xx and Cloudflare 520-524
    HTML pages become :class:`ExchangeUnavailable`; 429/403 HTML pages
    :class:`RateLimitError`; anything else that is not JSON :class:`InvalidResponse`.
    """
    head = request.head
    return decode_answer(status, body, request.command, head.label if head is not None else None)


def decode_answer(status: int, body: bytes, command: str, key: str | None) -> Any:
    """:func:`decode` with the command name and the key (or None) instead of a Request."""
    try:
        data = _loads(body)
    except _JSONDecodeError as exc:
        _not_json(status, body, command, key, exc)
    if type(data) is dict and ("error" in data or data.get("success") == 0):
        text = error_text(data)
        if text is None:
            msg = data.get("message", data.get("response"))
            text = msg if type(msg) is str else None
        if text is not None:
            raise from_reply(command, data, status, key=key)
    if 200 <= status < 300:
        return data
    if status >= 500:
        raise ExchangeUnavailable(
            f"exchange unavailable (HTTP {status})", status=status, command=command, key=key
        )
    raise from_reply(command, f"HTTP {status}: {str(data)[:200]}", status, key=key)


def _not_json(status: int, body: bytes, command: str, key: str | None, exc: Exception) -> NoReturn:
    where: dict[str, Any] = {"command": command, "key": key}
    if status >= 500:
        note = _CLOUDFLARE.get(status, f"HTTP {status}")
        raise ExchangeUnavailable(
            f"exchange unavailable ({note}); answer was not JSON",
            status=status,
            sent=status not in _EDGE_ONLY,
            **where,
        ) from None
    if status in (429, 403):
        raise RateLimitError(
            f"HTTP {status} with a non-JSON page (Cloudflare throttling or ban)",
            command=command,
            status=status,
            key=key,
        ) from None
    err = InvalidResponse(
        f"answer is not valid JSON (HTTP {status}, {len(body)} bytes; truncated?)",
        sent=True,
        status=status,
        **where,
    )
    raise err from exc


class HttpTransport(Transport):
    """The network transport: aiohttp for breadth, the lean lane for signed POSTs.

    Parameters:
        url: the exchange's base URL (``https://poloniex.com``).
        ssl_context: from :func:`make_ssl_context`.
        timeout: seconds for connect, and again for a complete answer.
        lean: use the lean lane for private POSTs (ignored when a proxy is set).
        proxy: an HTTP proxy URL for aiohttp; all requests then go through aiohttp.
        pool_size: aiohttp's connection limit.
    """

    def __init__(
        self,
        url: str,
        ssl_context: ssl.SSLContext | None,
        *,
        timeout: float = 10.0,
        lean: bool = True,
        proxy: str | None = None,
        pool_size: int = 100,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise PoloniexArgumentError(f"url must be https://host[:port], got {url!r}")
        self._tls = parts.scheme == "https"
        self._ssl = ssl_context if self._tls else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        base = parts.path.rstrip("/")
        self._trading_path = f"{base}/tradingApi"
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if default_port else f"{host}:{self._port}"
        origin = f"{parts.scheme}://{self._host_header}"
        self._public_prefix = f"{origin}{base}/public?"
        self._trading_url = URL(f"{origin}{self._trading_path}", encoded=True)
        self._trace_url = URL(f"{origin}/cdn-cgi/trace", encoded=True)
        self._timeout = timeout
        self._proxy = proxy
        self._lean = lean and proxy is None
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._lanes: list[Lane] = []
        self._closed = False

    @property
    def lean(self) -> bool:
        """True when private POSTs take the lean lane (no proxy, ``lean=True``)."""
        return self._lean

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConnectError("the client is closed")
        connector = aiohttp.TCPConnector(
            ssl=self._ssl if self._ssl is not None else False,
            limit=self._pool_size,
            ttl_dns_cache=300,
            keepalive_timeout=60.0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self._timeout, connect=self._timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            auto_decompress=True,
        )
        return self._session

    def head(self, headers: Mapping[str, str], label: str) -> Head:
        """Prebuild a key's request head (and its lean lane unless the lane is off)."""
        for name, value in headers.items():
            if not (name.isascii() and value.isascii() and value.isprintable()) or any(
                c in value for c in "\r\n"
            ):
                raise PoloniexArgumentError(f"header {name} holds characters HTTP cannot carry")
        lane = None
        if self._lean:
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head = (
                f"POST {self._trading_path} HTTP/1.1\r\nHost: {self._host_header}\r\n{lines}"
                f"User-Agent: {USER_AGENT}\r\nAccept: application/json\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
            ).encode("ascii")
            # warm_up() makes one round trip on each lane with this (Cloudflare answers it on
            # every site, the stand-in too), so that the first order carries no handshake tail
            warm = (
                f"GET /cdn-cgi/trace HTTP/1.1\r\nHost: {self._host_header}\r\n"
                f"User-Agent: {USER_AGENT}\r\nAccept: text/plain\r\n\r\n"
            ).encode("ascii")
            lane = Lane(
                self._host, self._port, self._ssl, head, timeout=self._timeout, warm_request=warm
            )
            self._lanes.append(lane)
        merged = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return Head(merged, label, lane)

    async def warm_up(self, n: int, heads: tuple[Head, ...]) -> None:
        """Open and TLS-handshake each key's lane and ``n`` pooled aiohttp connections.

        Every connection makes one round trip, all at once: ``GET /cdn-cgi/trace``
        (Cloudflare answers it on every site; the stand-in too), on the lanes' connections
        as on the ``n`` pooled ones.

        Raises:
            ConnectError: a connection could not be opened.
        """
        jobs: list[Any] = [h.lane.warm() for h in heads if h.lane is not None]
        jobs += [self._trace() for _ in range(max(0, n))]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        req = Request("warm_up")
        for res in results:
            if isinstance(res, BaseException):
                raise translate(res, req)

    async def _trace(self) -> None:
        session = self._session or self._open_session()
        async with session.get(self._trace_url, proxy=self._proxy) as resp:
            await resp.read()

    async def send(self, request: Request) -> Any:
        """Send one request (see :meth:`Transport.send`)."""
        head = request.head
        if head is not None:
            lane = head.lane
            if lane is not None and lane.available():
                try:
                    status, body = await lane.send(request.body, request.sign)
                except LaneFailure as exc:
                    if exc.kind != "connect":
                        raise translate(exc, request) from exc
                    log.debug("%s: lane down, aiohttp serves", request.command)
                else:
                    return decode(status, body, request)
            return await self._post(request, head)
        return await self._get(request)

    async def _post(self, request: Request, head: Head) -> Any:
        session = self._session or self._open_session()
        headers = {**head.headers, "Sign": request.sign}
        try:
            async with session.post(
                self._trading_url, data=request.body, headers=headers, proxy=self._proxy
            ) as resp:
                status = resp.status
                body = await resp.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
            raise translate(exc, request) from exc
        return decode(status, body, request)

    async def _get(self, request: Request) -> Any:
        session = self._session or self._open_session()
        url = URL(self._public_prefix + request.query, encoded=True)
        try:
            async with session.get(url, proxy=self._proxy) as resp:
                status = resp.status
                body = await resp.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
            raise translate(exc, request) from exc
        return decode(status, body, request)

    async def close(self) -> None:
        """Close the lanes and the aiohttp session."""
        self._closed = True
        for lane in self._lanes:
            lane.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def __repr__(self) -> str:
        return (
            f"<HttpTransport {self._host_header} lean={self._lean} "
            f"proxy={'yes' if self._proxy else 'no'}>"
        )
