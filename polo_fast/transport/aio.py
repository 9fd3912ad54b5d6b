"""The aiohttp path: everything the lean lane does not carry (public GETs, proxies, fallback).

One ``ClientSession`` per client and a ``TCPConnector`` with keep-alive pooling and a DNS
cache, no cookie jar, set up so that aiohttp cannot do what polo_fast must never do:

- no redirect is followed (``allow_redirects=False``): a 3xx reaches the classifier, which
  reports it (a signed request is never sent twice, nor elsewhere);
- no compression: ``Accept-Encoding: identity`` is sent, nothing is inflated, and an
  answer that comes compressed anyway is refused (no gzip bomb);
- an answer larger than ``max_answer_bytes`` is refused before it is buffered;
- a pooled connection that received a byte while nobody asked is closed, never reused
  (:class:`_CleanHandler`), so an unsolicited answer cannot become the next call's result;
- one deadline per request covers pool wait, connect, TLS handshake and answer; the
  connect stage gets most of it, so a handshake that never ends is a connect failure
  (nothing sent), not an unknown outcome.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from polo_fast.errors import ConnectError, InvalidResponse
from polo_fast.transport.answers import Classify, translate
from polo_fast.transport.base import USER_AGENT, Request
from polo_fast.transport.framing import unframe
from polo_fast.transport.tls import Origin

__all__ = ["AiohttpPath"]

#: The share of a request's deadline its connect stage (pool, TCP, TLS) may take.
CONNECT_SHARE = 0.9


class _CleanHandler(ResponseHandler):
    """aiohttp's connection protocol, refusing bytes that no request asked for."""

    _asking = False
    _dirty = False

    def set_response_params(self, **kwargs: Any) -> None:
        self._asking = True
        super().set_response_params(**kwargs)

    def data_received(self, data: bytes) -> None:
        if data and not self._asking:
            self._dirty = True  # the server is out of step: never reuse this connection
            if self.transport is not None:
                self.transport.close()
            return
        super().data_received(data)

    def is_connected(self) -> bool:
        return not self._dirty and super().is_connected()

    def leftover(self) -> bool:
        """True if bytes beyond the answer arrived (a second answer begun): never reuse."""
        if self._tail or self._buffer:
            return True
        parser = self._parser
        if parser is None:
            return False
        try:
            return parser.feed_eof() is not None  # a message begun after the answer
        except Exception:
            return True


class _Connector(aiohttp.TCPConnector):
    """A ``TCPConnector`` whose connections are :class:`_CleanHandler` protocols."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._factory = functools.partial(_CleanHandler, loop=self._loop)  # type: ignore[assignment]

    def _release(self, key: Any, protocol: ResponseHandler, *, should_close: bool = False) -> None:
        if isinstance(protocol, _CleanHandler):
            protocol._asking = False  # back in the pool: from now on, any byte is unsolicited
            if not should_close and protocol.leftover():
                protocol._dirty = True
                should_close = True
        super()._release(key, protocol, should_close=should_close)


_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError)


class AiohttpPath:
    """aiohttp, configured for polo_fast (see the module docstring).

    Parameters:
        origin: where to connect.
        ssl_context: the TLS context (None for plain HTTP).
        timeout: seconds for one request, connect included.
        proxy: an HTTP proxy URL, or None.
        pool_size: the connection limit.
        max_answer_bytes: the largest answer body accepted.
        classify: the dialect's answer classifier.
    """

    def __init__(
        self,
        origin: Origin,
        ssl_context: ssl.SSLContext | None,
        *,
        timeout: float,
        proxy: str | None,
        pool_size: int,
        max_answer_bytes: int,
        classify: Classify,
    ) -> None:
        self._origin = origin
        self._ssl = ssl_context
        self._timeout = timeout
        self._proxy = proxy
        self._pool_size = pool_size
        self._max = max_answer_bytes
        self._classify = classify
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.trace_url = URL(f"{origin.origin}/cdn-cgi/trace", encoded=True)

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConnectError("the client is closed")
        connector = _Connector(
            ssl=self._ssl if self._ssl is not None else False,
            limit=self._pool_size,
            ttl_dns_cache=300,
            keepalive_timeout=30.0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "identity",
            },
            auto_decompress=False,
        )
        return self._session

    def _timeouts(self, timeout: float | None) -> aiohttp.ClientTimeout:
        total = self._timeout if timeout is None else max(timeout, 0.001)
        return aiohttp.ClientTimeout(total=total, connect=total * CONNECT_SHARE)

    async def fetch(self, request: Request, timeout: float | None = None) -> Any:
        """Send ``request`` (a framed POST in ``data``, or a public GET) and classify its answer.

        Raises:
            PoloniexError: the classifier's errors, or a translated TransportError.
        """
        session = self._session or self._open()
        head = request.head
        if head is not None:
            method, target, headers, body = unframe(request.data)
            request.data = b""  # the signature lives no longer than the write
            url = URL(self._origin.origin + target, encoded=True)
            label: str | None = head.label
        else:
            method, headers, body, label = "GET", {}, b"", None
            url = URL(
                f"{self._origin.origin}{self._origin.base}/public?{request.query}", encoded=True
            )
        try:
            async with session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                proxy=self._proxy,
                allow_redirects=False,
                timeout=self._timeouts(timeout),
            ) as resp:
                status = resp.status
                answer = await self._read(resp, request)
        except _ERRORS as exc:
            raise translate(exc, request) from exc
        finally:
            body = b""
            headers = {}
        return self._classify(status, answer, request.command, label)

    async def _read(self, resp: aiohttp.ClientResponse, request: Request) -> bytes:
        """The answer's body, refused when compressed or larger than ``max_answer_bytes``."""
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise self._refuse(request, resp.status, f"a {encoding}-compressed answer")
        length = resp.content_length
        if length is not None:
            if length > self._max:
                raise self._refuse(request, resp.status, f"an answer of {length} bytes")
            return await resp.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > self._max:
                raise self._refuse(request, resp.status, f"an answer over {self._max} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _refuse(self, request: Request, status: int, what: str) -> InvalidResponse:
        head = request.head
        return InvalidResponse(
            f"{what} refused (max_answer_bytes={self._max}, no compression)",
            sent=True,
            status=status,
            command=request.command,
            key=head.label if head is not None else None,
        )

    async def trace(self) -> None:
        """One round trip (``GET /cdn-cgi/trace``) on a pooled connection."""
        session = self._session or self._open()
        async with session.get(
            self.trace_url, proxy=self._proxy, allow_redirects=False, timeout=self._timeouts(None)
        ) as resp:
            await self._read(resp, Request("warm_up"))

    async def close(self) -> None:
        """Close the session and its connections."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
