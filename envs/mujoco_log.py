"""Route MuJoCo's C-level warnings into Python `logging`.

Without a handler MuJoCo prints warnings to stderr and appends them to MUJOCO_LOG.TXT in the
working directory, where Python's warning filters cannot see them and parallel workers litter
run folders. Instability warnings ("Nan, Inf or huge value ...") are logged at DEBUG level
because `rollout_batch` already reports them per simulation (`unstable`); others at WARNING.
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
    level = logging.DEBUG if "unstable" in message else logging.WARNING
    logger.log(level, "MuJoCo: %s", message)


def install_warning_handler() -> None:
    """Install the handler (idempotent). MuJoCo holds one global handler per process."""
    mujoco.set_mju_user_warning(_handle_warning)


def warning_count() -> int:
    """How many MuJoCo warnings this process has routed since import (for tests, metrics)."""
    return _count
