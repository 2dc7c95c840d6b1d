"""Memory estimates, checked before anything is allocated or written.

A population of 10**9, a policy with two hidden layers of 100,000 units, or a billion evaluation
episodes would otherwise hang, or die with an allocation traceback after the run folder was
created. The estimates are deliberately rough and on the high side: they are measured, not
derived (see ``tests/test_memory_limits.py`` and docs/reliability.md).

- A population member costs ``PARAM_COPIES`` copies of its parameter vector (the population,
  its offspring, the checkpoint buffer and its bytes, the evaluator's view), plus
  ``MEMBER_OVERHEAD`` bytes of ids, mutation parameters and fitness. Measured peaks: about 450
  bytes per member for Square World (2 parameters), about 5x the parameter bytes for a
  HalfCheetah policy of 72,000 parameters.
- A simulation running in ``mujoco.batch`` costs about 3 KiB (measured for HalfCheetah and
  Ant); ``SIMULATION_BYTES`` leaves room for observation buffers and larger models. Episode
  length allocates nothing: rollouts keep no per-step history.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pbml_control.errors import UserError

__all__ = [
    "MEMBER_OVERHEAD",
    "PARAM_COPIES",
    "SIMULATION_BYTES",
    "MemoryLimitError",
    "available_bytes",
    "check_fits",
    "format_bytes",
    "population_bytes",
    "rollout_bytes",
]

PARAM_COPIES = 8
MEMBER_OVERHEAD = 1024
SIMULATION_BYTES = 16 * 1024


class MemoryLimitError(UserError):
    """The work asked for would not fit in memory; the message gives the estimate."""


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def population_bytes(population_size: int, num_params: int, num_modules: int) -> int:
    """Peak bytes a population of this size and genome length needs during a generation."""
    per_member = 8 * (PARAM_COPIES * num_params + 2 * PARAM_COPIES * num_modules)
    return population_size * (per_member + MEMBER_OVERHEAD)


def rollout_bytes(simulations: int) -> int:
    """Bytes of ``simulations`` MuJoCo simulations stepped together."""
    return simulations * SIMULATION_BYTES


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes() -> int | None:
    """Memory this process could still allocate: ``MemAvailable``, lowered by a cgroup (v2)
    limit when one is set; None when neither can be read (then nothing is refused)."""
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    if not found and hasattr(os, "sysconf"):
        with contextlib.suppress(OSError, ValueError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    cgroup = Path("/sys/fs/cgroup")
    limit, used = _read_int(cgroup / "memory.max"), _read_int(cgroup / "memory.current")
    if limit is not None and used is not None:
        found.append(max(limit - used, 0))
    return min(found) if found else None


def check_fits(needed: int, what: str, hint: str) -> None:
    """Raise :class:`MemoryLimitError` when ``needed`` bytes exceed what is available.

    ``what`` names the work ("this run: population 64 x 10,000,000 parameters"), ``hint`` the
    settings that shrink it.
    """
    available = available_bytes()
    if available is None or needed <= available:
        return
    raise MemoryLimitError(
        f"{what} needs about {format_bytes(needed)} of memory, more than the "
        f"{format_bytes(available)} available; {hint}"
    )
