"""polo_fast: a latency-first client for the legacy Poloniex HTTP API.

The names below are imported on first use, so ``import polo_fast`` stays cheap and a
script that only signs never loads the network stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Signer": "polo_fast.signing",
    "sign": "polo_fast.signing",
    "NonceSource": "polo_fast.nonce",
    "FileNonce": "polo_fast.nonce",
    "Client": "polo_fast.client",
    "PoloniexError": "polo_fast.errors",
    "PoloniexArgumentError": "polo_fast.errors",
    "ExchangeError": "polo_fast.errors",
    "NonceError": "polo_fast.errors",
    "TransportError": "polo_fast.errors",
    "MayHaveExecutedError": "polo_fast.errors",
}

__all__ = [
    "Client",
    "ExchangeError",
    "FileNonce",
    "MayHaveExecutedError",
    "NonceError",
    "NonceSource",
    "PoloniexArgumentError",
    "PoloniexError",
    "Signer",
    "TransportError",
    "__version__",
    "sign",
]

if TYPE_CHECKING:  # pragma: no cover
    from polo_fast.client import Client
    from polo_fast.errors import (
        ExchangeError,
        MayHaveExecutedError,
        NonceError,
        PoloniexArgumentError,
        PoloniexError,
        TransportError,
    )
    from polo_fast.nonce import FileNonce, NonceSource
    from polo_fast.signing import Signer, sign


def __getattr__(name: str) -> Any:
    """Import a public name on first use and cache it in the module."""
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'polo_fast' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
