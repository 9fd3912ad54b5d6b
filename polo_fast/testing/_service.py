"""What every stand-in exchange shares: an HTTP(S) service on loopback with API keys.

:class:`StandInService` is the base of the legacy stand-in
(:class:`~polo_fast.testing.exchange.StandInExchange`) and of the Spot one
(:class:`~polo_fast.testing.spot.SpotExchange`). It holds the argument checks, the keys'
secrets, HTTPS with a throwaway ``trustme`` CA, the listening socket (closing idle keep-alive
connections after ``keepalive_timeout``), the journal file, the fault rules and
``GET /cdn-cgi/trace``; the lifecycle (``async with``, ``running()``) comes from
:class:`~polo_fast.testing._background.Service`. A subclass adds its routes
(:meth:`StandInService._routes`), the commands a fault rule may name and what it journals.
"""

from __future__ import annotations

import logging
import math
import os
import ssl
import tempfile
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson
from aiohttp import web

from polo_fast.testing._background import Service
from polo_fast.testing._faults import ACTIONS, Faults
from polo_fast.testing._http import listen, trace

__all__ = ["DEFAULT_KEEPALIVE_TIMEOUT", "StandInService", "positive"]

log = logging.getLogger(__name__)

#: Seconds an idle keep-alive connection stays open before the stand-in closes it.
DEFAULT_KEEPALIVE_TIMEOUT = 60.0


def positive(name: str, value: float) -> float:
    """``value`` as a float when it is finite and above 0.

    Raises:
        ValueError: naming ``name`` otherwise.
    """
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0: {value}")
    return float(value)


class StandInService(Service):
    """An HTTP(S) stand-in on loopback: keys, throwaway CA, journal, faults, ``/cdn-cgi/trace``.

    Args:
        keys: API key -> secret. The secret's bytes are the HMAC key, as on the exchange.
        tls: serve HTTPS with a throwaway CA (``ca_path``); False serves plain HTTP.
        host, port: where to listen; port 0 picks a free one (``url`` says which).
        colo: the ``colo=`` value of ``/cdn-cgi/trace``.
        journal_path: where requests are appended as JSON lines (a temp file if None).
        keepalive_timeout: seconds a keep-alive connection may stay idle (no request in
            progress) before the stand-in closes it, as a real server does.

    Raises:
        ValueError: for a port outside 0-65535 or a keep-alive timeout that is not a finite
            number above 0.
    """

    thread_name = "polo-standin"
    #: What a fault rule's ``command`` may name, and what the refusal calls it.
    fault_commands: ClassVar[Collection[str]] = ()
    fault_command_word: ClassVar[str] = "command"

    def __init__(
        self,
        keys: Mapping[str, str | bytes] | None,
        tls: bool,
        host: str,
        port: int,
        colo: str,
        journal_path: str | os.PathLike[str] | None,
        keepalive_timeout: float,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535: {port}")
        self.keepalive_timeout = positive("keepalive_timeout", keepalive_timeout)
        self._secrets: dict[str, bytes] = {
            k: (s.encode() if isinstance(s, str) else bytes(s)) for k, s in (keys or {}).items()
        }
        self.tls = tls
        self.host = host
        self.port = port
        self.colo = colo
        self._faults = Faults()
        self._tmp = tempfile.TemporaryDirectory(prefix=self.thread_name + "-")
        self.ca_path: str | None = None
        self._ssl: ssl.SSLContext | None = self._make_tls() if tls else None
        self.journal_path = str(journal_path or Path(self._tmp.name) / "journal.jsonl")
        self._journal: IO[bytes] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, keys={len(self._secrets)})"

    def _make_tls(self) -> ssl.SSLContext:
        try:
            import trustme
        except ImportError as exc:  # pragma: no cover - trustme is in the test extra
            raise RuntimeError(
                "the stand-in's HTTPS needs trustme: pip install 'polo_fast[test]' "
                "(or pass tls=False)"
            ) from exc

        ca = trustme.CA()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ca.issue_cert("127.0.0.1", "::1", "localhost").configure_cert(ctx)
        path = Path(self._tmp.name) / "ca.pem"
        path.write_bytes(ca.cert_pem.bytes())
        self.ca_path = str(path)
        return ctx

    # -- lifecycle ---------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        """Add the subclass's routes to ``app`` (``/cdn-cgi/trace`` is already there)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Start listening; sets ``url``.

        Raises:
            OSError: when the journal cannot be opened or the address cannot be listened on
                (everything opened so far is closed again).
        """
        try:
            app = web.Application(client_max_size=1 << 20)
            app.router.add_get("/cdn-cgi/trace", self._trace)
            self._routes(app)
            self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - closed in stop()
            self._runner, self.port, self.url = await listen(
                app, self.host, self.port, self._ssl, keepalive_timeout=self.keepalive_timeout
            )
        except BaseException:
            await self.stop()
            raise
        log.debug("%s listening on %s", type(self).__name__, self.url)

    async def stop(self) -> None:
        """Close every connection and stop listening (the journal file stays)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    async def _trace(self, request: web.Request) -> web.StreamResponse:
        return trace(request, self.colo)

    # -- faults and journal ------------------------------------------------------------------
    def add_fault(
        self, action: str, *, command: str | None = None, count: int | None = 1, delay: float = 0.0
    ) -> None:
        """Make the next ``count`` requests for ``command`` (None: any) fail with ``action``.

        ``count=None`` keeps the rule until :meth:`clear_faults`. ``delay`` is the seconds of
        ``delay`` and the duration of ``trickle``. Actions are listed in
        :mod:`polo_fast.testing._faults`; ``rate_limit`` answers with the API's 429 body.

        Raises:
            ValueError: for an unknown action or command, or a count below 1.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown fault action {action!r}; one of {sorted(ACTIONS)}")
        if command is not None and command not in self.fault_commands:
            raise ValueError(f"unknown {self.fault_command_word} {command!r}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        self._faults.add(action, command, count, float(delay))

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        self._faults.clear()

    def journal(self) -> list[dict[str, Any]]:
        """Every journaled request so far, oldest first (read back from the file)."""
        if self._journal is not None:
            self._journal.flush()
        with open(self.journal_path, "rb") as f:
            return [orjson.loads(line) for line in f if line.strip()]

    def _write_journal(self, entry: dict[str, Any]) -> None:
        """Append ``entry``, stamped with ``ts``, as one JSON line (nothing when stopped)."""
        if self._journal is None:
            return
        line = orjson.dumps({"ts": time.time(), **entry}, default=str)
        self._journal.write(line + b"\n")
        self._journal.flush()
