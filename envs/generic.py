"""Any Gymnasium id without a fast-path spec: `gymnasium.make(id)` stepped once per simulation.

Slower than `batch_rollout` (one Python `env.step` per simulation and step) but correct for any
registered environment whose spaces we can map to a policy's inputs and outputs:

- observations: a `Box` of any shape, flattened to float64; a `Discrete(n)` becomes one-hot;
- actions: a `Box` takes the policy's tanh-squashed output, whose range is the Box's bounds
  (dimensions with an infinite bound get [-1, 1]), clipped to the Box and cast to its dtype
  before `env.step`, as is customary (Stable-Baselines3 does the same); a `Discrete(n)` takes
  the argmax of the policy's n raw head outputs (`PopulationPolicy.logits`), plus `start`.

Other spaces are refused with a one-line ValueError naming the space. These tasks have no goal
(goal_dim 0). Episodes end at termination, at truncation (`gymnasium.make` wraps the env in a
TimeLimit of `max_episode_steps`), or after `max_steps`; a non-finite action, observation or
reward ends an episode as unstable, with `UNSTABLE_RETURN`, as on the fast path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from pbml_control.envs.batch_rollout import UNSTABLE_RETURN, ActFn, ObsCallback, policy_output
from pbml_control.envs.goals import GoalSpace, NoGoalSpace


def _box_bounds(space: spaces.Box) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Policy bounds of a Box: its own where finite, [-1, 1] per dimension where not."""
    low, high = space.low.reshape(-1).astype(np.float64), space.high.reshape(-1).astype(np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    return (
        tuple(np.where(finite, low, -1.0).tolist()),
        tuple(np.where(finite, high, 1.0).tolist()),
    )


def _obs_dim(env_id: str, space: gymnasium.Space) -> int:
    if isinstance(space, spaces.Box):
        return int(math.prod(space.shape))
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    raise ValueError(
        f"{env_id}: observation space {space} is not supported on the generic path "
        "(Box or Discrete only)"
    )


@dataclass(frozen=True)
class GenericTask:
    """What a policy and the evaluator need to know about a Gymnasium id on the generic path.

    Mirrors the parts of `TaskSpec` the evaluator reads (`obs_dim`, `act_dim`, the action
    bounds, the goal attributes, `build_model`), so both paths share one evaluator.
    """

    name: str
    obs_dim: int
    act_dim: int
    discrete: bool
    bounds: tuple[tuple[float, ...], tuple[float, ...]]  # policy action range (low, high)
    dt: float  # seconds per step where the env says so, else 1 / render_fps (videos)
    max_episode_steps: int = 1000
    make_kwargs: tuple[tuple[str, Any], ...] = ()

    goal_dim: ClassVar[int] = 0
    goal_feature_dim: ClassVar[int] = 0
    default_goal: ClassVar[tuple[float, ...]] = ()

    @property
    def action_low(self) -> np.ndarray:
        return np.array(self.bounds[0], dtype=np.float64)

    @property
    def action_high(self) -> np.ndarray:
        return np.array(self.bounds[1], dtype=np.float64)

    @property
    def goal_space(self) -> GoalSpace:
        return NoGoalSpace(self.name)

    def make_env(self) -> gymnasium.Env:
        """`gymnasium.make(name, max_episode_steps=..., **make_kwargs)`."""
        return gymnasium.make(
            self.name, max_episode_steps=self.max_episode_steps, **dict(self.make_kwargs)
        )

    def build_model(self) -> EnvPool:
        """The generic path's "model": a pool of envs, reused across rollouts in a process."""
        return EnvPool(self)

    def observation(self, env: gymnasium.Env, obs: Any) -> np.ndarray:
        """Flattened float64 observation (one-hot for a Discrete space)."""
        space = env.observation_space
        if isinstance(space, spaces.Discrete):
            one_hot = np.zeros(self.obs_dim)
            one_hot[int(obs) - int(space.start)] = 1.0
            return one_hot
        return np.asarray(obs, dtype=np.float64).reshape(-1)

    def env_action(self, env: gymnasium.Env, output: np.ndarray) -> Any:
        """Policy output (act_dim,) -> the env's action (clipped Box, or Discrete argmax)."""
        space = env.action_space
        if isinstance(space, spaces.Discrete):
            return int(space.start) + int(np.argmax(output))
        a = np.clip(output.reshape(space.shape), space.low, space.high)
        return a.astype(space.dtype)


def make_generic_task(env_id: str, max_episode_steps: int = 1000, **kwargs: Any) -> GenericTask:
    """Inspect `gymnasium.make(env_id, **kwargs)` once; unusable ids raise a one-line ValueError."""
    try:
        env = gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as exc:  # missing dependency, bad arguments, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot make {env_id}: {first}") from None
    except TypeError as exc:
        raise ValueError(f"cannot make {env_id}: {exc}") from None
    try:
        obs_dim = _obs_dim(env_id, env.observation_space)
        space = env.action_space
        if isinstance(space, spaces.Box):
            discrete, act_dim = False, int(math.prod(space.shape))
            bounds = _box_bounds(space)
        elif isinstance(space, spaces.Discrete):
            discrete, act_dim = True, int(space.n)
            bounds = ((-1.0,) * act_dim, (1.0,) * act_dim)
        else:
            raise ValueError(
                f"{env_id}: action space {space} is not supported on the generic path "
                "(Box or Discrete only)"
            )
        dt = getattr(env.unwrapped, "dt", None)
        if dt is None:
            dt = 1.0 / float(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
    return GenericTask(
        name=env_id,
        obs_dim=obs_dim,
        act_dim=act_dim,
        discrete=discrete,
        bounds=bounds,
        dt=float(dt),
        max_episode_steps=int(max_episode_steps),
        make_kwargs=tuple(sorted(kwargs.items())),
    )


class EnvPool:
    """Envs of one task, made on first use and kept: `reset(seed=...)` makes reuse safe."""

    def __init__(self, task: GenericTask) -> None:
        self.task = task
        self.envs: list[gymnasium.Env] = []

    def take(self, n: int) -> list[gymnasium.Env]:
        while len(self.envs) < n:
            self.envs.append(self.task.make_env())
        return self.envs[:n]

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs.clear()


def rollout_generic(
    task: GenericTask,
    pool: EnvPool,
    goal: np.ndarray,
    episode_seed_per_sim: np.ndarray,
    act_fn: ActFn,
    max_steps: int | None = None,
    trace: dict[str, Any] | None = None,
    on_obs: ObsCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`rollout_batch`'s contract on `gymnasium.make` envs: (returns, lengths, unstable).

    `act_fn` maps (N, obs_dim) observations to (N, act_dim) policy outputs (tanh-squashed
    actions for a Box, raw logits for a Discrete space); `goal` is ignored (no goals).
    """
    seeds = np.asarray(episode_seed_per_sim).reshape(-1)
    n = seeds.shape[0]
    steps = task.max_episode_steps if max_steps is None else int(max_steps)
    envs = pool.take(n)
    first = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds, strict=True)]
    obs = np.stack([task.observation(env, o) for env, o in zip(envs, first, strict=True)])
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    unstable = ~np.isfinite(obs).all(axis=1)
    active = ~unstable
    if trace is not None:
        trace.update(obs=[obs.copy()], action=[], reward=[])
    for _ in range(steps):
        if not active.any():
            break
        output = policy_output(act_fn, obs, active, on_obs, task.act_dim)
        step_reward = np.full(n, np.nan)
        for i in np.flatnonzero(active).tolist():
            lengths[i] += 1
            if not np.isfinite(output[i]).all():
                unstable[i], active[i] = True, False
                continue
            new_obs, reward, terminated, truncated, _ = envs[i].step(
                task.env_action(envs[i], output[i])
            )
            x = task.observation(envs[i], new_obs)
            if not (np.isfinite(x).all() and math.isfinite(float(reward))):
                unstable[i], active[i] = True, False
                continue
            obs[i] = x
            returns[i] += float(reward)
            step_reward[i] = float(reward)
            if terminated or truncated:
                active[i] = False
        if trace is not None:
            done = np.isnan(step_reward)[:, None]
            trace["action"].append(np.where(done, np.nan, output))
            trace["reward"].append(step_reward)
            trace["obs"].append(np.where(done, np.nan, obs))
    returns[unstable] = UNSTABLE_RETURN
    if trace is not None:
        for key in ("obs", "action", "reward"):
            items = trace[key]
            trace[key] = np.stack(items) if items else np.zeros((0, n))
    return returns, lengths, unstable
