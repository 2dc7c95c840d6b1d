"""The base of every task: pure, vectorised obs, reward and termination, and their conventions.

A `TaskSpec` knows how to build the MuJoCo model, draw an initial state, and compute
observation, reward and termination for N simulations at once from plain arrays. The
Gymnasium classes in `mujoco_tasks.py` call these same functions with N=1, and
`batch_rollout.rollout_batch` calls them on `mujoco.batch.Batch` arrays, so the two paths
cannot drift apart.

Conventions shared by every spec:

- Arrays are float64 and batched on axis 0: `qpos (N, nq)`, `qvel (N, nv)`, `action (N, nu)`.
- `goal` is either one goal `(goal_dim,)` shared by all N simulations or one per simulation
  `(N, goal_dim)`.
- `extra` / `before` / `after` map MjData field names to `(N, ...)` arrays; `fields` lists the
  names a spec reads, so a batched evaluator knows what to bind. Derived fields (e.g. `xpos`)
  are those MjData holds after `mj_step`, i.e. one substep behind the state, exactly as the
  Gymnasium v5 environments read them.
- The observation is the v5 observation with goal features appended at the END, so that one
  policy can condition on the goal (the paper's shifting goal) and the v5 prefix stays intact.
- Actions are NOT clipped, matching Gymnasium v5 (`do_simulation` does not clip): MuJoCo
  clamps `ctrl` to `ctrlrange` inside the physics, while the control cost uses the raw action.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

import mujoco
import numpy as np

from pbml_control.envs.goals import GOAL_SPACES, GoalSpace
from pbml_control.envs.variants import ASSET_DIR, Variant, build_variant_model

Fields = Mapping[str, np.ndarray]
RewardInfo = dict[str, np.ndarray]


@functools.lru_cache(maxsize=16)
def _base_model_facts(xml_file: str) -> tuple[float, np.ndarray, dict[str, int]]:
    """(timestep, actuator ctrlrange, body ids by name) of the unmodified asset."""
    spec = mujoco.MjSpec.from_file(str(ASSET_DIR / xml_file))
    spec.compiler.settotalmass = -1  # masses are irrelevant here; avoids a deprecation warning
    model = spec.compile()
    bodies = {model.body(i).name: i for i in range(model.nbody)}
    return float(model.opt.timestep), model.actuator_ctrlrange.copy(), bodies


def goal_rows(goal: np.ndarray, n: int, goal_dim: int) -> np.ndarray:
    """Broadcast one goal (goal_dim,) or per-simulation goals (n, goal_dim) to (n, goal_dim)."""
    g = np.asarray(goal, dtype=np.float64)
    if g.ndim <= 1:
        g = g.reshape(1, goal_dim)
    return np.broadcast_to(g, (n, goal_dim))


def control_cost(action: np.ndarray, weight: float) -> np.ndarray:
    """weight * sum(a^2) per row, as v5's `control_cost`."""
    return weight * np.sum(np.square(action), axis=1)


@dataclass(frozen=True)
class TaskSpec:
    """Base of every task: model building, reset draws and the vectorised step functions.

    Subclasses set the class-level constants and implement `reset_state`, `observe`,
    `reward` and `terminated`. Instances are frozen; change weights or the variant with
    `dataclasses.replace`.
    """

    name: ClassVar[str]
    xml_file: ClassVar[str]
    frame_skip: ClassVar[int]
    nq: ClassVar[int]
    nv: ClassVar[int]
    act_dim: ClassVar[int]
    goal_dim: ClassVar[int]
    goal_feature_dim: ClassVar[int]
    default_goal: ClassVar[tuple[float, ...]]
    #: MjData fields read by observe/reward/terminated (bind these in a batched evaluator).
    fields: ClassVar[tuple[str, ...]] = ("qpos", "qvel")

    variant: Variant = field(default_factory=Variant)
    max_episode_steps: int = 1000

    # ----- shapes and constants -------------------------------------------------------
    @property
    def base_obs_dim(self) -> int:
        """Size of the v5-style observation before the goal features."""
        raise NotImplementedError

    @property
    def obs_dim(self) -> int:
        return self.base_obs_dim + self.goal_feature_dim

    @property
    def dt(self) -> float:
        """Seconds per env step, computed as v5 does (`opt.timestep * frame_skip`)."""
        return _base_model_facts(self.xml_file)[0] * self.frame_skip

    @property
    def action_low(self) -> np.ndarray:
        return _base_model_facts(self.xml_file)[1][:, 0].copy()

    @property
    def action_high(self) -> np.ndarray:
        return _base_model_facts(self.xml_file)[1][:, 1].copy()

    @property
    def goal_space(self) -> GoalSpace:
        return GOAL_SPACES[self.name]

    def body_id(self, name: str) -> int:
        """Body index by name (variants never reorder bodies)."""
        return _base_model_facts(self.xml_file)[2][name]

    # ----- model and reset ------------------------------------------------------------
    def build_model(self, **variant_kwargs: float) -> mujoco.MjModel:
        """Compile the model with this spec's variant, overridden by `variant_kwargs`."""
        variant = Variant(**{**self.variant.__dict__, **variant_kwargs})
        return build_variant_model(self.xml_file, variant)

    def reset_state(
        self, model: mujoco.MjModel, rng: np.random.Generator, goal: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Initial (qpos, qvel), with exactly the draws of the env's `reset_model`."""
        raise NotImplementedError

    # ----- vectorised step functions --------------------------------------------------
    def goal_features(self, goal: np.ndarray, n: int) -> np.ndarray:
        """(n, goal_feature_dim) features appended to the observation; default: the goal."""
        return goal_rows(goal, n, self.goal_dim)

    def observe(
        self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields, goal: np.ndarray
    ) -> np.ndarray:
        """(N, obs_dim) observations: the v5 observation then the goal features."""
        base = self._base_obs(qpos, qvel, extra)
        return np.concatenate([base, self.goal_features(goal, qpos.shape[0])], axis=1)

    def _base_obs(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        raise NotImplementedError

    def reward(
        self, before: Fields, after: Fields, action: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, RewardInfo]:
        """(N,) rewards and a dict of (N,) reward terms for one env step."""
        raise NotImplementedError

    def terminated(self, qpos: np.ndarray, qvel: np.ndarray, extra: Fields) -> np.ndarray:
        """(N,) bool: the episode ends (v5's unhealthy termination where it applies)."""
        return np.zeros(qpos.shape[0], dtype=bool)

    def control(self, action: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """(N, act_dim) motor commands for the policy's `action` under `goal`: the action itself,
        unless the task observes in a goal-dependent frame (AntHeading's quarter turns)."""
        return action

    @property
    def make_kwargs(self) -> tuple[tuple[str, Any], ...]:
        """The fields set away from their defaults (the variant and the horizon aside): the
        keyword arguments that make `gymnasium.make` build this same task."""
        changed = []
        for f in fields(self):
            if f.name in ("variant", "max_episode_steps") or not f.init:
                continue
            default = f.default_factory() if f.default is MISSING else f.default
            value = getattr(self, f.name)
            if value != default:
                changed.append((f.name, value))
        return tuple(changed)


def _uniform_reset(
    model: mujoco.MjModel, rng: np.random.Generator, scale: float, normal_qvel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """v5 reset: uniform qpos noise; qvel noise uniform (Hopper, Walker) or normal (Cheetah, Ant).

    `model.qpos0` and zeros are v5's `init_qpos` / `init_qvel` (an MjData right after creation).
    """
    qpos = model.qpos0.copy() + rng.uniform(low=-scale, high=scale, size=model.nq)
    if normal_qvel:
        qvel = np.zeros(model.nv) + scale * rng.standard_normal(model.nv)
    else:
        qvel = np.zeros(model.nv) + rng.uniform(low=-scale, high=scale, size=model.nv)
    return qpos, qvel


def _x_velocity(before: Fields, after: Fields, dt: float) -> np.ndarray:
    return (after["qpos"][:, 0] - before["qpos"][:, 0]) / dt
