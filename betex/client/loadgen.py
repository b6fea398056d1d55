"""`betex bots` as a library call: connect, pick or create a market, run bots, summarise.

The CLI only parses flags, renders progress and prints the `LoadSummary`; tests and recipes can
call `run_load()` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from betex.core.errors import UsageError

from .bots import Bot, MarketSpec, bot_names, make_bots, make_priors
from .bots.keys import close_all, connect_keyed, issue_bot_keys
from .bots.runner import BotRunner, parse_risk
from .connection import BetexClient
from .errors import ClientError
from .http import BetexHttp
from .latency import LatencySummary
from .presets import PRESETS
from .urls import DEFAULT_URL


@dataclass(slots=True)
class LoadConfig:
    url: str = DEFAULT_URL
    market_id: int | None = None
    create: str | None = None
    """A preset name (soccer, tennis, binary); with neither this nor market_id the lowest
    existing market is used, or a soccer market is created if there is none."""
    mm_bots: int = 2
    noise_bots: int = 2
    informed_bots: int = 1
    duration: float = 10.0
    rate: float = 1000.0
    no_ack: bool = False
    seed: int = 1
    depth: int = 10
    steps: int | None = None
    """Lock-step mode: this many reproducible rounds instead of a timed open-loop run."""
    token: str | None = None
    """The admin token: market creation, and in `--auth keys` mode an account and a key per bot."""
    keys: tuple[str, ...] = ()
    """API keys, one per bot in `make_bots` order: each bot trades as its key's account."""
    connect_timeout: float = 2.0


@dataclass(slots=True)
class LoadSummary:
    market_id: int
    market_model: str
    no_ack: bool
    rate_target: float
    duration_s: float
    commands_sent: int
    acked: int
    rejected: dict[str, int]
    trades: int
    volume: float
    ack_latency: LatencySummary
    lost: int = 0
    send_errors: int = 0
    reconnects: int = 0
    server: dict[str, Any] = field(default_factory=dict)
    """Deltas from `/metrics` over the run (the only source of counts with no_ack)."""
    bots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def commands_per_s(self) -> float:
        return self.commands_sent / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        lat = self.ack_latency
        return {
            "commands_sent": self.commands_sent,
            "acked": self.acked,
            "rejected": self.rejected,
            "trades": self.trades,
            "volume": round(self.volume, 2),
            "commands_per_s": round(self.commands_per_s, 1),
            "ack_latency_ms": {
                "p50": lat.p50,
                "p99": lat.p99,
                "p999": lat.p999,
                "max": lat.max,
                "count": lat.count,
            },
            "duration_s": round(self.duration_s, 3),
            "market_id": self.market_id,
            "market_model": self.market_model,
            "no_ack": self.no_ack,
            "rate_target": self.rate_target,
            "lost": self.lost,
            "send_errors": self.send_errors,
            "reconnects": self.reconnects,
            "server": self.server,
            "bots": self.bots,
        }


async def resolve_market(client: BetexClient, http: BetexHttp, cfg: LoadConfig) -> int:
    """The market to trade: --market-id, a fresh --create preset, the lowest existing, or new soccer."""
    if cfg.create is not None:
        if cfg.create not in PRESETS:
            raise UsageError(f"unknown preset {cfg.create!r} (choose from {', '.join(PRESETS)})")
        return await client.create_market(cfg.create)
    if cfg.market_id is not None:
        return cfg.market_id
    markets = await client.list_markets()
    open_ids = sorted(mi.market_id for mi in markets if mi.market_state == "OPEN")
    if open_ids:
        return open_ids[0]
    return await client.create_market("soccer")


async def run_load(
    cfg: LoadConfig,
    *,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    progress_interval: float = 0.5,
) -> LoadSummary:
    """Run bots as configured; `stop` ends the run early (the summary still covers it).

    Raises ServerUnreachable when the server cannot be reached, CommandFailed when it refuses
    the market creation, and ValueError for a bad configuration.
    """
    if cfg.mm_bots + cfg.noise_bots + cfg.informed_bots <= 0:
        raise UsageError("at least one bot is needed (--mm-bots/--noise-bots/--informed-bots)")
    if cfg.steps is not None and cfg.no_ack:
        raise UsageError("lock-step mode (--steps) needs acks; drop --no-ack")
    n_bots = cfg.mm_bots + cfg.noise_bots + cfg.informed_bots
    if cfg.keys and len(cfg.keys) != n_bots:
        raise UsageError(
            f"{len(cfg.keys)} key(s) for {n_bots} bot(s): give one --key per bot, "
            "or --admin-token alone to have a key issued to each"
        )
    first_key = cfg.keys[0] if cfg.keys and cfg.token is None else None
    async with BetexHttp(cfg.url, token=cfg.token, key=first_key) as http:
        keyed = bool(cfg.keys) or await _auth_mode(http) == "keys"
        if keyed and not cfg.keys and cfg.token is None:
            raise UsageError(
                "the server runs --auth keys: give one --key per bot, or --admin-token to have "
                "an account and a key issued to each bot"
            )
        admin = BetexClient(cfg.url, token=cfg.token, key=first_key, reconnect=False)
        await admin.connect(cfg.connect_timeout)
        try:
            market_id = await resolve_market(admin, http, cfg)
            keys = list(cfg.keys)
            if keyed and not keys:
                names = bot_names(cfg.mm_bots, cfg.noise_bots, cfg.informed_bots)
                keys = [key for _, key in await issue_bot_keys(admin, [f"bot {n}" for n in names])]
        finally:
            await admin.close()
        bot_clients = await connect_keyed(cfg.url, keys, no_ack=cfg.no_ack, timeout=cfg.connect_timeout)
        client: BetexClient | None = None
        runner: BotRunner | None = None
        try:
            snap = await http.snapshot(market_id, cfg.depth)
            spec = MarketSpec.from_snapshot(
                snap, make_priors(snap.runner_ids, cfg.seed, binary=snap.market_model == "BINARY_YES")
            )
            bots = make_bots(
                spec,
                mm=cfg.mm_bots,
                noise=cfg.noise_bots,
                informed=cfg.informed_bots,
                seed=cfg.seed,
                acks=not cfg.no_ack,
                accounts=list(bot_clients) if keyed else None,
            )
            client = BetexClient(
                cfg.url,
                market_id=market_id,
                depth=cfg.depth,
                no_ack=cfg.no_ack,
                token=cfg.token,
                key=first_key,
            )
            await client.connect(cfg.connect_timeout)
            with contextlib.suppress(TimeoutError):
                await client.wait_snapshot(market_id, timeout=2.0)
            if market_id not in client.snapshots:
                client.snapshots[market_id] = snap
            before = await _server_counts(http, market_id)
            risk = _risk_reader(cfg, http, market_id, dict(zip(bot_clients, keys, strict=True)))
            runner = BotRunner(client, spec, bots, rate=cfg.rate, http=http, clients=bot_clients, risk=risk)
            await _drive(runner, cfg, http, stop, on_progress, progress_interval)
            if cfg.no_ack:
                await _settle_no_ack(http)
            after = await _server_counts(http, market_id)
            await _fetch_risk(risk, bots)
            return _summarise(cfg, runner, spec, snap.market_model, client, before, after)
        finally:
            if runner is not None:
                runner.detach()
            if client is not None:
                await client.close()
            await close_all(bot_clients.values())


async def _auth_mode(http: BetexHttp) -> str:
    """The server's `--auth` mode as `/metrics` reports it (`open` if it does not say)."""
    limits = (await _metrics(http)).get("limits")
    return str(limits.get("auth", "open")) if isinstance(limits, dict) else "open"


def _risk_reader(
    cfg: LoadConfig, http: BetexHttp, market_id: int, keys: dict[int, str]
) -> Callable[[], Awaitable[Any]]:
    """How to read the bots' `/risk`: in one request where the credential reads every account
    (open mode, or the admin token); else one request per bot, each with its own key (a key
    reads only its account)."""

    async def shared() -> Any:
        return await http.risk(market_id=market_id)

    async def per_key() -> Any:
        rows: list[Any] = []
        for key in keys.values():
            async with BetexHttp(cfg.url, key=key) as own:
                rows.extend(await own.risk(market_id=market_id))
        return rows

    return shared if cfg.token is not None or not keys else per_key


async def _drive(
    runner: BotRunner,
    cfg: LoadConfig,
    http: BetexHttp,
    stop: asyncio.Event | None,
    on_progress: Callable[[dict[str, Any]], None] | None,
    interval: float,
) -> None:
    loop = asyncio.get_running_loop()

    async def watch_stop() -> None:
        if stop is not None:
            await stop.wait()
            runner.stop()

    async def report() -> None:
        if on_progress is None:
            return
        while True:
            await asyncio.sleep(interval)
            on_progress(runner.progress())

    helpers = [loop.create_task(watch_stop()), loop.create_task(report())]
    try:
        if cfg.steps is not None:
            await runner.run_lockstep(cfg.steps, http, cfg.depth)
        else:
            await runner.run(cfg.duration)
    finally:
        for t in helpers:
            t.cancel()
        for t in helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if on_progress is not None:
            on_progress(runner.progress())


async def _get_dict(http: BetexHttp, path: str, **params: Any) -> dict[str, Any]:
    try:
        data = await http.get(path, **params)
    except (ClientError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


async def _metrics(http: BetexHttp) -> dict[str, Any]:
    return await _get_dict(http, "/metrics")


async def _server_counts(http: BetexHttp, market_id: int) -> dict[str, Any]:
    """Server-side counters the summary diffs: /metrics, the trade table size, market volume."""
    out = await _metrics(http)
    out["trades_total"] = (await _get_dict(http, "/debug/live_counts")).get("trades")
    out["total_matched"] = (await _get_dict(http, "/snapshot", market_id=market_id, depth=1)).get(
        "total_matched"
    )
    return out


async def _settle_no_ack(http: BetexHttp, timeout: float = 5.0) -> None:
    """With no_ack nothing tells us when the server has processed our commands: wait until its
    command counter stops moving (bounded), so the /metrics deltas cover the whole run."""
    last = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        cur = (await _metrics(http)).get("commands_total")
        if cur is not None and cur == last:
            return
        last = cur
        await asyncio.sleep(0.1)


async def _fetch_risk(read: Callable[[], Awaitable[Any]], bots: list[Bot]) -> None:
    try:
        risk = parse_risk(await read())
    except (ClientError, ValueError, KeyError, TypeError):
        return
    for b in bots:
        b.stats.risk = risk.get(b.account_id)


def _num(d: dict[str, Any], key: str) -> int:
    v = d.get(key)
    return int(v) if isinstance(v, int | float) else 0


def _float(d: dict[str, Any], key: str) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) else 0.0


def _rejects(d: dict[str, Any]) -> Counter[str]:
    v = d.get("rejects_total")
    if isinstance(v, dict):
        return Counter({str(k): int(n) for k, n in v.items() if isinstance(n, int | float)})
    return Counter()


def _summarise(
    cfg: LoadConfig,
    runner: BotRunner,
    spec: MarketSpec,
    model: str,
    client: BetexClient,
    before: dict[str, Any],
    after: dict[str, Any],
) -> LoadSummary:
    totals = runner.totals()
    server_rejects = _rejects(after) - _rejects(before)
    s_commands = _num(after, "commands_total") - _num(before, "commands_total")
    s_rejected = dict(sorted(server_rejects.items()))
    s_trades = _num(after, "trades_total") - _num(before, "trades_total")
    s_volume = round(_float(after, "total_matched") - _float(before, "total_matched"), 2)
    server = {
        "commands": s_commands,
        "events": _num(after, "events_total") - _num(before, "events_total"),
        "rejected": s_rejected,
        "trades": s_trades,
        "market_volume": s_volume,
    }
    acked: int = totals["acked"]
    rejected: dict[str, int] = totals["rejected"]
    trades: int = totals["trades"]
    volume: float = totals["volume"]
    if cfg.no_ack:
        # no replies: the server's counters (server-wide while we ran) are the only account
        rejected = s_rejected
        acked = max(0, min(runner.sent, s_commands) - sum(s_rejected.values()))
        trades, volume = s_trades, s_volume
    return LoadSummary(
        market_id=spec.market_id,
        market_model=model,
        no_ack=cfg.no_ack,
        rate_target=cfg.rate,
        duration_s=runner.elapsed,
        commands_sent=runner.sent,
        acked=acked,
        rejected=rejected,
        trades=trades,
        volume=volume,
        ack_latency=runner.latency.summary(),
        lost=runner.lost,
        send_errors=runner.send_errors,
        reconnects=client.status.reconnects + sum(c.status.reconnects for c in runner.clients.values()),
        server=server,
        bots=[b.describe() for b in runner.bots],
    )
