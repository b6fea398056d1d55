"""`betex projection rebuild` rebuilds the history store too, and it equals the store written
batch by batch from the same WAL (docs/operations.md "betex projection rebuild")."""

from __future__ import annotations

import json
from pathlib import Path

from betex.core.durability.journal import JournalReader
from betex.core.readmodel.history import SQLiteHistory
from tests.cli.test_cli_args import invoke


def _incremental(data_dir: Path, path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The store a server's writer would hold: one transaction per committed batch."""
    store = SQLiteHistory.open(path)
    batch: list = []  # type: ignore[type-arg]
    with JournalReader(data_dir) as reader:
        for ev in reader.iter_events():
            batch.append(ev)
            if type(ev).__name__ == "BatchProcessed":
                store.apply_batch(batch)
                batch = []
    store.apply_batch(batch)
    try:
        return store.dump()
    finally:
        store.close()


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    store = SQLiteHistory.open_reader(path)
    try:
        return store.dump()
    finally:
        store.close()


def test_in_place_rebuild_writes_the_history_store(wal_copy: Path, tmp_path: Path) -> None:
    code, out, err = invoke("projection", "rebuild", "--data-dir", str(wal_copy), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["history_path"] == str(wal_copy / "history.db") and report["history_rows"] > 0
    assert _rows(wal_copy / "history.db") == _incremental(wal_copy, tmp_path / "incremental.db")


def test_history_out_rebuilds_beside_the_data_dir(wal_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "h.db"
    code, text, err = invoke(
        "projection", "rebuild", "--data-dir", str(wal_data), "--out", str(tmp_path / "p.snap"),
        "--history-out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert f"wrote {out} at seq" in text
    assert not (wal_data / "history.db").exists()
    assert _rows(out) == _incremental(wal_data, tmp_path / "incremental.db")
