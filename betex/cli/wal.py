"""`betex wal inspect` and `betex wal backup`: read a WAL offline or beside a running server."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from betex.cli.common import (
    EXIT_WAL_DAMAGED,
    DataDirOption,
    JsonOption,
    default_data_dir,
    fail,
)
from betex.core.domain.events import Event, to_dict, type_name
from betex.core.errors import UsageError
from betex.core.ops import tools

TABLE_LIMIT = 200
"""Rows a table shows without --limit (a table is for reading; use --json to stream everything)."""


def print_json(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Read, check and back up the write-ahead log.", no_args_is_help=True)
    app.add_typer(group, name="wal")

    @group.command("inspect")
    def _inspect(
        data_dir: DataDirOption = default_data_dir(),
        from_seq: Annotated[
            int | None,
            typer.Option(
                "--from", min=0, help="First seq to show (default 1; with --follow, the next one to commit)."
            ),
        ] = None,
        to_seq: Annotated[int | None, typer.Option("--to", min=0, help="Last seq to show.")] = None,
        market: Annotated[int | None, typer.Option("--market", help="Only events of this market id.")] = None,
        types: Annotated[
            list[str] | None,
            typer.Option(
                "--type", help="Only these event types (repeat or comma-separate).", show_default=False
            ),
        ] = None,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most N events.")] = None,
        json_out: JsonOption = False,
        follow: Annotated[
            bool, typer.Option("--follow", "-f", help="Keep printing events as they commit.")
        ] = False,
        show_stats: Annotated[
            bool, typer.Option("--stats", help="Counts by type, seq range, size, rate.")
        ] = False,
        verify: Annotated[
            bool, typer.Option("--verify", help="Check every record; exit 4 at the first bad seq.")
        ] = False,
    ) -> None:
        """Show WAL events as a table or JSON lines; follow, count or verify the log.

        Filters combine: --from/--to bound the seq range, --market keeps one market's events (BATCH_PROCESSED markers belong to market 0), --type keeps some event types. A table shows at most 200 rows unless --limit is given; --json streams every match, one JSON object per line, in engine units.

        --follow prints events as a running server commits them (from the next seq, or from --from) until interrupted or --limit is reached. --stats prints counts by type, the seq range, bytes, first and last event time and the mean rate over the log. --verify checks every record's CRC, schema and decoding, key against seq and contiguity from seq 1, and exits 4 naming the first bad seq.

        Readers never take the writer lock: all of this works while `betex serve` runs.
        """
        if sum((follow, show_stats, verify)) > 1:
            raise UsageError("--follow, --stats and --verify are exclusive")
        if show_stats:
            return _print_stats(tools.stats(data_dir), json_out)
        if verify:
            return _verify(data_dir, json_out)
        query = tools.InspectQuery(from_seq or 1, to_seq, market, tools.parse_types(types or ()), limit)
        if follow:
            return _print_lines(tools.follow(data_dir, query, from_end=from_seq is None), json_out)
        if json_out:
            return _print_lines(tools.inspect(data_dir, query), True)
        _print_table(data_dir, query)

    @group.command("backup")
    def _backup(
        dest: Annotated[Path, typer.Argument(help="New data dir for the copy (DEST/wal is created).")],
        data_dir: DataDirOption = default_data_dir(),
        snapshots: Annotated[
            bool,
            typer.Option(
                "--snapshots/--no-snapshots", help="Also copy engine snapshots up to the copied seq."
            ),
        ] = True,
        check: Annotated[
            bool, typer.Option("--verify/--no-verify", help="Verify every record of the copy.")
        ] = True,
        json_out: JsonOption = False,
    ) -> None:
        """Hot, consistent, compacted copy of the WAL into DEST, usable as a data dir.

        The copy is one LMDB read transaction (mdb_env_copy with compaction): it holds exactly the events committed when it began and never blocks the running writer. DEST/wal must not exist or be empty. Engine snapshots up to the copied seq are copied too, and the copy is verified record by record unless --no-verify. Start a server on DEST, or run `betex replay --data-dir DEST`, to restore.
        """
        report = tools.backup(data_dir, dest, with_snapshots=snapshots, check=check)
        if json_out:
            return print_json(report.to_dict())
        print(
            f"backed up seq 1..{report.last_seq} to {report.dest} ({report.wal_bytes} bytes, "
            f"{report.snapshots} snapshots{', verified' if report.verified else ''}) in {report.seconds:.2f}s"
        )


def _print_lines(events: Iterable[Event], json_out: bool) -> None:
    out = sys.stdout
    try:
        for event in events:
            if json_out:
                out.write(orjson.dumps(to_dict(event)).decode() + "\n")
            else:
                ts = tools.iso_ts(event.ts)
                out.write(
                    f"{event.seq} {ts} {type_name(event)} market={event.market_id} {tools.describe(event)}\n"
                )
            out.flush()
    except BrokenPipeError:  # `| head`: the reader has seen enough; exit quietly like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _print_table(data_dir: Path, query: tools.InspectQuery) -> None:
    capped = query.limit is None
    shown = tools.InspectQuery(
        query.from_seq, query.to_seq, query.market_id, query.types, query.limit or TABLE_LIMIT + 1
    )
    table = Table("seq", "time (UTC)", "type", "market", "fields", box=None, header_style="bold")
    table.columns[1].no_wrap = table.columns[2].no_wrap = True
    rows = 0
    for event in tools.inspect(data_dir, shown):
        if capped and rows == TABLE_LIMIT:
            print(f"(first {TABLE_LIMIT} events; use --limit, --from or --json for more)", file=sys.stderr)
            break
        table.add_row(
            str(event.seq),
            _clock(event.ts),
            type_name(event),
            str(event.market_id),
            tools.describe(event),
        )
        rows += 1
    Console(soft_wrap=False).print(table)


def _clock(ns: int) -> str:
    """Time of day with microseconds (the date is in --stats; the table needs the room)."""
    iso = tools.iso_ts(ns) or ""
    return iso[11:-1]


def _print_stats(report: tools.StatsReport, json_out: bool) -> None:
    d = report.to_dict()
    if json_out:
        return print_json(d)
    rate = d["events_per_s"]
    lines = [
        f"events        {d['events']} (seq {d['first_seq']}..{d['last_seq']}, meta last_seq {d['meta_last_seq']})",
        f"size          {d['record_bytes']} record bytes, {d['file_bytes']} file bytes, {d['disk_bytes']} on disk",
        f"time          {d['first_time'] or '-'} .. {d['last_time'] or '-'} ({d['span_s'] or 0} s)",
        f"rate          {'-' if rate is None else f'{rate:.1f}'} events/s over the log",
        "by type",
    ]
    lines += [f"  {name:<22}{n}" for name, n in sorted(d["counts_by_type"].items(), key=lambda kv: -kv[1])]
    print("\n".join(lines))


def _verify(data_dir: Path, json_out: bool) -> None:
    report = tools.verify(data_dir)
    if json_out:
        print_json(tools.verify_dict(report))
    elif report.ok:
        span = f"seq 1..{report.last_seq}" if report.last_seq else "empty"
        print(f"WAL ok: {report.checked} records, {span}")
    if not report.ok:
        fail(f"WAL damaged at seq {report.first_bad_seq}: {report.reason}", EXIT_WAL_DAMAGED)
