"""The Spot API stand-in exchange (``api.poloniex.com`` on loopback): :class:`SpotExchange`.

Not imported by ``polo_fast.testing`` at import time; ``polo-fast exchange --api spot``
imports it lazily.
"""

from __future__ import annotations

from polo_fast.testing.spot.exchange import SpotExchange

__all__ = ["SpotExchange"]
