"""Host facts and CPU pinning: what machine the figures come from, and where the bench runs.

:func:`host_facts` goes into every ``results.json`` (CPU, kernel, Python, OpenSSL, package
versions), so figures from several hosts can be read side by side. :func:`cpu_split` decides
whether the clients and the stand-in get a CPU each (only on a quiet machine), and
:func:`pinned` pins this process for the run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["BUSY_CPUS", "cpu_split", "host_facts", "other_load", "pinned"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def host_facts(
    *, tls_version: str | None = None, colo: str | None = None, label: str | None = None
) -> dict[str, Any]:
    """Facts about this host and its software, for reading figures from several hosts."""
    backend: str | None
    try:
        from polo_fast.signing import BACKEND as backend
    except Exception:  # the facts just say it is unknown
        backend = None
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    hostname = socket.gethostname()
    return {
        "label": label or (f"{hostname} ({colo})" if colo else hostname),
        "hostname": hostname,
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(cpus) if cpus is not None else None,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": ssl.OPENSSL_VERSION,
        "tls_version": tls_version,
        "colo": colo,
        "signing_backend": backend,
        "packages": {
            p: _version(p)
            for p in (
                "polo_fast",
                "aiohttp",
                "uvloop",
                "orjson",
                "httptools",
                "requests",
                "poloniexapi",
                "ccxt",
            )
        },
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """Pin this process to ``cpu`` for the run, restoring the previous set afterwards."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)


#: Other processes' load (in CPUs) above which the run is not pinned (see :func:`cpu_split`).
BUSY_CPUS = 0.25


def other_load(seconds: float = 0.3) -> float | None:
    """CPUs' worth of busy time on the machine over ``seconds``, while this process sleeps.

    Read from ``/proc/stat``; None where it cannot be read.
    """

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = f.readline().split()
        except OSError:
            return None
        if len(fields) < 5 or fields[0] != "cpu":
            return None
        ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        return sum(ticks), ticks[3] + ticks[4]

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * (os.cpu_count() or 1)


def cpu_split(no_pin: bool) -> tuple[int | None, list[int] | None, str | None]:
    """(client CPU, stand-in CPUs, why not pinned): pinned on a quiet machine only.

    On a machine where other processes keep a CPU busy, a pinned process cannot move away
    from them: the scheduler then makes it wait out the other process's time slice (2-5 ms
    stalls measured here with Linux's EEVDF scheduler, mostly on requests that follow an
    idle moment, such as a first order), which unpinned processes avoid.
    """
    if no_pin or not hasattr(os, "sched_getaffinity"):
        return None, None, "--no-pin" if no_pin else "no CPU affinity on this system"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, "one CPU"
    busy = other_load()
    if busy is not None and busy > BUSY_CPUS:
        return None, None, f"other processes busy ({busy:.1f} CPUs)"
    return cpus[0], cpus[1:], None
