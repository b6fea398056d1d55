"""`betex serve`: parse flags into a `ServerConfig` and hand over to `betex.server.run`."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer

from betex.cli.common import DataDirOption, default_data_dir
from betex.cli.examples import epilog
from betex.core.errors import BetexError, UsageError
from betex.server.config import HISTORY_PRIORITIES, HISTORY_PRIORITY, WAIT_STRATEGIES, ServerConfig

# Options that `serve` shares with `engine` (and `gateway`): one definition each.
RingSizeOption = Annotated[int, typer.Option(metavar="SLOTS", help="Ingress ring slots; a power of two.")]
WaitStrategyOption = Annotated[
    str, typer.Option(metavar="STRATEGY", help=f"Engine wait strategy: {', '.join(WAIT_STRATEGIES)}.")
]
MaxBatchOption = Annotated[int, typer.Option(metavar="N", help="Most commands the engine drains per batch.")]
DurabilityOption = Annotated[
    str, typer.Option(metavar="MODE", help="sync (fsync per commit) or async (no fsync).")
]
SnapshotEveryOption = Annotated[
    int, typer.Option(metavar="N", help="Write an engine snapshot, and save projection.snap, every N events.")
]
MinStakeOption = Annotated[str, typer.Option(metavar="AMOUNT", help="Smallest accepted stake.")]
MaxStakeOption = Annotated[str, typer.Option(metavar="AMOUNT", help="Largest accepted stake.")]
LogLevelOption = Annotated[str, typer.Option(metavar="LEVEL", help="debug, info, warning or error.")]


# Access and limit options that `serve` shares with `gateway` (the process that applies them).
AuthOption = Annotated[
    str,
    typer.Option(
        metavar="MODE",
        help="open (trust account_id in messages; loopback --host only) or keys (API keys bind accounts).",
    ),
]
InsecureOption = Annotated[
    bool, typer.Option("--insecure", help="Allow --auth open on a non-loopback --host.")
]
AllowedOriginOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="ORIGIN",
        help="A browser Origin allowed to open WebSockets (repeatable; default none: any Origin gets 403).",
    ),
]
MaxConnectionsOption = Annotated[
    int, typer.Option(metavar="N", help="Open TCP connections at most (fitted to RLIMIT_NOFILE).")
]
MaxConnectionsPerClientOption = Annotated[
    int, typer.Option(metavar="N", help="Open TCP connections from one client address at most.")
]
RequestTimeoutOption = Annotated[
    float, typer.Option(metavar="SECONDS", help="Time to complete an HTTP request or WebSocket upgrade.")
]
IdleTimeoutOption = Annotated[
    float, typer.Option(metavar="SECONDS", help="Close a WebSocket that sends nothing for this long.")
]
RatePerAccountOption = Annotated[
    float, typer.Option(metavar="N", help="Commands a second per account (token bucket); 0: no limit.")
]
RateBurstOption = Annotated[
    float, typer.Option(metavar="N", help="Commands an account may send at once after a quiet spell.")
]
MaxOutboxTotalOption = Annotated[
    int,
    typer.Option(
        metavar="BYTES", help="Unsent replies over all connections; past it the largest backlog is dropped."
    ),
]


def _stake(flag: str, text: str) -> int:
    from betex.core.domain.money import cents_from_wire

    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} must be an amount like 1.00 (got {text!r})") from None
    cents = cents_from_wire(value)
    if cents is None:
        raise UsageError(f"{flag} must be a positive amount with at most 2 decimals (got {text!r})")
    return cents


def port_in_use(host: str, port: int) -> bool:
    """Whether `host:port` cannot be bound now: checked before the data dir is touched, so a busy
    port fails without creating wal/ or snapshots/ (the real bind later still reports races).

    SO_REUSEADDR as aiohttp sets it, so a port in TIME_WAIT counts as free, as it will for the server.
    """
    if port == 0:
        return False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # the server reports an unresolvable host in its own words
    for family, kind, proto, _name, addr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def register(app: typer.Typer) -> None:
    _register_serve(app)
    register_processes(app)


def _register_serve(app: typer.Typer) -> None:
    @app.command("serve", epilog=epilog("serve"))
    def _cmd(
        host: Annotated[
            str, typer.Option(metavar="HOST", help="Interface to listen on (loopback by default).")
        ] = "127.0.0.1",
        port: Annotated[
            int, typer.Option(metavar="PORT", help="TCP port (0 picks a free one and prints it).")
        ] = 3000,
        data_dir: DataDirOption = default_data_dir(),
        ring_size: RingSizeOption = 16384,
        wait_strategy: WaitStrategyOption = "blocking-wait",
        max_batch: MaxBatchOption = 4096,
        durability: DurabilityOption = "sync",
        snapshot_every: SnapshotEveryOption = 1_000_000,
        snapshot_interval_ms: Annotated[
            int,
            typer.Option(metavar="MS", help="How often changed markets are pushed to WebSocket subscribers."),
        ] = 200,
        admin_token: Annotated[
            str | None,
            typer.Option(metavar="TOKEN", help="Require this bearer token for market admin commands."),
        ] = None,
        min_stake: MinStakeOption = "1.00",
        max_stake: MaxStakeOption = "1000000.00",
        log_level: LogLevelOption = "info",
        auth: AuthOption = "open",
        insecure: InsecureOption = False,
        allowed_origin: AllowedOriginOption = None,
        max_connections: MaxConnectionsOption = 4096,
        max_connections_per_client: MaxConnectionsPerClientOption = 256,
        request_timeout: RequestTimeoutOption = 10.0,
        idle_timeout: IdleTimeoutOption = 300.0,
        rate_per_account: RatePerAccountOption = 2000.0,
        rate_burst: RateBurstOption = 4000.0,
        max_outbox_total: MaxOutboxTotalOption = 512 * 1024 * 1024,
        gateways: Annotated[
            int | None,
            typer.Option(
                metavar="N",
                help="Gateway processes beside one engine process and one history writer (default: "
                "what the cores justify, one per core the engine leaves, at least 1); 0 runs "
                "everything in one process (docs/runtime.md, Processes).",
            ),
        ] = None,
        window: Annotated[
            int,
            typer.Option(
                metavar="N",
                help="Instructions a gateway may have un-replied at the engine (0: 256, at most the "
                "ring size). Smaller: a quiet client waits behind less of a flooder's work.",
            ),
        ] = 0,
    ) -> None:
        """Run the engine, WAL and projection behind the HTTP + WebSocket API.

        Prints where it listens and what it recovered from the data dir. SIGINT (Ctrl-C) or SIGTERM stops it cleanly: the commands in flight are drained and committed, projection.snap is written, exit 0. A port already in use is refused (exit 1) before the data dir is touched; a data dir whose WAL another server holds exits 3.
        """
        from betex.server.main import main  # deferred: aiohttp/uvloop load only for `serve`
        from betex.server.supervisor import default_gateways

        config = ServerConfig(
            host=host,
            port=port,
            data_dir=Path(data_dir),
            ring_size=ring_size,
            wait_strategy=wait_strategy,
            max_batch=max_batch,
            durability=durability,
            snapshot_every=snapshot_every,
            snapshot_interval_ms=snapshot_interval_ms,
            admin_token=admin_token,
            min_stake=_stake("--min-stake", min_stake),
            max_stake=_stake("--max-stake", max_stake),
            log_level=log_level.lower(),
            auth=auth,
            insecure=insecure,
            allowed_origins=tuple(allowed_origin or ()),
            max_connections=max_connections,
            max_connections_per_client=max_connections_per_client,
            request_timeout_s=request_timeout,
            idle_timeout_s=idle_timeout,
            rate_per_account=rate_per_account,
            rate_burst=rate_burst,
            max_outbox_total=max_outbox_total,
            gateways=default_gateways() if gateways is None else gateways,
            window=window,
        ).validate()
        if port_in_use(host, port):
            raise BetexError(f"cannot listen on {host}:{port}: address already in use")
        # ConfigError (exit 2), WalLocked (3), DataDamaged (4), ... rise to `betex.cli.common`
        code = main(config)
        raise typer.Exit(code)


def register_processes(app: typer.Typer) -> None:
    """`betex engine`, `betex gateway` and `betex history-writer`: the parts of `betex serve
    --gateways N`, each runnable alone (recipes compose them)."""

    @app.command("engine", epilog=epilog("engine"))
    def _engine(
        data_dir: DataDirOption = default_data_dir(),
        socket_path: Annotated[
            Path | None,
            typer.Option(
                "--socket", metavar="PATH", help="Unix socket to serve (default: DATA_DIR/engine.sock)."
            ),
        ] = None,
        ring_size: RingSizeOption = 16384,
        wait_strategy: WaitStrategyOption = "blocking-wait",
        max_batch: MaxBatchOption = 4096,
        durability: DurabilityOption = "sync",
        snapshot_every: SnapshotEveryOption = 1_000_000,
        min_stake: MinStakeOption = "1.00",
        max_stake: MaxStakeOption = "1000000.00",
        log_level: LogLevelOption = "info",
    ) -> None:
        """Run the engine process alone: the single writer (WAL lock, recovery, batches, commits,
        replies), serving gateways on a Unix socket. No HTTP, no JSON. SIGTERM drains and exits 0;
        a WAL another process holds exits 3."""
        from betex.server.engine_proc import run_engine

        config = ServerConfig(
            data_dir=Path(data_dir),
            ring_size=ring_size,
            wait_strategy=wait_strategy,
            max_batch=max_batch,
            durability=durability,
            snapshot_every=snapshot_every,
            min_stake=_stake("--min-stake", min_stake),
            max_stake=_stake("--max-stake", max_stake),
            log_level=log_level.lower(),
            engine_socket=socket_path,
        ).validate()
        raise typer.Exit(run_engine(config))

    @app.command("history-writer", epilog=epilog("history-writer"))
    def _history_writer(
        data_dir: DataDirOption = default_data_dir(),
        log_level: LogLevelOption = "info",
        priority: Annotated[
            str,
            typer.Option(
                metavar="PRIORITY",
                help="CPU priority: normal, low (nice 10) or idle (SCHED_IDLE: only CPU time "
                "nothing else wants). Lower lets the engine and the gateways have the cores "
                "first; history queries then wait longer for the store on a busy machine.",
            ),
        ] = HISTORY_PRIORITY,
    ) -> None:
        """Run the history store's writer alone: it follows the WAL in DATA_DIR (read-only) and
        applies every committed event to DATA_DIR/history.db, which the gateways read. One per data
        dir (a second exits 3). SIGTERM applies what is committed and exits 0."""
        from betex.server.history_proc import run_history_writer

        if priority not in HISTORY_PRIORITIES:
            raise UsageError(f"--priority must be one of {', '.join(HISTORY_PRIORITIES)}, not {priority!r}")
        config = ServerConfig(data_dir=Path(data_dir), log_level=log_level.lower()).validate()
        raise typer.Exit(run_history_writer(config, priority))

    @app.command("gateway", epilog=epilog("gateway"))
    def _gateway(
        engine_socket: Annotated[
            Path | None,
            typer.Option(metavar="PATH", help="The engine's Unix socket (default: DATA_DIR/engine.sock)."),
        ] = None,
        data_dir: DataDirOption = default_data_dir(),
        host: Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(metavar="PORT", help="TCP port (0 picks a free one).")] = 3000,
        listen_fd: Annotated[
            int | None, typer.Option(metavar="FD", help="Serve on this inherited listening socket instead.")
        ] = None,
        index: Annotated[int, typer.Option(metavar="I", help="Gateway number; 0 saves projection.snap.")] = 0,
        snapshot_every: Annotated[
            int, typer.Option(metavar="N", help="Gateway 0: save projection.snap every N events.")
        ] = 1_000_000,
        ring_size: Annotated[
            int, typer.Option(metavar="SLOTS", help="The engine's ring size (the window's upper bound).")
        ] = 16384,
        window: Annotated[
            int,
            typer.Option(
                metavar="N",
                help="Instructions it may have un-replied at the engine (0: 256, at most the ring size).",
            ),
        ] = 0,
        snapshot_interval_ms: Annotated[
            int, typer.Option(metavar="MS", help="How often changed markets are pushed to subscribers.")
        ] = 200,
        admin_token: Annotated[
            str | None, typer.Option(metavar="TOKEN", help="Require this bearer token for admin commands.")
        ] = None,
        min_stake: MinStakeOption = "1.00",
        max_stake: MaxStakeOption = "1000000.00",
        log_level: LogLevelOption = "info",
        auth: AuthOption = "open",
        insecure: InsecureOption = False,
        allowed_origin: AllowedOriginOption = None,
        max_connections: MaxConnectionsOption = 4096,
        max_connections_per_client: MaxConnectionsPerClientOption = 256,
        request_timeout: RequestTimeoutOption = 10.0,
        idle_timeout: IdleTimeoutOption = 300.0,
        rate_per_account: RatePerAccountOption = 2000.0,
        rate_burst: RateBurstOption = 4000.0,
        max_outbox_total: MaxOutboxTotalOption = 512 * 1024 * 1024,
    ) -> None:
        """Run one gateway alone: HTTP + WebSocket in front of a running `betex engine`, with its own
        read model (caught up from the WAL in DATA_DIR, then fed by the engine's event stream)."""
        from betex.server.engine_proc import default_socket
        from betex.server.main import main

        config = ServerConfig(
            host=host,
            port=port,
            data_dir=Path(data_dir),
            ring_size=ring_size,
            window=window,
            snapshot_interval_ms=snapshot_interval_ms,
            admin_token=admin_token,
            min_stake=_stake("--min-stake", min_stake),
            max_stake=_stake("--max-stake", max_stake),
            log_level=log_level.lower(),
            engine_socket=engine_socket or default_socket(Path(data_dir)),
            listen_fd=listen_fd,
            gateway_index=index,
            snapshot_every=snapshot_every,
            auth=auth,
            insecure=insecure,
            allowed_origins=tuple(allowed_origin or ()),
            max_connections=max_connections,
            max_connections_per_client=max_connections_per_client,
            request_timeout_s=request_timeout,
            idle_timeout_s=idle_timeout,
            rate_per_account=rate_per_account,
            rate_burst=rate_burst,
            max_outbox_total=max_outbox_total,
        ).validate()
        if listen_fd is None and port_in_use(host, port):
            raise BetexError(f"cannot listen on {host}:{port}: address already in use")
        raise typer.Exit(main(config))
