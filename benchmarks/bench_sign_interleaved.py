"""Signing rows interleaved, best of R x 1000 calls each: the figures a loaded machine allows.

pytest-benchmark (``bench_sign.py``) runs one row after another, so a burst of load lands on one
row; here every repetition runs every row once, and each row keeps its best time, so rows and
trees measured in one sitting stay comparable. Each typed row is first checked against the
stdlib reference. Run it for this tree and for another checkout, alternately::

    .venv/bin/python benchmarks/bench_sign_interleaved.py . 40
    .venv/bin/python benchmarks/bench_sign_interleaved.py /path/to/other/checkout 40
"""

import hashlib
import hmac
import sys
import time
from decimal import Decimal
from urllib.parse import urlencode

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else ".")
from polo_fast.signing import Signer

SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 4
KEY = SECRET.encode()
NONCE = 154264078495300
ORDER = {
    "command": "buy",
    "currencyPair": "BTC_ETH",
    "rate": "0.01234567",
    "amount": "1.5",
    "fillOrKill": "1",
}
TYPED = {
    "command": "buy",
    "currencyPair": "BTC_ETH",
    "rate": Decimal("0.01234567"),
    "amount": 1.5,
    "fillOrKill": 1,
}
HEAD = (
    b"POST /tradingApi HTTP/1.1\r\nHost: poloniex.com\r\nKey: BENCHKEY-00000000-11111111\r\n"
    b"User-Agent: polo_fast/0.1\r\nAccept: application/json\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
)
FIELDS = b"command\0currencyPair\0rate\0amount\0fillOrKill\0buy\0BTC_ETH\x000.01234567\x001.5\x001"


def stdlib(params, nonce):
    body = urlencode({**params, "nonce": nonce}).encode()
    return body, hmac.new(KEY, body, hashlib.sha512).hexdigest()


s = Signer(SECRET, backend="cffi")
lane = s._fields_request(HEAD)
assert s.encode_and_sign(TYPED, NONCE) == stdlib(ORDER, NONCE)
P = list(ORDER.items())
rows = {
    "stdlib": lambda: stdlib(ORDER, NONCE),
    "stdlib_typed": lambda: stdlib(TYPED, NONCE),
    "c_dict": lambda: s.encode_and_sign(ORDER, NONCE),
    "c_typed": lambda: s.encode_and_sign(TYPED, NONCE),
    "c_pairs": lambda: s.encode_and_sign(P, NONCE),
    "lane": lambda: lane(FIELDS, 5, NONCE),
    "c_request": lambda: s.encode_sign_request(HEAD, ORDER, NONCE),
}
best = {k: 1e9 for k in rows}
N = 1000
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 60):
    for name, fn in rows.items():
        t0 = time.perf_counter()
        for _ in range(N):
            fn()
        best[name] = min(best[name], (time.perf_counter() - t0) / N * 1e6)
print(sys.argv[1])
for name, t in best.items():
    print(
        f"{name:12s} {t:7.3f} us  stdlib/x={best['stdlib'] / t:5.2f} "
        f"stdlib_typed/x={best['stdlib_typed'] / t:5.2f}"
    )
