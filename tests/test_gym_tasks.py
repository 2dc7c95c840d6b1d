"""Gymnasium's standard v5 tasks on the fast path equal the upstream classes bit for bit."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pbml_control.envs as pe
from pbml_control.envs.gym_specs import GYM_TASK_SPECS

SEEDS = (7, 2024)
#: Per seed, the noise amplitude as a fraction of the action bounds: 1.1 drives beyond them
#: (v5 does not clip; MuJoCo clamps ctrl), 0.05 keeps Hopper and Walker up for 100-200 steps.
AMPLITUDES = (1.1, 0.05)
#: A linear feedback added to the noise, so that the pole stays up for a whole episode.
FEEDBACK = {"InvertedPendulum-v5": np.array([0.3, 3.0, 0.3, 0.5])}


class Driver:
    """Seeded random actions (plus the task's feedback), row i for SEEDS[i]; row i of an action
    depends only on row i of the observation (no BLAS: elementwise products summed)."""

    def __init__(self, spec: pe.TaskSpec, steps: int) -> None:
        rng = np.random.default_rng(0)
        u = rng.uniform(-1.0, 1.0, (len(SEEDS), steps, spec.act_dim))
        self.noise = u * np.asarray(AMPLITUDES)[:, None, None] * spec.action_high
        self.gain = FEEDBACK.get(spec.name)

    def act(self, obs: np.ndarray, rows: np.ndarray | slice, t: int) -> np.ndarray:
        a = self.noise[rows, min(t, self.noise.shape[1] - 1)].copy()
        if self.gain is not None:
            a += (obs * self.gain).sum(axis=1)[:, None]
        return a

    def for_seed(self, i: int):
        """act(obs, t) for one unbatched episode of SEEDS[i]."""
        rows = np.array([i])
        return lambda obs, t: self.act(obs[None], rows, t)[0]


def upstream_episode(env_id: str, seed: int, act, steps: int) -> dict[str, np.ndarray]:
    """Observations, rewards and terminations from `gymnasium.make(env_id)`, act(obs, t)."""
    env = gym.make(env_id, max_episode_steps=steps)
    obs, _ = env.reset(seed=seed)
    observations, rewards, terminations = [obs], [], []
    for t in range(steps):
        obs, reward, terminated, truncated, _ = env.step(act(obs, t))
        observations.append(obs)
        rewards.append(reward)
        terminations.append(terminated)
        if terminated or truncated:
            break
    env.close()
    return {
        "obs": np.array(observations),
        "reward": np.array(rewards),
        "terminated": np.array(terminations),
    }


def fast_path(spec: pe.TaskSpec, driver: Driver) -> tuple[dict, np.ndarray, np.ndarray]:
    """Every seed of SEEDS in one batch through `rollout_batch`, with a trace."""
    t = [0]

    def act(obs: np.ndarray) -> np.ndarray:
        a = driver.act(obs, slice(None), t[0])
        t[0] += 1
        return a

    trace: dict = {}
    returns, lengths, unstable = pe.rollout_batch(
        spec, spec.build_model(), spec.default_goal, np.array(SEEDS), act, trace=trace
    )
    assert not unstable.any()
    return trace, returns, lengths


@pytest.mark.parametrize("env_id", sorted(GYM_TASK_SPECS))
def test_fast_path_equals_upstream_over_a_full_episode(env_id: str) -> None:
    """Observations, rewards, terminations and returns equal gymnasium.make(env_id) exactly."""
    spec = pe.make_task_spec(env_id)
    assert spec.max_episode_steps == gym.spec(env_id).max_episode_steps
    steps = spec.max_episode_steps
    driver = Driver(spec, steps)
    trace, returns, lengths = fast_path(spec, driver)
    for i, seed in enumerate(SEEDS):
        ref = upstream_episode(env_id, seed, driver.for_seed(i), steps)
        n = len(ref["reward"])
        assert lengths[i] == n
        np.testing.assert_array_equal(trace["obs"][: n + 1, i], ref["obs"])
        np.testing.assert_array_equal(trace["reward"][:n, i], ref["reward"])
        if n < steps:  # the episode ended by termination, on its last step only
            assert ref["terminated"][-1] and not ref["terminated"][:-1].any()
            assert np.isnan(trace["reward"][n:, i]).all()
        else:
            assert not ref["terminated"].any()
        assert returns[i] == sum(ref["reward"])


@pytest.mark.parametrize("env_id", sorted(GYM_TASK_SPECS))
def test_our_env_class_equals_upstream(env_id: str) -> None:
    """`PBML/<id>` (the env render and variants use) steps exactly as upstream for 100 steps."""
    spec = pe.make_task_spec(env_id)
    driver = Driver(spec, 100)
    ours = upstream_episode(pe.task_id(env_id), 5, driver.for_seed(1), 100)
    ref = upstream_episode(env_id, 5, driver.for_seed(1), 100)
    for key in ref:
        np.testing.assert_array_equal(ours[key], ref[key])


@pytest.mark.parametrize("env_id", sorted(GYM_TASK_SPECS))
def test_standard_tasks_have_no_goal(env_id: str) -> None:
    """Goal-free: empty goal, the upstream observation size, and no held-out goals."""
    spec = pe.make_task_spec(env_id)
    space = pe.goal_space(env_id)
    rng = np.random.default_rng(0)
    assert spec.goal_dim == 0 and space.sample(rng).shape == (0,)
    assert spec.obs_dim == gym.make(env_id).observation_space.shape[0]
    assert space.contains(np.zeros(0)) and not space.in_bounds(np.zeros(1))
    with pytest.raises(ValueError, match="no held-out goals"):
        space.sample(rng, "heldout")


def test_standard_task_names_and_variants() -> None:
    """Upstream ids, our namespace and variants parse; a bare family name asks for a version."""
    assert pe.parse_task_name("HalfCheetah-v5") == ("HalfCheetah-v5", None)
    assert pe.parse_task_name("PBML/HalfCheetah-Heavy-v5") == ("HalfCheetah-v5", "Heavy")
    assert pe.task_id("HalfCheetah-v5", "Slippery") == "PBML/HalfCheetah-Slippery-v5"
    assert pe.make_task_spec("HalfCheetah-Heavy-v5").variant.mass_scale == 1.5
    with pytest.raises(ValueError, match="HalfCheetah-v5"):
        pe.make_task_spec("HalfCheetah")


def test_halfcheetah_vel_model_compiles_exactly_as_upstream() -> None:
    """The goal-conditioned cheetah's model has upstream's masses to the bit (settotalmass kept)."""
    ours = pe.make_task_spec("HalfCheetahVel").build_model()
    ref = gym.make("HalfCheetah-v5").unwrapped.model
    for name in ("body_mass", "body_inertia", "body_ipos", "geom_size", "dof_armature"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name))


def test_halfcheetah_vel_observes_exactly_what_halfcheetah_v5_does() -> None:
    """Same seeds and actions: HalfCheetahVel's observation minus its goal equals v5's, to the
    bit, over 200 steps (the one-ulp mass difference once made them drift apart)."""
    traces = {}
    for name in ("HalfCheetahVel", "HalfCheetah-v5"):
        spec = pe.make_task_spec(name, max_episode_steps=200)
        driver = Driver(pe.make_task_spec("HalfCheetah-v5"), 200)
        t = [0]

        def act(obs: np.ndarray, driver: Driver = driver, t: list = t) -> np.ndarray:
            t[0] += 1
            return driver.act(obs, slice(None), t[0] - 1)

        traces[name] = {}
        pe.rollout_batch(
            spec, spec.build_model(), spec.default_goal, SEEDS, act, trace=traces[name]
        )
    np.testing.assert_array_equal(
        traces["HalfCheetahVel"]["obs"][..., :-1], traces["HalfCheetah-v5"]["obs"]
    )
