"""`betex snapshot`: a market snapshot (offline from the WAL or from a server), and engine
snapshots (`save`, `list`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from betex.cli.common import EXIT_ERROR, JsonOption, default_data_dir, fail
from betex.cli.replay import progress_bar
from betex.cli.wal import print_json
from betex.core.errors import UsageError
from betex.core.ops import tools

MAX_DEPTH = 350

DataDirArg = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory holding wal/ (default: $BETEX_DATA_DIR or ./betex-data).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Print a market snapshot (offline from the WAL, or from a server); save and list engine snapshots.",
        invoke_without_command=True,
        no_args_is_help=False,
    )
    app.add_typer(group, name="snapshot")

    @group.callback()
    def _market(
        ctx: typer.Context,
        data_dir: DataDirArg = None,
        url: Annotated[
            str | None, typer.Option("--url", help="Fetch GET /snapshot from this server instead.")
        ] = None,
        market_id: Annotated[
            int | None, typer.Option("--market-id", min=1, help="Market (default: the lowest id).")
        ] = None,
        depth: Annotated[
            int, typer.Option("--depth", min=1, max=MAX_DEPTH, help="Ladder levels per side.")
        ] = 10,
        json_out: JsonOption = False,
    ) -> None:
        """Print a market snapshot, rendered like the server's SNAPSHOT message.

        Offline (the default) the projection is rebuilt from projection.snap plus the WAL tail, or from the whole WAL, and the snapshot is the body GET /snapshot would return at the WAL's last seq; this works while a server runs. With --url the snapshot is fetched from a running server (exit 5 when it is unreachable).
        """
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

    @group.command("save")
    def _save(
        ctx: typer.Context,
        data_dir: DataDirArg = None,
        to_seq: Annotated[
            int | None, typer.Option("--to", min=1, help="Snapshot at this seq (default: the last).")
        ] = None,
        json_out: JsonOption = False,
    ) -> None:
        """Rebuild the engine from the WAL and write an engine snapshot into snapshots/.

        Safe while a server runs: the file is written atomically (temp file, fsync, rename) under a name carrying its seq and CRC32, and is exactly what the server would write at that seq. The next recovery starts from the newest valid snapshot.
        """
        with progress_bar("rebuilding", not json_out) as progress:
            saved = tools.save_engine_snapshot(data_dir or ctx.obj or default_data_dir(), to_seq, progress)
        if json_out:
            return print_json(saved.to_dict())
        print(f"saved {saved.path} (seq {saved.seq}, {saved.size} bytes, state hash {saved.state_hash})")

    @group.command("list")
    def _list(ctx: typer.Context, data_dir: DataDirArg = None, json_out: JsonOption = False) -> None:
        """List engine snapshots (seq, size, path), oldest first."""
        infos = tools.list_engine_snapshots(data_dir or ctx.obj or default_data_dir())
        if json_out:
            return print_json([tools.snapshot_info_dict(i) for i in infos])
        if not infos:
            print("no engine snapshots")
        for info in infos:
            print(f"{info.seq:>12}  {info.size:>12} bytes  {info.path}")


def _fetch(url: str, market_id: int | None, depth: int) -> Any:
    """GET /snapshot; `ServerUnreachable` (exit 5) and `HttpError` (exit 1) rise to the CLI."""
    from betex.client.http import BetexHttp

    async def get() -> Any:
        async with BetexHttp(url, timeout=10.0) as http:
            return await http.get("/snapshot", market_id=market_id, depth=depth)

    return asyncio.run(get())


def _levels(levels: list[dict[str, Any]]) -> str:
    return "  ".join(f"{lv['price']}@{lv['size']}" for lv in levels) or "-"


def _render(body: dict[str, Any]) -> None:
    console = Console(soft_wrap=False)
    console.print(
        f"[bold]market {body['market_id']}[/] {body['name']} — {body['market_model']} {body.get('book_type') or ''} "
        f"{body['market_state']}/{body['market_phase']}  seq {body['seq']}  matched {body['total_matched']}",
        highlight=False,
        soft_wrap=True,
    )
    book = body["book"]
    if book["kind"] == "BINARY":
        data = book["data"]
        console.print(
            f"bids  {_levels(data.get('bids', []))}\nasks  {_levels(data.get('asks', []))}", highlight=False
        )
        return
    ladders = {r["runner_id"]: r for r in book["data"].get("runners", [])}
    table = Table(
        "runner", "label", "last", "volume", "to back (best first)", "to lay (best first)", box=None
    )
    for r in body["runners"]:
        ladder = ladders.get(r["runner_id"], {})
        table.add_row(
            str(r["runner_id"]),
            r["label"],
            str(r["last_traded_price"] or "-"),
            str(r["traded_volume"]),
            _levels(ladder.get("available_to_back", [])),
            _levels(ladder.get("available_to_lay", [])),
        )
    console.print(table)
