"""Shared fixtures that start real things and always clean up.

`betex_server` runs a real `betex serve` subprocess on a free loopback port with a temporary data
dir (one per test module, so a module's tests share a server), waits for `/health` and yields a
`ServerProcess`. `server_factory` starts extra servers (e.g. restarts on the same data dir) that
are stopped at the end of the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
_LISTEN_MARK = "listening on http://"


@dataclass
class ServerProcess:
    """A running `betex serve`; `stop()` sends SIGTERM and waits, `kill()` is SIGKILL."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    host: str = "127.0.0.1"
    port: int = 0
    args: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, Any]:
        """GET `path`; (status, parsed JSON or text). Never raises on HTTP error statuses."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, raw, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        if "json" in ctype:
            return status, json.loads(raw)
        return status, raw.decode(errors="replace")

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, (path, status, body)
        return body

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def betex_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "betex", *args]


GATEWAYS_ENV = "BETEX_TEST_GATEWAYS"
"""Set to N to run every test server as `betex serve --gateways N` unless the test chose
`--gateways` itself: `BETEX_TEST_GATEWAYS=0 pytest tests/server` runs them in one process (the
default is the process split; CI runs the server suite both ways)."""


def _split_args(args: tuple[str, ...]) -> tuple[str, ...]:
    gateways = os.environ.get(GATEWAYS_ENV, "")
    if not gateways or any(a == "--gateways" or a.startswith("--gateways=") for a in args):
        return args
    return (*args, "--gateways", gateways)


def start_server(
    data_dir: Path,
    *args: str,
    log_path: Path | None = None,
    wait: bool = True,
    timeout: float = 30.0,
    preexec_fn: Callable[[], None] | None = None,
) -> ServerProcess:
    """Start `betex serve --port 0` on `data_dir`; the port is read from its "listening" line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = _split_args(args)
    log_path = log_path or data_dir.parent / f"serve-{data_dir.name}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            betex_cmd("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), *args),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=preexec_fn,
        )
    server = ServerProcess(proc=proc, data_dir=data_dir, log_path=log_path, args=args)
    if wait:
        try:
            wait_ready(server, timeout)
        except BaseException:
            server.kill()
            raise
    return server


def wait_ready(server: ServerProcess, timeout: float = 30.0) -> None:
    """Wait for the listening line, then for `/health` to say ok."""
    deadline = time.monotonic() + timeout
    while server.port == 0:
        for line in server.log().splitlines():
            if _LISTEN_MARK in line:
                hostport = line.split(_LISTEN_MARK, 1)[1].split()[0]
                server.port = int(hostport.rsplit(":", 1)[1])
                break
        if server.port:
            break
        if server.proc.poll() is not None:
            raise RuntimeError(f"betex serve exited with {server.proc.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"betex serve did not start listening:\n{server.log()}")
        time.sleep(0.05)
    while True:
        try:
            status, _ = server.get("/health", timeout=1.0)
            if status == 200:
                return
        except OSError:
            pass
        if server.proc.poll() is not None:
            raise RuntimeError(f"betex serve exited with {server.proc.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"betex serve not healthy in {timeout}s:\n{server.log()}")
        time.sleep(0.05)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data dir for one test (removed with tmp_path)."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def betex_server() -> Iterator[ServerProcess]:
    """One real server per test module, on a fresh data dir, with async durability for speed."""
    root = Path(tempfile.mkdtemp(prefix="betex-test-"))
    server = start_server(root / "data", "--durability", "async", "--snapshot-interval-ms", "50")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers (`factory(data_dir, *args)`); every one is stopped after the test."""
    started: list[ServerProcess] = []

    def factory(
        data_dir: Path | None = None,
        *args: str,
        wait: bool = True,
        preexec_fn: Callable[[], None] | None = None,
    ) -> ServerProcess:
        server = start_server(data_dir or (tmp_path / "data"), *args, wait=wait, preexec_fn=preexec_fn)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
