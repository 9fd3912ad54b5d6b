"""Generated API keys for the stand-in exchange: the one key generator of tests, bench and CLI.

Keys have the exchange's shape (four dash-joined groups of 8 upper-case letters and digits);
secrets are 128 hex characters from :mod:`secrets`. They are made fresh on every call, so
no key is ever written into the source or a snapshot.
"""

from __future__ import annotations

import secrets
import string

__all__ = ["make_key", "make_keys", "make_pair", "make_secret"]

_ALNUM = string.ascii_uppercase + string.digits


def make_key() -> str:
    """A fresh API key in the exchange's shape: four dash-joined groups of 8."""
    return "-".join("".join(secrets.choice(_ALNUM) for _ in range(8)) for _ in range(4))


def make_secret() -> str:
    """A fresh 128-character hex secret (never a real key)."""
    return secrets.token_hex(64)


def make_pair() -> tuple[str, str]:
    """A fresh ``(key, secret)`` pair."""
    return make_key(), make_secret()


def make_keys(n: int) -> dict[str, str]:
    """``n`` fresh key -> secret pairs."""
    return dict(make_pair() for _ in range(n))
