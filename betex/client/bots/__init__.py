"""Trading bots: seeded, deterministic strategies that turn book views and replies into commands."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .base import Bot, reply_error
from .book import BINARY, ODDS, BookView, MarketSpec, PriceModel, RunnerBook, model_for
from .informed import InformedTrader
from .market_maker import MarketMaker
from .noise import NoiseTrader
from .orders import (
    BotStats,
    Cancel,
    CancelAll,
    Command,
    Exposure,
    Place,
    Replace,
    account_of,
    correlation_id,
    seq_of,
    to_wire,
)

ACCOUNT_BASE = {"mm": 1000, "noise": 2000, "informed": 3000}
"""Bot i of a kind trades as account `ACCOUNT_BASE[kind] + i + 1`."""


def make_priors(runner_ids: tuple[int, ...], seed: int, binary: bool = False) -> dict[int, float]:
    """Shared prior win probabilities for a run: summing to 1 over runners (odds), or one in 0.3..0.7."""
    rng = random.Random(f"priors:{seed}")
    if binary or len(runner_ids) == 1:
        return {r: round(rng.uniform(0.3, 0.7), 4) for r in runner_ids}
    weights = [rng.uniform(0.5, 1.5) for _ in runner_ids]
    total = sum(weights)
    return {r: w / total for r, w in zip(runner_ids, weights, strict=True)}


def make_bots(
    market: MarketSpec,
    *,
    mm: int = 0,
    noise: int = 0,
    informed: int = 0,
    seed: int = 1,
    acks: bool = True,
    accounts: Sequence[int] | None = None,
) -> list[Bot]:
    """The bots of a run, in a fixed order (makers, noise, informed) with fixed account ids:
    `ACCOUNT_BASE[kind] + i + 1`, or, given `accounts` (one per bot, in that order: the
    accounts the server created for them in `--auth keys` mode), those."""
    kinds: list[tuple[type[Bot], str, int]] = [(MarketMaker, "mm", i) for i in range(mm)]
    kinds += [(NoiseTrader, "noise", i) for i in range(noise)]
    kinds += [(InformedTrader, "informed", i) for i in range(informed)]
    if accounts is not None and len(accounts) != len(kinds):
        raise ValueError(f"{len(accounts)} accounts for {len(kinds)} bots")
    bots: list[Bot] = []
    for n, (cls, kind, i) in enumerate(kinds):
        account = ACCOUNT_BASE[kind] + i + 1 if accounts is None else accounts[n]
        bots.append(cls(account, market, seed, acks=acks))
    return bots


def bot_names(mm: int = 0, noise: int = 0, informed: int = 0) -> list[str]:
    """Labels of the bots `make_bots` makes, in its order (account names in keys mode)."""
    return [
        f"{kind}-{i + 1}"
        for kind, n in (("mm", mm), ("noise", noise), ("informed", informed))
        for i in range(n)
    ]


__all__ = [
    "ACCOUNT_BASE",
    "BINARY",
    "ODDS",
    "Bot",
    "BookView",
    "BotStats",
    "Cancel",
    "CancelAll",
    "Command",
    "Exposure",
    "InformedTrader",
    "MarketMaker",
    "MarketSpec",
    "NoiseTrader",
    "Place",
    "PriceModel",
    "Replace",
    "RunnerBook",
    "account_of",
    "bot_names",
    "correlation_id",
    "make_bots",
    "make_priors",
    "model_for",
    "reply_error",
    "seq_of",
    "to_wire",
]
