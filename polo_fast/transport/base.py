"""The transport interface: a :class:`Request` in, a result (or a typed error) out.

A :class:`Transport` has one send method and ``close``; a test transport needs nothing
else. :meth:`Transport.start` is the client's one call per attempt: it returns something to
await, the connection's own future on the lean lane's fast path (no coroutine), else
:meth:`send`'s coroutine; :meth:`Transport.starter` gives it once per key, so the client calls
that one function per attempt.

A signed request reaches the transport already framed (``Request.data``: request line,
headers, ``Sign`` and body, built by one signing call from the key's prebuilt
:attr:`Head.request_head`); the transport only writes it. The aiohttp path, and a test
transport that wants them, read the parts back with :attr:`Request.body` and
:attr:`Request.sign` (:func:`polo_fast.transport.framing.unframe`).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from polo_fast.transport.framing import request_head, unframe

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.transport.lane import Lane

__all__ = ["TRADING_PATH", "USER_AGENT", "Head", "Request", "Transport"]

USER_AGENT = "polo_fast/0.1"
#: The legacy API's path for signed POSTs (below the base URL's path).
TRADING_PATH = "/tradingApi"


class Head:
    """What is prebuilt once per API key: its request head, headers and lean lane.

    Made by :meth:`Transport.head`. ``label`` (the key) is only used for error messages,
    which show its first 8 characters.

    Attributes:
        headers: the key's own headers (``Key``) plus ``Content-Type``.
        label: the key, for messages.
        request_head: the request line and headers of every signed POST of this key, ending
            in ``Content-Length: `` (the signing call appends length, ``Sign`` and body).
        lane: the key's lean lane, or None (lane off, proxy, test transport).
    """

    __slots__ = ("headers", "label", "lane", "request_head")

    def __init__(
        self,
        headers: Mapping[str, str],
        label: str,
        lane: Lane | None,
        request_head: bytes = b"",
    ) -> None:
        self.headers = dict(headers)
        self.label = label
        self.lane = lane
        self.request_head = request_head or request_head_for(headers, "localhost")

    def __repr__(self) -> str:
        return f"<Head lane={self.lane is not None}>"


def request_head_for(headers: Mapping[str, str], host: str, base: str = "") -> bytes:
    """The legacy signed POST's head for one key, ``POST {base}/tradingApi`` to
    ``Content-Length: ``."""
    return request_head(
        "POST",
        f"{base}{TRADING_PATH}",
        host,
        {
            **headers,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


class Request:
    """One request: a public GET (``head is None``) or a signed private POST.

    Attributes:
        command: the command name (for messages and logs).
        head: the key's prebuilt :class:`Head` for a private POST, else None.
        query: the public GET's query string (``command=returnTicker&...``).
        data: the private POST, framed (head, ``Sign``, body); emptied once written, so the
            signature lives no longer than the write.
        body: the private POST's form-encoded body (read from ``data`` unless given).
        sign: its signature (hex), sent as the ``Sign`` header and never logged.
    """

    __slots__ = ("_body", "_sign", "command", "data", "head", "query")

    def __init__(
        self,
        command: str,
        head: Head | None = None,
        query: str = "",
        body: bytes = b"",
        sign: str = "",
        data: bytes = b"",
    ) -> None:
        self.command = command
        self.head = head
        self.query = query
        self.data = data
        self._body = body
        self._sign = sign

    def _parts(self) -> None:
        if self.data and not self._sign:
            _, _, headers, body = unframe(self.data)
            self._body = body
            self._sign = headers.get("Sign", "")

    @property
    def body(self) -> bytes:
        """The form-encoded body of a private POST."""
        self._parts()
        return self._body

    @property
    def sign(self) -> str:
        """The ``Sign`` header of a private POST."""
        self._parts()
        return self._sign

    def __repr__(self) -> str:
        return f"<Request {self.command} {'POST' if self.head is not None else 'GET'}>"


class Transport(abc.ABC):
    """How requests reach the exchange: one send method, and close.

    ``head``, ``warm_up``, ``start`` and ``lean`` have working defaults; a test transport
    needs only :meth:`send` and :meth:`close`.
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

    def start(self, request: Request) -> Awaitable[Any]:
        """Begin sending ``request``; await the returned object for what :meth:`send` gives.

        The client's one call per attempt. The default is :meth:`send`'s coroutine; the
        network transport returns a connection's future when one is ready.
        """
        return self.send(request)

    def starter(self, head: Head) -> Callable[[str, bytes], Awaitable[Any]]:
        """:meth:`start` for one key's signed requests, asked once per key (``head``).

        Returns a function ``(command, data) -> awaitable``: ``data`` is the framed request
        (as ``Request.data``). The client calls it instead of :meth:`start` (its one call per
        attempt). The default builds ``Request(command, head, data=data)`` and calls
        :meth:`start`; the network transport returns the key's lane's starter, which writes
        on an idle connection with no :class:`Request` and falls back to :meth:`send`.
        """
        start = self.start

        def begin(command: str, data: bytes) -> Awaitable[Any]:
            return start(Request(command, head, "", b"", "", data))

        return begin

    def head(self, headers: Mapping[str, str], label: str) -> Head:
        """Prebuild what one API key needs on every private request (``headers``: ``Key``)."""
        return Head(
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
            label,
            None,
            request_head_for(headers, "localhost"),
        )

    async def warm_up(  # noqa: B027
        self, n: int, heads: tuple[Head, ...], *, connections: int = 1
    ) -> None:
        """Open connections before the first request (default: nothing to do).

        ``n`` pooled connections of the general path, ``connections`` per key's lane.
        """

    @property
    def lean(self) -> bool:
        """True when private POSTs may take the lean lane."""
        return False
