"""`betex bots`: headless load and behaviour generator (logic in `betex.client.loadgen`)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer

from betex.cli.common import EXIT_UNREACHABLE, JsonOption, fail
from betex.cli.examples import epilog
from betex.core.errors import UsageError


class Preset(StrEnum):
    soccer = "soccer"
    tennis = "tennis"
    binary = "binary"


def register(app: typer.Typer) -> None:
    @app.command("bots", epilog=epilog("bots"))
    def _cmd(
        url: Annotated[
            str, typer.Option("--url", metavar="URL", help="Server URL (ws:// or http://).")
        ] = "ws://127.0.0.1:3000",
        market_id: Annotated[
            int | None,
            typer.Option(
                "--market-id", min=1, metavar="ID", help="Trade this market (it must be OPEN or SUSPENDED)."
            ),
        ] = None,
        create: Annotated[
            Preset | None,
            typer.Option(
                "--create",
                metavar="PRESET",
                help="Create a market from a preset first: soccer (Home/Draw/Away, CROSS_MATCHED), tennis (TWO_RUNNER) or binary.",
            ),
        ] = None,
        mm_bots: Annotated[int, typer.Option("--mm-bots", min=0, metavar="N", help="Market makers.")] = 2,
        noise_bots: Annotated[
            int, typer.Option("--noise-bots", min=0, metavar="N", help="Noise traders.")
        ] = 2,
        informed_bots: Annotated[
            int, typer.Option("--informed-bots", min=0, metavar="N", help="Informed traders.")
        ] = 1,
        duration: Annotated[
            float, typer.Option("--duration", min=0.0, metavar="SECONDS", help="Seconds to run.")
        ] = 10.0,
        rate: Annotated[
            float,
            typer.Option(
                "--rate",
                min=0.0,
                metavar="PER_S",
                help="Open-loop target commands/s (0 = as fast as possible).",
            ),
        ] = 1000.0,
        no_ack: Annotated[
            bool, typer.Option("--no-ack", help="Fire-and-forget (no per-command replies).")
        ] = False,
        seed: Annotated[
            int, typer.Option("--seed", metavar="N", help="Seed for every bot's random choices.")
        ] = 1,
        depth: Annotated[
            int, typer.Option("--depth", min=1, max=350, metavar="N", help="Ladder levels per snapshot.")
        ] = 10,
        steps: Annotated[
            int | None,
            typer.Option(
                "--steps", min=1, metavar="N", help="Lock-step mode: N reproducible rounds (acks on)."
            ),
        ] = None,
        token: Annotated[
            str | None,
            typer.Option(
                "--admin-token",
                "--token",
                envvar="BETEX_ADMIN_TOKEN",
                metavar="TOKEN",
                help="Admin token: for --create, and on an --auth keys server to create an account and issue a key per bot.",
            ),
        ] = None,
        keys: Annotated[
            list[str] | None,
            typer.Option(
                "--key",
                envvar="BETEX_KEY",
                metavar="KEY",
                help="API key, one per bot (repeat; env BETEX_KEY holds them space-separated): each bot trades as its key's account.",
            ),
        ] = None,
        json_out: JsonOption = False,
    ) -> None:
        """Run trading bots against a server; print throughput and ack latency (open loop).

        The market is --market-id, a new one from --create, or else the lowest OPEN market (a soccer market is created when there is none). A --market-id that does not exist, or is CLOSED, SETTLED or VOIDED, is an error (exit 1) before any bot starts: such a market takes no orders.

        Against serve --auth keys every bot trades on its own connection as its own account: give one --key per bot (makers first, then noise, then informed), or --admin-token alone and each bot gets a new account and key (CREATE_ACCOUNT, ISSUE_KEY; the keys stay in this process).
        """
        from betex.client.loadgen import LoadConfig

        if market_id is not None and create is not None:
            raise UsageError("--market-id and --create are mutually exclusive")
        if market_id is not None:
            _check_tradable(url, market_id)
        cfg = LoadConfig(
            url=url,
            market_id=market_id,
            create=None if create is None else create.value,
            mm_bots=mm_bots,
            noise_bots=noise_bots,
            informed_bots=informed_bots,
            duration=duration,
            rate=rate,
            no_ack=no_ack,
            seed=seed,
            depth=depth,
            steps=steps,
            token=token,
            keys=tuple(keys or ()),
        )
        summary = _run(cfg, progress=not json_out)
        if json_out:
            print(orjson.dumps(summary.to_json()).decode())
        else:
            _print_summary(summary.to_json())


TRADABLE = ("OPEN", "SUSPENDED")
"""Markets bots can be pointed at (a SUSPENDED one may reopen while they run)."""


def _check_tradable(url: str, market_id: int) -> None:
    """Fail in plain words when `market_id` is missing or can no longer take orders."""
    import asyncio

    from betex.client.errors import HttpError, ServerUnreachable
    from betex.client.http import BetexHttp

    async def state() -> str:
        async with BetexHttp(url, timeout=10.0) as http:
            return (await http.snapshot(market_id, 1)).market_state

    try:
        current = asyncio.run(state())
    except ServerUnreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except HttpError as exc:
        if exc.status == 404:
            fail(f"no market {market_id} on {url} (GET /markets lists them; or use --create)")
        fail(f"cannot read market {market_id}: {exc}")
    if current not in TRADABLE:
        fail(
            f"market {market_id} is {current} and takes no orders; "
            "bots need an OPEN or SUSPENDED market (another --market-id, or --create soccer)"
        )


def _run(cfg: Any, progress: bool) -> Any:
    """The load run; its errors (`ServerUnreachable` → 5, `UsageError` → 2, `ClientError` → 1)
    rise to the CLI's one mapping."""
    import asyncio

    from betex.client.loadgen import run_load

    return asyncio.run(_main(cfg, progress, run_load))


async def _main(cfg: Any, progress: bool, run_load: Any) -> Any:
    """Ctrl-C (SIGINT) or SIGTERM stops the bots; the summary still covers the run."""
    import asyncio
    import contextlib
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if not progress:
        return await run_load(cfg, stop=stop)
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    with Live(console=console, transient=True, refresh_per_second=4) as live:
        return await run_load(cfg, stop=stop, on_progress=lambda p: live.update(_progress_line(p)))


def _progress_line(p: dict[str, Any]) -> str:
    """One line that fits 80 columns: elapsed, counters, current send rate, running ack p99."""
    rej = sum(p["rejected"].values())
    conn = "" if p["connection"] == "CONNECTED" else f" [red]{p['connection'].lower()}[/]"
    return (
        f"{p['elapsed']:5.1f}s sent {p['sent']:,} ack {p['acked']:,} rej {rej:,} trades {p['trades']:,} "
        f"{p['rate']:,.0f}/s p99 {p['p99_ms']:.1f}ms{conn}"
    )


def _print_summary(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    lat = s["ack_latency_ms"]
    mode = "no-ack (fire-and-forget)" if s["no_ack"] else f"acks, open loop at {s['rate_target']:g}/s"
    out = Console(width=None if sys.stdout.isatty() else 160)
    out.print(f"market {s['market_id']} ({s['market_model']}), {mode}, {s['duration_s']:.1f} s")
    out.print(
        f"commands sent {s['commands_sent']:,}  acked {s['acked']:,}  trades {s['trades']:,}  "
        f"volume {s['volume']:,.2f}  throughput {s['commands_per_s']:,.0f} cmd/s"
    )
    rejected = ", ".join(f"{k} {v:,}" for k, v in s["rejected"].items()) or "none"
    out.print(f"rejected: {rejected}")
    if lat["count"]:
        out.print(
            f"ack latency (from scheduled send) p50 {lat['p50']:.3f} ms  p99 {lat['p99']:.3f} ms  "
            f"p99.9 {lat['p999']:.3f} ms  max {lat['max']:.3f} ms  (n={lat['count']:,})"
        )
    if s["lost"] or s["send_errors"] or s["reconnects"]:
        out.print(f"lost {s['lost']:,}  send errors {s['send_errors']:,}  reconnects {s['reconnects']}")
    table = Table("bot", "sent", "acked", "rejected", "trades", "volume", "matched (server)", "worst case")
    for b in s["bots"]:
        risk = b.get("risk") or {}
        table.add_row(
            b["bot"],
            f"{b['sent']:,}",
            f"{b['acked']:,}",
            f"{sum(b['rejected'].values()):,}",
            f"{b['trades']:,}",
            f"{b['volume']:,.2f}",
            _fmt(risk.get("matched_volume")),
            _fmt(risk.get("worst_case")),
        )
    out.print(table)
    sys.stdout.flush()


def _fmt(v: object) -> str:
    return f"{v:,.2f}" if isinstance(v, int | float) else "-"
