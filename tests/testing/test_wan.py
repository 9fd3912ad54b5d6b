"""The WAN emulator: adds its RTT, keeps byte order, carries many connections, closes cleanly."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from polo_fast.testing import PROFILES, StandInExchange, WanProxy
from tests.testing.conftest import Run, cli


async def _echo_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | None = None,
) -> asyncio.AbstractServer:
    async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
        w.write_eof()  # half-close back, after everything
        await w.drain()
        w.close()

    return await asyncio.start_server(handler or echo, "127.0.0.1", 0)


def _port(server: asyncio.AbstractServer) -> int:
    sockets = server.sockets  # type: ignore[attr-defined]
    return int(sockets[0].getsockname()[1])


def test_profiles_and_arguments() -> None:
    assert set(PROFILES) >= {"iad", "nyc", "chicago", "frankfurt", "tokyo"}
    assert (
        PROFILES["iad"]
        < PROFILES["nyc"]
        < PROFILES["chicago"]
        < PROFILES["frankfurt"]
        < PROFILES["tokyo"]
    )
    assert WanProxy("127.0.0.1", 1, profile="tokyo").rtt_ms == PROFILES["tokyo"]
    for bad in ({}, {"profile": "mars"}, {"rtt_ms": -1.0}, {"rtt_ms": 5.0, "profile": "iad"}):
        with pytest.raises(ValueError):
            WanProxy("127.0.0.1", 1, **bad)


def test_dub_profile_and_non_finite_or_out_of_range_values_are_refused() -> None:
    # Dublin (the exchange's later advice) sits between Chicago and Frankfurt
    assert PROFILES["chicago"] < PROFILES["dub"] < PROFILES["frankfurt"]
    assert list(PROFILES.values()) == sorted(PROFILES.values())  # the table is in RTT order
    nan, inf = float("nan"), float("inf")
    bad: list[dict[str, Any]] = [
        {"rtt_ms": nan},
        {"rtt_ms": inf},
        {"rtt_ms": 1.0, "jitter_ms": nan},
        {"rtt_ms": 1.0, "jitter_ms": inf},
        {"rtt_ms": 1.0, "port": 65536},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            WanProxy("127.0.0.1", 1, **kwargs)
    with pytest.raises(ValueError, match="target_port"):
        WanProxy("127.0.0.1", 99999, rtt_ms=1.0)


def test_adds_its_rtt_each_round_trip(run: Run) -> None:
    rtt = 0.08

    async def body() -> None:
        server = await _echo_server()
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=rtt * 1000) as p:
            t0 = time.monotonic()
            r, w = await asyncio.open_connection(p.host, p.port)
            w.write(b"ping")
            assert await r.readexactly(4) == b"ping"
            first = time.monotonic() - t0
            assert first >= 0.9 * 2 * rtt  # the modelled handshake, then the data's round trip
            for _ in range(3):
                t0 = time.monotonic()
                w.write(b"ping")
                assert await r.readexactly(4) == b"ping"
                elapsed = time.monotonic() - t0
                assert 0.9 * rtt <= elapsed < rtt + 2.0
            w.close()

    run(body())


def test_jitter_keeps_order_and_adds_at_most_its_width(run: Run) -> None:
    async def body() -> None:
        server = await _echo_server()
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=10, jitter_ms=20) as p:
            r, w = await asyncio.open_connection(p.host, p.port)
            sent = b"".join(i.to_bytes(4, "big") for i in range(2000))
            for i in range(0, len(sent), 100):
                w.write(sent[i : i + 100])
                await asyncio.sleep(0)
            w.write_eof()
            assert await r.read() == sent  # EOF arrives after all the data, in order
            w.close()

    run(body())


def test_carries_100_concurrent_connections_intact(run: Run) -> None:
    async def body() -> None:
        server = await _echo_server()
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=20) as p:

            async def one(i: int) -> None:
                payload = hashlib.sha512(str(i).encode()).digest() * 1024 + os.urandom(i)
                r, w = await asyncio.open_connection(p.host, p.port)
                w.write(payload)
                w.write_eof()
                assert await r.read() == payload
                w.close()
                await w.wait_closed()

            await asyncio.gather(*(one(i) for i in range(100)))
            for _ in range(200):  # links finish closing as the last FIN is forwarded
                if p.connections == 0:
                    break
                await asyncio.sleep(0.01)
            assert p.connections == 0

    run(body())


def test_half_close_and_reset_propagate(run: Run) -> None:
    async def body() -> None:
        seen: list[bytes] = []
        eof = asyncio.Event()

        async def half(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            seen.append(await r.read())  # until the client's EOF
            eof.set()
            w.write(b"after-your-eof")
            await w.drain()
            w.close()

        server = await _echo_server(half)
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=5) as p:
            r, w = await asyncio.open_connection(p.host, p.port)
            w.write(b"request")
            w.write_eof()
            assert await r.read() == b"after-your-eof"  # the other half stayed open
            assert seen == [b"request"] and eof.is_set()
            w.close()

        async def reset(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await r.readexactly(1)
            w.transport.abort()  # RST

        server = await _echo_server(reset)
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=5) as p:
            r, w = await asyncio.open_connection(p.host, p.port)
            w.write(b"x")
            # A reset is forwarded as a reset (or an immediate close).
            with contextlib.suppress(ConnectionResetError):
                assert await r.read() == b""
            w.close()

        # Leaving the context closes live connections.
        server = await _echo_server()
        async with server:
            p = WanProxy("127.0.0.1", _port(server), rtt_ms=5)
            async with p:
                r, w = await asyncio.open_connection(p.host, p.port)
                w.write(b"hi")
                assert await r.readexactly(2) == b"hi"
            with contextlib.suppress(ConnectionResetError):
                assert await r.read() == b""
            w.close()

    run(body())


def test_tls_passes_through_to_the_stand_in(run: Run) -> None:
    async def body() -> None:
        async with StandInExchange({}) as ex, WanProxy("127.0.0.1", ex.port, profile="nyc") as p:
            ctx = ssl.create_default_context(cafile=ex.ca_path)
            r, w = await asyncio.open_connection(
                p.host, p.port, ssl=ctx, server_hostname="127.0.0.1"
            )
            w.write(b"GET /cdn-cgi/trace HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = await r.read()
            assert b"200 OK" in reply and b"colo=IAD" in reply
            w.close()

    run(body())


def test_sync_form() -> None:
    async def serve(ready: asyncio.Future[int]) -> None:
        server = await _echo_server()
        ready.set_result(_port(server))
        async with server:
            await asyncio.sleep(3600)

    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    task = loop.create_task(serve(ready))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port = concurrent.futures.Future[int]()
        loop.call_soon_threadsafe(
            lambda: ready.add_done_callback(lambda f: port.set_result(f.result()))
        )
        with WanProxy("127.0.0.1", port.result(timeout=10), rtt_ms=10).running() as p:
            with socket.create_connection((p.host, p.port), timeout=10) as s:
                s.sendall(b"sync")
                s.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := s.recv(100):
                    data += chunk
            assert data == b"sync"
    finally:
        loop.call_soon_threadsafe(task.cancel)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_cut_holds_bytes_until_restore_and_reset_aborts(run: Run) -> None:
    async def body() -> None:
        server = await _echo_server()
        async with server, WanProxy("127.0.0.1", _port(server), rtt_ms=2) as p:
            r, w = await asyncio.open_connection(p.host, p.port)
            w.write(b"a")
            assert await r.readexactly(1) == b"a"
            p.cut()
            w.write(b"held")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(r.readexactly(4), 0.2)  # nothing moves while cut
            p.restore()
            assert await r.readexactly(4) == b"held"
            assert p.connections == 1
            p.reset()
            with contextlib.suppress(ConnectionResetError):
                assert await r.read() == b""
            assert p.connections == 0
            w.close()

    run(body())


def test_unreachable_target_closes_the_client(run: Run) -> None:
    async def body() -> None:
        server = await _echo_server()
        port = _port(server)
        server.close()
        await server.wait_closed()  # nothing listens on `port` any more
        async with WanProxy("127.0.0.1", port, rtt_ms=1) as p:
            r, w = await asyncio.open_connection(p.host, p.port)
            w.write(b"hello")
            with contextlib.suppress(ConnectionResetError):
                assert await r.read() == b""
            w.close()

    run(body())


def test_cli_forwards_with_a_profile_until_ctrl_c() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    target = listener.getsockname()[1]
    try:
        with cli("wan", f"127.0.0.1:{target}", "--profile", "nyc") as line:
            assert "RTT 6 ms" in line
            port = int(line.split()[2].rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.sendall(b"through")
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(10)
                    assert conn.recv(100) == b"through"
    finally:
        listener.close()
