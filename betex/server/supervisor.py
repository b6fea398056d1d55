"""`betex serve --gateways N`: start and supervise one engine process, one history writer
(`betex history-writer`: the SQLite history store's one writer, following the WAL) and N
gateway processes.

The supervisor binds the listening socket itself and passes it to every gateway (`--listen-fd`),
so the gateways share one port and the kernel spreads new connections over them; the engine
listens on a Unix socket in the data dir. It relays the children's stdout lines.

Restart policy (docs/runtime.md "Processes"):
- a gateway that exits while the service runs is restarted at once (its clients reconnect;
  the other gateways' clients are unaffected);
- the gateways answer OVERLOADED/503 while the engine is away and reconnect by themselves;
- an engine killed by a signal (kill -9, OOM) is restarted at once; one that exits 1 (fail-stop:
  its WAL write failed) is not: the gateways keep serving reads with `/health` 503, and the
  supervisor exits 1 when stopped, as the in-process server does; one that exits 2, 3 (the WAL
  is held by another process) or 4 (damaged data) is not either: the supervisor stops
  everything and exits with that status;
- the history writer is restarted at once whatever killed it (it resumes from the store's own
  applied seq; meanwhile history queries answer 503 "behind"), except when it exits 2, 3 (another
  writer holds the store) or 4 (the store belongs to another data dir): the service stops;
- more than `MAX_RESTARTS` restarts of one role within `RESTART_WINDOW_S` means a crash loop: the
  supervisor stops everything and exits 1.

SIGINT/SIGTERM: SIGTERM to the gateways (each sends what it queued, delivers the last replies,
closes its clients), then SIGTERM to the engine (commits and answers what it accepted), then to
the history writer (applies everything committed); exit 0 when every child exited 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import FrameType

from betex.core.durability.journal import ensure_writer_free
from betex.core.errors import BetexError

from .config import ServerConfig
from .engine_proc import default_socket
from .stopflag import StopFlag

MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
NO_RESTART_CODES = (1, 2, 3, 4)


_PRINT = threading.Lock()  # the relay threads and the main thread share stdout: whole lines


def say(message: str) -> None:
    with _PRINT:
        print(message, flush=True)


def default_gateways() -> int:
    """What the cores justify: the engine takes one core, each gateway another, at least one.

    On 1–2 cores: 1 gateway (the engine and the gateway each get a core); on more, one per
    remaining core, at most 8. 0 (one process) where the split cannot run: its engine channel
    needs Linux's eventfd.
    """
    if not hasattr(os, "eventfd"):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores - 1))


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the supervisor dies, even by kill -9 (Linux),
    so a killed service never leaves an engine holding the WAL lock."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux: children outlive a kill -9
        pass


class Child:
    def __init__(self, role: str, argv: list[str], pass_fds: tuple[int, ...] = ()) -> None:
        self.role = role
        self.argv = argv
        self.pass_fds = pass_fds
        self.proc: subprocess.Popen[str] | None = None
        self.ready = threading.Event()
        self.restarts: deque[float] = deque()

    def start(self) -> None:
        self.ready.clear()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=None,  # the supervisor's stderr: one log for the service
            text=True,
            bufsize=1,
            pass_fds=self.pass_fds,
            preexec_fn=_die_with_parent,
        )
        threading.Thread(
            target=self._relay, args=(self.proc,), daemon=True, name=f"relay-{self.role}"
        ).start()

    def _relay(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.endswith(": ready") or ": ready on " in line:
                self.ready.set()
            if "listening on http://" in line:
                continue  # the supervisor says where the service listens
            say(line)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)


def _common(config: ServerConfig) -> list[str]:
    return [
        "--data-dir", str(config.data_dir),
        "--ring-size", str(config.ring_size),
        "--min-stake", f"{config.min_stake / 100:.2f}",
        "--max-stake", f"{config.max_stake / 100:.2f}",
        "--log-level", config.log_level,
    ]  # fmt: skip


def _access(config: ServerConfig) -> list[str]:
    """The gateways' auth and limit flags: they apply them (each gateway has its own rate
    buckets and connection caps: with N gateways an account may send up to N × the rate)."""
    argv = [
        "--auth", config.auth,
        "--max-connections", str(config.max_connections),
        "--max-connections-per-client", str(config.max_connections_per_client),
        "--request-timeout", repr(config.request_timeout_s),
        "--idle-timeout", repr(config.idle_timeout_s),
        "--rate-per-account", repr(config.rate_per_account),
        "--rate-burst", repr(config.rate_burst),
        "--max-outbox-total", str(config.max_outbox_total),
    ]  # fmt: skip
    if config.insecure:
        argv.append("--insecure")
    for origin in config.allowed_origins:
        argv += ["--allowed-origin", origin]
    return argv


def supervise(config: ServerConfig) -> int:
    """Run the engine and `config.gateways` gateways until SIGINT/SIGTERM (see the module doc)."""
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    sock_path = config.engine_socket or default_socket(data_dir)
    if len(os.fsencode(sock_path.resolve())) > 100:
        sock_path = Path(f"/tmp/betex-engine-{os.getpid()}.sock")
    stop = StopFlag()  # set by the signal handler: never a threading.Event (stopflag.py)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        lsock = socket.create_server((config.host, config.port), backlog=1024, reuse_port=False)
    except OSError as exc:
        raise BetexError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from exc
    try:  # another server's WAL: refuse before starting anything (exit 3, naming the holder)
        ensure_writer_free(data_dir)
    except BaseException:
        lsock.close()
        raise
    lsock.set_inheritable(True)
    port = lsock.getsockname()[1]
    exe = [sys.executable, "-m", "betex"]
    engine = Child(
        "engine",
        [
            *exe, "engine", *_common(config),
            "--socket", str(sock_path),
            "--wait-strategy", config.wait_strategy,
            "--max-batch", str(config.engine_batch()),
            "--durability", config.durability,
            "--snapshot-every", str(config.snapshot_every),
        ],
    )  # fmt: skip
    history = Child(
        "history-writer",
        [*exe, "history-writer", "--data-dir", str(config.data_dir), "--log-level", config.log_level],
    )
    gateways = []
    for i in range(config.gateways):
        argv = [
            *exe, "gateway", *_common(config),
            "--engine-socket", str(sock_path),
            "--listen-fd", str(lsock.fileno()),
            "--host", config.host,
            "--index", str(i),
            "--snapshot-interval-ms", str(config.snapshot_interval_ms),
            "--snapshot-every", str(config.snapshot_every),
        ]  # fmt: skip
        argv += _access(config)
        if config.window:
            argv += ["--window", str(config.window)]
        if config.admin_token is not None:
            argv += ["--admin-token", config.admin_token]
        gateways.append(Child(f"gateway {i}", argv, (lsock.fileno(),)))
    say(f"betex serve: listening on http://{config.host}:{port} (ws://{config.host}:{port}/ws_ctl)")
    say(
        f"betex serve: data dir {data_dir.resolve()}, durability {config.durability}; "
        f"1 engine + {config.gateways} gateway process(es)"
    )
    try:
        code = _run(engine, history, gateways, stop)
    finally:
        lsock.close()
        code_stop = _stop_all(engine, gateways, history)
    if code == 0 and code_stop != 0:
        say(f"betex serve: a child did not stop cleanly (status {code_stop})")
        return code_stop
    say("betex serve: stopped cleanly" if code == 0 else f"betex serve: stopped (status {code})")
    return code


def _run(engine: Child, history: Child, gateways: list[Child], stop: StopFlag) -> int:
    # the gateways with the engine: they listen (and answer /health 503 "recovering") and
    # rebuild their read model while the engine recovers; each is ready once it is connected
    # to the engine. The history writer once the engine is ready: it only follows the WAL, and
    # on a WAL the engine refuses (damaged, locked) it would only add its own error after the
    # engine's, which must be the last line
    engine.start()
    for g in gateways:
        g.start()
    if not _await_ready(engine, stop):
        return _exit_code(engine, stop)
    history.start()
    for g in [history, *gateways]:
        if not _await_ready(g, stop):
            return _exit_code(g, stop)
    pids = " ".join(str(g.pid) for g in gateways)
    say(f"betex serve: history-writer pid {history.pid}")
    say(f"betex serve: ready (engine pid {engine.pid}, gateway pids {pids})")
    return _watch([engine, history, *gateways], stop)


def _await_ready(child: Child, stop: StopFlag) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not child.ready.wait(0.05):
        if child.poll() is not None or stop.is_set() or time.monotonic() > deadline:
            return False
    return True


def _exit_code(child: Child, stop: StopFlag) -> int:
    if stop.is_set():
        return 0
    rc = child.poll()
    if rc is None:
        print(
            f"error: {child.role} did not become ready in {START_TIMEOUT_S:.0f}s", file=sys.stderr, flush=True
        )
        return 1
    if rc in NO_RESTART_CODES:
        return rc  # the child said why on stderr (e.g. the WAL lock holder)
    print(f"error: {child.role} exited with status {rc} while starting", file=sys.stderr, flush=True)
    return 1


def _watch(children: list[Child], stop: StopFlag) -> int:
    status = 0
    while not stop.wait(0.05):
        for child in children:
            rc = child.poll()
            if rc is None or (child.role == "engine" and status):
                continue
            if child.role == "history-writer" and rc in NO_RESTART_CODES[1:]:
                print(
                    f"error: the history writer exited with status {rc}; not restarting it",
                    file=sys.stderr,
                    flush=True,
                )
                return rc
            if child.role == "engine" and rc in NO_RESTART_CODES:
                if rc == 1:  # fail-stop (the WAL failed): reads go on (503 health), no restart
                    say("betex serve: the engine stopped (fail-stop, status 1); not restarting it")
                    status = 1
                    continue
                print(
                    f"error: the engine exited with status {rc}; not restarting it",
                    file=sys.stderr,
                    flush=True,
                )
                return rc
            now = time.monotonic()
            child.restarts.append(now)
            while child.restarts and now - child.restarts[0] > RESTART_WINDOW_S:
                child.restarts.popleft()
            if len(child.restarts) > MAX_RESTARTS:
                print(
                    f"error: {child.role} exited {len(child.restarts)} times in {RESTART_WINDOW_S:.0f}s; giving up",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            say(f"betex serve: {child.role} (pid {child.pid}) exited with status {rc}; restarting it")
            child.start()
    return status


def _stop_all(engine: Child, gateways: list[Child], history: Child) -> int:
    """Gateways first (they send what they queued and deliver the replies), then the engine
    (commits what it accepted), then the history writer (applies everything committed)."""
    worst = 0
    for group in (gateways, [engine], [history]):
        for child in group:
            child.signal(signal.SIGTERM)
        for child in group:
            if child.proc is None:
                continue
            try:
                rc = child.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print(
                    f"error: {child.role} did not stop in {STOP_TIMEOUT_S:.0f}s; killing it",
                    file=sys.stderr,
                    flush=True,
                )
                child.proc.kill()
                rc = child.proc.wait()
            if rc == -signal.SIGTERM and not child.ready.is_set():
                rc = 0  # stopped while starting, before its handlers were in: it had taken nothing
            if rc != 0 and worst == 0:
                worst = rc
    return worst
