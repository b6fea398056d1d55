"""Commands the engine accepts, in engine units (cents, odds hundredths, bps, shares).

The wire layer (`wire.py`) builds these from JSON; the engine validates them again, so a command
built in-process with nonsense in it still gets a typed reject rather than an exception.
"""

from __future__ import annotations

from typing import NamedTuple


class CreateMarket(NamedTuple):
    name: str
    market_model: str
    book_type: str | None
    market_kind: str
    market_state: str
    market_phase: str
    runner_ids: tuple[int, ...]
    runner_labels: tuple[str, ...]
    correlation_id: int = 0
    commission_bps: int = 0  # charged on positive net winnings at settlement (domain.md §7)
    bet_delay_ms: int = 0  # in-play bet delay (domain.md §7, delay.py): 0 = none


class AddRunners(NamedTuple):
    market_id: int
    runner_ids: tuple[int, ...]
    runner_labels: tuple[str, ...]
    correlation_id: int = 0


class PlaceOrder(NamedTuple):
    market_id: int
    runner_id: int
    side: str
    price: int  # odds hundredths, or bps for binary
    size: int  # cents (backer's stake), or shares for binary
    account_id: int
    persistence: str = "LAPSE"
    time_in_force: str = "GTC"
    min_fill_size: int = 0  # 0 = the full size
    client_ref: str = ""
    correlation_id: int = 0
    market_version: int = 0  # 0 = no guard; else VERSION_MISMATCH when the market's version is higher


class CancelOrder(NamedTuple):
    market_id: int
    order_id: int
    account_id: int
    size_reduction: int = 0  # 0 = cancel everything remaining
    correlation_id: int = 0


class CancelAll(NamedTuple):
    """Cancel the account's orders in the market that match every given filter (None = any)."""

    market_id: int
    account_id: int
    correlation_id: int = 0
    runner_id: int | None = None
    side: str | None = None
    placed_before_ts: int | None = None  # engine time (unix ns): orders accepted strictly before


class ReplaceOrder(NamedTuple):
    market_id: int
    order_id: int
    account_id: int
    new_price: int
    correlation_id: int = 0


class SetMarketState(NamedTuple):
    market_id: int
    market_state: str
    correlation_id: int = 0


class AwaitLiveMarket(NamedTuple):
    market_id: int
    correlation_id: int = 0


class GoLiveMarket(NamedTuple):
    market_id: int
    correlation_id: int = 0


class CloseMarket(NamedTuple):
    market_id: int
    correlation_id: int = 0


class VoidMarket(NamedTuple):
    market_id: int
    correlation_id: int = 0


class SettleMarket(NamedTuple):
    market_id: int
    winner_runner_ids: tuple[int, ...]
    correlation_id: int = 0


class VoidTrades(NamedTuple):
    market_id: int
    trade_ids: tuple[int, ...] = ()
    after_ts: int | None = None
    correlation_id: int = 0


class SetAccountLimit(NamedTuple):
    """Per-account `max_liability` in cents (0 removes the limit). An admin command."""

    account_id: int
    max_liability: int
    correlation_id: int = 0


class ReduceOrder(NamedTuple):
    """Set the order's remaining size to `new_remaining` if it is `expected_remaining` now."""

    market_id: int
    order_id: int
    account_id: int
    expected_remaining: int
    new_remaining: int
    correlation_id: int = 0


class CreateAccount(NamedTuple):
    """A new trading account (its id is the engine's next). An admin command."""

    name: str = ""
    correlation_id: int = 0


class IssueKey(NamedTuple):
    """Record an API key for `account_id`. The server draws the key; only its hash (sha256, hex)
    reaches the engine and the WAL, so neither can leak it. An admin command."""

    account_id: int
    key_hash: str
    correlation_id: int = 0


class RevokeKey(NamedTuple):
    """Revoke key `key_id` (revoking a revoked key is a no-op ACK). An admin command."""

    key_id: int
    correlation_id: int = 0


# ---------------------------------------------------------------- runner removal (REMOVE_RUNNER)


class RemoveRunner(NamedTuple):
    """Remove a runner (a non-runner, domain.md §7). An admin command. `reduction_factor` is in
    hundredths of a percent, 0..10000 (the wire's 12.5 % is 1250): no floats in money maths."""

    market_id: int
    runner_id: int
    reduction_factor: int
    correlation_id: int = 0


# ---------------------------------------------------------------- end of runner removal


Command = (
    CreateMarket
    | AddRunners
    | PlaceOrder
    | CancelOrder
    | CancelAll
    | ReplaceOrder
    | SetMarketState
    | AwaitLiveMarket
    | GoLiveMarket
    | CloseMarket
    | VoidMarket
    | SettleMarket
    | VoidTrades
    | SetAccountLimit
    | ReduceOrder
    | CreateAccount
    | IssueKey
    | RevokeKey
    | RemoveRunner  # runner removal
)

ADMIN_COMMANDS: tuple[type, ...] = (
    CreateMarket,
    AddRunners,
    SetMarketState,
    AwaitLiveMarket,
    GoLiveMarket,
    CloseMarket,
    VoidMarket,
    SettleMarket,
    VoidTrades,
    SetAccountLimit,
    CreateAccount,
    IssueKey,
    RevokeKey,
    RemoveRunner,  # runner removal
)
