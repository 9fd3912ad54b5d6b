"""Cloudflare ``/cdn-cgi/trace`` answers: parsing, colo city names, distance to IAD (or
whether the caller is served from another target colo).

The trace is ``text/plain`` with one ``key=value`` per line (spec §6). It is parsed
generically: LF or CRLF line ends, blank lines, unknown keys and a missing ``colo`` are all
accepted; anything that is not such a listing (an HTML error page, an empty or binary body,
prose) is refused with :class:`TraceError`, so a captive portal or a Cloudflare block page is
never mistaken for a location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "CITIES",
    "IAD_RTT_MS",
    "KNOWN_KEYS",
    "ColoInfo",
    "TraceError",
    "city",
    "colo_info",
    "parse_trace",
]

#: Largest trace body accepted; real ones are ~250 bytes.
MAX_TRACE_BYTES = 64 * 1024

#: Keys a Cloudflare trace is known to carry; at least one must be present.
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "fl",
        "h",
        "ip",
        "ts",
        "visit_scheme",
        "uag",
        "colo",
        "sliver",
        "http",
        "loc",
        "tls",
        "sni",
        "warp",
        "gateway",
        "rbi",
        "kex",
    }
)

_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
_COLO_RE = re.compile(r"[A-Z]{3}\Z")
# Control characters other than TAB, LF and CR never appear in a trace.
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_RE = re.compile(r"<\s*(!doctype|html|head|body|title|script|meta|div|p)\b", re.IGNORECASE)


class TraceError(ValueError):
    """The answer is not a Cloudflare trace (HTML, empty, binary or malformed)."""


def parse_trace(body: bytes | str) -> dict[str, str]:
    """Parse a ``/cdn-cgi/trace`` body into a dict of its ``key=value`` lines.

    Values keep everything after the first ``=`` (they may contain ``=`` themselves, e.g. a
    User-Agent). A key given twice keeps its last value. ``colo`` is upper-cased.

    Raises:
        TraceError: for an empty, oversized, binary or HTML body, or any non-blank line that
            is not ``key=value``, or when no known trace key is present.
    """
    if isinstance(body, bytes):
        if len(body) > MAX_TRACE_BYTES:
            raise TraceError(f"answer is {len(body)} bytes; a trace is a few hundred")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TraceError("answer is binary, not a text trace") from exc
    else:
        text = body
        if len(text) > MAX_TRACE_BYTES:
            raise TraceError(f"answer is {len(text)} characters; a trace is a few hundred")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise TraceError("answer is empty")
    if _CTRL_RE.search(text):
        raise TraceError("answer is binary, not a text trace")
    if _HTML_RE.search(text):
        raise TraceError("answer is an HTML page, not a trace (a block or error page?)")
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.match(key):
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise TraceError(f"line {number} is not key=value: {shown!r}")
        out[key] = value.strip()
    if not KNOWN_KEYS.intersection(out):
        raise TraceError("answer has key=value lines but none of a trace's keys")
    if "colo" in out:
        out["colo"] = out["colo"].upper()
    return out


# Common Cloudflare colos: IATA code, approximate round trip from that city to Ashburn (IAD)
# in ms (public inter-city latency figures, rounded), and the city.
_COLO_TABLE = """
IAD   0 Ashburn, VA
RIC   4 Richmond, VA
PHL   6 Philadelphia, PA
EWR   7 Newark, NJ
JFK   8 New York, NY
LGA   8 New York, NY
PIT   9 Pittsburgh, PA
CLT  10 Charlotte, NC
CMH  11 Columbus, OH
ATL  14 Atlanta, GA
BOS  15 Boston, MA
DTW  15 Detroit, MI
IND  16 Indianapolis, IN
YYZ  16 Toronto
YUL  18 Montreal
ORD  18 Chicago, IL
STL  23 St. Louis, MO
TPA  25 Tampa, FL
MSP  28 Minneapolis, MN
MIA  28 Miami, FL
MCI  30 Kansas City, MO
DFW  32 Dallas, TX
IAH  34 Houston, TX
DEN  45 Denver, CO
MEX  50 Mexico City
PHX  55 Phoenix, AZ
SLC  55 Salt Lake City, UT
LAS  62 Las Vegas, NV
LAX  62 Los Angeles, CA
SJC  62 San Jose, CA
SFO  63 San Francisco, CA
BOG  65 Bogota
SEA  66 Seattle, WA
PDX  68 Portland, OR
YVR  70 Vancouver
DUB  75 Dublin
LHR  76 London
MAN  80 Manchester
CDG  80 Paris
BRU  81 Brussels
AMS  82 Amsterdam
FRA  88 Frankfurt
LIS  88 Lisbon
MAD  90 Madrid
ZRH  95 Zurich
CPH  95 Copenhagen
MXP  96 Milan
VIE 100 Vienna
PRG 100 Prague
OSL 100 Oslo
LIM 100 Lima
WAW 105 Warsaw
ARN 105 Stockholm
HEL 110 Helsinki
HNL 120 Honolulu, HI
GRU 120 Sao Paulo
IST 125 Istanbul
SCL 130 Santiago
TLV 135 Tel Aviv
EZE 135 Buenos Aires
NRT 155 Tokyo
KIX 165 Osaka
ICN 180 Seoul
TPE 185 Taipei
HKG 200 Hong Kong
MNL 200 Manila
DXB 200 Dubai
BOM 200 Mumbai
SYD 200 Sydney
DEL 210 New Delhi
MEL 210 Melbourne
AKL 210 Auckland
SIN 215 Singapore
BKK 215 Bangkok
KUL 220 Kuala Lumpur
CGK 230 Jakarta
JNB 230 Johannesburg
"""


def _load_table() -> tuple[dict[str, str], dict[str, float]]:
    cities: dict[str, str] = {}
    rtts: dict[str, float] = {}
    for line in _COLO_TABLE.strip().splitlines():
        code, rtt, name = line.split(None, 2)
        cities[code] = name
        rtts[code] = float(rtt)
    return cities, rtts


_CITIES, _RTTS = _load_table()

#: City of common Cloudflare colos (IATA codes); others are shown as the bare code.
CITIES: Mapping[str, str] = MappingProxyType(_CITIES)

#: Approximate round trip from each listed colo's city to Ashburn (IAD), in ms: what a bot
#: served there pays per request over one in IAD (an estimate, not a measurement).
IAD_RTT_MS: Mapping[str, float] = MappingProxyType(_RTTS)


def city(code: str) -> str | None:
    """Return the city of a colo code (``IAD`` -> ``Ashburn, VA``), or None if not listed."""
    return CITIES.get(code.upper())


@dataclass(frozen=True)
class ColoInfo:
    """Where a trace says the caller is served from.

    Attributes:
        colo: the IATA code, or None when the trace has no ``colo`` line.
        city: the city for common codes, else None.
        in_iad: True for ``IAD``; None when the colo is unknown.
        est_extra_rtt_ms: the estimated extra round trip per request compared with a host
            in the target colo (None for an unlisted or missing code, and for a target
            other than IAD unless the colo is the target: the table only knows distances to
            IAD).
        target: the colo the bot should be served from (``IAD`` by default).
        in_target: True when served from ``target``; None when the colo is unknown.
    """

    colo: str | None
    city: str | None
    in_iad: bool | None
    est_extra_rtt_ms: float | None
    target: str = "IAD"
    in_target: bool | None = None


def colo_info(trace: Mapping[str, str], target: str = "IAD") -> ColoInfo:
    """Describe the colo named by a parsed trace, against the ``target`` colo."""
    target = target.strip().upper()
    raw = trace.get("colo")
    if raw is None or not raw.strip():
        return ColoInfo(None, None, None, None, target, None)
    code = raw.strip().upper()
    here = code == target
    if not _COLO_RE.match(code):
        return ColoInfo(code, None, code == "IAD", 0.0 if here else None, target, here)
    if here:
        extra: float | None = 0.0
    elif target == "IAD":
        extra = IAD_RTT_MS.get(code)
    else:
        extra = None
    return ColoInfo(code, city(code), code == "IAD", extra, target, here)
