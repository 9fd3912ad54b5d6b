"""Helpers for the stand-in exchange tests: a raw signed client built on the standard library.

Requests are encoded with ``urllib.parse.urlencode`` and signed with ``hmac``/``hashlib``
(never with polo_fast's signer or client, which the exchange is meant to judge), and sent
with a plain aiohttp session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

Run = Callable[[Coroutine[Any, Any, Any]], Any]
"""The ``run`` fixture of tests/conftest.py: runs a coroutine on a fresh loop."""

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@contextlib.contextmanager
def cli(command: str, *args: str) -> Iterator[str]:
    """Run ``polo-fast COMMAND ARGS`` in a child process; yield its banner (the lines up to
    the one saying Ctrl-C); then send SIGINT and check that it exits with 0."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "polo_fast", command, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        yield "".join(lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def get_trace(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[bytes, bytes]:
    """One keep-alive ``GET /cdn-cgi/trace`` on a raw connection; return the response head and
    body."""
    writer.write(b"GET /cdn-cgi/trace HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def sign(secret: str, body: bytes) -> str:
    """The exchange's Sign: lower-case hex HMAC-SHA512 of the body, keyed with the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


class Raw:
    """A minimal signed client for one key: urlencode + hmac, one aiohttp session."""

    def __init__(self, url: str, key: str, secret: str, ca_path: str | None) -> None:
        self.url = url
        self.key = key
        self.secret = secret
        self.ssl: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_path) if ca_path else False
        )
        self.nonces = itertools.count(int(time.time() * 1000))
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Raw:
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    def body(self, command: str, nonce: int | str | None = None, **params: Any) -> bytes:
        """``command=...&<params>&nonce=...`` exactly as urlencode writes it."""
        n = next(self.nonces) if nonce is None else nonce
        return urllib.parse.urlencode({"command": command, **params, "nonce": n}).encode()

    async def post(
        self,
        body: bytes,
        *,
        sign_as: str | None = None,
        signature: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """POST ``body`` to /tradingApi; return (status, raw response body)."""
        assert self.session is not None
        hdrs = {
            **FORM,
            "Key": key or self.key,
            "Sign": signature if signature is not None else sign(sign_as or self.secret, body),
        }
        hdrs.update(headers or {})
        async with self.session.post(
            self.url + "/tradingApi", data=body, headers=hdrs, ssl=self.ssl
        ) as resp:
            return resp.status, await resp.read()

    async def call(self, command: str, **params: Any) -> tuple[int, Any]:
        """Sign and send one private command; return (status, parsed JSON)."""
        status, raw = await self.post(self.body(command, **params))
        return status, orjson.loads(raw)

    async def ok(self, command: str, **params: Any) -> Any:
        """Like :meth:`call`, asserting HTTP 200 and no ``error`` member."""
        status, result = await self.call(command, **params)
        assert status == 200, (command, status, result)
        assert not (isinstance(result, dict) and "error" in result), result
        return result

    async def public(self, command: str, **params: Any) -> tuple[int, Any]:
        """GET /public?command=...; return (status, parsed JSON)."""
        assert self.session is not None
        async with self.session.get(
            self.url + "/public", params={"command": command, **params}, ssl=self.ssl
        ) as resp:
            return resp.status, orjson.loads(await resp.read())
