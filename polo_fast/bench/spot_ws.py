"""The Spot WebSocket rows of ``polo-fast bench --api spot``: orders over the private socket
per profile, and the local book per update.

Per profile (after the REST phases, :func:`run_ws`), one ``createOrder`` round trip at a
time on a warm, authenticated private socket; each row has its own key and its own
connection, and the rows take turns in ``rounds`` interleaved blocks (:func:`interleaved`),
so a change of machine load hits them alike. Each order is ``BTC_USDT`` BUY LIMIT 0.001 at
30000 IOC with a fresh ``clientOrderId``: it never fills (the stand-in's market is ~37000)
and never rests, so the stand-in's state is the same for every order. Per row: p50 and p99
of the round trip and the client process's CPU time per order (``time.process_time``,
untimed waits left out).

- ``ws-floor``: a minimal client (:func:`floor_row`) on the loop's TLS connection: the
  upgrade, then pre-built masked frames (auth, the same ``orders``/``balances``
  subscription as polo_fast, one ``createOrder`` frame per order, all built before
  timing); it waits for the frame that starts with ``{"id"`` (the reply) and skips the
  event frames without parsing them;
- ``polo_fast-ws``: ``await c.ws_create_order(...)`` of :class:`polo_fast.spot.Client`
  (argument checks, JSON, the request id, the reply matched and parsed; the events parsed
  and queued);
- ``polo_fast-rest``: ``await c.create_order(...)`` of a second client (``ws=False``, as
  the REST phases run it) on its warm lane: the REST lane the WebSocket is compared with,
  the same order, in the same blocks;
- ``ccxt-pro``: ccxt 4.5.90 ``ccxt.pro.poloniex`` ``create_order_ws``, unmodified, pointed
  at the stand-in's ``ws_url``, its client-side limiter off. Its request id is its clock in
  ms and a second request within the same ms is never sent (it waits forever), so each
  ccxt order first waits, untimed, for a new millisecond.

Book (:func:`book_updates`): ``orjson.loads`` of a recorded ``book_lv2`` update + the public
socket's routing + applying it to :class:`polo_fast.spot.book.Book` holding 100 levels per
side (:func:`book_messages`: a size change, a level removed, a level added; alternating
updates undo each other), the median of batches of 2000.

``benchmarks/bench_ws_order.py`` measures the same rows (and a picows floor) on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import ssl
import statistics
import struct
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from polo_fast.bench.conn import Target

__all__ = [
    "ORDER",
    "WS_FLOOR",
    "WS_ROWS",
    "WsResult",
    "book_messages",
    "book_updates",
    "floor_row",
    "frame",
    "interleaved",
    "rows_for",
    "run_ws",
    "ws_base",
    "ws_plan",
]

#: The order every row places (``ws_create_order``'s keyword arguments).
ORDER: dict[str, Any] = {
    "type": "LIMIT",
    "price": "30000",
    "quantity": "0.001",
    "time_in_force": "IOC",
}
SYMBOL = "BTC_USDT"
#: The raw WebSocket floor's row: the ratios divide by its figures.
WS_FLOOR = "ws-floor"
#: Every row, in table order.
WS_ROWS = (WS_FLOOR, "polo_fast-ws", "polo_fast-rest", "ccxt-pro")

RoundTrip = Callable[[], Awaitable[Any]]
#: A row: one round trip (an awaitable factory), and how to close it.
Row = tuple[RoundTrip, Callable[[], Any]]


def ws_base(url: str) -> str:
    """The WebSocket base (``wss://host:port/ws``) of a stand-in or proxy ``https`` URL."""
    return "wss" + url.rstrip("/").removeprefix("https") + "/ws"


def rows_for(clients: Sequence[str]) -> list[str]:
    """The WebSocket rows of a run's Spot clients: the floor always, polo_fast's two with
    ``polo_fast``, ccxt pro with ``ccxt``."""
    rows = [WS_FLOOR]
    if "polo_fast" in clients:
        rows += ["polo_fast-ws", "polo_fast-rest"]
    if "ccxt" in clients:
        rows.append("ccxt-pro")
    return rows


def ws_plan(rtt_ms: float, *, quick: bool = False, requests: int | None = None) -> tuple[int, int]:
    """(timed orders, untimed warm-up orders) per row at a profile of ``rtt_ms``: sized so a
    row takes about 1.2 s (``quick``: 0.2 s), 20 to 1000 orders (quick: 5 to 200)."""
    if requests is not None:
        n = max(1, requests)
        return n, 2
    per_s = rtt_ms / 1000.0 + 0.001
    lo, hi, budget = (5, 200, 0.2) if quick else (20, 1000, 1.2)
    n = max(lo, min(hi, int(budget / per_s)))
    return n, max(3, min(100, n // 10))


# -- frames ------------------------------------------------------------------------------------


def frame(payload: bytes, mask: bytes | None) -> bytes:
    """One FIN text frame; masked (client to server) when ``mask`` (4 bytes) is given."""
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes([0x81, bit | n])
    elif n < 65536:
        head = bytes([0x81, bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x81, bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + masked


def setup_messages(key: str, secret: str, ts: int) -> tuple[bytes, bytes]:
    """The auth message (signed with the standard library) and polo_fast's subscription."""
    message = f"GET\n/ws\nsignTimestamp={ts}".encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    auth = {"event": "subscribe", "channel": ["auth"], "params": {
        "key": key, "signTimestamp": ts, "signature": signature.decode(),
        "signatureMethod": "HmacSHA256", "signatureVersion": "2"}}  # fmt: skip
    sub = {"event": "subscribe", "channel": ["orders", "balances"], "symbols": ["all"]}
    return orjson.dumps(auth), orjson.dumps(sub)


def order_payloads(cid_prefix: str, total: int) -> list[bytes]:
    """``total`` createOrder payloads (the bench's order, a fresh clientOrderId each)."""
    return [
        orjson.dumps({"id": str(i), "event": "createOrder", "params": {
            "symbol": SYMBOL, "side": "BUY", "type": ORDER["type"], "price": ORDER["price"],
            "quantity": ORDER["quantity"], "timeInForce": ORDER["time_in_force"],
            "clientOrderId": f"{cid_prefix}{i}"}})
        for i in range(total)
    ]  # fmt: skip


# -- the floor ---------------------------------------------------------------------------------


class _FloorProtocol(asyncio.Protocol):
    """The upgrade, then server frames scanned for the one that starts with ``want``."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.upgraded = False
        self.want = b'{"id"'
        self.transport: Any = None
        self.lost: BaseException | None = None
        self.setup = True  # until the orders: keep the frame that answered
        self.answer = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionError("the floor's WebSocket was closed by the server")
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(self.lost)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail(bytes(buf[: buf.find(b"\r\n")]).decode(errors="replace"))
                return
            del buf[: end + 4]
            self.upgraded = True
            self._hit()
        pos, n, want = 0, len(buf), self.want
        while n - pos >= 2:
            size, head = buf[pos + 1] & 0x7F, 2
            if size == 126:
                if n - pos < 4:
                    break
                size, head = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif size == 127:
                if n - pos < 10:
                    break
                size, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + size
            if end > n:
                break
            if buf[pos + head : pos + head + len(want)] == want:
                if self.setup:
                    self.answer = bytes(buf[pos + head : end])
                self._hit()
            pos = end
        del buf[:pos]

    def _hit(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, text: str) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(f"the WebSocket upgrade was refused: {text}"))


async def floor_row(target: Target, key: str, secret: str, total: int) -> Row:
    """The raw floor: upgrade, auth and subscribe, then ``total`` pre-built order frames."""
    loop = asyncio.get_running_loop()
    ctx = ssl.create_default_context(cafile=target.ca_path)
    host_port = target.url.split("://", 1)[1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    transport, proto = await loop.create_connection(
        _FloorProtocol, host, int(port), ssl=ctx, server_hostname=host
    )
    proto.waiter = loop.create_future()
    transport.write(
        b"GET /ws/private HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + base64.b64encode(os.urandom(16))
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )  # fmt: skip
    await proto.waiter
    ts = int(time.time() * 1000)
    auth, sub = setup_messages(key, secret, ts)
    for message, want in ((auth, b'{"channel":"auth"'), (sub, b'{"event":"subscribe"')):
        proto.want, proto.waiter = want, loop.create_future()
        transport.write(frame(message, os.urandom(4)))
        await proto.waiter
        if want == b'{"channel":"auth"' and b'"success":true' not in proto.answer:
            transport.close()
            raise ConnectionError("the floor's WebSocket auth was refused")
    proto.want, proto.setup = b'{"id"', False
    it = iter([frame(p, os.urandom(4)) for p in order_payloads(f"fl{ts}x", total)])
    write, create_future = transport.write, loop.create_future

    async def once() -> None:
        waiter = proto.waiter = create_future()
        write(next(it))
        await waiter

    return once, transport.close


# -- the clients -------------------------------------------------------------------------------


async def polo_row(target: Target, key: str, secret: str, *, ws: bool) -> Row:
    """polo_fast's ``ws_create_order`` (``ws``) or its REST ``create_order`` (``ws=False``,
    no private socket), on a client warmed with ``warm_up(1)``."""
    from polo_fast.bench.spot_clients import spot_client_options
    from polo_fast.spot import Client

    options = {**spot_client_options(target, 1), "ws": ws, "ws_url": ws_base(target.url)}
    c = Client(key, secret, **options)
    await c.warm_up(1)
    call = c.ws_create_order if ws else c.create_order

    def once() -> Awaitable[Any]:
        # every order is checked: an order the exchange refuses raises here
        return call(SYMBOL, "BUY", **ORDER)

    return once, c.close


async def ccxt_pro_row(target: Target, key: str, secret: str) -> Row:
    """ccxt 4.5.90 pro ``create_order_ws``, unmodified; a new ms before each order."""
    import ccxt.pro as ccxt_pro

    base = ws_base(target.url)
    client = ccxt_pro.poloniex(
        {"apiKey": key, "secret": secret, "cafile": target.ca_path, "enableRateLimit": False}
    )
    client.urls["api"] = {
        "spot": target.url.rstrip("/"),
        "swap": target.url.rstrip("/"),
        "ws": {"public": base + "/public", "private": base + "/private"},
    }
    try:
        await client.load_markets()
    except BaseException:
        await client.close()
        raise
    params = {"timeInForce": ORDER["time_in_force"]}
    price, quantity = float(ORDER["price"]), float(ORDER["quantity"])
    last = [0]

    async def prepare() -> None:
        # ccxt's request id is its clock in ms (messageHash = str(nonce())): a second
        # request within the same ms is never sent and never answered
        while client.milliseconds() == last[0]:
            await asyncio.sleep(0.0002)

    async def once() -> Any:
        order = await client.create_order_ws("BTC/USDT", "limit", "buy", quantity, price, params)
        last[0] = client.milliseconds()  # its id was taken at or before this ms
        return order

    once.prepare = prepare  # type: ignore[attr-defined]
    return once, client.close


async def make_row(name: str, target: Target, key: str, secret: str, total: int) -> Row:
    """The row ``name`` of :data:`WS_ROWS`, connected and warm, for ``total`` orders."""
    if name == WS_FLOOR:
        return await floor_row(target, key, secret, total)
    if name == "polo_fast-ws":
        return await polo_row(target, key, secret, ws=True)
    if name == "polo_fast-rest":
        return await polo_row(target, key, secret, ws=False)
    if name == "ccxt-pro":
        return await ccxt_pro_row(target, key, secret)
    raise ValueError(f"unknown WebSocket row {name!r}; one of {', '.join(WS_ROWS)}")


# -- timing ------------------------------------------------------------------------------------


async def _close(close: Callable[[], Any]) -> None:
    result = close()
    if asyncio.iscoroutine(result):
        await result


async def interleaved(
    rows: Mapping[str, Row], n: int, warm: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """Time ``rows`` (name -> (round trip, close)) in ``rounds`` interleaved blocks (so a
    change of machine load hits all of them alike), then close them: p50 and p99 (µs),
    client CPU per round trip (µs) and the samples (ms). A round trip with a ``prepare``
    attribute (a coroutine function) has it awaited before each call, outside the timing
    and the CPU count."""
    samples: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, float] = dict.fromkeys(rows, 0.0)
    clock = time.perf_counter
    try:
        for once, _ in rows.values():
            prepare = getattr(once, "prepare", None)
            for _ in range(warm):
                if prepare is not None:
                    await prepare()
                await once()
        block, extra = divmod(n, max(1, min(rounds, n)))
        for r in range(max(1, min(rounds, n))):
            for name, (once, _) in rows.items():
                got = samples[name]
                prepare = getattr(once, "prepare", None)
                spent = 0.0
                cpu0 = time.process_time()
                for _ in range(block + (1 if r < extra else 0)):
                    if prepare is not None:
                        p0 = time.process_time()
                        await prepare()
                        spent += time.process_time() - p0
                    t0 = clock()
                    await once()
                    got.append(clock() - t0)
                cpu[name] += time.process_time() - cpu0 - spent
    finally:
        for _, close in rows.values():
            await _close(close)
    out: dict[str, dict[str, Any]] = {}
    for name, got in samples.items():
        ordered = sorted(got)
        out[name] = {
            "n": len(got),
            "p50_us": ordered[len(ordered) // 2] * 1e6,
            "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6,
            "cpu_us": cpu[name] / len(got) * 1e6,
            "samples_ms": [round(x * 1e3, 4) for x in got],
        }
    return out


@dataclass
class WsResult:
    """The WebSocket rows at one profile: ``rows`` (name -> n, p50_us, p99_us, cpu_us,
    samples_ms) and the errors (a row that failed to start is left out)."""

    profile: str
    rtt_ms: float
    n: int
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with each row's ratios to the floor (``p50_x``, ``p99_x``,
        ``cpu_x``), ``p50_vs_rest`` (over ``polo_fast-rest``'s p50) and ``cpu_vs_pro``
        (ccxt pro's CPU over the row's)."""
        floor = self.rows.get(WS_FLOOR)
        rest = self.rows.get("polo_fast-rest")
        pro = self.rows.get("ccxt-pro")
        rows: dict[str, dict[str, Any]] = {}
        for name, row in self.rows.items():
            d = dict(row)
            for fig, key in (("p50_us", "p50_x"), ("p99_us", "p99_x"), ("cpu_us", "cpu_x")):
                d[key] = _ratio(row[fig], floor[fig] if floor else None)
            d["p50_vs_rest"] = _ratio(row["p50_us"], rest["p50_us"] if rest else None)
            d["cpu_vs_pro"] = _ratio(pro["cpu_us"], row["cpu_us"]) if pro else None
            rows[name] = d
        return {
            "profile": self.profile,
            "rtt_ms": self.rtt_ms,
            "n": self.n,
            "rows": rows,
            "errors": list(self.errors),
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def _error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:300]}"


async def run_ws(
    target: Target,
    profile: str,
    rtt_ms: float,
    keys: Mapping[str, tuple[str, str]],
    *,
    n: int,
    warm: int,
    rounds: int = 5,
) -> WsResult:
    """Measure the WebSocket rows of ``keys`` (row name -> its key) at one profile.

    A row that fails to connect is recorded in ``errors`` and left out; a failure while
    timing is recorded and ends the measurement (every row is closed). Never raises.
    """
    res = WsResult(profile, rtt_ms, n)
    rows: dict[str, Row] = {}
    for name, (key, secret) in keys.items():
        try:
            rows[name] = await make_row(name, target, key, secret, n + warm)
        except Exception as exc:
            res.errors.append(f"{name}: start: {_error(exc)}")
    if rows:
        try:
            res.rows = await interleaved(rows, n, warm, rounds)
        except Exception as exc:
            res.errors.append(f"timing: {_error(exc)}")
    return res


# -- the book ----------------------------------------------------------------------------------


def book_messages(levels: int, symbol: str = SYMBOL) -> tuple[bytes, list[bytes]]:
    """A recorded ``book_lv2`` feed: a snapshot of ``levels`` per side around 37000, then
    2000 updates (an ask's size changes, a bid level goes, a new one comes; the next
    update undoes it), each one's ``lastId`` the previous ``id``."""
    mid = 37000.0
    asks = [[f"{mid + 0.5 * (i + 1):.2f}", f"{0.1 + i / 1000:.4f}"] for i in range(levels)]
    bids = [[f"{mid - 0.5 * (i + 1):.2f}", f"{0.2 + i / 1000:.4f}"] for i in range(levels)]

    def msg(action: str, last: int, ident: int, a: list[Any], b: list[Any]) -> bytes:
        item = {"symbol": symbol, "createTime": 1796032849624, "asks": a, "bids": b,
                "lastId": last, "id": ident, "ts": 1796032849630}  # fmt: skip
        return orjson.dumps({"channel": "book_lv2", "data": [item], "action": action})

    snapshot = msg("snapshot", 0, 1, asks, bids)
    gone, new = bids[10][0], f"{mid - 0.25:.2f}"
    updates = []
    for k in range(2, 2002):
        if k % 2 == 0:
            a, b = [[asks[3][0], "0.9999"]], [[gone, "0"], [new, "0.05"]]
        else:
            a, b = [[asks[3][0], asks[3][1]]], [[gone, bids[10][1]], [new, "0"]]
        updates.append(msg("update", k - 1, k, a, b))
    return snapshot, updates


def _fresh_book(levels_snapshot: bytes) -> tuple[Any, Any]:
    """A public socket's routing (no socket) holding one book, its snapshot applied."""
    from polo_fast.spot._ws_client import _Public
    from polo_fast.spot.book import Book

    pub = _Public.__new__(_Public)  # the routing alone: no socket
    pub.books = {}
    book = pub.books[SYMBOL] = Book(SYMBOL)
    pub.on_message(orjson.loads(levels_snapshot))
    return pub, book


def _check_book(book: Any, expected: int) -> None:
    if book.updates != expected or book.resyncs:
        raise RuntimeError(
            f"the book applied {book.updates} of {expected} updates ({book.resyncs} resyncs)"
        )


def _clock_cost() -> float:
    """The median cost (ns) of one ``perf_counter_ns()`` pair timing nothing."""
    ns = time.perf_counter_ns
    pairs = []
    for _ in range(2001):
        t0 = ns()
        pairs.append(ns() - t0)
    return statistics.median(pairs)


def book_updates(
    batches: int = 41, *, levels: int = 100, read_best: bool = False, one_by_one: int = 5
) -> dict[str, float]:
    """µs per ``book_lv2`` update at ``levels`` per side: ``orjson.loads``, the public
    socket's routing, the ``lastId`` check and the apply (``read_best``: and
    ``best_bid()``/``best_ask()`` after each).

    Two figures: ``update_median_us``, the median update, each of ``one_by_one`` x 2000
    updates timed alone (``perf_counter_ns`` around it, the clock's own cost, the median of
    empty pairs, taken off): a burst of machine noise moves a few updates, not the median;
    and ``median_us``/``min_us``, the median and min over ``batches`` of the mean update of
    a batch of 2000 timed as one (noise on a shared machine lands in it). Updates per
    second at the median update."""
    snapshot, updates = book_messages(levels)
    per_batch = []
    loads = orjson.loads
    ns = time.perf_counter_ns
    for _ in range(batches):
        pub, book = _fresh_book(snapshot)
        route = pub.on_message
        bid, ask = book.best_bid, book.best_ask
        t0 = ns()
        if read_best:
            for raw in updates:
                route(loads(raw))
                bid()
                ask()
        else:
            for raw in updates:
                route(loads(raw))
        per_batch.append((ns() - t0) / len(updates) / 1000)
        _check_book(book, len(updates))
    clock = _clock_cost()
    each: list[int] = []
    for _ in range(one_by_one):
        pub, book = _fresh_book(snapshot)
        route = pub.on_message
        bid, ask = book.best_bid, book.best_ask
        for raw in updates:
            t0 = ns()
            route(loads(raw))
            if read_best:
                bid()
                ask()
            each.append(ns() - t0)
        _check_book(book, len(updates))
    one = (statistics.median(each) - clock) / 1000 if each else statistics.median(per_batch)
    return {
        "levels": levels,
        "batches": batches,
        "update_median_us": round(one, 3),
        "median_us": round(statistics.median(per_batch), 3),
        "min_us": round(min(per_batch), 3),
        "updates_per_s": round(1e6 / one),
    }
