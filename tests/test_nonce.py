"""polo_fast.nonce: strictly increasing nonces across threads, clock steps and processes."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import threading
from pathlib import Path

import pytest

from polo_fast.nonce import FileNonce, NonceFileError, NonceSource

HOUR_NS = 3600 * 1_000_000_000


class FakeClock:
    """A settable integer-nanosecond clock."""

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def test_scale_and_clock() -> None:
    clock = FakeClock(1_700_000_000_123_456_789)
    assert NonceSource(clock=clock).next() == 1_700_000_000_123
    assert NonceSource(100_000, clock=clock).next() == 170_000_000_012_345
    assert NonceSource(1_000_000, clock=clock).next() == 1_700_000_000_123_456
    assert NonceSource(3, clock=clock).next() == 5_100_000_000  # not a divisor of 1e9
    for bad in (0, -1, 10**10, 1.5, "1000"):
        with pytest.raises(ValueError):
            NonceSource(bad)  # type: ignore[arg-type]


def test_real_clock_is_milliseconds() -> None:
    import time

    n = NonceSource().next()
    assert abs(n - time.time_ns() // 1_000_000) < 60_000


def test_same_tick_still_increases() -> None:
    src = NonceSource(clock=FakeClock(5_000_000_000))
    values = [src.next() for _ in range(1000)]
    assert values == list(range(5000, 6000))
    assert src.last == 5999


def test_clock_stepping_back_an_hour() -> None:
    clock = FakeClock(1_700_000_000_000_000_000)
    src = NonceSource(clock=clock)
    before = [src.next() for _ in range(10)]
    clock.ns -= HOUR_NS
    after = [src.next() for _ in range(10)]
    seq = before + after
    assert all(b > a for a, b in itertools.pairwise(seq))
    clock.ns += 2 * HOUR_NS  # clock runs ahead again: back to the clock's value
    assert src.next() == (1_700_000_000_000_000_000 + HOUR_NS) // 1_000_000


def test_bump() -> None:
    src = NonceSource(clock=FakeClock(1_000_000_000))
    assert src.next() == 1000
    src.bump(154264078495300)
    assert src.next() == 154264078495301
    src.bump(5)  # lower floors are ignored
    assert src.next() == 154264078495302
    for bad in (-1, 1.5, None):
        with pytest.raises(ValueError):
            src.bump(bad)  # type: ignore[arg-type]
    assert NonceSource(start=99, clock=FakeClock(0)).next() == 100


def test_threads_all_distinct() -> None:
    src = NonceSource()
    results: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(out: list[int]) -> None:
        barrier.wait()
        for _ in range(10_000):
            out.append(src.next())

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [v for r in results for v in r]
    assert len(flat) == 80_000 and len(set(flat)) == 80_000
    for r in results:  # each thread sees its own values increase
        assert all(b > a for a, b in itertools.pairwise(r))
    assert src.last == max(flat)


# ---------------------------------------------------------------- FileNonce


def _draw(path: str, count: int, out: mp.Queue[list[int]], start: mp.synchronize.Event) -> None:
    fn = FileNonce(path)
    start.wait()
    out.put([fn.next() for _ in range(count)])


def test_file_nonce_processes_all_distinct(tmp_path: Path) -> None:
    path = str(tmp_path / "key.nonce")
    ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    q: mp.Queue[list[int]] = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=_draw, args=(path, 2000, q, start)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    flat = [v for r in results for v in r]
    assert len(flat) == 8000 and len(set(flat)) == 8000
    for r in results:
        assert all(b > a for a, b in itertools.pairwise(r))
    # a restarted process continues above the last value, even with a clock far behind
    restarted = FileNonce(path, clock=FakeClock(0))
    assert restarted.last == max(flat)
    assert restarted.next() == max(flat) + 1


def test_file_nonce_shared_object_across_fork(tmp_path: Path) -> None:
    fn = FileNonce(tmp_path / "n")
    first = fn.next()
    ctx = mp.get_context("fork")
    q: mp.Queue[list[int]] = ctx.Queue()
    start = ctx.Event()

    def child() -> None:
        start.wait()
        q.put([fn.next() for _ in range(500)])

    procs = [ctx.Process(target=child) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    mine = [fn.next() for _ in range(500)]
    theirs = [v for _ in procs for v in q.get(timeout=60)]
    for p in procs:
        p.join(timeout=60)
    flat = [first, *mine, *theirs]
    assert len(set(flat)) == len(flat)


def test_file_nonce_clock_back_bump_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "n"
    clock = FakeClock(1_700_000_000_000_000_000)
    a = FileNonce(path, clock=clock)
    v1 = a.next()
    clock.ns -= HOUR_NS
    v2 = a.next()
    assert v2 == v1 + 1
    a.bump(10**15)
    b = FileNonce(path, clock=clock)  # another "process" sees the bump
    assert b.next() == 10**15 + 1
    assert a.next() == 10**15 + 2
    assert path.read_bytes() == b"%020d\n" % (10**15 + 2)
    a.close()
    with pytest.raises(OSError):
        a.next()
    with FileNonce(path, durable=True, clock=clock) as c:
        assert c.next() == 10**15 + 3
    assert "FileNonce" in repr(b) and str(path) in repr(b)


def test_file_nonce_threads(tmp_path: Path) -> None:
    fn = FileNonce(tmp_path / "n")
    out: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        got = [fn.next() for _ in range(500)]
        with lock:
            out.extend(got)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 2000


def test_file_nonce_corrupt_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "n"
    path.write_bytes(b"garbage\n")
    with pytest.raises(NonceFileError):
        FileNonce(path)
    assert path.read_bytes() == b"garbage\n"


def test_file_going_backwards_never_repeats_a_nonce(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000_000_000_000)  # a clock that stands still
    path = tmp_path / "n"
    fn = FileNonce(path, clock=clock)
    issued = [fn.next(), fn.next()]
    path.write_bytes(b"")  # truncated behind its back
    issued.append(fn.next())
    path.write_bytes(b"%020d\n" % 5)  # replaced by an older record
    issued.append(fn.next())
    assert issued == sorted(set(issued)), issued
    assert path.read_bytes() == b"%020d\n" % issued[-1]  # the file is set right again
    fn.bump(3)
    assert fn.next() == issued[-1] + 1
    if os.path.exists("/dev/null"):  # a file that never keeps anything
        null = FileNonce("/dev/null", clock=clock)
        values = [null.next() for _ in range(3)]
        assert values == sorted(set(values)), values
