"""Key affinity for a key pool: an order is cancelled, moved or queried with its own key.

With ``Client(keys=[...])`` private calls are spread over the keys, but the exchange only
lets the key that placed an order (or loan offer) act on it: any other key gets "Invalid
order number, or you are not the person who placed the order." So the client remembers,
for the orders it placed, which key placed them (by ``orderNumber`` and by
``clientOrderId``), and routes the commands that name an order to that key. Orders placed
by other processes are unknown here and go to the least busy key, as any other call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from polo_fast._args import Plan

__all__ = ["MAX_REMEMBERED", "OrderOwners"]

L = TypeVar("L")

MAX_REMEMBERED = 100_000
"""Orders remembered per client; the oldest are forgotten first."""

#: commands that create an order or offer -> the answer's member holding its id
_CREATES: Mapping[str, str] = {
    "buy": "orderNumber",
    "sell": "orderNumber",
    "marginBuy": "orderNumber",
    "marginSell": "orderNumber",
    "moveOrder": "orderNumber",
    "createLoanOffer": "orderID",
}

#: commands that name an existing order or offer -> the parameters that name it
_NAMES: Mapping[str, tuple[str, ...]] = {
    "cancelOrder": ("orderNumber", "clientOrderId"),
    "moveOrder": ("orderNumber",),
    "returnOrderTrades": ("orderNumber",),
    "returnOrderStatus": ("orderNumber",),
    "cancelLoanOffer": ("orderNumber",),
}


def _value(plan: Plan, values: Sequence[Any], name: str) -> Any:
    command = plan.command
    if command is None:  # unchecked: (name, value) pairs
        for k, v in values:
            if k == name:
                return v
        return None
    for i, param in enumerate(command.params):
        if param.name == name:
            return values[i] if i < len(values) else None
    return None


def _ref(name: str, value: Any) -> str:
    return f"{name}={value}"


class OrderOwners(Generic[L]):
    """Which lane placed which order, for a client with several keys."""

    __slots__ = ("_owner",)

    def __init__(self) -> None:
        self._owner: dict[str, L] = {}

    def lane_for(self, plan: Plan, values: Sequence[Any]) -> L | None:
        """The lane that placed the order ``plan``/``values`` names, if this client placed it."""
        names = _NAMES.get(plan.name)
        if names is None:
            return None
        for name in names:
            value = _value(plan, values, name)
            if value is not None:
                lane = self._owner.get(_ref(name, value))
                if lane is not None:
                    return lane
        return None

    def record(self, plan: Plan, values: Sequence[Any], result: Any, lane: L) -> None:
        """Remember ``lane`` as the owner of the order a successful ``plan`` call created."""
        member = _CREATES.get(plan.name)
        if member is None or not isinstance(result, dict):
            return
        owner = self._owner
        number = result.get(member)
        if number is not None:
            owner[_ref("orderNumber", number)] = lane
        client_id = _value(plan, values, "clientOrderId")
        if client_id is not None:
            owner[_ref("clientOrderId", client_id)] = lane
        while len(owner) > MAX_REMEMBERED:
            del owner[next(iter(owner))]

    def __len__(self) -> int:
        return len(self._owner)
