"""The Betfair classic ladder: 350 ticks, tick steps per band, snapping and neighbours."""

from betex.core.domain import ladder


def test_ladder_has_350_ticks_from_1_01_to_1000() -> None:
    assert len(ladder.TICKS) == 350
    assert ladder.TICKS[0] == 101 and ladder.TICKS[-1] == 100000
    assert list(ladder.TICKS) == sorted(set(ladder.TICKS))


def test_band_increments_follow_the_classic_ladder() -> None:
    assert ladder.next_tick(199) == 200 and ladder.next_tick(200) == 202
    assert ladder.next_tick(300) == 305 and ladder.next_tick(400) == 410
    assert ladder.next_tick(600) == 620 and ladder.next_tick(1000) == 1050
    assert ladder.next_tick(2000) == 2100 and ladder.next_tick(3000) == 3200
    assert ladder.next_tick(5000) == 5500 and ladder.next_tick(10000) == 11000


def test_tick_arithmetic_and_ends() -> None:
    assert ladder.prev_tick(101) is None and ladder.next_tick(100000) is None
    assert ladder.next_tick(250, 3) == 256
    assert ladder.ticks_between(200, 300) == 50
    assert ladder.ticks_between(300, 200) == -50


def test_off_ladder_prices_are_invalid_not_rounded() -> None:
    assert ladder.is_valid_odds(252) and not ladder.is_valid_odds(251)
    assert not ladder.is_valid_odds(100) and not ladder.is_valid_odds(100001)
    assert ladder.odds_from_wire(2.51) == 251  # on the wire it parses; the ladder check rejects it
    assert ladder.odds_from_wire(2.515) is None
    assert ladder.odds_from_wire(True) is None and ladder.odds_from_wire("2.5") is None
    assert ladder.odds_from_wire(float("nan")) is None


def test_floor_and_ceil_ticks_of_exact_ratios() -> None:
    assert ladder.floor_tick_ratio(150, 50) == 300  # 1.5 → 3.0 exactly
    assert ladder.floor_tick_ratio(145, 45) == 320  # 3.222… → 3.20
    assert ladder.ceil_tick_ratio(145, 45) == 325
