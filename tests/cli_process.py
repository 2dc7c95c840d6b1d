"""The `pbml` command in a child process, for the tests that race, signal or kill it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# A tiny HalfCheetahVel run (seconds), shared by the backend tests (local, Ray, Ray cluster).
CHEETAH_CONFIG = str(ROOT / "configs" / "halfcheetah_velocity.toml")
TINY_CHEETAH = [
    "generations=4",
    "population_size=6",
    "checkpoint_every=2",
    "problem.hidden=[8]",
    "problem.episodes=2",
    "problem.max_episode_steps=25",
]


def pbml(*args: str, cwd: Path = ROOT, **kwargs: Any) -> subprocess.Popen:
    """Start `python -m pbml_control.cli ARGS`: stdout discarded, stderr kept as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "pbml_control.cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """Exit code and stderr; a process still running after ``timeout`` is killed (-9)."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err
