"""The Spot classifier (``polo_fast.spot.answers.classify``): status and body in, the result
or a typed error out, for each answer the spec's §4 names and the stand-in gives."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from polo_fast import errors as E
from polo_fast.spot.answers import classify
from polo_fast.testing._faults import html_page

KEY = "ABCDEFGH-IJKLMNOP"


def _err(status: int, body: Any) -> BaseException:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(E.PoloniexError) as info:
        classify(status, raw, "create_order", KEY)
    assert "IJKLMNOP" not in str(info.value)
    return info.value


def test_a_2xx_answer_is_the_parsed_json_with_big_integers_exact() -> None:
    assert classify(200, b'{"id":"1","clientOrderId":"a"}', "create_order", KEY) == {
        "id": "1",
        "clientOrderId": "a",
    }
    assert classify(200, b'{"n":123456789012345678901234}', "x", None) == {
        "n": 123456789012345678901234
    }
    items = [{"orderId": "1", "clientOrderId": "", "state": "PENDING_CANCEL", "code": 200,
              "message": ""}]  # fmt: skip
    assert classify(200, orjson.dumps(items), "cancel_orders", KEY) == items
    single = items[0]
    assert classify(200, orjson.dumps(single), "cancel_order", KEY) == single


def test_a_2xx_refusal_body_is_still_a_refusal() -> None:
    err = _err(200, {"code": 21709, "message": "Low available balance"})
    assert type(err) is E.InsufficientFundsError and err.code == 21709
    # more members than code and message: still a refusal (an int code other than 200)
    dup = _err(200, {"code": 21312, "message": "Client orderId already exists",
                     "clientOrderId": "x", "id": None})  # fmt: skip
    assert type(dup) is E.DuplicateClientOrderIdError and dup.code == 21312
    single = {"orderId": "1", "clientOrderId": "", "state": "FILLED", "code": 21359,
              "message": "Order was already canceled or filled."}  # fmt: skip
    assert type(_err(200, single)) is E.OrderNotFoundError


def test_a_2xx_answer_with_code_200_or_without_a_code_is_the_result() -> None:
    for body in ({"code": 200, "message": "", "orderId": "1", "state": "PENDING_CANCEL"},
                 {"code": "200", "message": "", "id": "2"}, {"code": True, "message": "x"},
                 {"code": None, "message": "x"}, {"code": 21312}):  # fmt: skip
        assert classify(200, orjson.dumps(body), "cancel_order", KEY) == body
    forbidden = _err(200, {"code": "FORBIDDEN", "message": "Invalid API key/secret pair."})
    assert type(forbidden) is E.AuthenticationError and forbidden.code == "FORBIDDEN"


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, {"code": 400, "message": "Bad Request"}),
     (400, {"code": 400, "message": "Param error"})],
)  # fmt: skip
def test_a_400_not_about_time_is_not_a_timestamp_refusal(status: int, body: Any) -> None:
    err = _err(status, body)
    assert not isinstance(err, E.TimestampError) and isinstance(err, E.ExchangeError)
    assert err.code == 400


@pytest.mark.parametrize(
    "message",
    ["Invalid timestamp", "SIGNTIMESTAMP expired", "recvWindow exceeded"],
)
def test_a_400_naming_the_time_is_a_timestamp_refusal(message: str) -> None:
    assert type(_err(400, {"code": 400, "message": message})) is E.TimestampError
    assert type(_err(400, {"code": 408, "message": "late"})) is E.TimestampError


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"code": 21709, "message": "Low available balance"}, E.InsufficientFundsError, 21709),
        (400, {"code": 21312, "message": "Client orderId already exists"},
         E.DuplicateClientOrderIdError, 21312),
        (400, {"code": 21340, "message": "maintenance"}, E.MaintenanceError, 21340),
        (400, {"code": 24201, "message": "busy"}, E.ServiceBusyError, 24201),
        (400, {"code": 21301, "message": "Order not found"}, E.OrderNotFoundError, 21301),
        (400, {"code": 25020, "message": "No active kill switch"}, E.ExchangeError, 25020),
        (400, {"code": "FORBIDDEN", "message": "Invalid API key/secret pair."},
         E.AuthenticationError, "FORBIDDEN"),
        (400, {"code": 400, "message": "signTimestamp is more than 1 second from poloniex "
               "system time"}, E.TimestampError, 400),
        (408, {"code": 408, "message": "request timeout as recWindow threshold has been "
               "breached"}, E.TimestampError, 408),
        (429, {"code": 429, "message": "Too many requests"}, E.RateLimitError, 429),
    ],
)  # fmt: skip
def test_code_and_message_answers_are_typed(
    status: int, body: Any, cls: type[E.ExchangeError], code: Any
) -> None:
    err = _err(status, body)
    assert type(err) is cls
    assert isinstance(err, E.ExchangeError) and err.code == code and err.status == status


def test_401_with_an_empty_body_is_an_authentication_error() -> None:
    err = _err(401, b"")
    assert type(err) is E.AuthenticationError and err.status == 401


def test_429_without_json_is_a_rate_limit_error() -> None:
    assert type(_err(429, b"<html>slow down</html>")) is E.RateLimitError
    assert type(_err(429, b"")) is E.RateLimitError


@pytest.mark.parametrize("body", [{"code": 500, "message": "System error"},
                                  {"code": 603, "message": "Internal request timeout"},
                                  {"message": "oops"}])  # fmt: skip
def test_an_internal_failure_is_an_unknown_outcome(body: Any) -> None:
    err = _err(500, body)
    assert type(err) is E.ExchangeUnavailable and err.sent


def test_pages_and_redirects_are_transport_errors() -> None:
    page = _err(503, html_page(503))
    assert type(page) is E.ExchangeUnavailable and page.sent
    edge = _err(522, html_page(522))
    assert type(edge) is E.ExchangeUnavailable and not edge.sent
    moved = _err(302, b"")
    assert type(moved) is E.InvalidResponse and moved.sent
    cut = _err(200, b'{"id":"1","clientOr')
    assert type(cut) is E.InvalidResponse and cut.sent


def test_a_public_answer_names_no_key() -> None:
    with pytest.raises(E.InvalidParameterError) as info:
        classify(400, b'{"code":10040,"message":"Invalid symbol"}', "order_book", "")
    assert "key" not in str(info.value)
