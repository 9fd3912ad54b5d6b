"""Framing: the bytes of an HTTP/1.1 request, built once, read back where a library needs parts.

A signed request is framed by one signing call (``Signer._fields_request`` in C, or its
Python fallback with the same bytes): the key's prebuilt head (:func:`request_head`, ending
in ``Content-Length: ``), then the body's length, the ``Sign`` line and the body. The lane
writes those bytes as they are. The aiohttp path, which wants a method, a URL, headers and
a body, reads them back with :func:`unframe`; nothing frames a request a second time.
"""

from __future__ import annotations

from collections.abc import Mapping

from polo_fast.errors import PoloniexArgumentError

__all__ = ["check_header", "request_head", "unframe"]


def check_header(name: str, value: str) -> None:
    """Refuse a header HTTP cannot carry (non-ASCII, control characters, CR/LF).

    Raises:
        PoloniexArgumentError: naming the header, never its value.
    """
    if not (
        name.isascii()
        and name.isprintable()
        and ":" not in name
        and value.isascii()
        and value.isprintable()
    ) or any(c in name + value for c in "\r\n"):
        raise PoloniexArgumentError(f"header {name} holds characters HTTP cannot carry")


def request_head(method: str, target: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request line and headers of a request with a body, up to ``Content-Length: ``.

    Raises:
        PoloniexArgumentError: a header HTTP cannot carry.
    """
    for name, value in headers.items():
        check_header(name, value)
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
    return f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{lines}Content-Length: ".encode("ascii")


def unframe(data: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """Read a framed request back: ``(method, target, headers, body)``.

    ``Host`` and ``Content-Length`` are left out of ``headers`` (a client library writes
    its own); every other header keeps its name and order.
    """
    end = data.index(b"\r\n\r\n")
    lines = data[:end].decode("ascii").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() not in ("host", "content-length"):
            headers[name] = value.strip()
    return method, target, headers, data[end + 4 :]
