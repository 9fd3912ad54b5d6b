"""Nonces: strictly increasing integers per API key (spec ``poloniex-legacy-api.md`` §4).

The exchange refuses a nonce that is not greater than the last one it accepted for a key
(HTTP 422, ``Nonce must be greater than X. You provided Y.``). Two sources live here, with
one interface (``next()``, ``bump(floor)``, ``last``):

- :class:`NonceSource`: in-process, thread-safe. Values come from the wall clock scaled to
  ``scale`` ticks per second (1000 = milliseconds, the default; ``100_000`` reproduces the
  docs' ``date +%s00000``); a value is never repeated and never smaller than the previous
  one, even when several threads draw at once or the wall clock steps back (then the
  source counts up by one from the last value until the clock catches up).
- :class:`FileNonce`: the same, shared by several processes on one host through a file: an
  ``fcntl.flock`` lock around read-increment-write, the last value persisted in the file, so
  a crash or restart never reuses a nonce. A file that goes backwards (truncated, replaced,
  ``/dev/null``) never makes a source go below what it already issued.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable

__all__ = ["FileNonce", "NonceFileError", "NonceSource"]

_NS_PER_S = 1_000_000_000
#: The persisted record: 20 digits (any uint64) and a newline, always written whole.
_RECORD_LEN = 21


def _check_scale(scale: int) -> int:
    if type(scale) is not int or scale <= 0 or scale > _NS_PER_S:
        raise ValueError(
            f"scale must be an int in 1..{_NS_PER_S} (ticks per second), got {scale!r}"
        )
    return scale


def _check_floor(floor: int) -> int:
    if type(floor) is not int or floor < 0:
        raise ValueError(f"floor must be a non-negative int, got {floor!r}")
    return floor


class _Clocked:
    """What both nonce sources share: the clock, its scale in ticks per second, the last
    nonce, and the clock reading in ticks."""

    __slots__ = ("_clock", "_div", "_last", "_scale")

    def __init__(self, scale: int, clock: Callable[[], int], last: int) -> None:
        self._scale = _check_scale(scale)
        self._div = _NS_PER_S // scale if _NS_PER_S % scale == 0 else 0
        self._clock = clock
        self._last = last

    @property
    def scale(self) -> int:
        """Clock ticks per second."""
        return self._scale

    @property
    def last(self) -> int:
        """The last nonce handed out (or the floor it must exceed; 0 at first)."""
        return self._last

    def _now(self) -> int:
        ns = self._clock()
        return ns // self._div if self._div else ns * self._scale // _NS_PER_S


class NonceSource(_Clocked):
    """Strictly increasing nonces from the wall clock, safe to share between threads.

    Parameters:
        scale: clock ticks per second (1000 = milliseconds, the default; 100_000 gives the
            docs' ``date +%s00000`` form; 1_000_000 microseconds).
        start: a floor; every nonce is greater than it (e.g. the last nonce a key used).
        clock: returns the wall-clock time in integer nanoseconds (default
            :func:`time.time_ns`); injectable for tests.

    Raises:
        ValueError: ``scale`` or ``start`` out of range.
    """

    __slots__ = ("_lock",)

    def __init__(
        self,
        scale: int = 1000,
        *,
        start: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(scale, clock, _check_floor(start))
        self._lock = threading.Lock()

    def next(self) -> int:
        """Return a nonce greater than every nonce this source returned before."""
        now = self._now()
        with self._lock:
            value = self._last + 1
            if now > value:
                value = now
            self._last = value
        return value

    def bump(self, floor: int) -> None:
        """Make every later nonce greater than ``floor`` (after a 422 "must be greater than X").

        Raises:
            ValueError: ``floor`` is not a non-negative int.
        """
        _check_floor(floor)
        with self._lock:
            if floor > self._last:
                self._last = floor

    def __repr__(self) -> str:
        return f"NonceSource(scale={self._scale}, last={self._last})"


class NonceFileError(ValueError):
    """The nonce file holds something other than a nonce record (it is never overwritten)."""


class FileNonce(_Clocked):
    """Strictly increasing nonces shared by processes on one host through a file.

    Each :meth:`next` takes an exclusive ``fcntl.flock`` lock on ``path``, reads the last
    value (never trusting it below the last nonce this object issued: a truncated or
    replaced file, or ``/dev/null``, cannot make a nonce repeat), writes the new one (one
    fixed-size ``pwrite``, so a crash never leaves half a record) and releases the lock:
    processes using one key through one file never repeat a nonce, and a restarted process
    continues above the last value. Threads of one process are serialised by a lock as
    well. After ``fork`` the child reopens the file, so it holds its own lock.

    Parameters:
        path: the nonce file (created if missing; keep it on a local file system).
        scale: clock ticks per second, as for :class:`NonceSource`.
        durable: ``fsync`` after each write, so the value also survives a power loss
            (costs a disk flush per nonce; a process crash is covered without it).
        clock: integer-nanosecond wall clock, injectable for tests.

    Raises:
        ValueError: ``scale`` out of range.
        OSError: the file cannot be opened.
    """

    __slots__ = ("_durable", "_fd", "_lock", "_path", "_pid")

    def __init__(
        self,
        path: str | os.PathLike[str],
        scale: int = 1000,
        *,
        durable: bool = False,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(scale, clock, 0)
        self._path = os.fspath(path)
        self._durable = durable
        self._lock = threading.Lock()
        self._fd = -1
        self._pid = 0
        self._open()
        with self._lock, _Flock(self._fd):
            self._last = self._read()

    def _open(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fd = fd
        self._pid = os.getpid()

    def _ensure_own_fd(self) -> None:
        # A forked child shares the parent's open file description, and with it the flock.
        if self._pid != os.getpid():
            os.close(self._fd)
            self._open()

    def _read(self) -> int:
        raw = os.pread(self._fd, _RECORD_LEN + 1, 0)
        if not raw:
            return 0
        text = raw.strip()
        if len(raw) != _RECORD_LEN or not text.isdigit():
            raise NonceFileError(f"nonce file {self._path!r} does not hold a nonce record")
        return int(text)

    def _write(self, value: int) -> None:
        record = b"%020d\n" % value
        if os.pwrite(self._fd, record, 0) != _RECORD_LEN:  # pragma: no cover - disk full
            raise OSError(f"short write to nonce file {self._path!r}")
        if self._durable:
            os.fsync(self._fd)

    @property
    def path(self) -> str:
        """The nonce file."""
        return self._path

    def next(self) -> int:
        """Return a nonce greater than every nonce handed out through this file before.

        Raises:
            NonceFileError: the file holds something other than a nonce record.
            OSError: the file cannot be read, written or locked.
        """
        with self._lock:
            self._ensure_own_fd()
            with _Flock(self._fd):
                now = self._now()
                # Never below what this source issued: a file that went backwards
                # (truncated, replaced, /dev/null) must not make a nonce repeat.
                value = max(self._read(), self._last) + 1
                if now > value:
                    value = now
                if value >= 1 << 64:
                    raise NonceFileError(f"nonce in {self._path!r} would exceed 64 bits")
                self._write(value)
            self._last = value
        return value

    def bump(self, floor: int) -> None:
        """Make every later nonce from this file greater than ``floor``, for all processes.

        Raises:
            ValueError: ``floor`` is not a non-negative int below 2**64.
        """
        _check_floor(floor)
        if floor >= 1 << 64:
            raise ValueError("floor must be below 2**64")
        with self._lock:
            self._ensure_own_fd()
            with _Flock(self._fd):
                if floor > self._read():
                    self._write(floor)
                if floor > self._last:
                    self._last = floor

    def close(self) -> None:
        """Close the file (later calls raise ``OSError``)."""
        with self._lock:
            if self._fd >= 0 and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FileNonce:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0 and getattr(self, "_pid", 0) == os.getpid():
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        return f"FileNonce({self._path!r}, scale={self._scale}, last={self._last})"


class _Flock:
    """``with _Flock(fd):`` holds an exclusive ``flock`` on ``fd``."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise OSError("nonce file is closed")
        self._fd = fd

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
