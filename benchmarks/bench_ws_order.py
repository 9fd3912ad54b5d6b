"""The Spot WebSocket order round trip against the stand-in, and the local book per update.

Method: the Spot stand-in (:class:`polo_fast.testing.spot.SpotExchange`, rate limits off)
runs in a child process (``polo_fast.bench.server.ExchangeProcess``, pinned to its own core
where the machine allows); this process is the client (pinned to the other). Every row has
its own key and its own warm connection; one order in flight; the rows take turns in
``--rounds`` interleaved blocks, so a change of machine load hits them alike. Each order is
``BTC_USDT`` BUY LIMIT 0.001 at 30000 IOC with a fresh ``clientOrderId``: it never fills (the
market is ~37000) and never rests, so the stand-in's state stays the same for every order.
Per row: p50 and p99 of the round trip, the client process's CPU time per order
(``time.process_time``), and ratios to the floor of the same run. The rows, the timing and
the book are :mod:`polo_fast.bench.spot_ws`'s (what ``polo-fast bench --api spot`` runs per
profile); this script adds the picows floor and runs on loopback only.

- ``ws-floor``: a minimal client on the loop's TLS connection: the upgrade, then pre-built
  masked frames (auth, the same ``orders``/``balances`` subscription as polo_fast, and one
  ``createOrder`` frame per order, all built before timing); it waits for the frame that
  starts with ``{"id"`` (the reply) and skips the event frames without parsing them;
- ``picows-floor``: the same pre-built payloads and reply scan through picows on
  aiofastnet's TLS (the library and transport polo_fast's socket uses): the floor a picows
  client can reach;
- ``polo_fast-ws``: ``await c.ws_create_order(...)`` of :class:`polo_fast.spot.Client`
  (argument checks, JSON, the request id, the reply matched and parsed; events parsed and
  queued as :class:`~polo_fast.spot._ws_client.OrderEvent` / ``BalanceEvent``);
- ``polo_fast-rest``: ``await c.create_order(...)`` of the same client on its warm lane
  (signed ``POST /orders``), the REST lane the WebSocket is compared with;
- ``ccxt-pro``: ccxt 4.5.90 ``poloniex`` (pro) ``create_order_ws``, unmodified, its
  client-side rate limiter off (``enableRateLimit``) as polo_fast's; it does not subscribe
  to ``orders``/``balances``, so it receives the reply frame only. Its request id is its
  clock in ms, and a second request within the same ms is never sent (it waits forever),
  so each ccxt order first waits, untimed, for a new millisecond.

Book: ``orjson.loads`` of a ``book_lv2`` update + the public socket's routing + applying it
to :class:`polo_fast.spot.book.Book` holding 100 levels per side (a size change, a level
removed, a level added; alternating updates undo each other), median of 41 batches x 2000,
and the same with ``best_bid()``/``best_ask()`` read after every update; and the median
update, each timed alone (:func:`polo_fast.bench.spot_ws.book_updates`).

Run: ``.venv/bin/python benchmarks/bench_ws_order.py [-n 3000] [--warm 300] [--rounds 10]
[--only ws-floor,polo_fast-ws] [--no-book] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bench_roundtrip import CLIENT_CPU, SERVER_CPU, _pin  # noqa: E402 - after the path

from polo_fast.bench.conn import Target  # noqa: E402
from polo_fast.bench.spot_ws import (  # noqa: E402
    WS_FLOOR,
    WS_ROWS,
    Row,
    book_updates,
    interleaved,
    make_row,
    order_payloads,
    setup_messages,
    ws_base,
)

ROWS = (WS_FLOOR, "picows-floor", *WS_ROWS[1:])


async def _picows_floor(target: Target, key: str, secret: str, total: int) -> Row:
    """The floor's pre-built payloads through picows (aiofastnet TLS, as polo_fast uses)."""
    import picows

    loop = asyncio.get_running_loop()
    text = picows.WSMsgType.TEXT

    class Listener(picows.WSListener):
        waiter: asyncio.Future[None] | None = None
        want = b'{"id"'

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            waiter = self.waiter
            if (
                frame.msg_type == text
                and waiter is not None
                and not waiter.done()
                and bytes(frame.get_payload_as_memoryview()[: len(self.want)]) == self.want
            ):
                waiter.set_result(None)

    listener = Listener()
    ctx = ssl.create_default_context(cafile=target.ca_path)
    url = ws_base(target.url) + "/private"
    transport, _ = await picows.ws_connect(lambda: listener, url, ssl_context=ctx)
    ts = int(time.time() * 1000)
    wants = (b'{"channel":"auth"', b'{"event":"subscribe"')
    for message, want in zip(setup_messages(key, secret, ts), wants, strict=True):
        listener.want, listener.waiter = want, loop.create_future()
        transport.send(text, message)
        await listener.waiter
    listener.want = b'{"id"'
    it = iter(order_payloads(f"pf{ts}x", total))
    send, create_future = transport.send, loop.create_future

    async def once() -> None:
        waiter = listener.waiter = create_future()
        send(text, next(it))
        await waiter

    return once, transport.disconnect


async def _measure(
    target: Target, keys: dict[str, str], n: int, warm: int, rounds: int, only: list[str]
) -> dict[str, dict[str, Any]]:
    pairs = iter(keys.items())
    rows: dict[str, Row] = {}
    for name in only:
        key, secret = next(pairs)
        if name == "picows-floor":
            rows[name] = await _picows_floor(target, key, secret, n + warm)
        else:
            rows[name] = await make_row(name, target, key, secret, n + warm)
    return await interleaved(rows, n, warm, rounds)


def round_trips(n: int, warm: int, rounds: int, pin: bool, only: list[str]) -> dict[str, Any]:
    """Start the stand-in child, measure the rows, return the figures and ratios."""
    from polo_fast._loop import run
    from polo_fast.bench.server import LOOPBACK, ExchangeProcess
    from polo_fast.testing.keys import make_keys

    keys = make_keys(len(ROWS))
    proc = ExchangeProcess(keys, [LOOPBACK], apis=("spot",), cpus=[SERVER_CPU] if pin else None)
    info = proc.start()
    try:
        pinned = pin and _pin(CLIENT_CPU)
        spot = info.apis["spot"]
        target = Target(url=spot.url, ca_path=spot.ca_path)
        results = run(_measure(target, keys, n, warm, rounds, only))
    finally:
        proc.stop()
    floor = results.get(WS_FLOOR)
    for row in results.values():
        row.pop("samples_ms", None)
        for fig, x in (("p50_us", "p50_x"), ("p99_us", "p99_x"), ("cpu_us", "cpu_x")):
            row[x] = row[fig] / floor[fig] if floor else float("nan")
    return {**results, "_config": {"pinned": pinned, "n": n, "rounds": rounds, "loop": info.loop}}


def main() -> None:
    """Parse the arguments, run, print a table (and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=3000, help="timed orders per row")
    parser.add_argument("--warm", type=int, default=300, help="warm-up orders per row")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved blocks per row")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server")
    parser.add_argument("--only", help=f"comma list of rows: {','.join(ROWS)}")
    parser.add_argument("--no-book", action="store_true", help="skip the book benchmark")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else list(ROWS)
    rt = round_trips(args.n, args.warm, args.rounds, not args.no_pin, only) if only != [""] else {}
    config = rt.pop("_config", {})
    if rt:
        print(f"order round trips: n={args.n} in {args.rounds} rounds, {config}, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"{'row':15} {'p50 us':>8} {'x':>6} {'p99 us':>8} {'x':>6} {'cpu us':>8} {'x':>6}")
        for name, r in rt.items():
            print(
                f"{name:15} {r['p50_us']:8.1f} {r['p50_x']:6.2f} {r['p99_us']:8.1f} "
                f"{r['p99_x']:6.2f} {r['cpu_us']:8.1f} {r['cpu_x']:6.2f}"
            )
    books = {}
    if not args.no_book:
        books = {"apply": book_updates(), "apply+best": book_updates(read_best=True)}
        for name, row in books.items():
            print(f"book_lv2 update, 100 levels ({name}): median update "
                  f"{row['update_median_us']:.2f} us, {row['updates_per_s']:,} updates/s; "
                  f"batches: median {row['median_us']:.2f} us "
                  f"(min {row['min_us']:.2f})")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"round_trips": rt, "book": books, "config": config}, f, indent=2)


if __name__ == "__main__":
    main()
