"""Periodic `projection.snap` while serving, so a crash restart replays a bounded WAL tail.

A clean stop saves the projection, but after a `kill -9` the next start used to rebuild the read
model from the last clean stop's file, or from seq 1: minutes for a long-running server (206 s
for 10M events). The saver writes `projection.snap` every `--snapshot-every` events, as the
engine writes its snapshots, so both halves of a restart replay at most that many events.

The projection changes only on the event loop, so it is encoded there (`Projection.dump`; the
live-only read model is small: about a third of a second for 50k resting orders) and written
by a worker thread (`files.write_atomic`: temp file, fsync, rename). One write at a time; a
failed write is logged, and the next tick tries again: the WAL still has everything.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from betex.core.durability.files import write_atomic
from betex.core.readmodel.projection import Projection
from betex.core.runtime import gctune

log = logging.getLogger(__name__)


class ProjectionSaver:
    def __init__(self, path: Path, every: int, saved_seq: int) -> None:
        self.path = path
        self.every = every
        self.saved_seq = saved_seq  # the seq of the file on disk (or where recovery started)
        self._writing: asyncio.Future[Path] | None = None

    def tick(self, projection: Projection) -> None:
        """On the loop: start a write when `every` events were applied since the last one."""
        if self._writing is not None or projection.seq - self.saved_seq < self.every:
            return
        with gctune.paused():
            data = projection.dump()
        seq = projection.seq
        loop = asyncio.get_running_loop()
        self._writing = fut = loop.run_in_executor(None, write_atomic, self.path, data)
        fut.add_done_callback(lambda f: self._done(f, seq))

    def _done(self, fut: asyncio.Future[Path], seq: int) -> None:
        self._writing = None
        exc = fut.exception()
        if exc is not None:
            log.error("could not save %s at seq %d (%s); the WAL still has everything", self.path, seq, exc)
            return
        self.saved_seq = seq
        log.info("projection saved to %s at seq %d", self.path, seq)

    async def wait(self) -> None:
        """Let a write in progress finish (before the stop's own save of the same file)."""
        if self._writing is not None:
            try:
                await asyncio.shield(self._writing)
            except OSError:
                pass  # logged by _done; the stop's save tries again
