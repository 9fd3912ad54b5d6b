"""Holding an API secret: a private copy wiped after keying, never pickled, never copied.

The leaf both dialects' signers stand on (``polo_fast.signing.Signer`` and
``polo_fast.spot.signing.Signer``) and every object that holds a secret (the clients, the
compat faces): :class:`HoldsSecret` refuses pickling; :class:`KeyedOnce` keys a backend once
from a private copy of the secret (:func:`_secret_bytes`) that is wiped right after, and is
immutable afterwards. Imports nothing of polo_fast but the error tree.
"""

from __future__ import annotations

from typing import Any, TypeVar

from polo_fast.errors import SigningError, SigningTypeError

__all__ = ["HoldsSecret", "KeyedOnce", "check_head"]

_K = TypeVar("_K", bound="KeyedOnce")


def _secret_bytes(secret: object) -> bytearray:
    """A private mutable copy of the secret bytes (the caller wipes it after keying).

    A refused secret is dropped from this frame before the error is raised, so a traceback
    with local variables does not show it.
    """
    raw = None
    error: SigningError | None = None
    if isinstance(secret, str):
        if secret.isascii():
            raw = bytearray(secret, "ascii")
        else:
            error = SigningError("secret: a str secret must be ASCII (pass bytes otherwise)")
    elif isinstance(secret, (bytes, bytearray, memoryview)):
        raw = bytearray(secret)
    else:
        error = SigningTypeError(f"secret must be str or bytes, got {type(secret).__name__}")
    del secret
    if raw:  # a copy, not empty
        return raw
    raise error or SigningError("secret must not be empty")


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


# ---------------------------------------------------------------- the interface


def check_head(head: object) -> bytes:
    """A request writer's prebuilt head: bytes, or refused (both dialects' signers).

    Raises:
        SigningTypeError: ``head`` is not bytes.
    """
    if type(head) is not bytes:
        raise SigningTypeError(f"head must be bytes, got {type(head).__name__}")
    return head


class HoldsSecret:
    """Mixin for objects that hold an API secret (directly or through a :class:`Signer`):
    they refuse to be pickled, so a secret cannot travel to a worker, a cache or a file by
    accident."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"a {type(self).__name__} holds an API secret and cannot be pickled; "
            "make one per process"
        )


class KeyedOnce(HoldsSecret):
    """The base of every dialect's signer: keyed once, from a private copy of the secret that
    is wiped as soon as the backend holds its key (:meth:`_key`), and immutable afterwards,
    so ``copy.copy`` and ``copy.deepcopy`` give the object itself."""

    __slots__ = ()

    def __init__(self, secret: str | bytes, *, backend: str | None = None) -> None:
        """Key the signer (``backend`` was chosen by ``__new__``).

        Raises:
            SigningError: an empty or non-ASCII ``str`` secret.
            SigningTypeError: a secret that is neither str nor bytes-like.
        """
        try:
            raw = _secret_bytes(secret)
        finally:
            del secret
        try:
            self._key(raw)
        finally:
            _wipe(raw)

    def _key(self, raw: bytearray) -> None:
        """Take the key from ``raw`` (wiped by the caller right after)."""
        raise NotImplementedError  # pragma: no cover - subclasses

    def __copy__(self: _K) -> _K:
        return self

    def __deepcopy__(self: _K, memo: Any) -> _K:
        return self
