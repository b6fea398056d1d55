"""The operator toolkit behind the thin CLI: one import for `betex wal`, `replay`, `snapshot` and
`projection` (the logic lives in one module per operation, re-exported here).

Everything reads the WAL through `JournalReader`, which never takes the writer lock, so it
works while `betex serve` runs. The two operations that write into a data dir say so: an engine
snapshot (`save_engine_snapshot`) is written atomically next to the server's own and is safe
while it runs; rewriting `projection.snap` in place (`rebuild_projection`) holds the writer lock
for the duration, so it refuses to run beside a server and a server cannot start meanwhile.
Each starts through `betex.core.ops.recovery`, which removes the temp files of crashed snapshot
writes first.

Progress is reported through a plain callback ``progress(done, total)``; no UI imports here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from betex.core.errors import UsageError
    from betex.core.ops.archive import ArchiveReport, archive_wal
    from betex.core.ops.backup import BackupError, BackupReport, backup
    from betex.core.ops.common import iso_ts, open_reader, require_wal
    from betex.core.ops.rebuild import RebuildReport, build_projection, rebuild_projection
    from betex.core.ops.recovery import PROJECTION_FILE
    from betex.core.ops.replay import ReplayReport, replay
    from betex.core.ops.snapshots import (
        SavedSnapshot,
        list_engine_snapshots,
        market_snapshot,
        save_engine_snapshot,
        snapshot_info_dict,
    )
    from betex.core.ops.wal import (
        InspectQuery,
        StatsReport,
        describe,
        follow,
        inspect,
        parse_types,
        select,
        stats,
        verify,
        verify_dict,
    )

# Loaded on first use: `betex wal inspect --stats` must not import the engine or the projection
# that `replay` and `projection rebuild` need (tests/cli/test_startup.py).
_HOMES: dict[str, str] = {
    "ArchiveReport": "betex.core.ops.archive",
    "archive_wal": "betex.core.ops.archive",
    "BackupError": "betex.core.ops.backup",
    "BackupReport": "betex.core.ops.backup",
    "InspectQuery": "betex.core.ops.wal",
    "PROJECTION_FILE": "betex.core.ops.recovery",
    "RebuildReport": "betex.core.ops.rebuild",
    "ReplayReport": "betex.core.ops.replay",
    "SavedSnapshot": "betex.core.ops.snapshots",
    "StatsReport": "betex.core.ops.wal",
    "UsageError": "betex.core.errors",
    "backup": "betex.core.ops.backup",
    "build_projection": "betex.core.ops.rebuild",
    "describe": "betex.core.ops.wal",
    "follow": "betex.core.ops.wal",
    "inspect": "betex.core.ops.wal",
    "iso_ts": "betex.core.ops.common",
    "list_engine_snapshots": "betex.core.ops.snapshots",
    "market_snapshot": "betex.core.ops.snapshots",
    "open_reader": "betex.core.ops.common",
    "parse_types": "betex.core.ops.wal",
    "rebuild_projection": "betex.core.ops.rebuild",
    "replay": "betex.core.ops.replay",
    "require_wal": "betex.core.ops.common",
    "save_engine_snapshot": "betex.core.ops.snapshots",
    "select": "betex.core.ops.wal",
    "snapshot_info_dict": "betex.core.ops.snapshots",
    "stats": "betex.core.ops.wal",
    "verify": "betex.core.ops.wal",
    "verify_dict": "betex.core.ops.wal",
}


def __getattr__(name: str) -> Any:
    import importlib

    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "PROJECTION_FILE",
    "ArchiveReport",
    "BackupError",
    "BackupReport",
    "InspectQuery",
    "RebuildReport",
    "ReplayReport",
    "SavedSnapshot",
    "StatsReport",
    "UsageError",
    "archive_wal",
    "backup",
    "build_projection",
    "describe",
    "follow",
    "inspect",
    "iso_ts",
    "list_engine_snapshots",
    "market_snapshot",
    "open_reader",
    "parse_types",
    "rebuild_projection",
    "replay",
    "require_wal",
    "save_engine_snapshot",
    "select",
    "snapshot_info_dict",
    "stats",
    "verify",
    "verify_dict",
]
