"""Bulk and conditional cancels (domain.md §7): CANCEL_ALL with filters, and REDUCE_ORDER.

Both only shrink an account's own unmatched orders, through ORDER_CANCELLED events (reason
USER), so they need nothing of matching; a plain CANCEL_ORDER stays in `engine.py`, on the hot
path. Functions of the engine (see `engine_api.EngineCore`), like `lifecycle` and `accounts`.
"""

from __future__ import annotations

from typing import Final

from betex.core.domain import commands as C
from betex.core.domain import validate
from betex.core.domain.engine_api import EngineCore
from betex.core.domain.events import OrderCancelled
from betex.core.domain.results import Ack, Reject, Result, order_result
from betex.core.domain.types import CancelReason, RejectCode

R = RejectCode
_HALTED: Final = "HALTED"
_USER: Final = "USER"


def cancel_all(eng: EngineCore, c: C.CancelAll) -> Result:
    """CANCEL_ALL: every unmatched order of the account in the market that matches each given
    filter (runner, side, placed before an engine time), oldest first; delayed orders too."""
    m = eng._market(c.market_id)
    if isinstance(m, Reject):
        return m
    if m.state == _HALTED:
        return Reject(R.MARKET_HALTED, f"market {m.market_id} is halted")
    bad = validate.check_cancel_all(m, c)
    if bad:
        return bad
    runner, side, before = c.runner_id, c.side, c.placed_before_ts
    victims = [
        o
        for o in m.by_account.get(c.account_id, {})  # oldest first
        if (runner is None or o.runner_id == runner)
        and (side is None or o.side == side)
        and (before is None or o.placed_ts < before)
    ]
    for o in victims:
        eng._emit(
            OrderCancelled(eng.seq + 1, eng.ts, m.market_id, o.order_id, o.remaining, CancelReason.USER)
        )
    return Ack({"cancelled": len(victims)})


def reduce_order(eng: EngineCore, c: C.ReduceOrder) -> Result:
    """REDUCE_ORDER: cancel down to `new_remaining` only if the remaining size is
    `expected_remaining` now (CONDITION_FAILED otherwise, nothing changes)."""
    m = eng._market(c.market_id)
    if isinstance(m, Reject):
        return m
    if m.state == _HALTED:
        return Reject(R.MARKET_HALTED, f"market {m.market_id} is halted")
    o = eng.orders.get(c.order_id)
    if o is None or o.market_id != m.market_id:
        return Reject(R.INVALID_ORDER, f"unknown order {c.order_id!r} in market {m.market_id}")
    if c.account_id != o.account_id:
        return Reject(R.NOT_OWNER, f"order {o.order_id} belongs to another account")
    if o.remaining != c.expected_remaining:
        return Reject(
            R.CONDITION_FAILED,
            f"order {o.order_id} has {validate.fmt_size(m, o.remaining)} remaining, "
            f"not {validate.fmt_size(m, c.expected_remaining)}",
        )
    if not 0 <= c.new_remaining <= o.remaining:
        return Reject(R.INVALID_SIZE, "new_remaining must be between 0 and the remaining size")
    if not o.remaining:
        return Reject(R.INVALID_ORDER, f"order {o.order_id} is EXECUTION_COMPLETE")
    if c.new_remaining < o.remaining:
        eng._emit_cancel(o.market_id, o.order_id, o.remaining - c.new_remaining, _USER)
    return order_result("CANCELLED", o)
