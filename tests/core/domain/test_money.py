"""Money on the wire: at most 2 decimals, positive, finite; whole shares for binary markets."""

import pytest

from betex.core.domain.money import cents_from_wire, whole_from_wire


@pytest.mark.parametrize(
    "value,cents", [(10, 1000), (10.5, 1050), (10.25, 1025), (0.29, 29), (1e6, 100000000)]
)
def test_wire_money_with_at_most_two_decimals_becomes_cents(value: float, cents: int) -> None:
    assert cents_from_wire(value) == cents


@pytest.mark.parametrize("value", [10.255, -1, 0, float("nan"), float("inf"), "10", True, None, [1]])
def test_bad_money_is_refused(value: object) -> None:
    assert cents_from_wire(value) is None


def test_share_quantities_are_whole() -> None:
    assert whole_from_wire(10.0) == 10
    assert whole_from_wire(10.5) is None and whole_from_wire(0) is None
