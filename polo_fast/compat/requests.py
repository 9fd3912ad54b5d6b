"""``PoloniexAuth``: a ``requests`` auth object that signs ``/tradingApi`` POSTs with polo_fast.

For bots built on ``requests`` that sign by hand (``urlencode`` + ``hmac``) and want to
drop that code::

    import requests
    from polo_fast.compat.requests import PoloniexAuth

    auth = PoloniexAuth(KEY, SECRET)
    r = requests.post("https://poloniex.com/tradingApi",
                      data={"command": "returnBalances"}, auth=auth)

For a ``POST`` whose path ends in ``/tradingApi`` and whose body is a form (``data=`` a dict
or a list of pairs, or a body already form-encoded as ``str``/``bytes``), the auth object
drops any ``nonce`` the body carries, draws a fresh one from its nonce source, re-encodes
the body with polo_fast's signer (``urllib.parse.urlencode`` bytes, ``nonce`` last) and
sets ``Key`` and ``Sign``: the signed bytes are the bytes sent. Any other request (public
``GET`` calls through the same session) passes through untouched; a ``/tradingApi`` POST
with a body that is not a form (JSON, a file, a stream) is refused with ``ValueError``
rather than sent unsigned.

When the exchange answers ``Nonce must be greater than X``, a response hook raises the
nonce source's floor to X, so the *next* request is accepted; the refused request is not
re-sent (``requests`` users keep control of retries). Several ``PoloniexAuth`` objects, or
several processes, sharing one key should share one nonce source
(:class:`polo_fast.nonce.FileNonce` across processes).

``repr()`` shows the key's first characters only; the secret lives inside the signer.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from requests.auth import AuthBase

from polo_fast.nonce import NonceSource
from polo_fast.signing import HoldsSecret, Signer

if TYPE_CHECKING:  # pragma: no cover
    from requests import PreparedRequest, Response


class NonceLike(Protocol):
    """What a nonce source offers: :class:`~polo_fast.nonce.NonceSource` and ``FileNonce``."""

    def next(self) -> int:
        """Return a nonce greater than every one returned before."""

    def bump(self, floor: int) -> None:
        """Make every later nonce greater than ``floor``."""


__all__ = ["NonceLike", "PoloniexAuth"]

logger = logging.getLogger(__name__)

_FORM = "application/x-www-form-urlencoded"
_NONCE_TEXT = re.compile(rb"Nonce must be greater than (\d+)")
#: Characters of the key shown by ``repr`` (and in log lines).
_KEY_SHOWN = 8


def _key_prefix(key: str) -> str:
    return f"{key[:_KEY_SHOWN]}…" if len(key) > _KEY_SHOWN else key


class PoloniexAuth(AuthBase, HoldsSecret):
    """Sign ``POST /tradingApi`` form requests for ``requests``.

    Parameters:
        key: the API key (sent as the ``Key`` header).
        secret: the API secret (the HMAC key; kept only inside a :class:`~polo_fast.Signer`).
        nonce_source: anything with ``next() -> int`` and ``bump(floor)``, such as
            :class:`~polo_fast.nonce.NonceSource` or :class:`~polo_fast.nonce.FileNonce`.
            Default: a new ``NonceSource()`` (milliseconds). Use the scale your key has
            seen before: a key that earlier tools pushed to microsecond nonces needs
            ``NonceSource(scale=1_000_000)``.

    Raises:
        TypeError: ``key`` is not a non-empty ``str``.
        polo_fast.signing.SigningError: the secret is unusable (see :class:`Signer`).
    """

    def __init__(
        self, key: str, secret: str | bytes, nonce_source: NonceLike | None = None
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError("PoloniexAuth: key must be a non-empty str")
        self._key = key
        self._signer = Signer(secret)
        self.nonce_source: NonceLike = nonce_source if nonce_source is not None else NonceSource()

    @property
    def key(self) -> str:
        """The API key."""
        return self._key

    def __repr__(self) -> str:
        return f"PoloniexAuth(key={_key_prefix(self._key)!r})"

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        """Sign ``r`` in place when it is a ``/tradingApi`` POST; return it."""
        if (r.method or "").upper() != "POST" or not urlsplit(r.url or "").path.endswith(
            "/tradingApi"
        ):
            return r
        pairs = self._form_pairs(r)
        nonce = self.nonce_source.next()
        body, sign = self._signer.encode_and_sign(pairs, nonce)
        r.body = body
        r.headers["Content-Type"] = _FORM
        r.headers["Content-Length"] = str(len(body))
        r.headers["Key"] = self._key
        r.headers["Sign"] = sign
        r.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        logger.debug(
            "signed %s for key %s (nonce %d)",
            next((v for k, v in pairs if k == "command"), "?"),
            _key_prefix(self._key),
            nonce,
        )
        return r

    @staticmethod
    def _form_pairs(r: PreparedRequest) -> list[tuple[str, str]]:
        """The body's form fields in order, without ``nonce``; ``command`` first."""
        body: Any = r.body
        ctype = r.headers.get("Content-Type", "")
        if body is None:
            body = b""
        if ctype and not ctype.lower().startswith(_FORM):
            raise ValueError(f"PoloniexAuth signs form bodies only, not {ctype.split(';')[0]!r}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            raise ValueError(
                "PoloniexAuth signs form bodies only (data= a dict, a list of pairs or an "
                f"encoded str/bytes), not a {type(body).__name__}"
            )
        try:
            raw = (
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
                if body
                else []
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"PoloniexAuth: the body is not a form: {exc}") from None
        pairs = [(k, v) for k, v in raw if k != "nonce"]
        command = [p for p in pairs if p[0] == "command"]
        if len(command) != 1:
            raise ValueError("PoloniexAuth: the form needs exactly one 'command' field")
        return command + [p for p in pairs if p[0] != "command"]

    def _on_response(self, resp: Response, *args: Any, **kwargs: Any) -> Response:
        """After a nonce refusal, raise the source's floor so the next request passes."""
        if resp.status_code < 500:
            m = _NONCE_TEXT.search(resp.content[:300] if resp.content else b"")
            if m:
                floor = int(m.group(1))
                logger.debug(
                    "nonce refused for key %s; floor raised to %d", _key_prefix(self._key), floor
                )
                self.nonce_source.bump(floor)
        return resp
