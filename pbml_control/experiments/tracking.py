"""How well one goal-conditioned policy follows each commanded goal.

HalfCheetahVel: the mean |x_velocity - target| over steps ``skip``..end of an episode (the
first steps are the start from rest). AntHeading: the mean velocity along the commanded heading.
Velocities are the reward's own terms (finite differences over an env step), recorded by the
rollout's trace, so this measures exactly what the task rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SKIP_STEPS", "GoalTracking", "goal_tracking"]

SKIP_STEPS = 100  # the start from rest, left out of the tracking error by default


@dataclass(frozen=True)
class GoalTracking:
    goal: list[float]
    mean_velocity: float  # along x (HalfCheetahVel) or along the heading (AntHeading)
    mean_abs_error: float  # |velocity - target| (HalfCheetahVel); NaN for headings
    steps: int  # steps averaged over, all episodes together
    returns: list[float]


def _velocity(terms: dict[str, np.ndarray], goal: np.ndarray) -> np.ndarray:
    if "y_velocity" in terms:  # a heading: project the planar velocity on it
        h = float(goal[0])
        return terms["x_velocity"] * np.cos(h) + terms["y_velocity"] * np.sin(h)
    return terms["x_velocity"]


def goal_tracking(
    genome: Any, task: str, goals: list[np.ndarray], episodes: int, steps: int, seed: int,
    skip: int = SKIP_STEPS,
) -> list[GoalTracking]:  # fmt: skip
    """Roll ``genome`` (``policies.load_genome``) out on each goal, ``episodes`` times each."""
    from pbml_control.rng import episode_seeds
    from pbml_control.run_loader import genome_evaluator

    with genome_evaluator(genome, task, episodes, steps) as evaluator:
        seeds = np.asarray(episode_seeds(seed, 0, episodes))
        results = []
        for goal in goals:
            goal = np.asarray(goal, dtype=np.float64)
            trace: dict[str, Any] = {}
            returns = evaluator.trace(genome.params, goal, seeds, genome.normalizer_state, trace)
            velocity = _velocity(trace["terms"], goal)[skip:]
            error = np.abs(velocity - goal[0]) if "y_velocity" not in trace["terms"] else None
            results.append(
                GoalTracking(
                    goal=goal.tolist(),
                    mean_velocity=float(np.nanmean(velocity)),
                    mean_abs_error=float(np.nanmean(error)) if error is not None else float("nan"),
                    steps=int(np.isfinite(velocity).sum()),
                    returns=returns.tolist(),
                )
            )
        return results
