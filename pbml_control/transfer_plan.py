"""Transfer plans: every source, target, seed and goal checked before anything runs.

A :class:`TransferPlan` lists one :class:`TransferJob` per arm and seed, each with its
adaptation config (goals drawn per seed from the stream ``transfer-goal``). Definitions are in
:mod:`pbml_control.transfer`'s docstring.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbml_control.checkpoint import load_checkpoint
from pbml_control.config import ConfigError, RunConfig
from pbml_control.problem import Problem
from pbml_control.registry import make_problem
from pbml_control.rng import generator
from pbml_control.transfer_metrics import FRESH
from pbml_control.transfer_sources import (
    SourceRun,
    adaptation_config,
    layout_text,
    load_source,
    resolve_target,
)

__all__ = [
    "DEFAULT_K",
    "DEFAULT_THRESHOLD_FRACTION",
    "TransferJob",
    "TransferPlan",
    "merge_plans",
    "plan_transfer",
]

DEFAULT_K = 10
DEFAULT_THRESHOLD_FRACTION = 0.5


@dataclass(frozen=True)
class TransferJob:
    """One arm on one seed."""

    arm: str
    seed: int
    source: SourceRun | None  # None for the fresh arm
    config: RunConfig


@dataclass(frozen=True)
class TransferPlan:
    target: str
    goals: str
    generations: int
    seeds: tuple[int, ...]
    k: int
    threshold: float | None
    threshold_fraction: float
    arms: tuple[str, ...]
    jobs: tuple[TransferJob, ...]
    overrides: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        """The plan as JSON (no timings or absolute machine state: repeated runs compare)."""
        reference = self.jobs[0].config.to_dict()
        reference.pop("seed")
        reference["generations"] = self.generations
        reference["schedule"]["goals"] = "drawn per seed: see each run's goals"
        return {
            "target": self.target,
            "goals": self.goals,
            "generations": self.generations,
            "evaluations_per_seed": self.generations + 1,
            "seeds": list(self.seeds),
            "k": self.k,
            "threshold": self.threshold,
            "threshold_fraction": self.threshold_fraction,
            "arms": list(self.arms),
            "overrides": list(self.overrides),
            "adaptation_config": reference,
        }


def _group(sources: Iterable[SourceRun], seeds: Sequence[int]) -> dict[str, list[SourceRun]]:
    arms: dict[str, list[SourceRun]] = {}
    for source in sources:
        arms.setdefault(source.label, []).append(source)
    for label, runs in arms.items():
        runs.sort(key=lambda r: (r.config.seed, str(r.run_dir)))
        if len(runs) not in (1, len(seeds)):
            raise ConfigError(
                f"arm {label!r} has {len(runs)} source runs; give 1 or one per seed ({len(seeds)})"
            )
        first = runs[0].config.to_dict()
        first.pop("seed")
        for other in runs[1:]:
            data = other.config.to_dict()
            data.pop("seed")
            if data != first:
                raise ConfigError(
                    f"arm {label!r}: {other.run_dir} has another config than {runs[0].run_dir}; "
                    "label them apart with LABEL=PATH"
                )
    return arms


def plan_transfer(
    sources: Sequence[str],
    target: str,
    *,
    generations: int,
    seeds: Sequence[int] = (0, 1, 2),
    goals: str = "heldout",
    fresh: bool = False,
    k: int | None = None,
    threshold: float | None = None,
    threshold_fraction: float = DEFAULT_THRESHOLD_FRACTION,
    overrides: Sequence[str] = (),
) -> TransferPlan:
    """Check every source, the target and the budgets; raises ConfigError/CheckpointError."""
    if not sources:
        raise ConfigError("transfer needs at least one SOURCE_RUN")
    if generations < 1:
        raise ConfigError(f"--generations must be >= 1, got {generations}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--seeds must be distinct non-negative integers, got {list(seeds)}")
    if goals not in ("train", "heldout"):
        raise ConfigError(f"--goals must be train or heldout, got {goals!r}")
    k = min(DEFAULT_K, generations) if k is None else k
    if not 0 <= k <= generations:
        raise ConfigError(f"--k must be in [0, {generations}], got {k}")
    if not 0.0 < threshold_fraction <= 1.0:
        raise ConfigError(f"threshold fraction must be in (0, 1], got {threshold_fraction}")
    if threshold is not None and not math.isfinite(threshold):
        raise ConfigError(f"--threshold must be finite, got {threshold}")

    runs = [load_source(spec) for spec in sources]
    arms = _group(runs, seeds)
    if fresh and FRESH in arms:
        raise ConfigError(f"the label {FRESH!r} is reserved for --fresh")
    sizes = {r.population_size for r in runs}
    if len(sizes) != 1:
        raise ConfigError(f"source populations differ in size {sorted(sizes)}: budgets differ")
    (population_size,) = sizes
    reference = runs[0].config
    target_problem = resolve_target(reference.problem, target)
    for run in runs[1:]:
        if resolve_target(run.config.problem, target) != target_problem:
            raise ConfigError(
                f"source {run.run_dir} has other problem settings than {runs[0].run_dir}"
            )

    configs = {
        seed: adaptation_config(
            reference,
            target_problem,
            goals=goals,
            generations=generations,
            seed=seed,
            population_size=population_size,
            overrides=overrides,
        )
        for seed in seeds
    }
    configs = _check_layouts_and_draw_goals(configs, runs, generations)

    jobs = []
    for label, arm_runs in arms.items():
        for i, seed in enumerate(seeds):
            source = arm_runs[i if len(arm_runs) > 1 else 0]
            jobs.append(TransferJob(label, seed, source, configs[seed]))
    if fresh:
        jobs += [TransferJob(FRESH, seed, None, configs[seed]) for seed in seeds]
    return TransferPlan(
        target=target,
        goals=goals,
        generations=generations,
        seeds=seeds,
        k=k,
        threshold=threshold,
        threshold_fraction=threshold_fraction,
        arms=(*arms, *((FRESH,) if fresh else ())),
        jobs=tuple(jobs),
        overrides=tuple(overrides),
    )


def merge_plans(plans: Sequence[TransferPlan]) -> TransferPlan:
    """One plan from several over the same seeds and goals (say one per arm, each arm adapting
    with its own config), so that every arm shares the per-seed threshold, goals and episode
    seeds."""
    if len({p.jobs[0].config.schedule.goals for p in plans}) != 1:
        raise ValueError("plans to merge must draw the same goals")
    return dataclasses.replace(
        plans[0],
        arms=tuple(a for p in plans for a in p.arms),
        jobs=tuple(j for p in plans for j in p.jobs),
    )


def _check_layouts_and_draw_goals(
    configs: dict[int, RunConfig], runs: Sequence[SourceRun], generations: int
) -> dict[int, RunConfig]:
    """Build the target once: unknown tasks and layout mismatches fail here, before any run.

    The goals are drawn here, from a stream of their own, and written into each seed's config
    (so transfer.json names them). With ``--goals train`` the schedule's own stream would be
    the one a source run of the same seed trained on, which would favour a static source.
    """
    first = next(iter(configs.values()))
    problem = make_problem(first.problem)
    try:
        from pbml_control.runner import check_memory

        check_memory(first, problem)  # one job's population and simulations
        for run in runs:
            layout = load_checkpoint(run.checkpoint_path).population.layout
            if layout != problem.layout:
                raise ConfigError(
                    f"incompatible policy layout: {run.run_dir} has {layout_text(layout)}, "
                    f"target {first.problem.params.get('task', first.problem.name)} expects "
                    f"{layout_text(problem.layout)}"
                )
        return {seed: _with_goals(config, problem, generations) for seed, config in configs.items()}
    finally:
        problem.close()


def _with_goals(config: RunConfig, problem: Problem, generations: int) -> RunConfig:
    """Explicit goals from the stream ``transfer-goal``: static -> 1, random -> one per epoch."""
    schedule = config.schedule
    if schedule.goals:
        return config
    if schedule.kind == "static":
        count, kind = 1, "static"
    elif schedule.kind == "random":
        count, kind = generations // schedule.period + 1, "cyclic"
    else:
        count, kind = schedule.num_cyclic_goals, "cyclic"
    rng = generator(config.seed, "transfer-goal")
    try:
        goals = tuple(
            tuple(float(x) for x in np.atleast_1d(problem.sample_goal(rng, schedule.split)))
            for _ in range(count)
        )
    except ValueError as exc:  # e.g. held-out goals of a task that has no goals
        raise ConfigError(str(exc)) from None
    return dataclasses.replace(
        config, schedule=dataclasses.replace(schedule, kind=kind, goals=goals)
    )
