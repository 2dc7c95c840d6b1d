"""From a run folder to one genome a user can keep: pick a member, save it, export it.

A run's checkpoint holds the population after selection, whose newest members have not been
evaluated yet, so "best" means: evaluate the whole population once on a goal (the run's
current goal by default) with the run's own evaluator, and take the highest fitness. The same
task, policy and evaluator code as training is used; nothing is copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.checkpoint import Checkpoint, CheckpointError, latest_checkpoint, load_checkpoint
from pbml_control.config import ConfigError, RunConfig
from pbml_control.registry import make_problem
from pbml_control.schedules import GoalSchedule

__all__ = ["PickedMember", "load_run_checkpoint", "pick_member", "save_member"]


@dataclass(frozen=True)
class PickedMember:
    index: int  # row in the checkpoint's population
    member_id: int
    goal: np.ndarray
    fitness: float | None  # on ``goal``; None when picked by id without evaluation


def load_run_checkpoint(path: str | Path) -> Checkpoint:
    """A run folder (its newest checkpoint) or one checkpoint file (.json or .npz)."""
    path = Path(path)
    if path.is_dir():
        record = latest_checkpoint(path / "checkpoints")
        if record is None:
            raise CheckpointError(f"{path} holds no checkpoint (expected {path}/checkpoints/)")
        return load_checkpoint(record)
    return load_checkpoint(path)


def run_goal(ckpt: Checkpoint, problem: Any) -> np.ndarray:
    """The goal the run was on at its checkpoint's generation."""
    config = RunConfig.from_dict(ckpt.config)
    schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
    return schedule.goal(max(ckpt.generation - 1, 0))


def pick_member(
    ckpt: Checkpoint, problem: Any, member: str = "best", goal: np.ndarray | None = None
) -> PickedMember:
    """``best`` (highest fitness on ``goal``), ``rank:K`` (K-th best) or ``id:N`` / ``N``."""
    config = RunConfig.from_dict(ckpt.config)
    goal = run_goal(ckpt, problem) if goal is None else np.asarray(goal, dtype=np.float64)
    ids = ckpt.population.ids
    if member == "best" or member.startswith("rank:"):
        rank = 0 if member == "best" else _int(member[5:], member)
        if not 0 <= rank < len(ids):
            raise ConfigError(f"member {member!r}: rank must be in [0, {len(ids) - 1}]")
        fitness = problem.evaluate(ckpt.population.params, goal, config.seed, ckpt.generation)
        values = np.where(np.isfinite(fitness.fitness), fitness.fitness, -np.inf)
        index = int(np.argsort(-values, kind="stable")[rank])
        return PickedMember(index, int(ids[index]), goal, float(fitness.fitness[index]))
    member_id = _int(member[3:] if member.startswith("id:") else member, member)
    matches = np.flatnonzero(ids == member_id)
    if matches.size == 0:
        raise ConfigError(f"member id {member_id} is not in the checkpoint's population")
    return PickedMember(int(matches[0]), member_id, goal, None)


def _int(text: str, member: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"member {member!r}: expected best, rank:K, id:N or N") from None


def open_run(path: str | Path) -> tuple[Checkpoint, Any]:
    """The checkpoint and a problem with the run's state (e.g. observation statistics)."""
    ckpt = load_run_checkpoint(path)
    problem = make_problem(RunConfig.from_dict(ckpt.config).problem)
    if ckpt.population.layout != problem.layout:
        problem.close()
        raise CheckpointError("checkpoint genomes do not match the configured policy layout")
    problem.load_state_dict(ckpt.problem_state)
    return ckpt, problem


def save_member(ckpt: Checkpoint, problem: Any, picked: PickedMember, out: str | Path) -> Path:
    """A pickle-free safetensors genome file with the policy spec and normaliser inside."""
    from pbml_control.policies import save_genome

    pop = ckpt.population
    return save_genome(
        out,
        problem.policy_spec,
        pop.params[picked.index],
        pop.log_sigma[picked.index],
        pop.logit_p[picked.index],
        normalizer_state=problem.normalizer.state_dict(),
        metadata={
            "task": problem.config.task,
            "member_id": picked.member_id,
            "generation": ckpt.generation,
            "goal": [float(g) for g in picked.goal],
            "fitness": picked.fitness,
            "git_commit": ckpt.meta.get("git_commit", "unknown"),
        },
    )
