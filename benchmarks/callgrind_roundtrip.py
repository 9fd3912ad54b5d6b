"""Client instructions per warm ``returnBalances`` round trip on the lean lane (callgrind).

Wall clock on a shared machine says little about a few microseconds; an instruction count
does. The fixed-answer TLS 1.3 server of ``bench_roundtrip.py`` runs in a spawned child
process (not traced); the measured process opens a client, ``warm_up(1)``, makes 200 untimed
calls, then ``N`` warm ``return_balances()`` calls, one at a time. Run it at two lengths and
take the difference, so that start-up, imports and the warm-up cancel out::

    for n in 1000 2000; do
      valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \\
        .venv/bin/python benchmarks/callgrind_roundtrip.py $n
    done
    # instructions per request = (total(2000) - total(1000)) / 1000
    callgrind_annotate /tmp/cg.2000 | grep 'PROGRAM TOTALS'

``PYTHONPATH=/some/tree`` measures the polo_fast in that tree instead (the server child
always uses this tree's). Without valgrind it just runs (a smoke test).
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bench_roundtrip as br  # noqa: E402  (its import puts this tree first on sys.path)


def _serve(conn: object, tls: str, cert_dir: str) -> None:
    br._server_main(conn, tls, cert_dir)


async def _calls(url: str, ca: str, n: int) -> None:
    import polo_fast

    async with polo_fast.Client(
        br.KEY, br.SECRET, url=url, ca_path=ca, rate_limit=None, lean=True
    ) as c:
        await c.warm_up(1)
        call = c.return_balances
        for _ in range(200):
            await call()
        for _ in range(n):
            await call()


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    other = os.environ.get("PYTHONPATH")
    if other:  # measure that tree's polo_fast: undo bench_roundtrip's path insertion here
        while ROOT in sys.path:
            sys.path.remove(ROOT)
        sys.path.insert(0, other.split(os.pathsep)[0])
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        ca = br.server_cert(tmp)
        ca_path = os.path.join(tmp, "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        with br.child_server(_serve, "1.3", tmp) as port:
            loop = uvloop.new_event_loop()
            try:
                loop.run_until_complete(_calls(f"https://127.0.0.1:{port}", ca_path, n))
            finally:
                loop.close()
    import polo_fast

    print(f"{n} calls done with {os.path.dirname(polo_fast.__file__)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
