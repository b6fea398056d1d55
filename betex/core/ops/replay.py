"""`betex replay`: rebuild the engine offline (snapshot + WAL tail, or from seq 1) and hash it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.durability.recovery import ProgressFn, RecoveryInfo
from betex.core.errors import UsageError
from betex.core.ops.common import require_wal
from betex.core.ops.recovery import recover_engine


@dataclass(frozen=True, slots=True)
class ReplayReport:
    info: RecoveryInfo
    state_hash: str
    seconds: float  # wall time including the hash

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.info.to_dict())
        d["state_hash"] = self.state_hash
        d["total_seconds"] = round(self.seconds, 6)
        return d


def replay(
    data_dir: Path,
    to_seq: int | None = None,
    use_snapshot: bool = True,
    progress: ProgressFn | None = None,
) -> ReplayReport:
    """Rebuild the engine offline (newest usable snapshot + WAL tail, or from seq 1) and hash it.

    The hash is the same for every path to the same seq: that is the determinism check.
    """
    if to_seq is not None and to_seq < 0:
        raise UsageError(f"--to must be >= 0, not {to_seq}")
    require_wal(data_dir)
    t0 = time.perf_counter()
    engine, info = recover_engine(
        Path(data_dir), None, use_snapshot=use_snapshot, to_seq=to_seq, progress=progress
    )
    digest = engine.state_hash()
    return ReplayReport(info, digest, time.perf_counter() - t0)
