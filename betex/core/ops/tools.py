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

from betex.core.errors import UsageError
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

__all__ = [
    "PROJECTION_FILE",
    "BackupError",
    "BackupReport",
    "InspectQuery",
    "RebuildReport",
    "ReplayReport",
    "SavedSnapshot",
    "StatsReport",
    "UsageError",
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
