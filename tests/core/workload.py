"""The deterministic workload the runtime, journal, snapshot and crash tests drive."""

from __future__ import annotations

from betex.core.domain.commands import CreateMarket, PlaceOrder


def market_cmd() -> CreateMarket:
    return CreateMarket(
        name="m",
        market_model="EXCHANGE_ODDS",
        book_type="MULTI_RUNNER",
        market_kind="IN_PLAY_CAPABLE",
        market_state="OPEN",
        market_phase="PRE",
        runner_ids=(1, 2, 3),
        runner_labels=("H", "D", "A"),
    )


def order_cmd(i: int, client_ref: str = "", correlation_id: int = 0) -> PlaceOrder:
    """Order `i` of a mix of backs and lays around 2.50 that rests some and trades some."""
    return PlaceOrder(
        market_id=1,
        runner_id=1 + i % 3,
        side="BACK" if i % 2 else "LAY",
        price=(240, 250, 260)[(i * 7) % 3],
        size=1000 + (i % 5) * 100,
        account_id=1 + i % 11,
        client_ref=client_ref,
        correlation_id=correlation_id,
    )
