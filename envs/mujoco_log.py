"""Route MuJoCo's C-level warnings into Python `logging`.

Without a handler MuJoCo prints warnings to stderr and appends them to MUJOCO_LOG.TXT in the
working directory, where Python's warning filters cannot see them and parallel workers litter
run folders. Instability warnings ("Nan, Inf or huge value ...") are logged at DEBUG level
because `rollout_batch` already reports them per simulation (`unstable`), and so is MuJoCo 4's
deprecation notice for `settotalmass`, which Gymnasium's HalfCheetah asset uses and which we
keep so that the model compiles exactly as upstream's; others at WARNING.
"""

from __future__ import annotations

import logging
import threading

import mujoco

logger = logging.getLogger("pbml_control.envs.mujoco")

_lock = threading.Lock()
_count = 0


def _handle_warning(message: str) -> None:
    global _count
    with _lock:
        _count += 1
    quiet = "unstable" in message or "'settotalmass' is deprecated" in message
    level = logging.DEBUG if quiet else logging.WARNING
    logger.log(level, "MuJoCo: %s", message)


def install_warning_handler() -> None:
    """Install the handler (idempotent). MuJoCo holds one global handler per process."""
    mujoco.set_mju_user_warning(_handle_warning)


def warning_count() -> int:
    """How many MuJoCo warnings this process has routed since import (for tests, metrics)."""
    return _count
