"""Spot signing rows interleaved, best of R x 1000 calls each (the issue's signing targets).

Rows: ``orjson.dumps(order)`` + ``polo_fast.spot.Signer.sign("POST", "/orders", body=...)``;
the lane's request writer (the whole HTTP request, one C call); the stdlib way (``json.dumps``
+ ``hmac`` + ``base64``); ccxt 4.5.90's own ``sign()`` for the same order. Every repetition
runs every row once and each row keeps its best time, so a burst of load on a shared machine
lands on all rows alike. Compare the writer with ``benchmarks/floor_spot`` (the C loop)::

    .venv/bin/python benchmarks/bench_spot_sign_interleaved.py 30
    make benchmarks/floor_spot && ./benchmarks/floor_spot
"""

import base64
import hashlib
import hmac
import json
import sys
import timeit

import ccxt
import orjson

from polo_fast.spot import Signer

SECRET = "0123456789abcdef" * 8
TS = 1631018760000
ORDER = {
    "symbol": "BTC_USDT",
    "side": "BUY",
    "type": "LIMIT",
    "price": "30000",
    "quantity": "0.001",
    "timeInForce": "GTC",
}


def main(reps: int) -> None:
    signer = Signer(SECRET)
    ex = ccxt.poloniex({"apiKey": "K", "secret": SECRET})
    ex.nonce = lambda: TS
    key = SECRET.encode()
    write = signer._request_writer(b"Host: api.poloniex.com\r\nkey: K\r\n")
    body = orjson.dumps(ORDER)

    def stdlib() -> bytes:
        text = json.dumps(ORDER, separators=(",", ":"))
        message = f"POST\n/orders\nrequestBody={text}&signTimestamp={TS}".encode()
        return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())

    rows = {
        "polo_fast dumps+sign": lambda: signer.sign(
            "POST", "/orders", body=orjson.dumps(ORDER), timestamp=TS
        ),
        "lane writer (request)": lambda: write(b"POST", b"/orders", b"", 0, body, TS),
        "stdlib json+hmac+b64": stdlib,
        "ccxt 4.5.90 sign()": lambda: ex.sign("orders", ["private"], "POST", dict(ORDER)),
    }
    best = dict.fromkeys(rows, float("inf"))
    for _ in range(reps):
        for name, fn in rows.items():
            best[name] = min(best[name], timeit.timeit(fn, number=1000) / 1000 * 1e6)
    for name, us in best.items():
        print(f"{name:24s} {us:7.3f} us")
    ours = best["polo_fast dumps+sign"]
    print(
        f"ccxt/polo_fast {best['ccxt 4.5.90 sign()'] / ours:.2f}x (target 8x), "
        f"stdlib/polo_fast {best['stdlib json+hmac+b64'] / ours:.2f}x (target 5x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
