"""The boundary between the evolution loop and whatever it evolves.

The loop knows only this protocol. A toy world implements it directly; the MuJoCo tasks
implement it through the evaluator, which is the one place where tasks meet policies. Goals are
float vectors so that schedules, logs and checkpoints treat every task alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from pbml_control.genome import ModuleLayout

__all__ = ["Evaluation", "Problem", "StatelessProblem"]


@dataclass(frozen=True)
class Evaluation:
    """Fitness of every member for one generation, plus counters for the metrics row.

    ``fitness`` may hold NaN or inf; the loop ranks those last. ``info`` holds run-level
    numbers such as ``env_steps`` or ``unstable_episodes`` that are summed into the metrics.
    """

    fitness: np.ndarray  # (N,) float64
    info: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Problem(Protocol):
    """What the loop needs from a task."""

    layout: ModuleLayout

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        """One founder's flat parameter vector (D,)."""
        ...

    def sample_goal(self, rng: np.random.Generator, split: str = "train") -> np.ndarray:
        """A goal from the training region, or the held-out region with ``split="heldout"``."""
        ...

    def evaluate(
        self, params: np.ndarray, goal: np.ndarray, seed: int, generation: int
    ) -> Evaluation:
        """Fitness of each row of ``params`` (N, D) on ``goal``.

        Every member is evaluated on the same goal and on episodes seeded from
        (``seed``, ``generation``), so fitness does not depend on workers or member order.
        """
        ...

    def state_dict(self) -> dict[str, np.ndarray]:
        """Problem state that must survive a resume (e.g. observation statistics)."""
        ...

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...

    def close(self) -> None: ...


class StatelessProblem:
    """Base for problems with nothing to checkpoint and nothing to release (the toy worlds)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} has no state, got keys {sorted(state)}")

    def close(self) -> None:
        pass
