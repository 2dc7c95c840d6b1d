"""Memory estimates, checked before anything is allocated or written.

A population of 10**9, a policy with two hidden layers of 100,000 units, or the report of a
billion evaluation episodes would otherwise hang, or die with an allocation traceback after the
run folder was created. The estimates are deliberately rough and on the high side: they are
measured, not derived (see ``tests/test_resume_records.py``, ``tests/test_evaluate.py`` and
docs/reliability.md).

- A population member costs ``PARAM_COPIES`` copies of its parameter vector (the population,
  its offspring, the checkpoint buffer and its bytes, the evaluator's view), plus
  ``MEMBER_OVERHEAD`` bytes of ids, mutation parameters and fitness. Measured peaks: about 450
  bytes per member for Square World (2 parameters), about 5x the parameter bytes for a
  HalfCheetah policy of 72,000 parameters.
- A simulation running in ``mujoco.batch`` costs about 3 KiB (measured for HalfCheetah and
  Ant); ``SIMULATION_BYTES`` leaves room for observation buffers and larger models. Episode
  length allocates nothing: rollouts keep no per-step history. A generation simulates every
  member's episodes on every goal of the generation at once (population x goals x episodes),
  spread over the workers, so the worker count does not change that number.
- A worker process on this machine (``problem.workers`` > 1, or local Ray actors) costs
  ``WORKER_BYTES``: its interpreter, numpy, MuJoCo and the compiled model (measured: 70 MiB).
- ``pbml evaluate`` runs its episodes one after another in one environment, so what grows with
  ``--episodes`` is its report: each episode's reset seed (the list is made before the first
  episode), return, length and printed line, ``EPISODE_RECORD_BYTES`` each (measured peak:
  about 300 bytes an episode with the text report, 200 with ``--json``).

A refusal names each part of the estimate with its size, largest first, and the settings that
shrink the largest ones, so the one line says what is too big and what to change.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.errors import UserError

__all__ = [
    "EPISODE_RECORD_BYTES",
    "MEMBER_OVERHEAD",
    "PARAM_COPIES",
    "SIMULATION_BYTES",
    "WORKER_BYTES",
    "MemoryLimitError",
    "Need",
    "available_bytes",
    "check_fits",
    "check_needs",
    "episode_records_bytes",
    "format_bytes",
    "local_worker_processes",
    "population_bytes",
    "rollout_bytes",
    "run_needs",
]

PARAM_COPIES = 8
MEMBER_OVERHEAD = 1024
SIMULATION_BYTES = 16 * 1024
WORKER_BYTES = 128 * 1024 * 1024
EPISODE_RECORD_BYTES = 512


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


def episode_records_bytes(episodes: int) -> int:
    """Bytes ``pbml evaluate`` holds for the report of ``episodes`` episodes (their seeds,
    returns, lengths and lines); the simulation itself is one environment, whatever the count."""
    return episodes * EPISODE_RECORD_BYTES


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


@dataclass(frozen=True)
class Need:
    """One part of a memory estimate: what it is, its bytes, and the settings that shrink it."""

    what: str
    bytes: int
    settings: tuple[str, ...]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def run_needs(
    population_size: int,
    num_params: int,
    num_modules: int,
    episodes: int = 0,
    goals: int = 1,
    worker_processes: int = 0,
    policy_setting: str | None = None,
) -> list[Need]:
    """The parts of a run's estimate: the population, the simulations of one generation
    (members x goals x episodes, when the problem simulates), and the worker processes.
    ``policy_setting`` names the key that sizes a genome (``problem.hidden``), if any."""
    needs = [
        Need(
            f"population {population_size:,} x {num_params:,} parameters",
            population_bytes(population_size, num_params, num_modules),
            ("population_size", *((policy_setting,) if policy_setting else ())),
        )
    ]
    if episodes:
        count = population_size * goals * episodes
        parts = [f"population {population_size:,}"]
        if goals > 1:
            parts.append(_plural(goals, "goal"))
        parts.append(_plural(episodes, "episode"))
        settings = ["population_size"]
        settings += ["schedule.goals_per_generation"] if goals > 1 else []
        settings += ["problem.episodes"]
        needs.append(
            Need(
                f"{' x '.join(parts)} = {count:,} episodes simulated at once",
                rollout_bytes(count),
                tuple(settings),
            )
        )
    if worker_processes > 1:
        needs.append(
            Need(
                f"{worker_processes:,} worker processes",
                worker_processes * WORKER_BYTES,
                ("problem.workers",),
            )
        )
    return needs


def check_needs(needs: list[Need], what: str) -> None:
    """Raise :class:`MemoryLimitError` when the parts together exceed what is available.

    The message lists every part with its size, largest first, and the settings to lower,
    those of the largest parts first.
    """
    needed = sum(need.bytes for need in needs)
    available = available_bytes()
    if available is None or needed <= available:
        return
    ordered = sorted(needs, key=lambda need: -need.bytes)
    parts = ", ".join(f"{need.what} ({format_bytes(need.bytes)})" for need in ordered)
    settings: list[str] = []
    for need in ordered:
        if need.bytes * 10 >= needed or not settings:  # parts that matter
            settings += [s for s in need.settings if s not in settings]
    lower = ", ".join(settings[:-1]) + (" or " if len(settings) > 1 else "") + settings[-1]
    raise MemoryLimitError(
        f"{what} needs about {format_bytes(needed)} of memory, more than the "
        f"{format_bytes(available)} available: {parts}; lower {lower}"
    )


def local_worker_processes(settings: Any) -> int:
    """Worker processes a MuJoCo problem's settings start on this machine (0 for none, and for
    Ray actors on a cluster)."""
    workers = getattr(settings, "workers", 1)
    if not isinstance(workers, int) or workers <= 1:
        return 0
    remote = getattr(settings, "backend", "local") == "ray" and getattr(settings, "ray_address", "")
    return 0 if remote else workers
