"""A thin driver over a real Engine for readable tests: wire-ish numbers in, results out."""

from __future__ import annotations

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine, EngineConfig
from betex.core.domain.events import Event
from betex.core.domain.results import Reject, Result

SEC = 1_000_000_000


class Harness:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.engine = Engine(config)
        self.events: list[Event] = []
        self.ts = 1_700_000_000 * SEC

    def run(self, cmd: object) -> Result:
        self.engine.begin_batch(self.ts)
        result = self.engine.execute(cmd)
        self.events.extend(self.engine.end_batch(1))
        return result

    def tick(self, seconds: float) -> None:
        self.ts += int(seconds * SEC)

    def market(
        self,
        book_type: str | None = "MULTI_RUNNER",
        runners: tuple[int, ...] = (1, 2, 3),
        model: str = "EXCHANGE_ODDS",
        kind: str = "IN_PLAY_CAPABLE",
    ) -> int:
        r = self.run(C.CreateMarket("m", model, book_type, kind, "OPEN", "PRE", runners, ()))
        assert not isinstance(r, Reject), r
        return r.market_id  # type: ignore[union-attr]

    def binary(self) -> int:
        return self.market(None, (1,), "BINARY_YES")

    def place(
        self,
        market: int,
        runner: int,
        side: str,
        odds: float | int,
        stake: float | int,
        account: int,
        **kw: object,
    ) -> Result:
        """Odds as decimals (2.5) or bps for binary (int > 100); stake in currency (10.0) or shares."""
        m = self.engine.markets[market]
        price = int(odds) if m.is_binary else round(odds * 100)
        size = int(stake) if m.is_binary else round(stake * 100)
        return self.run(C.PlaceOrder(market, runner, side, price, size, account, **kw))  # type: ignore[arg-type]

    def replay_hash(self) -> str:
        fresh = Engine(self.engine.config)
        for ev in self.events:
            fresh.apply(ev)
        return fresh.state_hash()

    def trades(self, market: int) -> list:  # type: ignore[type-arg]
        return list(self.engine.markets[market].trades.values())

    def pnl(self, market: int, winner: int) -> dict[int, int]:
        """P&L per account if `winner` wins, from the legs of non-voided trades."""
        m = self.engine.markets[market]
        out: dict[int, int] = {}
        for tid, t in m.trades.items():
            if tid in m.voided_trades:
                continue
            for leg in t.legs:
                out[leg.account_id] = out.get(leg.account_id, 0) + (
                    leg.win if leg.runner_id == winner else -leg.lose
                )
        return out
