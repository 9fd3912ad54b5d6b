"""The ``polo-fast`` command: argument parsing and dispatch only.

Sub-commands:

- ``polo-fast bench``: latency side by side with other clients, per RTT profile.
- ``polo-fast colo``: which Cloudflare colo serves this host, and how far it is from IAD.
- ``polo-fast exchange``: run the stand-in exchange on loopback.
- ``polo-fast wan``: run the WAN-delay proxy in front of an exchange.
- ``polo-fast sign``: print the body and the ``Sign`` header for given parameters.

Each sub-command's engine is imported only when it runs, so ``polo-fast sign`` does not load
aiohttp or matplotlib. Every sub-command parses with :class:`Parser` and the value types
below, so a bad flag is one line on stderr naming the flag and the problem (exit 2), and
nothing is started or sent.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

__all__ = ["Parser", "count", "main", "non_negative", "port_number", "positive"]

T = TypeVar("T", int, float)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` on one line and exit 2 (no usage dump)."""
        self.exit(2, f"{self.prog}: error: {message} (--help for usage)\n")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _ranged(
    parse: Callable[[str], T], ok: Callable[[T], bool], rule: str, doc: str
) -> Callable[[str], T]:
    """An argparse type: ``parse(text)``, refused with ``"RULE, got TEXT"`` unless ``ok``."""

    def check(text: str) -> T:
        value = parse(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{rule}, got {text}")
        return value

    check.__doc__ = doc
    return check


non_negative = _ranged(
    _number, lambda v: v >= 0, "must be >= 0", "A finite number >= 0 (nan and inf refused)."
)
positive = _ranged(_number, lambda v: v > 0, "must be > 0", "A finite number > 0.")
count = _ranged(_integer, lambda v: v >= 1, "must be at least 1", "A whole number >= 1.")
port_number = _ranged(
    _integer, lambda v: 0 <= v <= 65535, "a port is 0-65535", "A TCP port (0: pick a free one)."
)
_nonce = _ranged(_integer, lambda v: 0 <= v < 1 << 64, "a nonce is 0 .. 2**64-1", "A nonce.")


_USAGE = """usage: polo-fast {bench,colo,exchange,wan,sign} [options]

  bench      measure signed round trips side by side with other clients (make bench)
  colo       find the Cloudflare colo serving this host and the RTT to the API
  exchange   run the stand-in exchange on loopback (HTTPS, real signature checks)
  wan        run the WAN-delay proxy (named RTT profiles) in front of an exchange
  sign       print the form body and Sign header for COMMAND and NAME=VALUE pairs

'polo-fast COMMAND --help' shows a command's options.
"""


def _sign(argv: Sequence[str]) -> int:
    parser = Parser(
        prog="polo-fast sign",
        description=(
            "Print the form-encoded body and its Sign (HMAC-SHA512 hex), like the docs' "
            "'openssl sha512 -hmac' line. The secret is read from the environment variable "
            "named by --secret-env (default POLO_FAST_SECRET), never from the command line, "
            "so it stays out of shell history and process listings."
        ),
    )
    parser.add_argument("command", help="the API command, e.g. returnBalances")
    parser.add_argument("params", nargs="*", metavar="NAME=VALUE", help="command parameters")
    parser.add_argument("--nonce", type=_nonce, default=None, help="nonce (default: now, in ms)")
    parser.add_argument(
        "--secret-env", default="POLO_FAST_SECRET", help="variable holding the API secret"
    )
    args = parser.parse_args(list(argv))
    secret = os.environ.get(args.secret_env)
    if not secret:
        parser.error(f"set the API secret in the environment variable {args.secret_env}")
    pairs: list[tuple[str, str]] = [("command", args.command)]
    for item in args.params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"parameters are NAME=VALUE, got {item!r}")
        pairs.append((name, value))

    from polo_fast.signing import sign

    body, signature = sign(secret, pairs, nonce=args.nonce)
    sys.stdout.write(f"body: {body.decode('ascii')}\nSign: {signature}\n")
    return 0


def _lazy(module: str, func: str) -> Callable[[Sequence[str]], int]:
    def run(argv: Sequence[str]) -> int:
        import importlib

        entry = getattr(importlib.import_module(module), func)
        return int(entry(list(argv)))

    return run


_COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "bench": _lazy("polo_fast.bench", "main_bench"),
    "colo": _lazy("polo_fast.bench", "main_colo"),
    "exchange": _lazy("polo_fast.testing._cli", "run_exchange"),
    "wan": _lazy("polo_fast.testing._cli", "run_wan"),
    "sign": _sign,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``polo-fast`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write(_USAGE)
        return 2
    if args[0] in ("-h", "--help"):
        sys.stdout.write(_USAGE)
        return 0
    if args[0] in ("-V", "--version"):
        from polo_fast import __version__

        sys.stdout.write(f"polo-fast {__version__}\n")
        return 0
    handler = _COMMANDS.get(args[0])
    if handler is None:
        sys.stderr.write(f"polo-fast: unknown command {args[0]!r}\n\n{_USAGE}")
        return 2
    try:
        return handler(args[1:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
