"""`betex gateway`: HTTP + WebSocket in front of an engine process (`betex engine`).

The same app, Hub and handlers as the in-process `betex serve`; only the Hub's `runtime` seat
holds a `RemoteEngine` (the IPC link) instead of a Runtime, and the read model is built from
the engine's committed event stream (caught up from the WAL, read-only, on every connect).

Lifecycle: projection from ``projection.snap`` + WAL tail (if the WAL exists yet) → listen (its
own port, or the listening socket the supervisor passes with `--listen-fd`, shared by every
gateway) → connect to the engine and catch up → serve. SIGINT/SIGTERM: stop accepting, send
every queued command and wait for its reply, deliver the last replies, close the clients
(1001), save ``projection.snap`` (gateway 0 only), exit 0. The engine is stopped separately
(after the gateways, by the supervisor).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import time
from pathlib import Path

from aiohttp import web

from betex.core.domain.engine import EngineConfig
from betex.core.errors import BetexError, WalNotFound
from betex.core.ops.recovery import PROJECTION_FILE, projection_path, recover_projection, save_projection
from betex.core.readmodel.projection import Projection
from betex.core.runtime.gctune import tune_for_engine

from .app import make_runner
from .config import ServerConfig
from .console import say
from .historyfollow import HistoryFollower
from .historyread import HistoryReads
from .hub import Hub
from .orderstream import OrderStreams, history_path
from .projsave import ProjectionSaver
from .remote import RemoteEngine
from .run import SWITCH_INTERVAL_S, _bound_port, _say_goodbye, new_hub, stop_on_signals

log = logging.getLogger("betex.gateway")

DRAIN_TIMEOUT_S = 30.0


async def serve_gateway(config: ServerConfig) -> int:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    loop = asyncio.get_running_loop()
    data_dir = Path(config.data_dir)
    assert config.engine_socket is not None
    hub = new_hub(config, loop)
    stop = stop_on_signals(loop)
    name = f"betex gateway {config.gateway_index}"

    runner = make_runner(hub, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    remote: RemoteEngine | None = None
    follower: HistoryFollower | None = None
    try:
        # listen first: /health answers 503 "recovering" while the read model is rebuilt and
        # the engine recovers (the supervisor starts both at once), as the in-process server does
        site = await _listen(runner, config)
        port = _site_port(site, config)
        say(f"{name}: listening on http://{config.host}:{port} (ws://{config.host}:{port}/ws_ctl)")

        t0 = time.perf_counter()
        engine_config = EngineConfig(min_stake=config.min_stake, max_stake=config.max_stake)
        try:
            projection, how = await asyncio.to_thread(recover_projection, data_dir, engine_config)
            hub.projection, described = projection, how.describe()
            file_seq = how.file_seq or 0
        except WalNotFound:
            hub.projection, described = Projection(engine_config, retire_final=True), "empty (no WAL yet)"
            file_seq = 0
        hub.recovery = {"projection": described, "seconds": round(time.perf_counter() - t0, 3)}
        if config.gateway_index == 0:  # the gateway that owns projection.snap saves it while serving
            hub.projection_saver = ProjectionSaver(projection_path(data_dir), config.snapshot_every, file_seq)
        follower = await _history(config, hub, data_dir)
        remote = RemoteEngine(
            config.engine_socket,
            data_dir,
            config.gateway_window(),
            hub.apply_events,
            hub.projection_seq,
            loop,
        )
        remote.on_hello = lambda state: hub.keys.load({k: (a, h, r) for k, a, h, r in state.get("keys", ())})
        hub.runtime = hub.remote = remote
        say(f"{name}: projection {described}; engine at {config.engine_socket}")

        def on_ready() -> None:
            if not hub.ready:
                # the recovered read model is a large acyclic heap, like the engine's: frozen
                # out of the collector, young collections tuned as the engine's (gctune.py)
                tune_for_engine()
                hub.start_tickers()
                hub.ready = True
                say(f"{name}: ready")
            else:
                say(f"{name}: engine back at seq {hub.projection_seq()}")

        link_task = loop.create_task(remote.run(on_ready), name="engine-link")
        await stop.wait()
        say(f"{name}: stopping (sending what is queued, waiting for the replies)")
        hub.stopping = True
        await site.stop()
        await remote.drain(DRAIN_TIMEOUT_S)
        await asyncio.sleep(0)
        hub.drain_now()
        await hub.stop_tickers()
        await asyncio.gather(*(_say_goodbye(conn) for conn in list(hub.connections)))
        remote.close()
        link_task.cancel()
        try:
            await link_task
        except asyncio.CancelledError:
            pass
        await _stop_history(hub, follower)
        follower = None
        if config.gateway_index == 0 and hub.projection_error is None and hub.ready:
            path = projection_path(data_dir)
            try:
                save_projection(hub.projection, path)
                log.info("projection saved to %s at seq %d", path, hub.projection_seq())
            except OSError as exc:
                log.error("could not save %s (%s); the next start rebuilds it", PROJECTION_FILE, exc)
        say(f"{name}: stopped cleanly")
        return 0
    finally:
        if remote is not None:
            remote.close()
        await _stop_history(hub, follower)
        await runner.cleanup()


async def _listen(runner: web.AppRunner, config: ServerConfig) -> web.BaseSite:
    """Serve on the inherited socket (`--listen-fd`, shared with the other gateways), or bind."""
    site: web.BaseSite
    if config.listen_fd is not None:
        site = web.SockSite(runner, socket.socket(fileno=config.listen_fd))
        await site.start()
        return site
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True, backlog=1024)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise BetexError(f"cannot listen on {config.host}:{config.port}: address already in use") from exc
        raise
    return site


def _site_port(site: web.BaseSite, config: ServerConfig) -> int:
    if isinstance(site, web.SockSite):
        return int(site._sock.getsockname()[1])  # noqa: SLF001 - the inherited socket's port
    assert isinstance(site, web.TCPSite)
    return _bound_port(site, config.port)


async def _history(config: ServerConfig, hub: Hub, data_dir: Path) -> HistoryFollower:
    """Wire the history store, which `betex history-writer` writes (`history_proc.py`): reads
    through a read-only connection, the applied seq and the order stream's rows from a
    follower thread (`historyfollow.py`)."""
    path = history_path(data_dir)
    hub.order_streams = streams = OrderStreams(path, hub.model_of)
    hub.history_reads = HistoryReads(path)
    # unknown until the follower has read the store once (the writer starts after the engine):
    # a history query waits for that instead of reading a store that may not exist yet
    hub.history_seq = -1
    follower = HistoryFollower(
        path, hub.on_history, hub.projection_seq, streams.accounts, hub.history_waited_for
    )
    hub.history_error = lambda: "the history writer is not running" if follower.writer_down else None
    hub.history_nudge = follower.nudge
    follower.start()
    return follower


async def _stop_history(hub: Hub, follower: HistoryFollower | None) -> None:
    if follower is not None:
        await asyncio.to_thread(follower.stop)
    reads, hub.history_reads = hub.history_reads, None
    if reads is not None:
        await asyncio.to_thread(reads.close)
