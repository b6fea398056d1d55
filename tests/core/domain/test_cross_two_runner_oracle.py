"""TWO_RUNNER through the shared ring planner plans exactly what the former planner did.

tests/core/oracle_two_runner.py is the pre-cross `plan_two_runner`, verbatim. Random two-runner
books (several orders per level, several accounts so self-trades occur, sizes down to one cent so
dust occurs) and random takers must give identical step lists: same makers, sizes, legs, house,
implied flag and maker runner. Identical steps mean identical events, so existing WALs replay to
the same state hash.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from betex.core.domain.book.levels import Order, RunnerBook
from betex.core.domain.book.two_runner import plan_two_runner
from betex.core.domain.ladder import TICKS
from tests.core import oracle_two_runner

PRICES = st.sampled_from(TICKS)
SIZES = st.one_of(st.integers(1, 20), st.integers(1, 100_000))


@st.composite
def books(draw: st.DrawFn) -> tuple[RunnerBook, RunnerBook]:
    a, b = RunnerBook(), RunnerBook()
    oid = 1
    for _ in range(draw(st.integers(0, 24))):
        runner = draw(st.sampled_from((1, 2)))
        side = draw(st.sampled_from(("BACK", "LAY")))
        price = draw(st.one_of(PRICES, st.sampled_from((150, 200, 250, 300, 400, 101, 1000))))
        o = Order(oid, draw(st.integers(1, 4)), 1, runner, side, price, draw(SIZES), False, "")
        oid += 1
        book = a if runner == 1 else b
        (book.backs if side == "BACK" else book.lays).add(o)
    return a, b


def _norm(steps: list) -> list:  # type: ignore[type-arg]
    return [(s[0].order_id, *s[1:]) for s in steps]


@settings(max_examples=600, deadline=None)
@given(
    books(),
    st.booleans(),
    st.booleans(),
    st.one_of(PRICES, st.sampled_from((150, 200, 300, 1000))),
    st.integers(1, 4),
    SIZES,
)
def test_shared_planner_matches_the_old_two_runner_planner(
    ab: tuple[RunnerBook, RunnerBook], on_a: bool, is_back: bool, limit: int, account: int, size: int
) -> None:
    a, b = ab if on_a else (ab[1], ab[0])
    ra, rb = (1, 2) if on_a else (2, 1)
    new = plan_two_runner(a, b, is_back, ra, rb, limit, account, size)
    old = oracle_two_runner.plan_two_runner(a, b, is_back, ra, rb, limit, account, size)
    assert (_norm(new[0]), new[1]) == (_norm(old[0]), old[1])
