"""The client's ladder helpers agree with the engine's ladder (the one that refuses prices)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betex.client import on_ladder, snap, snap_bps, tick_down, tick_up
from betex.core.domain.ladder import TICKS


@pytest.mark.parametrize(
    ("price", "up", "down"),
    [(1.01, 1.02, None), (2.0, 2.02, 1.99), (2.5, 2.52, 2.48), (3.0, 3.05, 2.98), (1000.0, None, 990.0)],
)
def test_next_tick_up_and_down(price: float, up: float | None, down: float | None) -> None:
    assert tick_up(price) == up
    assert tick_down(price) == down


def test_off_ladder_prices_move_to_the_neighbouring_ticks() -> None:
    assert not on_ladder(2.51) and on_ladder(2.52)
    assert (snap(2.51, "down"), snap(2.51, "up"), snap(2.51)) == (2.5, 2.52, 2.5)
    assert tick_up(2.51) == 2.52 and tick_down(2.51) == 2.5
    assert snap(0.5) == 1.01 and snap(5000) == 1000.0 and snap(0.5, "down") is None
    assert snap_bps(0.2) == 1 and snap_bps(12000) == 9999 and snap_bps(4500.4) == 4500


@given(st.floats(min_value=1.0, max_value=1100.0))
def test_snap_lands_on_the_engine_ladder_next_to_the_price(price: float) -> None:
    lo, hi, near = snap(price, "down"), snap(price, "up"), snap(price)
    assert near is not None and round(near * 100) in TICKS
    if lo is not None:
        assert round(lo * 100) in TICKS and lo <= price + 1e-9
    if hi is not None:
        assert round(hi * 100) in TICKS and hi >= price - 1e-9
    if lo is not None and hi is not None:
        assert near in (lo, hi)


@given(st.sampled_from(TICKS), st.integers(min_value=-5, max_value=5))
def test_ticks_walk_the_engine_ladder(tick: int, n: int) -> None:
    i = TICKS.index(tick)
    expected = TICKS[i + n] / 100 if 0 <= i + n < len(TICKS) else None
    assert tick_up(tick / 100, n) == expected
