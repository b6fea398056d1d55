"""Every recipe passes in smoke mode, in both auth modes (`--auth open` and `--auth keys`), and
leaves no process behind, also when it is stopped midway.

Each run gets a unique `BETEX_RECIPE_RUN` in its environment; every process a recipe starts
(servers, bots, the subshells of backgrounded functions and their children) inherits it, so after
the recipe exits a scan of /proc for that value finds whatever it left running. `make recipes`
runs this module; `make test` leaves it out (it takes about a minute).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.sh"))
VENV_BIN = Path(sys.executable).parent


def _env(tag: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETEX_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["BETEX_RECIPE_RUN"] = tag
    return env


def _alive_with(tag: str) -> list[str]:
    """Live (non-zombie) processes whose environment carries `BETEX_RECIPE_RUN=tag`."""
    needle = f"BETEX_RECIPE_RUN={tag}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if needle not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found.append(f"{proc.name} {cmdline.strip()}")
    return found


def _leftovers(tag: str, grace_s: float = 3.0) -> list[str]:
    deadline = time.monotonic() + grace_s
    while (left := _alive_with(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for line in left:  # never leave them to the next test either
        os.kill(int(line.split()[0]), signal.SIGKILL)
    return left


@pytest.mark.slow
@pytest.mark.parametrize("auth", ["open", "keys"])
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_passes_in_smoke_mode_and_leaves_no_process(recipe: Path, auth: str) -> None:
    tag = uuid.uuid4().hex
    proc = subprocess.run(
        ["bash", str(recipe), "--smoke", "--auth", auth],
        capture_output=True,
        text=True,
        env=_env(tag),
        cwd=REPO,
        timeout=240,
    )
    left = _leftovers(tag)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("PASS: "), proc.stdout[-2000:]
    assert not left, f"{recipe.name} left running: {left}"


@pytest.mark.slow
def test_a_recipe_stopped_while_bots_run_leaves_no_process() -> None:
    """SIGTERM while the backgrounded bots function runs: its `betex bots` child dies too."""
    tag = uuid.uuid4().hex
    recipe = REPO / "recipes" / "backup-restore.sh"
    proc = subprocess.Popen(
        ["bash", str(recipe), "--smoke"], stdout=subprocess.PIPE, text=True, env=_env(tag), cwd=REPO
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("betex bots" in p for p in _alive_with(tag)):
            time.sleep(0.1)
        assert any("betex bots" in p for p in _alive_with(tag)), "the recipe never started its bots"
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode != 0
    left = _leftovers(tag)
    assert not left, f"left running after SIGTERM: {left}"
