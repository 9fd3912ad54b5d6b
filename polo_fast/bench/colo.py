"""``polo-fast colo``: which Cloudflare colo serves this host, and how far that is from the
target colo (``--target``, default IAD).

Fetches ``/cdn-cgi/trace`` (by default Cloudflare's own), parses it (:mod:`.trace`), times a
TCP connect, a TLS handshake and HTTP round trips to each API host (:mod:`.probe`;
``--api-url`` is repeatable and defaults to both ``https://poloniex.com``, the legacy API,
and ``https://api.poloniex.com``, the Spot API), and gives a verdict: in the target colo, or
not and (for IAD, the one colo polo-fast has a distance table for) by about how much latency
per request. ``--target`` takes any 3-letter colo code (``DUB``: the exchange's later
advice), upper-cased. ``--json`` prints one JSON object for scripts. A bad or unreachable
answer prints a clear message on stderr and exits 1 (2 for a usage error).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from polo_fast.bench.probe import HttpProbe, ProbeError
from polo_fast.bench.stats import median
from polo_fast.bench.trace import ColoInfo, TraceError, colo_info, parse_trace
from polo_fast.cli import Parser, positive

__all__ = [
    "DEFAULT_API_URLS",
    "DEFAULT_TARGET",
    "ColoError",
    "ColoReport",
    "api_path_for",
    "build_parser",
    "colo_code",
    "fetch_trace",
    "main_colo",
    "measure_api",
    "verdict",
]

DEFAULT_TRACE_URL = "https://www.cloudflare.com/cdn-cgi/trace"
DEFAULT_API_URL = "https://poloniex.com"
#: The API hosts timed when no ``--api-url`` is given: the legacy API's and the Spot API's.
DEFAULT_API_URLS = ("https://poloniex.com", "https://api.poloniex.com")
#: A small public answer that comes from the exchange's origin, not the Cloudflare edge.
DEFAULT_API_PATH = "/public?command=returnOrderBook&currencyPair=BTC_ETH&depth=1"
#: The same on the Spot API (a host named ``api.*``): a five-level order book.
SPOT_API_PATH = "/markets/BTC_USDT/orderBook?limit=5"
#: The colo ``--target`` defaults to: Ashburn, next to the exchange's servers (the seed's
#: advice; the exchange's later one is DUB).
DEFAULT_TARGET = "IAD"
_COLO_CODE = re.compile(r"[A-Z]{3}\Z")


def api_path_for(url: str) -> str:
    """The default path timed on ``url``: :data:`SPOT_API_PATH` on a host named ``api.*``
    (the Spot API), else :data:`DEFAULT_API_PATH` (the legacy public API)."""
    host = (urlsplit(url).hostname or "").lower()
    return SPOT_API_PATH if host.startswith("api.") else DEFAULT_API_PATH


def colo_code(text: str) -> str:
    """``--target``'s type: a 3-letter colo code, upper-cased (``dub`` -> ``DUB``).

    Raises:
        argparse.ArgumentTypeError: anything but three ASCII letters.
    """
    code = text.strip().upper()
    if not _COLO_CODE.match(code):
        raise argparse.ArgumentTypeError(f"a 3-letter colo code such as IAD or DUB: {text!r}")
    return code


class ColoError(Exception):
    """``polo-fast colo`` could not give an answer (unreachable, bad answer, no colo)."""


def nearest_profile(extra_rtt_ms: float) -> tuple[str, float]:
    """Return the bench WAN profile (:data:`polo_fast.testing.wan.PROFILES`) whose RTT is
    closest to ``extra_rtt_ms``."""
    from polo_fast.testing.wan import PROFILES

    name = min(PROFILES, key=lambda n: abs(PROFILES[n] - extra_rtt_ms))
    return name, PROFILES[name]


def fetch_trace(
    url: str, *, ca_path: str | None = None, timeout: float = 10.0
) -> tuple[dict[str, str], float]:
    """GET a ``/cdn-cgi/trace`` URL and parse it; return (trace, round trip ms).

    Raises:
        ColoError: when the host is unreachable, answers non-200, or the body is not a trace.
    """
    parts = urlsplit(url)
    path = parts.path or "/cdn-cgi/trace"
    if parts.query:
        path += "?" + parts.query
    try:
        probe = HttpProbe(url, ca_path=ca_path, timeout=timeout)
        try:
            resp = probe.get(path)
        finally:
            probe.close()
    except ProbeError as exc:
        raise ColoError(f"cannot fetch {url}: {exc}") from exc
    if resp.status != 200:
        raise ColoError(f"{url} answered HTTP {resp.status} {resp.reason}, not a trace")
    try:
        trace = parse_trace(resp.body)
    except TraceError as exc:
        raise ColoError(f"{url} did not answer a Cloudflare trace: {exc}") from exc
    return trace, resp.rtt_ms


@dataclass
class ApiTiming:
    """Timings to the API host over ``samples`` fresh connections (milliseconds)."""

    url: str
    address: str
    tls_version: str | None
    dns_ms: list[float] = field(default_factory=list)
    tcp_ms: list[float] = field(default_factory=list)
    tls_ms: list[float] = field(default_factory=list)
    first_request_ms: list[float] = field(default_factory=list)
    rtt_ms: list[float] = field(default_factory=list)
    status: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: median, min and the samples of each phase."""

        def agg(xs: list[float]) -> dict[str, Any] | None:
            if not xs:
                return None
            return {
                "median": round(median(xs), 3),
                "min": round(min(xs), 3),
                "samples": [round(x, 3) for x in xs],
            }

        return {
            "url": self.url,
            "address": self.address,
            "tls_version": self.tls_version,
            "http_status": self.status,
            "dns_ms": agg(self.dns_ms),
            "tcp_connect_ms": agg(self.tcp_ms),
            "tls_handshake_ms": agg(self.tls_ms),
            "first_request_ms": agg(self.first_request_ms),
            "http_rtt_ms": agg(self.rtt_ms),
        }


def measure_api(
    api_url: str,
    *,
    path: str = DEFAULT_API_PATH,
    ca_path: str | None = None,
    samples: int = 5,
    timeout: float = 10.0,
) -> ApiTiming:
    """Time ``samples`` fresh connections to the API host and ``samples`` warm round trips.

    Each fresh connection times DNS, TCP connect, TLS handshake and its first GET; then as
    many GETs again on the last, already open connection give the warm HTTP round trip.

    Raises:
        ColoError: when the host cannot be reached or the connection breaks.
    """
    samples = max(1, samples)
    try:
        probe = HttpProbe(api_url, ca_path=ca_path, timeout=timeout)
    except ProbeError as exc:
        raise ColoError(str(exc)) from exc
    timing = ApiTiming(url=api_url, address="", tls_version=None)
    try:
        for _ in range(samples):
            c = probe.connect()
            timing.address, timing.tls_version = c.address, c.tls_version
            timing.dns_ms.append(c.dns_ms)
            timing.tcp_ms.append(c.tcp_ms)
            if c.tls_ms is not None:
                timing.tls_ms.append(c.tls_ms)
            resp = probe.get(path)
            timing.first_request_ms.append(resp.rtt_ms)
            timing.status = resp.status
        for _ in range(samples):
            resp = probe.get(path)
            timing.rtt_ms.append(resp.rtt_ms)
            timing.status = resp.status
    except ProbeError as exc:
        raise ColoError(f"API host {api_url}: {exc}") from exc
    finally:
        probe.close()
    return timing


@dataclass
class ColoReport:
    """Everything ``polo-fast colo`` found out (``apis``: one timing per API host)."""

    trace_url: str
    trace: dict[str, str]
    info: ColoInfo
    apis: list[ApiTiming]
    verdict: str
    nearest_profile: str | None = None

    @property
    def api(self) -> ApiTiming | None:
        """The first API host's timings (None with ``--no-api``)."""
        return self.apis[0] if self.apis else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output; ``api`` is the first of ``apis``)."""
        return {
            "trace_url": self.trace_url,
            "trace": self.trace,
            "colo": self.info.colo,
            "city": self.info.city,
            "target": self.info.target,
            "in_target": self.info.in_target,
            "in_iad": self.info.in_iad,
            "est_extra_rtt_ms": self.info.est_extra_rtt_ms,
            "nearest_profile": self.nearest_profile,
            "api": self.api.as_dict() if self.api else None,
            "apis": [a.as_dict() for a in self.apis],
            "verdict": self.verdict,
        }


def _measured(apis: ApiTiming | Sequence[ApiTiming] | None) -> str:
    timings = [apis] if isinstance(apis, ApiTiming) else list(apis or ())
    parts = [f"{a.url} {median(a.rtt_ms):.1f} ms" for a in timings if a.rtt_ms]
    if not parts:
        return ""
    if len(timings) == 1:
        return f"; measured HTTP round trip to the API host {median(timings[0].rtt_ms):.1f} ms"
    return "; measured HTTP round trips: " + ", ".join(parts)


def verdict(info: ColoInfo, api: ApiTiming | Sequence[ApiTiming] | None) -> tuple[str, str | None]:
    """Return (one-sentence verdict, nearest bench profile) for a colo and the API timings
    (one, several, or None), against ``info.target`` (IAD unless ``colo_info`` was given
    another)."""
    measured = _measured(api)
    target = info.target
    if info.colo is None:
        return (
            "unknown: the trace has no colo line, so the serving location is unknown" + measured,
            None,
        )
    where = f"{info.colo} ({info.city})" if info.city else info.colo
    if info.in_target or (info.in_target is None and info.in_iad and target == "IAD"):
        why = "the colo next to Poloniex's servers" if target == "IAD" else "the target colo"
        return f"in {target}: served from {where}, {why}" + measured, "iad"
    if info.est_extra_rtt_ms is None:
        why = (
            "a colo polo-fast has no distance for"
            if target == "IAD"
            else "polo-fast's distance table covers IAD only; the measured round trip is the "
            "figure to read"
        )
        return f"not in {target}: served from {where}, {why}" + measured, None
    name, rtt = nearest_profile(info.est_extra_rtt_ms)
    return (
        f"not in {target}: served from {where}, about +{info.est_extra_rtt_ms:.0f} ms per round "
        f"trip compared with a host in {target} (bench profile '{name}', {rtt:g} ms)" + measured,
        name,
    )


def _fmt(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"{median(xs):8.2f} ms   (min {min(xs):.2f})"


def render(report: ColoReport) -> str:
    """The human-readable report."""
    t: Mapping[str, str] = report.trace
    info = report.info
    where = info.colo or "(none)"
    if info.city:
        where += f" ({info.city})"
    extras = "  ".join(f"{k} {t[k]}" for k in ("ip", "loc", "tls", "http") if k in t)
    lines = [f"colo            {where}    from {report.trace_url}"]
    if extras:
        lines.append(f"                {extras}")
    for api in report.apis:
        n = len(api.tcp_ms)
        lines.append(
            f"API host        {api.url} ({api.address}), {api.tls_version or 'plain TCP'}, "
            f"{n} connection(s), HTTP {api.status}"
        )
        lines.append(f"  DNS           {_fmt(api.dns_ms)}")
        lines.append(f"  TCP connect   {_fmt(api.tcp_ms)}")
        if api.tls_ms:
            lines.append(f"  TLS handshake {_fmt(api.tls_ms)}")
        lines.append(f"  first request {_fmt(api.first_request_ms)}")
        lines.append(f"  warm request  {_fmt(api.rtt_ms)}")
    lines.append(f"verdict         {report.verdict}")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The ``polo-fast colo`` argument parser."""
    p = Parser(
        prog="polo-fast colo",
        description="Find the Cloudflare colo serving this host, time TCP, TLS and HTTP to "
        "the API hosts, and say whether this host is served from the target colo (IAD, "
        "Ashburn, by default) or how far from it.",
    )
    p.add_argument(
        "--target",
        type=colo_code,
        default=DEFAULT_TARGET,
        metavar="COLO",
        help=f"the colo the bot should be served from: any 3-letter code, upper-cased "
        f"(default {DEFAULT_TARGET}; the exchange's later advice is DUB)",
    )
    p.add_argument(
        "--url",
        default=DEFAULT_TRACE_URL,
        help=f"the /cdn-cgi/trace URL (default {DEFAULT_TRACE_URL})",
    )
    p.add_argument(
        "--api-url",
        action="append",
        default=None,
        metavar="URL",
        help=f"an API host to time; repeatable (default both {' and '.join(DEFAULT_API_URLS)})",
    )
    p.add_argument(
        "--api-path",
        default=None,
        help="path requested on each API host for the HTTP round trip (default: "
        f"{SPOT_API_PATH} on an api.* host, else {DEFAULT_API_PATH})",
    )
    p.add_argument("--no-api", action="store_true", help="only read the trace")
    p.add_argument(
        "--ca-path",
        default=None,
        help="PEM file of an extra CA to trust (e.g. the stand-in exchange's)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=5,
        help="fresh connections and warm requests to time (default 5)",
    )
    p.add_argument("--timeout", type=positive, default=10.0, help="seconds per step (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main_colo(argv: Sequence[str] | None = None) -> int:
    """Run ``polo-fast colo``; return the exit code (0 ok, 1 failure, 2 usage)."""
    args = build_parser().parse_args(None if argv is None else list(argv))
    if args.samples < 1:
        sys.stderr.write("polo-fast colo: --samples must be at least 1\n")
        return 2
    urls = list(args.api_url or DEFAULT_API_URLS)
    try:
        trace, _ = fetch_trace(args.url, ca_path=args.ca_path, timeout=args.timeout)
        apis = []
        if not args.no_api:
            apis = [
                measure_api(
                    url,
                    path=args.api_path or api_path_for(url),
                    ca_path=args.ca_path,
                    samples=args.samples,
                    timeout=args.timeout,
                )
                for url in urls
            ]
    except ColoError as exc:
        if args.json:
            sys.stdout.write(json.dumps({"error": str(exc)}) + "\n")
        sys.stderr.write(f"polo-fast colo: {exc}\n")
        return 1
    info = colo_info(trace, args.target)
    text, profile = verdict(info, apis)
    report = ColoReport(args.url, trace, info, apis, text, profile)
    if args.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    if info.colo is None:
        sys.stderr.write(f"polo-fast colo: the trace from {args.url} has no colo line\n")
        return 1
    return 0
