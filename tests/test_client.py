"""The async client against the stand-in exchange, on loopback, through both paths.

Every test that talks to the exchange runs on the lean lane and forced through aiohttp
(``lean=False``), under asyncio and uvloop: both paths must give the same results and errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import pytest

from polo_fast import errors as E
from polo_fast.client import Client
from polo_fast.commands import ALL_COMMANDS, Command, Kind, Param
from polo_fast.testing.exchange import StandInExchange
from polo_fast.transport import Request, Transport
from tests.conftest import make_keys

LEAN = pytest.mark.parametrize("lean", [True, False], ids=["lean", "aiohttp"])
NOW = int(time.time())


def _client(ex: StandInExchange, keys: dict[str, str], *, lean: bool, **kw: Any) -> Client:
    kw.setdefault("rate_limit", None)
    pairs = list(keys.items())
    if len(pairs) == 1:
        return Client(*pairs[0], url=ex.url, ca_path=ex.ca_path, lean=lean, **kw)
    return Client(keys=pairs, url=ex.url, ca_path=ex.ca_path, lean=lean, **kw)


# -- every command round-trips ------------------------------------------------------------


def _sample(cmd: Command, p: Param, order: str) -> Any:
    if p.choices is not None and p.kind is not Kind.FLAG:
        if p.name == "toAccount":
            return "margin"
        return p.choices[0]
    return {
        Kind.PAIR: "BTC_ETH",
        Kind.PAIR_OR_ALL: "BTC_ETH",
        Kind.CURRENCY: "BTC",
        Kind.DECIMAL: Decimal("0.0100"),
        Kind.INT: max(p.minimum or 1, 2 if p.name == "duration" else 1),
        Kind.TIMESTAMP: NOW - 86400 if p.name == "start" else NOW,
        Kind.ORDER_NUMBER: order,
        Kind.CLIENT_ORDER_ID: 4242,
        Kind.FLAG: True,
        Kind.BIT: True,
        Kind.STR: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    }[p.kind]


def _args(cmd: Command, order: str) -> tuple[list[Any], dict[str, Any]]:
    """Every documented parameter of ``cmd``, respecting exclusive / one-of groups."""
    skip: set[str] = set()
    for group in (*cmd.exclusive, *cmd.one_of):
        skip.update(group[1:])
    if cmd.name == "cancelOrder":
        skip = {"clientOrderId"}
    pos = [_sample(cmd, p, order) for p in cmd.params if p.required]
    kw = {
        p.arg: _sample(cmd, p, order) for p in cmd.params if not p.required and p.name not in skip
    }
    if cmd.name in ("buy", "sell", "marginBuy", "marginSell", "moveOrder"):
        kw["client_order_id"] = 900 + ALL_COMMANDS.index(cmd)
    if cmd.name == "withdraw":
        kw.pop("payment_id")
        pos[0], pos[1] = "USDT", Decimal("20")
    return pos, kw


@LEAN
def test_every_command_round_trips(run: Any, lean: bool) -> None:
    keys = make_keys(1)
    (key,) = keys

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None, withdraw_keys=[key]) as ex,
            _client(ex, keys, lean=lean, allow_withdrawals=True) as c,
        ):
            placed = await c.buy("BTC_ETH", Decimal("0.00100000"), 1, post_only=True)
            order = placed["orderNumber"]
            for cmd in ALL_COMMANDS:
                pos, kw = _args(cmd, order)
                before = len(ex.journal())
                try:
                    result = await getattr(c, cmd.method)(*pos, **kw)
                except E.ExchangeError as exc:
                    # the exchange read the parameters; only its business rules refused
                    assert not isinstance(
                        exc, (E.InvalidParameterError, E.AuthenticationError, E.NonceError)
                    ), (cmd.name, exc)
                    result = exc
                if cmd.private:
                    journal = ex.journal()
                    assert len(journal) == before + 1, cmd.name
                    entry = journal[-1]
                    assert entry["command"] == cmd.name and entry["key"] == key
                    sent = {k for k in entry["params"]}
                    wanted = {p.name for p in cmd.params if p.arg in kw} | {
                        p.name for p in cmd.params if p.required
                    }
                    assert sent == wanted, cmd.name
                else:
                    assert not isinstance(result, Exception), (cmd.name, result)
                    if cmd.name == "returnOrderBook":
                        assert len(result["asks"]) <= kw.get("depth", 50)

    run(main())


@LEAN
def test_escape_hatches(run: Any, lean: bool) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None) as ex, _client(ex, keys, lean=lean) as c:
            book = await c.public("returnOrderBook", currencyPair="BTC_ETH", depth=3)
            assert len(book["bids"]) <= 3
            bal = await c.private("returnCompleteBalances", account="all")
            assert "BTC" in bal
            with pytest.raises(E.UnknownCommandError):
                await c.private("returnEverything")
            with pytest.raises(E.UnknownCommandError):
                await c.public("returnBalances")
            with pytest.raises(E.PoloniexArgumentError):
                await c.private("buy", currencyPair="BTC_ETH", rate="1", amount="1", price=3)
            assert [e["command"] for e in ex.journal()] == ["returnCompleteBalances"]
            # unchecked: sent as is, and the exchange's own refusal comes back typed
            with pytest.raises(E.InvalidParameterError):
                await c.private("returnEverything", unchecked=True, depth=1)

    run(main())


# -- bad arguments are refused before anything is sent --------------------------------------


class Refusing(Transport):
    """A transport that counts what reaches it (nothing should)."""

    def __init__(self) -> None:
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        raise AssertionError(f"{request.command} reached the transport")

    async def close(self) -> None:
        return None


BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
    ("buy", ("btc_eth", "0.1", "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC-ETH", "0.1", "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", float("nan"), "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", "0.1", float("inf")), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", Decimal("NaN"), "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", "1e-8", "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", "-1", "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", True, "1"), {}, E.PoloniexTypeError),
    ("buy", ("BTC_ETH", None, "1"), {}, E.PoloniexArgumentError),
    ("buy", ("BTC_ETH", [1], "1"), {}, E.PoloniexTypeError),
    (
        "buy",
        ("BTC_ETH", "0.1", "1"),
        {"post_only": True, "fill_or_kill": True},
        E.PoloniexArgumentError,
    ),
    ("buy", ("BTC_ETH", "0.1", "1"), {"post_only": "yes"}, E.PoloniexTypeError),
    ("buy", ("BTC_ETH", "0.1", "1"), {"client_order_id": 2**63}, E.PoloniexArgumentError),
    ("cancel_order", (), {}, E.PoloniexArgumentError),
    ("cancel_order", (), {"order_number": 1, "client_order_id": 2}, E.PoloniexArgumentError),
    ("cancel_order", (), {"order_number": "12a"}, E.PoloniexArgumentError),
    (
        "move_order",
        (1, "0.1"),
        {"post_only": True, "immediate_or_cancel": True},
        E.PoloniexArgumentError,
    ),
    ("return_order_book", ("BTC_ETH",), {"depth": 101}, E.PoloniexArgumentError),
    ("return_order_book", ("BTC_ETH",), {"depth": True}, E.PoloniexTypeError),
    ("return_chart_data", ("BTC_ETH", 60, 0, 1), {}, E.PoloniexArgumentError),
    ("return_chart_data", ("BTC_ETH", 300, 1.5, 2), {}, E.PoloniexTypeError),
    ("create_loan_offer", ("BTC", "1", 61, 1, "0.01"), {}, E.PoloniexArgumentError),
    ("create_loan_offer", ("BTC", "1", 2, 2, "0.01"), {}, E.PoloniexArgumentError),
    ("transfer_balance", ("BTC", "1", "exchange", "savings"), {}, E.PoloniexArgumentError),
    ("return_open_orders", ("ALL",), {}, E.PoloniexArgumentError),
    ("generate_new_address", ("btc",), {}, E.PoloniexArgumentError),
    ("return_trade_history", ("BTC_ETH",), {"limit": 0}, E.PoloniexArgumentError),
    ("withdraw", ("BTC", "1", "addr"), {}, E.WithdrawalsDisabledError),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "exc"), BAD_CALLS)
def test_bad_arguments_never_reach_the_transport(
    run: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], exc: type[Exception]
) -> None:
    ((key, secret),) = make_keys(1).items()
    transport = Refusing()

    async def main() -> None:
        async with Client(key, secret, transport=transport) as c:
            with pytest.raises(exc):
                await getattr(c, method)(*args, **kwargs)

    run(main())
    assert transport.sent == []


@LEAN
def test_bad_arguments_leave_the_journal_empty(run: Any, lean: bool) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None) as ex, _client(ex, keys, lean=lean) as c:
            for method, args, kwargs, exc in BAD_CALLS:
                with pytest.raises(exc):
                    await getattr(c, method)(*args, **kwargs)
            assert ex.journal() == []
            with pytest.raises(E.PoloniexArgumentError):
                await Client(url=ex.url, ca_path=ex.ca_path).return_balances()

    run(main())


# -- lanes, key pools, optimistic mode --------------------------------------------------------


@LEAN
def test_1000_concurrent_calls_over_4_keys(run: Any, lean: bool) -> None:
    keys = make_keys(4)

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None, max_open_orders=1000) as ex,
            _client(ex, keys, lean=lean) as c,
        ):
            await c.warm_up(4)
            results = await asyncio.gather(
                *(
                    c.buy("BTC_ETH", "0.00010000", "1", post_only=True, client_order_id=i)
                    for i in range(1000)
                )
            )
            assert all("orderNumber" in r for r in results)
            journal = ex.journal()
            ids = sorted(int(e["params"]["clientOrderId"]) for e in journal)
            assert ids == list(range(1000))  # each call exactly once, none refused
            assert {e["key"] for e in journal} == set(keys)
            for key in keys:  # nonces reached the exchange in order, per key
                nonces = [e["nonce"] for e in journal if e["key"] == key]
                assert nonces == sorted(nonces)

    run(main())


@LEAN
def test_optimistic_mode_one_key(run: Any, lean: bool, caplog: pytest.LogCaptureFixture) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None, max_open_orders=1000) as ex,
            _client(ex, keys, lean=lean, optimistic=True) as c,
        ):
            results = await asyncio.gather(
                *(
                    c.buy("BTC_ETH", "0.00010000", "1", post_only=True, client_order_id=i)
                    for i in range(200)
                )
            )
            assert all("orderNumber" in r for r in results)
            ids = sorted(int(e["params"]["clientOrderId"]) for e in ex.journal())
            assert ids == list(range(200))  # all succeeded, none executed twice

    with caplog.at_level(logging.DEBUG, logger="polo_fast.client"):
        run(main())


def test_nonce_refusal_is_resigned(run: Any) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None) as ex:
            async with _client(ex, keys, lean=True) as c:
                await c.return_balances()
            # a second client on the same key starts from a lower nonce scale: refused first
            async with _client(ex, keys, lean=True, nonce_scale=1) as c2:
                assert "BTC" in await c2.return_balances()
            assert len(ex.journal()) == 2

    run(main())


def test_rate_limiter_keeps_the_exchange_happy(run: Any) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=20.0) as ex,
            _client(ex, keys, lean=True, rate_limit=20.0) as c,
        ):
            await asyncio.gather(*(c.return_balances() for _ in range(30)))
            assert len(ex.journal()) == 30

    run(main())


# -- faults ----------------------------------------------------------------------------------

READ_FAULTS = {
    "close_before": E.ConnectionLost,
    "close_after": E.ConnectionLost,
    "http_500": E.ExchangeUnavailable,
    "http_502": E.ExchangeUnavailable,
    "http_503": E.ExchangeUnavailable,
    "cf_520": E.ExchangeUnavailable,
    "cf_522": E.ExchangeUnavailable,
    "cf_524": E.ExchangeUnavailable,
    "truncate": E.InvalidResponse,
    "delay": E.RequestTimeout,
    "rate_limit": E.RateLimitError,
}


@LEAN
@pytest.mark.parametrize("action", sorted(READ_FAULTS))
def test_fault_read_only(run: Any, lean: bool, action: str) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None) as ex:
            async with _client(ex, keys, lean=lean, read_retries=2, timeout=0.3) as c:
                ex.add_fault(action, command="returnBalances", count=1, delay=1.0)
                if action == "rate_limit":  # an exchange refusal: reported, never retried
                    with pytest.raises(E.RateLimitError):
                        await c.return_balances()
                else:  # retried
                    assert "BTC" in await c.return_balances()
            ex.clear_faults()
            async with _client(ex, keys, lean=lean, read_retries=1, timeout=0.3) as c:
                ex.add_fault(action, command="returnBalances", count=None, delay=1.0)
                with pytest.raises(READ_FAULTS[action]):
                    await c.return_balances()
                ex.clear_faults()

    run(main())


STATE_FAULTS = {
    # action: (error raised, executed on the exchange)
    "close_before": (E.MayHaveExecutedError, False),
    "close_after": (E.MayHaveExecutedError, True),
    "delay": (E.MayHaveExecutedError, True),
    "truncate": (E.MayHaveExecutedError, True),
    "cf_524": (E.MayHaveExecutedError, True),
    "http_500": (E.MayHaveExecutedError, False),
    "http_502": (E.MayHaveExecutedError, False),
    "http_503": (E.MayHaveExecutedError, False),
    "cf_520": (E.MayHaveExecutedError, False),
    "cf_522": (E.ExchangeUnavailable, False),
    "rate_limit": (E.RateLimitError, False),
}


@LEAN
@pytest.mark.parametrize("action", sorted(STATE_FAULTS))
def test_fault_state_changing(run: Any, lean: bool, action: str) -> None:
    keys = make_keys(1)
    error, executed = STATE_FAULTS[action]

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None) as ex,
            _client(ex, keys, lean=lean, read_retries=3, timeout=0.3) as c,
        ):
            ex.add_fault(action, command="buy", count=1, delay=1.0)
            with pytest.raises(error) as info:
                await c.buy("BTC_ETH", "0.00010000", "1", client_order_id=77)
            if isinstance(info.value, E.MayHaveExecutedError):
                assert "MAY HAVE EXECUTED" in str(info.value)
                assert info.value.nonce is not None
                assert isinstance(info.value.__cause__, E.TransportError)
            await asyncio.sleep(1.1) if action == "delay" else None  # let the late one land
            buys = [e for e in ex.journal() if e["command"] == "buy"]
            assert len(buys) == (1 if executed else 0)  # at most once, never re-sent
            assert "BTC" in await c.return_balances()  # the client is still usable

    run(main())


@LEAN
def test_trickle_is_read_whole(run: Any, lean: bool) -> None:
    keys = make_keys(1)

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None) as ex,
            _client(ex, keys, lean=lean, timeout=2.0) as c,
        ):
            ex.add_fault("trickle", command="returnBalances", count=1, delay=0.2)
            assert "BTC" in await c.return_balances()

    run(main())


# -- safety: withdrawals, repr, secrets in logs -------------------------------------------


def _runs_of(secret: str, n: int = 16) -> list[str]:
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


@LEAN
def test_no_secret_in_logs_errors_or_reprs(
    run: Any, lean: bool, caplog: pytest.LogCaptureFixture
) -> None:
    keys = make_keys(2)
    texts: list[str] = []

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None) as ex,
            _client(ex, keys, lean=lean, read_retries=1, timeout=0.3) as c,
        ):
            texts.append(repr(c))
            await c.warm_up(1)
            await c.return_balances()
            ex.add_fault("close_after", command="buy", count=1)
            for call in (
                c.buy("BTC_ETH", "0.1", "1"),  # may have executed
                c.cancel_order(order_number=1),  # exchange error
                c.buy("btc", "0.1", "1"),  # argument error
                c.withdraw("BTC", "1", "x"),  # withdrawals disabled
            ):
                try:
                    await call
                except Exception as exc:
                    texts.extend([str(exc), repr(exc), str(exc.__cause__)])
            async with _client(ex, {next(iter(keys)): "0" * 128}, lean=lean) as bad:
                try:
                    await bad.return_balances()
                except E.AuthenticationError as exc:
                    texts.append(str(exc))

    with caplog.at_level(logging.DEBUG):
        run(main())
    texts += [r.getMessage() for r in caplog.records]
    assert any("polo_fast" in r.name for r in caplog.records)
    blob = "\n".join(texts)
    for key, secret in keys.items():
        assert key[:8] in blob
        for run_ in _runs_of(secret):
            assert run_ not in blob


def test_withdraw_needs_allow_withdrawals(run: Any) -> None:
    keys = make_keys(1)
    (key,) = keys

    async def main() -> None:
        async with StandInExchange(keys, rate_limit=None, withdraw_keys=[key]) as ex:
            async with _client(ex, keys, lean=True) as c:
                with pytest.raises(E.WithdrawalsDisabledError):
                    await c.withdraw("BTC", "0.1", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
                with pytest.raises(E.WithdrawalsDisabledError):
                    await c.private("withdraw", currency="BTC", amount="0.1", address="x")
            assert ex.journal() == []
            async with _client(ex, keys, lean=True, allow_withdrawals=True) as c:
                assert "response" in await c.withdraw(
                    "BTC", "0.1", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
                )

    run(main())


def test_repr_shows_key_prefixes_only() -> None:
    keys = make_keys(3)
    c = Client(keys=list(keys.items()))
    text = repr(c)
    for key, secret in keys.items():
        assert key[:8] in text and key not in text and secret[:16] not in text
    assert c.key_prefixes == tuple(k[:8] + "…" for k in keys)


def test_configuration_errors() -> None:
    ((key, secret),) = make_keys(1).items()
    with pytest.raises(E.PoloniexArgumentError):
        Client(key, secret, keys=[(key, secret)])
    with pytest.raises(E.PoloniexArgumentError):
        Client(keys=[(key, secret), (key, secret)])
    with pytest.raises(E.PoloniexTypeError):
        Client(key, None)
    with pytest.raises(E.PoloniexArgumentError):
        Client(key + "\r\nX: 1", secret)
    with pytest.raises(E.PoloniexArgumentError):
        Client(key, secret, rate_limit=0)


# -- the compiled checks and the fast path send what the general path sends ---------------

# Values of every kind, good and bad: each plan must accept, refuse and word its errors
# exactly as build_params, and its C fields must give the general path's body byte for byte.
_POOL: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    2,
    7,
    61,
    300,
    10_001,
    -1,
    2**63,
    2**64,
    1.5,
    -0.5,
    1e-8,
    1e16,
    float("nan"),
    float("inf"),
    Decimal("0.0100"),
    Decimal("1E-8"),
    Decimal("1E+3"),
    Decimal("-1"),
    Decimal("-0"),
    Decimal("NaN"),
    "BTC_ETH",
    "btc_eth",
    "all",
    "ALL",
    "BTC",
    "0.5",
    "5.",
    ".5",
    ".",
    "",
    "1e-8",
    "٣.٣",
    "12345",
    "12a",
    "exchange",
    "margin",
    "savings",
    "a b&c=d+e%f",
    "x\ny",
    "é",
    b"1",
    [1],
]


def _value_sets(cmd: Command, rnd: Any) -> list[tuple[Any, ...]]:
    good = tuple(_sample(cmd, p, "12345") for p in cmd.params)
    sets = [
        good,
        tuple(None if not p.required else v for p, v in zip(cmd.params, good, strict=True)),
    ]
    for i in range(len(cmd.params)):
        for v in _POOL:
            sets.append((*good[:i], v, *good[i + 1 :]))
    for _ in range(40):
        sets.append(tuple(rnd.choice(_POOL) for _ in cmd.params))
    return sets


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the exact type and text are compared
        return (type(exc), str(exc))


def test_compiled_checks_match_build_params() -> None:
    import random

    from polo_fast._args import PLANS, build_params
    from polo_fast.signing import Signer

    rnd = random.Random(7)
    signer = Signer("k" * 64, backend="python")
    head = b"POST /tradingApi HTTP/1.1\r\nContent-Length: "
    checked = 0
    for cmd in ALL_COMMANDS:
        plan = PLANS[cmd.method]
        request = signer._fields_request(head)
        for values in _value_sets(cmd, rnd):
            ref = _outcome(build_params, cmd, values)
            got = _outcome(plan.check, values)
            if ref[0] != "ok":
                assert got == ref, (cmd.name, values)
                continue
            assert got[0] == "ok", (cmd.name, values, got)
            fields, n = got[1]
            # the fast path's request equals the general path's body and Sign, assembled
            body, sign = signer.encode_and_sign(ref[1], 42)
            assert request(fields, n, 42) == (
                head + str(len(body)).encode() + b"\r\nSign: " + sign.encode() + b"\r\n\r\n" + body
            ), (cmd.name, values)
            checked += 1
    assert checked > 500


class _FixedNonce:
    def next(self) -> int:
        return 1700000000

    def bump(self, floor: int) -> None:
        raise AssertionError("no nonce refusal expected")


def test_fast_path_and_general_path_send_the_same_bytes(run: Any) -> None:
    """The same calls through the lean lane (one C call) and through aiohttp: same bytes."""
    from tests.test_transport import ScriptedServer

    ((key, secret),) = make_keys(1).items()

    async def calls(lean: bool) -> list[tuple[bytes, bytes]]:
        async with ScriptedServer() as srv:
            async with Client(
                key, secret, url=srv.url, lean=lean, rate_limit=None, allow_insecure_http=True
            ) as c:
                c._slots[0].nonce = _FixedNonce()  # type: ignore[assignment]
                await c.buy("BTC_ETH", Decimal("1E-8"), 1.5, post_only=True, client_order_id=9)
                await c.sell("BTC_ETH", "0.5", 2)
                await c.return_balances()
                await c.private("returnOpenOrders", currencyPair="all")
                await c.private("returnEverything", unchecked=True, memo="a b&c", n=3)
            return [(h[b"sign"], b) for h, b in srv.requests]

    async def main() -> None:
        lean, general = await calls(True), await calls(False)
        assert lean == general and len(lean) == 5
        assert lean[0][1] == (
            b"command=buy&currencyPair=BTC_ETH&rate=0.00000001&amount=1.5"
            b"&postOnly=1&clientOrderId=9&nonce=1700000000"
        )
        assert lean[4][1] == b"command=returnEverything&memo=a+b%26c&n=3&nonce=1700000000"

    run(main())


def test_gate_is_fifo_and_survives_cancellation(run: Any) -> None:
    from polo_fast.client import _Gate

    async def main() -> None:
        gate = _Gate(1)
        order: list[int] = []
        await gate.take()

        async def holder(i: int) -> None:
            await gate.take()
            order.append(i)
            await asyncio.sleep(0)
            gate.release()

        tasks = [asyncio.ensure_future(holder(i)) for i in range(5)]
        await asyncio.sleep(0)
        tasks[1].cancel()  # cancelled while waiting: leaves the queue
        gate.release()  # hands the place to task 0
        tasks[0].cancel()  # ... which is cancelled before it runs: passes the place on
        await asyncio.gather(*tasks, return_exceptions=True)
        assert order == [2, 3, 4]
        assert gate.free == 1 and not gate.waiters
        await gate.take()  # free again, without waiting
        assert gate.free == 0

    run(main())


@LEAN
def test_a_key_pool_acts_on_an_order_with_the_key_that_placed_it(run: Any, lean: bool) -> None:
    """Cancel, move and status calls follow the order to its key (the exchange allows no other)."""
    keys = make_keys(4)

    async def main() -> None:
        async with (
            StandInExchange(keys, rate_limit=None) as ex,
            _client(ex, keys, lean=lean) as c,
        ):
            placed = await asyncio.gather(
                *(
                    c.buy("BTC_ETH", "0.00010000", "1", post_only=True, client_order_id=100 + i)
                    for i in range(12)
                )
            )
            owner = {
                e["result"]["orderNumber"]: e["key"] for e in ex.journal() if e["command"] == "buy"
            }
            assert len(set(owner.values())) > 1  # the pool really spread them
            numbers = [p["orderNumber"] for p in placed]
            status = await asyncio.gather(*(c.return_order_status(n) for n in numbers[:4]))
            assert all(s["success"] == 1 for s in status)
            moved = await c.move_order(numbers[4], "0.00011000")
            assert moved["success"] == 1
            cancelled = await asyncio.gather(
                c.cancel_order(moved["orderNumber"]),
                *(c.cancel_order(n) for n in numbers[5:10]),
                c.cancel_order(client_order_id=110),
                c.cancel_order(client_order_id=111),
                c.cancel_order(numbers[0]),
            )
            assert all(r["success"] == 1 for r in cancelled)
            for e in ex.journal():
                if e["command"] in ("cancelOrder", "moveOrder", "returnOrderStatus"):
                    assert e["status"] == 200, e
            # still open: 1-3 (each answers through its own key); cancelled: 5 (refused)
            still = await asyncio.gather(*(c.return_order_status(n) for n in numbers[1:4]))
            assert [str(next(iter(r["result"]))) for r in still] == numbers[1:4]
            with pytest.raises(E.ExchangeError):
                await c.return_order_status(numbers[5])

    run(main())
