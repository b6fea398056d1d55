"""`betex wal inspect` and `betex wal backup`: read a WAL offline or beside a running server."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from betex.cli.common import (
    EXIT_WAL_DAMAGED,
    DataDirOption,
    JsonOption,
    default_data_dir,
    fail,
)
from betex.cli.examples import epilog
from betex.cli.plain import WordsCommand
from betex.core.errors import UsageError

if TYPE_CHECKING:
    from betex.core.domain.events import Event
    from betex.core.ops import tools

TABLE_LIMIT = 200
"""Rows a table shows without --limit (a table is for reading; use --json to stream everything)."""


def print_json(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Read, check and back up the write-ahead log.",
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=epilog("wal"),
    )
    app.add_typer(group, name="wal")

    @group.command("inspect", epilog=epilog("wal inspect"))
    def _inspect(
        data_dir: DataDirOption = default_data_dir(),
        from_seq: Annotated[
            int | None,
            typer.Option(
                "--from",
                min=0,
                metavar="SEQ",
                help="First seq to show (default 1; with --follow, the next one to commit).",
            ),
        ] = None,
        to_seq: Annotated[
            int | None, typer.Option("--to", min=0, metavar="SEQ", help="Last seq to show.")
        ] = None,
        market: Annotated[
            int | None, typer.Option("--market", metavar="ID", help="Only events of this market id.")
        ] = None,
        types: Annotated[
            list[str] | None,
            typer.Option(
                "--type",
                metavar="TYPE",
                help="Only these event types (repeat or comma-separate), e.g. ORDER_ACCEPTED,TRADE_MATCHED.",
                show_default=False,
            ),
        ] = None,
        limit: Annotated[
            int | None, typer.Option("--limit", min=1, metavar="N", help="Show at most N events.")
        ] = None,
        json_out: Annotated[
            bool,
            typer.Option(
                "--json",
                help="JSON lines, every event type, in engine units (odds in hundredths, money in cents, "
                "binary prices in bps).",
            ),
        ] = False,
        show_all: Annotated[
            bool, typer.Option("--all", help="Also show BATCH_PROCESSED markers in the table.")
        ] = False,
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

        Filters combine: --from/--to bound the seq range, --market keeps one market's events (BATCH_PROCESSED markers belong to market 0), --type keeps some event types. The table prints odds, stakes and money as people read them (price=2.10 size=28.00; binary prices in bps, shares whole) and leaves out the engine's BATCH_PROCESSED markers unless --all or --type asks for them. A table shows at most 200 rows unless --limit is given. --json streams every match, markers included, one JSON object per line, in engine units (odds in hundredths: 210; money in cents: 2800).

        --follow prints events as a running server commits them (from the next seq, or from --from) until interrupted or --limit is reached. --stats prints counts by type, the seq range, bytes, first and last event time and the mean rate over the log. --verify checks every record's CRC, schema and decoding, key against seq and contiguity from seq 1, and exits 4 naming the first bad seq.

        Readers never take the writer lock: all of this works while `betex serve` runs.
        """
        from betex.core.domain.events import TYPE_BY_NAME
        from betex.core.ops import tools

        if sum((follow, show_stats, verify)) > 1:
            raise UsageError("--follow, --stats and --verify are exclusive")
        if show_stats:
            return _print_stats(tools.stats(data_dir), json_out)
        if verify:
            return _verify(data_dir, json_out)
        wanted = tools.parse_types(types or ())
        if not wanted and not show_all and not json_out:
            wanted = frozenset(TYPE_BY_NAME) - {"BATCH_PROCESSED"}
        query = tools.InspectQuery(from_seq or 1, to_seq, market, wanted, limit)
        units = MarketUnits(lambda upto: _binary_markets(data_dir, upto))
        if follow:
            events = tools.follow(data_dir, query, from_end=from_seq is None)
            return _print_lines(events, json_out, units)
        if json_out:
            return _print_lines(tools.inspect(data_dir, query), True, units)
        _print_table(data_dir, query, units)

    @group.command("backup", cls=WordsCommand, epilog=epilog("wal backup"))
    def _backup(
        dest: Annotated[
            Path,
            typer.Argument(
                metavar="DEST", help="New data dir for the copy (DEST/wal is created).", show_default=False
            ),
        ],
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
        from betex.core.ops import tools

        report = tools.backup(data_dir, dest, with_snapshots=snapshots, check=check)
        if json_out:
            return print_json(report.to_dict())
        print(
            f"backed up seq 1..{report.last_seq} to {report.dest} ({report.wal_bytes} bytes, "
            f"{report.snapshots} snapshots{', verified' if report.verified else ''}) in {report.seconds:.2f}s"
        )

    @group.command("archive", cls=WordsCommand, epilog=epilog("wal archive"))
    def _archive(
        data_dir: DataDirOption = default_data_dir(),
        to_dir: Annotated[
            Path | None,
            typer.Option(
                "--to-dir",
                metavar="DIR",
                help="Write segments here instead of DATA_DIR/archive (recorded in DATA_DIR/archive.dirs).",
            ),
        ] = None,
        json_out: JsonOption = False,
    ) -> None:
        """Move WAL events older than the newest engine snapshot into archive segments.

        Events up to the newest valid engine snapshot's seq (never the WAL's last record) leave the LMDB WAL for CRC-named segment files under DATA_DIR/archive (or --to-dir), each written durably before its events are deleted: a crash at any point leaves every event readable exactly once, and the next run finishes the job. `wal inspect`, `wal inspect --verify`, `replay --no-snapshot` and `wal backup` read the archive transparently. Takes the WAL writer lock (exit 3 while a server runs). Segments are never deleted by betex.
        """
        from betex.core.ops import tools

        report = tools.archive_wal(data_dir, to_dir)
        if json_out:
            return print_json(report.to_dict())
        if report.snapshot_seq is None:
            print("no engine snapshot: nothing to archive (run `betex snapshot save` first)")
            return None
        print(
            f"moved {report.events_moved} events into {report.segments_written} segments under "
            f"{report.archive_dir}; archive covers seq 1..{report.archived_through}, "
            f"WAL holds {report.wal_first_seq}..{report.wal_last_seq}"
        )


_ODDS_FIELDS = frozenset({"price"})
_MONEY_FIELDS = frozenset({"size", "taker_size", "maker_size", "house", "min_fill_size"})
"""Fields in the market's units: odds in hundredths and money in cents on an exchange market;
on a binary market prices are bps and sizes whole shares (already what people read), and money
(`house`) is in 1/10000."""
_SKIP_FIELDS = frozenset({"seq", "ts", "market_id", "legs"})


class MarketUnits:
    """Which markets are binary, learnt from MARKET_CREATED events as they stream past; a market
    created before the first event shown is looked up once, by `load(up_to_seq)`."""

    def __init__(self, load: Callable[[int], set[int]]) -> None:
        self._load = load
        self._binary: set[int] = set()
        self._known: set[int] = set()
        self._loaded = False

    def see(self, event: Event) -> None:
        from betex.core.domain.events import MarketCreated

        if isinstance(event, MarketCreated):
            self._known.add(event.market_id)
            if event.market_model == "BINARY_YES":
                self._binary.add(event.market_id)

    def binary(self, event: Event) -> bool:
        market = event.market_id
        if market not in self._known and not self._loaded:
            self._loaded = True
            self._binary |= self._load(event.seq)
            self._known |= self._binary
        return market in self._binary


def _binary_markets(data_dir: Path, up_to_seq: int) -> set[int]:
    from betex.core.ops import tools

    query = tools.InspectQuery(1, max(1, up_to_seq), None, frozenset({"MARKET_CREATED"}), None)
    return {
        e.market_id for e in tools.inspect(data_dir, query) if getattr(e, "market_model", "") == "BINARY_YES"
    }


def describe(event: Event, units: MarketUnits) -> str:
    """One line of the event's own fields as people read them: price=2.10 size=28.00."""
    from betex.core.domain.events import (
        AccountLimitSet,
        OrderAccepted,
        OrderDelayed,
        RunnerRemoved,
        TradeMatched,
    )

    units.see(event)
    if isinstance(event, (OrderAccepted, OrderDelayed)):
        binary = event.side in ("BUY", "SELL")
    elif isinstance(event, AccountLimitSet):
        binary = False  # liability limits are always cents
    else:
        binary = event.market_id != 0 and units.binary(event)
    parts = []
    for key, value in event._asdict().items():
        if key in _SKIP_FIELDS or value == "":
            continue
        if isinstance(value, tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            pass
        elif key in _ODDS_FIELDS and not binary:
            value = f"{value / 100:.2f}"
        elif key == "house" and binary:
            value = f"{value / 10000:.2f}"
        elif (key in _MONEY_FIELDS and not binary) or key == "max_liability":
            value = f"{value / 100:.2f}"
        parts.append(f"{key}={value}")
    if isinstance(event, TradeMatched):
        parts.append(f"legs={len(event.legs)}")
    elif isinstance(event, RunnerRemoved):  # the factor in percent, each re-priced trade old→new
        parts = [p for p in parts if not p.startswith(("reduction_factor=", "reduced="))]
        parts.insert(1, f"reduction_factor={event.reduction_factor / 100:.2f}%")
        reduced = ",".join(
            f"{r.trade_id}:{r.original_price / 100:.2f}→{r.price / 100:.2f}" for r in event.reduced
        )
        parts.append(f"reduced={reduced}")
    return " ".join(parts)


def _print_lines(events: Iterable[Event], json_out: bool, units: MarketUnits) -> None:
    from betex.core.domain.events import to_dict, type_name
    from betex.core.ops import tools

    out = sys.stdout
    try:
        for event in events:
            if json_out:
                out.write(orjson.dumps(to_dict(event)).decode() + "\n")
            else:
                ts = tools.iso_ts(event.ts)
                out.write(
                    f"{event.seq} {ts} {type_name(event)} market={event.market_id} {describe(event, units)}\n"
                )
            out.flush()
    except BrokenPipeError:  # `| head`: the reader has seen enough; exit quietly like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _print_table(data_dir: Path, query: tools.InspectQuery, units: MarketUnits) -> None:
    from rich.console import Console
    from rich.table import Table

    from betex.core.domain.events import type_name
    from betex.core.ops import tools

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
            describe(event, units),
        )
        rows += 1
    Console(soft_wrap=False).print(table)


def _clock(ns: int) -> str:
    """Time of day with microseconds (the date is in --stats; the table needs the room)."""
    from betex.core.ops import tools

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
    from betex.core.ops import tools

    report = tools.verify(data_dir)
    if json_out:
        print_json(tools.verify_dict(report))
    elif report.ok:
        span = f"seq 1..{report.last_seq}" if report.last_seq else "empty"
        print(f"WAL ok: {report.checked} records, {span}")
    if not report.ok:
        fail(f"WAL damaged at seq {report.first_bad_seq}: {report.reason}", EXIT_WAL_DAMAGED)
