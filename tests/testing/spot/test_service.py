"""What the Spot stand-in shares with the legacy one: ``/cdn-cgi/trace`` and the
``polo-fast exchange --api spot`` flags and banner (the keep-alive checks and idle close run
for both stand-ins in ``tests/testing/test_exchange.py``)."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from polo_fast.testing.keys import make_keys
from polo_fast.testing.spot import SpotExchange
from tests.testing.conftest import cli, get_trace
from tests.testing.spot.conftest import Run, session_for


def test_trace_answers_like_the_legacy_stand_in(run: Run) -> None:
    async def body() -> None:
        async with SpotExchange(make_keys(1), colo="FRA") as ex, session_for(ex.ca_path) as s:
            async with s.get(ex.url + "/cdn-cgi/trace") as resp:
                assert resp.status == 200
                text = await resp.text()
            fields = dict(line.split("=", 1) for line in text.splitlines())
            assert fields["colo"] == "FRA" and fields["visit_scheme"] == "https"
            assert fields["tls"] in ("TLSv1.2", "TLSv1.3") and fields["ip"] == "127.0.0.1"
            assert ex.journal() == []  # not an API call: neither journaled nor rate limited

    run(body())


def test_ws_idle_timeout_is_checked() -> None:
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="ws_idle_timeout"):
            SpotExchange(tls=False, ws_idle_timeout=bad)


def test_cli_banner_names_the_websockets_and_colo_reaches_the_trace() -> None:
    with cli("exchange", "--api", "spot", "--colo", "EWR") as text:
        url = text.split("stand-in Spot exchange: ", 1)[1].split()[0]
        ca = text.split("CA certificate:", 1)[1].split()[0]
        public = text.split("WebSocket public:", 1)[1].split()[0]
        private = text.split("WebSocket private:", 1)[1].split()[0]
        assert public == "wss" + url.removeprefix("https") + "/ws/public"
        assert private == "wss" + url.removeprefix("https") + "/ws/private"
        host, port = url.removeprefix("https://").rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=ca)

        async def trace() -> bytes:
            reader, writer = await asyncio.open_connection(host, int(port), ssl=ctx)
            try:
                return (await get_trace(reader, writer))[1]
            finally:
                writer.close()

        assert b"\ncolo=EWR\n" in asyncio.run(trace())
