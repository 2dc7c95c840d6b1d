"""A run on disk: its folder, metrics files, checkpoints, and resuming.

Layout of a run folder::

    config.json          the resolved configuration (and nothing else decides the run)
    metrics.jsonl        one deterministic row per generation
    timing.jsonl         wall-clock numbers per generation (kept apart: they never repeat)
    checkpoints/         gen_XXXXXX.npz + gen_XXXXXX.json, see checkpoint.py
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.checkpoint import (
    Checkpoint,
    CheckpointError,
    git_commit,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from pbml_control.config import ConfigError, RunConfig
from pbml_control.loop import EvolutionState, Metrics, budget_spent, evolve, initial_state
from pbml_control.problem import Problem
from pbml_control.registry import make_problem

__all__ = ["RunError", "RunInterrupted", "TrainResult", "read_metrics", "train"]

# Keys a resumed run may change: they extend or shorten the run, or move it to other hardware
# (results do not depend on the backend or the number of workers), without changing its course.
RESUMABLE_KEYS = frozenset(
    {
        "generations",
        "max_env_steps",
        "problem.params.workers",
        "problem.params.backend",
        "problem.params.ray_address",
    }
)


class RunError(ValueError):
    """A run folder problem a user can fix (exists already, differs from config, ...)."""


class RunInterrupted(Exception):
    """SIGINT or SIGTERM arrived; the run saved a checkpoint and can be resumed."""

    def __init__(self, run_dir: Path, generation: int) -> None:
        super().__init__(f"interrupted at generation {generation}; checkpoint saved")
        self.run_dir = run_dir
        self.generation = generation


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    state: EvolutionState
    last_metrics: Metrics | None


def _dumps_row(row: Metrics) -> str:
    """One metrics row; NaN and inf become null so every JSON reader accepts the file."""
    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }
    return json.dumps(clean, sort_keys=True)


def _jsonl(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(text, row) of each line of a JSONL file; a line that does not parse (the torn last
    line of a killed writer) is dropped."""
    if not path.exists():
        return []
    parsed = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            parsed.append((line, json.loads(line)))
        except json.JSONDecodeError:
            continue
    return parsed


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl; a torn last line from a crash is skipped."""
    return [row for _, row in _jsonl(Path(run_dir) / "metrics.jsonl")]


def _truncate_jsonl(path: Path, before_generation: int) -> None:
    """Keep rows of generations already covered by the checkpoint we resume from."""
    if not path.exists():
        return
    kept = [
        line for line, row in _jsonl(path) if row.get("generation", math.inf) < before_generation
    ]
    atomic_write_text(path, "".join(f"{line}\n" for line in kept))


def _config_difference(stored: dict[str, Any], current: dict[str, Any], prefix: str = "") -> str:
    for key in sorted(set(stored) | set(current)):
        if f"{prefix}{key}" in RESUMABLE_KEYS:
            continue
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _config_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}"
    return ""


@contextmanager
def _interrupts_as_exceptions():
    """Turn SIGTERM into KeyboardInterrupt so both save a checkpoint on the way out."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def resolve_run_config(
    run_dir: Path, config: RunConfig | None, resume: bool, overwrite: bool
) -> RunConfig:
    """Check the run folder against the request, without writing anything."""
    config_path = run_dir / "config.json"
    if resume:
        if not config_path.exists():
            raise RunError(f"cannot resume: {run_dir} has no config.json")
        try:
            stored_config = RunConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"cannot resume: {config_path} is corrupt") from None
        if config is None:
            return stored_config
        diff = _config_difference(stored_config.to_dict(), config.to_dict())
        if diff:
            raise RunError(f"cannot resume: config key {diff!r} differs from the run's")
        return config
    if config is None:
        raise RunError("a config file is needed unless --resume is given")
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise RunError(f"run folder {run_dir} exists; pass --resume or --overwrite")
    return config


def create_run_dir(run_dir: Path, config: RunConfig) -> None:
    """A fresh folder holding only the resolved config (an old one goes with --overwrite).

    The folder is built under a hidden name and renamed into place, so a crash never leaves a
    run folder without its config.json (which could be neither resumed nor started afresh).
    """
    partial = run_dir.with_name(f".{run_dir.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    atomic_write_text(
        partial / "config.json", json.dumps(config.to_dict(), indent=1, sort_keys=True)
    )
    if run_dir.exists():
        shutil.rmtree(run_dir)
    os.replace(partial, run_dir)


def _checkpoint(
    state: EvolutionState, config: RunConfig, problem_state: dict[str, np.ndarray], commit: str
) -> Checkpoint:
    return Checkpoint(
        generation=state.generation,
        next_id=state.next_id,
        population=state.population,
        problem_state=problem_state,
        config=config.to_dict(),
        meta={"git_commit": commit, "seed": config.seed},
    )


def _resume_state(run_dir: Path, config: RunConfig, problem: Problem) -> EvolutionState:
    path = latest_checkpoint(run_dir / "checkpoints")
    if path is None:
        return initial_state(config, problem)
    ckpt = load_checkpoint(path)
    diff = _config_difference(ckpt.config, config.to_dict())
    if diff:
        raise CheckpointError(f"checkpoint {path.name} was written with another {diff!r}")
    if ckpt.population.layout != problem.layout:
        raise CheckpointError(
            f"checkpoint {path.name} holds genomes of layout {ckpt.population.layout.to_json()}, "
            f"the problem expects {problem.layout.to_json()}"
        )
    problem.load_state_dict(ckpt.problem_state)
    # Past every check, so a refused resume changes nothing on disk.
    for stale in (run_dir / "checkpoints").glob(".gen_*.tmp"):
        stale.unlink()  # left by a process killed mid-write; never read
    for name in ("metrics.jsonl", "timing.jsonl"):
        _truncate_jsonl(run_dir / name, ckpt.generation)
    return EvolutionState(ckpt.generation, ckpt.next_id, ckpt.population)


def _validate_goals(config: RunConfig, problem: Problem) -> None:
    """Goals written in the config must lie in the problem's goal space."""
    check = getattr(problem, "validate_goal", None)
    for goal in config.schedule.goals if check else ():
        try:
            check(np.asarray(goal, dtype=np.float64))
        except ValueError as exc:
            raise ConfigError(f"schedule.goals: {exc}") from None


def train(
    run_dir: str | Path,
    config: RunConfig | None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[EvolutionState, Metrics, float], None] | None = None,
    problem_runtime: dict[str, Any] | None = None,
) -> TrainResult:
    """Train (or resume) a run in ``run_dir``; raises ConfigError/RunError on bad input."""
    run_dir = Path(run_dir)
    config = resolve_run_config(run_dir, config, resume, overwrite)
    problem = make_problem(config.problem, **(problem_runtime or {}))
    try:
        _validate_goals(config, problem)
        commit = git_commit()  # once per run: it starts a subprocess
        folder = run_dir / "checkpoints"
        if resume:
            state = _resume_state(run_dir, config, problem)
        else:
            state = initial_state(config, problem)
            create_run_dir(run_dir, config)
            save_checkpoint(folder, _checkpoint(state, config, problem.state_dict(), commit))
        # The newest finished generation, with the problem state that belongs to it: an
        # interrupt may land after evaluate() has already updated the problem (its observation
        # statistics) for a generation whose selection never finished.
        latest: dict[str, Any] = {"state": state, "problem": problem.state_dict(), "row": None}

        metrics_file = (run_dir / "metrics.jsonl").open("a", encoding="utf-8")
        timing_file = (run_dir / "timing.jsonl").open("a", encoding="utf-8")

        def record(new_state: EvolutionState, metrics: Metrics, seconds: float) -> None:
            metrics_file.write(_dumps_row(metrics) + "\n")
            metrics_file.flush()
            steps = float(metrics.get("env_steps", 0) or 0)
            timing = {
                "generation": metrics["generation"],
                "eval_seconds": seconds,
                "steps_per_second": steps / seconds if seconds > 0 and steps else None,
                "unix_time": time.time(),
            }
            timing_file.write(json.dumps(timing) + "\n")
            timing_file.flush()
            problem_state = problem.state_dict()
            every = config.checkpoint_every
            last = new_state.generation >= config.generations or budget_spent(config, problem)
            if new_state.generation % every == 0 or last:
                save_checkpoint(
                    folder,
                    _checkpoint(new_state, config, problem_state, commit),
                    keep=config.keep_checkpoints,
                )
            latest.update(state=new_state, problem=problem_state, row=metrics)
            if progress is not None:
                progress(new_state, metrics, seconds)

        try:
            with _interrupts_as_exceptions():
                state = evolve(state, config, problem, [record])
        except KeyboardInterrupt:
            save_checkpoint(
                folder,
                _checkpoint(latest["state"], config, latest["problem"], commit),
                keep=config.keep_checkpoints,
            )
            raise RunInterrupted(run_dir, latest["state"].generation) from None
        finally:
            metrics_file.close()
            timing_file.close()
        return TrainResult(run_dir, state, latest["row"])
    finally:
        problem.close()
