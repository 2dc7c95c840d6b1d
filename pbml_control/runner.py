"""A run on disk: its folder, metrics files, checkpoints, and resuming.

Layout of a run folder::

    config.json          the resolved configuration (and nothing else decides the run);
                         a resume that changes a key (generations, ...) rewrites it
    resumes.jsonl        one line per resume: when, from where, what changed (resume_record.py)
    metrics.jsonl        one deterministic row per generation
    timing.jsonl         wall-clock numbers per generation (kept apart: they never repeat)
    tb/                  TensorBoard event files, with --tensorboard (tensorboard_log.py)
    checkpoints/         gen_XXXXXX.npz + gen_XXXXXX.json, see checkpoint.py
    .lock                held by the one process writing the run (runlock.py)

Everything a request can be refused for is checked before the first write: the config, the
run folder (runfolder.py), the memory the run needs (memory.py), and on resume the lock and
the checkpoint record.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from pbml_control.checkpoint import (
    Checkpoint,
    CheckpointError,
    git_commit,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from pbml_control.config import ConfigError, RunConfig, config_from_json, read_config_text
from pbml_control.errors import UserError
from pbml_control.interrupts import ignore_interrupts, interrupts_as_exceptions, raise_if_stopped
from pbml_control.loop import EvolutionState, Metrics, budget_spent, generations, initial_state
from pbml_control.memory import check_needs, local_worker_processes, run_needs
from pbml_control.metrics_log import (
    dumps_row,
    generation_of,
    kept_lines,
    read_jsonl,
    read_metrics,
    rewrite_jsonl,
)
from pbml_control.normalised import Normaliser
from pbml_control.problem import Problem
from pbml_control.registry import make_problem
from pbml_control.resume_record import config_json, nothing_to_do, record_resume
from pbml_control.runfolder import RunFolderError, check_new_run_dir, create_run_dir
from pbml_control.runlock import RunLock
from pbml_control.tensorboard_log import TensorBoardLog, require

__all__ = ["RunError", "RunInterrupted", "TrainResult", "read_metrics", "train"]

# Keys a resumed run may change: they extend or shorten the run, or move it to other hardware
# (results do not depend on the backend or the number of workers), without changing its course.
RESUMABLE_KEYS = frozenset(
    {
        "generations",
        "max_env_steps",
        "problem.params.workers",
        "problem.params.chunks_per_worker",
        "problem.params.backend",
        "problem.params.ray_address",
    }
)


class RunError(UserError):
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
    # Set when a resumed run had nothing left to run: why (one line), and nothing was written.
    nothing_to_do: str | None = None


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


def stored_config(run_dir: Path, overrides: list[str] | None = None) -> RunConfig:
    """The config a run folder was started with (plus ``--set`` overrides); one line on damage."""
    if not run_dir.exists():
        raise RunError(f"cannot resume: no such run folder {run_dir}")
    if not run_dir.is_dir():
        raise RunError(f"cannot resume: {run_dir} is not a folder")
    path = run_dir / "config.json"
    if not path.exists():
        raise RunError(f"cannot resume: {run_dir} has no config.json")
    text = read_config_text(path, "run config")
    try:
        return config_from_json(text, path, overrides)
    except ConfigError as exc:
        if str(exc).startswith(str(path)):
            raise RunError(f"cannot resume: {exc}") from None
        raise


def resolve_run_config(
    run_dir: Path, config: RunConfig | None, resume: bool, overwrite: bool
) -> RunConfig:
    """Check the run folder against the request, without writing anything."""
    if resume:
        stored = stored_config(run_dir)
        if config is None:
            return stored
        diff = _config_difference(stored.to_dict(), config.to_dict())
        if diff:
            raise RunError(f"cannot resume: config key {diff!r} differs from the run's")
        return config
    if config is None:
        raise RunError("a config file is needed unless --resume is given")
    try:
        check_new_run_dir(run_dir, overwrite)
    except RunFolderError as exc:
        raise RunError(str(exc)) from None
    return config


def check_memory(config: RunConfig, problem: Problem) -> None:
    """Refuse a run whose population (and simulations) would not fit in memory."""
    layout, settings = problem.layout, getattr(problem, "config", None)
    episodes = getattr(settings, "episodes", 0)
    needs = run_needs(
        config.population_size,
        layout.num_params,
        layout.num_modules,
        episodes if isinstance(episodes, int) else 0,
        config.schedule.goals_per_generation,
        local_worker_processes(settings),
        "problem.hidden" if hasattr(settings, "hidden") else None,
    )
    check_needs(needs, "this run")


def _stderr(message: str) -> None:
    print(f"pbml: note: {message}", file=sys.stderr)


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


def _resume_state(
    run_dir: Path,
    config: RunConfig,
    problem: Problem,
    commit: str,
    notify: Callable[[str], None],
) -> EvolutionState:
    """The state a resumed run continues from; call with the run's lock held."""
    path = latest_checkpoint(run_dir / "checkpoints")
    if path is None:
        rows = len(read_metrics(run_dir))
        if rows:
            raise CheckpointError(
                f"cannot resume: {run_dir} has {rows} metrics rows but no checkpoint "
                "(checkpoints/ was deleted or emptied); start again with --overwrite"
            )
        return initial_state(config, problem)  # killed before its first checkpoint
    ckpt = load_checkpoint(path)
    # Through RunConfig first, so keys added to the package since the checkpoint was written
    # compare at their defaults instead of reading as a change.
    stored = RunConfig.from_dict(ckpt.config).to_dict()
    diff = _config_difference(stored, config.to_dict())
    if diff:
        raise CheckpointError(f"checkpoint {path.name} was written with another {diff!r}")
    if ckpt.population.layout != problem.layout:
        raise CheckpointError(
            f"checkpoint {path.name} holds genomes of layout {ckpt.population.layout.to_json()}, "
            f"the problem expects {problem.layout.to_json()}"
        )
    if len(ckpt.population) != config.population_size:
        raise CheckpointError(
            f"checkpoint {path.name} holds {len(ckpt.population)} members, the run "
            f"{config.population_size}"
        )
    problem.load_state_dict(ckpt.problem_state)
    kept = {name: kept_lines(run_dir / name, ckpt.generation) for name in ("metrics.jsonl",)}
    stored = str(ckpt.meta.get("git_commit", "unknown"))
    if "unknown" not in (stored, commit) and stored != commit:
        notify(
            f"{path.name} was written by code version {stored[:12]}, this is {commit[:12]}; "
            "the resumed run may differ from an uninterrupted one"
        )
    # Past every check, so a refused resume changes nothing on disk.
    for stale in (run_dir / "checkpoints").glob(".gen_*.tmp"):
        stale.unlink()  # left by a process killed mid-write (the lock says it is dead)
    for name, lines in kept.items():
        rewrite_jsonl(run_dir / name, lines)
    timing = run_dir / "timing.jsonl"
    if timing.exists():  # wall-clock numbers only: damage there is dropped, not refused
        rewrite_jsonl(
            timing,
            [
                t
                for t, row in read_jsonl(timing)
                if (g := generation_of(row)) is not None and g < ckpt.generation
            ],
        )
    return EvolutionState(ckpt.generation, ckpt.next_id, ckpt.population)


def _append_rows(
    metrics_file: TextIO,
    timing_file: TextIO,
    row: Metrics,
    seconds: float,
    balance: float | None = None,
) -> None:
    """One generation's metrics row and its wall-clock numbers, flushed at once.

    ``balance`` (MuJoCo problems: the mean worker's busy time over the evaluation's wall
    time, ``evaluators.RunTiming``) goes to timing.jsonl only, since it never repeats.
    """
    metrics_file.write(dumps_row(row) + "\n")
    metrics_file.flush()
    steps = float(row.get("env_steps", 0) or 0)
    timing = {
        "generation": row["generation"],
        "eval_seconds": seconds,
        "steps_per_second": steps / seconds if seconds > 0 and steps else None,
        "unix_time": time.time(),
    }
    if balance is not None:
        timing["balance"] = balance
    timing_file.write(json.dumps(timing) + "\n")
    timing_file.flush()


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
    notify: Callable[[str], None] | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train (or resume) a run in ``run_dir``; raises ConfigError/RunError on bad input.

    ``notify`` receives one-line notices (default: printed to stderr), such as a resume under
    another code version. ``tensorboard`` also writes each generation to ``RUN/tb/``
    (tensorboard_log.py; results are the same without it). SIGINT and SIGTERM save a
    checkpoint and raise RunInterrupted; any further signal is ignored until that is done.
    """
    run_dir = Path(run_dir)
    if tensorboard:
        require()
    config = resolve_run_config(run_dir, config, resume, overwrite)
    with interrupts_as_exceptions():
        return _train(
            run_dir, config, resume, overwrite, progress, problem_runtime, notify, tensorboard
        )


def _train(
    run_dir: Path,
    config: RunConfig,
    resume: bool,
    overwrite: bool,
    progress: Callable[[EvolutionState, Metrics, float], None] | None,
    problem_runtime: dict[str, Any] | None,
    notify: Callable[[str], None] | None,
    tensorboard: bool = False,
) -> TrainResult:
    problem = make_problem(config.problem, **(problem_runtime or {}))
    lock: RunLock | None = None
    try:
        check_memory(config, problem)
        _validate_goals(config, problem)
        commit = git_commit()  # once per run: it starts a subprocess
        folder = run_dir / "checkpoints"
        if resume:
            lock = RunLock(run_dir).acquire()
            if lock.stale_pid is not None:  # its holder died without releasing it
                (notify or _stderr)(
                    f"{run_dir} was last written by process {lock.stale_pid}, which was killed; "
                    "resuming from its last checkpoint"
                )
            state = _resume_state(run_dir, config, problem, commit, notify or _stderr)
            spent = problem.state_dict().get("env_steps_total")
            env_steps = None if spent is None else int(spent)
            reason = nothing_to_do(state.generation, config, env_steps)
            if reason is not None:
                return TrainResult(run_dir, state, None, nothing_to_do=reason)
            stored = stored_config(run_dir).to_dict()
            record_resume(run_dir, stored, config, state.generation, env_steps, commit)
        else:
            state = initial_state(config, problem)
            first = _checkpoint(state, config, problem.state_dict(), commit)
            lock = create_run_dir(
                run_dir,
                config_json(config),
                lambda partial: save_checkpoint(partial / "checkpoints", first),
                overwrite,
            )
        # The newest finished generation, with the problem state that belongs to it: an
        # interrupt may land after evaluate() has already updated the problem (its observation
        # statistics) for a generation whose selection never finished.
        problem_state, row = problem.state_dict(), None
        metrics_file = (run_dir / "metrics.jsonl").open("a", encoding="utf-8")
        timing_file = (run_dir / "timing.jsonl").open("a", encoding="utf-8")
        board = TensorBoardLog(run_dir, state.generation) if tensorboard else None
        normaliser = Normaliser.of_problem(problem)
        seen_timing = None  # a generation that evaluated nothing leaves the last one in place
        try:
            for new_state, metrics, seconds in generations(state, config, problem):
                if normaliser is not None:  # goal tasks: 0 = standing still, 1 = perfect
                    metrics = normaliser.add(metrics)
                timing = getattr(problem, "last_timing", None)
                balance = (
                    timing.balance if timing is not None and timing is not seen_timing else None
                )
                seen_timing = timing
                _append_rows(metrics_file, timing_file, metrics, seconds, balance)
                if board is not None:
                    pop = new_state.population
                    board.write(metrics, seconds, pop.log_sigma, pop.layout.names)
                new_problem_state = problem.state_dict()
                last = new_state.generation >= config.generations or budget_spent(config, problem)
                if new_state.generation % config.checkpoint_every == 0 or last:
                    save_checkpoint(
                        folder,
                        _checkpoint(new_state, config, new_problem_state, commit),
                        keep=config.keep_checkpoints,
                    )
                state, problem_state, row = new_state, new_problem_state, metrics
                if progress is not None:
                    progress(state, metrics, seconds)
                raise_if_stopped()
        except KeyboardInterrupt:
            ignore_interrupts()  # a second Ctrl-C must not cut the checkpoint short
            save_checkpoint(
                folder,
                _checkpoint(state, config, problem_state, commit),
                keep=config.keep_checkpoints,
            )
            raise RunInterrupted(run_dir, state.generation) from None
        finally:
            metrics_file.close()
            timing_file.close()
            if board is not None:
                board.close()
        return TrainResult(run_dir, state, row)
    finally:
        ignore_interrupts()  # nor the worker pool's shutdown, which then hung
        problem.close()
        if lock is not None:
            lock.release()
