"""The bench's exchange side, run in a child process: the stand-ins plus one WAN proxy per profile.

The stand-ins and the proxies live in their own process (pinned to their own core where the
machine allows), so the client-side CPU time the bench reads from its own process is the
clients' alone. Protocol on the pipes: the parent writes one JSON line on stdin
(``{"keys": {key: secret}, "profiles": [...], "apis": ["legacy", "spot"], "colo": "IAD",
"cpus": [1]}``); the child answers one JSON line on stdout once everything listens, then
serves until its stdin closes: per API (``legacy``: :class:`~polo_fast.testing.exchange.
StandInExchange`; ``spot``: :class:`~polo_fast.testing.spot.SpotExchange`, both with rate
limits off) ``{"url", "ca_path", "proxies": {profile: port}, "keepalive_timeout": s}`` under
``"apis"``, plus ``"rtt_ms": {profile: ms}`` and ``"loop": "uvloop"|"asyncio"``. The
``loopback`` profile (:data:`LOOPBACK`) has no proxy: its clients talk to the stand-in
directly. The child runs on :mod:`polo_fast._loop`'s loop (uvloop where installed), as
``polo-fast exchange`` does. Secrets travel only over the pipe, never on a command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from polo_fast._loop import run as run_loop

__all__ = ["LOOPBACK", "ExchangeProcess", "ServerInfo", "StandIn", "main", "rtt_of"]

#: The profile without a WAN proxy: the client talks to the stand-in on loopback directly.
LOOPBACK = "loopback"


def rtt_of(profile: str) -> float:
    """The round trip (ms) a profile adds: :data:`~polo_fast.testing.wan.PROFILES`'s, or 0
    for :data:`LOOPBACK`."""
    from polo_fast.testing.wan import PROFILES

    return 0.0 if profile == LOOPBACK else float(PROFILES[profile])


@dataclass(frozen=True)
class StandIn:
    """Where one API's stand-in and its proxies listen."""

    url: str
    ca_path: str | None
    proxies: dict[str, int]
    keepalive_timeout: float | None = None

    def profile_url(self, profile: str) -> str:
        """The base URL that reaches the stand-in through ``profile``'s WAN proxy (the
        stand-in's own URL for :data:`LOOPBACK`)."""
        if profile == LOOPBACK:
            return self.url
        return f"https://127.0.0.1:{self.proxies[profile]}"


@dataclass(frozen=True)
class ServerInfo:
    """Where the child's stand-ins and proxies listen (``url``, ``ca_path``, ``proxies``:
    the first API's, for callers of one API)."""

    url: str
    ca_path: str | None
    proxies: dict[str, int]
    rtt_ms: dict[str, float]
    pid: int
    keepalive_timeout: float | None = None
    loop: str = ""
    """The child's event loop: ``uvloop`` or ``asyncio`` (its loop class's package)."""
    apis: dict[str, StandIn] = field(default_factory=dict)
    """Every API's stand-in: ``legacy``, ``spot``."""

    def profile_url(self, profile: str, api: str | None = None) -> str:
        """The base URL that reaches ``api``'s stand-in (default: the first API's) through
        ``profile``'s WAN proxy."""
        if api is not None:
            return self.apis[api].profile_url(profile)
        return StandIn(self.url, self.ca_path, self.proxies).profile_url(profile)


def _standin(api: str, keys: dict[str, str], colo: str) -> Any:
    """The stand-in of ``api`` (not started), rate limits off."""
    if api == "spot":
        from polo_fast.testing.spot import SpotExchange

        return SpotExchange(keys=keys, rate_limit_scale=None, colo=colo)
    from polo_fast.testing.exchange import StandInExchange

    return StandInExchange(keys=keys, rate_limit=None, colo=colo, max_open_orders=10_000)


async def _serve(cfg: dict[str, Any]) -> None:
    from polo_fast.testing.wan import PROFILES, WanProxy

    keys: dict[str, str] = cfg["keys"]
    profiles: list[str] = cfg.get("profiles", [])
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        apis: dict[str, Any] = {}
        for api in cfg.get("apis") or ["legacy"]:
            ex = await stack.enter_async_context(_standin(api, keys, cfg.get("colo", "IAD")))
            port = ex.url.rpartition(":")[2]
            proxies: dict[str, int] = {}
            for name in profiles:
                if name == LOOPBACK:
                    continue
                proxy = await stack.enter_async_context(
                    WanProxy("127.0.0.1", int(port), profile=name)
                )
                proxies[name] = int(proxy.port)
            apis[api] = {
                "url": ex.url,
                "ca_path": ex.ca_path,
                "proxies": proxies,
                "keepalive_timeout": ex.keepalive_timeout,
            }
        first = next(iter(apis.values()))
        info = {
            **first,
            "apis": apis,
            "rtt_ms": {n: 0.0 if n == LOOPBACK else float(PROFILES[n]) for n in profiles},
            "loop": type(loop).__module__.partition(".")[0],
        }
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        await loop.run_in_executor(None, sys.stdin.buffer.read)


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: read the config line, serve until stdin closes."""
    del argv
    line = sys.stdin.readline()
    if not line:
        return 1
    cfg = json.loads(line)
    cpus = cfg.get("cpus")
    if cpus and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(cpus))
    if cfg.get("loop", "uvloop") == "asyncio":
        asyncio.run(_serve(cfg))
    else:  # the loop ``polo-fast exchange`` serves on: uvloop's when it is installed
        run_loop(_serve(cfg))
    return 0


class ExchangeProcess:
    """Start the child (:func:`main`) and read where it listens; stop it on exit.

    Args:
        keys: every key -> secret the run will use (every stand-in knows all of them).
        profiles: the WAN profiles to start one proxy for each (per API).
        apis: the stand-ins to start: ``legacy``, ``spot`` or both.
        cpus: CPUs to pin the child to (None: no pinning).
        loop: the child's event loop: ``uvloop`` (the default: :mod:`polo_fast._loop`'s,
            as ``polo-fast exchange`` uses; stock asyncio where uvloop is not installed) or
            ``asyncio`` (the stock loop).
        timeout: seconds to wait for the child to listen.
    """

    def __init__(
        self,
        keys: dict[str, str],
        profiles: Sequence[str],
        *,
        apis: Sequence[str] = ("legacy",),
        cpus: Sequence[int] | None = None,
        loop: str = "uvloop",
        timeout: float = 60.0,
    ) -> None:
        self._cfg = {
            "keys": keys,
            "profiles": list(profiles),
            "apis": list(apis),
            "colo": "IAD",
            "cpus": list(cpus) if cpus else None,
            "loop": loop,
        }
        self._timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None
        self.info: ServerInfo | None = None

    def start(self) -> ServerInfo:
        """Start the child and wait until it listens.

        Raises:
            RuntimeError: with the child's stderr if it exits or does not answer in time.
        """
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from polo_fast.bench.server import main; raise SystemExit(main())",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=env,
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(self._cfg).encode() + b"\n")
        proc.stdin.flush()
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(self._timeout)
        line = proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError(f"the stand-in exchange process did not start: {self._stderr()}")
        data = json.loads(line)
        self.info = ServerInfo(
            url=data["url"],
            ca_path=data["ca_path"],
            proxies={k: int(v) for k, v in data["proxies"].items()},
            rtt_ms={k: float(v) for k, v in data["rtt_ms"].items()},
            pid=proc.pid,
            keepalive_timeout=data.get("keepalive_timeout"),
            loop=str(data.get("loop", "")),
            apis={
                api: StandIn(
                    url=d["url"],
                    ca_path=d["ca_path"],
                    proxies={k: int(v) for k, v in d["proxies"].items()},
                    keepalive_timeout=d.get("keepalive_timeout"),
                )
                for api, d in (data.get("apis") or {}).items()
            },
        )
        return self.info

    def _stderr(self) -> str:
        if self._err is None:
            return ""
        self._err.seek(0)
        text = self._err.read().decode(errors="replace").strip()
        return text[-2000:] or "(no output)"

    def stop(self) -> None:
        """Close the child's stdin (it then shuts down) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._err is not None:
            self._err.close()
            self._err = None

    def __enter__(self) -> ServerInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
