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


def transfer_state(ckpt: Checkpoint, problem: Problem) -> EvolutionState:
    """:func:`transfer_start` from a source run's checkpoint."""
    source = EvolutionState(ckpt.generation, ckpt.next_id, ckpt.population)
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
