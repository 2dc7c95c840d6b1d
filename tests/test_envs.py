"""Behaviour of the goal-conditioned MuJoCo tasks, their variants and the batched fast path."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pbml_control.envs as pe

BASE_TASKS = ["HalfCheetahVel", "AntHeading", "HopperVel", "Walker2dVel", "ReacherGoal"]
ENVS_DIR = Path(__file__).resolve().parents[1] / "envs"


def linear_tanh_policy(spec: pe.TaskSpec, seed: int = 0, scale: float = 0.3):
    """A fixed random linear map obs -> tanh actions whose row i depends only on obs row i.

    (A BLAS matmul may sum in a different order for 1 and N rows; elementwise products summed
    over one axis do not.)
    """
    w = np.random.default_rng(seed).normal(0.0, scale, (spec.obs_dim, spec.act_dim))

    def act(obs: np.ndarray) -> np.ndarray:
        return np.tanh((obs[:, :, None] * w[None]).sum(axis=1))

    return act


def gym_episode(env_id: str, seed: int, act, steps: int, **kwargs):
    """Observations, rewards and return of one episode stepped through gymnasium.make."""
    env = gym.make(env_id, max_episode_steps=steps, **kwargs)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(act(obs[None])[0])
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    env.close()
    return np.array(observations), np.array(rewards)


@pytest.mark.parametrize("env_id", pe.registered_tasks())
def test_check_env_passes_for_every_registered_task(env_id: str) -> None:
    """Gymnasium's env checker accepts every task and variant."""
    env = gym.make(env_id)
    with pytest.warns(UserWarning):  # the checker flags the unbounded Box, as for v5
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_registered_tasks_lists_base_tasks_and_variants() -> None:
    """Base tasks and the named transfer variants are registered under PBML/."""
    ids = pe.registered_tasks()
    for task in BASE_TASKS:
        assert f"PBML/{task}-v0" in ids
    for variant in ("Heavy", "Slippery", "LowGravity", "LongLimbs"):
        assert f"PBML/HalfCheetahVel-{variant}-v0" in ids
        assert f"PBML/AntHeading-{variant}-v0" in ids
    assert all(env_id in gym.registry for env_id in ids)


def test_default_time_limit_is_1000_and_overridable() -> None:
    """gym.make wraps the locomotion tasks in a 1000-step TimeLimit that can be overridden."""
    assert gym.make("PBML/HalfCheetahVel-v0").spec.max_episode_steps == 1000
    env = gym.make("PBML/HalfCheetahVel-v0", max_episode_steps=3)
    env.reset(seed=0)
    truncated = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert truncated == [False, False, True]


@pytest.mark.parametrize("task", BASE_TASKS)
def test_same_seed_and_actions_give_same_trajectory(task: str) -> None:
    """Two envs reset with one seed and fed one action sequence produce equal trajectories."""
    actions = np.random.default_rng(1).uniform(-1, 1, (20, pe.TASK_SPECS[task].act_dim))
    runs = []
    for _ in range(2):
        env = gym.make(f"PBML/{task}-v0")
        obs, _ = env.reset(seed=42)
        traj = [obs]
        for a in actions:
            obs, r, term, _, _ = env.step(a)
            traj.append(np.append(obs, r))
            if term:
                break
        runs.append(traj)
    assert len(runs[0]) == len(runs[1])
    for x, y in zip(*runs, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("task", BASE_TASKS)
def test_initial_state_is_randomised_across_seeds(task: str) -> None:
    """Different seeds give different initial observations."""
    env = gym.make(f"PBML/{task}-v0")
    first, _ = env.reset(seed=0)
    second, _ = env.reset(seed=1)
    assert not np.allclose(first, second)


@pytest.mark.parametrize("task", BASE_TASKS)
def test_goal_is_appended_to_observation(task: str) -> None:
    """The last goal_feature_dim entries of the observation encode the current goal."""
    spec = pe.make_task_spec(task)
    goal = spec.goal_space.sample(np.random.default_rng(3), "train")
    env = gym.make(f"PBML/{task}-v0")
    obs, _ = env.reset(seed=0, options={"goal": goal})
    expected = spec.goal_features(goal, 1)[0]
    np.testing.assert_array_equal(obs[-spec.goal_feature_dim :], expected)
    assert obs.shape == (spec.obs_dim,)


def test_cheetah_moving_forward_prefers_positive_target() -> None:
    """Forward motion earns more reward for target velocity +1 than for -1."""
    spec = pe.make_task_spec("HalfCheetahVel")
    before = {"qpos": np.zeros((1, 9)), "qvel": np.zeros((1, 9))}
    after = {"qpos": np.zeros((1, 9)), "qvel": np.zeros((1, 9))}
    after["qpos"][0, 0] = 1.0 * spec.dt  # moved at 1 m/s
    action = np.zeros((1, 6))
    r_fwd, _ = spec.reward(before, after, action, np.array([1.0]))
    r_back, _ = spec.reward(before, after, action, np.array([-1.0]))
    assert r_fwd[0] == pytest.approx(0.0, abs=1e-12)
    assert r_back[0] == pytest.approx(-2.0)


def test_reset_goal_option_changes_reward_in_env() -> None:
    """The same forward-pushed cheetah is rewarded differently under goals +2 and -2."""
    rewards = {}
    for goal in (2.0, -2.0):
        env = gym.make("PBML/HalfCheetahVel-v0")
        env.reset(seed=0, options={"goal": [goal]})
        env.unwrapped.data.qvel[0] = 3.0  # push forward
        _, rewards[goal], _, _, info = env.step(np.zeros(6))
        assert info["x_velocity"] > 0.5
    assert rewards[2.0] > rewards[-2.0] + 3.0


def test_ant_heading_rewards_velocity_along_heading() -> None:
    """Ant moving along +x is rewarded for heading 0 and penalised for heading pi."""
    spec = pe.make_task_spec("AntHeading")
    qpos = np.zeros((1, 15))
    qpos[0, 2] = 0.5
    after = {"qpos": qpos.copy(), "qvel": np.zeros((1, 14))}
    after["qpos"][0, 0] = spec.dt
    before = {"qpos": qpos, "qvel": np.zeros((1, 14))}
    r0, _ = spec.reward(before, after, np.zeros((1, 8)), np.array([0.0]))
    r_pi, _ = spec.reward(before, after, np.zeros((1, 8)), np.array([np.pi]))
    r_side, _ = spec.reward(before, after, np.zeros((1, 8)), np.array([np.pi / 2]))
    assert r0[0] == pytest.approx(2.0) and r_pi[0] == pytest.approx(0.0)
    assert r_side[0] == pytest.approx(1.0)


def test_reacher_goal_places_the_target() -> None:
    """The Reacher target body sits at the goal after reset."""
    env = gym.make("PBML/ReacherGoal-v0", goal=[-0.15, 0.05])
    env.reset(seed=0)
    np.testing.assert_allclose(env.unwrapped.data.body("target").xpos[:2], [-0.15, 0.05])


@pytest.mark.parametrize("task", BASE_TASKS)
def test_goal_spaces_sample_inside_their_split(task: str) -> None:
    """Samples of each split lie in that split, not in the other, and inside the bounds."""
    space = pe.goal_space(f"PBML/{task}-v0")
    rng = np.random.default_rng(0)
    for split, other in (("train", "heldout"), ("heldout", "train")):
        for _ in range(50):
            g = space.sample(rng, split)
            assert g.shape == space.shape and g.dtype == np.float64
            assert space.contains(g, split) and not space.contains(g, other)
            assert space.in_bounds(g)
            assert np.all(space.low <= g) and np.all(g <= space.high)


def test_goal_outside_space_is_detected_and_rejected() -> None:
    """Goals outside the bounds, of the wrong shape or non-finite are refused."""
    space = pe.goal_space("HalfCheetahVel")
    assert not space.in_bounds(np.array([5.0]))
    assert not space.contains(np.array([2.5]), "train")
    assert space.contains(np.array([2.5]), "heldout")
    assert not space.in_bounds(np.array([np.nan]))
    with pytest.raises(ValueError, match="outside the goal space"):
        gym.make("PBML/HalfCheetahVel-v0", goal=[10.0])
    env = gym.make("PBML/ReacherGoal-v0")
    with pytest.raises(ValueError, match="shape"):
        env.reset(seed=0, options={"goal": [0.1]})
    with pytest.raises(ValueError, match="unknown goal split"):
        space.sample(np.random.default_rng(0), "test")  # type: ignore[arg-type]


def test_unknown_task_or_variant_names_raise_value_error() -> None:
    """make_task_spec and goal_space name the unknown task or variant."""
    with pytest.raises(ValueError, match="NoSuchTask"):
        pe.make_task_spec("NoSuchTask")
    with pytest.raises(ValueError, match="Bouncy"):
        pe.make_task_spec("HalfCheetahVel-Bouncy")
    with pytest.raises(ValueError, match="LongLimbs"):
        pe.make_task_spec("ReacherGoal-LongLimbs")
    with pytest.raises(ValueError, match="bogus_weight"):
        pe.make_task_spec("HopperVel", bogus_weight=1.0)
    with pytest.raises(ValueError, match="Nope"):
        pe.goal_space("PBML/Nope-v0")
    spec = pe.make_task_spec("PBML/AntHeading-Heavy-v0", ctrl_cost_weight=0.1)
    assert spec.variant.mass_scale == 1.5 and spec.ctrl_cost_weight == 0.1


@pytest.mark.parametrize("task", ["HalfCheetahVel", "AntHeading"])
def test_variants_really_change_the_model(task: str) -> None:
    """Named variants change mass, friction, gravity or limb length relative to the base."""
    base = pe.make_task_spec(task).build_model()
    models = {v: pe.make_task_spec(f"{task}-{v}").build_model() for v in pe.TASK_VARIANTS[task]}
    assert models["Heavy"].body_mass.sum() == pytest.approx(1.5 * base.body_mass.sum())
    np.testing.assert_allclose(models["Heavy"].body_inertia, 1.5 * base.body_inertia)
    np.testing.assert_allclose(
        models["Slippery"].geom_friction[:, 0], 0.3 * base.geom_friction[:, 0]
    )
    np.testing.assert_allclose(models["LowGravity"].opt.gravity, 0.5 * base.opt.gravity)
    long_model = models["LongLimbs"]
    assert long_model.nq == base.nq and long_model.nbody == base.nbody
    limb_geoms = base.geom_bodyid > 1
    assert np.all(long_model.geom_size[limb_geoms, 1] > base.geom_size[limb_geoms, 1])
    assert long_model.body_mass.sum() > base.body_mass.sum()  # longer capsules weigh more


def test_variant_kwargs_reach_the_gym_env() -> None:
    """Constructor kwargs and registered variants build the modified model inside the env."""
    env = gym.make("PBML/HalfCheetahVel-LowGravity-v0").unwrapped
    assert env.model.opt.gravity[2] == pytest.approx(-9.81 / 2)
    env = gym.make("PBML/HopperVel-v0", friction_scale=2.0).unwrapped
    assert env.model.geom_friction[1, 0] == pytest.approx(1.8)
    with pytest.raises(ValueError, match="mass_scale"):
        pe.Variant(mass_scale=0.0)


def test_base_model_matches_gymnasium_v5_asset() -> None:
    """The unmodified spec model has v5's masses (HalfCheetah's settotalmass included)."""
    for task in ("HalfCheetahVel", "AntHeading"):
        spec = pe.make_task_spec(task)
        ours = spec.build_model()
        ref = mujoco.MjModel.from_xml_path(str(pe.variants.ASSET_DIR / spec.xml_file))
        np.testing.assert_allclose(ours.body_mass, ref.body_mass, rtol=1e-12)
        np.testing.assert_allclose(ours.body_inertia, ref.body_inertia, rtol=1e-12)


@pytest.mark.parametrize("task", ["HalfCheetahVel", "AntHeading", "HopperVel", "ReacherGoal"])
def test_rollout_batch_equals_gym_env_bit_for_bit(task: str) -> None:
    """Fast path and gymnasium.make give identical observations, rewards and returns."""
    spec = pe.make_task_spec(task)
    act = linear_tanh_policy(spec)
    seeds = np.array([3, 17, 123])
    steps = 60
    trace: dict = {}
    returns, lengths, unstable = pe.rollout_batch(
        spec, spec.build_model(), spec.default_goal, seeds, act, max_steps=steps, trace=trace
    )
    assert not unstable.any()
    for i, seed in enumerate(seeds):
        obs, rewards = gym_episode(f"PBML/{task}-v0", int(seed), act, steps)
        assert lengths[i] == len(rewards)
        np.testing.assert_array_equal(trace["obs"][: len(obs), i], obs)
        np.testing.assert_array_equal(trace["reward"][: len(rewards), i], rewards)
        assert returns[i] == sum(rewards)


def test_rollout_batch_equals_gym_env_on_variant_with_per_sim_goals() -> None:
    """Per-simulation goals on a variant model match the gym env made with the same variant."""
    spec = pe.make_task_spec("HalfCheetahVel-Heavy")
    act = linear_tanh_policy(spec, seed=4)
    goals = np.array([[1.5], [-1.0]])
    returns, _, _ = pe.rollout_batch(spec, spec.build_model(), goals, [8, 9], act, max_steps=30)
    for i, seed in enumerate((8, 9)):
        _, rewards = gym_episode("PBML/HalfCheetahVel-Heavy-v0", seed, act, 30, goal=goals[i])
        assert returns[i] == sum(rewards)


def test_rollout_result_of_a_sim_does_not_depend_on_batch_size_or_threads() -> None:
    """Sim i's return, length and flags are the same alone, in a larger batch, on 2 threads."""
    spec = pe.make_task_spec("AntHeading")
    model = spec.build_model()
    act = linear_tanh_policy(spec, seed=2)
    seeds = np.arange(6) + 100
    full = pe.rollout_batch(spec, model, [0.5], seeds, act, max_steps=40, nthread=2)
    for i in (0, 4):
        alone = pe.rollout_batch(spec, model, [0.5], seeds[i : i + 1], act, max_steps=40)
        for a, b in zip(full, alone, strict=True):
            assert a[i] == b[0]


def test_nan_actions_give_finite_low_return_and_unstable_flag() -> None:
    """A policy emitting NaN for some sims ends those episodes with UNSTABLE_RETURN."""
    spec = pe.make_task_spec("HalfCheetahVel")
    good = linear_tanh_policy(spec)

    def act(obs: np.ndarray) -> np.ndarray:
        a = good(obs)
        a[1] = np.nan
        return a

    returns, lengths, unstable = pe.rollout_batch(spec, spec.build_model(), [1.0], [0, 1], act, 20)
    assert np.isfinite(returns).all()
    assert unstable.tolist() == [False, True]
    assert returns[1] == pe.UNSTABLE_RETURN < returns[0]
    assert lengths.tolist() == [20, 1]


def test_exploding_physics_is_flagged_unstable_not_raised() -> None:
    """A model driven into MuJoCo's bad-state reset is caught as unstable, without exceptions."""
    spec = pe.make_task_spec("HopperVel")
    model = spec.build_model()
    model.actuator_gear[:, 0] = 1e12  # absurd torques blow the state up
    model.actuator_ctrlrange[:] = [-1e12, 1e12]

    def act(obs: np.ndarray) -> np.ndarray:
        return np.full((obs.shape[0], spec.act_dim), 1e12)

    returns, _, unstable = pe.rollout_batch(spec, model, [1.0], [0, 1], act, max_steps=20)
    assert unstable.all() and np.isfinite(returns).all()


def test_mujoco_warnings_go_to_logging_not_mujoco_log_file(tmp_path: Path) -> None:
    """Compiling HalfCheetah's XML and an unstable step write no MUJOCO_LOG.TXT."""
    code = (
        "import logging, mujoco, numpy as np, gymnasium as gym\n"
        "import pbml_control.envs as pe\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "m = mujoco.MjModel.from_xml_path(str(pe.variants.ASSET_DIR / 'half_cheetah.xml'))\n"
        "env = gym.make('HalfCheetah-v5'); env.reset(seed=0)\n"
        "env.unwrapped.data.qvel[:] = 1e20; env.step(np.zeros(6))\n"
        "assert pe.warning_count() >= 2, pe.warning_count()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "settotalmass" in result.stderr  # via logging
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_envs_imports_neither_torch_nor_method_internals() -> None:
    """envs/ only imports pbml_control.envs from the project, and never torch."""
    for path in ENVS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("torch"), (path.name, name)
                if name.startswith("pbml_control"):
                    assert name.startswith("pbml_control.envs"), (path.name, name)
    assert os.path.isdir(ENVS_DIR)


def test_long_limbed_ant_healthy_height_follows_limb_length() -> None:
    """A long-legged Ant standing at z=1.1 is healthy; the base Ant at that height is not."""
    qpos, qvel = np.zeros((1, 15)), np.zeros((1, 14))
    qpos[0, 2] = 1.1
    assert pe.make_task_spec("AntHeading-LongLimbs").is_healthy(qpos, qvel)[0]
    assert not pe.make_task_spec("AntHeading").is_healthy(qpos, qvel)[0]
