"""Choosing members of a checkpoint: ``best``, ``rank:K`` or a member id.

A checkpoint holds the population after selection, and its newest members have never been
evaluated, so ``best`` and ``rank:K`` evaluate the whole population with the run's own
evaluator (seeded from the run seed and the checkpoint generation, so the choice is
reproducible). ``pbml render`` and ``pbml export`` both choose members here, from a source that
:mod:`pbml_control.run_loader` loaded (its names are re-exported here). A genome file
(``.safetensors``, or a zoo entry ``zoo:<task>``) is a source too, with one member, ``best``.
MuJoCo is not imported at module level: rendering must pick its GL backend before the first
import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pbml_control.errors import UserError
from pbml_control.run_loader import (
    GenomeSource,
    RunSource,
    Source,
    load_genome_source,
    load_source,
    resolve_checkpoint,
)

__all__ = [
    "GenomeSource",
    "Member",
    "MemberError",
    "RunSource",
    "Source",
    "genome_member",
    "load_genome_source",
    "load_source",
    "member_fitness",
    "parse_goal",
    "resolve_checkpoint",
    "select_members",
]


class MemberError(UserError):
    """A checkpoint, goal or member selector a user can fix; its message is one line."""


def parse_goal(text: str, source: Source) -> np.ndarray:
    """``"1.5"``, ``"0.1,-0.1"`` or ``""`` (no goal) -> a goal the task accepts (checked)."""
    try:  # "" is the goal of a task without goals
        values = [float(x) for x in text.split(",")] if text.strip() else []
        goal = np.array(values, dtype=np.float64)
    except ValueError:
        raise MemberError(f"goal {text!r} is not a number or comma-separated numbers") from None
    if not np.isfinite(goal).all():
        raise MemberError(f"goal {text!r} must be finite")
    dim = source.task.goal_dim
    if goal.shape != (dim,):
        raise MemberError(f"goal {text!r} has {goal.size} value(s); {source.task_name} needs {dim}")
    try:
        source.evaluator.validate_goal(goal)
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
    """Fitness of every member, averaged over ``goals``, from the run's own evaluator.

    Episodes are seeded from the run seed and the checkpoint generation, so the ranking is
    reproducible. The problem state advances goal by goal, as the training evaluator's would
    over generations; ``source.state`` (what rollouts use) does not change.
    """
    seed = int(source.checkpoint.config.get("seed", 0))
    params = source.checkpoint.population.params
    state, scores = source.state, []
    for goal in goals:
        evaluation, state = source.evaluator.evaluate_population(
            params, goal, seed, source.checkpoint.generation, state
        )
        scores.append(evaluation.fitness)
    return np.mean(scores, axis=0)


def genome_member(source: GenomeSource) -> Member:
    """A genome source's one member: its run-wide id and how it was chosen, as saved."""
    meta = source.genome.metadata
    member_id = meta.get("member_id")
    label = meta.get("chosen_as")
    return Member(
        0,
        member_id if isinstance(member_id, int) else 0,
        label if isinstance(label, str) and label else "genome",
        None,
    )


def select_members(
    source: Source, selectors: Sequence[str], goals: Sequence[np.ndarray]
) -> list[Member]:
    """``best`` | ``rank:K`` (1 = best) | a member id -> members, evaluating only if needed.

    A genome source has one member, so only ``best`` names it; anything else is an error
    rather than a silent substitute.
    """
    if isinstance(source, GenomeSource):
        for selector in selectors:
            if selector.strip().lower() != "best":
                raise MemberError(
                    f"{source.path} holds one genome: --member must be best, got {selector!r}"
                )
        return [genome_member(source) for _ in selectors]
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
