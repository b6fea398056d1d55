"""`betex projection rebuild`: rebuild `projection.snap` from the WAL, atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from betex.cli.common import DataDirOption, JsonOption, default_data_dir
from betex.cli.examples import epilog
from betex.cli.replay import progress_bar
from betex.cli.wal import print_json


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Maintain the projection's disk snapshot (projection.snap).",
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=epilog("projection"),
    )
    app.add_typer(group, name="projection")

    @group.command("rebuild", epilog=epilog("projection rebuild"))
    def _rebuild(
        data_dir: DataDirOption = default_data_dir(),
        to_seq: Annotated[
            int | None,
            typer.Option("--to", min=0, metavar="SEQ", help="Rebuild up to this seq (default: the last)."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                metavar="FILE",
                help="Write here instead of DATA_DIR/projection.snap (allowed beside a server).",
            ),
        ] = None,
        history_out: Annotated[
            Path | None,
            typer.Option(
                "--history-out",
                metavar="FILE",
                help="Also rebuild the history store here (in place it is DATA_DIR/history.db).",
            ),
        ] = None,
        json_out: JsonOption = False,
    ) -> None:
        """Rebuild projection.snap and the history store from the WAL alone, atomically, with a progress bar.

        Rewriting DATA_DIR/projection.snap takes the WAL writer lock for the whole rebuild, so it exits 3 while a server runs (and a server cannot start meanwhile); an in-place rebuild also rebuilds DATA_DIR/history.db. --out writes another file instead and works beside a server; --history-out FILE rebuilds the history store there. Each file is written to a temp name and renamed; a server loads projection.snap at start when its seq is not past the WAL's.
        """
        from betex.core.ops import tools

        with progress_bar("rebuilding", not json_out) as progress:
            report = tools.rebuild_projection(data_dir, out, to_seq, progress, history_out)
        if json_out:
            return print_json(report.to_dict())
        print(
            f"wrote {report.path} at seq {report.seq} ({report.events} events, {report.size} bytes) "
            f"in {report.seconds:.3f}s"
        )
        if report.history_path is not None:
            print(f"wrote {report.history_path} at seq {report.seq} ({report.history_rows} rows)")
