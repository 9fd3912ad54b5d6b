"""WebSocket order round trips over TLS on loopback: a raw floor, aiohttp, picows; and the
cost of applying one ``book_lv2`` update to a 100-level book.

Method (as ``bench_roundtrip.py``): a minimal WebSocket server (a uvloop protocol: the HTTP
upgrade, then masked client frames parsed just enough to find their end) runs in a separate
process and answers every frame with the same ``createOrder`` reply. Client and server are
pinned to different cores where ``os.sched_setaffinity`` allows. One request in flight on one
warm connection, after a warm-up; the clients take turns in ``--rounds`` blocks, so a change
of load on a shared machine hits them alike. Per implementation: p50 and p99 of the round
trip, client CPU time per round trip (``time.process_time`` of the client process) and
ratios to the floor of the same run:

- ``floor``: a raw uvloop protocol on the loop's TLS connection writing a pre-built masked
  frame and reading the answer's frame header (no JSON, no library);
- ``aiohttp``: ``ClientSession.ws_connect``, ``send_frame(payload, TEXT)``, ``receive()``,
  ``orjson.loads``;
- ``picows``: ``ws_connect`` with a listener, ``transport.send(TEXT, payload)``, the reply
  parsed with ``orjson.loads`` in ``on_ws_frame``; on aiofastnet's TLS transport (picows's
  default: aiofastnet is one of its dependencies) and, as ``picows-ssl``, on the loop's TLS;
- ``floor-fastnet``: the floor on aiofastnet's TLS transport (what the floor would be if
  polo_fast took that transport too).

The libraries send the same pre-built payload bytes each time (the client's own JSON
building is not what is compared) and parse the reply (every client must).

Book update: a 100-level-per-side book (what ``book_lv2`` gives after a snapshot, deeper
than the stand-in's 20), then ``orjson.loads`` + the ``lastId`` check + applying an update of
3 levels (one quantity change, one level removed, one added), alternating two updates that
undo each other so the book stays the same size. Two books: a plain dict per side (price
string -> quantity string; the best price needs a scan) and a sorted one (float prices kept
in order with ``bisect``, so the best price is at the end). Median of 41 batches x 2000.

Run: ``.venv/bin/python benchmarks/bench_ws.py [-n 5000] [--warm 500] [--rounds 20]
[--no-pin] [--json out.json]``. ``--only picows --no-book`` measures one client alone (for
instruction counts under ``valgrind --tool=callgrind``: the difference between two ``-n``
values, divided by their difference, is the client's instructions per round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import hashlib
import json
import math
import os
import ssl
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bench_roundtrip import (  # noqa: E402 - after the path
    CLIENT_CPU,
    SERVER_CPU,
    _pin,
    child_server,
    serve_until_told,
    server_cert,
)

from polo_fast.bench.spot_ws import book_messages as _book_messages  # noqa: E402
from polo_fast.bench.spot_ws import frame as _frame  # noqa: E402
from polo_fast.bench.spot_ws import interleaved  # noqa: E402

REQUEST = orjson.dumps(
    {
        "id": "1796032849647",
        "event": "createOrder",
        "params": {
            "symbol": "BTC_USDT",
            "side": "BUY",
            "type": "LIMIT",
            "price": "30000",
            "quantity": "0.001",
            "timeInForce": "GTC",
            "clientOrderId": "bench-0000000001",
        },
    }
)
REPLY = orjson.dumps(
    {
        "id": "1796032849647",
        "data": [
            {
                "orderId": 29772698821328896,
                "clientOrderId": "bench-0000000001",
                "code": 200,
                "message": "",
            }
        ],
    }
)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame_end(buf: bytes | bytearray, start: int = 0) -> int:
    """The end of the frame at ``start`` in ``buf``, or -1 when it is not complete."""
    if len(buf) - start < 2:
        return -1
    b1 = buf[start + 1]
    n = b1 & 0x7F
    pos = start + 2
    if n == 126:
        if len(buf) - pos < 2:
            return -1
        n = (buf[pos] << 8) | buf[pos + 1]
        pos += 2
    elif n == 127:
        if len(buf) - pos < 8:
            return -1
        n = struct.unpack_from("!Q", buf, pos)[0]
        pos += 8
    if b1 & 0x80:
        pos += 4
    end = pos + n
    return end if len(buf) >= end else -1


# -- the fixed-answer server (separate process) --------------------------------------------


def _server_main(conn: Any, cert_dir: str, pin: bool) -> None:
    if pin:
        _pin(SERVER_CPU)
    answer = _frame(REPLY, None)

    class Fixed(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            self.buf = bytearray()
            self.open = False

        def data_received(self, data: bytes) -> None:
            buf = self.buf
            buf += data
            if not self.open:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).decode("latin-1")
                key = next(
                    line.split(":", 1)[1].strip()
                    for line in head.split("\r\n")
                    if line.lower().startswith("sec-websocket-key:")
                )
                accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())
                self.t.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                del buf[: end + 4]
                self.open = True
            pos = 0
            while True:
                end = _frame_end(buf, pos)
                if end < 0:
                    break
                opcode = buf[pos] & 0x0F
                if opcode == 8:  # close
                    self.t.close()
                    return
                if opcode in (1, 2):
                    self.t.write(answer)
                pos = end
            del buf[:pos]

    serve_until_told(conn, Fixed, cert_dir)


# -- the clients ---------------------------------------------------------------------------------

RoundTrip = Callable[[], Awaitable[None]]


class _FloorProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.upgraded = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert buf.startswith(b"HTTP/1.1 101"), bytes(buf[:40])
            del buf[: end + 4]
            self.upgraded = True
        else:
            end = _frame_end(buf)
            if end < 0:
                return
            del buf[:end]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


async def _floor(
    port: int, ctx: ssl.SSLContext, fastnet: bool = False
) -> tuple[RoundTrip, Callable[[], Any]]:
    loop = asyncio.get_running_loop()
    if fastnet:
        import aiofastnet

        connect: Any = partial(aiofastnet.create_connection, loop)
    else:
        connect = loop.create_connection
    transport, proto = await connect(
        _FloorProtocol, "127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1"
    )
    key = base64.b64encode(os.urandom(16))
    proto.waiter = loop.create_future()
    transport.write(
        b"GET /ws/private HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: "
        + key
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await proto.waiter
    frame = _frame(REQUEST, os.urandom(4))
    write = transport.write
    create_future = loop.create_future

    async def once() -> None:
        waiter = proto.waiter = create_future()
        write(frame)
        await waiter

    return once, transport.close


async def _aiohttp(port: int, ctx: ssl.SSLContext) -> tuple[RoundTrip, Callable[[], Any]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
    ws = await session.ws_connect(f"wss://127.0.0.1:{port}/ws/private", autoping=False)
    text = aiohttp.WSMsgType.TEXT
    loads = orjson.loads

    async def once() -> None:
        await ws.send_frame(REQUEST, text)
        msg = await ws.receive()
        loads(msg.data)

    async def close() -> None:
        await ws.close()
        await session.close()

    return once, close


async def _picows(
    port: int, ctx: ssl.SSLContext, fastnet: bool = True
) -> tuple[RoundTrip, Callable[[], Any]]:
    import picows

    loop = asyncio.get_running_loop()
    loads = orjson.loads

    class Listener(picows.WSListener):
        waiter: asyncio.Future[Any] | None = None

        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT and self.waiter is not None:
                self.waiter.set_result(loads(frame.get_payload_as_memoryview()))

    listener = Listener()
    transport, _ = await picows.ws_connect(
        lambda: listener,
        f"wss://127.0.0.1:{port}/ws/private",
        ssl_context=ctx,
        use_aiofastnet=fastnet,
    )
    send = transport.send
    text = picows.WSMsgType.TEXT
    create_future = loop.create_future

    async def once() -> None:
        waiter = listener.waiter = create_future()
        send(text, REQUEST)
        await waiter

    def close() -> None:
        transport.disconnect()

    return once, close


CLIENTS: dict[str, Callable[[int, ssl.SSLContext], Awaitable[tuple[RoundTrip, Any]]]] = {
    "floor": _floor,
    "aiohttp": _aiohttp,
    "picows": _picows,
    "picows-ssl": partial(_picows, fastnet=False),
    "floor-fastnet": partial(_floor, fastnet=True),
}
"""The clients. ``picows`` uses aiofastnet's TLS transport (its default when installed, and
it is a dependency of picows 2.3); ``picows-ssl`` and ``floor`` use the loop's own TLS
(uvloop's ``sslproto``); ``floor-fastnet`` is the floor on aiofastnet's TLS."""


async def _measure(
    port: int, ctx: ssl.SSLContext, n: int, warm: int, rounds: int, only: list[str]
) -> dict[str, dict[str, float]]:
    """Every client on its own warm connection, measured by :func:`interleaved`."""
    clients = {name: await CLIENTS[name](port, ctx) for name in only}
    return await interleaved(clients, n, warm, rounds)


def round_trips(
    n: int, warm: int, pin: bool = True, rounds: int = 20, only: list[str] | None = None
) -> dict[str, Any]:
    """Run the server in a child process and measure the clients (``only``: some) on it."""
    from polo_fast._loop import run

    with tempfile.TemporaryDirectory() as cert_dir:
        ctx = ssl.create_default_context()
        server_cert(cert_dir).configure_trust(ctx)
        with child_server(_server_main, cert_dir, pin) as port:
            pinned = pin and _pin(CLIENT_CPU)
            results = run(_measure(port, ctx, n, warm, rounds, only or list(CLIENTS)))
    floor = results.get("floor", {"p50_us": math.nan, "p99_us": math.nan})
    for row in results.values():
        row["p50_x"] = row["p50_us"] / floor["p50_us"]
        row["p99_x"] = row["p99_us"] / floor["p99_us"]
    return {**results, "_config": {"pinned": pinned, "n": n, "rounds": rounds}}


# -- the book-update micro benchmark ---------------------------------------------------------


class DictBook:
    """price string -> quantity string per side; the best price needs a scan."""

    def __init__(self) -> None:
        self.asks: dict[str, str] = {}
        self.bids: dict[str, str] = {}
        self.id = 0

    def apply(self, raw: bytes) -> None:
        """Parse and apply one ``book_lv2`` message."""
        item = orjson.loads(raw)["data"][0]
        if item["lastId"] != self.id:
            raise RuntimeError("gap")
        for side, levels in ((self.asks, item["asks"]), (self.bids, item["bids"])):
            for price, qty in levels:
                if qty == "0":
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.id = item["id"]


class SortedBook:
    """Levels by price string, plus each side's prices as floats kept sorted with ``bisect``
    (best ask first, best bid last); only a new or removed level touches the sorted list."""

    def __init__(self) -> None:
        self.prices: tuple[list[float], list[float]] = ([], [])
        self.sizes: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self.id = 0

    def apply(self, raw: bytes) -> None:
        """Parse and apply one ``book_lv2`` message."""
        item = orjson.loads(raw)["data"][0]
        if item["lastId"] != self.id:
            raise RuntimeError("gap")
        for i, levels in enumerate((item["asks"], item["bids"])):
            prices, sizes = self.prices[i], self.sizes[i]
            for p, q in levels:
                if q[0] == "0" and not float(q):
                    if sizes.pop(p, None) is not None:
                        del prices[bisect.bisect_left(prices, float(p))]
                elif p in sizes:
                    sizes[p] = q
                else:
                    sizes[p] = q
                    bisect.insort(prices, float(p))
        self.id = item["id"]

    def best(self) -> tuple[float | None, float | None]:
        """Best ask and best bid."""
        asks, bids = self.prices
        return (asks[0] if asks else None, bids[-1] if bids else None)


def book_updates(levels: int = 100, batches: int = 41) -> dict[str, dict[str, float]]:
    """Median µs per update (parse + check + apply) for each book kind."""
    snapshot, updates = _book_messages(levels)
    out: dict[str, dict[str, float]] = {}
    for kind in (DictBook, SortedBook):
        per_batch = []
        for _ in range(batches):
            book = kind()
            book.apply(snapshot)  # lastId 0, id 1: a new book takes it as it is
            apply = book.apply
            t0 = time.perf_counter_ns()
            for raw in updates:
                apply(raw)
            per_batch.append((time.perf_counter_ns() - t0) / len(updates) / 1000)
        parse = []
        for _ in range(batches):
            t0 = time.perf_counter_ns()
            for raw in updates:
                orjson.loads(raw)
            parse.append((time.perf_counter_ns() - t0) / len(updates) / 1000)
        out[kind.__name__] = {
            "median_us": statistics.median(per_batch),
            "min_us": min(per_batch),
            "parse_only_us": statistics.median(parse),
            "message_bytes": float(len(updates[0])),
        }
    return out


def main() -> None:
    """Parse the arguments, run both benchmarks, print a table (and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=5000, help="timed round trips per client")
    parser.add_argument("--warm", type=int, default=500, help="warm-up round trips")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved blocks per client")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server")
    parser.add_argument("--only", help=f"comma list of clients: {','.join(CLIENTS)}")
    parser.add_argument("--no-book", action="store_true", help="skip the book benchmark")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else None
    rt = round_trips(args.n, args.warm, pin=not args.no_pin, rounds=args.rounds, only=only)
    config = rt.pop("_config")
    print(f"round trips: n={args.n} in {args.rounds} rounds, pinned={config['pinned']}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'client':14} {'p50 us':>9} {'x floor':>8} {'p99 us':>9} {'x floor':>8} {'cpu us':>8}")
    for name, row in rt.items():
        print(
            f"{name:14} {row['p50_us']:9.1f} {row['p50_x']:8.2f} {row['p99_us']:9.1f} "
            f"{row['p99_x']:8.2f} {row['cpu_us']:8.1f}"
        )
    books = {} if args.no_book else book_updates()
    if books:
        print("book_lv2 update, 100 levels per side (orjson parse + lastId check + apply):")
    for name, row in books.items():
        print(
            f"  {name:10} median {row['median_us']:.2f} us (min {row['min_us']:.2f}; "
            f"parse alone {row['parse_only_us']:.2f}; {row['message_bytes']:.0f} bytes)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"round_trips": rt, "book": books, "config": config}, f, indent=2)


if __name__ == "__main__":
    main()
