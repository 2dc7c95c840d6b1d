"""Choosing members of a checkpoint: ``best``, ``rank:K`` or a member id.

A checkpoint holds the population after selection, and its newest members have never been
evaluated, so ``best`` and ``rank:K`` evaluate the whole population with the run's own problem
(seeded from the run seed and the checkpoint generation, so the choice is reproducible).
``pbml render`` and ``pbml export`` both choose members here. A genome file (``.safetensors``,
or a zoo entry ``zoo:<task>``) is a source too, with one member, ``best``: the same render and
export code then runs it, with a problem built for the genome's task. MuJoCo is not imported at
module level: rendering must pick its GL backend before the first import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pbml_control.errors import UserError

if TYPE_CHECKING:
    from pbml_control.checkpoint import Checkpoint
    from pbml_control.mujoco_problem import MujocoProblem
    from pbml_control.policies import LoadedGenome, PolicySpec

__all__ = [
    "GenomeSource",
    "Member",
    "MemberError",
    "RunSource",
    "Source",
    "load_genome_source",
    "load_source",
    "member_fitness",
    "parse_goal",
    "resolve_checkpoint",
    "select_members",
]


class MemberError(UserError):
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

    @property
    def policy_spec(self) -> PolicySpec:
        return self.problem.policy_spec

    def params(self, member: Member) -> np.ndarray:
        """The member's flat policy parameters."""
        return self.checkpoint.population.params[member.index]

    def close(self) -> None:
        self.problem.close()


@dataclass
class GenomeSource:
    """One saved genome (a file or a zoo entry) with a problem built for its task.

    It offers what render and export read from a :class:`RunSource`, so a genome goes through
    the same rollout and export code as a checkpoint member.
    """

    path: Path
    genome: LoadedGenome
    problem: MujocoProblem

    @property
    def task_name(self) -> str:
        return str(self.problem.config.task)

    @property
    def policy_spec(self) -> PolicySpec:
        return self.genome.spec  # the file's own spec, exactly as a user's export builds it

    @property
    def normalizer_state(self) -> dict[str, np.ndarray] | None:
        return self.genome.normalizer_state

    def params(self, member: Member) -> np.ndarray:
        return self.genome.params

    def member(self) -> Member:
        """The one member: its run-wide id and how it was chosen, as saved in the file."""
        meta = self.genome.metadata
        member_id = meta.get("member_id")
        label = meta.get("chosen_as")
        return Member(
            0,
            member_id if isinstance(member_id, int) else 0,
            label if isinstance(label, str) and label else "genome",
            None,
        )

    def close(self) -> None:
        self.problem.close()


Source = RunSource | GenomeSource


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


def load_source(path: str | Path) -> Source:
    """A run folder or checkpoint (its newest checkpoint, with the run's MuJoCo problem), or a
    genome file or ``zoo:<task>`` (:class:`GenomeSource`)."""
    from pbml_control.checkpoint import load_checkpoint
    from pbml_control.config import RunConfig
    from pbml_control.registry import make_problem
    from pbml_control.zoo import ZooError, genome_path

    try:
        path = genome_path(path)
    except ZooError as exc:
        raise MemberError(str(exc)) from None
    if path.suffix == ".safetensors":
        return load_genome_source(path)
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


def load_genome_source(path: Path) -> GenomeSource:
    """A genome file on the task it names, checked to fit it; problems are one-line errors."""
    from pbml_control.mujoco_problem import genome_problem
    from pbml_control.policies import load_genome

    if not path.is_file():
        raise MemberError(f"genome file not found: {path}")
    try:
        genome = load_genome(path)
    except ValueError as exc:
        raise MemberError(str(exc)) from None
    task = genome.metadata.get("task")
    if not isinstance(task, str) or not task:
        raise MemberError(f"{path} names no task (metadata 'task' is missing)")
    try:
        problem = genome_problem(genome, task)
    except ValueError as exc:
        raise MemberError(f"{path}: {exc}") from None
    return GenomeSource(path, genome, problem)


def parse_goal(text: str, source: Source) -> np.ndarray:
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
        return [source.member() for _ in selectors]
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
