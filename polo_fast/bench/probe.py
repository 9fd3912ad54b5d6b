"""Timed HTTP(S) probes with the standard library: DNS, TCP connect, TLS handshake, round trip.

Each phase is timed on its own (``time.perf_counter``): name resolution, the TCP three-way
handshake (one network round trip), the TLS handshake (one more with TLS 1.3, two with 1.2)
and an HTTP request on the open connection (one round trip plus the server's time). Used by
``polo-fast colo``; nothing here is on polo_fast's request path.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ConnectTiming", "HttpProbe", "ProbeError", "Response", "make_ssl_context"]

_MAX_BODY = 1 << 20


class ProbeError(Exception):
    """A probe could not complete: bad URL, unreachable host, TLS failure, HTTP error."""


@dataclass(frozen=True)
class ConnectTiming:
    """How long opening one connection took, per phase, in milliseconds."""

    dns_ms: float
    tcp_ms: float
    tls_ms: float | None
    address: str
    tls_version: str | None


@dataclass(frozen=True)
class Response:
    """One HTTP answer and the time from the request's first byte out to its last byte in."""

    status: int
    reason: str
    content_type: str
    body: bytes
    rtt_ms: float


def make_ssl_context(ca_path: str | None = None) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2 minimum); ``ca_path`` adds a trusted CA file."""
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_path:
        try:
            ctx.load_verify_locations(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise ProbeError(f"cannot load CA file {ca_path}: {exc}") from exc
    return ctx


class HttpProbe:
    """One keep-alive HTTP/1.1 connection to ``url``'s host, with every phase timed.

    Args:
        url: ``https://host[:port]`` or ``http://host[:port]``; its path is ignored.
        ca_path: an extra CA to trust (the stand-in exchange's).
        timeout: seconds for each phase.

    Raises:
        ProbeError: for a URL that is not http(s) or has no host.
    """

    def __init__(self, url: str, *, ca_path: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProbeError(f"not an http(s) URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        try:
            port = parts.port
        except ValueError as exc:
            raise ProbeError(f"bad port in {url!r}") from exc
        self.port = port or (443 if self.scheme == "https" else 80)
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if self.port == default else f"{host}:{self.port}"
        self.timeout = timeout
        self._ctx = make_ssl_context(ca_path) if self.scheme == "https" else None
        self._conn: http.client.HTTPConnection | None = None

    def connect(self) -> ConnectTiming:
        """Open a fresh connection (closing any previous one) and time each phase.

        Raises:
            ProbeError: if the name does not resolve, the connection is refused or times
                out, or the TLS handshake or certificate check fails.
        """
        self.close()
        t0 = time.perf_counter()
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ProbeError(f"cannot resolve {self.host}: {exc}") from exc
        t1 = time.perf_counter()
        sock: socket.socket | None = None
        last: OSError | None = None
        address = ""
        t2 = t1
        for family, type_, proto, _name, sockaddr in infos:
            s = socket.socket(family, type_, proto)
            s.settimeout(self.timeout)
            try:
                t1 = time.perf_counter()
                s.connect(sockaddr)
                t2 = time.perf_counter()
            except OSError as exc:
                s.close()
                last = exc
                continue
            sock, address = s, str(sockaddr[0])
            break
        if sock is None:
            raise ProbeError(f"cannot connect to {self.host}:{self.port}: {last}") from last
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls_ms: float | None = None
        tls_version: str | None = None
        if self._ctx is not None:
            try:
                ssock = self._ctx.wrap_socket(
                    sock, server_hostname=self.host, do_handshake_on_connect=False
                )
                t3 = time.perf_counter()
                ssock.do_handshake()
                tls_ms = (time.perf_counter() - t3) * 1000.0
            except ssl.SSLCertVerificationError as exc:
                sock.close()
                raise ProbeError(
                    f"TLS certificate of {self.host} not trusted: {exc.verify_message}"
                    " (use --ca-path for a private CA such as the stand-in's)"
                ) from exc
            except (ssl.SSLError, OSError) as exc:
                sock.close()
                raise ProbeError(
                    f"TLS handshake with {self.host}:{self.port} failed: {exc}"
                ) from exc
            tls_version = ssock.version()
            sock = ssock
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        conn.sock = sock
        self._conn = conn
        return ConnectTiming(
            dns_ms=(t1 - t0) * 1000.0,
            tcp_ms=(t2 - t1) * 1000.0,
            tls_ms=tls_ms,
            address=address,
            tls_version=tls_version,
        )

    def get(self, path: str) -> Response:
        """GET ``path`` on the open connection (opening one first if needed) and time it.

        Raises:
            ProbeError: on a connection failure, a timeout or an oversized answer.
        """
        if self._conn is None or self._conn.sock is None:
            self.connect()
        conn = self._conn
        assert conn is not None
        headers = {
            "Host": self.host_header,
            "User-Agent": "polo-fast-colo/0.1",
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read(_MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {exc!r}"
            raise ProbeError(f"GET {path} on {self.host}:{self.port} {what}") from exc
        rtt = (time.perf_counter() - t0) * 1000.0
        if len(body) > _MAX_BODY:
            self.close()
            raise ProbeError(f"GET {path}: answer larger than {_MAX_BODY} bytes")
        if resp.will_close:
            self.close()
        return Response(
            status=resp.status,
            reason=resp.reason,
            content_type=resp.getheader("Content-Type", "") or "",
            body=body,
            rtt_ms=rtt,
        )

    def close(self) -> None:
        """Close the connection, if open."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
