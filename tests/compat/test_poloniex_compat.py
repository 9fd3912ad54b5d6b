"""``polo_fast.compat.poloniex`` against python-poloniex (``poloniexapi``) and the stand-in.

The same bot (``bot_example.py``, written for ``from poloniex import Poloniex``) runs twice
against one stand-in exchange: with the real python-poloniex library (its requests session
pointed at the stand-in), and through polo_fast with only the import line changed. Both
runs must see and do the same things, each once.
"""

from __future__ import annotations

import inspect
import logging
import socket
import time
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import poloniex as original
import pytest
import requests
from requests.adapters import HTTPAdapter

from polo_fast import errors
from polo_fast.commands import ALL_COMMANDS, PRIVATE
from polo_fast.compat import poloniex as compat
from polo_fast.compat.poloniex import Coach, Poloniex, PoloniexError
from polo_fast.testing.exchange import StandInExchange
from polo_fast.transport import Request, Transport, decode
from tests.compat import bot_example
from tests.conftest import make_keys

PAIR = "BTC_ETH"
BOT = Path(bot_example.__file__)
ORIGINAL_IMPORT = "from poloniex import Poloniex, PoloniexError"


class _ToStandIn(HTTPAdapter):
    """Sends python-poloniex's hard-coded https://poloniex.com requests to the stand-in."""

    def __init__(self, url: str, ca_path: str) -> None:
        super().__init__()
        self.url, self.ca_path = url, ca_path

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None and request.url.startswith("https://poloniex.com/")
        request.url = self.url + request.url[len("https://poloniex.com") :]
        kwargs["verify"] = self.ca_path  # trust the stand-in's throwaway CA only
        return super().send(request, **kwargs)


def _original_to(ex: StandInExchange) -> Any:
    def prepare(polo: Any) -> None:
        polo.session.trust_env = False  # no proxies from the environment
        polo.session.mount("https://poloniex.com", _ToStandIn(ex.url, str(ex.ca_path)))
        polo.coach = None  # the stand-in's limiter is off; keep the run fast

    return prepare


def _compat_to(ex: StandInExchange) -> Any:
    def prepare(polo: Poloniex) -> None:
        polo.configure(url=ex.url, ca_path=ex.ca_path)
        polo.coach = None

    return prepare


def _bot_through_polo_fast() -> types.ModuleType:
    """bot_example.py with only its import line changed."""
    source = BOT.read_text()
    assert source.count(ORIGINAL_IMPORT) == 1
    swapped = source.replace(
        ORIGINAL_IMPORT, "from polo_fast.compat.poloniex import Poloniex, PoloniexError"
    )
    assert [a for a in swapped.splitlines() if a not in source.splitlines()] == [
        "from polo_fast.compat.poloniex import Poloniex, PoloniexError"
    ]
    mod = types.ModuleType("bot_example_polo_fast")
    mod.__file__ = str(BOT)
    exec(compile(swapped, str(BOT), "exec"), mod.__dict__)
    return mod


@pytest.fixture(scope="module")
def exchange() -> Iterator[tuple[StandInExchange, dict[str, str]]]:
    keys = make_keys(4)
    with StandInExchange(keys, rate_limit=None, withdraw_keys=list(keys)[3:]).running() as ex:
        yield ex, keys


def _polo(
    ex: StandInExchange, key: str | None = None, secret: str | None = None, **kw: Any
) -> Poloniex:
    kw.setdefault("coach", False)
    return Poloniex(key or False, secret or False, url=ex.url, ca_path=ex.ca_path, **kw)


# -- the bot, both ways ------------------------------------------------------------------------


def test_the_bot_gives_equal_results_with_python_poloniex_and_polo_fast(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    (k1, s1), (k2, s2) = list(keys.items())[:2]
    start = len(ex.journal())
    with_original = bot_example.run(k1, s1, _original_to(ex))
    swapped = _bot_through_polo_fast()
    assert swapped.Poloniex is Poloniex and swapped.PoloniexError is PoloniexError
    with_polo_fast = swapped.run(k2, s2, _compat_to(ex))

    assert with_polo_fast["seen"] == with_original["seen"]
    seen = with_polo_fast["seen"]
    assert seen["open_after_place"] == [("buy", "0.50000000"), ("sell", "0.25000000")]
    assert seen["open_after_cancel"] == []
    assert seen["balances_after"] == seen["balances_before"]
    assert Decimal(seen["on_orders_btc"]) > 0
    assert seen["too_big"] and seen["cancel_twice"] and seen["move_success"] == 1
    assert seen["bad_order_type"] == "Invalid orderType"
    assert seen["book_amount_types"] == ["str"]  # jsonNums default: floats as str
    assert len(with_polo_fast["placed"]) == 2 and len(with_polo_fast["cancelled"]) == 2

    journal = ex.journal()[start:]
    runs = {k: [(e["command"], e["status"]) for e in journal if e["key"] == k] for k in (k1, k2)}
    assert runs[k2] == runs[k1]  # the same private requests, each once, same outcomes
    commands = [c for c, _ in runs[k2]]
    assert commands.count("buy") == 2 and commands.count("sell") == 1
    assert commands.count("moveOrder") == 1 and commands.count("cancelOrder") == 3
    for k in (k1, k2):
        nonces = [e["nonce"] for e in journal if e["key"] == k]
        assert nonces == sorted(set(nonces))
    # two cancels accepted, the repeated one refused, in both runs
    cancels = [e for e in journal if e["key"] == k2 and e["command"] == "cancelOrder"]
    assert [e["status"] for e in cancels] == [200, 200, 422]


def test_a_key_used_by_python_poloniex_keeps_working_through_polo_fast(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    """python-poloniex nonces are microseconds; the compat class uses the same scale."""
    ex, keys = exchange
    key, secret = list(keys.items())[2]
    old = original.Poloniex(key, secret)
    _original_to(ex)(old)
    assert old.returnBalances()["BTC"]
    start = len(ex.journal())
    with _polo(ex, key, secret) as new:
        assert new.returnBalances()["BTC"]
    assert [e["status"] for e in ex.journal()[start:]] == [200]  # no nonce refusal


# -- the API surface --------------------------------------------------------------------------


def _public_methods(cls: type) -> dict[str, Any]:
    return {n: f for n, f in vars(cls).items() if callable(f) and not n.startswith("_")}


def test_every_python_poloniex_method_exists_with_the_same_signature() -> None:
    names = set(_public_methods(original.Poloniex)) | {"marketTradeHist"}
    assert len(names) == 37
    for name in names:
        theirs = inspect.signature(getattr(original.Poloniex, name))
        ours = inspect.signature(getattr(Poloniex, name))
        assert [(p.name, p.default, p.kind) for p in ours.parameters.values()] == [
            (p.name, p.default, p.kind) for p in theirs.parameters.values()
        ], name
    theirs_call = inspect.signature(original.Poloniex.__call__).parameters
    assert list(inspect.signature(Poloniex.__call__).parameters) == list(theirs_call)
    init = list(inspect.signature(original.PoloniexBase.__init__).parameters.values())
    ours_init = list(inspect.signature(Poloniex.__init__).parameters.values())[: len(init)]
    assert [(p.name, p.kind) for p in ours_init] == [(p.name, p.kind) for p in init]
    assert [p.default for p in ours_init[1:]] == [p.default for p in init[1:]]


def test_every_command_of_the_table_has_a_compat_method() -> None:
    names = set(_public_methods(Poloniex)) | set(_public_methods(compat.PoloniexBase))
    for c in ALL_COMMANDS:
        expected = "marketTradeHist" if c.name == "returnTradeHistory" and not c.private else c.name
        assert expected in names, c.name
    assert sorted(compat.PUBLIC_COMMANDS) == sorted(original.PUBLIC_COMMANDS)
    assert sorted(compat.PRIVATE_COMMANDS) == sorted(original.PRIVATE_COMMANDS)


def test_module_names_bots_import() -> None:
    for name in (
        "Poloniex",
        "PoloniexBase",
        "PoloniexError",
        "RetryException",
        "Coach",
        "PUBLIC_COMMANDS",
        "PRIVATE_COMMANDS",
        "retryDelays",
    ):
        assert hasattr(compat, name), name
    assert PoloniexError is errors.PoloniexError
    assert issubclass(compat.RetryException, PoloniexError)
    assert Poloniex.DAY == original.Poloniex().DAY and Poloniex.MONTH == 30 * 86400


# -- every command, through the compat class ----------------------------------------------------


def test_every_method_round_trips(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, keys = exchange
    key, secret = list(keys.items())[3]
    polo = _polo(ex, key, secret, allow_withdrawals=True)
    now = int(time.time())
    assert PAIR in polo.returnTicker()
    assert any(k.startswith("total") for k in polo.return24hVolume())
    assert set(polo.returnOrderBook()[PAIR]) >= {"asks", "bids"}  # default 'all' works
    assert len(polo.returnOrderBook(PAIR, depth=3)["asks"]) == 3
    assert isinstance(polo.marketTradeHist(PAIR), list)
    assert isinstance(polo.marketTradeHist(PAIR, start=now - 3600, end=now), list)
    candles = polo.returnChartData(PAIR, 300)  # default range: python-poloniex's float start
    assert candles and isinstance(candles[0]["close"], str)
    assert "BTC" in polo.returnCurrencies()
    assert set(polo.returnLoanOrders("btc")) == {"offers", "demands"}
    assert "BTC" in polo.returnBalances()
    assert "available" in polo.returnCompleteBalances()["BTC"]
    assert isinstance(polo.returnDepositAddresses(), dict)
    assert "success" in polo.generateNewAddress("BTC")
    assert "deposits" in polo.returnDepositsWithdrawals()
    assert PAIR in polo.returnOpenOrders()  # default 'all'
    assert isinstance(polo.returnTradeHistory(), (dict, list))
    order = polo.buy(PAIR, 0.00001, 20, "postOnly")
    number = order["orderNumber"]
    assert polo.returnOrderStatus(number)
    with pytest.raises(PoloniexError):
        polo.returnOrderTrades(number)  # no fills: the exchange answers an error
    moved = polo.moveOrder(number, 0.00002, 10, "postOnly")
    assert polo.cancelOrder(moved["orderNumber"])["success"] == 1
    sell = polo.sell(PAIR, 1000, 0.01)
    assert polo.cancelAllOrders(PAIR)["success"] == 1
    assert sell["orderNumber"]
    assert "makerFee" in polo.returnFeeInfo()
    assert "exchange" in polo.returnAvailableAccountBalances()
    assert isinstance(polo.returnAvailableAccountBalances("exchange"), dict)
    assert isinstance(polo.returnTradableBalances(), dict)
    assert polo.transferBalance("BTC", 1, "exchange", "margin")["success"] == 1
    assert "totalValue" in polo.returnMarginAccountSummary()
    margin = polo.marginBuy(PAIR, 0.001, 30, lendingRate=0.02)
    assert margin["orderNumber"]
    polo.cancelOrder(margin["orderNumber"])
    margin = polo.marginSell(PAIR, 0.08, 0.5, 0.02)
    polo.cancelOrder(margin["orderNumber"])
    assert "type" in polo.getMarginPosition(PAIR)
    assert polo.closeMarginPosition(PAIR)["success"] == 1
    assert polo.transferBalance("BTC", 1, "margin", "lending")["success"] == 1
    loan = polo.createLoanOffer("BTC", 0.5, 0.0001, autoRenew=1, duration=3)
    assert any(o["id"] == loan["orderID"] for o in polo.returnOpenLoanOffers()["BTC"])
    assert polo.cancelLoanOffer(loan["orderID"])["success"] == 1
    assert set(polo.returnActiveLoans()) >= {"provided"}
    assert isinstance(polo.returnLendingHistory(limit=5), list)
    with pytest.raises(PoloniexError):
        polo.toggleAutoRenew(1)  # no such loan
    assert polo.withdraw("ETH", 0.1, "0xabc", paymentId="memo")
    journal = [e for e in ex.journal() if e["key"] == key]
    assert {e["command"] for e in journal} == set(PRIVATE)  # all 30 private commands
    assert len({e["nonce"] for e in journal}) == len(journal)
    polo.close()


# -- behaviour kept, and behaviour changed on purpose -------------------------------------------


def test_orders_are_never_resent_unlike_python_poloniex(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    """python-poloniex re-sends an order whose connection dropped: it executes twice."""
    ex, keys = exchange
    (k1, s1), (k2, s2) = list(keys.items())[:2]
    old = original.Poloniex(k1, s1)
    _original_to(ex)(old)
    start = len(ex.journal())
    ex.add_fault("close_after", command="buy")
    old.buy(PAIR, 0.0001, 2)  # succeeds... on its second try
    twice = [e for e in ex.journal()[start:] if e["command"] == "buy"]
    assert len(twice) == 2 and all(e["status"] == 200 for e in twice)

    new = _polo(ex, k2, s2)
    start = len(ex.journal())
    ex.add_fault("close_after", command="buy")
    with pytest.raises(PoloniexError) as info:
        new.buy(PAIR, 0.0001, 2)
    assert isinstance(info.value, errors.MayHaveExecutedError)
    once = [e for e in ex.journal()[start:] if e["command"] == "buy"]
    assert len(once) == 1
    for polo, entries in ((old, twice), (new, once)):
        for e in entries:
            polo.cancelOrder(e["result"]["orderNumber"])
    new.close()


def test_errors_and_checks(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    public_only = _polo(ex)
    with pytest.raises(PoloniexError, match="An Api Key and Secret needed for command"):
        public_only.returnBalances()
    assert PAIR in public_only.returnTicker()
    polo = _polo(ex, key, secret)
    with pytest.raises(PoloniexError, match="Invalid Command!: fooBar"):
        polo("fooBar")
    with pytest.raises(PoloniexError, match="invalid candle period"):
        polo.returnChartData(PAIR, 60)
    with pytest.raises(PoloniexError, match="Invalid orderType: fillOrKill"):
        polo.moveOrder(1, 1, orderType="fillOrKill")
    with pytest.raises(PoloniexError) as info:
        polo.buy(PAIR, 1, 10**9)
    assert isinstance(info.value, errors.InsufficientFundsError)
    assert info.value.text == "Not enough BTC."  # the bare text, as python-poloniex's str(e)
    with pytest.raises(errors.WithdrawalsDisabledError):
        polo.withdraw("BTC", 1, "addr")
    args = {"currencyPair": PAIR}
    assert isinstance(polo("returnOpenOrders", args), list)
    assert args == {"currencyPair": PAIR}  # the caller's dict is not written to


def test_call_takes_python_poloniex_style_string_arguments(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    """python-poloniex users pass every wire value as a string; the table's kinds say how
    to read them."""
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    polo = _polo(ex, key, secret)
    now = time.time()
    candles = polo(
        "returnChartData",
        {"currencyPair": "btc_eth", "period": "300", "start": str(now - 3600), "end": str(now)},
    )
    assert candles and "close" in candles[0]
    assert len(polo("returnOrderBook", {"currencyPair": PAIR, "depth": "2"})["bids"]) == 2
    assert isinstance(polo("marketTradeHist", {"currencyPair": PAIR}), list)
    assert isinstance(polo("returnTradeHistory", {"currencyPair": "all", "limit": "5"}), dict)
    with pytest.raises(errors.PoloniexArgumentError):
        polo("buy", {"currencyPair": PAIR, "rate": "1e-05", "amount": "1"})  # never sent
    polo.close()


class _Answers(Transport):
    """A transport that answers every request with fixed bytes (through the real decoder)."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status = body, status
        self.sent: list[str] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request.command)
        return decode(self.status, self.body, request)

    async def close(self) -> None:
        pass


def test_success_0_answers_come_back_as_results_like_python_poloniex() -> None:
    key, secret = next(iter(make_keys(1).items()))
    failed = _Answers(b'{"success":0,"message":"Transfer failed."}')
    with Poloniex(key, secret, transport=failed) as polo:
        assert polo.transferBalance("BTC", 1, "exchange", "margin") == {
            "success": 0,
            "message": "Transfer failed.",
        }
    refused = _Answers(b'{"error":"Not enough BTC.","success":0}', status=422)
    with (
        Poloniex(key, secret, transport=refused) as polo,
        pytest.raises(errors.InsufficientFundsError),
    ):
        polo.transferBalance("BTC", 1, "exchange", "margin")
    assert failed.sent == refused.sent == ["transferBalance"]


def test_keys_can_be_set_after_construction(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    polo = _polo(ex)
    polo.key, polo.secret = key, secret  # python-poloniex's README does this
    polo.warm_up()
    assert "BTC" in polo.returnBalances()
    polo.close()


def test_json_nums(exchange: tuple[StandInExchange, dict[str, str]]) -> None:
    ex, _ = exchange
    as_str = _polo(ex).returnOrderBook(PAIR, depth=2)
    as_float = _polo(ex, jsonNums=float).returnOrderBook(PAIR, depth=2)
    as_decimal = _polo(ex, jsonNums=Decimal).returnOrderBook(PAIR, depth=2)
    assert isinstance(as_str["asks"][0][1], str) and isinstance(as_str["seq"], int)
    assert isinstance(as_float["asks"][0][1], float) and isinstance(as_float["seq"], float)
    assert isinstance(as_decimal["asks"][0][1], Decimal)
    assert as_decimal["asks"][0][0] == as_str["asks"][0][0]  # strings stay strings
    assert Decimal(as_str["asks"][0][1]) == as_decimal["asks"][0][1]
    assert float(as_str["asks"][0][1]) == as_float["asks"][0][1]


def test_numbers_are_sent_in_plain_decimal(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    polo = _polo(ex, key, secret)
    start = len(ex.journal())
    order = polo.buy(PAIR, 1e-05, 12.5)  # python-poloniex sends rate=1e-05
    polo.cancelOrder(order["orderNumber"])
    sent = ex.journal()[start]["params"]
    assert sent["rate"] == "0.00001" and sent["amount"] == "12.5"


def test_coach_limits_and_can_be_shared() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    coach = Coach(timeFrame=1.0, callLimit=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        coach.wait()
    assert slept == []
    coach.wait()  # the 4th call in the same second waits for the 1st to age out
    assert slept == [1.0] and now[0] == 101.0
    now[0] += 0.5
    coach.wait()
    coach.wait()
    assert slept == [1.0]  # 101.0, 101.5, 101.5: three in the window
    coach.wait()
    assert slept == [1.0, 0.5]
    a = Poloniex(coach=coach)
    b = Poloniex(coach=coach)
    assert a.coach is b.coach is coach
    assert isinstance(Poloniex().coach, Coach) and Poloniex(coach=False).coach is False


def test_repr_and_logs_never_show_the_secret(
    exchange: tuple[StandInExchange, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    ex, keys = exchange
    key, secret = next(iter(keys.items()))
    caplog.set_level(logging.DEBUG)
    polo = _polo(ex, key, secret)
    polo.returnBalances()
    with pytest.raises(PoloniexError) as info:
        polo.cancelOrder(1)
    texts = [repr(polo), str(info.value), repr(info.value), caplog.text]
    assert key[:8] in repr(polo)
    for text in texts:
        assert key not in text
        for i in range(len(secret) - 15):
            assert secret[i : i + 16] not in text
    polo.close()


def test_polo_fast_options_reach_the_client(
    exchange: tuple[StandInExchange, dict[str, str]],
) -> None:
    ex, keys = exchange
    pool = dict(list(keys.items())[:2])
    start = len(ex.journal())
    with _polo(ex, keys=pool) as polo:
        for _ in range(4):
            assert "BTC" in polo.returnBalances()
    used = {e["key"] for e in ex.journal()[start:]}
    assert used == set(pool)  # calls spread over the key pool

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    key, secret = next(iter(keys.items()))
    start = len(ex.journal())
    with (
        _polo(ex, key, secret, proxies={"https": dead}) as polo,
        pytest.raises(errors.ConnectError),
    ):
        polo.returnBalances()
    assert len(ex.journal()) == start
