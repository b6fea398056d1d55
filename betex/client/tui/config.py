"""Settings of one `betex tui` run (what the CLI flags map to)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TUI_URL = "ws://127.0.0.1:3000/ws_ctl?depth=10"
BOT_KINDS: tuple[str, ...] = ("mm", "noise", "informed")


def split_bots(total: int) -> dict[str, int]:
    """`--bots N`: N bots dealt round-robin over market makers, noise and informed traders."""
    counts = dict.fromkeys(BOT_KINDS, 0)
    for i in range(max(0, total)):
        counts[BOT_KINDS[i % len(BOT_KINDS)]] += 1
    return counts


@dataclass(frozen=True, slots=True)
class TuiConfig:
    url: str = DEFAULT_TUI_URL
    no_ack: bool = False
    high_throughput: bool = False
    mm_bots: int = 2
    noise_bots: int = 2
    informed_bots: int = 1
    autostart_bots: bool = False
    """Start the bots as soon as a market is selected (set when a bot count flag is given)."""
    account_id: int | None = None
    """The account manual orders are placed (and cancelled) as; None: the API key's account
    (the server says which at connect), or 1 without a key."""
    seed: int = 1
    token: str | None = None
    key: str | None = None
    """An API key (`serve --auth keys`); manual orders then trade as its account."""
    poll_interval: float = 0.5
    """Seconds between polls of /metrics, /markets, /trades and /orders."""
    rate_window: float = 5.0
    """Sliding window (seconds) for events/s and commands/s."""
    connect_timeout: float = 2.0

    @property
    def bot_rate(self) -> float:
        """Bot commands per second (all bots together)."""
        return 5000.0 if self.high_throughput else 200.0

    @property
    def bot_queue_size(self) -> int:
        """Bound of the droppable bot command channel."""
        return 8192 if self.high_throughput else 512

    @property
    def bot_counts(self) -> dict[str, int]:
        return {"mm": self.mm_bots, "noise": self.noise_bots, "informed": self.informed_bots}


def config_from_flags(
    url: str = DEFAULT_TUI_URL,
    *,
    no_ack: bool = False,
    high_throughput: bool = False,
    bots: int | None = None,
    mm_bots: int | None = None,
    noise_bots: int | None = None,
    informed_bots: int | None = None,
    account_id: int | None = None,
    seed: int = 1,
    token: str | None = None,
    key: str | None = None,
) -> TuiConfig:
    """The CLI's flags as a config: `--bots N` deals N bots over the kinds, a per-kind flag
    overrides its share, and giving any bot count starts the bots once a market is selected."""
    counts = split_bots(bots) if bots is not None else {"mm": 2, "noise": 2, "informed": 1}
    for kind, n in (("mm", mm_bots), ("noise", noise_bots), ("informed", informed_bots)):
        if n is not None:
            counts[kind] = n
    explicit = any(v is not None for v in (bots, mm_bots, noise_bots, informed_bots))
    return TuiConfig(
        url=url,
        no_ack=no_ack,
        high_throughput=high_throughput,
        mm_bots=counts["mm"],
        noise_bots=counts["noise"],
        informed_bots=counts["informed"],
        autostart_bots=explicit and sum(counts.values()) > 0,
        account_id=account_id,
        seed=seed,
        token=token,
        key=key,
    )
