"""``polo-fast colo``: which Cloudflare colo serves this host, and how far that is from IAD.

Fetches ``/cdn-cgi/trace`` (by default Cloudflare's own), parses it (:mod:`.trace`), times a
TCP connect, a TLS handshake and HTTP round trips to the API host (:mod:`.probe`), and gives
a verdict: in IAD, or not and by about how much latency per request. ``--json`` prints one
JSON object for scripts. A bad or unreachable answer prints a clear message on stderr and
exits 1 (2 for a usage error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from polo_fast.bench.probe import HttpProbe, ProbeError
from polo_fast.bench.stats import median
from polo_fast.bench.trace import ColoInfo, TraceError, colo_info, parse_trace
from polo_fast.cli import Parser, positive

__all__ = ["ColoError", "ColoReport", "fetch_trace", "main_colo", "measure_api", "verdict"]

DEFAULT_TRACE_URL = "https://www.cloudflare.com/cdn-cgi/trace"
DEFAULT_API_URL = "https://poloniex.com"
#: A small public answer that comes from the exchange's origin, not the Cloudflare edge.
DEFAULT_API_PATH = "/public?command=returnOrderBook&currencyPair=BTC_ETH&depth=1"


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
    """Everything ``polo-fast colo`` found out."""

    trace_url: str
    trace: dict[str, str]
    info: ColoInfo
    api: ApiTiming | None
    verdict: str
    nearest_profile: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output)."""
        return {
            "trace_url": self.trace_url,
            "trace": self.trace,
            "colo": self.info.colo,
            "city": self.info.city,
            "in_iad": self.info.in_iad,
            "est_extra_rtt_ms": self.info.est_extra_rtt_ms,
            "nearest_profile": self.nearest_profile,
            "api": self.api.as_dict() if self.api else None,
            "verdict": self.verdict,
        }


def verdict(info: ColoInfo, api: ApiTiming | None) -> tuple[str, str | None]:
    """Return (one-sentence verdict, nearest bench profile) for a colo and the API timings."""
    measured = ""
    if api is not None and api.rtt_ms:
        measured = f"; measured HTTP round trip to the API host {median(api.rtt_ms):.1f} ms"
    if info.colo is None:
        return (
            "unknown: the trace has no colo line, so the serving location is unknown" + measured,
            None,
        )
    where = f"{info.colo} ({info.city})" if info.city else info.colo
    if info.in_iad:
        return (
            f"in IAD: served from {where}, the colo next to Poloniex's servers" + measured,
            "iad",
        )
    if info.est_extra_rtt_ms is None:
        return (
            f"not in IAD: served from {where}, a colo polo-fast has no distance for" + measured,
            None,
        )
    name, rtt = nearest_profile(info.est_extra_rtt_ms)
    return (
        f"not in IAD: served from {where}, about +{info.est_extra_rtt_ms:.0f} ms per round "
        f"trip compared with a host in IAD (bench profile '{name}', {rtt:g} ms)" + measured,
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
    api = report.api
    if api is not None:
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
        "the API host, and say whether this host is in IAD (Ashburn) or how far from it.",
    )
    p.add_argument(
        "--url",
        default=DEFAULT_TRACE_URL,
        help=f"the /cdn-cgi/trace URL (default {DEFAULT_TRACE_URL})",
    )
    p.add_argument(
        "--api-url",
        default=DEFAULT_API_URL,
        help=f"the API host to time (default {DEFAULT_API_URL})",
    )
    p.add_argument(
        "--api-path",
        default=DEFAULT_API_PATH,
        help="path requested on the API host for the HTTP round trip",
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
    try:
        trace, _ = fetch_trace(args.url, ca_path=args.ca_path, timeout=args.timeout)
        api = None
        if not args.no_api:
            api = measure_api(
                args.api_url,
                path=args.api_path,
                ca_path=args.ca_path,
                samples=args.samples,
                timeout=args.timeout,
            )
    except ColoError as exc:
        if args.json:
            sys.stdout.write(json.dumps({"error": str(exc)}) + "\n")
        sys.stderr.write(f"polo-fast colo: {exc}\n")
        return 1
    info = colo_info(trace)
    text, profile = verdict(info, api)
    report = ColoReport(args.url, trace, info, api, text, profile)
    if args.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    if info.colo is None:
        sys.stderr.write(f"polo-fast colo: the trace from {args.url} has no colo line\n")
        return 1
    return 0
