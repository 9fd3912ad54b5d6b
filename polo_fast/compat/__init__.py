"""Drop-in paths for existing bots.

- :mod:`polo_fast.compat.poloniex`: ``Poloniex``, the python-poloniex (``poloniexapi``)
  client's class, method names, arguments and results, run by polo_fast. Change
  ``from poloniex import Poloniex`` to ``from polo_fast.compat.poloniex import Poloniex``.
- :mod:`polo_fast.compat.requests`: ``PoloniexAuth``, a ``requests`` auth object that signs
  ``/tradingApi`` form POSTs with polo_fast's signer.

The submodules are imported on their own (``requests`` is needed only by the second), so
this package imports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
