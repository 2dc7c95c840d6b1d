"""Gymnasium's standard v5 MuJoCo tasks as goal-free `TaskSpec`s, for the batched fast path.

Each spec reproduces `gymnasium.make("<id>")` with its default constructor arguments bit for
bit: the same model (compiled from the same asset), the same reset draws, and observation,
reward and termination computed with the same floating-point operations in the same order
(tests/test_gym_tasks.py compares full episodes against the upstream classes).

These tasks have no goal: `goal_dim` is 0, the goal is the empty array, and the observation is
exactly the upstream one, with nothing appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np

from pbml_control.envs.goals import GoalSpace, NoGoalSpace
from pbml_control.envs.specs import Fields, RewardInfo, TaskSpec, _uniform_reset, control_cost


@dataclass(frozen=True)
class GymTaskSpec(TaskSpec):
    """Base of the goal-free standard tasks: empty goal, upstream observation as is."""

    goal_dim: ClassVar[int] = 0
    goal_feature_dim: ClassVar[int] = 0
    default_goal: ClassVar[tuple[float, ...]] = ()

    @property
    def goal_space(self) -> GoalSpace:
        return NoGoalSpace(self.name)

    def observe(
        self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields, goal: np.ndarray
    ) -> np.ndarray:
        """(N, obs_dim) upstream observations (no goal features)."""
        return self._base_obs(qpos, qvel, extra)


@dataclass(frozen=True)
class HalfCheetahV5Spec(GymTaskSpec):
    """HalfCheetah-v5: reward = forward_reward_weight * x_velocity - ctrl cost; never ends."""

    name: ClassVar[str] = "HalfCheetah-v5"
    xml_file: ClassVar[str] = "half_cheetah.xml"
    frame_skip: ClassVar[int] = 5
    nq: ClassVar[int] = 9
    nv: ClassVar[int] = 9
    act_dim: ClassVar[int] = 6

    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.1
    reset_noise_scale: float = 0.1

    @property
    def base_obs_dim(self) -> int:
        return self.nq - 1 + self.nv

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return _uniform_reset(model, rng, self.reset_noise_scale, normal_qvel=True)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        return np.concatenate([qpos[:, 1:], qvel], axis=1)

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        x_vel = (after["qpos"][:, 0] - before["qpos"][:, 0]) / self.dt
        forward = self.forward_reward_weight * x_vel
        ctrl = control_cost(action, self.ctrl_cost_weight)
        info = {"reward_forward": forward, "reward_ctrl": -ctrl, "x_velocity": x_vel}
        return forward - ctrl, info


GYM_TASK_SPECS: dict[str, type[GymTaskSpec]] = {cls.name: cls for cls in (HalfCheetahV5Spec,)}
