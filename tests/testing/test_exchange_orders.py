"""Order lifecycle on the stand-in: fills against the book, balances, flags, cancel, move.

Expected figures are computed here from the public order book and the documented fees
(taker 0.2 %, maker 0.1 %), not read from the exchange's own code.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from polo_fast.commands import PRIVATE
from polo_fast.testing import StandInExchange
from tests.conftest import make_keys
from tests.testing.conftest import Raw, Run

E8 = Decimal("0.00000001")


def d(x: Any) -> Decimal:
    return Decimal(str(x))


def cut(x: Decimal) -> Decimal:
    return x.quantize(E8, rounding=ROUND_DOWN)


async def _book(c: Raw, pair: str = "BTC_ETH") -> dict[str, Any]:
    status, book = await c.public("returnOrderBook", currencyPair=pair, depth=5)
    assert status == 200
    assert isinstance(book, dict)
    return book


def test_crossing_buy_fills_and_moves_balances_then_partial_fill_rests(run: Run) -> None:
    key, secret = next(iter(make_keys(1).items()))

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            before = await c.ok("returnBalances")
            book = await _book(c)
            ask, ask_size = d(book["asks"][0][0]), d(book["asks"][0][1])
            amount = cut(ask_size / 2)
            result = await c.ok("buy", currencyPair="BTC_ETH", rate=str(ask), amount=str(amount))
            (trade,) = result["resultingTrades"]
            assert (d(trade["rate"]), d(trade["amount"]), trade["type"]) == (ask, amount, "buy")
            assert result["currencyPair"] == "BTC_ETH" and result["fee"] == "0.00200000"
            after = await c.ok("returnBalances")
            total = cut(ask * amount)
            assert d(after["BTC"]) == d(before["BTC"]) - total
            assert d(after["ETH"]) == d(before["ETH"]) + cut(amount * Decimal("0.998"))
            assert (await c.ok("returnOpenOrders", currencyPair="BTC_ETH")) == []
            book2 = await _book(c)
            assert d(book2["asks"][0][1]) == ask_size - amount and book2["seq"] > book["seq"]

            # Larger than the rest of the level at that price: fills it, rests the remainder.
            rest = ask_size - amount
            placed = await c.ok(
                "buy", currencyPair="BTC_ETH", rate=str(ask), amount=str(rest + 1), clientOrderId=77
            )
            assert placed["clientOrderId"] == "77"
            assert sum(d(t["amount"]) for t in placed["resultingTrades"]) == rest
            number = placed["orderNumber"]
            (open_order,) = await c.ok("returnOpenOrders", currencyPair="BTC_ETH")
            assert open_order["orderNumber"] == number and d(open_order["amount"]) == 1
            assert (await c.ok("returnOpenOrders", currencyPair="all"))["BTC_ETH"] == [open_order]
            status = await c.ok("returnOrderStatus", orderNumber=number)
            assert status["result"][number]["status"] == "Partially filled"
            fills = await c.ok("returnOrderTrades", orderNumber=number)
            assert [d(f["amount"]) for f in fills] == [rest]
            complete = await c.ok("returnCompleteBalances")
            assert d(complete["BTC"]["onOrders"]) == cut(ask * 1)
            history = await c.ok("returnTradeHistory", currencyPair="BTC_ETH")
            assert len(history) == 2 and {h["type"] for h in history} == {"buy"}

    run(body())


def test_post_only_fok_ioc_and_exclusive_flags(run: Run) -> None:
    key, secret = next(iter(make_keys(1).items()))

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            book = await _book(c)
            ask, bid = d(book["asks"][0][0]), d(book["bids"][0][0])
            level_sum = sum(d(a[1]) for a in book["asks"])
            err = await c.call("buy", currencyPair="BTC_ETH", rate=str(ask), amount="1", postOnly=1)
            assert err == (422, {"error": "Unable to place post-only order at this price."})
            resting = await c.ok(
                "sell", currencyPair="BTC_ETH", rate=str(ask + E8 * 100), amount="1", postOnly=1
            )
            assert resting["resultingTrades"] == []
            worst_ask = d(book["asks"][-1][0])
            err = await c.call(
                "buy",
                currencyPair="BTC_ETH",
                rate=str(worst_ask),
                amount=str(level_sum + 5),
                fillOrKill=1,
            )
            assert err == (422, {"error": "Unable to fill order completely."})
            ioc = await c.ok(
                "sell",
                currencyPair="BTC_ETH",
                rate=str(bid),
                amount=str(d(book["bids"][0][1]) + 3),
                immediateOrCancel=1,
            )
            assert sum(d(t["amount"]) for t in ioc["resultingTrades"]) == d(book["bids"][0][1])
            open_numbers = [
                o["orderNumber"] for o in await c.ok("returnOpenOrders", currencyPair="BTC_ETH")
            ]
            assert open_numbers == [resting["orderNumber"]]  # nothing of the IOC rests
            err = await c.call(
                "buy", currencyPair="BTC_ETH", rate="0.01", amount="1", postOnly=1, fillOrKill=1
            )
            assert err == (
                422,
                {
                    "error": (
                        "No more than one of the post-only, fill-or-kill, and "
                        "immediate-or-cancel flags should be set at the same time."
                    )
                },
            )
            assert await c.call("buy", currencyPair="BTC_ETH", rate="0", amount="1") == (
                422,
                {"error": "Rate must be greater than zero."},
            )
            assert await c.call("buy", currencyPair="BTC_ETH", rate="0.001", amount="0.01") == (
                422,
                {"error": "Total must be at least 0.0001."},
            )
            assert await c.call("buy", currencyPair="BTC_ETH", rate="1", amount="11") == (
                422,
                {"error": "Not enough BTC."},
            )
            assert await c.call("sell", currencyPair="BTC_ETH", rate="1", amount="100000") == (
                422,
                {"error": "Not enough ETH."},
            )

    run(body())


def test_cancel_move_cancel_all_and_journal_lists_each_request_once(run: Run) -> None:
    key, secret = next(iter(make_keys(1).items()))

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None, cancel_all_interval=0.0) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            start = await c.ok("returnBalances")
            book = await _book(c)
            bid, ask = d(book["bids"][0][0]), d(book["asks"][0][0])
            low = bid - E8 * 1000
            placed = await c.ok(
                "buy", currencyPair="BTC_ETH", rate=str(low), amount="2", clientOrderId=5
            )
            held = await c.ok("returnBalances")
            assert d(held["BTC"]) == d(start["BTC"]) - cut(low * 2)
            moved = await c.ok(
                "moveOrder", orderNumber=placed["orderNumber"], rate=str(low - E8 * 10), amount="3"
            )
            assert moved["success"] == 1 and moved["orderNumber"] != placed["orderNumber"]
            assert moved["resultingTrades"] == {"BTC_ETH": []} and moved["clientOrderId"] == "5"
            (o,) = await c.ok("returnOpenOrders", currencyPair="BTC_ETH")
            assert (o["orderNumber"], d(o["rate"]), d(o["amount"])) == (
                moved["orderNumber"],
                low - E8 * 10,
                Decimal(3),
            )
            # A move that would cross with postOnly fails and leaves the order as it was.
            status, err = await c.call(
                "moveOrder", orderNumber=moved["orderNumber"], rate=str(ask), postOnly=1
            )
            assert (status, err) == (
                422,
                {"error": "Unable to place post-only order at this price.", "success": 0},
            )
            assert await c.ok("returnOpenOrders", currencyPair="BTC_ETH") == [o]
            # The old number is gone.
            assert await c.call("cancelOrder", orderNumber=placed["orderNumber"]) == (
                422,
                {"error": "Invalid order number, or you are not the person who placed the order."},
            )
            cancelled = await c.ok("cancelOrder", clientOrderId=5)
            assert cancelled == {
                "success": 1,
                "amount": "3.00000000",
                "clientOrderId": "5",
                "message": f"Order #{moved['orderNumber']} canceled.",
            }
            assert await c.ok("returnBalances") == start  # everything held came back
            numbers = []
            for pair, rate in (
                ("BTC_ETH", low),
                ("BTC_LTC", Decimal("0.0001")),
                ("BTC_LTC", Decimal("0.0002")),
            ):
                numbers.append(
                    int(
                        (await c.ok("buy", currencyPair=pair, rate=str(rate), amount="1"))[
                            "orderNumber"
                        ]
                    )
                )
            one = await c.ok("cancelAllOrders", currencyPair="BTC_LTC")
            assert one["orderNumbers"] == numbers[1:]
            rest = await c.ok("cancelAllOrders")
            assert rest == {"success": 1, "message": "Orders canceled", "orderNumbers": numbers[:1]}
            assert await c.ok("returnBalances") == start
            journal = ex.journal()
            nonces = [e["nonce"] for e in journal]
            assert len(nonces) == len(set(nonces)) == 16  # every accepted request, once
            assert nonces == sorted(nonces)
            assert [e["command"] for e in journal][:4] == [
                "returnBalances",
                "buy",
                "returnBalances",
                "moveOrder",
            ]
            assert journal[1]["params"] == {
                "currencyPair": "BTC_ETH",
                "rate": str(low),
                "amount": "2",
                "clientOrderId": "5",
            }
            assert journal[1]["result"] == placed
            assert journal[5]["status"] == 422  # the refused move ran and was refused

    run(body())


def test_one_keys_order_fills_anothers(run: Run) -> None:
    keys = make_keys(2)
    (k1, s1), (k2, s2) = keys.items()

    async def body() -> None:
        async with (
            StandInExchange(keys, rate_limit=None) as ex,
            Raw(ex.url, k1, s1, ex.ca_path) as maker,
            Raw(ex.url, k2, s2, ex.ca_path) as taker,
        ):
            book = await _book(maker)
            rate = d(book["asks"][0][0]) - E8  # the new best ask
            m_before = await maker.ok("returnBalances")
            sold = await maker.ok("sell", currencyPair="BTC_ETH", rate=str(rate), amount="1.5")
            bought = await taker.ok("buy", currencyPair="BTC_ETH", rate=str(rate), amount="1.5")
            (fill,) = bought["resultingTrades"]
            assert d(fill["rate"]) == rate and d(fill["amount"]) == Decimal("1.5")
            m_after = await maker.ok("returnBalances")
            assert d(m_after["ETH"]) == d(m_before["ETH"]) - Decimal("1.5")
            assert d(m_after["BTC"]) == d(m_before["BTC"]) + cut(
                cut(rate * Decimal("1.5")) * Decimal("0.999")
            )
            assert await maker.ok("returnOpenOrders", currencyPair="BTC_ETH") == []
            (mine,) = await maker.ok("returnOrderTrades", orderNumber=sold["orderNumber"])
            assert mine["fee"] == "0.00100000" and mine["type"] == "sell"
            assert await maker.call("returnOrderStatus", orderNumber=sold["orderNumber"]) == (
                422,
                {
                    "error": "Order not found, or you are not the person who placed it.",
                    "success": 0,
                },
            )
            _, public = await maker.public("returnTradeHistory", currencyPair="BTC_ETH")
            assert public[0]["tradeID"] == int(fill["tradeID"]) and public[0]["type"] == "buy"

    run(body())


def test_margin_and_lending_are_consistent(run: Run) -> None:
    key, secret = next(iter(make_keys(1).items()))

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            flat = await c.ok("getMarginPosition", currencyPair="BTC_ETH")
            assert flat["type"] == "none" and flat["liquidationPrice"] == -1
            assert await c.ok("closeMarginPosition", currencyPair="BTC_ETH") == {
                "success": 1,
                "message": "You do not have an open position in this market.",
                "resultingTrades": [],
            }
            ask = d((await _book(c))["asks"][0][0])
            order = await c.ok(
                "marginBuy", currencyPair="BTC_ETH", rate=str(ask), amount="1", lendingRate="0.02"
            )
            assert order["message"] == "Margin order placed." and order["resultingTrades"]
            pos = await c.ok("getMarginPosition", currencyPair="BTC_ETH")
            assert pos["type"] == "long" and d(pos["amount"]) == 1 and d(pos["basePrice"]) == ask
            assert "BTC_ETH" in await c.ok("getMarginPosition", currencyPair="all")
            summary = await c.ok("returnMarginAccountSummary")
            assert d(summary["totalBorrowedValue"]) > 0
            used = (await c.ok("returnActiveLoans"))["used"]
            assert [u["currency"] for u in used] == ["BTC"]
            closed = await c.ok("closeMarginPosition", currencyPair="BTC_ETH")
            assert sum(d(t["amount"]) for t in closed["resultingTrades"]["BTC_ETH"]) == 1
            assert (await c.ok("getMarginPosition", currencyPair="BTC_ETH"))["type"] == "none"
            assert (await c.call("marginBuy", currencyPair="BTC_ETC", rate="0.001", amount="100"))[
                0
            ] == 422

            lending = (await c.ok("returnAvailableAccountBalances", account="lending"))["lending"]
            offer = await c.ok(
                "createLoanOffer",
                currency="BTC",
                amount="0.5",
                duration=2,
                autoRenew=1,
                lendingRate="0.0002",
            )
            assert offer["message"] == "Loan order placed." and isinstance(offer["orderID"], int)
            (row,) = (await c.ok("returnOpenLoanOffers"))["BTC"]
            assert (row["id"], row["amount"], row["autoRenew"]) == (
                offer["orderID"],
                "0.50000000",
                1,
            )
            after = (await c.ok("returnAvailableAccountBalances", account="lending"))["lending"]
            assert d(after["BTC"]) == d(lending["BTC"]) - Decimal("0.5")
            assert await c.ok("cancelLoanOffer", orderNumber=offer["orderID"]) == {
                "success": 1,
                "message": "Loan offer canceled.",
                "amount": "0.50000000",
            }
            assert await c.ok("returnOpenLoanOffers") == []
            loan = (await c.ok("returnActiveLoans"))["provided"][0]
            toggled = await c.ok("toggleAutoRenew", orderNumber=loan["id"])
            assert toggled == {"success": 1, "message": 1 - loan["autoRenew"]}
            history = await c.ok("returnLendingHistory", start=0, end=2**32, limit=3)
            assert len(history) == 3
            for h in history:
                assert d(h["earned"]) == d(h["interest"]) + d(h["fee"])
            moved = await c.ok(
                "transferBalance",
                currency="BTC",
                amount="0.25",
                fromAccount="exchange",
                toAccount="margin",
            )
            assert moved["message"] == "Transferred 0.25000000 BTC from exchange to margin account."
            tradable = await c.ok("returnTradableBalances")
            assert d(tradable["BTC_ETH"]["BTC"]) > 0

    run(body())


def test_every_private_command_answers(run: Run) -> None:
    """One well-formed call per command of the table: a JSON answer, never a server error."""
    key, secret = next(iter(make_keys(1).items()))
    samples = {
        "currencyPair": "BTC_ETH",
        "currency": "BTC",
        "rate": "0.01",
        "amount": "1",
        "start": "0",
        "end": "4000000000",
        "orderNumber": "1",
        "address": "1abc",
        "fromAccount": "exchange",
        "toAccount": "margin",
        "duration": "2",
        "autoRenew": "0",
        "lendingRate": "0.0001",
    }

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None, withdraw_keys=[key]) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            for cmd in PRIVATE.values():
                params = {p.name: samples[p.name] for p in cmd.params if p.required}
                if cmd.one_of:
                    params["orderNumber"] = "1"
                status, result = await c.call(cmd.name, **params)
                assert status in (200, 422), (cmd.name, status, result)
            assert len(ex.journal()) == len(PRIVATE)

    run(body())


def test_judge_takes_only_ascii_digits_as_numbers(run: Run) -> None:
    """Fullwidth and Arabic-Indic digits are digits to Python's ``\\d`` and
    ``int()``, never to the exchange: the judge refuses them as a client's checks do."""
    key, secret = next(iter(make_keys(1).items()))

    async def body() -> None:
        async with (
            StandInExchange({key: secret}, rate_limit=None) as ex,
            Raw(ex.url, key, secret, ex.ca_path) as c,
        ):
            for text in ("１２", "١٢", "0.1２"):
                status, err = await c.call("buy", currencyPair="BTC_ETH", rate=text, amount="1")
                assert status == 422 and "error" in err, (text, status, err)
                status, err = await c.call("cancelOrder", orderNumber=text)
                assert status == 422 and "error" in err, (text, status, err)
            assert [e["status"] for e in ex.journal() if e["status"] == 200] == []

    run(body())
