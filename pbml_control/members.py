"""Choosing members of a checkpoint: ``best``, ``rank:K`` or a member id.

A checkpoint holds the population after selection, and its newest members have never been
evaluated, so ``best`` and ``rank:K`` evaluate the whole population with the run's own problem
(seeded from the run seed and the checkpoint generation, so the choice is reproducible).
``pbml render`` and ``pbml export`` both choose members here. MuJoCo is not imported at module
level: rendering must pick its GL backend before the first import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pbml_control.checkpoint import Checkpoint
    from pbml_control.mujoco_problem import MujocoProblem

__all__ = [
    "Member",
    "MemberError",
    "RunSource",
    "load_source",
    "member_fitness",
    "parse_goal",
    "resolve_checkpoint",
    "select_members",
]


class MemberError(ValueError):
    """A checkpoint, goal or member selector a user can fix; its message is one line."""


@dataclass
class RunSource:
    """A checkpoint with the problem rebuilt from its config, ready to roll out members."""

    path: Path
    checkpoint: Checkpoint
    problem: MujocoProblem
    normalizer_state: dict[str, np.ndarray] | None  # the checkpoint's, frozen for rendering

    @property
    def task_name(self) -> str:
        return str(self.problem.config.task)

    def close(self) -> None:
        self.problem.close()


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder, its ``checkpoints/`` folder or a ``gen_*.json``/``.npz`` -> the record."""
    from pbml_control.checkpoint import find_checkpoint

    path = Path(path)
    if not path.exists():
        raise MemberError(f"no such run folder or checkpoint: {path}")
    found = find_checkpoint(path)
    if found is None:
        raise MemberError(f"no checkpoint in {path} (expected {path / 'checkpoints'}/gen_*.json)")
    return found


def load_source(path: str | Path) -> RunSource:
    """Load the newest checkpoint under ``path`` and rebuild its MuJoCo problem."""
    from pbml_control.checkpoint import load_checkpoint
    from pbml_control.config import RunConfig
    from pbml_control.registry import make_problem

    record = resolve_checkpoint(path)
    ckpt = load_checkpoint(record)
    config = RunConfig.from_dict(ckpt.config)
    if config.problem.name != "mujoco":
        raise MemberError(
            f"{record} is a {config.problem.name!r} run; only MuJoCo runs can be rendered"
        )
    problem = make_problem(config.problem)
    problem.load_state_dict(ckpt.problem_state)
    norm = problem.normalizer.state_dict() if problem.config.obs_normalization else None
    return RunSource(record, ckpt, problem, norm)  # type: ignore[arg-type]


def parse_goal(text: str, source: RunSource) -> np.ndarray:
    """``"1.5"``, ``"0.1,-0.1"`` or ``""`` (no goal) -> a goal the task accepts (checked)."""
    try:  # "" is the goal of a task without goals
        values = [float(x) for x in text.split(",")] if text.strip() else []
        goal = np.array(values, dtype=np.float64)
    except ValueError:
        raise MemberError(f"goal {text!r} is not a number or comma-separated numbers") from None
    if not np.isfinite(goal).all():
        raise MemberError(f"goal {text!r} must be finite")
    dim = source.problem.task.goal_dim
    if goal.shape != (dim,):
        raise MemberError(f"goal {text!r} has {goal.size} value(s); {source.task_name} needs {dim}")
    try:
        source.problem.validate_goal(goal)
    except ValueError as exc:
        raise MemberError(str(exc)) from None
    return goal


@dataclass(frozen=True)
class Member:
    """One population member chosen for the video."""

    index: int  # row in the checkpoint population
    id: int  # the run-wide member id
    label: str  # how it was chosen: "best", "rank 2", "id 17"
    fitness: float | None  # on the shown goals, when the population was evaluated


def member_fitness(source: RunSource, goals: Sequence[np.ndarray]) -> np.ndarray:
    """Fitness of every member, averaged over ``goals``, from the problem's own evaluator.

    Episodes are seeded from the run seed and the checkpoint generation, so the ranking is
    reproducible. The evaluator updates the problem's normaliser as a side effect; rendering
    uses the snapshot taken at load time, so that does not leak into the rollouts.
    """
    seed = int(source.checkpoint.config.get("seed", 0))
    params = source.checkpoint.population.params
    scores = [
        source.problem.evaluate(params, goal, seed, source.checkpoint.generation).fitness
        for goal in goals
    ]
    return np.mean(scores, axis=0)


def select_members(
    source: RunSource, selectors: Sequence[str], goals: Sequence[np.ndarray]
) -> list[Member]:
    """``best`` | ``rank:K`` (1 = best) | a member id -> members, evaluating only if needed."""
    population = source.checkpoint.population
    ids = population.ids.astype(np.int64)
    fitness: np.ndarray | None = None
    order: np.ndarray | None = None
    members = []
    for selector in selectors:
        text = selector.strip().lower()
        if text == "best" or text.startswith("rank:"):
            rank = 1
            if text != "best":
                try:
                    rank = int(text.split(":", 1)[1])
                except ValueError:
                    raise MemberError(f"bad member {selector!r}; use rank:K with K >= 1") from None
                if not 1 <= rank <= len(ids):
                    raise MemberError(f"member rank {rank} out of range 1..{len(ids)}")
            if fitness is None:
                fitness = member_fitness(source, goals)
                order = np.argsort(-np.nan_to_num(fitness, nan=-np.inf), kind="stable")
            assert order is not None
            index = int(order[rank - 1])
            label = "best" if rank == 1 else f"rank {rank}"
        else:
            try:
                member_id = int(text)
            except ValueError:
                raise MemberError(
                    f"bad member {selector!r}; use best, rank:K or a member id"
                ) from None
            hits = np.flatnonzero(ids == member_id)
            if hits.size == 0:
                raise MemberError(
                    f"member id {member_id} is not in {source.path.name} "
                    f"(ids {int(ids.min())}..{int(ids.max())}, {len(ids)} members)"
                )
            index, label = int(hits[0]), f"id {member_id}"
        score = None if fitness is None else float(fitness[index])
        members.append(Member(index, int(ids[index]), label, score))
    return members
