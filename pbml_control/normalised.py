"""Normalised fitness of the goal tasks: 0 = standing still, 1 = perfect.

A raw return scales with the goal (standing still scores ``-|goal| x steps`` on HalfCheetahVel),
so a curve of raw fitness cannot say whether training works. Each goal task therefore has two
reference fitnesses for a goal, over the run's horizon T and with its survival shift b:

- ``still``: a robot that stands still, upright, with zero action, for all T steps;
- ``perfect``: zero tracking error (or distance) at every step, with zero action, for all T.

and ``normalised = (fitness - still) / (perfect - still)``. The map is linear in the fitness,
so it ranks members as the fitness does and the normalised mean is the mean of the normalised
values. Control costs count against it (a real gait never reaches 1), and an episode that
ends early (a fall) is scored by its return like any other, so it can fall below 0. AntHeading
has no perfect score (faster is better): its 1 is walking at 1 m/s along the heading. A goal
whose two references coincide (a target velocity of 0) has no normalised value (NaN).

Each task spec says what one step of each reference earns (``reference_rewards(goal)`` in
envs/specs.py); this module only does the arithmetic, and reaches the spec through the
problem, so the method imports no simulator. docs/method.md gives the formula of each task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbml_control.config import ConfigError, RunConfig

__all__ = ["NORMALISED_KEYS", "Normaliser", "Reference", "for_config"]

#: Metrics keys that get a normalised twin ``<key>_normalised``.
NORMALISED_KEYS = ("fitness_mean", "fitness_best")


@dataclass(frozen=True)
class Reference:
    """The fitness of standing still and of perfect behaviour for one goal (or goal set)."""

    still: float
    perfect: float

    def normalise(self, fitness: float) -> float:
        """``(fitness - still) / (perfect - still)``; NaN when undefined or not finite."""
        span = self.perfect - self.still
        if span == 0 or not math.isfinite(fitness):
            return math.nan
        return (float(fitness) - self.still) / span


@dataclass
class Normaliser:
    """A goal task's references for any goal of a run.

    ``task`` is the run's task spec: anything with ``goal_dim``, ``reference_rewards(goal)``
    (one step's reward standing still and perfect) and ``reference_legend(steps)``.
    """

    task: Any
    steps: int
    survival_shift: float = 0.0
    _per_step: dict[tuple[float, ...], tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def of_problem(cls, problem: Any) -> Normaliser | None:
        """The normaliser of a built problem, or None when its task has no goals or no
        references (Gymnasium's own tasks, generic ids, toy worlds)."""
        task, config = getattr(problem, "task", None), getattr(problem, "config", None)
        if getattr(task, "goal_dim", 0) == 0 or not hasattr(task, "reference_rewards"):
            return None
        return cls(task, int(config.max_episode_steps), float(config.survival_shift))

    @property
    def legend(self) -> str:
        """What 0 and 1 mean for this task, in one line (progress bar, summary)."""
        return str(self.task.reference_legend(self.steps))

    def per_step(self, goal: np.ndarray) -> tuple[float, float]:
        """(still, perfect) reward of one step for one goal (goal_dim,), survival shift included."""
        key = tuple(float(x) for x in goal)
        if key not in self._per_step:
            still, perfect = self.task.reference_rewards(np.asarray(key, dtype=np.float64))
            self._per_step[key] = (still - self.survival_shift, perfect - self.survival_shift)
        return self._per_step[key]

    def reference(self, goal: Any) -> Reference:
        """References of one goal (goal_dim,) or a goal set (k, goal_dim): a set's fitness is
        the mean over its goals, so its references are the means of theirs."""
        goals = np.asarray(goal, dtype=np.float64).reshape(-1, self.task.goal_dim)
        pairs = [self.per_step(g) for g in goals]
        still = sum(p[0] for p in pairs) / len(pairs)
        perfect = sum(p[1] for p in pairs) / len(pairs)
        return Reference(self.steps * still, self.steps * perfect)

    def keys(self, row: dict[str, Any]) -> dict[str, float]:
        """``{<key>_normalised: value}`` for the fitness keys of a metrics row."""
        reference = self.reference(row["goal"])
        out: dict[str, float] = {}
        for key in NORMALISED_KEYS:
            value = row.get(key)
            number = float(value) if isinstance(value, int | float) else math.nan
            out[f"{key}_normalised"] = reference.normalise(number)
        return out

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row with its normalised keys added; every other key and value unchanged."""
        return {**row, **self.keys(row)}


def for_config(config: RunConfig) -> Normaliser | None:
    """The normaliser of a run's config (its problem built, through the registry, and closed),
    or None: a task without goals, a toy world, or a config whose problem cannot be built
    (the run itself then says why)."""
    if config.problem.name != "mujoco":
        return None
    from pbml_control.registry import make_problem

    try:
        problem = make_problem(config.problem)
    except (ConfigError, ValueError, TypeError):
        return None
    try:
        return Normaliser.of_problem(problem)
    finally:
        problem.close()
