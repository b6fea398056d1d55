"""Server settings: one frozen record built by the CLI (or a test) and read everywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from betex.core.errors import UsageError

WAIT_STRATEGIES = ("blocking-wait", "sleeping", "yielding", "busy-spin")
DURABILITIES = ("sync", "async")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
AUTH_MODES = ("open", "keys")

MAX_FRAME_BYTES = 64 * 1024
"""Client frames above this close the connection with 1009 (protocol.md)."""

DEFAULT_DEPTH = 10
MAX_DEPTH = 350

DEFAULT_WINDOW = 256
"""Instructions a gateway may have un-replied at the engine unless `--window` says otherwise
(at most the ring size). A quiet client's command waits behind at most this many of a flooding
one's, so it bounds the fairness figure; the engine and the gateway take turns per window
either way, so 1024 bought no throughput (docs/runtime.md: alternated bench/e2e.py runs, fair
p99 beside a flood ×3.3–6.0 at 256 against ×9.1–9.7 at 1024, no_ack within the noise)."""

HISTORY_PRIORITIES = ("idle", "low", "normal")
HISTORY_PRIORITY = "normal"
"""The CPU priority `betex history-writer` runs at by default (`--priority`): `normal` leaves
it; `low` is nice 10; `idle` is Linux's SCHED_IDLE (it runs only on CPU time nothing else
wants). Lowering it measured no clear gain for the write path, and makes history queries (which
wait for the store, 503 after 5 s) slower whenever the machine is busy: docs/runtime.md
"Processes" has the figures."""


class ConfigError(UsageError):
    """A setting that cannot work; the CLI prints it and exits 2."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path = Path("./betex-data")
    ring_size: int = 16384
    wait_strategy: str = "blocking-wait"
    max_batch: int = 4096
    durability: str = "sync"
    snapshot_every: int = 1_000_000
    snapshot_interval_ms: int = 200
    admin_token: str | None = None
    min_stake: int = 100  # cents
    max_stake: int = 100_000_000  # cents
    log_level: str = "info"
    status_interval_s: float = 1.0
    max_send_buffer: int = 8 * 1024 * 1024
    """Backlog bound per client (see `connection.py` for when it leads to a disconnect)."""
    auth: str = "open"
    """open: `account_id` in a message is trusted (loopback only); keys: API keys bind accounts."""
    insecure: bool = False
    """Allow `--auth open` on a host other than loopback (anyone who reaches it trades as anyone)."""
    allowed_origins: tuple[str, ...] = ()
    """WebSocket upgrades with an Origin header not listed here get 403 (browser pages)."""
    max_connections: int = 4096
    """Open TCP connections at most (lowered to fit RLIMIT_NOFILE at start)."""
    max_connections_per_client: int = 256
    """Open TCP connections from one client address at most."""
    request_timeout_s: float = 10.0
    """A connection must complete its HTTP request or WebSocket upgrade within this (slowloris)."""
    idle_timeout_s: float = 300.0
    """A WebSocket that sends nothing for this long is closed (pings from the client count)."""
    rate_per_account: float = 2000.0
    """Commands a second per account (token bucket); 0 disables the limit."""
    rate_burst: float = 4000.0
    """Bucket size: commands an account may send at once after a quiet spell."""
    max_outbox_total: int = 512 * 1024 * 1024
    """Bytes of unsent replies summed over all connections; the largest backlog past it is dropped."""
    gateways: int = 0
    """`betex serve`: gateway processes beside one engine process; 0 runs everything in one
    process (the in-process mode). See docs/runtime.md "Processes"."""
    engine_socket: Path | None = None
    """`betex gateway`: the engine process's Unix socket (None: the engine runs in-process)."""
    listen_fd: int | None = None
    """`betex gateway`: serve on this inherited listening socket instead of binding host:port."""
    gateway_index: int = 0
    """`betex gateway`: 0 is the one that saves projection.snap on a clean stop."""
    window: int = 0
    """`betex gateway`: instructions it may have un-replied at the engine (0: `DEFAULT_WINDOW`, at
    most the ring size; `gateway_window`)."""

    def gateway_window(self) -> int:
        """The window a gateway uses (see `window`)."""
        return self.window or min(DEFAULT_WINDOW, self.ring_size)

    def engine_batch(self) -> int:
        """The engine process's largest batch in the split: `--max-batch`, and at most half a
        gateway's window. The engine then runs one batch while the gateway digests the events
        of the one before (with batches as large as the window they took turns); alternated
        no_ack floods measured +20 % (docs/runtime.md)."""
        return min(self.max_batch, max(1, self.gateway_window() // 2))

    def validate(self) -> ServerConfig:
        """Raise ConfigError with a message a user can act on; return self for chaining."""
        if self.ring_size < 2 or self.ring_size & (self.ring_size - 1):
            raise ConfigError(f"--ring-size must be a power of two >= 2 (got {self.ring_size})")
        if self.wait_strategy not in WAIT_STRATEGIES:
            raise ConfigError(
                f"--wait-strategy must be one of {', '.join(WAIT_STRATEGIES)} (got {self.wait_strategy!r})"
            )
        if self.durability not in DURABILITIES:
            raise ConfigError(f"--durability must be sync or async (got {self.durability!r})")
        if self.max_batch < 1:
            raise ConfigError(f"--max-batch must be >= 1 (got {self.max_batch})")
        if self.snapshot_every < 1:
            raise ConfigError(f"--snapshot-every must be >= 1 (got {self.snapshot_every})")
        if self.snapshot_interval_ms < 1:
            raise ConfigError(f"--snapshot-interval-ms must be >= 1 (got {self.snapshot_interval_ms})")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be in 0..65535 (got {self.port})")
        if self.min_stake <= 0 or self.max_stake < self.min_stake:
            raise ConfigError("--min-stake must be > 0 and <= --max-stake")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"--log-level must be one of {', '.join(LOG_LEVELS)} (got {self.log_level!r})")
        if self.gateways < 0:
            raise ConfigError(f"--gateways must be >= 0 (got {self.gateways})")
        if self.window < 0:
            raise ConfigError(f"--window must be >= 0 (got {self.window})")
        if self.admin_token is not None and not self.admin_token:
            raise ConfigError("--admin-token must not be empty")
        if self.auth not in AUTH_MODES:
            raise ConfigError(f"--auth must be open or keys (got {self.auth!r})")
        from .auth import is_loopback

        if self.auth == "open" and not is_loopback(self.host) and not self.insecure:
            raise ConfigError(
                f"--auth open trusts the account_id in every message, so it is allowed only on a loopback "
                f"--host (got {self.host!r}): use --auth keys, or --insecure if you mean it"
            )
        if self.max_connections < 1 or self.max_connections_per_client < 1:
            raise ConfigError("--max-connections and --max-connections-per-client must be >= 1")
        if self.request_timeout_s <= 0 or self.idle_timeout_s <= 0:
            raise ConfigError("--request-timeout and --idle-timeout must be > 0 seconds")
        if self.rate_per_account < 0 or (self.rate_per_account > 0 and self.rate_burst < 1):
            raise ConfigError("--rate-per-account must be >= 0 and --rate-burst >= 1")
        if self.max_outbox_total < self.max_send_buffer:
            raise ConfigError("--max-outbox-total must be at least one connection's bound (8 MiB)")
        return self
