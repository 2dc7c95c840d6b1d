"""The goal-conditioned tasks: HalfCheetahVel, HopperVel, Walker2dVel, AntHeading, ReacherGoal.

Each is a `TaskSpec` (task_spec.py: the conventions every spec follows) whose observation is
the v5 observation with the goal features appended; Gymnasium's own v5 tasks reuse these bodies
in gym_specs.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np

from pbml_control.envs.quarter_turn import canonical_heading, canonical_observation, world_action
from pbml_control.envs.task_spec import (
    Fields,
    RewardInfo,
    TaskSpec,
    _uniform_reset,
    _x_velocity,
    control_cost,
    goal_rows,
)


@dataclass(frozen=True)
class ForwardVelocitySpec(TaskSpec):
    """Base of the tasks scored on the forward velocity x_vel of qpos[0].

    `forward_reward` is the one term in which a goal-conditioned task (closeness to a target
    velocity, here) and its standard v5 twin in `gym_specs` (the velocity itself) differ, so
    the twin reuses the model, reset, observation and reward of the task it is built on.
    Subclasses set `ctrl_cost_weight` and `reset_noise_scale`.
    """

    #: the goal: one target velocity, observed as is
    goal_dim: ClassVar[int] = 1
    goal_feature_dim: ClassVar[int] = 1
    default_goal: ClassVar[tuple[float, ...]] = (1.0,)
    #: leading qpos entries the observation leaves out (v5's exclude_current_positions)
    skipped_qpos: ClassVar[int] = 1
    #: whether v5 draws the qvel reset noise from a normal (HalfCheetah) or a uniform
    normal_qvel_noise: ClassVar[bool] = False

    forward_reward_weight: float = 1.0

    @property
    def base_obs_dim(self) -> int:
        return self.nq - self.skipped_qpos + self.nv

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        noise = self.reset_noise_scale
        return _uniform_reset(model, rng, noise, normal_qvel=self.normal_qvel_noise)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        return np.concatenate([qpos[:, self.skipped_qpos :], qvel], axis=1)

    def forward_reward(self, x_vel: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """(N,) -w * |x_vel - target|."""
        target = goal_rows(goal, x_vel.shape[0], 1)[:, 0]
        return -self.forward_reward_weight * np.abs(x_vel - target)

    def reference_rewards(self, goal: np.ndarray) -> tuple[float, float]:
        """One step's reward standing still and tracking perfectly, both at zero action: the
        0 and 1 of the normalised fitness (pbml_control/normalised.py)."""
        alive = float(getattr(self, "healthy_reward", 0.0))
        return alive - self.forward_reward_weight * abs(float(goal[0])), alive

    def reference_legend(self, steps: int) -> str:
        w = self.forward_reward_weight
        term = f"-{'' if w == 1 else f'{w:g} x '}|goal| x {steps}"
        return (
            f"0 = standing still for {steps} steps (tracking term {term}), "
            "1 = perfect tracking at no control cost"
        )

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        """forward reward - ctrl cost (HalfCheetah, Swimmer)."""
        x_vel = _x_velocity(before, after, self.dt)
        forward = self.forward_reward(x_vel, goal)
        ctrl = control_cost(action, self.ctrl_cost_weight)
        info = {"reward_forward": forward, "reward_ctrl": -ctrl, "x_velocity": x_vel}
        return forward - ctrl, info


@dataclass(frozen=True)
class HalfCheetahVelSpec(ForwardVelocitySpec):
    """HalfCheetah-v5 running at a target forward velocity (negative: backward).

    reward = -forward_reward_weight * |x_vel - target| - ctrl_cost_weight * |a|^2.
    """

    name: ClassVar[str] = "HalfCheetahVel"
    xml_file: ClassVar[str] = "half_cheetah.xml"
    frame_skip: ClassVar[int] = 5
    nq: ClassVar[int] = 9
    nv: ClassVar[int] = 9
    act_dim: ClassVar[int] = 6
    normal_qvel_noise: ClassVar[bool] = True

    ctrl_cost_weight: float = 0.1
    reset_noise_scale: float = 0.1


@dataclass(frozen=True)
class _HealthyVelSpec(ForwardVelocitySpec):
    """Shared body of Hopper and Walker2d velocity tracking (v5 healthy rules)."""

    ctrl_cost_weight: float = 1e-3
    healthy_reward: float = 1.0
    terminate_when_unhealthy: bool = True
    healthy_z_range: tuple[float, float] = (0.7, float("inf"))
    healthy_angle_range: tuple[float, float] = (-0.2, 0.2)
    reset_noise_scale: float = 5e-3

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        return np.concatenate([qpos[:, 1:], np.clip(qvel, -10, 10)], axis=1)

    def is_healthy(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        z, angle = qpos[:, 1], qpos[:, 2]
        min_z, max_z = self.healthy_z_range
        min_a, max_a = self.healthy_angle_range
        return (min_z < z) & (z < max_z) & (min_a < angle) & (angle < max_a)

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        x_vel = _x_velocity(before, after, self.dt)
        forward = self.forward_reward(x_vel, goal)
        healthy = self.is_healthy(after["qpos"], after["qvel"]) * self.healthy_reward
        ctrl = control_cost(action, self.ctrl_cost_weight)
        info = {
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_survive": healthy,
            "x_velocity": x_vel,
        }
        return forward + healthy - ctrl, info

    def terminated(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        if not self.terminate_when_unhealthy:
            return np.zeros(qpos.shape[0], dtype=bool)
        return ~self.is_healthy(qpos, qvel)


@dataclass(frozen=True)
class HopperVelSpec(_HealthyVelSpec):
    """Hopper-v5 hopping at a target forward velocity.

    reward = -w * |x_vel - target| + healthy_reward * healthy - ctrl cost; terminates when
    unhealthy, with v5's state / z / angle ranges.
    """

    name: ClassVar[str] = "HopperVel"
    xml_file: ClassVar[str] = "hopper.xml"
    frame_skip: ClassVar[int] = 4
    nq: ClassVar[int] = 6
    nv: ClassVar[int] = 6
    act_dim: ClassVar[int] = 3

    healthy_state_range: tuple[float, float] = (-100.0, 100.0)

    def is_healthy(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        state = np.concatenate([qpos, qvel], axis=1)[:, 2:]
        lo, hi = self.healthy_state_range
        healthy_state = np.all((lo < state) & (state < hi), axis=1)
        return healthy_state & super().is_healthy(qpos, qvel)


@dataclass(frozen=True)
class Walker2dVelSpec(_HealthyVelSpec):
    """Walker2d-v5 walking at a target forward velocity (same reward shape as HopperVel)."""

    name: ClassVar[str] = "Walker2dVel"
    xml_file: ClassVar[str] = "walker2d_v5.xml"
    frame_skip: ClassVar[int] = 4
    nq: ClassVar[int] = 9
    nv: ClassVar[int] = 9
    act_dim: ClassVar[int] = 6

    healthy_z_range: tuple[float, float] = (0.8, 2.0)
    healthy_angle_range: tuple[float, float] = (-1.0, 1.0)


@dataclass(frozen=True)
class AntHeadingSpec(TaskSpec):
    """Ant-v5 walking in a target heading (radians in the x-y plane).

    reward = w * (torso planar velocity . (cos h, sin h)) + healthy_reward * healthy
    - ctrl cost. The velocity comes from the free joint's qpos (the torso origin), not from
    the one-substep-stale `xpos` v5 uses, so the task needs only qpos/qvel. Contact forces
    (cost and cfrc_ext observation) are left out, as in v4's default
    `use_contact_forces=False`, which keeps the task on the cheaper non-persistent Batch
    (`Ant-v5` in `gym_specs` has them, exactly). The goal features are (cos h, sin h), which
    are continuous across the +-pi seam. `healthy_z_range` is multiplied by the variant's
    `limb_length_scale` (a long-legged ant stands higher than 1.0).
    """

    name: ClassVar[str] = "AntHeading"
    xml_file: ClassVar[str] = "ant.xml"
    frame_skip: ClassVar[int] = 5
    nq: ClassVar[int] = 15
    nv: ClassVar[int] = 14
    act_dim: ClassVar[int] = 8
    goal_dim: ClassVar[int] = 1
    goal_feature_dim: ClassVar[int] = 2
    default_goal: ClassVar[tuple[float, ...]] = (0.0,)

    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.5
    healthy_reward: float = 1.0
    terminate_when_unhealthy: bool = True
    healthy_z_range: tuple[float, float] = (0.2, 1.0)
    reset_noise_scale: float = 0.1
    #: observe and act in the heading's quarter-turn frame (envs/quarter_turn.py): the state
    #: turned back so that the heading lies in [-pi/4, pi/4], the action turned forward again
    quarter_turn_frame: bool = False

    def __post_init__(self) -> None:
        if self.quarter_turn_frame and self.goal_dim != 1:
            raise ValueError(f"{self.name}: quarter_turn_frame needs a heading goal")

    @property
    def base_obs_dim(self) -> int:
        return self.nq - 2 + self.nv

    def observe(
        self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields, goal: np.ndarray
    ) -> np.ndarray:
        """The v5-style observation and (cos h, sin h); in the quarter-turn frame, the state
        turned back by the heading's quarter turns and the heading h_c in [-pi/4, pi/4]."""
        if not self.quarter_turn_frame:
            return super().observe(qpos, qvel, extra, goal)
        turns, heading = canonical_heading(goal_rows(goal, qpos.shape[0], 1)[:, 0])
        base = canonical_observation(self._base_obs(qpos, qvel, extra), turns)
        return np.concatenate([base, self.goal_features(heading[:, None], len(base))], axis=1)

    def control(self, action: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """In the quarter-turn frame, the action turned forward by the heading's quarter turns."""
        if not self.quarter_turn_frame:
            return action
        turns, _ = canonical_heading(goal_rows(goal, action.shape[0], 1)[:, 0])
        return world_action(action, turns)

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return _uniform_reset(model, rng, self.reset_noise_scale, normal_qvel=True)

    #: the 1 of the normalised fitness: its reward has no perfect score (faster is better)
    reference_speed: ClassVar[float] = 1.0

    def reference_rewards(self, goal: np.ndarray) -> tuple[float, float]:
        """One step's reward standing still and walking at `reference_speed` m/s along the
        heading, both healthy and at zero action (pbml_control/normalised.py)."""
        alive = float(self.healthy_reward)
        return alive, alive + self.forward_reward_weight * self.reference_speed

    def reference_legend(self, steps: int) -> str:
        return (
            f"0 = standing still for {steps} steps, "
            f"1 = walking at {self.reference_speed:g} m/s along the heading"
        )

    def goal_features(self, goal: np.ndarray, n: int) -> np.ndarray:
        h = goal_rows(goal, n, 1)
        return np.concatenate([np.cos(h), np.sin(h)], axis=1)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        return np.concatenate([qpos[:, 2:], qvel], axis=1)

    def is_healthy(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        finite = np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1)
        # the standing height scales with the legs, so the range follows limb_length_scale
        scale = self.variant.limb_length_scale
        min_z, max_z = (z * scale for z in self.healthy_z_range)
        return finite & (min_z <= qpos[:, 2]) & (qpos[:, 2] <= max_z)

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        xy_vel = (after["qpos"][:, 0:2] - before["qpos"][:, 0:2]) / self.dt
        h = goal_rows(goal, xy_vel.shape[0], 1)[:, 0]
        heading_vel = xy_vel[:, 0] * np.cos(h) + xy_vel[:, 1] * np.sin(h)
        forward = self.forward_reward_weight * heading_vel
        healthy = self.is_healthy(after["qpos"], after["qvel"]) * self.healthy_reward
        ctrl = control_cost(action, self.ctrl_cost_weight)
        info = {
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_survive": healthy,
            "x_velocity": xy_vel[:, 0],
            "y_velocity": xy_vel[:, 1],
        }
        return forward + healthy - ctrl, info

    def terminated(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        if not self.terminate_when_unhealthy:
            return np.zeros(qpos.shape[0], dtype=bool)
        return ~self.is_healthy(qpos, qvel)


@dataclass(frozen=True)
class ReacherGoalSpec(TaskSpec):
    """Reacher-v5 whose target is the goal instead of a random draw.

    reward = -reward_dist_weight * |fingertip - target| - reward_control_weight * |a|^2, with
    both positions read from `xpos` as v5 does. Reset draws v5's arm noise but skips v5's
    rejection-sampled target, so the goal alone places the target.
    """

    name: ClassVar[str] = "ReacherGoal"
    xml_file: ClassVar[str] = "reacher.xml"
    frame_skip: ClassVar[int] = 2
    nq: ClassVar[int] = 4
    nv: ClassVar[int] = 4
    act_dim: ClassVar[int] = 2
    goal_dim: ClassVar[int] = 2
    goal_feature_dim: ClassVar[int] = 2
    default_goal: ClassVar[tuple[float, ...]] = (-0.1, 0.1)
    fields: ClassVar[tuple[str, ...]] = ("qpos", "qvel", "xpos")

    reward_dist_weight: float = 1.0
    reward_control_weight: float = 1.0
    max_episode_steps: int = 50  # v5's Reacher time limit

    @property
    def base_obs_dim(self) -> int:
        return 10

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        g = np.asarray(self.default_goal if goal is None else goal, dtype=np.float64)
        qpos = rng.uniform(low=-0.1, high=0.1, size=model.nq) + model.qpos0
        qpos[-2:] = g.reshape(2)
        qvel = np.zeros(model.nv) + rng.uniform(low=-0.005, high=0.005, size=model.nv)
        qvel[-2:] = 0
        return qpos, qvel

    def reference_rewards(self, goal: np.ndarray) -> tuple[float, float]:
        """One step's reward with the arm at rest (`qpos0`) and with the fingertip on the
        target, both at zero action (pbml_control/normalised.py)."""
        model = self.build_model()
        data = mujoco.MjData(model)
        data.qpos[-2:] = np.asarray(goal, dtype=np.float64).reshape(2)
        mujoco.mj_forward(model, data)
        rest = np.linalg.norm(self._fingertip_to_target(data.xpos[None])[0])
        return -self.reward_dist_weight * float(rest), 0.0

    def reference_legend(self, steps: int) -> str:
        return (
            f"0 = the arm at rest for {steps} steps, "
            "1 = the fingertip on the target at no control cost"
        )

    def _fingertip_to_target(self, xpos: np.ndarray) -> np.ndarray:
        return xpos[:, self.body_id("fingertip")] - xpos[:, self.body_id("target")]

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        theta = qpos[:, :2]
        vec = self._fingertip_to_target(extra["xpos"])
        return np.concatenate(
            [np.cos(theta), np.sin(theta), qpos[:, 2:], qvel[:, :2], vec[:, :2]], axis=1
        )

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        vec = self._fingertip_to_target(after["xpos"])
        dist = -np.linalg.norm(vec, axis=1) * self.reward_dist_weight
        ctrl = -np.square(action).sum(axis=1) * self.reward_control_weight
        return dist + ctrl, {"reward_dist": dist, "reward_ctrl": ctrl}


TASK_SPECS: dict[str, type[TaskSpec]] = {
    cls.name: cls
    for cls in (HalfCheetahVelSpec, AntHeadingSpec, HopperVelSpec, Walker2dVelSpec, ReacherGoalSpec)
}
