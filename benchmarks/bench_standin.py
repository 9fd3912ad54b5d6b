"""The stand-in exchange's own cost: median service time of a signed private call.

Two figures, one request in flight, the server on uvloop in its own thread:

(a) server side: time inside the aiohttp handler for ``POST /tradingApi`` (read the body,
    key, HMAC check, strict decode, validation, nonce, rate limit, execution, journal line,
    orjson), measured with ``perf_counter`` around ``StandInExchange._private``;
(b) end to end: a raw keep-alive TLS client (asyncio streams on uvloop, from
    ``polo_fast._loop``; requests built and signed with the standard library before
    timing) in the main thread.

Usage: ``python benchmarks/bench_standin.py [N] [returnBalances|buy]``
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import statistics
import sys
import time
import urllib.parse
from typing import Any

from polo_fast._loop import run
from polo_fast.testing import StandInExchange
from polo_fast.testing.keys import make_pair

KEY, SECRET = make_pair()


def _request(command: str, nonce: int, host: str) -> bytes:
    params: dict[str, Any] = {"command": command}
    if command == "buy":
        params.update(currencyPair="BTC_ETH", rate="0.01", amount="1", postOnly=1)
    params["nonce"] = nonce
    body = urllib.parse.urlencode(params).encode()
    sig = hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()
    head = (
        f"POST /tradingApi HTTP/1.1\r\nHost: {host}\r\nKey: {KEY}\r\nSign: {sig}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(url: str, ca_path: str, command: str, n: int) -> list[float]:
    hostport = url.split("//", 1)[1]
    host, port = hostport.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(
        host, int(port), ssl=ssl.create_default_context(cafile=ca_path)
    )
    base = time.time_ns()
    requests = [_request(command, base + i, hostport) for i in range(n)]
    rtts: list[float] = []
    for data in requests:
        t0 = time.perf_counter()
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        rtts.append(time.perf_counter() - t0)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError((head + body).decode(errors="replace"))
    writer.close()
    return rtts


def _summary(label: str, samples: list[float]) -> str:
    s = sorted(samples[len(samples) // 10 :])  # drop the first 10 % (warm-up)
    p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
    return f"{label} median {statistics.median(s) * 1e6:.1f} us, p99 {p99 * 1e6:.1f} us"


def main(argv: list[str]) -> int:
    """Run the measurement and print both figures."""
    n = int(argv[0]) if argv else 5000
    command = argv[1] if len(argv) > 1 else "returnBalances"
    handler_times: list[float] = []
    original = StandInExchange._private

    async def timed(self: StandInExchange, request: Any) -> Any:
        t0 = time.perf_counter()
        response = await original(self, request)
        handler_times.append(time.perf_counter() - t0)
        return response

    StandInExchange._private = timed  # type: ignore[method-assign]
    try:
        exchange = StandInExchange(
            {KEY: SECRET}, rate_limit=None, max_open_orders=10**9, balances={"BTC": 10**9}
        )
        with exchange.running() as ex:
            rtts = run(_client(ex.url, str(ex.ca_path), command, n))
    finally:
        StandInExchange._private = original  # type: ignore[method-assign]
    print(f"{command}: n={n}")
    print(_summary("  handler (server side):", handler_times))
    print(_summary("  end to end (raw TLS keep-alive client):", rtts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
