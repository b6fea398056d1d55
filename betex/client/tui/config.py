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
    account_id: int = 1
    """The account manual orders are placed (and cancelled) as."""
    seed: int = 1
    token: str | None = None
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
