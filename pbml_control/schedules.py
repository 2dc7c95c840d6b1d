"""Goal schedules: when and how the task's goal moves.

The generation axis is cut into epochs of ``period`` generations; the goal is constant within
an epoch. ``random`` draws each epoch's goal from the task's goal space with a stream keyed by
(seed, epoch), so any generation's goal is known without replaying the run. ``cyclic`` walks a
fixed list of goals. ``static`` never moves: the "static environment" control of the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pbml_control.rng import generator

__all__ = ["KINDS", "GoalSchedule", "ScheduleConfig"]

KINDS = ("static", "random", "cyclic")
GoalSampler = Callable[[np.random.Generator, str], np.ndarray]


@dataclass(frozen=True)
class ScheduleConfig:
    kind: str = "random"
    period: int = 10  # K: generations between goal shifts
    goals: tuple[tuple[float, ...], ...] = ()  # for cyclic (or a fixed static goal)
    num_cyclic_goals: int = 4  # drawn from the goal space when ``goals`` is empty
    # "heldout" for transfer to unseen goals; "all", the whole goal space, for a controller
    # meant to serve every goal (then nothing is held out)
    split: str = "train"
    # Goals every member runs per generation (random kind only): fitness is the mean return
    # over them, which selects for one policy that serves the whole goal region at once.
    goals_per_generation: int = 1
    # Goal j of a set from the j-th of k equal slices of the region (stratified sampling): every
    # set spans the region, e.g. always two forward and two backward speeds for HalfCheetahVel,
    # so fitness is not swayed by which part of the region an epoch happened to draw.
    stratified: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"schedule.kind must be one of {KINDS}, got {self.kind!r}")
        if self.period < 1:
            raise ValueError(f"schedule.period must be >= 1, got {self.period}")
        if self.split not in ("train", "heldout", "all"):
            raise ValueError(
                f"schedule.split must be 'train', 'heldout' or 'all', got {self.split!r}"
            )
        if self.num_cyclic_goals < 1:
            raise ValueError("schedule.num_cyclic_goals must be >= 1")
        if self.goals_per_generation < 1:
            raise ValueError(
                f"schedule.goals_per_generation must be >= 1, got {self.goals_per_generation}"
            )
        if self.goals_per_generation > 1 and (self.kind != "random" or self.goals):
            raise ValueError("schedule.goals_per_generation > 1 needs kind = 'random' and no goals")
        if self.stratified and self.goals_per_generation < 2:
            raise ValueError("schedule.stratified needs schedule.goals_per_generation >= 2")


def _goal_stream(split: str) -> str:
    """Each split has its own stream: held-out goals must not mirror the training goals that
    the same seed and epoch give (a transfer would then favour a static source by design)."""
    return "goal" if split == "train" else f"goal-{split}"


class GoalSchedule:
    """Maps a generation to its goal, deterministically from the run seed."""

    def __init__(self, config: ScheduleConfig, sample_goal: GoalSampler, seed: int) -> None:
        self.config = config
        self._sample = sample_goal
        self._seed = seed
        self._cycle = [np.asarray(g, dtype=np.float64) for g in config.goals]
        if config.kind == "cyclic" and not self._cycle:
            self._cycle = [
                sample_goal(generator(seed, f"cycle-{_goal_stream(config.split)}", i), config.split)
                for i in range(config.num_cyclic_goals)
            ]

    def epoch(self, generation: int) -> int:
        if self.config.kind == "static":
            return 0
        return generation // self.config.period

    def is_shift(self, generation: int) -> bool:
        """True on the first generation of a new goal (not at generation 0)."""
        return generation > 0 and self.epoch(generation) != self.epoch(generation - 1)

    def _set_member(self, stream: str, epoch: int, j: int, k: int) -> np.ndarray:
        # only samplers of goal-set problems take a stratum, so it is passed only when asked for
        extra = {"stratum": (j, k)} if self.config.stratified else {}
        rng = generator(self._seed, stream, epoch, j)
        return np.asarray(self._sample(rng, self.config.split, **extra), dtype=np.float64)

    def goal(self, generation: int) -> np.ndarray:
        """This generation's goal (goal_dim,), or (k, goal_dim) with k goals per generation.

        With k > 1, goal j of an epoch is an independent draw from its own stream
        (seed, split, epoch, j), so a set is known without replaying the run; with
        ``stratified`` it is drawn from the j-th of k equal slices of the region.
        """
        k = self.config.goals_per_generation
        if k > 1:
            stream = f"{_goal_stream(self.config.split)}-set"
            epoch = self.epoch(generation)
            return np.stack([self._set_member(stream, epoch, j, k) for j in range(k)])
        epoch = self.epoch(generation)
        if self._cycle:
            return self._cycle[epoch % len(self._cycle)].copy()
        return np.asarray(
            self._sample(
                generator(self._seed, _goal_stream(self.config.split), epoch), self.config.split
            ),
            dtype=np.float64,
        )
