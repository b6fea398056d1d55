"""`betex snapshot`: a market snapshot (offline from the WAL or from a server), and engine
snapshots (`save`, `list`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from betex.cli.common import EXIT_ERROR, JsonOption, default_data_dir, fail
from betex.cli.examples import epilog
from betex.cli.replay import progress_bar
from betex.cli.wal import print_json
from betex.core.errors import UsageError

MAX_DEPTH = 350

DataDirArg = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Data directory holding wal/ (default: $BETEX_DATA_DIR or ./betex-data).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Print a market snapshot (offline from the WAL, or from a server); save and list engine snapshots.",
        invoke_without_command=True,
        no_args_is_help=False,
        rich_markup_mode=None,
        epilog=epilog("snapshot"),
    )
    app.add_typer(group, name="snapshot")

    @group.callback()
    def _market(
        ctx: typer.Context,
        data_dir: DataDirArg = None,
        url: Annotated[
            str | None,
            typer.Option("--url", metavar="URL", help="Fetch GET /snapshot from this server instead."),
        ] = None,
        market_id: Annotated[
            int | None,
            typer.Option("--market-id", min=1, metavar="ID", help="Market (default: the lowest id)."),
        ] = None,
        depth: Annotated[
            int, typer.Option("--depth", min=1, max=MAX_DEPTH, metavar="N", help="Ladder levels per side.")
        ] = 10,
        json_out: JsonOption = False,
    ) -> None:
        """Print a market snapshot, rendered like the server's SNAPSHOT message.

        Offline (the default) the projection is rebuilt from projection.snap plus the WAL tail, or from the whole WAL, and the snapshot is the body GET /snapshot would return at the WAL's last seq; this works while a server runs. With --url the snapshot is fetched from a running server (exit 5 when it is unreachable).

        The table prints odds and money as the TUI does (2.10, 59.46), binary markets in bps and whole shares; --json prints the body exactly as the server serves it.
        """
        from betex.core.ops import tools

        ctx.obj = data_dir
        if ctx.invoked_subcommand is not None:
            return
        if url is not None and data_dir is not None:
            raise UsageError("--url and --data-dir are exclusive")
        if url is not None:
            body = _fetch(url, market_id, depth)
        else:
            body = tools.market_snapshot(data_dir or default_data_dir(), market_id, depth)
            if body is None:
                fail(
                    "no markets in the WAL" if market_id is None else f"unknown market {market_id}",
                    EXIT_ERROR,
                )
        if json_out:
            return print_json(body)
        _render(body)

    @group.command("save", epilog=epilog("snapshot save"))
    def _save(
        ctx: typer.Context,
        data_dir: DataDirArg = None,
        to_seq: Annotated[
            int | None,
            typer.Option("--to", min=1, metavar="SEQ", help="Snapshot at this seq (default: the last)."),
        ] = None,
        json_out: JsonOption = False,
    ) -> None:
        """Rebuild the engine from the WAL and write an engine snapshot into snapshots/.

        Safe while a server runs: the file is written atomically (temp file, fsync, rename) under a name carrying its seq and CRC32, and is exactly what the server would write at that seq. The next recovery starts from the newest valid snapshot.
        """
        from betex.core.ops import tools

        with progress_bar("rebuilding", not json_out) as progress:
            saved = tools.save_engine_snapshot(data_dir or ctx.obj or default_data_dir(), to_seq, progress)
        if json_out:
            return print_json(saved.to_dict())
        print(f"saved {saved.path} (seq {saved.seq}, {saved.size} bytes, state hash {saved.state_hash})")

    @group.command("list", epilog=epilog("snapshot list"))
    def _list(ctx: typer.Context, data_dir: DataDirArg = None, json_out: JsonOption = False) -> None:
        """List engine snapshots (seq, size, path), oldest first.

        Like every offline command, a data dir without a WAL is an error (exit 1), not an empty list.
        """
        from betex.core.ops import tools

        root = data_dir or ctx.obj or default_data_dir()
        tools.require_wal(root)
        infos = tools.list_engine_snapshots(root)
        if json_out:
            return print_json([tools.snapshot_info_dict(i) for i in infos])
        if not infos:
            print("no engine snapshots")
        for info in infos:
            print(f"{info.seq:>12}  {info.size:>12} bytes  {info.path}")


def _fetch(url: str, market_id: int | None, depth: int) -> Any:
    """GET /snapshot; `ServerUnreachable` (exit 5) and `HttpError` (exit 1) rise to the CLI."""
    import asyncio

    from betex.client.http import BetexHttp

    async def get() -> Any:
        async with BetexHttp(url, timeout=10.0) as http:
            return await http.get("/snapshot", market_id=market_id, depth=depth)

    return asyncio.run(get())


def _price(price: float | None, binary: bool) -> str:
    """As the TUI shows it (imported here, not at start-up: `betex.client` loads aiohttp)."""
    from betex.client.ladder import fmt_price

    return fmt_price(price, binary)


def _amount(value: float, binary: bool) -> str:
    """Money with two decimals (59.46); binary sizes are whole shares."""
    return f"{int(value):,}" if binary else f"{value:,.2f}"


def _levels(levels: list[dict[str, Any]], binary: bool = False) -> str:
    return "  ".join(f"{_price(lv['price'], binary)}@{_amount(lv['size'], binary)}" for lv in levels) or "-"


def _render(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    binary = body["market_model"] == "BINARY_YES"
    console.print(
        f"[bold]market {body['market_id']}[/] {body['name']} — {body['market_model']} {body.get('book_type') or ''} "
        f"{body['market_state']}/{body['market_phase']}  seq {body['seq']}  "
        f"matched {_amount(body['total_matched'], binary)}",
        highlight=False,
        soft_wrap=True,
    )
    book = body["book"]
    if book["kind"] == "BINARY":
        data = book["data"]
        console.print(
            f"bids (bps@shares)  {_levels(data.get('bids', []), True)}\n"
            f"asks (bps@shares)  {_levels(data.get('asks', []), True)}",
            highlight=False,
        )
        return
    ladders = {r["runner_id"]: r for r in book["data"].get("runners", [])}
    table = Table(
        "runner", "label", "last", "volume", "to back (best first)", "to lay (best first)", box=None
    )
    for r in body["runners"]:
        ladder = ladders.get(r["runner_id"], {})
        removed = r.get("status") == "REMOVED"  # a non-runner: its factor instead of a ladder
        table.add_row(
            str(r["runner_id"]),
            f"{r['label']} (REMOVED {r.get('reduction_factor', 0):g}%)" if removed else r["label"],
            _price(r["last_traded_price"], binary),
            _amount(r["traded_volume"], binary),
            _levels(ladder.get("available_to_back", [])),
            _levels(ladder.get("available_to_lay", [])),
        )
    console.print(table)
