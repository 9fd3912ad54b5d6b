"""ccxt's Poloniex classes with their Spot request signing done by polo_fast's C route.

For bots written against ccxt (4.5.90, the release polo_fast is tested with) that want to
keep their code and lose the per-request signing cost::

    from polo_fast.compat.ccxt import poloniex          # was: from ccxt import poloniex
    from polo_fast.compat.ccxt import async_poloniex    # was: ccxt.async_support.poloniex
    from polo_fast.compat.ccxt import pro_poloniex      # was: ccxt.pro.poloniex

Each class is ccxt's own, unmodified, except for ``sign()`` on the Spot API's private
endpoints: where ccxt re-keys HMAC-SHA256 and builds the string to sign in Python on every
call, these use a :class:`polo_fast.spot.Signer` made once per secret (its HMAC states
precomputed in C). The request is the one ccxt builds, byte for byte: the same URL and
query string (ccxt's own ``urlencode``), the same body (ccxt's own compact JSON), the same
headers and ``signTimestamp`` (ccxt's ``nonce()``), and so the same signature. Public
endpoints, the futures (``swap``) API and the ``pro`` class's WebSocket login stay ccxt's.

Nothing of ccxt is imported until this module is (ccxt is not a polo_fast dependency).
The signer lives on the instance and is re-made when ``secret`` changes; ``repr()`` of the
exchange object is ccxt's (it never showed the secret).
"""

from __future__ import annotations

from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro

from polo_fast.spot.signing import Signer

__all__ = ["async_poloniex", "poloniex", "pro_poloniex"]

_BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})


class FastSign:
    """The mixin: ``sign()`` for the Spot API's private endpoints on polo_fast's signer."""

    _polo_signer: Signer | None = None
    _polo_secret: Any = None

    def _signer(self) -> Signer:
        secret = self.secret  # type: ignore[attr-defined]
        signer = self._polo_signer
        if signer is None or secret is not self._polo_secret:
            signer = Signer(secret)
            self._polo_signer, self._polo_secret = signer, secret
        return signer

    def sign(
        self,
        path: str,
        api: Any = ("public",),
        method: str = "GET",
        params: Any = None,
    ) -> dict[str, Any]:
        """ccxt's ``sign()``; private Spot endpoints signed by polo_fast (module docstring)."""
        if params is None:
            params = {}
        if api[0] != "private":
            return super().sign(path, list(api), method, params)  # type: ignore[misc, no-any-return]
        ex: Any = self
        ex.check_required_credentials()
        is_array = isinstance(params, list)
        if method == "GET" and "symbol" in params:
            params["symbol"] = ex.encode_uri_component(params["symbol"])
        query = params if is_array else ex.omit(params, ex.extract_params(path))
        imploded = "/" + ex.implode_params(path, params)
        url = ex.urls["api"]["spot"] + imploded
        timestamp = int(ex.nonce())
        body: str | None = None
        if method in _BODY_METHODS:
            if is_array or query:
                body = ex.json(query)
            signature = self._signer().sign(method, imploded, body=body, timestamp=timestamp)
        else:
            pairs = [
                (k, ("true" if v else "false") if isinstance(v, bool) else str(v))
                for k, v in query.items()
            ]
            signature = self._signer().sign(method, imploded, params=pairs, timestamp=timestamp)
            if query:
                url += "?" + ex.urlencode(query)
        headers = {
            "Content-Type": "application/json",
            "key": ex.apiKey,
            "signTimestamp": str(timestamp),
            "signature": signature,
        }
        return {"url": url, "method": method, "body": body, "headers": headers}


class poloniex(FastSign, ccxt.poloniex):  # type: ignore[misc]
    """``ccxt.poloniex`` with polo_fast's signing (module docstring)."""


class async_poloniex(FastSign, ccxt.async_support.poloniex):  # type: ignore[misc]
    """``ccxt.async_support.poloniex`` with polo_fast's signing (module docstring)."""


class pro_poloniex(FastSign, ccxt.pro.poloniex):  # type: ignore[misc]
    """``ccxt.pro.poloniex`` with polo_fast's signing (module docstring)."""
