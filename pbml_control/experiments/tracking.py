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
    mean_velocity: float  # along x (HalfCheetahVel) or along the heading (AntHeading, with
    # the steps after a fall counted as 0)
    mean_abs_error: float  # |velocity - target| (HalfCheetahVel); NaN for headings
    steps: int  # steps stepped after the skipped start, all episodes together (fewer than
    # episodes x (horizon - skip) when episodes ended early)
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
            heading = "y_velocity" in trace["terms"]
            error = np.abs(velocity - goal[0]) if not heading else None
            # an ant that fell (its episode over) moves no further: its missing steps count as
            # 0 m/s along the heading, so a fall cannot raise the mean
            planned = len(seeds) * max(steps - skip, 0)
            mean = np.nansum(velocity) / planned if heading and planned else np.nanmean(velocity)
            results.append(
                GoalTracking(
                    goal=goal.tolist(),
                    mean_velocity=float(mean),
                    mean_abs_error=float(np.nanmean(error)) if error is not None else float("nan"),
                    steps=int(np.isfinite(velocity).sum()),
                    returns=returns.tolist(),
                )
            )
        return results
