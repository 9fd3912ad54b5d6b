"""``polo-fast exchange`` and ``polo-fast wan``: parse, start the service, serve until Ctrl-C.

This is the one command-line module of :mod:`polo_fast.testing`: it imports the services
(:mod:`.exchange`, :mod:`.wan`, and the Spot stand-in on demand), never the other way round.
Usage errors (a port outside 0-65535, a non-finite or negative RTT, a missing keys file, a
Spot stand-in that is not built, ``--withdraw-key`` or a ``--rate-limit`` other than 0 with
``--api spot``) are one line on stderr and exit 2; an address that cannot
be listened on is one line and exit 1. Nothing listens before every flag is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from polo_fast._loop import new_event_loop
from polo_fast.cli import Parser, non_negative, port_number, positive
from polo_fast.testing.exchange import DEFAULT_KEEPALIVE_TIMEOUT, StandInExchange
from polo_fast.testing.keys import make_pair
from polo_fast.testing.wan import PROFILES, WanProxy

__all__ = ["run_exchange", "run_wan"]

#: ``polo-fast exchange --api`` choices: the legacy HTTP API, or the Spot API stand-in.
APIS = ("legacy", "spot")
#: ``--rate-limit``'s default for the legacy stand-in: private calls per second per key.
LEGACY_RATE_LIMIT = 6.0


def _parse_keys(args: argparse.Namespace, parser: Parser) -> tuple[dict[str, str], bool]:
    keys: dict[str, str] = {}
    if args.keys_file:
        try:
            text = Path(args.keys_file).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            parser.error(f"--keys-file {args.keys_file}: cannot read it: {why}")
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, secret = line.partition(":")
            if not sep or not key or not secret:
                parser.error(f"{args.keys_file}:{lineno}: expected KEY:SECRET")
            keys[key.strip()] = secret.strip()
    for item in args.key or ():
        key, sep, secret = item.partition(":")
        if not sep or not key or not secret:
            parser.error("--key: expected KEY:SECRET")  # no part of it: it may be the secret
        keys[key] = secret
    if keys:
        return keys, False
    key, secret = make_pair()
    return {key: secret}, True


def _exchange_parser() -> Parser:
    parser = Parser(
        prog="polo-fast exchange",
        description="Run the stand-in Poloniex exchange (legacy HTTP API by default) on this "
        "machine.",
    )
    parser.add_argument(
        "--api",
        choices=APIS,
        default="legacy",
        help="which API to stand in for: legacy (default) or spot (the Spot API)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=port_number, default=0, help="port, 0-65535 (0: pick a free one)"
    )
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
        type=non_negative,
        default=None,
        help=f"private calls per second per key; 0 turns it off (default {LEGACY_RATE_LIMIT:g}); "
        "with --api spot only 0 is taken (no limits; default: the documented ones)",
    )
    parser.add_argument(
        "--keepalive-timeout",
        type=positive,
        default=DEFAULT_KEEPALIVE_TIMEOUT,
        metavar="SECONDS",
        help="close a keep-alive connection after this long idle, like a real server "
        f"(default {DEFAULT_KEEPALIVE_TIMEOUT:g})",
    )
    parser.add_argument("--colo", default="IAD", help="colo= of /cdn-cgi/trace (default IAD)")
    parser.add_argument("--journal", help="append accepted requests here (JSON lines)")
    parser.add_argument("--seed", type=int, default=1, help="market seed (default 1)")
    return parser


def _spot_exchange(keys: dict[str, str], tls: bool, options: dict[str, Any], parser: Parser) -> Any:
    """The Spot stand-in with the flags both stand-ins take (imported only now)."""
    try:
        cls = importlib.import_module("polo_fast.testing.spot").SpotExchange
    except (ImportError, AttributeError):
        parser.error("--api spot: the Spot API stand-in (polo_fast.testing.spot) is not built yet")
    return cls(keys, tls, **options)


def run_exchange(argv: Sequence[str] | None = None) -> int:
    """``polo-fast exchange``: parse ``argv``, serve until SIGINT/SIGTERM, return the exit code.

    Options: ``--api legacy|spot``, ``--host``, ``--port``, ``--no-tls``, ``--keys-file`` /
    ``--key KEY:SECRET`` (repeatable; without any, one key is generated and printed once),
    ``--withdraw-key``, ``--rate-limit``, ``--keepalive-timeout``, ``--colo``, ``--journal``,
    ``--seed``.
    """
    parser = _exchange_parser()
    args = parser.parse_args(argv)
    keys, generated = _parse_keys(args, parser)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "colo": args.colo,
        "journal_path": args.journal,
        "seed": args.seed,
        "keepalive_timeout": args.keepalive_timeout,
    }
    ex: Any
    if args.api == "spot":
        if args.withdraw_key:
            parser.error("--withdraw-key: the Spot stand-in has no withdrawal permissions")
        if args.rate_limit not in (None, 0):
            parser.error("--rate-limit with --api spot: only 0 (no rate limits) is taken")
        if args.rate_limit == 0:
            options["rate_limit_scale"] = None  # the Spot stand-in's "no limit"
        ex = _spot_exchange(keys, not args.no_tls, options, parser)
    else:
        ex = StandInExchange(
            keys,
            not args.no_tls,
            rate_limit=(LEGACY_RATE_LIMIT if args.rate_limit is None else args.rate_limit) or None,
            withdraw_keys=args.withdraw_key,
            **options,
        )
    title = "stand-in exchange" if args.api == "legacy" else "stand-in Spot exchange"

    def announce() -> None:
        out = sys.stdout
        print(f"{title}: {ex.url}", file=out)
        if getattr(ex, "ws_url", None):
            print(f"WebSocket public:  {ex.ws_url}/public", file=out)
            print(f"WebSocket private: {ex.ws_url}/private", file=out)
        if getattr(ex, "ca_path", None):
            print(f"CA certificate:    {ex.ca_path}", file=out)
        if getattr(ex, "journal_path", None):
            print(f"journal:           {ex.journal_path}", file=out)
        idle = getattr(ex, "keepalive_timeout", None)
        if idle is not None:
            print(f"idle keep-alive:   closed after {idle:g} s", file=out)
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

    return _serve_until_signalled(parser.prog, ex, announce)


def _target(text: str, parser: Parser) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) <= 65535:
        parser.error(f"target must be HOST:PORT with a port 1-65535, got {text!r}")
    return host.strip("[]"), int(port)


def run_wan(argv: Sequence[str] | None = None) -> int:
    """``polo-fast wan``: parse ``argv``, proxy until SIGINT/SIGTERM, return the exit code.

    Arguments: ``TARGET_HOST:PORT`` and ``--rtt-ms`` or ``--profile`` (plus ``--jitter-ms``,
    ``--host``, ``--port``).
    """
    parser = Parser(
        prog="polo-fast wan", description="Proxy TCP to a target, adding a round-trip time."
    )
    parser.add_argument("target", help="HOST:PORT to forward to (e.g. the stand-in exchange)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--rtt-ms", type=non_negative, help="round-trip time to add, in ms (finite, >= 0)"
    )
    group.add_argument(
        "--profile",
        choices=list(PROFILES),
        help="a named RTT: " + ", ".join(f"{k} {v:g} ms" for k, v in PROFILES.items()),
    )
    parser.add_argument(
        "--jitter-ms", type=non_negative, default=0.0, help="extra RTT, 0..J ms (finite, >= 0)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=0, help="port, 0-65535 (0: free)")
    args = parser.parse_args(argv)
    thost, tport = _target(args.target, parser)
    proxy = WanProxy(
        thost,
        tport,
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

    return _serve_until_signalled(parser.prog, proxy, announce)


def _serve_until_signalled(prog: str, service: Any, announce: Callable[[], None]) -> int:
    """Run ``service`` (an async context manager) on a new loop, ``announce()`` once it is
    up, and serve until SIGINT or SIGTERM; return the exit code (1, with one line on stderr,
    when it cannot start listening)."""
    loop = new_event_loop()
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
    except OSError as exc:
        sys.stderr.write(f"{prog}: cannot start: {exc.strerror or exc}\n")
        return 1
    finally:
        loop.close()
    return 0
