"""Fault rules of the stand-in: what goes wrong, for which command, how many times.

A rule names an action, optionally a command (None: any command, public or private) and a
count (None: until cleared). Each matching request uses up one count; the first live rule
that matches wins. Rules may be added from any thread (the sync form runs the server in a
background thread), so the list sits behind a lock.

Actions, and whether the request is executed:

=================  ========  =====================================================
action             executed  what the client sees
=================  ========  =====================================================
``close_before``   no        the connection closes before any answer
``close_after``    yes       the command runs, then the connection closes unanswered
``delay``          yes       the answer comes ``delay`` seconds late
``http_500``       no        HTTP 500 with an HTML page
``http_502``       no        HTTP 502 with Cloudflare's HTML page
``http_503``       no        HTTP 503 with an HTML page
``cf_520``         no        HTTP 520 (Cloudflare: unknown origin error), HTML
``cf_522``         no        HTTP 522 (Cloudflare: origin connection timed out), HTML
``cf_524``         yes       HTTP 524 (Cloudflare: origin answered too late), HTML
``truncate``       yes       a complete HTTP answer whose JSON body is cut in half
``trickle``        yes       the answer's body arrives in pieces over ``delay`` seconds
``rate_limit``     no        HTTP 429 with the exchange's JSON throttle error
=================  ========  =====================================================
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["ACTIONS", "EXECUTES", "FaultRule", "Faults", "html_page"]

ACTIONS: frozenset[str] = frozenset(
    {
        "close_before",
        "close_after",
        "delay",
        "http_500",
        "http_502",
        "http_503",
        "cf_520",
        "cf_522",
        "cf_524",
        "truncate",
        "trickle",
        "rate_limit",
    }
)
EXECUTES: frozenset[str] = frozenset({"close_after", "delay", "cf_524", "truncate", "trickle"})
"""Actions after which the command has run (its effects are real, and journaled)."""

_TITLES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    520: "Web server is returning an unknown error",
    522: "Connection timed out",
    524: "A timeout occurred",
}


def html_page(status: int) -> bytes:
    """An HTML error page in the style of Cloudflare's (5xx from the edge, 52x codes)."""
    title = _TITLES.get(status, f"Error {status}")
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head><title>poloniex.com | '
        f'{status}: {title}</title></head>\n<body>\n<div id="cf-wrapper">\n'
        f'<h1><span class="cf-error-type">Error</span> <span class="code-label">'
        f'Error code {status}</span></h1>\n<h2 class="cf-subheadline">{title}</h2>\n'
        "<p>Cloudflare Ray ID: <strong>7f1e2d3c4b5a6978</strong> &bull; "
        "Performance &amp; security by Cloudflare</p>\n</div>\n</body>\n</html>\n"
    ).encode()


@dataclass
class FaultRule:
    """One rule: ``action`` for ``command`` (None: any), ``count`` more times (None: always)."""

    action: str
    command: str | None
    count: int | None
    delay: float


class Faults:
    """The live fault rules, safe to change from another thread."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, action: str, command: str | None, count: int | None, delay: float) -> None:
        """Add a rule (checked by the caller)."""
        with self._lock:
            self._rules.append(FaultRule(action, command, count, delay))

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, command: str | None) -> FaultRule | None:
        """The first rule matching ``command``, with one use counted; None if none."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.command is None or rule.command == command:
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule
        return None
