"""The transport: answer decoding, the lean lane's HTTP handling, TLS policy, both paths.

A tiny scripted HTTP(S) server on loopback answers each request with the next scripted
answer (raw bytes, or an action), so framing and connection handling are exercised exactly.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import httptools
import pytest
import trustme

from polo_fast import errors as E
from polo_fast.client import Client
from polo_fast.transport import Request, decode, make_ssl_context
from tests.conftest import make_keys

pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")

OK = b'{"BTC": "1.00000000"}'


def _resp(body: bytes, *, status: int = 200, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class Scripted(asyncio.Protocol):
    """Answers each complete request with ``server.script.pop(0)``."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.headers: dict[bytes, bytes] = {}
        self.body = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.server.requests.append((self.headers, self.body))
        self.headers, self.body = {}, b""
        answer = self.server.script.pop(0) if self.server.script else _resp(OK)
        if answer == "drop":  # read the request, close without answering
            self.transport.close()
        elif answer == "hang":
            pass
        elif isinstance(answer, tuple):  # (bytes, then close)
            self.transport.write(answer[0])
            self.transport.close()
        else:
            self.transport.write(answer)


class ScriptedServer:
    def __init__(self, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.script: list[Any] = []
        self.requests: list[tuple[dict[bytes, bytes], bytes]] = []
        self.connections = 0
        self.ssl = ssl_ctx
        self.server: asyncio.AbstractServer | None = None
        self.url = ""

    async def __aenter__(self) -> ScriptedServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Scripted(self), "127.0.0.1", 0, ssl=self.ssl)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.ssl else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


def _client(url: str, *, lean: bool, **kw: Any) -> Client:
    ((key, secret),) = make_keys(1).items()
    kw.setdefault("rate_limit", None)
    kw.setdefault("allow_insecure_http", url.startswith("http:"))  # the plain-HTTP test server
    return Client(key, secret, url=url, lean=lean, **kw)


LEAN = pytest.mark.parametrize("lean", [True, False], ids=["lean", "aiohttp"])


# -- decode ------------------------------------------------------------------------------------

REQ = Request("buy")


def test_decode_json_error_whatever_the_status() -> None:
    for status in (200, 403, 422, 500):
        with pytest.raises(E.ExchangeError) as info:
            decode(status, b'{"error": "Not enough BTC."}', REQ)
        assert type(info.value) is E.InsufficientFundsError and info.value.status == status


def test_decode_html_5xx_and_cloudflare() -> None:
    for status in (500, 502, 503, 520, 524):
        with pytest.raises(E.ExchangeUnavailable) as info:
            decode(status, b"<html>cloudflare</html>", REQ)
        assert info.value.sent is True and info.value.status == status
    for status in (521, 522, 523):  # the origin was never reached
        with pytest.raises(E.ExchangeUnavailable) as info:
            decode(status, b"<html>cloudflare</html>", REQ)
        assert info.value.sent is False


def test_decode_truncated_and_throttle_pages() -> None:
    with pytest.raises(E.InvalidResponse):
        decode(200, b'{"BTC": "1.0', REQ)
    with pytest.raises(E.RateLimitError):
        decode(429, b"<html>slow down</html>", REQ)
    assert decode(200, OK, REQ) == {"BTC": "1.00000000"}


def test_ssl_context_policy(tmp_path: Any) -> None:
    ctx = make_ssl_context()
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    with pytest.raises(E.PoloniexArgumentError):
        make_ssl_context(ssl_context=loose)
    old = ssl.create_default_context()
    old.minimum_version = ssl.TLSVersion.TLSv1
    with pytest.raises(E.PoloniexArgumentError):
        make_ssl_context(ssl_context=old)


# -- the lean lane and aiohttp against scripted answers -------------------------------------


async def _scripted(lean: bool, script: list[Any], calls: Callable[[Client], Any]) -> Any:
    async with ScriptedServer() as srv:
        srv.script[:] = script
        async with _client(srv.url, lean=lean, read_retries=0, timeout=2.0) as c:
            result = await calls(c)
        return srv, result


@LEAN
def test_framing_content_length_chunked_and_close(run: Any, lean: bool) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"BTC\r\n'
        b'10\r\n": "1.00000000"}\r\n0\r\n\r\n'
    )
    eof_body = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + OK,
        "close",
    )
    script = [
        _resp(OK),
        chunked,
        (eof_body[0],),
        _resp(OK, extra="Connection: close\r\n"),
        _resp(OK),
    ]

    async def calls(c: Client) -> list[Any]:
        return [await c.return_balances() for _ in range(5)]

    srv, results = run(_scripted(lean, script, calls))
    assert results == [{"BTC": "1.00000000"}] * 5
    assert len(srv.requests) == 5
    # keep-alive reuse; new connections only after the server closed one (twice)
    assert srv.connections == 3
    headers, body = srv.requests[0]
    assert headers[b"content-type"] == b"application/x-www-form-urlencoded"
    assert len(headers[b"sign"]) == 128 and body.startswith(b"command=returnBalances&nonce=")


@LEAN
def test_idle_close_reconnects_without_resending(run: Any, lean: bool) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = [(_resp(OK),)]  # answer, then close the idle connection
            async with _client(srv.url, lean=lean, read_retries=0) as c:
                assert await c.return_balances() == {"BTC": "1.00000000"}
                await asyncio.sleep(0.05)  # let the close arrive (not a synchronisation)
                assert await c.buy("BTC_ETH", "0.1", 1) == {"BTC": "1.00000000"}
            assert len(srv.requests) == 2 and srv.connections == 2

    run(main())


@LEAN
def test_cut_after_write_is_outcome_unknown(run: Any, lean: bool) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = ["drop", "drop", "drop"]
            async with _client(srv.url, lean=lean, read_retries=1) as c:
                with pytest.raises(E.MayHaveExecutedError) as info:
                    await c.buy("BTC_ETH", "0.1", 1, client_order_id=5)
                assert isinstance(info.value.__cause__, E.TransportError)
                assert info.value.__cause__.sent is True
                assert len(srv.requests) == 1  # never re-sent
                with pytest.raises(E.ConnectionLost):
                    await c.return_balances()  # read-only: retried once, then reported
                assert len(srv.requests) == 3

    run(main())


@LEAN
def test_timeout(run: Any, lean: bool) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = ["hang", "hang"]
            async with _client(srv.url, lean=lean, read_retries=0, timeout=0.2) as c:
                with pytest.raises(E.RequestTimeout):
                    await c.return_balances()
                with pytest.raises(E.MayHaveExecutedError) as info:
                    await c.sell("BTC_ETH", "0.1", 1)
                assert isinstance(info.value.__cause__, E.RequestTimeout)
                assert await c.return_balances() == {"BTC": "1.00000000"}

    run(main())


@LEAN
def test_garbage_http_is_invalid_response(run: Any, lean: bool) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = [b"NOT HTTP AT ALL\r\n\r\n"]
            async with _client(srv.url, lean=lean, read_retries=0) as c:
                with pytest.raises(E.TransportError) as info:
                    await c.return_balances()
                assert info.value.sent is True

    run(main())


def test_connect_refused_is_connect_error(run: Any) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            url = srv.url
        for lean in (True, False):
            async with _client(url, lean=lean, read_retries=1) as c:
                with pytest.raises(E.ConnectError) as info:
                    await c.buy("BTC_ETH", "0.1", 1)  # nothing sent: not "may have executed"
                assert info.value.sent is False

    run(main())


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_ctx(ca: trustme.CA, *, max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    if max_version is not None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = max_version
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


@LEAN
def test_tls_ok_with_ca_path(run: Any, lean: bool, ca: trustme.CA, tmp_path: Any) -> None:
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))

    async def main() -> None:
        async with (
            ScriptedServer(_server_ctx(ca)) as srv,
            _client(srv.url, lean=lean, ca_path=str(pem)) as c,
        ):
            await c.warm_up(1)
            assert await c.return_balances() == {"BTC": "1.00000000"}

    run(main())


@LEAN
def test_unknown_certificate_refused(run: Any, lean: bool, ca: trustme.CA) -> None:
    async def main() -> None:
        async with ScriptedServer(_server_ctx(ca)) as srv:
            async with _client(srv.url, lean=lean, read_retries=0) as c:  # CA not trusted
                with pytest.raises(E.ConnectError):
                    await c.return_balances()
                with pytest.raises(E.ConnectError):
                    await c.warm_up(1)
            assert srv.requests == []

    run(main())


def _tls11_client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


@LEAN
def test_tls_1_1_server_refused(run: Any, lean: bool, ca: trustme.CA, tmp_path: Any) -> None:
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))

    async def main() -> None:
        async with ScriptedServer(_server_ctx(ca, max_version=ssl.TLSVersion.TLSv1_1)) as srv:
            # The server really speaks TLS 1.1 to a client that allows it ...
            try:
                _, w = await asyncio.open_connection(
                    "127.0.0.1", int(srv.url.rsplit(":", 1)[1]), ssl=_tls11_client_ctx(ca)
                )
            except ssl.SSLError:
                pytest.skip("this OpenSSL build cannot speak TLS 1.1 at all")
            assert w.get_extra_info("ssl_object").version() == "TLSv1.1"
            w.close()
            # ... and polo_fast refuses it.
            async with _client(srv.url, lean=lean, ca_path=str(pem), read_retries=0) as c:
                with pytest.raises(E.ConnectError):
                    await c.return_balances()
            assert srv.requests == []

    run(main())


# -- warm-up, proxy, fallback --------------------------------------------------------------


def test_warm_up_lane_round_trip_failure_is_a_connect_error(run: Any) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script = ["drop"]  # the lane's warm-up GET is read, never answered
            async with _client(srv.url, lean=True) as c:
                with pytest.raises(E.ConnectError):
                    await c.warm_up(0)
                assert srv.requests[0][1] == b""  # the GET, not an order
                assert await c.return_balances() == {"BTC": "1.00000000"}  # a new connection
                assert srv.connections == 2

    run(main())


def test_warm_up_opens_lanes_and_pool(run: Any) -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            keys = make_keys(2)
            async with Client(
                keys=list(keys.items()), url=srv.url, rate_limit=None, allow_insecure_http=True
            ) as c:
                await c.warm_up(3)
                assert srv.connections == 2 + 3  # one lane per key + 3 pooled
                # one round trip on every connection, lanes included: a body-less GET
                assert len(srv.requests) == 2 + 3
                assert all(body == b"" for _, body in srv.requests)
                opened = srv.connections
                await asyncio.gather(*(c.return_balances() for _ in range(2)))
                await c.return_ticker()
                assert srv.connections == opened  # the first calls paid no connect
                assert len(srv.requests) == 2 + 3 + 3

    run(main())


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback that counts tunnels."""

    def __init__(self) -> None:
        self.tunnels = 0
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ")[1].decode()
        host, port = target.rsplit(":", 1)
        up_r, up_w = await asyncio.open_connection(host, int(port))
        self.tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
            except OSError:
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    async def __aenter__(self) -> ConnectProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def test_proxy_sends_everything_through_aiohttp(run: Any, ca: trustme.CA, tmp_path: Any) -> None:
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))

    async def main() -> None:
        async with ScriptedServer(_server_ctx(ca)) as srv, ConnectProxy() as proxy:
            srv.script[:] = [_resp(OK), _resp(b'{"error": "Not enough BTC."}', status=422)]
            async with _client(srv.url, lean=True, ca_path=str(pem), proxy=proxy.url) as c:
                assert c.transport.lean is False
                assert await c.return_balances() == {"BTC": "1.00000000"}
                with pytest.raises(E.InsufficientFundsError):
                    await c.buy("BTC_ETH", "0.1", 1)
            assert proxy.tunnels >= 1 and len(srv.requests) == 2

    run(main())


def test_lane_connect_failure_falls_back_to_aiohttp(run: Any, monkeypatch: Any) -> None:
    from polo_fast.transport import lane as _lane

    async def refuse(self: Any) -> Any:
        raise _lane.LaneFailure("connect", False, "cannot connect: refused (test)")

    monkeypatch.setattr(_lane.Lane, "_connect", refuse)

    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = [_resp(OK), _resp(b'{"error": "Permission denied."}', status=403)]
            async with _client(srv.url, lean=True, read_retries=0) as c:
                assert await c.return_balances() == {"BTC": "1.00000000"}
                with pytest.raises(E.AuthenticationError):
                    await c.cancel_order(order_number=1)
            assert len(srv.requests) == 2  # each served once, by aiohttp

    run(main())


def test_lane_replaces_a_connection_idle_too_long(run: Any) -> None:
    """An idle connection past ``max_idle`` is dropped before anything is written on it."""

    async def main() -> None:
        async with ScriptedServer() as srv, _client(srv.url, lean=True, read_retries=0) as c:
            lane = c._slots[0].head.lane
            assert lane is not None
            assert await c.return_balances() == {"BTC": "1.00000000"}
            assert await c.return_balances() == {"BTC": "1.00000000"}
            assert srv.connections == 1  # kept alive and reused
            lane._max_idle = 0.0  # every idle connection is now too old
            assert await c.buy("BTC_ETH", "0.1", 1) == {"BTC": "1.00000000"}
            assert srv.connections == 2 and len(srv.requests) == 3  # replaced, not resent
            assert lane.take() is None  # the one idle connection is too old: dropped
            lane._max_idle = 50.0
            assert await c.return_balances() == {"BTC": "1.00000000"}
            assert srv.connections == 3
            conn = lane.take()
            assert conn is not None and lane.take() is None  # one idle, now taken
            lane.put(conn)

    run(main())


def test_loads_keeps_integers_beyond_64_bits_exact() -> None:
    """orjson turns an integer outside [-2**63, 2**64) into a float; ``loads`` must not."""
    from polo_fast.transport import loads

    edges = [2**64 - 1, 2**64, 2**70 + 1, -(2**63), -(2**63) - 1, -(10**30) - 7, 10**18 + 3]
    body = b'{"n": [%s], "deep": {"x": [%d]}}' % (
        ", ".join(map(str, edges)).encode(),
        -(2**63) - 1,
    )
    data = loads(body)
    assert data["n"] == edges and all(type(v) is int for v in data["n"])
    assert data["deep"]["x"] == [-(2**63) - 1] and type(data["deep"]["x"][0]) is int
    assert loads(b'{"rate": "0.12345678901234567890123"}') == {"rate": "0.12345678901234567890123"}
