"""The library behind `betex market …` and `betex order …`: one protocol exchange per call.

Each function opens one `/ws_ctl` connection (or an HTTP session), sends one command (two for
`go_live`: AWAIT_LIVE_MARKET then GO_LIVE_MARKET), and returns the reply as a plain JSON-able
dict in wire units. A typed reject raises `CommandFailed` (a `Rejected`: the CLI exits 6);
an unreachable server raises `ServerUnreachable` (exit 5). The CLI modules only parse options
and print.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import messages as m
from .connection import BetexClient, CommandFailed
from .http import BetexHttp
from .presets import PRESETS, preset_message

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Target:
    """Where and as whom: the server URL, an account API key, the admin token."""

    url: str
    key: str | None = None
    admin_token: str | None = None


async def _with_client(target: Target, fn: Callable[[BetexClient], Awaitable[T]]) -> T:
    client = BetexClient(
        target.url, token=target.admin_token, key=target.key, reconnect=False, request_timeout=10.0
    )
    await client.connect(timeout=5.0)
    try:
        return await fn(client)
    finally:
        await client.close()


def _account(c: BetexClient, account_id: int | None) -> int:
    """The account an order command names: the one given, else the key's (which the server
    reported at connect), else 1 (open mode's default)."""
    if account_id is not None:
        return account_id
    return c.account_id if c.account_id is not None else 1


def _market_row(reply: m.MarketUpdated) -> dict[str, Any]:
    return {
        "market_id": reply.market_id,
        "market_state": reply.market_state,
        "market_phase": reply.market_phase,
        "version": reply.version,
    }


def _expect(reply: m.Reply | None, kind: type[T]) -> T:
    if isinstance(reply, kind):
        return reply
    raise CommandFailed(reply)


def parse_runner(text: str) -> tuple[int, str]:
    """`1:Home` → (1, "Home"); `1` → (1, "Runner 1"). ValueError otherwise."""
    rid, _, label = text.partition(":")
    if not rid.strip().isdigit():
        raise ValueError(f"a runner is ID[:LABEL], e.g. 1:Home (got {text!r})")
    return int(rid), label.strip() or f"Runner {int(rid)}"


def create_spec(
    preset: str | None,
    name: str | None,
    model: str | None,
    book_type: str | None,
    kind: str | None,
    runners: list[str],
    bet_delay_ms: int | None = None,
) -> dict[str, Any]:
    """The CREATE_MARKET body for `market create`: a preset (the TUI's and bots'), possibly
    renamed, or an explicit model and runners; `bet_delay_ms` adds an in-play bet delay to
    either. ValueError on an incomplete spec."""
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
        if model or book_type or runners:
            raise ValueError("--preset takes only --name (and --kind, --bet-delay-ms)")
        spec = dict(PRESETS[preset])
    else:
        if not (name and model and runners):
            raise ValueError("give --preset, or --name, --model and at least one --runner")
        parsed = [parse_runner(r) for r in runners]
        spec = {
            "name": name,
            "market_model": model,
            "market_kind": "IN_PLAY_CAPABLE",
            "runner_ids": [r for r, _ in parsed],
            "runner_labels": [label for _, label in parsed],
        }
        if book_type:
            spec["book_type"] = book_type
    if name:
        spec["name"] = name
    if kind:
        spec["market_kind"] = kind
    if bet_delay_ms:
        spec["bet_delay_ms"] = bet_delay_ms
    return spec


async def market_create(target: Target, spec: dict[str, Any]) -> dict[str, Any]:
    """CREATE_MARKET; the new market's id, name, state and runners."""

    async def run(c: BetexClient) -> dict[str, Any]:
        reply = _expect(await c.request(preset_message(spec)), m.MarketCreated)
        out: dict[str, Any] = {"market_id": reply.market_id, "name": spec["name"]}
        snap = reply.snapshot
        if snap is not None:
            out.update(
                market_model=snap.market_model,
                market_state=snap.market_state,
                market_phase=snap.market_phase,
                runners=[{"runner_id": r.runner_id, "label": r.label} for r in snap.runners],
            )
        return out

    return await _with_client(target, run)


async def market_list(target: Target) -> list[dict[str, Any]]:
    """Every market (GET /markets) as rows."""
    async with BetexHttp(target.url, token=target.admin_token) as h:
        body = await h.get("/markets")
    return list(body.get("markets", []))


async def market_state(target: Target, market_id: int) -> dict[str, Any]:
    """One market's row from GET /markets (state, phase, version, runners, volume)."""
    for row in await market_list(target):
        if row.get("market_id") == market_id:
            return row
    raise CommandFailed(m.ServerError("INVALID_MARKET", f"unknown market {market_id}"))


async def market_command(target: Target, kind: str, market_id: int, **fields: Any) -> dict[str, Any]:
    """A market admin command (CLOSE_MARKET, VOID_MARKET, SETTLE_MARKET, …): the market after it."""

    async def run(c: BetexClient) -> dict[str, Any]:
        msg = m._msg(kind, market_id=market_id, **fields)  # noqa: SLF001 - the one generic builder
        return _market_row(_expect(await c.request(msg), m.MarketUpdated))

    return await _with_client(target, run)


async def market_go_live(target: Target, market_id: int) -> dict[str, Any]:
    """AWAIT_LIVE_MARKET then GO_LIVE_MARKET (the market is turned in play; LAPSE orders go)."""

    async def run(c: BetexClient) -> dict[str, Any]:
        _expect(await c.await_live(market_id), m.MarketUpdated)
        return _market_row(_expect(await c.go_live(market_id), m.MarketUpdated))

    return await _with_client(target, run)


def _order(reply: m.Reply | None) -> dict[str, Any]:
    r = _expect(reply, m.OrderResponse)
    if r.rejected:
        raise CommandFailed(r)
    out = {k: v for k, v in r._asdict().items() if k not in ("fills", "error", "correlation_id")}
    out["fills"] = [f._asdict() for f in r.fills]
    return out


async def order_place(
    target: Target,
    market_id: int,
    runner_id: int,
    side: str,
    price: float,
    size: float,
    account_id: int | None,
    *,
    persist: bool = False,
    fok: bool = False,
    min_fill: float | None = None,
    client_ref: str | None = None,
) -> dict[str, Any]:
    """PLACE_ORDER; the ORDER_RESPONSE body (status, order_id, sizes, fills)."""

    async def run(c: BetexClient) -> dict[str, Any]:
        return _order(
            await c.place(
                market_id,
                runner_id,
                side,
                price,
                size,
                _account(c, account_id),
                persistence="PERSIST" if persist else None,
                time_in_force="FILL_OR_KILL" if fok else None,
                min_fill_size=min_fill,
                client_ref=client_ref,
            )
        )

    return await _with_client(target, run)


async def order_cancel(
    target: Target, market_id: int, order_id: int, account_id: int | None, reduce: float | None = None
) -> dict[str, Any]:
    """CANCEL_ORDER (all that remains, or `reduce`); the order after the change."""
    return await _with_client(target, lambda c: _cancel(c, market_id, order_id, account_id, reduce))


async def _cancel(
    c: BetexClient, market_id: int, order_id: int, account_id: int | None, reduce: float | None
) -> dict[str, Any]:
    return _order(await c.cancel(market_id, order_id, _account(c, account_id), reduce))


async def order_replace(
    target: Target, market_id: int, order_id: int, account_id: int | None, price: float
) -> dict[str, Any]:
    """REPLACE_ORDER: the remaining size moves to `price` (a new order id)."""

    async def run(c: BetexClient) -> dict[str, Any]:
        return _order(await c.replace(market_id, order_id, _account(c, account_id), price))

    return await _with_client(target, run)


async def order_list(
    target: Target, market_id: int | None, account_id: int | None, status: str | None = None
) -> list[dict[str, Any]]:
    """Every matching order (all pages of GET /orders), newest first."""
    async with BetexHttp(target.url, token=target.key or target.admin_token) as h:
        rows = await h.all_orders(market_id, account_id, status)
    return [dataclasses.asdict(r) for r in rows]


async def risk(target: Target, market_id: int, account_id: int | None) -> list[dict[str, Any]]:
    """GET /risk rows of a market (P&L per outcome, settled P&L once settled)."""
    async with BetexHttp(target.url, token=target.key or target.admin_token) as h:
        rows = await h.risk(market_id, account_id)
    out = []
    for r in rows:
        d = dataclasses.asdict(r)
        d["if_win"] = [{"runner_id": k, "pnl": v} for k, v in r.if_win.items()]
        out.append(d)
    return out
