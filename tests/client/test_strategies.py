"""Strategies as specifications: quotes, re-quotes, limits, sweeps, noise, determinism per seed."""

from __future__ import annotations

import pytest

from betex.client import messages as m
from betex.client.bots import (
    BINARY,
    ODDS,
    BookView,
    Bot,
    Cancel,
    CancelAll,
    Command,
    Exposure,
    InformedTrader,
    MarketMaker,
    MarketSpec,
    NoiseTrader,
    Place,
    Replace,
    make_bots,
    make_priors,
)
from betex.core.domain.ladder import TICKS

from .helpers import ScriptedReplies, binary_snapshot, odds_snapshot

SOCCER = MarketSpec(1, ODDS, (1, 2, 3), {1: 0.5, 2: 0.3, 3: 0.2})
YES = MarketSpec(1, BINARY, (1,), {1: 0.45})


def odds_idx(price: float) -> int:
    i = ODDS.from_wire_price(price)
    assert i is not None
    return i


def empty_view(seq: int = 1, market: MarketSpec = SOCCER) -> BookView:
    if market.model is BINARY:
        return BookView.from_snapshot(binary_snapshot(seq, [], []))
    return BookView.from_snapshot(odds_snapshot(seq, {r: ([], []) for r in market.runner_ids}))


def run(bot: Bot, view: BookView, replies: ScriptedReplies | None, limit: int = 100) -> list[Command]:
    """Let `bot` issue until it has nothing to do on `view`; answer each command at once."""
    out = []
    for _ in range(limit):
        issued = bot.issue(view)
        if issued is None:
            break
        corr, cmd = issued
        out.append(cmd)
        if replies is not None:
            bot.on_reply(corr, replies.reply(corr, cmd))
    return out


# --- market maker --------------------------------------------------------------------------


def test_maker_quotes_both_sides_over_levels_around_the_prior() -> None:
    mm = MarketMaker(1001, SOCCER, seed=1, levels=3)
    cmds = run(mm, empty_view(), ScriptedReplies(ODDS))
    assert len(cmds) == 18 and all(type(c) is Place for c in cmds)
    r1 = sorted((c.side, TICKS[c.idx]) for c in cmds if type(c) is Place and c.runner_id == 1)
    # fair 2.00: lays one, two, three ticks below; backs above (2→3 band steps by 0.02)
    assert r1 == [("BACK", 202), ("BACK", 204), ("BACK", 206), ("LAY", 197), ("LAY", 198), ("LAY", 199)]
    assert all(c.size >= 100 and c.size % 100 == 0 for c in cmds if type(c) is Place)


def test_maker_moves_quotes_with_replace_when_the_book_moves() -> None:
    mm = MarketMaker(1001, SOCCER, seed=1, levels=2)
    replies = ScriptedReplies(ODDS)
    run(mm, empty_view(1), replies)
    sides = {oid: p.side for oid, p in replies.orders.items()}
    # the book now centres on 2.10 for runner 1 (best lay 2.08, best back 2.12); others unchanged
    ladders = {1: ([(2.08, 50.0)], [(2.12, 50.0)]), 2: ([], []), 3: ([], [])}
    cmds = run(mm, BookView.from_snapshot(odds_snapshot(2, ladders)), replies)
    assert cmds and all(type(c) is Replace for c in cmds)
    new_prices = sorted(TICKS[c.new_idx] for c in cmds if type(c) is Replace)
    assert new_prices == [206, 208, 212, 214]
    # fair moved up: the backs (asks) move first so a lay never crosses our own back
    first = cmds[0]
    assert type(first) is Replace and sides[first.order_id] == "BACK"
    again = run(mm, BookView.from_snapshot(odds_snapshot(3, ladders)), replies)
    assert not any(type(c) is Replace for c in again)


def test_maker_cancels_a_quote_its_level_shows_as_filled_then_requotes() -> None:
    mm = MarketMaker(1001, YES, seed=3, levels=1)
    replies = ScriptedReplies(BINARY)
    placed = run(mm, empty_view(1, YES), replies)
    bid, ask = sorted((c for c in placed if type(c) is Place), key=lambda c: c.idx)
    full = ([(bid.idx + 1, bid.size)], [(ask.idx + 1, ask.size)])
    hit = ([(bid.idx + 1, bid.size)], [(ask.idx + 1, ask.size - 1)])  # someone took 1 share of our ask
    assert run(mm, BookView.from_snapshot(binary_snapshot(2, *full)), replies) == []
    cmds = run(mm, BookView.from_snapshot(binary_snapshot(3, *hit)), replies)
    assert type(cmds[0]) is Cancel
    assert type(cmds[1]) is Place and cmds[1].side == "SELL"


def test_maker_never_exceeds_its_liability_limit() -> None:
    mm = MarketMaker(1001, SOCCER, seed=2, levels=5, max_liability=60.0)
    replies = ScriptedReplies(ODDS)
    cmds = run(mm, empty_view(), replies)
    assert 0 < len(cmds) < 30 and all(type(c) is Place for c in cmds)
    assert -6000 <= mm.exposure.worst() < -3000
    # a wider book does not let it add risk either
    ladders = {r: ([(1.5, 10.0)], [(3.0, 10.0)]) for r in (1, 2, 3)}
    run(mm, BookView.from_snapshot(odds_snapshot(2, ladders)), replies)
    assert mm.exposure.worst() >= -6000


def test_maker_without_acks_relays_the_ladder_with_cancel_all() -> None:
    mm = MarketMaker(1001, YES, seed=1, levels=2, acks=False)
    first = run(mm, empty_view(1, YES), None)
    assert len(first) == 4 and all(type(c) is Place for c in first)
    moved = run(mm, BookView.from_snapshot(binary_snapshot(2, [(3000, 10)], [(3100, 10)])), None)
    assert type(moved[0]) is CancelAll and len(moved) == 5
    assert {c.idx for c in moved if type(c) is Place} == {3049 - 20, 3049 - 40, 3049 + 20, 3049 + 40}


# --- informed and noise --------------------------------------------------------------------


def test_informed_sweeps_a_book_mispriced_against_its_truth_with_fok() -> None:
    inf = InformedTrader(3001, YES, seed=1, activity=1.0, drift=0.0, start_shift=0.0)
    assert abs(inf.true_prob(1) - 0.45) < 1e-9
    # YES offered at 30%: far below the 45% truth → buy everything up to truth − edge
    view = BookView.from_snapshot(binary_snapshot(1, [(2900, 10)], [(3000, 5), (3500, 7), (4400, 100)]))
    cmd = run(inf, view, ScriptedReplies(BINARY), limit=1)[0]
    assert type(cmd) is Place and cmd.side == "BUY" and cmd.time_in_force == "FILL_OR_KILL"
    assert BINARY.to_wire_price(cmd.idx) == 4500 - 60 and cmd.size == 5 + 7 + 100 and cmd.min_fill_size == 1
    fair = BookView.from_snapshot(binary_snapshot(2, [(4480, 10)], [(4520, 10)]))
    assert run(inf, fair, ScriptedReplies(BINARY), limit=5) == []


def test_informed_lays_odds_that_are_too_short() -> None:
    two = MarketSpec(1, ODDS, (1, 2), {1: 0.5, 2: 0.5})
    inf = InformedTrader(3001, two, seed=1, activity=1.0, drift=0.0, start_shift=0.0)
    # runner 1 backed at 1.60 (62.5%) though the truth is 50%: lay it
    view = BookView.from_snapshot(odds_snapshot(1, {1: ([], [(1.6, 20.0)]), 2: ([], [])}))
    cmd = run(inf, view, None, limit=1)[0]
    assert type(cmd) is Place and cmd.side == "LAY" and cmd.runner_id == 1 and cmd.size == 2000
    assert TICKS[cmd.idx] == 198  # two ticks inside the 2.00 truth


def test_noise_places_near_the_touch_and_cancels_some() -> None:
    noise = NoiseTrader(2001, SOCCER, seed=5)
    ladders = {r: ([(2.0, 100.0)], [(2.04, 100.0)]) for r in (1, 2, 3)}
    view = BookView.from_snapshot(odds_snapshot(1, ladders))
    replies = ScriptedReplies(ODDS)
    cmds = []
    for _ in range(200):
        cmds += run(noise, view, replies, limit=1)
    places = [c for c in cmds if type(c) is Place]
    cancels = [c for c in cmds if type(c) is Cancel]
    assert places and cancels and len(places) + len(cancels) == 200
    assert all(odds_idx(1.97) <= c.idx <= odds_idx(2.08) for c in places)
    assert all(100 <= c.size <= 2000 for c in places)
    assert len(noise.open) <= noise.max_open


# --- determinism ---------------------------------------------------------------------------


def _script(market: MarketSpec, seed: int) -> list[tuple[int, m.Reply | None]]:
    """Drive one bot of each kind over a fixed stream of views; log every command and reply."""
    bots = make_bots(market, mm=1, noise=1, informed=1, seed=seed)
    replies = ScriptedReplies(market.model)
    log: list[tuple[int, object]] = []
    for seq in range(1, 40):
        if market.model is BINARY:
            lo = 4000 + (seq * 37) % 500
            snap = binary_snapshot(seq, [(lo, 10 + seq)], [(lo + 50, 5 + seq % 7)])
        else:
            p = TICKS[100 + (seq * 7) % 20] / 100
            q = TICKS[102 + (seq * 7) % 20] / 100
            snap = odds_snapshot(seq, {r: ([(p, 10.0 + r)], [(q, 5.0 * r)]) for r in market.runner_ids})
        view = BookView.from_snapshot(snap)
        for b in bots:
            for _ in range(b.max_burst):
                issued = b.issue(view)
                if issued is None:
                    break
                corr, cmd = issued
                reply = replies.reply(corr, cmd)
                log.append((corr, (cmd, reply)))
                b.on_reply(corr, reply)
    return log  # type: ignore[return-value]


def test_same_seed_and_views_give_the_same_commands() -> None:
    for market in (SOCCER, YES, MarketSpec(1, ODDS, (1, 2), make_priors((1, 2), 9))):
        a, b = _script(market, 42), _script(market, 42)
        assert a == b and len(a) > 50
        assert _script(market, 43) != a


def test_priors_are_seeded_and_sum_to_one() -> None:
    p = make_priors((1, 2, 3), 7)
    assert p == make_priors((1, 2, 3), 7) != make_priors((1, 2, 3), 8)
    assert abs(sum(p.values()) - 1.0) < 1e-9
    assert 0.3 <= make_priors((1,), 7, binary=True)[1] <= 0.7


# --- market states: a removed runner, a bet delay, HALTED ---------------------------------


def test_a_removed_runner_leaves_every_bot_and_the_others_are_renormalised() -> None:
    ladders = {r: ([(2.0, 100.0)], [(2.04, 100.0)]) for r in (1, 3)}
    removed = BookView.from_snapshot(odds_snapshot(2, ladders, removed=(2,)))
    assert removed.removed == {2} and removed.runner(2) is None
    for bot in make_bots(SOCCER, mm=1, noise=1, informed=1, seed=4):
        replies = ScriptedReplies(ODDS)
        run(bot, empty_view(1), replies)
        cmds = run(bot, removed, replies, limit=1)
        if isinstance(bot, InformedTrader):  # its truth drifts from here on
            drift = 2 * bot.drift  # one step, before it looked at the book
            assert sum(bot.true_prob(r) for r in (1, 3)) == pytest.approx(1.0, abs=drift)
        for _ in range(100):
            cmds += run(bot, removed, replies, limit=1)
        assert bot.runner_ids == (1, 3) and bot.removed == {2}, bot.name
        assert bot.priors == {1: 0.5 / 0.7, 3: 0.2 / 0.7}, bot.name
        assert all(c.runner_id != 2 for c in cmds if type(c) is Place), bot.name
        assert set(bot.exposure.if_win) == {1, 3}, bot.name


def test_a_maker_reprices_over_the_remaining_runners_and_re_lays_its_ladder() -> None:
    mm = MarketMaker(1001, SOCCER, seed=1, levels=1)
    replies = ScriptedReplies(ODDS)
    run(mm, empty_view(1), replies)  # fair 2.00, 3.33, 5.00: 50 %, 30 %, 20 %
    quoted = dict(replies.orders)
    # the removal cancelled every order: the engine's book is empty
    replies.orders.clear()
    view = BookView.from_snapshot(odds_snapshot(2, {1: ([], []), 3: ([], [])}, removed=(2,)))
    cmds = run(mm, view, replies)
    assert cmds and all(type(c) is Place and c.runner_id in (1, 3) for c in cmds)
    assert len(cmds) == 4 and not set(quoted) & {q.order_id for q in mm.quotes.values()}
    assert set(mm.fair) == {1, 3}
    assert sum(ODDS.index_to_prob(mm.fair[r]) for r in (1, 3)) == pytest.approx(1.0, abs=0.02)
    assert TICKS[mm.fair[1]] == 140 and TICKS[mm.fair[3]] == 350  # 5/7 and 2/7


def test_exposure_drops_a_removed_runners_bets_and_outcome() -> None:
    exp = Exposure(ODDS, (1, 2, 3))
    exp.add(1, "BACK", odds_idx(3.0), 1000)  # +20.00 if 1 wins, −10.00 otherwise
    exp.add(2, "LAY", odds_idx(4.0), 1000)  # −30.00 if 2 wins, +10.00 otherwise
    assert exp.if_win == {1: 3000.0, 2: -4000.0, 3: 0.0}
    exp.drop_runner(2)  # the lay of 2 is void; 2 is no outcome
    assert exp.if_win == {1: 2000.0, 3: -1000.0}
    exp.add(2, "BACK", odds_idx(5.0), 1000)  # ignored: a removed runner takes no bets
    assert exp.if_win == {1: 2000.0, 3: -1000.0} and exp.worst() == -1000.0


def test_a_maker_keeps_delayed_quotes_until_they_mature() -> None:
    mm = MarketMaker(1001, YES, seed=3, levels=1)
    replies = ScriptedReplies(BINARY, place_status="DELAYED")
    placed = run(mm, empty_view(1, YES), replies)
    assert len(placed) == 2 and all(q.delayed for q in mm.quotes.values())
    # held by the bet delay, the quotes are not in the book: that is no fill
    for seq in range(2, 12):
        assert run(mm, empty_view(seq, YES), replies) == []
    bid, ask = sorted((c for c in placed if type(c) is Place), key=lambda c: c.idx)
    matured = ([(bid.idx + 1, bid.size)], [(ask.idx + 1, ask.size)])
    assert run(mm, BookView.from_snapshot(binary_snapshot(12, *matured)), replies) == []
    assert not any(q.delayed for q in mm.quotes.values())
    # now resting, a quote its level stops showing was filled: cancel and requote as usual
    hit = ([(bid.idx + 1, bid.size)], [(ask.idx + 1, ask.size - 1)])
    run(mm, BookView.from_snapshot(binary_snapshot(13, *matured)), replies)
    cmds = run(mm, BookView.from_snapshot(binary_snapshot(14, *hit)), replies)
    assert type(cmds[0]) is Cancel


def test_delayed_orders_are_open_orders_for_noise_and_informed() -> None:
    noise = NoiseTrader(2001, SOCCER, seed=5, cancel_prob=0.0)
    replies = ScriptedReplies(ODDS, place_status="DELAYED")
    for _ in range(5):
        run(noise, empty_view(1), replies, limit=1)
    assert noise.stats.rejected == {} and len(noise.open) == 5 == len(noise.delayed)
    two = MarketSpec(1, ODDS, (1, 2), {1: 0.5, 2: 0.5})
    inf = InformedTrader(3001, two, seed=1, activity=1.0, drift=0.0, start_shift=0.0)
    view = BookView.from_snapshot(odds_snapshot(1, {1: ([], [(1.6, 20.0)]), 2: ([], [])}))
    cmd = run(inf, view, ScriptedReplies(ODDS, place_status="DELAYED"), limit=1)[0]
    assert type(cmd) is Place
    # it may fill whole when it matures: its whole size stays counted
    assert inf.exposure.worst() == ODDS.payoff("LAY", cmd.idx, cmd.size, True)


def test_no_bot_sends_anything_while_the_market_is_halted() -> None:
    halted = BookView.from_snapshot(odds_snapshot(1, {r: ([], []) for r in (1, 2, 3)}, state="HALTED"))
    for bot in make_bots(SOCCER, mm=1, noise=1, informed=1, seed=4):
        assert [bot.issue(halted) for _ in range(50)] == [None] * 50, bot.name


def test_a_placement_refused_with_invalid_runner_removes_the_runner_before_the_snapshot() -> None:
    """The snapshot showing a removal comes up to one interval late; the first INVALID_RUNNER
    reject tells the bot at once, and a stale view does not undo the renormalised fair."""
    ladders = {r: ([(2.0, 100.0)], [(2.04, 100.0)]) for r in (1, 2, 3)}
    stale = BookView.from_snapshot(odds_snapshot(1, ladders))
    for bot in make_bots(SOCCER, mm=1, noise=1, informed=1, seed=4):
        replies = ScriptedReplies(ODDS)
        refused = 0
        for _ in range(200):
            issued = bot.issue(stale)
            if issued is None:
                continue
            corr, cmd = issued
            if type(cmd) is Place and cmd.runner_id == 2:
                refused += 1
                bot.on_reply(corr, m.OrderResponse(corr, "REJECTED", error=m.ErrorInfo("INVALID_RUNNER", "")))
            else:
                bot.on_reply(corr, replies.reply(corr, cmd))
        assert refused <= 1 and bot.runner_ids == (1, 3), (bot.name, refused)
        if isinstance(bot, MarketMaker):
            assert refused == 1
            assert sum(ODDS.index_to_prob(bot.fair[r]) for r in (1, 3)) == pytest.approx(1.0, abs=0.02)
