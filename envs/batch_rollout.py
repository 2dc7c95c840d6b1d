"""Batched episodes on `mujoco.batch.Batch`, bit-identical to stepping the Gymnasium env.

Per env step: write `ctrl` (the raw action, not clipped, as v5's `do_simulation`), run
`frame_skip` substeps with `Batch.step(nstep=frame_skip)`, then compute observation, reward
and termination with the same `TaskSpec` functions the Gymnasium class uses. Derived fields
such as `xpos` are one substep behind after the step, exactly as MjData is after `mj_step`.

Only the simulations still running are stepped (`ids=`); the Batch's per-simulation results
do not depend on which others run or on `nthread`, so masking does not change any result.

Contact forces: Gymnasium v5 calls `mj_rnePostConstraint` after every env step (Ant-v5 reads
`cfrc_ext`), which `mj_step`, and so `Batch.step`, does not run. For a spec that reads one of
`POST_CONSTRAINT_FIELDS`, the Batch is persistent (one MjData per simulation) and after each env
step every stepped simulation's MjData is copied out with `get_data` and `mj_rnePostConstraint`
runs on the copy: exactly the data Gymnasium runs it on. Until the first step these fields are
zero, as `mj_resetData` leaves them and `mj_forward` does not compute them.

Instability never raises: a non-finite action, observation or reward, a MuJoCo warning
(bad qpos/qvel/qacc/ctrl, full contact or constraint buffers), a `SimulationError`, or a
state component beyond `UNSTABLE_STATE_LIMIT` ends that episode with return
`UNSTABLE_RETURN` and `unstable=True`. (The Gymnasium env does not do this: with a NaN
action it returns NaN rewards, as v5 does.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np
from gymnasium.utils import seeding
from mujoco import batch as mjbatch

from pbml_control.envs.task_spec import TaskSpec, goal_rows

#: Return given to an episode that became numerically unstable: finite, and far below what
#: a stable episode of these tasks scores (|reward| per step is O(10), episodes <= 1000 steps).
UNSTABLE_RETURN: float = -1.0e6
#: |qpos| or |qvel| above this marks a simulation as unstable (MuJoCo itself resets at 1e10).
UNSTABLE_STATE_LIMIT: float = 1.0e6

#: MjData fields that only `mj_rnePostConstraint` computes (see the module docstring).
POST_CONSTRAINT_FIELDS: tuple[str, ...] = ("cacc", "cfrc_int", "cfrc_ext")

ActFn = Callable[[np.ndarray], np.ndarray]
ObsCallback = Callable[[np.ndarray, np.ndarray], None]


def episode_rng(seed: int) -> np.random.Generator:
    """The Generator `env.reset(seed=seed)` uses: PCG64 of SeedSequence(seed)."""
    rng, _ = seeding.np_random(int(seed))
    return rng


def rollout_batch(
    spec: TaskSpec,
    model: mujoco.MjModel,
    goal: np.ndarray,
    episode_seed_per_sim: np.ndarray,
    act_fn: ActFn,
    max_steps: int | None = None,
    nthread: int = 1,
    trace: dict[str, Any] | None = None,
    on_obs: ObsCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one episode per simulation and return (returns, lengths, unstable), each (N,).

    Args:
        spec: the task; `model` must come from `spec.build_model(...)` (any variant).
        goal: one goal (goal_dim,) for all simulations, or (N, goal_dim).
        episode_seed_per_sim: (N,) ints; sim i starts where `env.reset(seed=s_i)` starts.
        act_fn: maps observations (N, obs_dim) float64 to actions (N, act_dim). It always
            receives all N rows (finished simulations repeat their last observation, and their
            actions are ignored), so row i may be population member i's policy. Row i's
            action must depend only on row i for results to be independent of N.
        max_steps: episode length limit (truncation); default `spec.max_episode_steps`.
        nthread: threads of the Batch; results do not depend on it.
        trace: if a dict is given, it receives "obs" (T+1, N, obs_dim), "action"
            (T, N, act_dim) and "reward" (T, N), NaN where a simulation had finished, and
            "terms": the spec's reward terms (x_velocity, ...) each (T, N), NaN likewise.
        on_obs: called as on_obs(obs, active) before every action, with the (N,) mask of
            simulations still running: the hook for observation statistics.

    Returns:
        returns: summed rewards (UNSTABLE_RETURN for unstable episodes), float64.
        lengths: env steps taken, int64 (including the step that ended the episode).
        unstable: True where the episode was cut for numerical instability.
    """
    seeds = np.asarray(episode_seed_per_sim).reshape(-1)
    n = seeds.shape[0]
    steps = spec.max_episode_steps if max_steps is None else int(max_steps)
    goals = np.ascontiguousarray(goal_rows(goal, n, spec.goal_dim))

    sims = SimBatch(spec, model, n, nthread=nthread)
    obs = sims.reset(seeds, goals)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    unstable = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    bad = ~_finite_rows(obs)
    unstable[bad] = True
    active[bad] = False
    if trace is not None:
        trace.update(obs=[obs.copy()], action=[], reward=[], terms={})

    for _ in range(steps):
        if not active.any():
            break
        action = policy_output(act_fn, obs, active, on_obs, spec.act_dim)
        bad_action = active & ~_finite_rows(action)
        unstable[bad_action] = True
        lengths[bad_action] += 1
        active &= ~bad_action
        ids = np.flatnonzero(active)
        step_reward = np.full(n, np.nan) if trace is not None else None
        if ids.size:
            new_obs, reward, terms, term, broken = sims.step(ids, action, goals)
            ok = ids[~broken]
            returns[ok] += reward[~broken]
            obs[ok] = new_obs[~broken]
            if step_reward is not None:
                step_reward[ok] = reward[~broken]
                for key, value in terms.items():
                    row = np.full(n, np.nan)
                    row[ok] = np.asarray(value, dtype=np.float64)[~broken]
                    trace["terms"].setdefault(key, []).append(row)
            lengths[ids] += 1
            unstable[ids[broken]] = True
            active[ids[broken]] = False
            active[ids[~broken & term]] = False
        if step_reward is not None:
            if not ids.size:  # nothing stepped: the terms keep one row per step all the same
                for rows in trace["terms"].values():
                    rows.append(np.full(n, np.nan))
            trace["action"].append(np.where(np.isnan(step_reward)[:, None], np.nan, action))
            trace["reward"].append(step_reward)
            trace["obs"].append(np.where(np.isnan(step_reward)[:, None], np.nan, obs))

    returns[unstable] = UNSTABLE_RETURN
    if trace is not None:
        for key in ("obs", "action", "reward"):
            items = trace[key]
            trace[key] = np.stack(items) if items else np.zeros((0, n))
        trace["terms"] = {k: np.stack(v) for k, v in trace["terms"].items()}
    return returns, lengths, unstable


StepResult = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]


class SimBatch:
    """N simulations of one task on a `mujoco.batch.Batch`, each stepped as the env steps.

    The env step that evaluation (`rollout_batch`) and rendering (`pbml render`) share: reset
    as `env.reset(seed=s)`, one env step of the simulations still running, and observations
    under a changed goal. With `persistent=True` (or a spec that reads contact forces) the Batch
    keeps one MjData per simulation, so `batch.get_data(i)` is the whole MjData a renderer
    draws, derived fields included.
    """

    def __init__(
        self,
        spec: TaskSpec,
        model: mujoco.MjModel,
        n: int,
        nthread: int = 1,
        persistent: bool = False,
    ) -> None:
        self.spec, self.model, self.n = spec, model, n
        post = [name for name in spec.fields if name in POST_CONSTRAINT_FIELDS]
        batch = mjbatch.Batch(model, nsim=n, nthread=nthread, persistent=bool(post) or persistent)
        bound = {name: batch.bind(name) for name in spec.fields if name not in post}
        self.post_data = mujoco.MjData(model) if post else None
        self.computed: dict[str, np.ndarray] = {}
        if self.post_data is not None:
            self.computed = {
                name: np.zeros((n, *getattr(self.post_data, name).shape)) for name in post
            }
        self.qpos, self.qvel, self.ctrl = bound["qpos"], bound["qvel"], batch.bind("ctrl")
        bound.update(self.computed)
        self.batch, self.bound = batch, bound

    def reset(
        self, seeds: np.ndarray, goals: np.ndarray, ids: np.ndarray | None = None
    ) -> np.ndarray:
        """Start episodes where `env.reset(seed=s)` starts them; the first observations.

        `ids` None resets every simulation (`seeds` and `goals` one per simulation); else only
        those, with one seed and one goal row each.
        """
        none = mujoco.mjtStage.mjSTAGE_NONE.value
        if ids is None:
            self.batch.reset(stage=none)
            for i, seed in enumerate(seeds):
                self.qpos[i], self.qvel[i] = self.spec.reset_state(
                    self.model, episode_rng(seed), goal=goals[i]
                )
            self.batch.forward()  # as set_state's mj_forward: derived fields for the first obs
            return self.spec.observe(self.qpos.copy(), self.qvel.copy(), _copy(self.bound), goals)
        ids = np.asarray(ids, dtype=np.int64)
        self.batch.reset(ids, stage=none)
        for i, seed, goal in zip(ids.tolist(), seeds, goals, strict=True):
            self.qpos[i], self.qvel[i] = self.spec.reset_state(
                self.model, episode_rng(seed), goal=goal
            )
            for arr in self.computed.values():
                arr[i] = 0.0  # as mj_resetData leaves them
        self.batch.forward(ids)
        return self.observe(ids, goals)

    def observe(self, ids: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Observations of simulations `ids` now, under `goals` (one row each)."""
        fields = {name: arr[ids] for name, arr in self.bound.items()}
        return self.spec.observe(fields["qpos"], fields["qvel"], fields, goals)

    def step(self, ids: np.ndarray, action: np.ndarray, goals: np.ndarray) -> StepResult:
        """One env step of simulations `ids` with `action` (N, act_dim) and `goals` (N, ...).

        Returns, for `ids` in order: new observations, rewards, reward terms, terminated, and
        broken (a failed or warned step, a runaway state, a non-finite observation or reward).
        """
        spec, bound, n = self.spec, self.bound, self.n
        # All running (the common case): slices and views instead of fancy-index copies.
        everyone = ids.size == n
        sel: slice | np.ndarray = slice(None) if everyone else ids
        before = {name: arr[sel].copy() if everyone else arr[sel] for name, arr in bound.items()}
        self.ctrl[sel] = spec.control(action[sel], goals[sel])
        failed = np.zeros(n, dtype=bool)
        try:
            self.batch.step(None if everyone else ids, nstep=spec.frame_skip)
        except mjbatch.SimulationError as err:
            failed[np.asarray(err.ids, dtype=np.int64)] = True
        if self.post_data is not None:
            _post_constraint(
                self.batch, self.model, self.post_data, ids[~failed[ids]], self.computed
            )
        after = {name: arr[sel] for name, arr in bound.items()}  # read before the next step
        new_obs = spec.observe(after["qpos"], after["qvel"], after, goals[sel])
        reward, terms = spec.reward(before, after, action[sel], goals[sel])
        term = spec.terminated(after["qpos"], after["qvel"], after)
        warned = self.batch.warning[sel, :, 1].sum(axis=1) > 0
        huge = (np.abs(after["qpos"]) > UNSTABLE_STATE_LIMIT).any(axis=1) | (
            np.abs(after["qvel"]) > UNSTABLE_STATE_LIMIT
        ).any(axis=1)
        broken = failed[ids] | warned | huge | ~_finite_rows(new_obs) | ~np.isfinite(reward)
        return new_obs, reward, terms, term, broken


def policy_output(
    act_fn: ActFn,
    obs: np.ndarray,
    active: np.ndarray,
    on_obs: ObsCallback | None,
    act_dim: int,
) -> np.ndarray:
    """`act_fn(obs)` as float64, after `on_obs` has seen the step's observations.

    The one check of the policy contract for both paths: an output that is not (N, act_dim)
    raises ValueError.
    """
    if on_obs is not None:
        on_obs(obs, active)
    output = np.asarray(act_fn(obs), dtype=np.float64)
    expected = (obs.shape[0], act_dim)
    if output.shape != expected:
        raise ValueError(f"act_fn returned shape {output.shape}, expected {expected}")
    return output


def _finite_rows(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x).all(axis=1)


def _copy(bound: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: arr.copy() for name, arr in bound.items()}


def _post_constraint(
    batch: mjbatch.Batch,
    model: mujoco.MjModel,
    data: mujoco.MjData,
    ids: np.ndarray,
    computed: dict[str, np.ndarray],
) -> None:
    """Gymnasium's `mj_rnePostConstraint` after a step, on a copy of each simulation's MjData."""
    for i in ids.tolist():
        batch.get_data(i, data)
        mujoco.mj_rnePostConstraint(model, data)
        for name, arr in computed.items():
            arr[i] = getattr(data, name)
