"""`betex serve` lifecycle: lock → listen → recover → run → drain → persist.

Order matters. The WAL writer lock is taken first, so a second server on the same data dir fails
at once (exit 3) without touching the port. The HTTP listener starts before recovery so `/health`
can answer 503 while the engine and projection are rebuilt. On SIGINT/SIGTERM the server stops
taking commands, lets the runtime drain the ring and commit, delivers the last replies, writes
`projection.snap`, and closes the WAL.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web

from betex.core.domain.engine import Engine, EngineConfig
from betex.core.durability.journal import Journal
from betex.core.errors import BetexError
from betex.core.ops.recovery import (
    PROJECTION_FILE,
    projection_path,
    recover_all,
    save_projection,
    snapshot_at_stop,
)
from betex.core.runtime.gctune import tune_for_engine
from betex.core.runtime.loop import Runtime

from .app import make_runner
from .config import ServerConfig
from .connection import Connection
from .console import logging_setup, say
from .historyread import HistoryReads
from .hub import Hub
from .limits import ConnectionGuard, fit_to_nofile
from .orderstream import HistoryFeed, OrderStreams, history_path
from .projsave import ProjectionSaver

log = logging.getLogger("betex.server")

SWITCH_INTERVAL_S = 0.0005
"""GIL switch interval. The loop thread and the engine thread share one GIL; CPython's 5 ms
default lets one CPU-bound thread hold a waiting one off for up to 5 ms per hand-over (the
convoy effect), which shows directly in ack latency. 0.5 ms trades a little throughput for it."""


def new_hub(config: ServerConfig, loop: asyncio.AbstractEventLoop) -> Hub:
    """The hub with its connection guard (`--max-connections` fitted to RLIMIT_NOFILE, the cap per
    client address, the request timeout): the same in one process and in a gateway."""
    hub = Hub(config, loop)
    hub.guard = ConnectionGuard(
        hub.refusals,
        max_connections=fit_to_nofile(config.max_connections),
        max_per_client=config.max_connections_per_client,
        request_timeout_s=config.request_timeout_s,
    )
    return hub


def stop_on_signals(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: the start of a clean stop."""
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def new_runtime(config: ServerConfig, engine: Engine, journal: Journal) -> Runtime:
    """The engine's runtime with the flags it takes (`--ring-size`, `--wait-strategy`,
    `--max-batch`, `--snapshot-every`): the same in one process and in the engine process."""
    return Runtime(
        engine,
        journal,
        ring_size=config.ring_size,
        wait_strategy=config.wait_strategy,
        max_batch=config.max_batch,
        snapshot_every=config.snapshot_every,
        snapshot_dir=Path(config.data_dir) / "snapshots",
    )


def run(config: ServerConfig) -> int:
    """Run the server until SIGINT/SIGTERM; the exit status. Raises `WalLocked` if the WAL is taken."""
    logging_setup(config)
    return run_loop(serve(config))


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        return asyncio.run(main)
    return uvloop.run(main)


async def serve(config: ServerConfig) -> int:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    loop = asyncio.get_running_loop()
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal.open_writer(data_dir, config.durability)
    hub = new_hub(config, loop)
    stop = stop_on_signals(loop)

    runner = make_runner(hub, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    runtime: Runtime | None = None
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, reuse_address=True, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BetexError(
                    f"cannot listen on {config.host}:{config.port}: address already in use"
                ) from exc
            raise
        port = _bound_port(site, config.port)
        say(f"betex serve: listening on http://{config.host}:{port} (ws://{config.host}:{port}/ws_ctl)")
        say(f"betex serve: data dir {data_dir.resolve()}, durability {config.durability}")

        t0 = time.perf_counter()
        engine_config = EngineConfig(min_stake=config.min_stake, max_stake=config.max_stake)
        recovered = await asyncio.to_thread(recover_all, data_dir, engine_config)
        engine, info, how = recovered.engine, recovered.engine_info, recovered.projection_info.describe()
        hub.projection = recovered.projection
        file_seq = recovered.projection_info.file_seq
        hub.projection_saver = ProjectionSaver(
            projection_path(data_dir), config.snapshot_every, file_seq or 0
        )
        hub.keys.load(engine.keys)
        elapsed = time.perf_counter() - t0
        hub.recovery = {"engine": info.to_dict(), "projection": how, "seconds": round(elapsed, 3)}
        source = "no snapshot" if info.snapshot_seq is None else f"snapshot at seq {info.snapshot_seq}"
        say(
            f"betex serve: recovered seq {engine.seq}: {info.events_replayed} events replayed ({source}) "
            f"in {info.seconds:.2f}s; projection {how}; ready after {elapsed:.2f}s"
        )

        history = HistoryFeed(history_path(data_dir), hub.on_history)
        history.start(data_dir, engine.seq)
        await asyncio.to_thread(history.wait_ready)
        hub.history_seq = history.applied_seq
        hub.order_streams = OrderStreams(history.path, hub.model_of)
        hub.history_reads = HistoryReads(history.path)
        hub.history_error = lambda: history.error
        say(f"betex serve: history store at seq {history.applied_seq} ({history.caught_up} events caught up)")

        runtime = new_runtime(config, engine, journal)
        runtime.add_handler(hub.on_events)
        runtime.add_handler(history.on_events)
        hub.runtime = runtime
        tune_for_engine()  # collect, freeze the recovered heap, collect young objects less often
        runtime.start()
        hub.start_tickers()
        hub.ready = True
        say("betex serve: ready")

        await stop.wait()
        say("betex serve: stopping (draining the ring)")
        await _shutdown(hub, runtime, site, data_dir, history)
        failed = runtime.failed
        runtime = None
        if failed is not None:
            print(f"error: the engine had stopped (fail-stop): {failed}", file=sys.stderr, flush=True)
            return 1
        say("betex serve: stopped cleanly")
        return 0
    finally:
        if runtime is not None:  # an error on the way up or down: still stop the engine thread
            await asyncio.to_thread(runtime.stop)
        await runner.cleanup()
        journal.close()


async def _shutdown(
    hub: Hub, runtime: Runtime, site: web.TCPSite, data_dir: Path, history: HistoryFeed
) -> None:
    hub.stopping = True
    await site.stop()  # stop accepting; open connections get their last replies below
    await asyncio.to_thread(runtime.stop)  # drains the ring, commits, fires handlers/futures
    if runtime.failed is None:  # the next start then replays no WAL tail
        await asyncio.to_thread(snapshot_at_stop, runtime.engine, data_dir)
    await asyncio.to_thread(history.stop)  # applies the last batches, closes the store
    if hub.history_reads is not None:
        await asyncio.to_thread(hub.history_reads.close)
    await asyncio.sleep(0)
    hub.drain_now()
    await hub.stop_tickers()
    await asyncio.gather(*(_say_goodbye(conn) for conn in list(hub.connections)))
    if hub.projection_error is not None:
        log.error("not saving %s: the projection failed earlier (%s)", PROJECTION_FILE, hub.projection_error)
        return
    path = projection_path(data_dir)
    try:
        save_projection(hub.projection, path)
    except OSError as exc:  # a cache, not the record: the next start rebuilds it from the WAL
        log.error("could not save %s (%s); the next start rebuilds it from the WAL", path, exc)
        return
    log.info("projection saved to %s at seq %d", path, hub.projection_seq())


async def _say_goodbye(conn: Connection) -> None:
    """Flush what the client is owed (1 s at most), then close with 1001."""
    try:
        await asyncio.wait_for(conn.flush(), timeout=1.0)
    except TimeoutError:
        log.info("client %s did not take its last replies within 1s", conn.peer)
    await conn.close()
    if not conn.ws.closed:
        try:
            await asyncio.wait_for(
                conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down"), timeout=1.0
            )
        except TimeoutError:
            conn.transport.abort()


def _bound_port(site: web.TCPSite, asked: int) -> int:
    server = site._server  # noqa: SLF001 - the only way to learn the port picked for --port 0
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        return int(sock.getsockname()[1])
    return asked
