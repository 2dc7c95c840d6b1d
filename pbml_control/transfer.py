"""Transfer: move evolved populations to a new target and measure how fast they adapt.

The paper (Frans & Witkowski, 2021) asks whether genomes evolved on shifting goals adapt
faster to something new than genomes evolved by a baseline or fresh random genomes. This module
runs that comparison through the registry and the problem protocol only (no MuJoCo or torch
import here), so it works for the toy worlds (``square`` -> ``hard_square``) and for every
MuJoCo task alike.

Definitions (ours; the paper gives none):

- **Arm**: where the starting genomes come from. A source run's arm is labelled by its config
  (:func:`arm_label`: the selection scheme, ``static`` for PBML with a static schedule,
  ``<scheme>-static`` for another scheme with one), or explicitly with ``LABEL=PATH``. The
  ``fresh`` arm starts from freshly initialised genomes (:func:`~pbml_control.loop.initial_state`)
  with a fresh problem state.
- **Transfer start state**: the source run's latest checkpoint, whole: every member's parameters
  *and* mutation parameters, its ids and ``next_id``; birth generations are shifted so that
  ages are kept and generation 0 is the transfer. The source problem state (the observation
  normaliser of a MuJoCo run) is loaded into the target problem.
- **Target**: a registry problem name (``hard_square``), or for a MuJoCo source a task or
  variant name (``HalfCheetahVel``, ``HalfCheetahVel-Heavy``, another task with the same
  observation and action sizes). The genome layout must match, else :class:`ConfigError`.
- **Adaptation** (identical for every arm): the first source run's config with
  ``selection.scheme = "pbml"`` (its death rate and parent pressure kept), the first source's
  mutation settings, and a ``static`` schedule whose goal is drawn per seed from the ``goals``
  split (``heldout`` = goals never seen in training). Overrides (``--set``) change any of it;
  ``schedule.kind=random`` becomes a cyclic schedule with one drawn goal per epoch. Goals come
  from a stream of their own (``transfer-goal``), never from the source runs' goal stream.
  Every arm sees the same seeds, goals, episode seeds and number of generations ``N``; the
  population is evaluated ``N + 1`` times: generation 0 is the **zero-shot** fitness (before any
  evolution), generation ``N`` the final one.
- **Seeds**: transfer seed ``s`` keys the adaptation's random streams. An arm with one source run
  uses it for every seed; an arm with as many runs as seeds pairs them in order of source seed.
- **Threshold** on the population *mean* fitness, per seed: an absolute value if given, else
  ``T_s = F0_s + fraction * (Fmax_s - F0_s)`` with ``F0_s`` the fresh arm's zero-shot mean
  fitness on seed ``s`` (the lowest zero-shot mean of any arm when there is no fresh arm) and
  ``Fmax_s`` the highest mean fitness any arm reached on seed ``s``; ``fraction = 0.5``. When
  no arm rises above ``F0_s`` the seed has no threshold and no arm reaches it.
  **Generations to threshold** = the first generation whose mean fitness is >= T_s; an arm that
  never reaches it within ``N`` counts as ``N + 1`` (a lower bound; ``reached`` says how many
  seeds did).
- Per arm and seed we also report fitness at generation ``k`` (mean and best), final mean and
  best, and the area under the mean-fitness curve (its average over generations 0..N).
  Aggregates are the mean and 95% Student-t interval over seeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.checkpoint import Checkpoint, CheckpointError, find_checkpoint, load_checkpoint
from pbml_control.config import ConfigError, ProblemConfig, RunConfig, apply_overrides
from pbml_control.loop import EvolutionState, Metrics, evolve, initial_state
from pbml_control.problem import Problem
from pbml_control.registry import PROBLEMS, make_problem
from pbml_control.rng import generator
from pbml_control.transfer_metrics import (
    FRESH,
    METRICS,
    aggregate,
    finite_or_none,
    mean_ci,
    seed_metrics,
)

__all__ = [
    "DEFAULT_K",
    "DEFAULT_THRESHOLD_FRACTION",
    "FRESH",
    "METRICS",
    "SourceRun",
    "TransferJob",
    "TransferPlan",
    "adaptation_config",
    "aggregate",
    "arm_label",
    "load_source",
    "mean_ci",
    "plan_transfer",
    "resolve_target",
    "run_job",
    "run_plan",
    "start_state",
    "transfer_state",
]

DEFAULT_K = 10
DEFAULT_THRESHOLD_FRACTION = 0.5
# Top-level keys the transfer sets itself; --set may not change them.
_FIXED_KEYS = ("seed", "generations", "population_size")


# ----------------------------------------------------------------------------------------------
# Sources and targets
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRun:
    """A run folder (or one checkpoint of it) that seeds one arm."""

    label: str
    run_dir: Path
    checkpoint_path: Path
    config: RunConfig
    generation: int  # the checkpoint's generation: how long the source evolved
    population_size: int


def arm_label(config: RunConfig) -> str:
    """An arm's name from its config: the scheme, and whether its environment was static."""
    scheme = config.selection.scheme
    if config.schedule.kind == "static":
        return "static" if scheme == "pbml" else f"{scheme}-static"
    return scheme


def load_source(spec: str) -> SourceRun:
    """``PATH`` or ``LABEL=PATH``; PATH is a run folder or a checkpoint ``gen_*.json``."""
    label, sep, raw = spec.partition("=")
    if not sep:
        label, raw = "", spec
    elif not label or label == FRESH:
        raise ConfigError(f"bad source {spec!r}: the label must be non-empty and not {FRESH!r}")
    path = Path(raw)
    if not path.exists():
        raise ConfigError(f"source run not found: {path}")
    ckpt_path = find_checkpoint(path)
    if ckpt_path is None:
        raise ConfigError(f"source run {path} has no checkpoint (checkpoints/gen_*.json)")
    run_dir = ckpt_path.parent.parent
    ckpt = load_checkpoint(ckpt_path)
    config = RunConfig.from_dict(ckpt.config)
    return SourceRun(
        label=label or arm_label(config),
        run_dir=run_dir,
        checkpoint_path=ckpt_path,
        config=config,
        generation=ckpt.generation,
        population_size=len(ckpt.population),
    )


def resolve_target(source: ProblemConfig, target: str) -> ProblemConfig:
    """The target problem: a registry name, or a task/variant name for a MuJoCo source.

    A registry name equal to the source's keeps the source's settings; another one starts from
    that problem's defaults (``square`` -> ``hard_square`` uses Hard Square's geometry). A task
    name keeps every MuJoCo setting of the source (policy size, episode length) but the task.
    """
    if target in PROBLEMS and target != "mujoco":
        if target == source.name:
            return source
        return ProblemConfig(target, {})
    if source.name == "mujoco":
        return ProblemConfig("mujoco", {**source.params, "task": target})
    raise ConfigError(
        f"unknown target {target!r}: expected a problem name ({', '.join(sorted(PROBLEMS))})"
        " or, for a MuJoCo source, a task or variant name"
    )


def transfer_state(ckpt: Checkpoint, problem: Problem) -> EvolutionState:
    """Generation 0 of a transfer: the checkpoint's whole population on ``problem``.

    Loads the source problem state (observation normaliser) into ``problem``. Birth generations
    move by the source's generation so ages are kept while generation 0 is the transfer.
    """
    if ckpt.population.layout != problem.layout:
        raise ConfigError(
            "incompatible policy layout: source genomes have "
            f"{_layout_text(ckpt.population.layout)}, the target expects "
            f"{_layout_text(problem.layout)}"
        )
    problem.load_state_dict(ckpt.problem_state)
    population = dataclasses.replace(
        ckpt.population.forget_fitness(),  # fitness under the source's goals says nothing here
        birth_generation=ckpt.population.birth_generation - ckpt.generation,
    )
    return EvolutionState(generation=0, next_id=ckpt.next_id, population=population)


def _layout_text(layout: Any) -> str:
    return " ".join(f"{n}{list(s)}" for n, s in zip(layout.names, layout.shapes, strict=True))


def adaptation_config(
    reference: RunConfig,
    target: ProblemConfig,
    *,
    goals: str,
    generations: int,
    seed: int,
    population_size: int,
    overrides: Sequence[str] = (),
) -> RunConfig:
    """The run config every arm adapts with (see the module docstring)."""
    for text in overrides:
        key = text.split("=", 1)[0].strip()
        if key in _FIXED_KEYS:
            raise ConfigError(f"--set {key} is fixed by the transfer (use its own option)")
    data = reference.to_dict()
    data.update(seed=seed, generations=generations + 1, population_size=population_size)
    data["problem"] = {"name": target.name, "params": dict(target.params)}
    data["selection"]["scheme"] = "pbml"
    data["schedule"] = {"kind": "static", "period": reference.schedule.period, "split": goals}
    return RunConfig.from_dict(apply_overrides(data, list(overrides)))


# ----------------------------------------------------------------------------------------------
# Plan: everything checked before anything runs or is written
# ----------------------------------------------------------------------------------------------


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
                    f"incompatible policy layout: {run.run_dir} has {_layout_text(layout)}, "
                    f"target {first.problem.params.get('task', first.problem.name)} expects "
                    f"{_layout_text(problem.layout)}"
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


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------


def start_state(job: TransferJob, problem: Problem) -> EvolutionState:
    """Generation 0 of a job: the source's population (and problem state), or founders."""
    if job.source is None:
        return initial_state(job.config, problem)
    return transfer_state(load_checkpoint(job.source.checkpoint_path), problem)


def run_job(job: TransferJob) -> dict[str, Any]:
    """Adapt one arm on one seed; returns its curves (JSON-ready, NaN as None)."""
    problem = make_problem(job.config.problem)
    rows: list[Metrics] = []
    try:
        state = start_state(job, problem)
        evolve(state, job.config, problem, [lambda _s, row, _t: rows.append(row)])
    finally:
        problem.close()
    modules = [k.split("/", 1)[1] for k in rows[0] if str(k).startswith("log_sigma/")]
    return {
        "arm": job.arm,
        "seed": job.seed,
        "source_run": None if job.source is None else str(job.source.run_dir),
        "source_seed": None if job.source is None else job.source.config.seed,
        "source_generation": None if job.source is None else job.source.generation,
        "goals": [list(r["goal"]) for r in rows],  # type: ignore[arg-type]
        "fitness_mean": [finite_or_none(r["fitness_mean"]) for r in rows],
        "fitness_best": [finite_or_none(r["fitness_best"]) for r in rows],
        "fitness_median": [finite_or_none(r["fitness_median"]) for r in rows],
        "log_sigma": {m: [float(r[f"log_sigma/{m}"]) for r in rows] for m in modules},  # type: ignore[arg-type]
        "evaluations": len(rows),
        "members_evaluated": len(rows) * len(state.population),
        "env_steps": int(sum(float(r.get("env_steps", 0) or 0) for r in rows)),  # type: ignore[arg-type]
    }


def _run_indexed(item: tuple[int, TransferJob]) -> tuple[int, dict[str, Any]]:
    return item[0], run_job(item[1])


def run_plan(plan: TransferPlan, processes: int = 1, cache: Any = None) -> dict[str, Any]:
    """Run every job (in ``processes`` processes; results do not depend on it) and aggregate.

    ``cache`` (a :class:`~pbml_control.transfer_cache.JobCache`) supplies finished jobs and
    keeps each new one as soon as it finishes, so a killed transfer loses at most the jobs in
    flight.
    """
    results: dict[int, dict[str, Any]] = {}
    for i, job in enumerate(plan.jobs):
        found = cache.load(job) if cache is not None else None
        if found is not None:
            results[i] = found
    todo = [i for i in range(len(plan.jobs)) if i not in results]

    def keep(i: int, result: dict[str, Any]) -> None:
        results[i] = result
        if cache is not None:
            cache.save(plan.jobs[i], result)

    if processes > 1 and len(todo) > 1:
        from pbml_control.interrupts import spawn_context

        with spawn_context().Pool(min(processes, len(todo))) as pool:
            items = [(i, plan.jobs[i]) for i in todo]
            for i, result in pool.imap_unordered(_run_indexed, items, chunksize=1):
                keep(i, result)  # as each finishes, not in plan order
    else:
        for i in todo:
            keep(i, run_job(plan.jobs[i]))
    return aggregate(plan, [results[i] for i in range(len(plan.jobs))])


# ----------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------


__all__ += ["CheckpointError", "seed_metrics"]
