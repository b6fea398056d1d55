"""`betex replay`: rebuild the engine offline from the WAL and print its state hash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from betex.cli.common import DataDirOption, JsonOption, default_data_dir
from betex.cli.examples import epilog
from betex.cli.wal import print_json

ProgressFn = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr fed by core's ``progress(done, total)`` callbacks.

    Yields None when disabled (--json) or when stderr is not a terminal, so output stays clean.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, 1))

        yield update


def register(app: typer.Typer) -> None:
    @app.command("replay", epilog=epilog("replay"))
    def _cmd(
        data_dir: DataDirOption = default_data_dir(),
        to_seq: Annotated[
            int | None,
            typer.Option("--to", min=0, metavar="SEQ", help="Stop at this seq (default: the last)."),
        ] = None,
        from_snapshot: Annotated[
            bool,
            typer.Option(
                "--from-snapshot/--no-snapshot",
                help="Start from the newest usable engine snapshot, or from seq 1.",
            ),
        ] = True,
        json_out: JsonOption = False,
    ) -> None:
        """Rebuild the engine offline from the WAL; print events/s, the final seq and the state hash.

        By default replay starts from the newest valid engine snapshot at or below the target seq and applies the WAL tail; --no-snapshot replays from seq 1. Both paths print the same state hash for the same seq: replay is deterministic. Works while a server runs.
        """
        from betex.core.ops import tools

        with progress_bar("replaying", not json_out) as progress:
            report = tools.replay(data_dir, to_seq, from_snapshot, progress)
        if json_out:
            return print_json(report.to_dict())
        info = report.info
        start = "seq 1" if info.snapshot_seq is None else f"snapshot at seq {info.snapshot_seq}"
        print(
            f"replayed {info.events_replayed} events from {start} in {info.seconds:.3f}s "
            f"({info.events_per_s:,.0f} events/s)\n"
            f"final seq   {info.final_seq} (WAL last seq {info.wal_last_seq})\n"
            f"state hash  {report.state_hash}"
        )
