"""The network transport: the lean lane for signed requests, aiohttp for everything else."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from polo_fast.errors import ConnectError
from polo_fast.transport.aio import AiohttpPath
from polo_fast.transport.answers import Classify, decode_answer, translate
from polo_fast.transport.base import USER_AGENT, Head, Request, Transport, request_head_for
from polo_fast.transport.framing import check_header
from polo_fast.transport.lane import Lane
from polo_fast.transport.tls import Origin, make_ssl_context, parse_origin

__all__ = ["DEFAULT_KEEP_WARM", "DEFAULT_MAX_ANSWER_BYTES", "HttpTransport"]

log = logging.getLogger(__name__)

#: The largest answer accepted by default (the exchange's biggest are well under 1 MiB).
DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Seconds between keep-warm round trips on an idle lane connection, by default.
DEFAULT_KEEP_WARM = 15.0


class HttpTransport(Transport):
    """The network transport: aiohttp for breadth, the lean lane for signed POSTs.

    Parameters:
        url: the exchange's base URL (``https://poloniex.com``); parsed once, HTTPS only
            unless ``allow_insecure_http=True``.
        ssl_context: from :func:`make_ssl_context` (built with defaults when None).
        timeout: seconds for one request: connect, TLS handshake and answer, on whichever
            path (a lane that cannot connect hands the rest of the time to aiohttp).
        lean: use the lean lane for private POSTs (ignored when a proxy is set).
        proxy: an HTTP proxy URL for aiohttp; all requests then go through aiohttp.
        pool_size: aiohttp's connection limit.
        allow_insecure_http: accept an ``http://`` URL (a local test server without TLS).
        max_answer_bytes: the largest answer accepted, on both paths.
        keep_warm: seconds between keep-alive round trips on an idle lane connection, and
            background replacement of a lane connection that closed; None or 0: off.
        classify: the dialect's answer classifier (the legacy API's by default).
    """

    def __init__(
        self,
        url: str,
        ssl_context: ssl.SSLContext | None = None,
        *,
        timeout: float = 10.0,
        lean: bool = True,
        proxy: str | None = None,
        pool_size: int = 100,
        allow_insecure_http: bool = False,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        keep_warm: float | None = None,
        classify: Classify = decode_answer,
    ) -> None:
        self._origin = origin = parse_origin(url, allow_insecure_http=allow_insecure_http)
        if origin.tls and ssl_context is None:
            ssl_context = make_ssl_context()
        self._ssl = ssl_context if origin.tls else None
        self._timeout = timeout
        self._proxy = proxy
        self._lean = lean and proxy is None
        self._max = max_answer_bytes
        self._keep_warm = keep_warm or None
        self._classify = classify
        self._aio = AiohttpPath(
            origin,
            self._ssl,
            timeout=timeout,
            proxy=proxy,
            pool_size=pool_size,
            max_answer_bytes=max_answer_bytes,
            classify=classify,
        )
        # warm_up() and keep_warm make round trips with this (Cloudflare answers it on
        # every site, the stand-in too), so that the first order carries no handshake tail
        self._warm = (
            f"GET /cdn-cgi/trace HTTP/1.1\r\nHost: {origin.host_header}\r\n"
            f"User-Agent: {USER_AGENT}\r\nAccept: text/plain\r\n\r\n"
        ).encode("ascii")
        self._lanes: list[Lane] = []

    @property
    def origin(self) -> Origin:
        """The parsed base URL (``Host`` header, scheme, port)."""
        return self._origin

    @property
    def lean(self) -> bool:
        """True when private POSTs take the lean lane (no proxy, ``lean=True``)."""
        return self._lean

    def head(self, headers: Mapping[str, str], label: str) -> Head:
        """Prebuild a key's request head (and its lean lane unless the lane is off)."""
        for name, value in headers.items():
            check_header(name, value)
        origin = self._origin
        lane = None
        if self._lean:
            lane = Lane(
                origin.host,
                origin.port,
                self._ssl,
                timeout=self._timeout,
                classify=self._classify,
                max_answer_bytes=self._max,
                warm_request=self._warm,
                keep_warm=self._keep_warm,
            )
            self._lanes.append(lane)
        merged = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return Head(merged, label, lane, request_head_for(headers, origin.host_header, origin.base))

    async def warm_up(self, n: int, heads: tuple[Head, ...], *, connections: int = 1) -> None:
        """Open and TLS-handshake ``connections`` on each key's lane (one by default: the
        legacy dialect has one request of a key in flight) and ``n`` pooled aiohttp ones.

        Every connection makes one round trip, all at once: ``GET /cdn-cgi/trace``
        (Cloudflare answers it on every site; the stand-in too), on the lanes' connections
        as on the ``n`` pooled ones.

        Raises:
            ConnectError: a connection could not be opened.
        """
        jobs: list[Any] = [
            h.lane.warm(count=connections) if connections != 1 else h.lane.warm()
            for h in heads
            if h.lane is not None
        ]
        jobs += [self._aio.trace() for _ in range(max(0, n))]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        req = Request("warm_up")
        for res in results:
            if isinstance(res, BaseException):
                raise translate(res, req)

    def start(self, request: Request) -> Awaitable[Any]:
        """The fast path: an idle lane connection's future; else :meth:`send`'s coroutine."""
        head = request.head
        if head is not None:
            lane = head.lane
            if lane is not None:
                fut = lane.start(request)
                if fut is not None:
                    return fut
        return self.send(request)

    def starter(self, head: Head) -> Callable[[str, bytes], Awaitable[Any]]:
        """See :meth:`Transport.starter`: the key's lane's starter, falling back to
        :meth:`send` (no lane: the default, :meth:`start`)."""
        lane = head.lane
        if lane is None:
            return super().starter(head)
        return lane.starter(head, self.send)

    async def send(self, request: Request) -> Any:
        """Send one request (see :meth:`Transport.send`)."""
        head = request.head
        if head is None:
            return await self._aio.fetch(request)
        lane = head.lane
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        if lane is not None and lane.available():
            try:
                return await lane.send(request, deadline)
            except ConnectError as exc:
                log.debug("%s: lane down (%s), aiohttp serves", request.command, exc.detail)
        left = deadline - loop.time()
        if left <= 0.0:
            raise ConnectError("could not connect within the timeout", command=request.command)
        return await self._aio.fetch(request, left)

    async def close(self) -> None:
        """Close the lanes (a request in flight fails) and the aiohttp session."""
        for lane in self._lanes:
            lane.close()
        await self._aio.close()

    def __repr__(self) -> str:
        return (
            f"<HttpTransport {self._origin.host_header} lean={self._lean} "
            f"proxy={'yes' if self._proxy else 'no'}>"
        )
