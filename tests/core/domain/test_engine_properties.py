"""Property-based and differential tests for the matching engine (domain.md §2–§7).

Random command streams (strategies.py) run against a real Engine; after every command and every
batch the invariants of the spec are checked, and a naive reference matcher (reference_matcher.py)
must produce exactly the engine's trades. Worked-number tests at the end pin the rounding policy.
The streams cover every book type, CROSS_MATCHED with 2–6 runners included (its ring matching is
also checked against its own reference in test_cross_properties.py), and in-play bet delays.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine, EngineConfig
from betex.core.domain.events import (
    Event,
    MarketCreated,
    OrderAccepted,
    OrderCancelled,
    OrderDelayed,
    OrderMatured,
    TradeMatched,
    TradesVoided,
)
from betex.core.domain.ladder import TICKS
from betex.core.domain.results import Ack, MarketResult, OrderResult, Reject
from betex.core.domain.risk import Exposure, settle_pnl
from betex.core.domain.types import NO_OUTCOME, MarketState, RejectCode
from betex.core.durability.codec import decode, encode
from tests.core.fixed_sample import no_local_constants
from tests.core.reference_matcher import ReferenceMatcher, spec_ladder
from tests.core.strategies import (
    FIXTURE_PLACES,
    RUNNERS,
    SEC,
    T0,
    Scenario,
    malformed_commands,
    matching_streams,
    resolve,
    scenarios,
)

CODES = frozenset(RejectCode)
HOUSE = 0
RESULT_TYPES = (Reject, OrderResult, MarketResult, Ack)
LIVE = ("OPEN", "SUSPENDED")
RESTING = ("OPEN", "SUSPENDED", "HALTED")  # states in which orders may rest
FINAL = ("SETTLED", "VOIDED")


# BETEX_PROPERTY_SCALE=20 multiplies every example budget (a longer bug hunt; the default stays < 60 s).
SCALE = int(os.environ.get("BETEX_PROPERTY_SCALE", "1"))
STREAM_SETTINGS = settings(
    max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# ============================================================================ spec-side helpers


def outcomes(m: Any) -> list[int]:
    return [m.runner_ids[0], NO_OUTCOME] if m.is_binary else list(m.runner_ids)


def leg_pnl(leg: Any, outcome: int) -> int:
    return leg.win if leg.runner_id == outcome else -leg.lose


def unmatched_at_limit(binary: bool, side: str, price: int, remaining: int) -> tuple[int, int]:
    """(win, lose) of an unmatched order as if fully matched at its limit, rounded against its owner."""
    if binary:
        win, lose = remaining * (10000 - price), remaining * price
        return (win, lose) if side == "BUY" else (-win, -lose)
    exact = remaining * (price - 100)
    if side == "BACK":
        return exact // 100, remaining
    return -((exact + 99) // 100), -remaining


def crosses_implied(side: str, a: int, b: int) -> bool:
    """Two resting orders of `side` on the two runners of a TWO_RUNNER market match each other."""
    fa, fb = Fraction(100, a), Fraction(100, b)
    return fa + fb >= 1 if side == "BACK" else fa + fb <= 1


def implied_dust(taker_remaining: int, maker_price: int, maker_remaining: int) -> bool:
    """The documented dust case: the largest maker stake y whose exact counter-amount y(b−1) fits the
    taker's remaining rounds to less than one cent on one side."""
    b1 = Fraction(maker_price - 100, 100)
    y = min(maker_remaining, int(Fraction(taker_remaining) / b1))
    return y < 1 or int(y * b1) < 1


def lifecycle_expectation(m: Any, cmd: Any) -> tuple[str, str, bool, bool] | str:
    """domain.md §2 (plus market.py's documented choices): (state, phase, lapse, cancel_all) or a code."""
    state, phase = m.state, m.phase
    live = state in LIVE
    if isinstance(cmd, C.SetMarketState):
        t = cmd.market_state
        if t == "HALTED" and live:  # §7: an emergency stop, nothing lapses
            return ("HALTED", phase, False, False)
        if t == "SUSPENDED" and state in ("OPEN", "HALTED"):
            return ("SUSPENDED", phase, phase == "IN_PLAY", False)
        if t == "OPEN" and state in ("SUSPENDED", "HALTED") and phase != "AWAITING_LIVE":
            return ("OPEN", phase, False, False)
        if t == "CLOSED" and (live or state == "HALTED"):
            return ("CLOSED", phase, False, True)
        return "INVALID_TRANSITION" if t in tuple(MarketState) else "BAD_REQUEST"
    if isinstance(cmd, C.AwaitLiveMarket):
        if m.kind == "IN_PLAY_CAPABLE" and phase == "PRE" and live:
            return ("SUSPENDED", "AWAITING_LIVE", False, False)
        return "INVALID_TRANSITION"
    if isinstance(cmd, C.GoLiveMarket):
        if phase == "AWAITING_LIVE" and state == "SUSPENDED":
            return ("OPEN", "IN_PLAY", True, False)
        return "INVALID_TRANSITION"
    if isinstance(cmd, C.CloseMarket):
        return ("CLOSED", phase, False, True) if live or state == "HALTED" else "INVALID_TRANSITION"
    if isinstance(cmd, C.VoidMarket):
        return (
            ("VOIDED", phase, False, True) if state in (*LIVE, "HALTED", "CLOSED") else "INVALID_TRANSITION"
        )
    if isinstance(cmd, C.SettleMarket):
        if state != "CLOSED":
            return "INVALID_TRANSITION"
        w = cmd.winner_runner_ids
        if (
            not isinstance(w, (tuple, list))
            or not all(type(r) is int for r in w)
            or len(set(w)) != len(w)
            or any(r not in m.runner_ids for r in w)
            or (not w and not m.is_binary)
        ):
            return "INVALID_RUNNER"
        return ("SETTLED", phase, False, False)
    raise AssertionError(cmd)


ORDER_COMMANDS = (C.PlaceOrder, C.CancelOrder, C.CancelAll, C.ReplaceOrder, C.ReduceOrder)


def late_reject(cmd: Any) -> set[str]:
    """The documented reject (docs/engine.md) of a command on a SETTLED or VOIDED market."""
    if isinstance(cmd, ORDER_COMMANDS):
        return {RejectCode.MARKET_NOT_OPEN}
    if isinstance(cmd, C.SetMarketState):  # an unknown target state is still malformed
        return {RejectCode.INVALID_TRANSITION, RejectCode.BAD_REQUEST}
    return {RejectCode.INVALID_TRANSITION}


LIFECYCLE = (C.SetMarketState, C.AwaitLiveMarket, C.GoLiveMarket, C.CloseMarket, C.VoidMarket, C.SettleMarket)
HALTED_REFUSES = (C.PlaceOrder, C.CancelOrder, C.ReplaceOrder, C.CancelAll, C.ReduceOrder)


# ============================================================================ invariant checks


def check_order_accounting(o: Any) -> None:
    parts = (o.matched, o.remaining, o.cancelled, o.lapsed, o.voided)
    assert all(type(x) is int and x >= 0 for x in parts), (o.order_id, parts)
    assert o.size == sum(parts), (o.order_id, o.size, parts)


def check_books(e: Engine) -> None:
    """Every live order is queued exactly once at its price on its side, or is delayed (§7 bet
    delay: not queued, only in an OPEN in-play market with a delay, at its version); level totals
    are exact."""
    live_ids: set[int] = set()
    delayed: set[int] = set()
    for m in e.markets.values():
        if m.delayed:
            assert m.state == "OPEN" and m.phase == "IN_PLAY" and m.bet_delay_ms > 0, m.market_id
        for oid, o in m.delayed.items():
            assert e.orders[oid] is o and o.market_id == m.market_id and o.remaining > 0
            assert e.delayed.entries[oid].version == m.version, "a delayed order outlived a version"
            delayed.add(oid)
    assert set(e.delayed.entries) == delayed
    for m in e.markets.values():
        for r, book in m.books.items():
            for levels, sides in ((book.backs, ("BACK", "BUY")), (book.lays, ("LAY", "SELL"))):
                assert levels.prices == sorted(levels.levels), "price list out of sync"
                for price, level in levels.levels.items():
                    live = list(level.live())
                    assert live, f"empty level {price} kept"
                    assert level.total == sum(o.remaining for o in live)
                    for o in live:
                        assert (o.market_id, o.runner_id, o.price) == (m.market_id, r, price)
                        assert o.side in sides
                        assert e.orders[o.order_id] is o
                        assert o.order_id not in live_ids, "order queued twice"
                        live_ids.add(o.order_id)
                    ids = [o.order_id for o in live]
                    assert ids == sorted(ids), "FIFO within a price is by arrival"
        if m.state not in RESTING:
            assert not any(True for _ in m.live_orders()), f"orders rest in a {m.state} market"
        if m.state in FINAL:
            assert not any(o.market_id == m.market_id for o in e.orders.values())
    for o in e.orders.values():
        check_order_accounting(o)
        assert (o.remaining > 0) == (o.order_id in live_ids or o.order_id in delayed), (
            f"order {o.order_id} live but not queued"
        )
        assert not (o.order_id in live_ids and o.order_id in delayed), o.order_id


def check_uncrossed(e: Engine) -> set[int]:
    """Property 1: no resting order could match another resting order (bar documented dust).
    Returns the markets where a dust pair rests crossed."""
    dusty: set[int] = set()
    for m in e.markets.values():
        if m.state in FINAL:
            continue
        for r in m.runner_ids:
            book = m.books[r]
            if book.backs.prices and book.lays.prices:
                if m.is_binary:  # buys rest in backs, sells in lays
                    assert book.backs.prices[-1] < book.lays.prices[0], ("binary book crossed", r)
                else:  # a lay at q matches backs at ≤ q
                    assert book.backs.prices[0] > book.lays.prices[-1], ("book crossed", r)
        if not m.is_two_runner:
            continue
        a, b = m.runner_ids
        for side in ("BACK", "LAY"):
            on_a = list(m.books[a].backs.live_orders() if side == "BACK" else m.books[a].lays.live_orders())
            on_b = list(m.books[b].backs.live_orders() if side == "BACK" else m.books[b].lays.live_orders())
            for x in on_a:
                for y in on_b:
                    if not crosses_implied(side, x.price, y.price):
                        continue
                    # The later order met the earlier one as a taker. Remainders only shrink and
                    # dust is monotone in both, so "dust now" is exactly what the engine may leave.
                    maker, taker = (x, y) if x.order_id < y.order_id else (y, x)
                    if implied_dust(taker.remaining, maker.price, maker.remaining):
                        dusty.add(m.market_id)
                        continue
                    raise AssertionError(
                        f"implied cross above dust: {side} {x.order_id}@{x.price} rem {x.remaining} on {a} "
                        f"vs {y.order_id}@{y.price} rem {y.remaining} on {b}"
                    )
    return dusty


def check_depth(e: Engine, dusty: set[int]) -> None:
    """The ladder view: direct sizes are the resting totals, implied sizes sit at the best ladder
    price the taker would get (§4 "virtual" prices), and the view is uncrossed like the book."""
    for m in e.markets.values():
        view = e.depth(m.market_id, 1000)
        assert view is not None
        if m.is_binary:
            book = m.books[m.runner_ids[0]]
            assert view["bids"] == [(p, book.backs.levels[p].total) for p in reversed(book.backs.prices)]
            assert view["asks"] == [(p, book.lays.levels[p].total) for p in book.lays.prices]
            continue
        for r, atb, atl in view["runners"]:
            book = m.books[r]
            assert [p for p, _, _ in atb] == sorted((p for p, _, _ in atb), reverse=True)
            assert [p for p, _, _ in atl] == sorted(p for p, _, _ in atl)
            for side, own in ((atb, book.lays), (atl, book.backs)):
                direct = {p: size - implied for p, size, implied in side if size > implied}
                assert direct == {p: lv.total for p, lv in own.levels.items()}, (r, side)
            if m.is_cross:  # ring prices: test_cross_properties.py and test_cross.py
                continue
            if not m.is_two_runner:
                assert all(implied == 0 for _, _, implied in atb + atl)
                continue
            other = m.books[m.other_runner(r)]
            for side, levels, is_back in ((atb, other.backs, True), (atl, other.lays, False)):
                want: dict[int, int] = defaultdict(int)
                for b, lv in levels.levels.items():
                    eff = Fraction(100 * b, b - 100)  # the taker's odds (hundredths) against b
                    # a back shows at the best tick ≤ eff, a lay at the best tick ≥ eff
                    i = bisect_right(TICKS, eff) - 1 if is_back else bisect_left(TICKS, eff)
                    size = lv.total * (b - 100) // 100  # backer's stake on r it can absorb
                    if 0 <= i < len(TICKS) and size:
                        want[TICKS[i]] += size
                assert {p: i for p, _, i in side if i} == dict(want), (r, side)
            if atb and atl and m.market_id not in dusty:
                assert atb[0][0] < atl[0][0], ("ladder view crossed", r, atb[0], atl[0])


def check_trade(e: Engine, t: TradeMatched) -> None:
    """Property 4 (and per-trade zero sum): nobody filled worse than their limit or paying more than
    their matched stake / liability at their limit; the house pays at most one cent."""
    m = e.markets[t.market_id]
    taker, maker = e.orders[t.taker_order_id], e.orders[t.maker_order_id]
    assert taker.account_id == t.taker_account and maker.account_id == t.maker_account
    assert taker.account_id != maker.account_id, "self-trade"
    assert t.price == maker.price and t.maker_runner_id == maker.runner_id and t.runner_id == taker.runner_id
    assert t.taker_size > 0 and t.maker_size > 0
    if t.implied:
        assert (m.is_two_runner or m.is_cross) and maker.runner_id != taker.runner_id
        assert maker.side == taker.side
    else:
        assert maker.runner_id == taker.runner_id and maker.side != taker.side
        assert t.taker_size == t.maker_size
        if taker.side in ("BACK", "SELL"):
            assert t.price >= taker.price, "direct fill beyond the taker's limit"
        else:
            assert t.price <= taker.price, "direct fill beyond the taker's limit"
    by_account: dict[int, list[Any]] = defaultdict(list)
    for leg in t.legs:
        by_account[leg.account_id].append(leg)
    assert set(by_account) <= {taker.account_id, maker.account_id, HOUSE}
    house_legs = by_account.get(HOUSE, [])
    if t.implied and m.is_cross:
        # a ring trade: the taker's legs depend on the ring (limits over the whole placement
        # are test_cross_properties.py's); the house pays under one cent per runner
        for outcome in outcomes(m):
            assert sum(leg_pnl(leg, outcome) for leg in t.legs) == 0, ("trade P&L not zero-sum", t.trade_id)
            assert -len(m.runner_ids) < sum(leg_pnl(h, outcome) for h in house_legs) <= 0
        return
    if m.is_binary:
        assert t.house == 0 and not house_legs
    else:
        assert 0 <= t.house <= 1
        assert [(h.win, h.lose) for h in house_legs] == ([(-t.house, 0)] if t.house else [])
    for o, consumed in ((taker, t.taker_size), (maker, t.maker_size)):
        (leg,) = by_account[o.account_id]
        assert leg.runner_id == o.runner_id
        if o.side == "BUY":  # pays ≤ limit per share, receives 1.00 per share if YES
            assert leg.win + leg.lose == consumed * 10000 and 0 < leg.lose <= consumed * o.price
        elif o.side == "SELL":
            assert leg.win + leg.lose == -consumed * 10000 and -leg.lose >= consumed * o.price
        elif o.side == "BACK":  # stakes exactly its matched size, odds ≥ limit
            assert leg.lose == consumed and leg.win * 100 >= consumed * (o.price - 100) >= 0
        else:  # LAY: backer's stake = matched size, liability ≤ stake·(limit − 1)
            assert leg.lose == -consumed and 0 <= -leg.win * 100 <= consumed * (o.price - 100)
    for outcome in outcomes(m):
        assert sum(leg_pnl(leg, outcome) for leg in t.legs) == 0, ("trade P&L not zero-sum", t.trade_id)


def check_market_money(e: Engine) -> None:
    """Property 3 over the market's non-voided trades, and matched/voided sizes agree with trades."""
    matched: dict[int, int] = defaultdict(int)
    voided: dict[int, int] = defaultdict(int)
    for m in e.markets.values():
        totals = dict.fromkeys(outcomes(m), 0)
        for tid, t in m.trades.items():
            bucket = voided if tid in m.voided_trades else matched
            bucket[t.taker_order_id] += t.taker_size
            bucket[t.maker_order_id] += t.maker_size
            if tid in m.voided_trades:
                continue
            for outcome in totals:
                totals[outcome] += sum(leg_pnl(leg, outcome) for leg in t.legs)
        assert all(v == 0 for v in totals.values()), (m.market_id, totals)
    for o in e.orders.values():
        assert o.matched == matched[o.order_id] and o.voided == voided[o.order_id], o.order_id


def scratch_exposure(e: Engine, m: Any, account: int) -> dict[int, int]:
    """if-win per outcome over matched legs plus unmatched orders at their limits (domain.md §5)."""
    out = dict.fromkeys(outcomes(m), 0)
    for tid, t in m.trades.items():
        if tid in m.voided_trades:
            continue
        for leg in t.legs:
            if leg.account_id == account:
                for o in out:
                    out[o] += leg_pnl(leg, o)
    for o in (*m.live_orders(), *m.delayed.values()):  # a delayed order reserves (§7)
        if o.account_id == account:
            win, lose = unmatched_at_limit(m.is_binary, o.side, o.price, o.remaining)
            for oc in out:
                out[oc] += win if oc == o.runner_id else -lose
    return out


def check_exposure(e: Engine, limits: dict[int, int]) -> None:
    """The engine's incremental exposure equals a from-scratch computation (accounts with limits)."""
    for m in e.markets.values():
        if m.state in FINAL:
            continue
        for account in limits:
            expected = scratch_exposure(e, m, account)
            got = e.exposure(m.market_id, account)
            actual = {o: (got.if_win(o) if got is not None else 0) for o in expected}
            assert actual == expected, (m.market_id, account, actual, expected)


# ============================================================================ the stream driver


class Driver:
    """Runs a scenario batch by batch, checking every property as it goes."""

    def __init__(self, split: int | None = None) -> None:
        self.engine = Engine(EngineConfig())
        self.replica = Engine(EngineConfig())  # fed only the emitted events
        self.twin: Engine | None = None  # Engine.load(dump) at `split`, then fed the same commands
        self.split = split
        self.ts = T0
        self.batches = 0
        self.limits: dict[int, int] = {}
        self.cancelled: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # order → [cancelled, lapsed]
        self.stats: Counter[str] = Counter()
        self.refs: dict[tuple[int, str], int] = {}
        self.last_order_id = self.last_trade_id = self.last_market_id = 0

    def run(self, scenario: Scenario) -> None:
        self.batch(1, (scenario.create_command(),))
        for dt, cmds in scenario.steps:
            self.batch(dt, cmds)
            if self.engine.next_market_id - 1 in self.engine.tombstones:  # the latest is SETTLED/VOIDED
                self.batch(0, (scenario.create_command(),))

    def batch(self, dt: int, cmds: tuple[Any, ...]) -> list[Any]:
        if self.split is not None and self.batches == self.split:
            self.twin = Engine.load(self.engine.dump())
            assert self.twin.state_hash() == self.engine.state_hash()
        self.batches += 1
        self.ts += dt
        e = self.engine
        e.begin_batch(self.ts)
        events: list[Event] = e.take_events()  # delayed orders maturing (§7), before any command
        if self.twin is not None:
            self.twin.begin_batch(self.ts)
            assert self.twin.take_events() == events
        self._note_events(events)
        results = []
        for raw in cmds:
            cmd = resolve(raw, e, self.ts)
            results.append(self.execute(cmd, events))
        events += e.end_batch(len(cmds))
        if self.twin is not None:
            assert self.twin.end_batch(len(cmds)) == events[-1:]
        for ev in events:  # property 5: replay (through the WAL codec); property 2 at every moment
            decoded = decode(encode(ev))
            assert decoded == ev and type(decoded) is type(ev)
            self.replica.apply(decoded)
            oid = getattr(ev, "order_id", None)
            for o in (oid, getattr(ev, "taker_order_id", None), getattr(ev, "maker_order_id", None)):
                if o is not None:
                    check_order_accounting(self.replica.orders[o])
        assert self.replica.state_hash() == e.state_hash()
        self.check_state()
        return results

    def execute(self, cmd: Any, events: list[Event]) -> Any:
        e = self.engine
        seq0, hash0 = e.seq, e.state_hash()
        market = (
            e.markets.get(cmd.market_id)
            if isinstance(cmd, tuple) and type(getattr(cmd, "market_id", None)) is int
            else None
        )
        tombstone = (
            e.tombstones.get(cmd.market_id)
            if market is None and isinstance(cmd, tuple) and type(getattr(cmd, "market_id", None)) is int
            else None
        )
        expect = (
            lifecycle_expectation(market, cmd) if market is not None and isinstance(cmd, LIFECYCLE) else None
        )
        version0 = market.version if market is not None else 0
        persist_queue0 = _persist_queue(market) if market is not None else None
        worst = self._worst_if_placed(cmd, market)
        settle_legs = _legs(market) if market is not None and isinstance(cmd, C.SettleMarket) else None
        versions0 = {mid: m.version for mid, m in e.markets.items()}
        target = (
            e.orders.get(cmd.order_id)
            if isinstance(cmd, (C.CancelOrder, C.ReplaceOrder)) and type(cmd.order_id) is int
            else None
        )
        target0 = (target.remaining, target.cancelled) if target is not None else None
        reduced = (
            e.orders.get(cmd.order_id)
            if isinstance(cmd, C.ReduceOrder) and type(cmd.order_id) is int
            else None
        )
        reduce0 = (
            (reduced, reduced.remaining, reduced.cancelled, e.markets[reduced.market_id].state)
            if reduced is not None
            else None
        )

        res = e.execute(cmd)
        new = e.take_events()
        events += new

        assert isinstance(res, RESULT_TYPES), res
        if isinstance(res, Reject):
            assert res.code in CODES, res
            self.stats[str(res.code)] += 1
            if res.code != RejectCode.CANCELLED_NOT_PLACED:  # that one's cancel stands (§3)
                assert not new and e.seq == seq0 and e.state_hash() == hash0, (
                    "reject changed state",
                    cmd,
                    res,
                )
        if tombstone is not None:  # a late command on a settled or voided market
            assert isinstance(res, Reject) and res.code in late_reject(cmd), (cmd, res)
            self.stats["late_command"] += 1
        if self.twin is not None:
            assert self.twin.execute(cmd) == res, cmd
            assert self.twin.take_events() == new, cmd
        self._note_events(new)
        if expect is not None:
            self._check_lifecycle(cmd, market, expect, res, new, version0, persist_queue0)
        if worst is not None:
            limit, scale, value = worst
            if isinstance(res, OrderResult):
                assert value >= -limit * scale, ("placement accepted beyond max_liability", cmd, value)
            elif isinstance(res, Reject) and res.code in (
                RejectCode.LIABILITY_EXCEEDED,
                RejectCode.CANCELLED_NOT_PLACED,
            ):
                assert value < -limit * scale, ("LIABILITY_EXCEEDED within the limit", cmd, value)
        if isinstance(cmd, C.PlaceOrder):
            self._check_duplicate(cmd, res)
        if isinstance(cmd, C.PlaceOrder) and isinstance(res, OrderResult):
            self._check_placed(cmd, res)
        if not isinstance(cmd, LIFECYCLE):  # only lifecycle transitions move a market's version
            assert all(e.markets[mid].version == v for mid, v in versions0.items()), cmd
        if target0 is not None and not isinstance(res, Reject):
            self._check_cancel_or_replace(cmd, target, target0, res, new)
        elif target is not None and isinstance(res, Reject) and res.code == RejectCode.CANCELLED_NOT_PLACED:
            assert target.remaining == 0 and target.cancelled == target0[0] + target0[1]  # type: ignore[index]
        if isinstance(cmd, C.CancelAll) and isinstance(res, Ack) and market is not None:
            assert not any(  # §7: every order matching every given filter is gone, no other one
                o.account_id == cmd.account_id
                and (cmd.runner_id is None or o.runner_id == cmd.runner_id)
                and (cmd.side is None or o.side == cmd.side)
                and (cmd.placed_before_ts is None or o.placed_ts < cmd.placed_before_ts)
                for o in (*market.live_orders(), *market.delayed.values())
            )
            assert all(
                isinstance(ev, OrderCancelled) and e.orders[ev.order_id].account_id == cmd.account_id
                for ev in new
            )
        if market is not None and market.state == "HALTED" and isinstance(cmd, HALTED_REFUSES):
            assert isinstance(res, Reject) and res.code == RejectCode.MARKET_HALTED, (cmd, res)
        if isinstance(cmd, C.ReduceOrder) and reduce0 is not None:
            self._check_reduce(cmd, reduce0, res)
        if isinstance(cmd, C.VoidTrades) and isinstance(res, Ack) and market is not None:
            wanted = (
                {t for t, ev in market.trades.items() if ev.ts > cmd.after_ts}
                if cmd.after_ts is not None
                else set(cmd.trade_ids)
            )
            assert wanted <= market.voided_trades, (cmd, wanted, market.voided_trades)
        if isinstance(cmd, C.SetAccountLimit) and isinstance(res, Ack):
            if cmd.max_liability:
                self.limits[cmd.account_id] = cmd.max_liability
            else:
                self.limits.pop(cmd.account_id, None)
        if settle_legs is not None and isinstance(res, MarketResult):
            check_settlement(settle_legs, market, cmd.winner_runner_ids)
            self.stats.update(("settled",) + ("dead_heat",) * (len(cmd.winner_runner_ids) > 1))
        return res

    def _check_reduce(self, cmd: C.ReduceOrder, before: tuple[Any, int, int, str], res: Any) -> None:
        """§7 conditional reduce: applies only if the remaining size is the expected one."""
        o, remaining0, cancelled0, state = before
        if state == "HALTED" or o.market_id != cmd.market_id or o.account_id != cmd.account_id:
            assert isinstance(res, Reject)
            return
        if remaining0 != cmd.expected_remaining:
            assert isinstance(res, Reject) and res.code == RejectCode.CONDITION_FAILED, (cmd, res)
        elif cmd.new_remaining > remaining0 or cmd.new_remaining < 0:
            assert isinstance(res, Reject) and res.code == RejectCode.INVALID_SIZE, (cmd, res)
        elif remaining0 == 0:
            assert isinstance(res, Reject) and res.code == RejectCode.INVALID_ORDER, (cmd, res)
        else:
            assert isinstance(res, OrderResult), (cmd, res)
            assert (o.remaining, o.cancelled) == (
                cmd.new_remaining,
                cancelled0 + remaining0 - cmd.new_remaining,
            )
            self.stats["reduced"] += 1

    def _check_duplicate(self, cmd: C.PlaceOrder, res: Any) -> None:
        """§3 idempotency: a client_ref accepted for the account in the last 60 s is a DUPLICATE."""
        if not cmd.client_ref or not isinstance(cmd.client_ref, str) or type(cmd.account_id) is not int:
            return
        key = (cmd.account_id, cmd.client_ref)
        last = self.refs.get(key)
        recent = last is not None and self.ts - last < 60 * SEC
        if isinstance(res, OrderResult):
            assert not recent, ("client_ref reused within 60 s", cmd)
            self.refs[key] = self.ts
        elif isinstance(res, Reject) and res.code == RejectCode.DUPLICATE:
            assert recent, ("DUPLICATE without a recent use", cmd)

    def _check_cancel_or_replace(
        self, cmd: Any, o: Any, before: tuple[int, int], res: Any, new: list[Event]
    ) -> None:
        remaining0, cancelled0 = before
        if isinstance(cmd, C.CancelOrder):  # reduces remaining by min(size_reduction, remaining); 0 = all
            red = cmd.size_reduction or remaining0
            amount = min(red, remaining0)
            assert (o.remaining, o.cancelled) == (remaining0 - amount, cancelled0 + amount), cmd
            return
        # REPLACE: the remaining size moves to a new order at the new price, at the back of the queue
        assert isinstance(res, OrderResult) and res.replacement is not None
        assert o.remaining == 0 and o.cancelled == cancelled0 + remaining0
        n = self.engine.orders[res.replacement_order_id]
        assert res.replacement_order_id > o.order_id
        assert (n.side, n.runner_id, n.account_id, n.persist, n.size, n.price) == (
            o.side,
            o.runner_id,
            o.account_id,
            o.persist,
            remaining0,
            cmd.new_price,
        )
        accepted = [ev for ev in new if isinstance(ev, (OrderAccepted, OrderDelayed))]
        assert len(accepted) == 1 and accepted[0].replaces == o.order_id

    def _note_events(self, new: list[Event]) -> None:
        for ev in new:
            if isinstance(ev, OrderDelayed):
                self.stats["delayed"] += 1
            elif isinstance(ev, OrderMatured):
                self.stats["matured"] += 1
            if isinstance(ev, (OrderAccepted, OrderDelayed)):
                assert ev.order_id == self.last_order_id + 1, (
                    "order ids are assigned in sequence, never reused"
                )
                self.last_order_id = ev.order_id
            elif isinstance(ev, MarketCreated):
                assert ev.market_id == self.last_market_id + 1
                self.last_market_id = ev.market_id
            if isinstance(ev, TradeMatched):
                assert ev.trade_id == self.last_trade_id + 1, (
                    "trade ids are assigned in sequence, never reused"
                )
                self.last_trade_id = ev.trade_id
                self.stats.update(
                    ("trade",)
                    + ("implied",) * ev.implied
                    + ("ring",) * (ev.implied and self.engine.markets[ev.market_id].is_cross)
                    + ("house",) * bool(ev.house)
                    + ("implied_house",) * bool(ev.house and ev.implied)
                )
                check_trade(self.engine, ev)
            elif isinstance(ev, OrderCancelled):
                self.cancelled[ev.order_id][ev.reason == "LAPSED"] += ev.size
                self.stats[str(ev.reason)] += 1
            elif isinstance(ev, TradesVoided):
                self.stats["voided"] += len(ev.trade_ids)

    def _check_placed(self, cmd: C.PlaceOrder, res: OrderResult) -> None:
        o = self.engine.orders[res.order_id]
        if res.status == "DELAYED":  # §7: accepted whole, outside the book until it matures
            m = self.engine.markets[o.market_id]
            assert m.phase == "IN_PLAY" and m.bet_delay_ms > 0 and o.order_id in m.delayed
            assert (o.size, o.remaining, o.matched, res.fills) == (cmd.size, cmd.size, 0, ())
            return
        assert (o.size, o.price, o.side, o.runner_id, o.account_id) == (
            cmd.size,
            cmd.price,
            cmd.side,
            cmd.runner_id,
            cmd.account_id,
        )
        assert res.size_matched == o.matched and res.size_remaining == o.remaining
        assert sum(f.size for f in res.fills) == o.matched
        trades = self.engine.markets[o.market_id].trades
        for f in res.fills:  # the reply's fills are the trades, and show the taker's odds
            t = trades[f.trade_id]
            assert (t.taker_order_id, t.price, t.taker_size, t.implied) == (
                o.order_id,
                f.price,
                f.size,
                f.implied,
            )
            if o.side in ("BUY", "SELL"):
                assert f.effective_odds == f.price
            elif not f.implied:
                assert f.effective_odds == f.price / 100
            elif o.side == "BACK":
                assert f.effective_odds >= o.price / 100
            else:
                assert f.effective_odds <= o.price / 100
        if cmd.time_in_force == "FILL_OR_KILL":  # never rests; filled at least min_fill_size
            assert o.remaining == 0 and o.matched >= (cmd.min_fill_size or cmd.size)

    def _worst_if_placed(self, cmd: Any, m: Any) -> tuple[int, int, int] | None:
        """For a placement (or a replace) by an account with a limit: its worst case if the new order
        were fully matched at its limit (a replace first gives back the old order's remainder)."""
        if m is None or m.state != "OPEN":
            return None
        if isinstance(cmd, C.ReplaceOrder):
            old = self.engine.orders.get(cmd.order_id) if type(cmd.order_id) is int else None
            if (
                old is None
                or old.market_id != m.market_id
                or old.account_id != cmd.account_id
                or not old.remaining
            ):
                return None
            place = C.PlaceOrder(
                m.market_id, old.runner_id, old.side, cmd.new_price, old.remaining, old.account_id
            )
        elif isinstance(cmd, C.PlaceOrder):
            place, old = cmd, None
        else:
            return None
        limit = self.limits.get(place.account_id) if type(place.account_id) is int else None
        if (
            not limit
            or place.runner_id not in m.books
            or type(place.size) is not int
            or type(place.price) is not int
        ):
            return None
        if place.side not in (("BUY", "SELL") if m.is_binary else ("BACK", "LAY")):
            return None
        exp = scratch_exposure(self.engine, m, place.account_id)
        if old is not None:
            win, lose = unmatched_at_limit(m.is_binary, old.side, old.price, old.remaining)
            exp = {o: v - (win if o == old.runner_id else -lose) for o, v in exp.items()}
        win, lose = unmatched_at_limit(m.is_binary, place.side, place.price, place.size)
        worst = min(v + (win if o == place.runner_id else -lose) for o, v in exp.items())
        return limit, 100 if m.is_binary else 1, worst

    def _check_lifecycle(
        self, cmd: Any, m: Any, expect: Any, res: Any, new: list[Event], version0: int, queue0: Any
    ) -> None:
        if isinstance(expect, str):
            assert isinstance(res, Reject) and res.code == expect, (cmd, res, expect)
            return
        state, phase, lapse, cancel_all = expect
        assert isinstance(res, MarketResult), (cmd, res)
        assert (res.market_state, res.market_phase, res.version) == (state, phase, version0 + 1), (cmd, res)
        assert (m.state, m.phase, m.version) == (state, phase, version0 + 1)
        reasons = {ev.reason for ev in new if isinstance(ev, OrderCancelled)}
        kinds = [type(ev).__name__ for ev in new]  # docs/engine.md: the state change first, then its cancels
        if state == "VOIDED":
            assert kinds == ["OrderCancelled"] * (len(kinds) - 1) + ["MarketVoided"], kinds
        elif state == "SETTLED":
            assert kinds == ["MarketSettled"], kinds
        else:
            assert kinds == ["MarketStateChanged"] + ["OrderCancelled"] * (len(kinds) - 1), kinds
        assert not m.delayed, "a transition voids every delayed order (§7)"
        reasons.discard("DELAY_VOIDED")
        if state == "VOIDED":
            assert reasons <= {"MARKET_VOIDED"}
        elif cancel_all:
            assert reasons <= {"MARKET_CLOSED"} and not any(True for _ in m.live_orders())
        elif lapse:  # LAPSE orders lapse; PERSIST ones keep their place in the queue
            assert reasons <= {"LAPSED"}
            assert all(o.persist for o in m.live_orders())
            assert _persist_queue(m) == queue0
        else:
            assert not reasons

    def check_state(self) -> None:
        e = self.engine
        check_books(e)
        check_depth(e, check_uncrossed(e))
        check_market_money(e)
        check_exposure(e, self.limits)
        assert dict(e.limits) == self.limits
        for oid, o in e.orders.items():
            cancelled, lapsed = self.cancelled.get(oid, (0, 0))
            assert (o.cancelled, o.lapsed) == (cancelled, lapsed), oid
        loaded = Engine.load(e.dump())
        assert loaded.state_hash() == e.state_hash()
        if self.twin is not None:
            assert self.twin.state_hash() == e.state_hash()
            check_exposure(self.twin, self.limits)


def _persist_queue(m: Any) -> list[tuple[int, str, int, tuple[int, ...]]]:
    out = []
    for r, book in m.books.items():
        for name, levels in (("B", book.backs), ("L", book.lays)):
            for price, level in levels.ascending():
                ids = tuple(o.order_id for o in level.live() if o.persist)
                if ids:
                    out.append((r, name, price, ids))
    return out


def _legs(m: Any) -> list[Any]:
    return [leg for tid, t in m.trades.items() if tid not in m.voided_trades for leg in t.legs]


def check_settlement(legs: list[Any], m: Any, winners: tuple[int, ...]) -> None:
    """Settled P&L (risk.settle_pnl): exact for one winner; a dead heat divides a winning leg's payout
    by the number of winners, rounded in the participant's favour, the house paying the residue."""
    k = len(winners)
    per_account: dict[int, list[Any]] = defaultdict(list)
    for leg in legs:
        per_account[leg.account_id].append(leg)
    total_exact = Fraction(0)
    settled_others = 0
    for account, acc_legs in per_account.items():
        exact = Fraction(0)
        n_winning = 0
        for leg in acc_legs:
            if leg.runner_id in winners:
                exact += Fraction(leg.win + leg.lose, k) - leg.lose
                n_winning += 1
            else:
                exact -= leg.lose
        total_exact += exact
        if account == HOUSE:
            continue
        exposure = Exposure()
        by_runner: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for leg in acc_legs:
            exposure.add(leg.runner_id, leg.win, leg.lose)
            by_runner[leg.runner_id].append((leg.win, leg.lose))
        pnl = settle_pnl(exposure, winners, by_runner)
        settled_others += pnl
        if k <= 1:
            assert pnl == exact, (account, pnl, exact)
        else:
            assert 0 <= pnl - exact < max(1, n_winning), (account, pnl, exact)
    assert total_exact == 0, "exact settled P&L does not sum to zero"
    assert -settled_others <= per_account_exact_house(per_account, winners)


def per_account_exact_house(per_account: dict[int, list[Any]], winners: tuple[int, ...]) -> Fraction:
    k = len(winners)
    exact = Fraction(0)
    for leg in per_account.get(HOUSE, []):
        exact += Fraction(leg.win + leg.lose, k) - leg.lose if leg.runner_id in winners else -leg.lose
    return exact


# ============================================================================ stream properties


@pytest.mark.parametrize("book", ["MULTI_RUNNER", "TWO_RUNNER", "BINARY_YES", "CROSS_MATCHED"])
@STREAM_SETTINGS
@given(data=st.data())
def test_random_streams_keep_every_invariant(book: str, data: st.DataObject) -> None:
    """Properties 1–6 on mixed streams: uncrossed books, order accounting at every moment, zero-sum
    P&L per outcome, fills within limits, replay and dump/load give the same state (and a loaded
    engine then behaves identically), lifecycle per §2, liability checks, typed rejects only."""
    scenario = data.draw(scenarios(book), label="scenario")
    split = data.draw(st.integers(0, len(scenario.steps) + 1), label="load at batch")
    Driver(split).run(scenario)


def test_streams_exercise_what_they_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard against vacuous properties: over a fixed sample, the streams really trade (implied and
    with house residue), self-trade, kill, lapse, void, hit limits, replace and settle dead heats.
    The sample is fixed whatever ran (or was imported) before: see tests/core/fixed_sample.py."""
    totals: Counter[str] = Counter()

    with no_local_constants(monkeypatch) as pool_calls:
        for book in RUNNERS:

            @settings(max_examples=100, deadline=None, derandomize=True, database=None)
            @given(scenarios(book))
            def run(scenario: Scenario) -> None:
                d = Driver()
                d.run(scenario)
                totals.update(d.stats)

            run()
    assert pool_calls[0], "hypothesis no longer reads its local-constant pool: re-check the pinning"
    needed = (
        "trade",
        "house",
        "implied",
        "implied_house",
        "SELF_TRADE",
        "FOK_UNFILLED",
        "FOK_NOT_FILLED",
        "LAPSED",
        "voided",
        "LIABILITY_EXCEEDED",
        "settled",
        "dead_heat",
        "DUPLICATE",
        "REPLACED",
        "MARKET_VOIDED",
        "MARKET_CLOSED",
        "late_command",
        "MARKET_HALTED",
        "CONDITION_FAILED",
        "reduced",
        "ring",
        "delayed",
        "matured",
        "DELAY_VOIDED",
    )
    assert all(totals[k] for k in needed), ([k for k in needed if not totals[k]], totals)


# ============================================================================ malformed commands


def build_malformed_fixture() -> bytes:
    e = Engine(EngineConfig())
    e.begin_batch(T0)
    run = e.execute
    assert (
        run(
            C.CreateMarket(
                "multi", "EXCHANGE_ODDS", "MULTI_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "PRE", (11, 12, 13), ()
            )
        ).market_id
        == 1
    )  # type: ignore[union-attr]
    run(C.CreateMarket("two", "EXCHANGE_ODDS", "TWO_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "PRE", (21, 22), ()))
    run(C.CreateMarket("yes", "BINARY_YES", None, "PRE_ONLY", "OPEN", "PRE", (31,), ()))
    run(C.CreateMarket("closed", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (11, 12), ()))
    run(C.CreateMarket("susp", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (11, 12), ()))
    for oid, p in FIXTURE_PLACES.items():
        assert run(p).order_id == oid  # type: ignore[union-attr]
    run(C.PlaceOrder(4, 11, "BACK", 300, 1000, 1))
    assert run(C.PlaceOrder(4, 11, "LAY", 300, 400, 2)).fills[0].trade_id == 1  # type: ignore[union-attr]
    run(C.CloseMarket(4))
    run(C.PlaceOrder(5, 11, "LAY", 300, 400, 2))
    run(C.SetMarketState(5, "SUSPENDED"))
    run(C.SetAccountLimit(2, 10_000))
    e.end_batch(0)
    return e.dump()


MALFORMED_FIXTURE = build_malformed_fixture()


@settings(max_examples=400 * SCALE, deadline=None)
@given(cmd=malformed_commands())
def test_malformed_commands_are_rejected_without_state_change(cmd: Any) -> None:
    """Property 6: typed Reject from the closed set, no event, same state hash, no exception.
    Every field is of its declared type (wrong types are the parse layer's tests)."""
    e = Engine.load(MALFORMED_FIXTURE)
    e.begin_batch(T0 + SEC)
    before = e.state_hash()
    res = e.execute(cmd)
    assert isinstance(res, Reject), (cmd, res)
    assert res.code in CODES and isinstance(res.message, str)
    assert e.take_events() == [] and e.state_hash() == before


# ============================================================================ differential


def _engine_happenings(events: list[Event]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for ev in events:
        if isinstance(ev, OrderAccepted):
            out.append(("ACCEPT", ev.order_id))
        elif isinstance(ev, OrderCancelled):
            out.append(("CANCEL", ev.order_id, ev.size, str(ev.reason)))
        elif isinstance(ev, TradeMatched):
            legs = tuple(sorted(tuple(leg) for leg in ev.legs))
            out.append(
                (
                    "TRADE",
                    ev.maker_order_id,
                    ev.taker_order_id,
                    ev.price,
                    ev.taker_size,
                    ev.maker_size,
                    ev.implied,
                    legs,
                )
            )
    return out


def _ref_happenings(out: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    res = []
    for h in out:
        if h[0] == "TRADE":
            t = h[1]
            res.append(("TRADE", t.maker, t.taker, t.price, t.taker_size, t.maker_size, t.implied, t.legs))
        else:
            res.append(h)
    return res


def run_differential(book: str, cmds: list[Any]) -> int:
    e = Engine(EngineConfig())
    e.begin_batch(T0)
    runners = RUNNERS[book]
    model = "BINARY_YES" if book == "BINARY_YES" else "EXCHANGE_ODDS"
    e.execute(
        C.CreateMarket(
            "m", model, None if book == "BINARY_YES" else book, "PRE_ONLY", "OPEN", "PRE", runners, ()
        )
    )
    e.take_events()
    ref = ReferenceMatcher(book, runners)
    trades = 0
    for raw in cmds:
        cmd = resolve(raw, e, T0)
        res = e.execute(cmd)
        got = _engine_happenings(e.take_events())
        if isinstance(cmd, C.PlaceOrder):
            fok = cmd.time_in_force == "FILL_OR_KILL"
            kind, out = ref.place(
                cmd.account_id,
                cmd.runner_id,
                cmd.side,
                cmd.price,
                cmd.size,
                cmd.persistence == "PERSIST",
                fok,
                cmd.min_fill_size,
            )
        elif isinstance(cmd, C.CancelOrder):
            kind, out = ref.cancel(cmd.order_id, cmd.account_id, cmd.size_reduction)
        elif isinstance(cmd, C.CancelAll):
            kind, out = ref.cancel_all(cmd.account_id)
            got.sort()
            out = sorted(out)  # type: ignore[call-overload]
        else:
            kind, out = ref.replace(cmd.order_id, cmd.account_id, cmd.new_price)
        if kind == "REJECT":
            assert isinstance(res, Reject) and res.code == out and not got, (cmd, res, out)
            continue
        assert not isinstance(res, Reject), (cmd, res)
        assert got == _ref_happenings(out), (cmd, got, out)  # type: ignore[arg-type]
        trades += sum(1 for h in got if h[0] == "TRADE")
        for oid, ro in ref.orders.items():
            o = e.orders[oid]
            assert (o.matched, o.remaining, o.cancelled + o.lapsed) == (
                ro.matched,
                ro.remaining,
                ro.cancelled,
            ), oid
    return trades


@pytest.mark.parametrize("book", ["MULTI_RUNNER", "BINARY_YES"])
@settings(max_examples=200 * SCALE, deadline=None)
@given(data=st.data())
def test_engine_trades_like_the_reference_matcher(book: str, data: st.DataObject) -> None:
    """Property 7: same trades (maker, taker, price, sizes, legs), cancels and rejects as the naive
    price-time matcher, for direct matching (MULTI_RUNNER and BINARY_YES)."""
    _, cmds = data.draw(matching_streams(book))
    run_differential(book, cmds)


@settings(max_examples=250 * SCALE, deadline=None)
@given(data=st.data())
def test_two_runner_trades_like_the_reference_matcher(data: st.DataObject) -> None:
    """Property 7 extended to TWO_RUNNER: direct + implied by effective odds then time, with the
    documented rounding (house residue) and dust rule."""
    _, cmds = data.draw(matching_streams("TWO_RUNNER"))
    run_differential("TWO_RUNNER", cmds)


# ============================================================================ worked numbers


class H:
    """A minimal in-process driver for worked-number tests (engine units)."""

    def __init__(self, book: str = "MULTI_RUNNER", runners: tuple[int, ...] = (1, 2, 3)) -> None:
        self.e = Engine(EngineConfig())
        self.e.begin_batch(T0)
        model = "BINARY_YES" if book == "BINARY_YES" else "EXCHANGE_ODDS"
        r = self.e.execute(
            C.CreateMarket(
                "m",
                model,
                None if book == "BINARY_YES" else book,
                "IN_PLAY_CAPABLE",
                "OPEN",
                "PRE",
                runners,
                (),
            )
        )
        self.mid = r.market_id  # type: ignore[union-attr]

    def __call__(self, cmd: Any) -> Any:
        return self.e.execute(cmd)

    def place(self, runner: int, side: str, price: int, size: int, account: int, **kw: Any) -> Any:
        return self.e.execute(C.PlaceOrder(self.mid, runner, side, price, size, account, **kw))

    def trades(self) -> list[TradeMatched]:
        return list(self.e.markets[self.mid].trades.values())


def test_spec_ladder_matches_engine_ladder() -> None:
    assert spec_ladder() == list(TICKS) and len(TICKS) == 350


def test_direct_rounding_backer_up_layer_down_house_pays_residue() -> None:
    """A back at 1.01 for 1.01 takes a lay resting at 2.56 (2.55 is off the ladder): 1.01 × 1.56 =
    1.5756, so the backer wins 1.58 (up), the layer pays 1.57 (down), the house pays the 0.01
    residue if runner 1 wins."""
    h = H()
    assert h.place(1, "LAY", 255, 500, account=2).code == RejectCode.INVALID_ODDS
    h.place(1, "LAY", 256, 500, account=2)
    r = h.place(1, "BACK", 101, 101, account=1)
    assert r.size_matched == 101 and r.fills[0].price == 256  # price improvement to the taker
    (t,) = h.trades()
    assert sorted(t.legs) == sorted([(1, 1, 158, 101), (2, 1, -157, -101), (HOUSE, 1, -1, 0)])
    assert t.house == 1


def test_direct_trade_without_residue_has_no_house_leg() -> None:
    h = H()
    h.place(2, "BACK", 200, 300, account=1)
    h.place(2, "LAY", 210, 300, account=2)  # lay takes the back at 2.00
    (t,) = h.trades()
    assert t.house == 0 and sorted(t.legs) == sorted([(1, 2, 300, 300), (2, 2, -300, -300)])


def test_implied_back_rounding() -> None:
    """Back A at 1.60 for 5.00 against a back on B at 2.50 for 1.01: x = 1.01 × 1.5 = 1.515; the taker
    stakes 1.51 to win 1.01, the maker stakes 1.01 to win 1.52, the house pays 0.01 if B wins."""
    h = H("TWO_RUNNER", (1, 2))
    h.place(2, "BACK", 250, 101, account=2)
    r = h.place(1, "BACK", 160, 500, account=1)
    (t,) = h.trades()
    assert t.implied and (t.taker_size, t.maker_size, t.house) == (151, 101, 1)
    assert sorted(t.legs) == sorted([(1, 1, 101, 151), (2, 2, 152, 101), (HOUSE, 2, -1, 0)])
    assert r.size_remaining == 349 and r.fills[0].effective_odds >= 1.6


def test_implied_lay_rounding() -> None:
    """Lay A at 1.70 for 5.00 against a lay on B at 2.50 for 1.01: s = 1.515; the taker risks 1.01 and
    wins 1.52 (its matched size), the maker risks 1.51 and wins 1.01, the house pays 0.01."""
    h = H("TWO_RUNNER", (1, 2))
    h.place(2, "LAY", 250, 101, account=2)
    h.place(1, "LAY", 170, 500, account=1)
    (t,) = h.trades()
    assert t.implied and (t.taker_size, t.maker_size, t.house) == (152, 101, 1)
    assert sorted(t.legs) == sorted([(1, 1, -101, -152), (2, 2, -151, -101), (HOUSE, 2, -1, 0)])


def test_implied_dust_is_skipped_and_may_rest_crossed() -> None:
    """A back on B at 1.01 with 0.99 left implies 0.0099 on A: less than a cent, so a back on A at
    100 (1/100 + 1/1.01 ≥ 1) does not trade with it and both rest."""
    h = H("TWO_RUNNER", (1, 2))
    h.place(2, "BACK", 101, 100, account=2)
    h(C.CancelOrder(h.mid, 1, 2, 1))
    r = h.place(1, "BACK", 10000, 100, account=1)
    assert r.size_matched == 0 and not h.trades()
    assert implied_dust(100, 101, 99)


def test_direct_trades_prefer_better_effective_odds_then_time() -> None:
    """A back on A at limit 1.50 sees a lay on A at 1.55 (odds 1.55) before a back on B at 2.80 (implied
    odds 2.8/1.8 = 1.556 is better, so it goes first)."""
    h = H("TWO_RUNNER", (1, 2))
    h.place(1, "LAY", 155, 1000, account=2)
    h.place(2, "BACK", 280, 1000, account=3)
    h.place(1, "BACK", 150, 200, account=1)
    t = h.trades()[0]
    assert t.implied and t.maker_order_id == 2


def test_binary_amounts_are_exact() -> None:
    h = H("BINARY_YES", (31,))
    h.place(31, "SELL", 6000, 10, account=2)
    r = h.place(31, "BUY", 6500, 4, account=1)
    (t,) = h.trades()
    assert r.fills[0].price == 6000 and t.house == 0
    assert sorted(t.legs) == sorted([(1, 31, 16000, 24000), (2, 31, -16000, -24000)])


def test_dead_heat_rounds_each_winner_in_its_favour() -> None:
    """Back 1.01 at 2.00 against a lay, three-way dead heat: payout 2.02 / 3 = 0.67333: the backer gets
    0.68 (P&L −0.33), the layer's −2.02/3 rounds to −0.67 (P&L +0.34), the house pays 0.01."""
    h = H()
    h.place(1, "LAY", 200, 101, account=2)
    h.place(1, "BACK", 200, 101, account=1)
    legs = _legs(h.e.markets[h.mid])
    for account, want in ((1, -33), (2, 34)):
        mine = [leg for leg in legs if leg.account_id == account]
        e = Exposure()
        for leg in mine:
            e.add(leg.runner_id, leg.win, leg.lose)
        assert settle_pnl(e, (1, 2, 3), {1: [(leg.win, leg.lose) for leg in mine]}) == want
    check_settlement(legs, h.e.markets[h.mid], (1, 2, 3))


def test_fok_min_fill_size_fills_what_it_can_then_cancels() -> None:
    h = H()
    h.place(1, "LAY", 300, 300, account=2)
    assert (
        h.place(1, "BACK", 300, 500, account=1, time_in_force="FILL_OR_KILL", min_fill_size=400).code
        == RejectCode.FOK_NOT_FILLED
    )
    r = h.place(1, "BACK", 300, 500, account=1, time_in_force="FILL_OR_KILL", min_fill_size=300)
    assert (r.size_matched, r.size_remaining, r.size_cancelled) == (300, 0, 200)


def test_self_trade_cancels_resting_and_continues() -> None:
    h = H()
    h.place(1, "LAY", 300, 300, account=1)
    h.place(1, "LAY", 300, 300, account=2)
    r = h.place(1, "BACK", 300, 500, account=1)
    assert r.size_matched == 300 and r.size_remaining == 200
    assert h.e.orders[1].cancelled == 300 and h.trades()[0].maker_order_id == 2


# ============================================================================ regressions
# Engine bugs this suite found (fixed in 632d2c4); each test is the minimal reproduction.


def test_implied_remainder_is_not_left_crossed_above_dust() -> None:
    """Back B at 2.90 for 1.00 (acct 1), then back A at 1.50 for 1.00 (acct 2): 1/1.5 + 1/2.9 > 1.
    The first rounded fill takes y = ⌊100/1.9⌋ = 0.52 of the maker (taker stakes ⌊0.988⌋ = 0.98);
    the taker's 0.02 can still take y = 0.01 (x = 0.019 → 0.01 staked, not dust), so it must."""
    h = H("TWO_RUNNER", (1, 2))
    h.place(2, "BACK", 290, 100, account=1)
    h.place(1, "BACK", 150, 100, account=2)
    a, b = h.e.orders[2], h.e.orders[1]
    assert not (a.remaining and b.remaining and not implied_dust(a.remaining, b.price, b.remaining))
    check_uncrossed(h.e)


def test_huge_max_liability_is_rejected() -> None:
    """An unbounded max_liability was accepted and then dump()/state_hash() overflowed msgpack."""
    e = Engine.load(MALFORMED_FIXTURE)
    res = e.execute(C.SetAccountLimit(1, 2**64))
    e.state_hash()
    assert isinstance(res, Reject)
