"""The error tree and the exchange-text lookup (spec §5.2)."""

from __future__ import annotations

import pytest

from polo_fast import errors as E
from polo_fast.signing import SigningError

# (text, class) for every text of the spec's §5.2 table.
SPEC_TEXTS = [
    ("Nonce must be greater than 1700000000005. You provided 1700000000001.", E.NonceError),
    ("Invalid nonce parameter.", E.NonceError),
    ("Invalid API key/secret pair.", E.AuthenticationError),
    ("Permission denied", E.AuthenticationError),
    ("Permission denied.", E.AuthenticationError),
    ("Please do not make more than 8 API calls per second.", E.RateLimitError),
    (
        "This IP has been temporarily throttled. Please ensure your requests are valid and try "
        "again in one minute.",
        E.RateLimitError,
    ),
    (
        "This IP has been temporarily throttled. Please ensure your requests are valid and try "
        "again.",
        E.RateLimitError,
    ),
    ("Too many requests. Please try again in a moment.", E.RateLimitError),
    ("Not enough BTC.", E.InsufficientFundsError),
    ("Rate must be greater than zero.", E.OrderRejectedError),
    ("Rate must be less than 100.", E.OrderRejectedError),
    ("Total must be at least 0.0001.", E.OrderRejectedError),
    ("Amount must be at least 0.000001.", E.OrderRejectedError),
    ("Order is beyond acceptable bounds.", E.OrderRejectedError),
    ("You may only place orders that reduce your position.", E.OrderRejectedError),
    ("Unable to place post-only order at this price.", E.OrderRejectedError),
    ("Unable to fill order completely.", E.OrderRejectedError),
    (
        "No more than one of the post-only, fill-or-kill, and immediate-or-cancel flags should be "
        "set at the same time.",
        E.OrderRejectedError,
    ),
    ("You may not have more than 100 open orders in a single market.", E.OrderRejectedError),
    ("Invalid order number, or you are not the person who placed the order.", E.OrderNotFoundError),
    ("Order not found, or you are not the person who placed it.", E.OrderNotFoundError),
    ("Invalid orderNumber parameter.", E.OrderNotFoundError),
    ("Order 123 is either completed or does not exist.", E.OrderNotFoundError),
    ("Error canceling loan order, or you are not the person who placed it.", E.OrderNotFoundError),
    (
        "You have already called cancelOrder or moveOrder on this order. Please wait for that "
        "call's response.",
        E.CancelPendingError,
    ),
    (
        "You have already called cancelOrder, moveOrder, or cancelReplace on this order. Please "
        "wait for that call's response.",
        E.CancelPendingError,
    ),
    ("Invalid currency pair.", E.InvalidParameterError),
    ("Invalid currencyPair parameter.", E.InvalidParameterError),
    ("Trading is disabled in this market.", E.InvalidParameterError),
    ("This market is frozen.", E.InvalidParameterError),
    ("Invalid command.", E.InvalidParameterError),
    ("Required parameter missing.", E.InvalidParameterError),
    ("Invalid amount parameter.", E.InvalidParameterError),
    ("Invalid limit parameter.", E.InvalidParameterError),
    ("Please specify a currency pair.", E.InvalidParameterError),
    ("Invalid depth.", E.InvalidParameterError),
    ("This account is frozen for trading.", E.AccountStateError),
    ("This account is frozen.", E.AccountStateError),
    ("This account is locked.", E.AccountStateError),
    ("This account is closed.", E.AccountStateError),
    ("Internal error. Please try again.", E.ExchangeBusyError),
    ("Connection timed out. Please try again.", E.ExchangeBusyError),
    ("Transaction failed. Please try again.", E.ExchangeBusyError),
    ("Currently in maintenance mode.", E.ExchangeBusyError),
    ("Error pulling order book", E.ExchangeBusyError),
]


@pytest.mark.parametrize(("text", "cls"), SPEC_TEXTS)
def test_spec_texts_map_to_their_class(text: str, cls: type[E.ExchangeError]) -> None:
    err = E.from_reply("buy", {"error": text}, 422, key="ABCDEFGH-12345678")
    assert type(err) is cls
    assert err.text == text and err.status == 422 and err.command == "buy"
    assert "buy" in str(err) and "ABCDEFGH" in str(err) and "12345678" not in str(err)


def test_unknown_text_keeps_raw_text_on_the_base() -> None:
    err = E.from_reply("returnBalances", {"error": "Something new.", "x": 1}, 400)
    assert type(err) is E.ExchangeError
    assert err.text == "Something new."
    assert err.payload == {"error": "Something new.", "x": 1}


def test_nonce_error_carries_the_floor() -> None:
    err = E.from_reply("buy", {"error": "Nonce must be greater than 42. You provided 7."}, 422)
    assert isinstance(err, E.NonceError)
    assert err.expected_floor == 42 and err.provided == 7
    bare = E.from_reply("buy", "Invalid nonce parameter.")
    assert isinstance(bare, E.NonceError) and bare.expected_floor is None


def test_nested_and_success_zero_errors() -> None:
    payload = {
        "success": 0,
        "result": {"error": "Order not found, or you are not the person who placed it."},
    }
    assert E.error_text(payload) is not None
    assert isinstance(E.from_reply("returnOrderStatus", payload), E.OrderNotFoundError)
    assert E.error_text({"success": 1, "result": {}}) is None
    assert E.error_text([1, 2]) is None


def test_branches_are_separate() -> None:
    assert issubclass(E.PoloniexArgumentError, ValueError)
    assert issubclass(E.PoloniexArgumentError, SigningError)
    assert issubclass(E.PoloniexTypeError, TypeError)
    # "outcome unknown" is never caught as a transport error (those may be retried) ...
    assert not issubclass(E.MayHaveExecutedError, E.TransportError)
    assert not issubclass(E.MayHaveExecutedError, E.ExchangeError)
    # ... and a nonce refusal is an exchange answer, not a network failure.
    assert not issubclass(E.NonceError, E.TransportError)
    for cls in (
        E.ConnectError,
        E.RequestTimeout,
        E.ConnectionLost,
        E.InvalidResponse,
        E.ExchangeUnavailable,
    ):
        assert issubclass(cls, E.TransportError)
    assert E.ConnectError("x").sent is False


def test_may_have_executed_message_guides_the_user() -> None:
    err = E.MayHaveExecutedError(
        "buy",
        [("currencyPair", "BTC_ETH"), ("rate", "0.1"), ("amount", "1")],
        17,
        key="ABCDEFGH-IJKLMNOP",
        reason="connection lost",
    )
    text = str(err)
    assert "MAY HAVE EXECUTED" in text and "returnOpenOrders" in text
    assert "returnOrderTrades" in text and "ABCDEFGH" in text and "IJKLMNOP" not in text
    assert err.nonce == 17 and dict(err.params)["rate"] == "0.1"


def test_a_text_cannot_be_claimed_twice() -> None:
    with pytest.raises(RuntimeError):

        class Twice(E.ExchangeError):
            exact = ("Invalid API key/secret pair.",)


def test_key_prefix() -> None:
    assert E.key_prefix("ABCDEFGH-IJKL") == "ABCDEFGH…"
    assert E.key_prefix("ABC") == "ABC"
    assert E.key_prefix(None) == "-"


def test_the_error_tree_is_a_leaf() -> None:
    """``polo_fast.errors`` loads nothing else of polo_fast (no signer, no compiled module)
    and owns the signer's errors."""
    import subprocess
    import sys

    code = (
        "import sys, polo_fast.errors as e\n"
        "print(sorted(m for m in sys.modules if m.startswith('polo_fast.')))\n"
        "print(e.SigningError.__module__, e.SigningTypeError.__mro__[1].__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['polo_fast.errors']", "polo_fast.errors SigningError"]
    assert SigningError is E.SigningError
    assert issubclass(E.PoloniexArgumentError, E.SigningError)


# -- the Spot API's codes (poloniex-spot-api.md §4) -------------------------------------------

SPOT_CODES = [
    (21709, E.InsufficientFundsError),
    (21721, E.InsufficientFundsError),
    (250005, E.InsufficientFundsError),
    (21301, E.OrderNotFoundError),
    (21359, E.OrderNotFoundError),
    (601, E.InvalidParameterError),
    (602, E.InvalidParameterError),
    (10040, E.InvalidParameterError),
    (21312, E.DuplicateClientOrderIdError),
    (21314, E.OrderRejectedError),
    (21330, E.OrderRejectedError),
    (21601, E.AccountStateError),
    (21340, E.MaintenanceError),
    (24201, E.ServiceBusyError),
    (429, E.RateLimitError),
]


@pytest.mark.parametrize(("code", "cls"), SPOT_CODES)
def test_spot_codes_map_to_their_class_and_keep_the_code(
    code: int, cls: type[E.ExchangeError]
) -> None:
    err = E.from_code("create_order", code, "some text", 400, key="ABCDEFGH-IJKLMNOP")
    assert type(err) is cls and err.code == code and err.text == "some text"
    assert f"code {code}" in str(err) and "HTTP 400" in str(err)
    assert "ABCDEFGH" in str(err) and "IJKLMNOP" not in str(err)
    assert type(E.from_code("x", str(code), "t")) is cls  # a string code, as sometimes sent


def test_spot_new_classes_sit_in_the_tree() -> None:
    assert issubclass(E.DuplicateClientOrderIdError, E.OrderRejectedError)
    assert issubclass(E.MaintenanceError, E.ExchangeBusyError)
    assert issubclass(E.ServiceBusyError, E.ExchangeBusyError)
    assert issubclass(E.TimestampError, E.ExchangeError)
    assert not issubclass(E.TimestampError, E.NonceError)


def test_an_unknown_code_falls_back_to_the_text_then_the_base() -> None:
    auth = E.from_code("balances", "FORBIDDEN", "Invalid API key/secret pair.", 400)
    assert type(auth) is E.AuthenticationError and auth.code == "FORBIDDEN"
    other = E.from_code("balances", 99999, "Something new", 400)
    assert type(other) is E.ExchangeError and other.code == 99999
    assert type(E.from_code("x", True, "odd")) is E.ExchangeError  # a bool is no code
    assert E.from_reply("buy", "Not enough BTC.").code is None  # legacy errors: no code


def test_a_code_cannot_be_claimed_twice() -> None:
    with pytest.raises(RuntimeError, match="claimed twice"):

        class Twice(E.ExchangeError):
            codes = (21709,)


def test_may_have_executed_spot_message_names_the_client_order_id() -> None:
    err = E.MayHaveExecutedError(
        "create_order",
        [("symbol", "BTC_USDT"), ("clientOrderId", "abc-1")],
        None,
        key="ABCDEFGH-IJKLMNOP",
        reason="connection lost",
        client_order_id="abc-1",
        seen="not found (21301: Order not found)",
    )
    text = str(err)
    assert "MAY HAVE EXECUTED" in text and "get_order(client_order_id='abc-1')" in text
    assert "nonce" not in text and "returnOpenOrders" not in text
    assert err.client_order_id == "abc-1" and err.seen.startswith("not found")
    bare = E.MayHaveExecutedError("cancel_all_orders", (), None)
    assert bare.client_order_id is None and "open_orders()" in str(bare)
