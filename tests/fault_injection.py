"""Runners that fail on purpose, for the reliability tests (imported by worker processes too).

A worker that runs :class:`KillOnceRollouts` SIGKILLs itself on its first job whose chunk starts
at simulation 0, once per marker file: the retry finds the marker and runs normally, so the
generation can be compared bit for bit with one that had no failure. :class:`SleepRunner`
makes stragglers on demand, for the tests of how jobs are handed to workers.
:func:`write_pid_and_sleep` is a long job that says which process runs it, and
:func:`is_running` tells whether such a process has gone.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.evaluator import Rollouts
from pbml_control.mujoco_config import MujocoProblemConfig


class KillOnceRollouts:
    """MuJoCo rollouts whose process dies (SIGKILL) the first time it gets the first chunk."""

    def __init__(self, config: MujocoProblemConfig, marker: str) -> None:
        self.inner = Rollouts(config)
        self.marker = Path(marker)

    def run(self, params: np.ndarray, member_index: np.ndarray, *rest: Any) -> Any:
        if member_index[0] == 0 and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.run(params, member_index, *rest)


class SleepRunner:
    """A worker whose job is to sleep the seconds it is given: one long job is a straggler."""

    def run(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds


def tree_hash(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, and every sub-folder's name (empty if absent)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "<dir>"
        for p in sorted(folder.rglob("*"))
    }


def write_pid_and_sleep(job: tuple[str, float]) -> int:
    """Write this process's id into the folder ``job[0]``, then sleep ``job[1]`` seconds."""
    folder, seconds = job
    (Path(folder) / f"{os.getpid()}.pid").write_text("")
    time.sleep(seconds)
    return os.getpid()


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap orphans); Linux /proc."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
