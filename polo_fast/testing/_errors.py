"""The stand-in's error replies: one exception carrying the exchange's text and HTTP status.

The texts are the exchange's own (spec §5.2). Handlers raise :class:`ApiError`; the server
turns it into ``{"error": text}`` (plus any extra members) with the given status.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AMOUNT_MIN",
    "BAD_COMMAND",
    "BAD_KEY",
    "BAD_NONCE",
    "FLAGS_EXCLUSIVE",
    "FOK_UNFILLED",
    "MISSING",
    "NOT_YOURS",
    "ORDER_NOT_FOUND",
    "PERMISSION",
    "POST_ONLY",
    "RATE_LIMITED",
    "RATE_ZERO",
    "ApiError",
    "invalid",
    "nonce_error",
]

BAD_KEY = "Invalid API key/secret pair."
BAD_COMMAND = "Invalid command."
MISSING = "Required parameter missing."
BAD_NONCE = "Invalid nonce parameter."
PERMISSION = "Permission denied."
RATE_LIMITED = "Please do not make more than 8 API calls per second."
RATE_ZERO = "Rate must be greater than zero."
AMOUNT_MIN = "Amount must be at least 0.000001."
POST_ONLY = "Unable to place post-only order at this price."
FOK_UNFILLED = "Unable to fill order completely."
FLAGS_EXCLUSIVE = (
    "No more than one of the post-only, fill-or-kill, and immediate-or-cancel flags should "
    "be set at the same time."
)
NOT_YOURS = "Invalid order number, or you are not the person who placed the order."
ORDER_NOT_FOUND = "Order not found, or you are not the person who placed it."


class ApiError(Exception):
    """A refusal the exchange sends as ``{"error": text, **extra}`` with HTTP ``status``."""

    def __init__(self, text: str, status: int = 422, **extra: Any) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return {"error": self.text, **self.extra}


def invalid(name: str) -> ApiError:
    """``Invalid <name> parameter.`` (HTTP 422)."""
    return ApiError(f"Invalid {name} parameter.")


def nonce_error(last: int, given: int) -> ApiError:
    """``Nonce must be greater than X. You provided Y.`` (HTTP 422)."""
    return ApiError(f"Nonce must be greater than {last}. You provided {given}.")
