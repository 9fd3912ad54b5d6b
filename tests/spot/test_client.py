"""The async Spot client (``polo_fast.spot.Client``) against the Spot stand-in.

Every fixed method round trips on the lane and on aiohttp; 200 concurrent orders over one
key each reach the exchange once; the exchange's clock is measured and a timestamp refusal
re-signed once; the kill switch is kept armed while the client lives, fires after it dies
and is disarmed by ``close()``; refusals arrive typed, with their code. The stand-in's
journal is the judge of what reached the exchange.
"""

from __future__ import annotations

import asyncio
import pickle
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest

from polo_fast import errors
from polo_fast.spot import client as spot_client
from polo_fast.spot.answers import classify
from polo_fast.spot.client import Client
from polo_fast.testing.keys import make_keys, make_pair
from polo_fast.testing.spot import SpotExchange
from polo_fast.transport import Head, HttpTransport, Transport, make_ssl_context
from polo_fast.transport.base import Request

SYMBOL = "BTC_USDT"
#: A limit buy well below the stand-in's seeded market (BTC ~37000 USDT): it rests.
RESTING: dict[str, Any] = {"type": "LIMIT", "price": "30000", "quantity": "0.001"}

Keys = Iterator[tuple[str, str]]


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[SpotExchange, Keys]]:
    """One stand-in for the module (no rate limits), and a fresh key of it per test."""
    keys = make_keys(120)
    with SpotExchange(keys=keys, tls=True, rate_limit_scale=None).running() as ex:
        yield ex, iter(keys.items())


def _client(ex: SpotExchange, key: str | None, secret: str | None, **kw: Any) -> Client:
    kw.setdefault("ws", False)
    return Client(key, secret, url=ex.url, ws_url=ex.ws_url, ca_path=ex.ca_path, **kw)


def _calls(ex: SpotExchange, key: str, method: str) -> list[dict[str, Any]]:
    return [e for e in ex.journal() if e["key"] == key and e["method"] == method]


Go = Callable[[], Awaitable[Any]]


class Hooked(Transport):
    """A real transport with a hook around every request: ``hook(command, go)`` returns
    what the client awaits (``go()`` sends the request; not calling it sends nothing)."""

    def __init__(self, inner: Transport, hook: Callable[[str, Go], Awaitable[Any]]) -> None:
        self.inner = inner
        self.hook = hook

    async def send(self, request: Request) -> Any:
        return await self.inner.send(request)

    async def close(self) -> None:
        await self.inner.close()

    def head(self, headers: Mapping[str, str], label: str) -> Head:
        return self.inner.head(headers, label)

    async def warm_up(self, n: int, heads: tuple[Head, ...], *, connections: int = 1) -> None:
        await self.inner.warm_up(n, heads, connections=connections)

    def starter(self, head: Head) -> Callable[[str, bytes], Awaitable[Any]]:
        start = self.inner.starter(head)
        hook = self.hook

        def begin(command: str, data: bytes) -> Awaitable[Any]:
            return hook(command, lambda: start(command, data))

        return begin


def hooked(ex: SpotExchange, hook: Callable[[str, Go], Awaitable[Any]]) -> Hooked:
    """The stand-in's network transport, hooked."""
    return Hooked(HttpTransport(ex.url, make_ssl_context(ex.ca_path), classify=classify), hook)


class Scripted(Transport):
    """A transport answering from ``answer(line, body)`` (``line``: ``"POST /orders"``);
    every request is logged as ``("written", what)`` and its answer as ``("answered",
    what)``."""

    def __init__(self, answer: Callable[[str, str], Awaitable[Any]]) -> None:
        self.answer = answer
        self.log: list[tuple[str, str]] = []

    async def send(self, request: Request) -> Any:
        head, _, body = request.data.partition(b"\r\n\r\n")
        method, path = head.split(b" ", 2)[:2]
        line = f"{method.decode()} {path.decode().split('?')[0]}"
        what = f"{line} {body.decode()}".strip()
        self.log.append(("written", what))
        result = await self.answer(line, body.decode())
        self.log.append(("answered", what))
        return result

    async def close(self) -> None:
        pass

    def written(self, line: str) -> list[str]:
        return [w for ev, w in self.log if ev == "written" and w.startswith(line)]


def _server_time() -> dict[str, int]:
    return {"serverTime": time.time_ns() // 1_000_000}


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["lane", "aiohttp"])
def test_every_fixed_method_round_trips(
    run: Any, standin: tuple[SpotExchange, Keys], path: str
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> None:
        transport = None
        if path == "aiohttp":  # the fallback path: framed requests read back by aiohttp
            ctx = make_ssl_context(ex.ca_path)
            transport = HttpTransport(ex.url, ctx, lean=False, classify=classify)
        async with _client(ex, key, secret, transport=transport) as c:
            await c.warm_up()
            assert abs(c.clock_offset_ms) < 1000
            assert type((await c.server_time())["serverTime"]) is int
            assert any(m["symbol"] == SYMBOL for m in await c.markets())
            assert await c.currencies()
            book = await c.order_book(SYMBOL, limit=5)
            assert len(book["asks"]) == len(book["bids"]) == 10  # flat [p, q] x 5
            assert (await c.balances())[0]["balances"]
            placed = await c.create_order(SYMBOL, "BUY", **RESTING, time_in_force="GTC")
            cid = placed["clientOrderId"]
            assert cid and placed["id"]
            by_id = await c.get_order(placed["id"])
            by_cid = await c.get_order(client_order_id=cid)
            assert by_id == by_cid and by_id["state"] == "NEW"
            assert [o["id"] for o in await c.open_orders(SYMBOL)] == [placed["id"]]
            gone = await c.cancel_order(client_order_id=cid)
            assert gone["orderId"] == placed["id"] and gone["code"] == 200
            batch = await c.create_orders(
                [{"symbol": SYMBOL, "side": "BUY", **RESTING}, {"symbol": SYMBOL, "side": "BUY",
                 "type": "LIMIT", "price": "29000", "quantity": "0.001", "clientOrderId": "b-2"}]
            )  # fmt: skip
            assert [o["clientOrderId"] for o in batch][1] == "b-2"
            cancelled = await c.cancel_orders(order_ids=[batch[0]["id"]], client_order_ids=["b-2"])
            assert {x["orderId"] for x in cancelled} == {o["id"] for o in batch}
            await c.create_order(SYMBOL, "BUY", **RESTING)
            assert len(await c.cancel_all_orders()) == 1
            armed = await c.kill_switch(30)
            assert (await c.kill_switch_status()) == armed
            await c.kill_switch(-1)
            assert await c.request("GET", "/orders", params={"symbol": SYMBOL}) == []
            assert (await c.request("GET", "/timestamp"))["serverTime"]
        methods = Counter(e["method"] for e in ex.journal() if e["key"] == key)
        assert methods["create_order"] == 2 and methods["create_orders"] == 1
        assert methods["cancel_order"] == methods["cancel_orders"] == 1
        assert all(e["status"] == 200 for e in ex.journal() if e["key"] == key)

    run(body())


def test_warm_up_opens_the_asked_connections_per_key_and_on_the_public_lane(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    def idle(slot: Any) -> int:
        assert slot is not None and slot.head.lane is not None
        return len(slot.head.lane._idle)

    async def body() -> None:
        async with _client(ex, key, secret, connections=3) as c:
            await c.warm_up()  # n: the client's connections=
            assert idle(c._one) == idle(c._public) == 3  # warm and idle, for orders in parallel
            await c.warm_up()  # already warm: nothing more
            assert idle(c._one) == idle(c._public) == 3
        async with _client(ex, key, secret, connections=1) as c:
            await c.warm_up(4)  # n: warm lane connections per key, the public lane too
            assert idle(c._one) == idle(c._public) == 4
            for bad in (0, -1, True, 2.0):
                with pytest.raises(errors.PoloniexArgumentError):
                    await c.warm_up(bad)  # type: ignore[arg-type]

    run(body())


def test_public_endpoints_need_no_key_and_signed_ones_refuse_before_sending(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, _ = standin

    async def body() -> None:
        async with _client(ex, None, None) as c:
            assert c.key_prefixes == ()
            assert (await c.order_book(SYMBOL))["asks"]
            with pytest.raises(errors.PoloniexArgumentError, match="needs an API key"):
                await c.balances()

    run(body())


def test_200_concurrent_orders_over_one_key_each_reach_the_exchange_once(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> list[Any]:
        async with _client(ex, key, secret, rate_limits=None) as c:
            await c.warm_up()
            return await asyncio.gather(
                *(c.create_order(SYMBOL, "BUY", **RESTING) for _ in range(200))
            )

    placed = run(body())
    cids = [p["clientOrderId"] for p in placed]
    assert len(set(cids)) == 200
    creates = _calls(ex, key, "create_order")
    assert all(e["status"] == 200 for e in creates)
    assert Counter(e["params"]["clientOrderId"] for e in creates) == Counter(cids)


# -- the exchange's clock -------------------------------------------------------------------


@pytest.mark.parametrize("offset_ms", [-3000, 3000])
def test_an_exchange_clock_three_seconds_off_is_absorbed_by_warm_up(
    run: Any, offset_ms: int
) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}, clock_offset_ms=offset_ms) as ex:
            async with _client(ex, key, secret, recv_window=1500) as c:
                await c.warm_up()
                assert abs(c.clock_offset_ms - offset_ms) < 500
                await c.balances()
                await c.create_order(SYMBOL, "BUY", **RESTING)
            assert {e["status"] for e in ex.journal() if e["key"] == key} == {200}

    run(body())


@pytest.mark.parametrize("offset_ms", [-3000, 3000])
def test_a_timestamp_refusal_is_measured_resigned_and_resent_once(run: Any, offset_ms: int) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}) as ex:
            async with _client(ex, key, secret, recv_window=1500) as c:
                await c.warm_up()
                assert abs(c.clock_offset_ms) < 500
                ex.clock_offset_ms = offset_ms  # the exchange's clock jumps
                placed = await c.create_order(SYMBOL, "BUY", **RESTING)
                assert abs(c.clock_offset_ms - offset_ms) < 500
            creates = _calls(ex, key, "create_order")
            assert [e["status"] for e in creates] == [400 if offset_ms < 0 else 408, 200]
            assert creates[1]["params"]["clientOrderId"] == placed["clientOrderId"]

    run(body())


def test_a_second_timestamp_refusal_is_raised(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}) as ex:
            async with _client(ex, key, secret) as c:
                await c.warm_up()
                ex.clock_offset_ms = -5000
                # the measurement is kept wrong: the re-signed request is refused again
                monkeypatch.setattr(c, "_measure_clock", _noop)
                with pytest.raises(errors.TimestampError) as info:
                    await c.balances()
                assert info.value.status == 400
            assert [e["status"] for e in _calls(ex, key, "balances")] == [400, 400]

    run(body())


async def _noop() -> None:
    return None


def test_a_lookup_refused_for_its_timestamp_measures_the_clock_again(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    """The host's clock jumps while an order's answer is lost: the lookups are refused for
    their timestamp until the clock is measured again; then the order is found."""
    ex, keys = standin
    key, secret = next(keys)
    clients: list[Client] = []

    async def hook(command: str, go: Go) -> Any:
        try:
            return await go()
        except errors.TransportError:
            if command == "create_order":
                clients[0]._offset += 5000  # the host's clock steps back 5 s
            raise

    async def body() -> Any:
        async with _client(ex, key, secret, transport=hooked(ex, hook)) as c:
            clients.append(c)
            await c.warm_up()
            ex.add_fault("close_after", command="create_order")
            return await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="ts-look")

    placed = run(body())
    (create,) = _calls(ex, key, "create_order")
    assert placed["id"] == create["result"]["id"]
    assert [e["status"] for e in _calls(ex, key, "get_order")] == [400, 200]


@pytest.mark.parametrize("owner", ["this call", "another order"])
def test_a_duplicate_after_a_timestamp_resend_is_settled_by_lookup(run: Any, owner: str) -> None:
    """The first attempt was refused for its timestamp, the re-sent one as a duplicate
    clientOrderId: the first may have run after all. The order found is returned when it
    is this call's; the duplicate refusal is raised when the id is another order's."""
    key, secret = make_pair()
    price = "30000" if owner == "this call" else "31000"

    async def answer(line: str, body: str) -> Any:
        if line == "GET /timestamp":
            return _server_time()
        if line == "POST /orders":
            if len(fake.written("POST /orders {")) == 1:  # the first attempt
                raise errors.TimestampError(
                    "signTimestamp is more than 1 second from poloniex system time",
                    command="create_order", status=400, code=400,
                )  # fmt: skip
            raise errors.DuplicateClientOrderIdError(
                "Client orderId already exists", command="create_order", status=400, code=21312
            )
        assert line == "GET /orders/cid:twice", line
        return {"id": "7", "clientOrderId": "twice", "symbol": SYMBOL, "state": "NEW",
                "side": "BUY", "type": "LIMIT", "price": price, "quantity": "0.001",
                "createTime": _server_time()["serverTime"]}  # fmt: skip

    fake = Scripted(answer)

    async def body() -> Any:
        async with Client(key, secret, transport=fake, ws=False) as c:
            try:
                return await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="twice")
            except errors.PoloniexError as exc:
                return exc

    got = run(body())
    assert len(fake.written("POST /orders")) == 2  # the refused one and its one re-send
    if owner == "this call":
        assert isinstance(got, dict) and got["id"] == "7"
    else:
        assert type(got) is errors.DuplicateClientOrderIdError


def test_a_cancelled_clock_measurement_leaves_it_running_for_the_others(run: Any) -> None:
    key, secret = make_pair()
    gate = asyncio.Event()

    async def answer(line: str, body: str) -> Any:
        assert line == "GET /timestamp"
        await gate.wait()
        return {"serverTime": _server_time()["serverTime"] + 3000}

    async def body() -> None:
        async with Client(key, secret, transport=Scripted(answer), ws=False) as c:
            first = asyncio.ensure_future(c._measure_clock())
            await asyncio.sleep(0)  # the first caller starts the measurement
            second = asyncio.ensure_future(c._measure_clock())  # and the second shares it
            await asyncio.sleep(0)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            gate.set()
            await second  # not cancelled: it gets the measurement
            assert abs(c.clock_offset_ms - 3000) < 500

    run(body())


def test_signed_request_bytes_stay_out_of_a_raised_traceback(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> BaseException:
        async with _client(ex, key, secret, read_retries=1) as c:
            await c.warm_up()
            ex.add_fault("http_500", command="balances", count=2)
            with pytest.raises(errors.ExchangeUnavailable) as info:
                await c.balances()
            return info.value

    exc = run(body())
    leaks = [
        (frame.f_code.co_name, name)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
        for name, value in frame.f_locals.items()
        if isinstance(value, (bytes, bytearray)) and b"signature:" in value
    ]
    assert not leaks, f"signed request bytes in traceback frames: {leaks}"


# -- the kill switch ------------------------------------------------------------------------


def test_kill_switch_kept_armed_while_alive_and_fires_after_the_client_dies(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, secret = make_pair()
    # exchange seconds are 0.05 s here (10 s: half a second); re-arm every 0.05 s
    monkeypatch.setattr(spot_client, "REARM_FRACTION", 0.005)

    async def body() -> None:
        async with SpotExchange(keys={key: secret}, kill_switch_unit=0.05) as ex:
            c = _client(ex, key, secret, kill_switch=10)
            await c.warm_up()
            fired = ex.kill_switch_fired(key)
            placed = await c.create_order(SYMBOL, "BUY", **RESTING)
            with pytest.raises(asyncio.TimeoutError):  # 4 expiries pass: it never fires
                await asyncio.wait_for(fired.wait(), 2.0)
            assert ex.venue.trading.find(key, placed["id"]).state == "NEW"
            assert c._keeper is not None
            c._keeper.cancel()  # the bot dies: nobody re-arms, nobody disarms
            await asyncio.wait_for(fired.wait(), 10)
            assert ex.venue.trading.find(key, placed["id"]).state == "CANCELED"
            await c.transport.close()

    run(body())


@pytest.mark.parametrize("offset_ms", [-3000, 3000])
def test_kill_switch_with_the_exchange_clock_off_arms_once_the_clock_is_measured(
    run: Any, offset_ms: int
) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}, clock_offset_ms=offset_ms) as ex:
            async with _client(ex, key, secret, kill_switch=30, recv_window=1500) as c:
                await c.warm_up()
                await c.warm_up()
                assert ex.venue.kill.status(key)["cancellationTime"]
            assert {e["status"] for e in _calls(ex, key, "kill_switch")} == {200}

    run(body())


def test_warm_up_after_a_failed_arming_arms_again_instead_of_raising_it(run: Any) -> None:
    key, secret = make_pair()

    async def answer(line: str, body: str) -> Any:
        if line == "GET /timestamp":
            return _server_time()
        assert line == "POST /orders/killSwitch"
        if len(fake.written(line)) == 1:
            raise errors.ServiceBusyError("busy", command="kill_switch", code=24201)
        return {"startTime": 1, "cancellationTime": 2}

    fake = Scripted(answer)

    async def body() -> None:
        async with Client(key, secret, transport=fake, kill_switch=10, ws=False) as c:
            with pytest.raises(errors.ServiceBusyError):
                await c.warm_up()  # the first arming failed: said so
            await c.warm_up()  # armed now, at once: not the stale failure
            assert len(fake.written("POST /orders/killSwitch")) == 2

    run(body())


@pytest.mark.parametrize("rearm", ["answered", "lost"])
def test_close_waits_for_the_rearm_in_flight_before_disarming(
    run: Any, monkeypatch: pytest.MonkeyPatch, rearm: str
) -> None:
    """A re-arm in flight when close() begins: the disarm goes after its answer (else the
    exchange could apply the re-arm last); a re-arm whose outcome stays unknown is followed
    by a second disarm."""
    monkeypatch.setattr(spot_client, "REARM_FRACTION", 0.001)  # re-arm after 10 ms
    key, secret = make_pair()
    rearm_written = asyncio.Event()
    release = asyncio.Event()

    async def answer(line: str, body: str) -> Any:
        if line == "GET /timestamp":
            return _server_time()
        if '"-1"' not in body and len(fake.written(line)) == 2:  # the re-arm: held
            rearm_written.set()
            await release.wait()
            if rearm == "lost":
                raise errors.ConnectionLost("connection closed", command="kill_switch")
        return {"startTime": 1, "cancellationTime": 2}

    fake = Scripted(answer)

    async def body() -> None:
        c = Client(key, secret, transport=fake, kill_switch=10, ws=False)
        await c.warm_up()
        await rearm_written.wait()
        closing = asyncio.ensure_future(c.close())
        for _ in range(20):  # let close() run as far as it goes without the re-arm's answer
            await asyncio.sleep(0)
        assert not fake.written('POST /orders/killSwitch {"timeout":"-1"}')
        release.set()
        await closing

    run(body())
    arms = [w for w in fake.written("POST /orders/killSwitch") if '"-1"' not in w]
    disarms = fake.written('POST /orders/killSwitch {"timeout":"-1"}')
    assert len(arms) == 2 and len(disarms) == (2 if rearm == "lost" else 1)
    if rearm == "answered":
        first_disarm = fake.log.index(("written", disarms[0]))
        assert ("answered", arms[1]) in fake.log[:first_disarm]


def test_a_disarm_that_fails_at_close_is_tried_again(run: Any) -> None:
    key, secret = make_pair()

    async def answer(line: str, body: str) -> Any:
        if line == "GET /timestamp":
            return _server_time()
        if '"-1"' in body and len(fake.written('POST /orders/killSwitch {"timeout":"-1"}')) == 1:
            raise errors.ServiceBusyError("busy", command="kill_switch", code=24201)
        return {"startTime": 1, "cancellationTime": 2}

    fake = Scripted(answer)

    async def body() -> None:
        async with Client(key, secret, transport=fake, kill_switch=10, ws=False) as c:
            await c.warm_up()

    run(body())
    assert len(fake.written('POST /orders/killSwitch {"timeout":"-1"}')) == 2


def test_close_disarms_the_kill_switch(run: Any) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}) as ex:
            async with _client(ex, key, secret, kill_switch=30) as c:
                await c.warm_up()
                status = ex.venue.kill.status(key)
                assert status["cancellationTime"] - status["startTime"] == 30_000
            with pytest.raises(Exception, match="No active kill switch"):
                ex.venue.kill.status(key)
            timeouts = [e["params"]["timeout"] for e in _calls(ex, key, "kill_switch")]
            assert timeouts[0] == 30 and timeouts[-1] == -1

    run(body())


def test_kill_switch_is_armed_by_the_first_call_without_warm_up(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> None:
        async with _client(ex, key, secret, kill_switch=60) as c:
            await c.balances()
            assert c._armed is not None
            await c._armed
            assert (await c.kill_switch_status())["cancellationTime"]

    run(body())
    assert [e["params"]["timeout"] for e in _calls(ex, key, "kill_switch")] == [60, -1]


# -- refusals, typed ------------------------------------------------------------------------


def test_refusals_arrive_typed_with_their_code(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> None:
        async with _client(ex, key, secret) as c:
            with pytest.raises(errors.InsufficientFundsError) as funds:
                await c.create_order(SYMBOL, "BUY", type="LIMIT", price="30000", quantity="100")
            assert funds.value.code == 21709 and funds.value.status == 400
            with pytest.raises(errors.OrderNotFoundError) as missing:
                await c.get_order("123456")
            assert missing.value.code == 21301
            await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="twice")
            with pytest.raises(errors.DuplicateClientOrderIdError) as dup:
                await c.create_order(SYMBOL, "BUY", **RESTING, client_order_id="twice")
            assert dup.value.code == 21312 and isinstance(dup.value, errors.OrderRejectedError)
            with pytest.raises(errors.InvalidParameterError) as bad:
                await c.create_order("NOPE_USDT", "BUY", **RESTING)
            assert bad.value.code == 10040
            with pytest.raises(errors.ExchangeError) as none:
                await c.kill_switch_status()
            assert none.value.code == 25020 and "kill_switch_status" in str(none.value)
        assert len(_calls(ex, key, "create_order")) == 4  # none re-sent

    run(body())


def test_a_bad_signature_is_an_authentication_error(
    run: Any, standin: tuple[SpotExchange, Keys]
) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> None:
        async with _client(ex, key, secret[::-1]) as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.balances()
            assert info.value.status == 401 and "empty body" in str(info.value)

    run(body())
    assert [e["status"] for e in _calls(ex, key, "balances")] == [401]


def test_429_is_a_rate_limit_error_never_resent(run: Any) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}, rate_limit_scale=0.02) as ex:  # 1/s
            async with _client(ex, key, secret, rate_limits=None) as c:
                await c.balances()
                with pytest.raises(errors.RateLimitError) as info:
                    await c.balances()
                assert info.value.code == 429
            assert [e["status"] for e in _calls(ex, key, "balances")] == [200, 429]

    run(body())


def test_the_client_rate_limiter_keeps_a_class_within_the_exchange_limit(run: Any) -> None:
    key, secret = make_pair()

    async def body() -> None:
        async with SpotExchange(keys={key: secret}, rate_limit_scale=0.1) as ex:  # 5/s
            limits = {"nriPriv": 5}
            async with _client(ex, key, secret, rate_limits=limits, connections=8) as c:
                # warm: the limiter counts a call when it leaves; a cold connection's
                # handshake would delay the first calls' arrival, not the later ones'
                await c.warm_up()
                await asyncio.gather(*(c.balances() for _ in range(8)))
            assert [e["status"] for e in _calls(ex, key, "balances")] == [200] * 8

    run(body())


# -- configuration and secrets --------------------------------------------------------------


def test_secrets_never_show_and_the_client_refuses_pickling() -> None:
    key, secret = make_pair()
    c = Client(key, secret, ws=False)
    assert secret not in repr(c) and key not in repr(c) and key[:8] in repr(c)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(c)
    with pytest.raises(errors.PoloniexArgumentError) as info:
        Client(key, "é" * 10)
    assert "é" not in str(info.value)


@pytest.mark.parametrize(
    "kw",
    [
        {"kill_switch": 5},
        {"kill_switch": True},
        {"connections": 0},
        {"recv_window": 0},
        {"rate_limits": {"nope": 1}},
        {"rate_limits": {"nriPriv": -1}},
        {"timeout": 0},
        {"read_retries": -1},
        {"max_answer_bytes": 10},
        {"keep_warm": float("nan")},
        {"allow_insecure_http": "yes"},
        {"url": "http://api.poloniex.com"},
        {"url": "https://api.poloniex.com/v1"},
        {"ws_url": "https://ws.poloniex.com/ws"},
    ],
)
def test_bad_configuration_is_refused(kw: dict[str, Any]) -> None:
    key, secret = make_pair()
    with pytest.raises(errors.PoloniexArgumentError):
        Client(key, secret, **kw)


def test_a_closed_client_refuses_calls(run: Any, standin: tuple[SpotExchange, Keys]) -> None:
    ex, keys = standin
    key, secret = next(keys)

    async def body() -> None:
        c = _client(ex, key, secret)
        await c.close()
        with pytest.raises(errors.PoloniexArgumentError, match="closed"):
            await c.balances()

    run(body())
    assert _calls(ex, key, "balances") == []
