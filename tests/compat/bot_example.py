"""A small market-making bot written against python-poloniex (``pip install poloniexapi``).

It is ordinary python-poloniex code: the tests run it unchanged with the real library and,
with only the import line below swapped for ``from polo_fast.compat.poloniex import ...``,
through polo_fast. ``run`` returns what the bot saw and did, in a form that does not depend
on order numbers or timestamps, so both runs can be compared.

``prepare`` is the harness's hook for pointing a client at a test exchange; a real bot
leaves it out.
"""

import time

from poloniex import Poloniex, PoloniexError

PAIR = "BTC_ETH"


def run(key, secret, prepare=None):
    polo = Poloniex(key, secret, timeout=10)
    if prepare is not None:
        prepare(polo)
    seen = {}
    placed, cancelled, moved = [], [], []

    # market data
    ticker = polo.returnTicker()
    seen["ticker_pairs"] = sorted(ticker)
    bid = float(ticker[PAIR]["highestBid"])
    ask = float(ticker[PAIR]["lowestAsk"])
    book = polo.returnOrderBook(PAIR, depth=5)
    seen["book_levels"] = (len(book["asks"]), len(book["bids"]))
    seen["book_amount_types"] = sorted({type(level[1]).__name__ for level in book["asks"]})
    seen["volume_has_totals"] = any(k.startswith("total") for k in polo.return24hVolume())
    seen["currencies_have_btc"] = "BTC" in polo.returnCurrencies()
    seen["trades_is_list"] = isinstance(polo.marketTradeHist(PAIR), list)
    now = int(time.time())
    candles = polo.returnChartData(PAIR, period=300, start=now - 6 * 3600, end=now)
    seen["candle_fields"] = sorted(candles[0]) if candles else []

    # account
    before = polo.returnBalances()
    seen["balances_before"] = {c: before[c] for c in ("BTC", "ETH")}
    complete = polo.returnCompleteBalances()
    seen["complete_fields"] = sorted(complete["BTC"])
    seen["fee_fields"] = sorted(polo.returnFeeInfo())

    # quote both sides well away from the market, so nothing fills
    buy = polo.buy(PAIR, round(bid * 0.5, 8), 0.5, orderType="postOnly")
    placed.append(buy["orderNumber"])
    sell = polo("sell", {"currencyPair": PAIR, "rate": "%.8f" % (ask * 2), "amount": "0.25"})
    placed.append(sell["orderNumber"])
    seen["open_after_place"] = sorted(
        (o["type"], o["amount"]) for o in polo.returnOpenOrders(PAIR) if o["orderNumber"] in placed
    )
    seen["on_orders_btc"] = polo.returnCompleteBalances()["BTC"]["onOrders"]

    # re-quote the bid, then pull everything
    move = polo.moveOrder(buy["orderNumber"], round(bid * 0.6, 8))
    seen["move_success"] = move["success"]
    moved.append(move["orderNumber"])
    for number in (move["orderNumber"], sell["orderNumber"]):
        reply = polo.cancelOrder(number)
        seen.setdefault("cancel_success", []).append(reply["success"])
        cancelled.append(number)
    seen["open_after_cancel"] = [
        o for o in polo.returnOpenOrders(PAIR) if o["orderNumber"] in placed + moved
    ]

    # errors the bot expects and handles
    try:
        polo.buy(PAIR, round(bid, 8), 10**9)
    except PoloniexError as e:
        seen["too_big"] = "Not enough" in str(e)
    try:
        polo.cancelOrder(cancelled[0])
    except PoloniexError as e:
        seen["cancel_twice"] = "Invalid order number" in str(e) or "not" in str(e)
    try:
        polo.buy(PAIR, bid, 1, orderType="allOrNothing")
    except PoloniexError as e:
        seen["bad_order_type"] = str(e)

    after = polo.returnBalances()
    seen["balances_after"] = {c: after[c] for c in ("BTC", "ETH")}
    seen["history_is_list"] = isinstance(polo.returnTradeHistory(PAIR), list)
    return {"seen": seen, "placed": placed, "moved": moved, "cancelled": cancelled}


if __name__ == "__main__":  # pragma: no cover - for trying it by hand
    import os
    import pprint

    pprint.pprint(run(os.environ["POLONIEX_KEY"], os.environ["POLONIEX_SECRET"]))
