"""Where and how to connect: the URL parsed once, and the TLS context (TLS >= 1.2, verified).

:func:`parse_origin` is the only place a URL's scheme is read, case-insensitively: HTTPS,
or plain HTTP only when the caller said ``allow_insecure_http=True`` (the stand-in's
plain-HTTP mode in tests), never by spelling. :func:`make_ssl_context` builds the one
context every connection uses; verification cannot be switched off.
"""

from __future__ import annotations

import contextvars
import ssl
from typing import Any
from urllib.parse import urlsplit

from polo_fast.errors import PoloniexArgumentError

__all__ = ["TLS_SESSION", "Origin", "make_ssl_context", "parse_origin"]

#: The TLS session a connection being opened should resume (set around ``create_connection``
#: by a lane that has one): a reconnect then skips the certificate work.
TLS_SESSION: contextvars.ContextVar[ssl.SSLSession | None] = contextvars.ContextVar(
    "polo_fast_tls_session", default=None
)


class _ResumingContext(ssl.SSLContext):
    """A client context that offers :data:`TLS_SESSION` (when set) in the handshakes it starts.

    asyncio and uvloop both start a TLS connection with ``wrap_bio``, in the context of the
    coroutine that opened it; nothing else changes.
    """

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if "session" not in kwargs and not kwargs.get("server_side"):
            session = TLS_SESSION.get()
            if session is not None:
                kwargs["session"] = session
        return super().wrap_bio(*args, **kwargs)


class Origin:
    """A parsed base URL.

    Attributes:
        tls: True for ``https``.
        scheme: ``https`` or ``http`` (lower case).
        host: the host name or address (IPv6 without brackets).
        port: the port (443/80 when the URL names none).
        base: the URL's path without its trailing ``/`` (``""`` for the exchange).
        host_header: what goes in ``Host:`` (the port only when it is not the default).
        origin: ``scheme://host_header``.
    """

    __slots__ = ("base", "host", "host_header", "origin", "port", "scheme", "tls")

    def __init__(self, scheme: str, host: str, port: int, base: str) -> None:
        self.scheme = scheme
        self.tls = scheme == "https"
        self.host = host
        self.port = port
        self.base = base
        shown = f"[{host}]" if ":" in host else host
        default = port == (443 if self.tls else 80)
        self.host_header = shown if default else f"{shown}:{port}"
        self.origin = f"{scheme}://{self.host_header}"

    def __repr__(self) -> str:
        return f"<Origin {self.origin}{self.base}>"


def parse_origin(url: object, *, allow_insecure_http: bool = False) -> Origin:
    """Parse the exchange's base URL, once.

    Raises:
        PoloniexArgumentError: not ``https://host[:port][/path]``; or ``http://`` without
            ``allow_insecure_http=True``.
    """
    if not isinstance(url, str):
        raise PoloniexArgumentError(f"url must be a string, not {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise PoloniexArgumentError(f"url is not a valid URL: {url!r} ({exc})") from None
    scheme = parts.scheme.lower()  # urlsplit lowers it already; never rely on the spelling
    host = parts.hostname
    if scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise PoloniexArgumentError(f"url must be https://host[:port], got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise PoloniexArgumentError("url must not carry a user name or password")
    if scheme == "http" and allow_insecure_http is not True:
        raise PoloniexArgumentError(
            f"url {url!r} is plain HTTP: keys, signatures and orders would travel in clear "
            "text. polo_fast talks HTTPS only; pass allow_insecure_http=True to a local test "
            "server that has no TLS"
        )
    return Origin(scheme, host, port or (443 if scheme == "https" else 80), parts.path.rstrip("/"))


def make_ssl_context(
    ca_path: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> ssl.SSLContext:
    """Build the client's TLS context: TLS 1.2 or newer, certificate and host name verified.

    The context resumes a lane's TLS session on reconnect (:data:`TLS_SESSION`); a context
    given as ``ssl_context`` is used as it is.

    Parameters:
        ca_path: a PEM file of extra CA certificates to trust (e.g. the stand-in exchange's),
            added to the system's.
        ssl_context: use this context instead; it must verify certificates and host names and
            refuse anything older than TLS 1.2.

    Raises:
        PoloniexArgumentError: ``ssl_context`` does not verify, or allows TLS < 1.2; or
            ``ca_path`` is not a readable PEM file of certificates.
    """
    if ssl_context is not None:
        if not isinstance(ssl_context, ssl.SSLContext):
            raise PoloniexArgumentError(
                f"ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}"
            )
        if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
            raise PoloniexArgumentError(
                "ssl_context must verify certificates and host names (CERT_REQUIRED, "
                "check_hostname=True); polo_fast never talks to an unverified exchange"
            )
        if ssl_context.minimum_version < ssl.TLSVersion.TLSv1_2:
            raise PoloniexArgumentError("ssl_context must refuse TLS older than 1.2")
        return ssl_context
    ctx = _ResumingContext(ssl.PROTOCOL_TLS_CLIENT)  # what create_default_context makes
    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if ca_path is not None:
        if not isinstance(ca_path, str):
            raise PoloniexArgumentError(f"ca_path must be a str, not {type(ca_path).__name__}")
        try:
            ctx.load_verify_locations(cafile=ca_path)
        except FileNotFoundError:
            raise PoloniexArgumentError(f"ca_path {ca_path!r}: no such file") from None
        except (OSError, ssl.SSLError) as exc:
            raise PoloniexArgumentError(
                f"ca_path {ca_path!r} is not a readable PEM file of CA certificates ({exc})"
            ) from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
