"""Transfer sources and targets: which run seeds an arm, what it moves to, how it starts.

Definitions are in :mod:`pbml_control.transfer`'s docstring; this module loads source runs,
resolves the target problem, builds the start state of generation 0 and the adaptation config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.checkpoint import Checkpoint, find_checkpoint, load_checkpoint
from pbml_control.config import ConfigError, ProblemConfig, RunConfig, apply_overrides
from pbml_control.loop import EvolutionState
from pbml_control.problem import Problem
from pbml_control.registry import PROBLEMS
from pbml_control.transfer_metrics import FRESH

__all__ = [
    "SourceRun",
    "adaptation_config",
    "arm_label",
    "layout_text",
    "load_source",
    "resolve_target",
    "transfer_start",
    "transfer_state",
]

# Top-level keys the transfer sets itself; --set may not change them.
_FIXED_KEYS = ("seed", "generations", "population_size")


@dataclass(frozen=True)
class SourceRun:
    """A run folder (or one checkpoint of it) that seeds one arm."""

    label: str
    run_dir: Path
    checkpoint_path: Path
    config: RunConfig
    generation: int  # the checkpoint's generation: how long the source evolved
    population_size: int
    # Whose mutation parameters the members start with: None (their own), "reset" (the
    # adaptation config's founders' values) or another run's checkpoint (row i takes row i's).
    mutation: str | Path | None = None


def arm_label(config: RunConfig) -> str:
    """An arm's name from its config: the scheme, and whether its environment was static."""
    scheme = config.selection.scheme
    if config.schedule.kind == "static":
        return "static" if scheme == "pbml" else f"{scheme}-static"
    return scheme


MUTATION_SUFFIX = "::mutation="


def load_source(spec: str) -> SourceRun:
    """``PATH`` or ``LABEL=PATH``; PATH is a run folder or a checkpoint ``gen_*.json``.

    A suffix ``::mutation=reset`` or ``::mutation=OTHER`` swaps the members' mutation
    parameters: the founders' values, or those of another run (same population size and layout),
    so the learned policy and the learned mutation function can be transferred apart.
    """
    spec, swap, mutation = spec.partition(MUTATION_SUFFIX)
    source = _load_run(spec)
    if not swap:
        return source
    if mutation == "reset":
        return dataclasses.replace(source, mutation="reset")
    other = _load_run(mutation)
    if other.population_size != source.population_size:
        raise ConfigError(
            f"bad source {spec!r}: mutation parameters from {other.run_dir} are for "
            f"{other.population_size} members, not {source.population_size}"
        )
    return dataclasses.replace(source, mutation=other.checkpoint_path)


def _load_run(spec: str) -> SourceRun:
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


def transfer_start(
    state: EvolutionState, problem_state: dict[str, np.ndarray], problem: Problem
) -> EvolutionState:
    """Generation 0 of a transfer: ``state``'s whole population on ``problem``.

    ``state`` is where a source run stopped (its generation is the next one it would have
    evaluated). Loads the source problem state (observation normaliser) into ``problem``.
    Birth generations move by the source's generation so ages are kept while generation 0 is
    the transfer, and fitness memory is forgotten: it was earned under the source's goals.
    """
    if state.population.layout != problem.layout:
        raise ConfigError(
            "incompatible policy layout: source genomes have "
            f"{layout_text(state.population.layout)}, the target expects "
            f"{layout_text(problem.layout)}"
        )
    problem.load_state_dict(problem_state)
    population = dataclasses.replace(
        state.population.forget_fitness(),
        birth_generation=state.population.birth_generation - state.generation,
    )
    return EvolutionState(generation=0, next_id=state.next_id, population=population)


def transfer_state(
    ckpt: Checkpoint,
    problem: Problem,
    mutation: str | Path | None = None,
    config: RunConfig | None = None,
) -> EvolutionState:
    """:func:`transfer_start` from a source run's checkpoint, with the mutation parameters
    swapped when ``mutation`` says so (``"reset"`` needs the adaptation ``config``)."""
    population = ckpt.population
    if mutation == "reset":
        if config is None:
            raise ValueError("a mutation reset needs the adaptation config")
        n, m = len(population), population.layout.num_modules
        population = dataclasses.replace(
            population,
            log_sigma=np.tile(config.mutation.initial_log_sigma(m), (n, 1)),
            logit_p=np.tile(config.mutation.initial_logit_p(m), (n, 1)),
        )
    elif mutation is not None:
        donor = load_checkpoint(Path(mutation)).population
        if donor.log_sigma.shape != population.log_sigma.shape:
            raise ConfigError(
                f"mutation parameters from {mutation} have shape {donor.log_sigma.shape}, "
                f"the source's {population.log_sigma.shape}"
            )
        population = dataclasses.replace(
            population, log_sigma=donor.log_sigma.copy(), logit_p=donor.logit_p.copy()
        )
    source = EvolutionState(ckpt.generation, ckpt.next_id, population)
    return transfer_start(source, ckpt.problem_state, problem)


def layout_text(layout: Any) -> str:
    """A genome layout as 'name[shape] ...' for error messages."""
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
