"""The Spot stand-in's refusals: ``{"code": <int>, "message": <text>}`` with an HTTP status.

Codes and texts are the exchange's documented ones (spec §4; the texts as ccxt 4.5.90 mirrors
them). Handlers raise :class:`SpotError`; the server answers with its body and status. Where
the spec does not say which HTTP status goes with a code, the stand-in answers 400 (a refused
request) and says so here; 401 (bad key or signature) has an **empty** body (spec §4, ccxt#15131).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACCOUNT_NOT_FOUND",
    "ALREADY_CLOSED",
    "AMOUNT_SCALE",
    "BAD_PARAM",
    "BATCH_CANCEL",
    "BELOW_MIN_AMOUNT",
    "BELOW_MIN_QUANTITY",
    "CID_EXISTS",
    "CID_TOO_LONG",
    "FUTURE_TS",
    "INSUFFICIENT",
    "INVALID_SYMBOL",
    "MISSING_PARAM",
    "NOT_FOUND",
    "NO_KILL_SWITCH",
    "OPEN_LIMIT",
    "ORDER_ID_LONG",
    "ORDER_NOT_FOUND",
    "PRICE_SCALE",
    "QTY_POSITIVE",
    "QUANTITY_SCALE",
    "RATE_LIMITED",
    "RECV_WINDOW",
    "SpotError",
]

# (code, message) pairs; HTTP status 400 unless the constant's comment says otherwise.
BAD_PARAM = (601, "Invalid Parameter")
MISSING_PARAM = (602, "Missing Required Parameters")
ACCOUNT_NOT_FOUND = (21600, "Account Not Found")
INSUFFICIENT = (21709, "Low available balance")
INVALID_SYMBOL = (10040, "Invalid symbol")
ORDER_NOT_FOUND = (21301, "Order not found")
BATCH_CANCEL = (21302, "Batch cancel order error")
CID_EXISTS = (21312, "Client orderId already exists")
OPEN_LIMIT = (21314, "Max limit of open orders (2000) exceeded")
CID_TOO_LONG = (21315, "Client orderId exceeded max length of 17 digits")  # the docs' text
QTY_POSITIVE = (21328, "Order quantity must be greater than 0")
BELOW_MIN_AMOUNT = (21322, "Amount is less than minAmount trade limit")
BELOW_MIN_QUANTITY = (21330, "Quantity is less than minQuantity trade limit")
PRICE_SCALE = (21335, "Invalid priceScale for this symbol")
QUANTITY_SCALE = (21336, "Invalid quantityScale for this symbol")
AMOUNT_SCALE = (21337, "Invalid amountScale for this symbol")
ORDER_ID_LONG = (21346, "Order Id must be of type Long")
ALREADY_CLOSED = (21359, "Order was already canceled or filled.")
NO_KILL_SWITCH = (25020, "No active kill switch")
NOT_FOUND = (404, "Not Found")  # HTTP 404: no such route
FUTURE_TS = (400, "signTimestamp is more than 1 second from poloniex system time")  # HTTP 400
RECV_WINDOW = (408, "request timeout as recWindow threshold has been breached")  # HTTP 408
RATE_LIMITED = (429, "Too many requests")  # HTTP 429 (shape undocumented: same body form)


class SpotError(Exception):
    """A refusal answered as ``{"code": code, "message": message}`` with HTTP ``status``."""

    def __init__(self, error: tuple[int, str], status: int = 400, detail: str = "") -> None:
        super().__init__(error[1])
        self.code, self.message = error
        if detail:
            self.message = f"{self.message}: {detail}"
        self.status = status

    def body(self) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return {"code": self.code, "message": self.message}
