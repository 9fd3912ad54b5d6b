"""Warm signed ``returnBalances`` round trips over HTTPS on loopback: polo_fast vs the floor.

Method: a minimal fixed-answer HTTPS server (uvloop, answers every request with the same
JSON, so the server's own cost does not hide the client's) runs in a separate process; the
client and the server are pinned to different cores where ``os.sched_setaffinity`` allows.
One request in flight, keep-alive, after a warm-up. Per implementation: p50 and p99 of the
round trip and client CPU time per request (``time.process_time`` of the client process),
and ratios to the floor measured in the same run:

- ``floor``: a raw uvloop protocol writing a prebuilt, pre-signed request on an open TLS
  connection and reading the answer (Content-Length framing) - no HTTP client at all;
- ``polo_fast``: ``Client.return_balances()`` on the lean lane;
- ``polo_fast-aiohttp``: the same, forced through aiohttp (``lean=False``);
- ``aiohttp+stdlib``: aiohttp ``ClientSession.post`` with ``urlencode`` + ``hmac`` signing;
- ``requests+stdlib``: ``requests.Session.post`` with ``urlencode`` + ``hmac`` signing.

Each runs with TLS 1.3 and TLS 1.2. Last, one end-to-end figure: polo_fast against the
stand-in exchange (a real signature check, nonce and journal per request).

Run: ``.venv/bin/python benchmarks/bench_roundtrip.py [-n 3000] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

KEY = "BENCHKEY-00000000-11111111-22222222"
SECRET = "ab" * 64
ANSWER = b'{"BTC": "0.51000000", "ETH": "0.00000000", "USDT": "1200.00000000"}'
SERVER_CPU, CLIENT_CPU = 1, 0
_CPU = [0.0, 0.0]  # process_time at the start and end of the timed loop


def _pin(cpu: int) -> bool:
    try:
        if len(os.sched_getaffinity(0)) < 2:
            return False
        os.sched_setaffinity(0, {cpu})
        return True
    except (AttributeError, OSError):
        return False


# -- serving from a child process (shared with bench_ws.py) ------------------------------------


def server_cert(cert_dir: str) -> Any:
    """A throwaway ``trustme`` CA; its certificate for 127.0.0.1 (with the key) is written to
    ``cert_dir/cert.pem``, the file :func:`serve_until_told` serves with."""
    import trustme

    ca = trustme.CA()
    pem = ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem
    pem.write_to_path(os.path.join(cert_dir, "cert.pem"))
    return ca


def serve_until_told(
    conn: Any, protocol: Callable[[], asyncio.Protocol], cert_dir: str, tls: str | None = None
) -> None:
    """Serve ``protocol`` over TLS (``cert_dir/cert.pem``; ``tls`` "1.2" or "1.3" pins the
    version) on a free loopback port, on polo_fast's loop: send the port over ``conn``, then
    serve until anything comes back on it."""
    from polo_fast._loop import run

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(cert_dir, "cert.pem"))
    if tls is not None:
        version = ssl.TLSVersion.TLSv1_3 if tls == "1.3" else ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ctx.maximum_version = version

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=ctx)
        conn.send(server.sockets[0].getsockname()[1])
        await loop.run_in_executor(None, conn.recv)
        server.close()

    run(main())


@contextlib.contextmanager
def child_server(target: Callable[..., None], *args: Any) -> Iterator[Any]:
    """Run ``target(conn, *args)`` in a spawned process; yield the first thing it sends over
    ``conn`` (where it listens); at the end tell it to stop and wait for it."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        proc.join(10)


# -- the fixed-answer server (separate process) --------------------------------------------


def _server_main(conn: Any, tls: str, cert_dir: str) -> None:
    _pin(SERVER_CPU)
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(ANSWER)).encode()
        + b"\r\n\r\n"
        + ANSWER
    )

    class Fixed(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            buf = self.buf + data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end].lower()
                i = head.find(b"content-length:")
                length = (
                    int(
                        head[
                            i + 15 : head.find(b"\r\n", i)
                            if head.find(b"\r\n", i) > 0
                            else len(head)
                        ]
                    )
                    if i >= 0
                    else 0
                )
                if len(buf) < end + 4 + length:
                    break
                buf = buf[end + 4 + length :]
                self.t.write(response)
            self.buf = buf

    serve_until_told(conn, Fixed, cert_dir, tls)


def _standin_main(conn: Any) -> None:
    from polo_fast.testing.exchange import StandInExchange

    _pin(SERVER_CPU)
    with StandInExchange({KEY: SECRET}, rate_limit=None).running() as ex:
        conn.send((ex.url, ex.ca_path))
        conn.recv()


# -- the clients ---------------------------------------------------------------------------------


def _stdlib_sign(nonce: int) -> tuple[str, str]:
    body = urlencode({"command": "returnBalances", "nonce": nonce})
    return body, hmac.new(SECRET.encode(), body.encode(), hashlib.sha512).hexdigest()


def _client_ctx(ca_path: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_path)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def _floor(url: str, ca: str, n: int, warm: int) -> list[int]:
    host, port = url.split("//")[1].split(":")
    loop = asyncio.get_running_loop()
    body, sign = _stdlib_sign(1)
    request = (
        f"POST /tradingApi HTTP/1.1\r\nHost: {host}:{port}\r\nKey: {KEY}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nSign: {sign}\r\n\r\n{body}"
    ).encode()

    class Floor(asyncio.Protocol):
        waiter: asyncio.Future[None]
        need = 0

        def connection_made(self, transport: Any) -> None:
            self.t = transport

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= self.need and not self.waiter.done():
                self.waiter.set_result(None)

        def ask(self) -> asyncio.Future[None]:
            self.waiter = loop.create_future()
            self.got = 0
            self.t.write(request)
            return self.waiter

    proto: Floor
    _, proto = await loop.create_connection(
        Floor, host, int(port), ssl=_client_ctx(ca), server_hostname=host
    )
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    proto.need = len(head) + len(str(len(ANSWER))) + 4 + len(ANSWER)
    out = []
    for i in range(warm + n):
        if i == warm:
            _CPU[0] = time.process_time()
        t0 = time.perf_counter_ns()
        await proto.ask()
        if i >= warm:
            out.append(time.perf_counter_ns() - t0)
    _CPU[1] = time.process_time()
    proto.t.close()
    return out


async def _timed(call: Callable[[], Awaitable[Any]], n: int, warm: int) -> list[int]:
    out = []
    for i in range(warm + n):
        if i == warm:
            _CPU[0] = time.process_time()
        t0 = time.perf_counter_ns()
        await call()
        if i >= warm:
            out.append(time.perf_counter_ns() - t0)
    _CPU[1] = time.process_time()
    return out


async def _polo(url: str, ca: str, n: int, warm: int, lean: bool) -> list[int]:
    import polo_fast

    async with polo_fast.Client(KEY, SECRET, url=url, ca_path=ca, rate_limit=None, lean=lean) as c:
        await c.warm_up(1)
        return await _timed(c.return_balances, n, warm)


async def _aiohttp(url: str, ca: str, n: int, warm: int) -> list[int]:
    import aiohttp

    nonce = [int(time.time() * 1000)]
    conn = aiohttp.TCPConnector(ssl=_client_ctx(ca))
    async with aiohttp.ClientSession(connector=conn) as s:

        async def call() -> Any:
            nonce[0] += 1
            body, sign = _stdlib_sign(nonce[0])
            async with s.post(
                url + "/tradingApi",
                data=body,
                headers={
                    "Key": KEY,
                    "Sign": sign,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ) as r:
                return json.loads(await r.read())

        return await _timed(call, n, warm)


def _requests(url: str, ca: str, n: int, warm: int) -> list[int]:
    import requests

    s = requests.Session()
    s.verify = ca
    nonce = int(time.time() * 1000)
    out = []
    for i in range(warm + n):
        if i == warm:
            _CPU[0] = time.process_time()
        t0 = time.perf_counter_ns()
        nonce += 1
        body, sign = _stdlib_sign(nonce)
        s.post(
            url + "/tradingApi",
            data=body,
            headers={"Key": KEY, "Sign": sign, "Content-Type": "application/x-www-form-urlencoded"},
            verify=ca,  # per request: REQUESTS_CA_BUNDLE would override Session.verify
        ).json()
        if i >= warm:
            out.append(time.perf_counter_ns() - t0)
    _CPU[1] = time.process_time()
    return out


def _measure(name: str, url: str, ca: str, n: int, warm: int) -> dict[str, float]:
    from polo_fast._loop import run

    if name == "requests+stdlib":
        lat = _requests(url, ca, n, warm)
    else:
        coro = {
            "floor": lambda: _floor(url, ca, n, warm),
            "polo_fast": lambda: _polo(url, ca, n, warm, True),
            "polo_fast-aiohttp": lambda: _polo(url, ca, n, warm, False),
            "aiohttp+stdlib": lambda: _aiohttp(url, ca, n, warm),
        }[name]()
        lat = run(coro)
    cpu = (_CPU[1] - _CPU[0]) / n
    lat.sort()
    return {
        "p50_us": statistics.median(lat) / 1000,
        "p99_us": lat[int(len(lat) * 0.99)] / 1000,
        "cpu_us": cpu * 1e6,
    }


IMPLS = ["floor", "polo_fast", "polo_fast-aiohttp", "aiohttp+stdlib", "requests+stdlib"]
#: The floor runs first and again last; the better of the two is the reference (the ratios
#: are then the least flattering for polo_fast).


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a table (and optionally JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=3000, help="timed round trips per implementation")
    ap.add_argument("--warm", type=int, default=300, help="untimed round trips first")
    ap.add_argument("--tls", default="1.3,1.2", help="TLS versions to run")
    ap.add_argument("--impl", default=",".join(IMPLS), help="implementations to run")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    pinned = _pin(CLIENT_CPU)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "pinned": pinned,
        "n": args.n,
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        ca = server_cert(tmp)
        ca_path = os.path.join(tmp, "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        results["loadavg"] = os.getloadavg()
        print(
            f"# {results['date']}  n={args.n}  pinned client/server to cpu "
            f"{CLIENT_CPU}/{SERVER_CPU}: {pinned}  load average before: "
            f"{results['loadavg'][0]:.2f}"
        )
        for tls in args.tls.split(","):
            with child_server(_server_main, tls, tmp) as port:
                url = f"https://127.0.0.1:{port}"
                rows = {}
                names = args.impl.split(",")
                for name in names:
                    rows[name] = _measure(name, url, ca_path, args.n, args.warm)
                if "floor" in names:
                    again = _measure("floor", url, ca_path, args.n, args.warm)
                    first = rows.pop("floor")
                    rows = {"floor": {k: min(first[k], again[k]) for k in first}, **rows}
            floor = rows.get("floor")
            print(
                f"\nTLS {tls}   {'impl':<20}{'p50 us':>9}{'p99 us':>9}{'cpu us/req':>11}"
                f"{'p50/floor':>10}{'p99/floor':>10}"
            )
            for name, r in rows.items():
                ratios = (
                    (
                        f"{r['p50_us'] / floor['p50_us']:>10.2f}"
                        f"{r['p99_us'] / floor['p99_us']:>10.2f}"
                    )
                    if floor
                    else ""
                )
                print(
                    f"          {name:<20}{r['p50_us']:>9.1f}{r['p99_us']:>9.1f}"
                    f"{r['cpu_us']:>11.1f}{ratios}"
                )
            results["runs"][f"tls{tls}"] = rows
        # end to end against the stand-in exchange
        with child_server(_standin_main) as (url, sca):
            e2e = _measure("polo_fast", url, sca, min(args.n, 2000), args.warm)
        results["runs"]["standin"] = {"polo_fast": e2e}
        print(
            f"\nstand-in exchange (TLS default), polo_fast lean: p50 {e2e['p50_us']:.1f} us, "
            f"p99 {e2e['p99_us']:.1f} us, cpu {e2e['cpu_us']:.1f} us/req"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
