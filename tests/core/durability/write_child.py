"""Child process for tests/core/durability/test_files.py: real snapshot writes, cut short.

``loop`` mode recovers the engine of a data dir and writes its engine snapshot over and over
(printing ``ready`` first) until the parent SIGKILLs it mid-write. ``fsize`` mode caps the file
size (RLIMIT_FSIZE) so that an engine snapshot and a projection.snap write really fail midway,
and reports what was left in the directories as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
from pathlib import Path

from betex.core.durability import snapshot
from betex.core.ops.recovery import recover_engine, recover_projection, save_projection


def loop(data_dir: Path) -> None:
    engine, _ = recover_engine(data_dir, use_snapshot=False)
    data = engine.dump()
    print("ready", flush=True)
    while True:
        snapshot.write_snapshot(data, engine.seq, data_dir / "snapshots")


def fsize(data_dir: Path) -> None:
    engine, _ = recover_engine(data_dir, use_snapshot=False)
    projection, _ = recover_projection(data_dir, use_file=False)
    target = data_dir / "projection.snap"
    target.write_bytes(b"old")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    errors = []
    for write in (
        lambda: snapshot.write_snapshot(engine.dump(), engine.seq, data_dir / "snapshots"),
        lambda: save_projection(projection, target),
    ):
        try:
            write()
            errors.append(None)
        except OSError as exc:
            errors.append(exc.errno)
    report = {
        "errors": errors,
        "data_dir": sorted(os.listdir(data_dir)),
        "snapshots": sorted(os.listdir(data_dir / "snapshots")),
        "target": target.read_bytes().decode(),
    }
    print(json.dumps(report), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("loop", "fsize"))
    ap.add_argument("data_dir", type=Path)
    args = ap.parse_args()
    loop(args.data_dir) if args.mode == "loop" else fsize(args.data_dir)


if __name__ == "__main__":
    main()
