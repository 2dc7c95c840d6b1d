"""MuJoCo tasks as a :class:`~pbml_control.problem.Problem`: the evaluator plus the run's state.

The evaluation itself is :class:`~pbml_control.evaluator.Evaluator`'s, which takes and returns
the run's :class:`~pbml_control.evaluator.ProblemState` (observation statistics, env steps)
explicitly. This adapter keeps the newest state for the loop's ``evaluate``/``state_dict``/
``load_state_dict`` protocol; code that wants the state in its own hands calls
``problem.evaluator.evaluate_population`` with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.config import build_section
from pbml_control.envs.goals import Stratum
from pbml_control.evaluator import Evaluator, ProblemState, Rollouts
from pbml_control.evaluators import Backend, RunTiming
from pbml_control.genome import ModuleLayout
from pbml_control.mujoco_config import MujocoProblemConfig
from pbml_control.problem import Evaluation

__all__ = ["MujocoProblem", "MujocoProblemConfig", "ProblemState", "make"]

_Rollouts = Rollouts  # the worker's old name (fault-injection tests subclass it)


class MujocoProblem:
    """A goal-conditioned MuJoCo task evolved through a modular MLP policy.

    ``evaluate`` takes one goal (goal_dim,) or a set (k, goal_dim): each member then runs every
    goal with the generation's episode seeds, and its fitness is the mean over all of them.
    """

    goal_sets = True  # evaluate() accepts (k, goal_dim) goals

    def __init__(self, config: MujocoProblemConfig, backend: Backend | None = None) -> None:
        self.config = config
        self.evaluator = Evaluator(config, backend)
        self.task = self.evaluator.task
        self.layout: ModuleLayout = self.evaluator.layout
        self.problem_state: ProblemState = self.evaluator.initial_state()

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        return self.evaluator.policy_spec.init_params(rng)

    def sample_goal(
        self, rng: np.random.Generator, split: str = "train", stratum: Stratum | None = None
    ) -> np.ndarray:
        return self.evaluator.sample_goal(rng, split, stratum)

    def validate_goal(self, goal: np.ndarray) -> None:
        """A goal from a config must lie in the task's goal space."""
        self.evaluator.validate_goal(goal)

    def evaluate(
        self, params: np.ndarray, goal: np.ndarray, seed: int, generation: int
    ) -> Evaluation:
        evaluation, self.problem_state = self.evaluator.evaluate_population(
            params, goal, seed, generation, self.problem_state
        )
        return evaluation

    @property
    def last_timing(self) -> RunTiming | None:
        """How the last population's chunks spread over the workers (never part of results)."""
        return self.evaluator.last_timing

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.problem_state.to_arrays()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.problem_state = ProblemState.from_arrays(state, self.task.obs_dim)

    def close(self) -> None:
        self.evaluator.close()


def make(**params: Any) -> MujocoProblem:
    return MujocoProblem(build_section(MujocoProblemConfig, params, "problem."))
