"""Lanes that stay warm: keep-alive round trips on an idle connection, and a connection the
server closed replaced in the background (resuming the TLS session), off any order's path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import trustme

from polo_fast.client import Client
from tests.conftest import make_keys
from tests.hostile import HostileServer, client_ca
from tests.test_transport import OK, ScriptedServer, _resp


class _Watched(list[Any]):
    """A list that wakes a waiter at every append (the server's request log)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def append(self, item: Any) -> None:
        super().append(item)
        self.changed.set()

    async def until(self, n: int) -> None:
        while len(self) < n:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


async def _until(check: Any) -> None:
    """Wait (bounded) for a condition the loop's own callbacks make true."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


def test_an_idle_lane_connection_makes_keep_warm_round_trips(run: Any) -> None:
    ((key, secret),) = make_keys(1).items()

    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.requests = _Watched()  # type: ignore[assignment]
            async with Client(
                key, secret, url=srv.url, allow_insecure_http=True, keep_warm=0.05, rate_limit=None
            ) as c:
                await c.warm_up(0)
                await srv.requests.until(3)  # type: ignore[attr-defined]  # warm-up + 2 pings
                assert srv.connections == 1  # the same connection, kept warm
                assert all(body == b"" for _, body in srv.requests)  # GET /cdn-cgi/trace
                assert await c.return_balances() == {"BTC": "1.00000000"}
                assert srv.connections == 1

    run(main())


@pytest.mark.parametrize("keep_warm", [None, 0])
def test_keep_warm_off(run: Any, keep_warm: float | None) -> None:
    ((key, secret),) = make_keys(1).items()

    async def main() -> None:
        async with (
            ScriptedServer() as srv,
            Client(key, secret, url=srv.url, allow_insecure_http=True, keep_warm=keep_warm) as c,
        ):
            await c.warm_up(0)
            lane = c._slots[0].head.lane
            assert lane is not None and lane._keep_warm is None and lane._ticker is None

    run(main())


def test_a_closed_idle_connection_is_replaced_in_the_background(run: Any) -> None:
    ((key, secret),) = make_keys(1).items()

    async def main() -> None:
        async with ScriptedServer() as srv:
            srv.script[:] = [(_resp(OK),)]  # answer, then close the idle connection
            async with Client(key, secret, url=srv.url, allow_insecure_http=True) as c:
                assert await c.return_balances() == {"BTC": "1.00000000"}
                await _until(lambda: srv.connections == 2)  # replaced without an order
                assert len(srv.requests) == 1
                assert await c.buy("BTC_ETH", "0.1", 1) == {"BTC": "1.00000000"}
                assert srv.connections == 2 and len(srv.requests) == 2  # the order used it

    run(main())


def test_the_replacement_resumes_the_tls_session(run: Any, ca: trustme.CA, tmp_path: Path) -> None:
    ((key, secret),) = make_keys(1).items()

    async def main() -> None:
        async with (
            HostileServer(ca) as srv,
            Client(key, secret, url=srv.url, ca_path=client_ca(ca, tmp_path), rate_limit=None) as c,
        ):
            await c.warm_up(0)
            lane = c._slots[0].head.lane
            assert lane is not None
            first = next(iter(lane._conns))
            for conn in list(srv._conns):  # the server drops the idle connection
                conn.transport.close()  # type: ignore[union-attr]
            await _until(lambda: any(x is not first and not x.closed for x in lane._idle))
            new = lane._idle[-1]
            sslobj = new.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
            assert sslobj.session_reused  # no certificate work on the reconnect
            await c.return_balances()
            assert srv.connections == 2

    run(main())


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()
