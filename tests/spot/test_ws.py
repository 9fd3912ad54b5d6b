"""The Spot client's private WebSocket against the stand-in: auth, orders, events, keep-alive.

The client is :class:`polo_fast.spot.Client` itself (a subclass that records what it
settles); the stand-in's REST is read with its tests' stdlib-signed :class:`Raw` client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import picows
import pytest

from polo_fast.errors import (
    AuthenticationError,
    DuplicateClientOrderIdError,
    ExchangeError,
    InsufficientFundsError,
    MayHaveExecutedError,
    PoloniexArgumentError,
    RateLimitError,
)
from polo_fast.spot import _builders
from polo_fast.spot._ws_client import (
    _EVENTS_KEEP,
    BalanceEvent,
    OrderEvent,
    WsMethods,
    _Events,
    _Private,
)
from polo_fast.spot.client import Client
from polo_fast.spot.ws import Connection
from polo_fast.testing.keys import make_secret
from polo_fast.testing.spot import SpotExchange
from polo_fast.transport.tls import make_ssl_context
from tests.testing.spot.conftest import Raw, Run, standin

LIMIT = {"type": "LIMIT", "price": "30000", "quantity": "0.001", "time_in_force": "GTC"}
"""A buy well below the seeded market (BTC ~37000 USDT): it rests."""


class Recording(Client):
    """The Spot client, noting every order it settles by clientOrderId."""

    settled: list[tuple[str, str, str]]

    async def _settle(self, command: str, client_order_id: str, reason: str, **kw: Any) -> Any:
        self.settled.append((command, client_order_id, reason))
        return await super()._settle(command, client_order_id, reason, **kw)


@contextlib.asynccontextmanager
async def ws_client(
    ex: SpotExchange, raw: Raw, *, secret: str | None = None, **attrs: Any
) -> AsyncIterator[Recording]:
    """A client of ``raw``'s key on the stand-in (``attrs``: e.g. ``_ws_timeout``)."""
    c = Recording(
        raw.key, secret if secret is not None else raw.secret, url=ex.url,
        ws_url=ex.ws_url, ca_path=ex.ca_path, rate_limits=None,
    )  # fmt: skip
    c.settled = []
    for name, value in attrs.items():
        setattr(c, name, value)
    async with c:
        yield c


def creates(ex: SpotExchange) -> list[dict[str, Any]]:
    """The journal's executed ``create_order`` calls (REST or WebSocket)."""
    return [j for j in ex.journal() if j["method"] == "create_order" and j["status"] == 200]


# -- auth ----------------------------------------------------------------------------------------


def test_auth_accepted(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await c._ws_warm_up()
            priv = c._ws_private_socket
            assert priv is not None and priv.conn.is_ready and priv.conn.generation == 1
            await c._ws_warm_up()  # warm already: nothing new
            assert priv.conn.generation == 1

    run(body())


def test_auth_refused_with_a_wrong_secret(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw, secret=make_secret()) as c:
            with pytest.raises(AuthenticationError) as info:
                await c._ws_warm_up()
            assert raw.secret not in str(info.value) and raw.secret not in repr(c)
            priv = c._ws_private_socket
            assert priv is not None and not priv.conn.connected
            # Nothing was sent as an order; a later call tries (and fails) again.
            with pytest.raises(AuthenticationError):
                await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
            assert creates(ex) == []

    run(body())


def test_warm_up_opens_the_socket_unless_opted_out(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await c.warm_up()
            priv = c._ws_private_socket
            assert priv is not None and priv.conn.is_ready
        assert c._ws_private_socket is None and not priv.conn.connected  # closed with it
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            c._ws_enabled = False  # as Client(..., ws=False)
            await c.warm_up()
            assert c._ws_private_socket is None
            await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)  # opens it on first use
            assert c._ws_private_socket is not None

    run(body())


def test_first_ws_call_opens_the_socket(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            assert c._ws_private_socket is None
            answer = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="first", **LIMIT)
            assert answer["clientOrderId"] == "first" and answer["id"].isdigit()
            [journal] = creates(ex)
            assert journal["http"] == "WS" and journal["result"]["id"] == answer["id"]

    run(body())


# -- orders --------------------------------------------------------------------------------------


def test_500_orders_in_flight_on_one_socket(run: Run) -> None:
    async def body() -> None:
        async with standin(rate_limit_scale=None) as (ex, [raw]), ws_client(ex, raw) as c:
            await c._ws_warm_up()
            cids = [f"many-{i}" for i in range(500)]
            answers = await asyncio.gather(
                *(c.ws_create_order("BTC_USDT", "BUY", client_order_id=x, **LIMIT) for x in cids)
            )
            assert [a["clientOrderId"] for a in answers] == cids
            journal = creates(ex)
            assert sorted(j["result"]["clientOrderId"] for j in journal) == sorted(cids)
            assert {a["id"] for a in answers} == {j["result"]["id"] for j in journal}
            priv = c._ws_private_socket
            assert priv is not None and priv.pending == {} and priv.conn.generation == 1

    run(body())


def test_every_order_carries_a_client_order_id(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            a = await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
            b = await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
            assert a["clientOrderId"] and b["clientOrderId"] != a["clientOrderId"]
            assert [j["params"]["clientOrderId"] for j in creates(ex)] == [
                a["clientOrderId"],
                b["clientOrderId"],
            ]

    run(body())


def test_refusals_raise_through_the_error_tree(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            with pytest.raises(InsufficientFundsError) as info:
                await c.ws_create_order("BTC_USDT", "BUY", type="LIMIT", price="30000",
                                        quantity="100000")  # fmt: skip
            assert info.value.code == 21709
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="dup", **LIMIT)
            with pytest.raises(DuplicateClientOrderIdError) as dup:
                await c.ws_create_order("BTC_USDT", "BUY", client_order_id="dup", **LIMIT)
            assert dup.value.code == 21312 and len(creates(ex)) == 1

    run(body())


@pytest.mark.parametrize(
    "args",
    [
        {"side": "HOLD", **LIMIT},
        {"side": "BUY", "type": "MARKET", "price": "1", "quantity": "1"},
        {"side": "BUY", **LIMIT, "client_order_id": "no spaces"},
        {"side": "BUY", **{**LIMIT, "price": float("nan")}},
    ],
)
def test_bad_input_refused_before_sending(run: Run, args: dict[str, Any]) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await c._ws_warm_up()
            priv = c._ws_private_socket
            assert priv is not None
            sent = priv.conn.sent
            with pytest.raises((PoloniexArgumentError, TypeError)):
                await c.ws_create_order("BTC_USDT", **args)
            assert priv.conn.sent == sent and ex.journal() == []

    run(body())


def test_cancels(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            a = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="c1", **LIMIT)
            b = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="c2", **LIMIT)
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="c3", **LIMIT)
            items = await c.ws_cancel_orders(order_ids=[a["id"]], client_order_ids=["c2", "nope"])
            assert [(str(i["orderId"]), i["code"]) for i in items[:2]] == [
                (a["id"], 200),
                (b["id"], 200),
            ]
            assert items[2]["clientOrderId"] == "nope" and items[2]["code"] != 200
            rest = await c.ws_cancel_all_orders()
            assert [i["clientOrderId"] for i in rest] == ["c3"]
            assert await c.open_orders() == []
            with pytest.raises(PoloniexArgumentError):
                await c.ws_cancel_orders()  # neither ids nor cids: refused before sending

    run(body())


# -- events --------------------------------------------------------------------------------------


async def next_events(stream: AsyncIterator[Any], n: int) -> list[Any]:
    """The next ``n`` items of ``stream``."""
    return [await stream.__anext__() for _ in range(n)]


def test_order_and_balance_events(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            orders, balances = c.order_events(), c.balance_events()
            a = await c.ws_create_order("BTC_USDT", "BUY", client_order_id="e1", **LIMIT)
            [placed] = await next_events(orders, 1)
            assert isinstance(placed, OrderEvent)
            assert (placed.order_id, placed.client_order_id, placed.event_type, placed.state) == (
                a["id"], "e1", "place", "NEW",
            )  # fmt: skip
            [usdt] = await next_events(balances, 1)
            assert isinstance(usdt, BalanceEvent) and usdt.currency == "USDT"
            assert usdt.hold == "30.00000000"  # 30000 x 0.001 held
            await c.ws_cancel_orders(client_order_ids=["e1"])
            [cancelled] = await next_events(orders, 1)
            assert (cancelled.event_type, cancelled.state) == ("canceled", "CANCELED")
            [back] = await next_events(balances, 1)
            assert back.hold == "0.00000000" and not back.reconciled

    run(body())


def test_duplicate_events_are_delivered_once(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            orders, balances = c.order_events(), c.balance_events()
            ex.add_ws_fault("duplicate", event="orders")
            ex.add_ws_fault("duplicate", event="balances")
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="d1", **LIMIT)
            await c.ws_create_order("BTC_USDT", "BUY", client_order_id="d2", **LIMIT)
            priv = c._ws_private_socket
            assert priv is not None
            await priv.conn.ping()  # everything the stand-in queued before has arrived
            got = await next_events(orders, 2)
            assert [e.client_order_id for e in got] == ["d1", "d2"]
            assert len(await next_events(balances, 2)) == 2
            assert len(priv.orders._items) == 0 and len(priv.balances._items) == 0

    run(body())


# -- keep-alive ----------------------------------------------------------------------------------


class _Counting(Connection):
    """A connection that sets ``enough`` once ``target`` pongs came back."""

    target = 0
    enough: asyncio.Event

    def deliver(self, msg: Any) -> None:
        super().deliver(msg)
        if self.pongs >= self.target:
            self.enough.set()


async def _socket(ex: SpotExchange, ping_interval: float | None) -> tuple[_Counting, list[str]]:
    drops: list[str] = []
    conn = _Counting(
        ex.ws_url + "/public",
        make_ssl_context(ca_path=ex.ca_path),
        lambda msg: None,
        on_drop=drops.append,
        ping_interval=ping_interval,
        backoff=(30.0, 30.0),  # no reconnect within the test
    )
    conn.enough = asyncio.Event()
    await conn.open()
    return conn, drops


def test_idle_socket_closed_by_the_stand_in_without_pings(run: Run) -> None:
    async def body() -> None:
        async with SpotExchange({}, ws_idle_timeout=0.3) as ex:
            conn, _ = await _socket(ex, None)
            dropped = asyncio.get_running_loop().create_future()
            conn._on_drop = dropped.set_result
            try:
                assert await asyncio.wait_for(dropped, 10) == "the connection dropped"
                assert not conn.connected
            finally:
                await conn.close()

    run(body())


def test_pinging_socket_is_never_closed(run: Run) -> None:
    async def body() -> None:
        async with SpotExchange({}, ws_idle_timeout=0.3) as ex:
            conn, drops = await _socket(ex, 0.05)  # silent at most 0.1 s, well inside 0.3
            conn.target = 20  # 20 keep-alive pings answered: over 1 s, 3 idle timeouts
            try:
                await asyncio.wait_for(conn.enough.wait(), 30)
                assert drops == [] and conn.connected and conn.generation == 1
                assert conn.sent == conn.pongs or conn.sent == conn.pongs + 1  # only pings
            finally:
                await conn.close()

    run(body())


def test_connection_refuses_plain_ws_and_bad_intervals() -> None:
    with pytest.raises(PoloniexArgumentError):
        Connection("ws://127.0.0.1:1/ws/public", None, lambda m: None)
    with pytest.raises(PoloniexArgumentError):
        Connection("wss://127.0.0.1:1/ws/public", None, lambda m: None, ping_interval=0)


def test_unverified_server_is_refused(run: Run) -> None:
    async def body() -> None:
        async with SpotExchange({}) as ex:
            conn = Connection(ex.ws_url + "/public", make_ssl_context(), lambda m: None)
            with pytest.raises(Exception, match="could not open"):
                await conn.open()
            assert not conn.connected

    run(body())


def test_closed_client_refuses_ws_calls(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
        assert c._ws_private_socket is None
        with pytest.raises(PoloniexArgumentError, match="closed"):
            await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
        with pytest.raises(PoloniexArgumentError, match="closed"):
            async with c.book_stream("BTC_USDT"):
                pass
        with pytest.raises(PoloniexArgumentError, match="closed"):
            await c.order_events().__anext__()
        assert c._ws_private_socket is None and len(creates(ex)) == 1

    run(body())


def test_order_events_end_when_the_client_closes(run: Run) -> None:
    async def body() -> None:
        async with standin() as (ex, [raw]), ws_client(ex, raw) as c:
            stream = c.order_events()
            reader = asyncio.ensure_future(stream.__anext__())
            await c._ws_warm_up()
            await c.close()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(reader, 10)

    run(body())


def test_plain_ws_only_with_allow_insecure_http(run: Run) -> None:
    async def body() -> None:
        async with standin(tls=False) as (ex, [raw]):
            assert ex.ws_url.startswith("ws://")
            async with Client(raw.key, raw.secret, url=ex.url, ws_url=ex.ws_url,
                              allow_insecure_http=True) as c:  # fmt: skip
                answer = await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
                assert answer["id"]
        async with standin() as (ex, [raw]):
            plain = "ws" + ex.ws_url.removeprefix("wss")
            async with Client(raw.key, raw.secret, url=ex.url, ws_url=plain,
                              ca_path=ex.ca_path) as c:  # fmt: skip
                with pytest.raises(PoloniexArgumentError, match="wss://"):
                    await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
            assert creates(ex) == []

    run(body())


def test_websocket_trade_requests_share_the_keys_rate_budget(run: Run) -> None:
    """The exchange counts a key's WebSocket trade requests with its REST ones: the client's
    limiter admits them from the same budget (create_order's and cancel_orders' classes)."""

    async def body() -> None:
        async with standin() as (ex, [raw]):
            c = Client(
                raw.key, raw.secret, url=ex.url, ws_url=ex.ws_url, ca_path=ex.ca_path,
                rate_limits={"nriPriv": 2.0, "riPriv": 1.0},
            )  # fmt: skip
            async with c:
                assert c._rate_delay("create_order") == 0.0  # one of two spent by the probe
                await c.ws_create_order("BTC_USDT", "BUY", **LIMIT)
                assert c._rate_delay("create_order") > 0.0  # the WebSocket order counted
                await c.ws_cancel_orders(client_order_ids=["none-such"])
                assert c._rate_delay("cancel_orders") > 0.0
                assert len(creates(ex)) == 1

    run(body())


async def _cut_for_silence(run_until_cut: Any = None) -> str:
    """Open a socket to a peer that answers nothing (``run_until_cut(conn)`` runs once it is
    open); return the reason of the drop."""
    server, url = await _bare_server(_Mute)
    drops: asyncio.Queue[str] = asyncio.Queue()
    conn = Connection(url, None, lambda m: None, on_drop=drops.put_nowait,
                      ping_interval=0.05, insecure=True, backoff=(30.0, 30.0))  # fmt: skip
    await conn.open()
    try:
        if run_until_cut is not None:
            run_until_cut(conn)
        return await asyncio.wait_for(drops.get(), 10)
    finally:
        await conn.close()
        server.close()


def test_a_socket_that_answers_nothing_is_cut(run: Run) -> None:
    """A ping with nothing received by the next look cuts the socket (a dead peer)."""
    assert run(_cut_for_silence()) == "no answer to a ping"


def test_a_socket_that_only_sends_is_still_checked(run: Run) -> None:
    """Frames going out keep a socket from being silent, not from being dead: when nothing
    comes back the keep-alive pings anyway and cuts it."""

    def chatter(conn: Connection) -> None:  # a busy bot: a request every 10 ms, none answered
        if conn.connected:
            conn.send(b'{"id":"1","event":"createOrder","params":{}}')
            asyncio.get_running_loop().call_later(0.01, chatter, conn)

    assert run(_cut_for_silence(chatter)) == "no answer to a ping"


def test_a_flapping_server_is_not_hammered(run: Run) -> None:
    """The reconnect delay grows while sockets die young (it is the connection's, not the
    attempt's): 5 connects take at least the first four delays (jitter halves them at most)."""

    async def body() -> None:
        _Slam.opened = asyncio.Queue()
        server, url = await _bare_server(_Slam)
        loop = asyncio.get_running_loop()
        conn = Connection(url, None, lambda m: None, ping_interval=None, insecure=True,
                          backoff=(0.05, 5.0))  # fmt: skip
        try:
            await conn.open()
            start = loop.time()
            for _ in range(4):  # reconnects 1..4
                await asyncio.wait_for(_Slam.opened.get(), 10)
            await asyncio.wait_for(_Slam.opened.get(), 10)
            elapsed = loop.time() - start
            # 0.05 + 0.1 + 0.2 + 0.4, each at least halved: 0.375 s (a reset delay: <= 0.2)
            assert elapsed >= 0.37, elapsed
        finally:
            await conn.close()
            server.close()

    run(body())


class _Mute(picows.WSListener):
    """A peer that answers nothing (half dead)."""

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        pass


class _Slam(picows.WSListener):
    """A gateway that accepts, then closes at once (flapping)."""

    opened: asyncio.Queue[None]

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.opened.put_nowait(None)
        asyncio.get_running_loop().call_later(0.01, transport.disconnect)


async def _bare_server(factory: type[picows.WSListener]) -> tuple[asyncio.AbstractServer, str]:
    server = await picows.ws_create_server(lambda _req: factory(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/ws/public"


# -- the private socket's logic, against fakes --------------------------------------------------


class _Owner(WsMethods):
    """The least a :class:`_Private` needs of its client, with a scripted REST."""

    _ws_url = "wss://127.0.0.1:1/ws"
    _ssl_context = None
    _ws_enabled = True
    _closed = False
    _timeout = 1.0

    def __init__(self) -> None:
        self.priv: _Private | None = None
        self.views: list[dict[str, Any]] = []  # what GET /orders answers
        self.history: list[dict[str, Any]] = []  # what GET /orders/history answers
        self.during_rest: Any = None  # live events that arrive while GET /orders travels
        self.gate: asyncio.Event | None = None  # holds GET /accounts/balances
        self.balance_rows: list[dict[str, Any]] = []
        self.during_balances: Any = None
        self.closed_during_lookup = False  # a live CANCELED arrives during GET /orders/{id}
        self.lookup_fails = False
        self.calls = 0

    def _ws_key(self) -> str:
        return "K" * 64

    def _now_ms(self) -> int:
        return 1_000_000

    def _rate_delay(self, command: str) -> float:
        return 0.0

    def _ws_signer(self) -> Any:
        return type("S", (), {"sign": lambda *a, **k: "sig"})()

    async def _ws_private(self) -> _Private:
        assert self.priv is not None
        return self.priv

    async def open_orders(self, symbol: str | None = None, *, limit: int | None = None) -> Any:
        self.calls += 1
        views = [dict(v) for v in self.views]  # the answer as of now
        if self.during_rest is not None:
            self.during_rest()
        return views

    async def get_order(self, order_id: str | None = None) -> Any:
        if self.closed_during_lookup:
            assert self.priv is not None
            _live(self.priv, str(order_id), "CANCELED", "canceled", "0", "0")
        if self.lookup_fails:
            raise ExchangeError("Order not found", command="get_order")
        return {"id": order_id, "state": "CANCELED", "filledQuantity": "0"}

    async def order_history(
        self, *, limit: int | None = None, start_time: int | None = None
    ) -> Any:
        return [dict(v) for v in self.history]

    async def balances(self) -> Any:
        if self.gate is not None:
            await self.gate.wait()
        if self.during_balances is not None:
            self.during_balances()
        return [{"accountType": "SPOT", "accountId": "1", "balances": self.balance_rows}]


def _live(priv: _Private, oid: str, state: str, ev: str, filled: str, trade: str) -> None:
    priv.on_message({"channel": "orders", "data": [{
        "orderId": oid, "clientOrderId": "c" + oid, "state": state, "eventType": ev,
        "filledQuantity": filled, "tradeId": trade}]})  # fmt: skip


def _drain(events: Any) -> list[tuple[dict[str, Any], bool]]:
    out = list(events._items)
    events._items.clear()
    return out


def _states(priv: _Private) -> list[tuple[str, str, bool]]:
    return [(e["orderId"], e["state"], r) for e, r in _drain(priv.orders)]


class _SetUpConn:
    """Answers auth and subscriptions at once (for :meth:`_Private._open`)."""

    timeout = 1.0

    def __init__(self, priv: _Private) -> None:
        self.priv = priv

    def send(self, data: bytes) -> None:
        msg = orjson.loads(data)
        loop = asyncio.get_running_loop()
        if msg["channel"] == ["auth"]:
            loop.call_soon(self.priv.on_message, {"channel": "auth", "data": {"success": True}})
        else:
            for ch in msg["channel"]:
                loop.call_soon(self.priv.on_message, {"event": "subscribe", "channel": ch})


class _Answers:
    """A transport that answers every request with ``reply(id)`` on the next turn."""

    def __init__(self, priv: _Private, reply: Any) -> None:
        self.priv, self.reply = priv, reply

    def send(self, kind: Any, data: bytes) -> None:
        rid = orjson.loads(data)["id"]
        asyncio.get_running_loop().call_soon(self.priv.on_message, self.reply(rid))


def _limit_order(cid: str) -> Any:
    return _builders.create_order(
        "BTC_USDT", "BUY", "LIMIT", "1", "1", None, None, cid, None, None, None
    )


def _answering(reply: Any) -> tuple[_Owner, _Private]:
    owner = _Owner()
    priv = owner.priv = _Private(owner)
    priv.conn._transport = _Answers(priv, reply)  # type: ignore[assignment]
    priv.conn._ready.set()
    return owner, priv


def test_reconcile_leaves_an_order_a_live_event_touched_meanwhile() -> None:
    """REST said NEW, the re-subscribed stream already said FILLED: no stale NEW after it."""

    async def body() -> None:
        owner = _Owner()
        priv = owner.priv = _Private(owner)
        _live(priv, "1", "NEW", "place", "0", "0")
        _drain(priv.orders)
        owner.views = [{"id": "1", "clientOrderId": "c1", "state": "NEW", "filledQuantity": "0"}]
        owner.during_rest = lambda: _live(priv, "1", "FILLED", "trade", "1", "9")
        owner.balance_rows = [{"currency": "USDT", "available": "5", "hold": "0"}]

        def balance_meanwhile() -> None:
            priv.on_message({"channel": "balances", "data": [{
                "currency": "USDT", "available": "7", "hold": "0", "id": 42}]})  # fmt: skip

        owner.during_balances = balance_meanwhile
        await priv._reconcile_now()
        assert _states(priv) == [("1", "FILLED", False)]
        assert "1" not in priv.open_orders  # the filled order is not open again
        assert [(e["available"], r) for e, r in _drain(priv.balances)] == [("7", False)]
        assert priv.known_balances["USDT"] == ("7", "0")

    asyncio.run(body())


def test_reconcile_delivers_a_terminal_event_once() -> None:
    """A live CANCELED that arrives while the order is looked up is the only one."""

    async def body() -> None:
        owner = _Owner()
        owner.closed_during_lookup = True
        priv = owner.priv = _Private(owner)
        _live(priv, "1", "NEW", "place", "0", "0")
        _drain(priv.orders)
        await priv._reconcile_now()
        assert _states(priv) == [("1", "CANCELED", False)]

    asyncio.run(body())


def test_reconcile_survives_an_order_closed_while_it_looks() -> None:
    """The lookup fails because a live event closed the order: the rest still runs."""

    async def body() -> None:
        owner = _Owner()
        owner.closed_during_lookup = owner.lookup_fails = True
        owner.balance_rows = [{"currency": "USDT", "available": "5", "hold": "0"}]
        priv = owner.priv = _Private(owner)
        _live(priv, "1", "NEW", "place", "0", "0")
        await priv._reconcile_now()
        assert priv.known_balances.get("USDT") == ("5", "0") and priv.reconciled == 1

    asyncio.run(body())


def test_a_failed_reconciliation_is_retried_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        owner = _Owner()
        priv = owner.priv = _Private(owner)
        conn: Any = _SetUpConn(priv)
        await priv._open(conn)
        failing = [True]
        real = owner.open_orders

        async def flaky(symbol: str | None = None, *, limit: int | None = None) -> Any:
            if failing.pop() if failing else False:
                raise ExchangeError("System busy", command="open_orders")
            return await real(symbol, limit=limit)

        owner.open_orders = flaky  # type: ignore[method-assign]
        owner.views = [{"id": "2", "clientOrderId": "c2", "state": "NEW", "filledQuantity": "0"}]
        await priv._open(conn)  # the reconnect: its reconciliation fails once, then runs
        while priv._reconcile is not None:
            await priv.reconciled_once()
        assert priv.reconcile_failures == 1 and priv.reconciled == 1
        assert isinstance(priv.last_reconcile_error, ExchangeError)
        assert _states(priv) == [("2", "NEW", True)]
        assert any(r.levelname == "ERROR" and "reconciling" in r.getMessage()
                   for r in caplog.records)  # fmt: skip

    asyncio.run(body())


def test_a_drop_during_a_reconciliation_is_reconciled_too() -> None:
    async def body() -> None:
        owner = _Owner()
        priv = owner.priv = _Private(owner)
        conn: Any = _SetUpConn(priv)
        await priv._open(conn)  # the first connect
        owner.gate = asyncio.Event()
        await priv._open(conn)  # reconnect 1: its reconciliation waits in GET balances
        while owner.calls == 0:
            await asyncio.sleep(0)
        # drop 2: order 2 is placed (its 'place' event lost) while the socket is down
        owner.views = [{"id": "2", "clientOrderId": "c2", "state": "NEW", "filledQuantity": "0"}]
        await priv._open(conn)  # reconnect 2, while reconciliation 1 still runs
        owner.gate.set()
        while priv._reconcile is not None:
            await priv.reconciled_once()
        assert _states(priv) == [("2", "NEW", True)] and priv.reconciled == 2

    asyncio.run(body())


def test_orders_closed_during_a_drop_come_from_the_history() -> None:
    """Opened and closed while the socket was down: only the history knows it."""

    async def body() -> None:
        owner = _Owner()
        priv = owner.priv = _Private(owner)
        _live(priv, "1", "FILLED", "trade", "1", "5")  # seen before the drop
        _drain(priv.orders)
        priv._dropped("test")  # at owner._now_ms(): 1_000_000
        owner.history = [  # newest first
            {"id": "3", "clientOrderId": "c3", "state": "FILLED", "updateTime": 1_000_200},
            {"id": "2", "clientOrderId": "c2", "state": "CANCELED", "updateTime": 1_000_100},
            {"id": "1", "clientOrderId": "c1", "state": "FILLED", "updateTime": 999_000},
            {"id": "0", "clientOrderId": "c0", "state": "FILLED", "updateTime": 1},  # long ago
        ]
        conn: Any = _SetUpConn(priv)
        priv._opened = 1
        await priv._open(conn)
        await priv.reconciled_once()
        assert _states(priv) == [("2", "CANCELED", True), ("3", "FILLED", True)]

    asyncio.run(body())


def test_non_consecutive_duplicates_are_delivered_once() -> None:
    async def body() -> None:
        priv = _Private(_Owner())
        _live(priv, "1", "PARTIALLY_FILLED", "trade", "1", "t1")
        _live(priv, "1", "PARTIALLY_FILLED", "trade", "2", "t2")
        _live(priv, "1", "PARTIALLY_FILLED", "trade", "1", "t1")  # t1 sent again, late
        assert [e["tradeId"] for e, _ in _drain(priv.orders)] == ["t1", "t2"]
        for ident, available in ((1, "5"), (2, "6"), (1, "5")):
            item = {"currency": "USDT", "available": available, "hold": "0", "id": ident}
            priv.on_message({"channel": "balances", "data": [item]})
        assert [e["id"] for e, _ in _drain(priv.balances)] == [1, 2]
        assert priv.known_balances["USDT"] == ("6", "0")

    asyncio.run(body())


def test_an_error_answered_to_a_request_is_raised() -> None:
    """``{"id":..., "event":"error"}`` refuses the request: never an empty success."""

    async def body() -> None:
        owner, _ = _answering(lambda rid: {"id": rid, "event": "error", "code": 429,
                                           "message": "Rate limit exceeded"})  # fmt: skip
        with pytest.raises(ExchangeError, match="Rate limit exceeded"):
            await owner._ws_cancel(b"cancelOrders", "ws_cancel_orders",
                                   _builders.cancel_orders(["123"], None))  # fmt: skip
        with pytest.raises(ExchangeError, match="Rate limit exceeded"):
            await owner._ws_create(_limit_order("e1"))

    asyncio.run(body())


@pytest.mark.parametrize("how", ["event", "item"])
@pytest.mark.parametrize("code", [500, 603, 415])
def test_an_internal_failure_over_the_socket_is_settled_as_on_rest(how: str, code: int) -> None:
    """500/603/415 (the exchange's own failure: the outcome is unknown) are not a refusal: the
    order is looked up by its clientOrderId, a cancel reported may-have-executed; as on REST.
    A 429 stays a rate limit."""
    failure = {"code": code, "message": "internal request timeout"}

    def reply(rid: str) -> Any:
        if how == "event":
            return {"id": rid, "event": "error", **failure}
        return {"id": rid, "data": [{"orderId": 0, "clientOrderId": "", **failure}]}

    async def body() -> None:
        owner, _ = _answering(reply)
        settled: list[tuple[str, str]] = []

        async def settle(command: str, cid: str, reason: str, **kw: Any) -> Any:
            settled.append((command, cid))
            return {"id": "9", "clientOrderId": cid}

        owner._settle = settle  # type: ignore[method-assign,assignment]
        assert await owner._ws_create(_limit_order("u1")) == {"id": "9", "clientOrderId": "u1"}
        assert settled == [("ws_create_order", "u1")]
        with pytest.raises(MayHaveExecutedError):
            await owner._ws_cancel(b"cancelOrders", "ws_cancel_orders",
                                   _builders.cancel_orders(["123"], None))  # fmt: skip

    asyncio.run(body())


def test_a_rate_limit_over_the_socket_is_a_rate_limit_error() -> None:
    async def body() -> None:
        owner, _ = _answering(lambda rid: {"id": rid, "event": "error", "code": 429,
                                           "message": "Rate limit exceeded"})  # fmt: skip
        with pytest.raises(RateLimitError):
            await owner._ws_create(_limit_order("r1"))

    asyncio.run(body())


def test_reply_codes_and_ids_as_text() -> None:
    """A reply's id as a number, ``code`` "200" as text, an empty ``clientOrderId``."""

    async def body() -> None:
        owner, _ = _answering(lambda rid: {"id": int(rid), "data": [
            {"orderId": 77, "clientOrderId": "", "code": "200", "message": ""}]})  # fmt: skip
        got = await owner._ws_create(_limit_order("mine"))
        assert got == {"id": "77", "clientOrderId": "mine"}
        items = await owner._ws_cancel(b"cancelOrders", "ws_cancel_orders",
                                       _builders.cancel_orders(["77"], None))  # fmt: skip
        assert items[0]["orderId"] == 77

    asyncio.run(body())


def test_an_unread_event_stream_says_so(caplog: pytest.LogCaptureFixture) -> None:
    events = _Events()
    for i in range(_EVENTS_KEEP + 2):
        events.put(i)
    assert events.dropped == 2 and events._items[0] == 2
    assert [r.levelname for r in caplog.records if "not read" in r.getMessage()] == ["ERROR"]
