"""Test infrastructure that ships with polo_fast: the stand-in exchanges and the WAN emulator.

``StandInExchange`` is a faithful local Poloniex (legacy HTTP API) on loopback,
``SpotExchange`` the same for the Spot API (REST and WebSocket, :mod:`polo_fast.testing.spot`);
``WanProxy`` delays a TCP connection by a chosen round-trip time (``PROFILES``, the one
table of named RTTs). :mod:`polo_fast.testing.keys` generates test keys; ``polo-fast
exchange`` and ``polo-fast wan`` are in :mod:`polo_fast.testing._cli`.
"""

from __future__ import annotations

from polo_fast.testing.exchange import StandInExchange
from polo_fast.testing.spot import SpotExchange
from polo_fast.testing.wan import PROFILES, WanProxy

__all__ = ["PROFILES", "SpotExchange", "StandInExchange", "WanProxy"]
