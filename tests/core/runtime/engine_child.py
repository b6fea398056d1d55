"""A real engine process for the EngineServer tests: Journal (sync) + Runtime + EngineServer.

`python -m tests.core.runtime.engine_child DATA_DIR SOCKET STRATEGY` creates market 1 on a
fresh WAL, prints `ready`, and serves until SIGTERM (or until it is killed).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from betex.core.domain.engine import Engine
from betex.core.durability.journal import Journal
from betex.core.runtime.engine_server import EngineServer
from betex.core.runtime.loop import Runtime
from tests.core.workload import market_cmd


def main() -> None:
    data_dir, sock, strategy = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    journal = Journal.open_writer(data_dir, durability="sync")
    runtime = Runtime(Engine(), journal, wait_strategy=strategy, ring_size=1024, max_batch=256)
    runtime.start()
    runtime.submit_with_response(market_cmd()).result(30)
    server = EngineServer(runtime, sock, max_in_flight=4096)  # the largest window the tests use
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    try:
        server.serve(stop)
    finally:
        journal.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
