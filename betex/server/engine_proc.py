"""`betex engine`: the engine process, the single writer (no HTTP, no JSON).

Lifecycle: WAL writer lock → recover the engine (snapshot + WAL tail) → serve the IPC channel
(`core.runtime.engine_server.EngineServer`) on a Unix socket until SIGINT/SIGTERM → drain (every
accepted command committed and answered) → close the WAL. Gateways (`betex gateway`) connect to
the socket; `betex serve --gateways N` starts and supervises both (`supervisor.py`).

Exit status: 0 after a clean stop, 1 if the runtime failed (fail-stop), 3 if another process
holds the WAL (raised as `WalLocked` to the CLI).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from betex.core.domain.engine import EngineConfig
from betex.core.durability.journal import Journal
from betex.core.ops.recovery import recover_engine, snapshot_at_stop
from betex.core.runtime.engine_server import EngineServer
from betex.core.runtime.gctune import tune_for_engine
from betex.core.runtime.loop import RuntimeStopped

from .config import ServerConfig
from .console import logging_setup, say
from .run import SWITCH_INTERVAL_S, new_runtime

log = logging.getLogger("betex.engine")

SOCKET_NAME = "engine.sock"


def default_socket(data_dir: Path) -> Path:
    """Where `betex engine` listens unless told: beside the WAL it owns."""
    return Path(data_dir) / SOCKET_NAME


def run_engine(config: ServerConfig) -> int:
    """Run the engine process until SIGINT/SIGTERM; the exit status (see the module doc)."""
    logging_setup(config)
    # three threads share one GIL here (ingress, engine, WAL): without a short switch interval
    # the ingress thread waits up to 5 ms for the engine thread at every hand-over (run.py)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = Path(config.engine_socket or default_socket(data_dir))
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    journal = Journal.open_writer(data_dir, config.durability)  # WalLocked: exit 3, nothing touched
    try:
        t0 = time.perf_counter()
        engine_config = EngineConfig(min_stake=config.min_stake, max_stake=config.max_stake)
        engine, info = recover_engine(data_dir, engine_config)
        source = "no snapshot" if info.snapshot_seq is None else f"snapshot at seq {info.snapshot_seq}"
        say(
            f"betex engine: recovered seq {engine.seq}: {info.events_replayed} events replayed ({source}) "
            f"in {time.perf_counter() - t0:.2f}s; durability {config.durability}"
        )
        runtime = new_runtime(config, engine, journal)
        server = EngineServer(runtime, socket_path, config.wait_strategy)
        tune_for_engine()
        say(f"betex engine: ready on {socket_path}")
        try:
            server.serve(stop, config.max_batch)
        except RuntimeStopped as exc:
            print(f"error: the engine had stopped (fail-stop): {exc}", file=sys.stderr, flush=True)
            return 1
        snapshot_at_stop(runtime.engine, data_dir)  # as one process does: the next start replays nothing
        say(f"betex engine: stopped cleanly at seq {journal.last_seq}")
        return 0
    finally:
        journal.close()
