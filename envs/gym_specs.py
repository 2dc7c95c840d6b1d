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
from pbml_control.envs.specs import (
    AntHeadingSpec,
    ForwardVelocitySpec,
    HalfCheetahVelSpec,
    HopperVelSpec,
    Walker2dVelSpec,
    control_cost,
)
from pbml_control.envs.task_spec import Fields, RewardInfo, TaskSpec, _uniform_reset


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
class _GymForwardSpec(GymTaskSpec):
    """Base of the v5 twins of a `ForwardVelocitySpec`: the twin's model, reset, observation and
    reward, with v5's forward term, the velocity itself instead of closeness to a target."""

    def forward_reward(self, x_vel: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """(N,) forward_reward_weight * x_velocity."""
        return self.forward_reward_weight * x_vel


@dataclass(frozen=True)
class HalfCheetahV5Spec(_GymForwardSpec, HalfCheetahVelSpec):
    """HalfCheetah-v5: HalfCheetahVel's model, reset and observation (they are v5's);
    reward = forward_reward_weight * x_velocity - ctrl cost; never ends."""

    name: ClassVar[str] = "HalfCheetah-v5"


@dataclass(frozen=True)
class HopperV5Spec(_GymForwardSpec, HopperVelSpec):
    """Hopper-v5: HopperVel's model, reset, observation and healthy rules (they are v5's);
    reward = (w * x_velocity + healthy_reward * healthy) - ctrl cost."""

    name: ClassVar[str] = "Hopper-v5"


@dataclass(frozen=True)
class Walker2dV5Spec(_GymForwardSpec, Walker2dVelSpec):
    """Walker2d-v5: Walker2dVel's model and healthy rules, rewarding forward velocity."""

    name: ClassVar[str] = "Walker2d-v5"


@dataclass(frozen=True)
class AntV5Spec(GymTaskSpec, AntHeadingSpec):
    """Ant-v5 with its defaults: contact forces in the observation and in the cost.

    reward = (w * x_velocity + healthy_reward * healthy) - (ctrl cost + contact cost), where
    x_velocity comes from the torso's `xpos`, one substep stale as in v5 (AntHeading uses
    qpos), and the contact cost is contact_cost_weight * |clip(cfrc_ext)|^2 over all bodies.
    `cfrc_ext` is what `mj_rnePostConstraint` computes after the step (see `batch_rollout`).
    """

    name: ClassVar[str] = "Ant-v5"
    nbody: ClassVar[int] = 14
    fields: ClassVar[tuple[str, ...]] = ("qpos", "qvel", "xpos", "cfrc_ext")

    contact_cost_weight: float = 5e-4
    contact_force_range: tuple[float, float] = (-1.0, 1.0)
    main_body: int = 1

    @property
    def base_obs_dim(self) -> int:
        return self.nq - 2 + self.nv + (self.nbody - 1) * 6

    def contact_forces(self, cfrc_ext: np.ndarray) -> np.ndarray:
        """(N, nbody, 6) external contact forces clipped to `contact_force_range`."""
        low, high = self.contact_force_range
        return np.clip(cfrc_ext, low, high)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        forces = self.contact_forces(extra["cfrc_ext"])[:, 1:]
        return np.concatenate([qpos[:, 2:], qvel, forces.reshape(len(forces), -1)], axis=1)

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        b = self.main_body
        xy_vel = (after["xpos"][:, b, :2] - before["xpos"][:, b, :2]) / self.dt
        forward = xy_vel[:, 0] * self.forward_reward_weight
        healthy = self.is_healthy(after["qpos"], after["qvel"]) * self.healthy_reward
        ctrl = control_cost(action, self.ctrl_cost_weight)
        forces = self.contact_forces(after["cfrc_ext"])
        contact = self.contact_cost_weight * np.sum(
            np.square(forces.reshape(len(forces), -1)), axis=1
        )
        info = {
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_contact": -contact,
            "reward_survive": healthy,
            "x_velocity": xy_vel[:, 0],
            "y_velocity": xy_vel[:, 1],
        }
        return (forward + healthy) - (ctrl + contact), info


@dataclass(frozen=True)
class SwimmerV5Spec(_GymForwardSpec, ForwardVelocitySpec):
    """Swimmer-v5: reward = w * x_velocity - ctrl cost; never ends."""

    name: ClassVar[str] = "Swimmer-v5"
    xml_file: ClassVar[str] = "swimmer.xml"
    frame_skip: ClassVar[int] = 4
    nq: ClassVar[int] = 5
    nv: ClassVar[int] = 5
    act_dim: ClassVar[int] = 2
    skipped_qpos: ClassVar[int] = 2

    ctrl_cost_weight: float = 1e-4
    reset_noise_scale: float = 0.1


@dataclass(frozen=True)
class InvertedPendulumV5Spec(GymTaskSpec):
    """InvertedPendulum-v5: reward 1 while the pole is within 0.2 rad, 0 on the last step."""

    name: ClassVar[str] = "InvertedPendulum-v5"
    xml_file: ClassVar[str] = "inverted_pendulum.xml"
    frame_skip: ClassVar[int] = 2
    nq: ClassVar[int] = 2
    nv: ClassVar[int] = 2
    act_dim: ClassVar[int] = 1

    reset_noise_scale: float = 0.01

    @property
    def base_obs_dim(self) -> int:
        return self.nq + self.nv

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return _uniform_reset(model, rng, self.reset_noise_scale, normal_qvel=False)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        return np.concatenate([qpos, qvel], axis=1)

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        alive = (~self.terminated(after["qpos"], after["qvel"], after)).astype(np.float64)
        return alive, {"reward_survive": alive}

    def terminated(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        obs = self._base_obs(qpos, qvel, extra)
        return ~np.isfinite(obs).all(axis=1) | (np.abs(obs[:, 1]) > 0.2)


GYM_TASK_SPECS: dict[str, type[GymTaskSpec]] = {
    cls.name: cls
    for cls in (
        HalfCheetahV5Spec,
        HopperV5Spec,
        Walker2dV5Spec,
        AntV5Spec,
        SwimmerV5Spec,
        InvertedPendulumV5Spec,
    )
}
