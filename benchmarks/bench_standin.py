"""Median service time of a signed private call on the stand-in (server on uvloop, own thread).

(a) server-side: time inside the aiohttp handler for POST /tradingApi (read body, key, HMAC
    verify, strict decode, validate, nonce, rate limit, execute, journal, orjson), measured
    with perf_counter around StandInExchange._private;
(b) end to end: a raw keep-alive TLS client (asyncio streams on uvloop, prebuilt request)
    in the main thread, one request in flight.
"""
import asyncio, hashlib, hmac, ssl, statistics, sys, time, urllib.parse
import uvloop
from polo_fast.testing import StandInExchange

KEY, SECRET = "BENCH-KEY", "bench-secret"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
CMD = sys.argv[2] if len(sys.argv) > 2 else "returnBalances"
samples: list[float] = []
orig = StandInExchange._private
async def timed(self, request):
    t = time.perf_counter(); resp = await orig(self, request); samples.append(time.perf_counter() - t); return resp
StandInExchange._private = timed

def req(n: int, host: str) -> bytes:
    params = {"command": CMD, "nonce": n} if CMD == "returnBalances" else {"command": CMD, "currencyPair": "BTC_ETH", "rate": "0.01", "amount": "1", "postOnly": 1, "nonce": n}
    body = urllib.parse.urlencode(params).encode()
    sig = hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()
    return (f"POST /tradingApi HTTP/1.1\r\nHost: {host}\r\nKey: {KEY}\r\nSign: {sig}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

async def main(url, ca):
    hostport = url.split("//")[1]; host, port = hostport.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca)
    r, w = await asyncio.open_connection(host, int(port), ssl=ctx)
    rtts = []
    base = time.time_ns()
    for i in range(N):
        data = req(base + i, hostport)
        t = time.perf_counter(); w.write(data)
        head = await r.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = await r.readexactly(length)
        rtts.append(time.perf_counter() - t)
        assert head.startswith(b"HTTP/1.1 200"), head + body
    w.close()
    return rtts

with StandInExchange({KEY: SECRET}, rate_limit=None, max_open_orders=10**9, balances={"BTC": 10**9}).running() as ex:
    rtts = uvloop.run(main(ex.url, ex.ca_path))
warm = slice(N // 10, None)
h = sorted(samples[warm]); e = sorted(rtts[warm])
print(f"{CMD}: n={len(h)}  handler median {statistics.median(h)*1e6:.1f} us  p99 {h[int(len(h)*.99)]*1e6:.1f} us | "
      f"end-to-end (TLS keep-alive, raw client) median {statistics.median(e)*1e6:.1f} us  p99 {e[int(len(e)*.99)]*1e6:.1f} us")
