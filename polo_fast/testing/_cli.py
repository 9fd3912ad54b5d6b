"""Command-line entry points: the stand-in exchange and the WAN emulator, each until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from polo_fast.testing._background import new_loop
from polo_fast.testing.exchange import StandInExchange
from polo_fast.testing.wan import PROFILES, WanProxy

__all__ = ["run_exchange", "run_wan"]


def _parse_keys(args: argparse.Namespace) -> tuple[dict[str, str], bool]:
    keys: dict[str, str] = {}
    if args.keys_file:
        for lineno, line in enumerate(Path(args.keys_file).read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, secret = line.partition(":")
            if not sep or not key or not secret:
                raise SystemExit(f"{args.keys_file}:{lineno}: expected KEY:SECRET")
            keys[key.strip()] = secret.strip()
    for item in args.key or ():
        key, sep, secret = item.partition(":")
        if not sep or not key or not secret:
            raise SystemExit(f"--key {key[:8]}...: expected KEY:SECRET")
        keys[key] = secret
    if keys:
        return keys, False
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    key = "-".join("".join(secrets.choice(alnum) for _ in range(8)) for _ in range(4))
    return {key: secrets.token_hex(64)}, True


def run_exchange(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM, return the exit code."""
    parser = argparse.ArgumentParser(
        prog="polo-fast exchange",
        description="Run the stand-in Poloniex exchange (legacy HTTP API) on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: pick a free one)")
    parser.add_argument("--no-tls", action="store_true", help="serve plain HTTP")
    parser.add_argument("--keys-file", help="file of KEY:SECRET lines")
    parser.add_argument(
        "--key",
        action="append",
        metavar="KEY:SECRET",
        help="an API key and its secret (repeatable)",
    )
    parser.add_argument(
        "--withdraw-key",
        action="append",
        default=[],
        metavar="KEY",
        help="grant this key withdrawal permission (repeatable)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=6.0,
        help="private calls per second per key; 0 turns it off (default 6)",
    )
    parser.add_argument("--colo", default="IAD", help="colo= of /cdn-cgi/trace (default IAD)")
    parser.add_argument("--journal", help="append accepted requests here (JSON lines)")
    parser.add_argument("--seed", type=int, default=1, help="market seed (default 1)")
    args = parser.parse_args(argv)
    keys, generated = _parse_keys(args)
    ex = StandInExchange(
        keys,
        not args.no_tls,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit or None,
        withdraw_keys=args.withdraw_key,
        colo=args.colo,
        journal_path=args.journal,
        seed=args.seed,
    )

    def announce() -> None:
        out = sys.stdout
        print(f"stand-in exchange: {ex.url}", file=out)
        if ex.ca_path:
            print(f"CA certificate:    {ex.ca_path}", file=out)
        print(f"journal:           {ex.journal_path}", file=out)
        if generated:
            ((key, secret),) = keys.items()
            print(
                "generated API key (shown once; pass --key KEY:SECRET to choose your own):",
                file=out,
            )
            print(f"  key:    {key}\n  secret: {secret}", file=out)
        else:
            print(f"keys:              {', '.join(k[:8] + '...' for k in keys)}", file=out)
        print("Ctrl-C to stop.", file=out, flush=True)

    return _serve_until_signalled(ex, announce)


def run_wan(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, proxy until SIGINT/SIGTERM, return the exit code."""
    parser = argparse.ArgumentParser(
        prog="polo-fast wan", description="Proxy TCP to a target, adding a round-trip time."
    )
    parser.add_argument("target", help="HOST:PORT to forward to (e.g. the stand-in exchange)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--rtt-ms", type=float, help="round-trip time to add, in ms")
    group.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="a named RTT: " + ", ".join(f"{k} {v:g} ms" for k, v in PROFILES.items()),
    )
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="extra RTT, 0..J ms")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    thost, sep, tport = args.target.rpartition(":")
    if not sep or not tport.isdigit():
        parser.error("target must be HOST:PORT")
    proxy = WanProxy(
        thost.strip("[]"),
        int(tport),
        rtt_ms=args.rtt_ms,
        profile=args.profile,
        jitter_ms=args.jitter_ms,
        host=args.host,
        port=args.port,
    )

    def announce() -> None:
        print(
            f"WAN proxy {proxy.host}:{proxy.port} -> {args.target}, "
            f"RTT {proxy.rtt_ms:g} ms (+0..{proxy.jitter_ms:g} jitter). Ctrl-C to stop.",
            flush=True,
        )

    return _serve_until_signalled(proxy, announce)


def _serve_until_signalled(
    service: contextlib.AbstractAsyncContextManager[Any], announce: Callable[[], None]
) -> int:
    """Run ``service`` on a new loop (uvloop if present), ``announce()`` once it is up, and
    serve until SIGINT or SIGTERM; return the exit code."""
    loop = new_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async def serve() -> None:
        async with service:
            announce()
            await stop.wait()

    try:
        loop.run_until_complete(serve())
    except KeyboardInterrupt:  # pragma: no cover - when no signal handler could be set
        pass
    finally:
        loop.close()
    return 0
