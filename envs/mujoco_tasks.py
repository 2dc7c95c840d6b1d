"""Gymnasium classes for the goal-conditioned tasks, thin shells around a `TaskSpec`.

Physics stepping follows `gymnasium.envs.mujoco.MujocoEnv` (v5); observation, reward and
termination are computed by the spec's vectorised functions with N=1, which keeps this class
and the batched fast path (`batch_rollout.py`) bit-identical.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import utils
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.spaces import Box

from pbml_control.envs.gym_specs import (
    AntV5Spec,
    HalfCheetahV5Spec,
    HopperV5Spec,
    InvertedPendulumV5Spec,
    SwimmerV5Spec,
    Walker2dV5Spec,
)
from pbml_control.envs.specs import (
    AntHeadingSpec,
    HalfCheetahVelSpec,
    HopperVelSpec,
    ReacherGoalSpec,
    Walker2dVelSpec,
)
from pbml_control.envs.task_spec import TaskSpec
from pbml_control.envs.variants import ASSET_DIR, Variant


def validate_goal(task: TaskSpec, goal: Any) -> np.ndarray:
    """Return `goal` as a float64 (goal_dim,) array, or raise ValueError if it is unusable.

    A goal outside the task's goal-space bounds is rejected so that a typo in a config
    (e.g. a velocity of 30 instead of 3) fails loudly instead of training on nonsense.
    """
    g = np.asarray(goal, dtype=np.float64).reshape(-1)
    if g.shape != (task.goal_dim,):
        raise ValueError(f"{task.name}: goal must have shape ({task.goal_dim},), got {g.shape}")
    if not task.goal_space.in_bounds(g):
        space = task.goal_space
        raise ValueError(
            f"{task.name}: goal {g.tolist()} is outside the goal space bounds "
            f"[{space.low.tolist()}, {space.high.tolist()}]"
        )
    return g.copy()


class GoalMujocoEnv(MujocoEnv, utils.EzPickle):
    """A v5 MuJoCo task with a goal; subclasses only name their `TaskSpec` class.

    Args:
        goal: initial goal (default: the spec's `default_goal`); change it later with
            `reset(options={"goal": g})` or `set_goal(g)`.
        mass_scale, friction_scale, gravity_scale, limb_length_scale: dynamics and morphology
            variant (see `variants.Variant`).
        render_mode, width, height, camera_id, camera_name: as `MujocoEnv`.
        **task_kwargs: reward weights and other fields of the spec class, e.g.
            `ctrl_cost_weight=0.05`; unknown names raise TypeError.
    """

    task_cls: ClassVar[type[TaskSpec]]
    metadata: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"],
    }

    def __init__(
        self,
        goal: Any = None,
        mass_scale: float = 1.0,
        friction_scale: float = 1.0,
        gravity_scale: float = 1.0,
        limb_length_scale: float = 1.0,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera_id: int | None = None,
        camera_name: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        utils.EzPickle.__init__(
            self,
            goal,
            mass_scale,
            friction_scale,
            gravity_scale,
            limb_length_scale,
            render_mode,
            width,
            height,
            camera_id,
            camera_name,
            **task_kwargs,
        )
        variant = Variant(mass_scale, friction_scale, gravity_scale, limb_length_scale)
        self.task: TaskSpec = self.task_cls(variant=variant, **task_kwargs)
        self.goal = validate_goal(self.task, self.task.default_goal if goal is None else goal)
        MujocoEnv.__init__(
            self,
            str(ASSET_DIR / self.task.xml_file),
            self.task.frame_skip,
            observation_space=Box(-np.inf, np.inf, (self.task.obs_dim,), dtype=np.float64),
            render_mode=render_mode,
            width=width,
            height=height,
            camera_id=camera_id,
            camera_name=camera_name,
        )
        self.metadata = {**self.metadata, "render_fps": int(np.round(1.0 / self.dt))}

    def _initialize_simulation(self) -> tuple[mujoco.MjModel, mujoco.MjData]:
        """Build the (variant) model from the spec instead of reading the XML file as is."""
        model = self.task.build_model()
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        return model, mujoco.MjData(model)

    def set_goal(self, goal: Any) -> None:
        """Change the goal mid-episode (rewards from the next step use it)."""
        self.goal = validate_goal(self.task, goal)

    def _fields(self) -> dict[str, np.ndarray]:
        """The spec's MjData fields as (1, ...) copies."""
        return {name: getattr(self.data, name)[None].copy() for name in self.task.fields}

    def _get_obs(self) -> np.ndarray:
        f = self._fields()
        return self.task.observe(f["qpos"], f["qvel"], f, self.goal)[0]

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64)
        before = self._fields()
        self.do_simulation(self.task.control(a[None], self.goal)[0], self.frame_skip)
        after = self._fields()
        observation = self.task.observe(after["qpos"], after["qvel"], after, self.goal)[0]
        reward, reward_info = self._get_rew(before, after, a)
        terminated = bool(self.task.terminated(after["qpos"], after["qvel"], after)[0])
        info = {"goal": self.goal.copy(), **reward_info}
        if self.render_mode == "human":
            self.render()
        # truncation is the TimeLimit wrapper's job, as in v5
        return observation, reward, terminated, False, info

    def _get_rew(
        self, before: dict[str, np.ndarray], after: dict[str, np.ndarray], action: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        reward, info = self.task.reward(before, after, action[None], self.goal)
        return float(reward[0]), {k: float(v[0]) for k, v in info.items()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset; `options={"goal": g}` sets the goal before the initial state is drawn."""
        if options and "goal" in options:
            self.set_goal(options["goal"])
        return super().reset(seed=seed, options=options)

    def reset_model(self) -> np.ndarray:
        qpos, qvel = self.task.reset_state(self.model, self.np_random, goal=self.goal)
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _get_reset_info(self) -> dict[str, Any]:
        return {"goal": self.goal.copy()}


class HalfCheetahVelEnv(GoalMujocoEnv):
    """HalfCheetah tracking a target forward velocity; see `HalfCheetahVelSpec`."""

    task_cls = HalfCheetahVelSpec


class AntHeadingEnv(GoalMujocoEnv):
    """Ant walking along a target heading; see `AntHeadingSpec`."""

    task_cls = AntHeadingSpec


class HopperVelEnv(GoalMujocoEnv):
    """Hopper tracking a target forward velocity; see `HopperVelSpec`."""

    task_cls = HopperVelSpec


class Walker2dVelEnv(GoalMujocoEnv):
    """Walker2d tracking a target forward velocity; see `Walker2dVelSpec`."""

    task_cls = Walker2dVelSpec


class ReacherGoalEnv(GoalMujocoEnv):
    """Reacher whose target is the goal; see `ReacherGoalSpec`."""

    task_cls = ReacherGoalSpec


# Gymnasium's standard tasks through our specs: goal-free and bit-identical to upstream on the
# base model, they exist so that variants can be made as `PBML/<Name>-<Variant>-v5`.
class HalfCheetahV5Env(GoalMujocoEnv):
    """HalfCheetah-v5; see `HalfCheetahV5Spec`."""

    task_cls = HalfCheetahV5Spec


class HopperV5Env(GoalMujocoEnv):
    """Hopper-v5; see `HopperV5Spec`."""

    task_cls = HopperV5Spec


class Walker2dV5Env(GoalMujocoEnv):
    """Walker2d-v5; see `Walker2dV5Spec`."""

    task_cls = Walker2dV5Spec


class AntV5Env(GoalMujocoEnv):
    """Ant-v5 (contact forces included); see `AntV5Spec`."""

    task_cls = AntV5Spec


class SwimmerV5Env(GoalMujocoEnv):
    """Swimmer-v5; see `SwimmerV5Spec`."""

    task_cls = SwimmerV5Spec


class InvertedPendulumV5Env(GoalMujocoEnv):
    """InvertedPendulum-v5; see `InvertedPendulumV5Spec`."""

    task_cls = InvertedPendulumV5Spec
