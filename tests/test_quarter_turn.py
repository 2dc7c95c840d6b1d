"""AntHeading's quarter-turn frame: the ant's symmetry, and a policy that uses it on every path."""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import pbml_control.envs as pe
from pbml_control.envs.mujoco_tasks import AntHeadingEnv
from pbml_control.envs.quarter_turn import (
    canonical_heading,
    canonical_observation,
    world_action,
)

# Built here by hand, apart from the module's matrices: one quarter turn of a whole state.
QUARTER = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
TURN_QUAT = np.array([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)])
ANKLE_SIGN = (-1.0, 1.0, -1.0, 1.0)  # leg i -> i+1: the ankles of legs 1 and 3 change sign


def turned_joints(j: np.ndarray) -> np.ndarray:
    out = np.empty(8)
    for leg in range(4):
        to = (leg + 1) % 4
        out[2 * to] = j[2 * leg]
        out[2 * to + 1] = ANKLE_SIGN[leg] * j[2 * leg + 1]
    return out


def turned_state(qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    quat = np.empty(4)
    inverse = TURN_QUAT * np.array([1.0, -1.0, -1.0, -1.0])
    mujoco.mju_mulQuat(quat, TURN_QUAT, qpos[3:7])
    mujoco.mju_mulQuat(quat, quat.copy(), inverse)
    qp = np.concatenate([QUARTER @ qpos[:3], quat, turned_joints(qpos[7:])])
    qv = np.concatenate([QUARTER @ qvel[:3], QUARTER @ qvel[3:6], turned_joints(qvel[6:])])
    return qp, qv


def test_canonical_heading_puts_every_heading_in_one_quadrant() -> None:
    h = np.linspace(-math.pi, math.pi, 97)
    turns, hc = canonical_heading(h)
    assert set(turns.tolist()) == {0, 1, 2, 3}
    assert np.all(np.abs(hc) <= math.pi / 4 + 1e-12)
    np.testing.assert_allclose(np.angle(np.exp(1j * (hc + turns * math.pi / 2 - h))), 0, atol=1e-12)


def test_four_quarter_turns_and_their_inverses_are_the_identity() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (5, 8))
    once = np.ones(5, dtype=np.int64)
    x = a
    for _ in range(4):
        x = world_action(x, once)
    np.testing.assert_array_equal(x, a)
    obs = rng.normal(size=(5, 27))
    y = obs
    for _ in range(4):
        y = canonical_observation(y, once)
    np.testing.assert_array_equal(y, obs)
    np.testing.assert_array_equal(canonical_observation(obs, 0 * once), obs)


def test_the_ant_is_symmetric_under_a_quarter_turn_with_the_module_action_map() -> None:
    """A turned state driven by the turned actions stays the turned trajectory (mj_step)."""
    spec = pe.make_task_spec("AntHeading")
    model = spec.build_model()
    plain, turned = mujoco.MjData(model), mujoco.MjData(model)
    rng = np.random.default_rng(1)
    qpos, qvel = spec.reset_state(model, rng)
    qpos[3:7] /= np.linalg.norm(qpos[3:7])
    plain.qpos[:], plain.qvel[:] = qpos, qvel
    turned.qpos[:], turned.qvel[:] = turned_state(qpos, qvel)
    one = np.ones(1, dtype=np.int64)
    for _ in range(100):
        a = rng.uniform(-1, 1, 8)
        plain.ctrl[:] = a
        turned.ctrl[:] = world_action(a[None], one)[0]
        mujoco.mj_step(model, plain)
        mujoco.mj_step(model, turned)
    want_qpos, want_qvel = turned_state(plain.qpos.copy(), plain.qvel.copy())
    quat_error = min(
        np.abs(want_qpos[3:7] - turned.qpos[3:7]).max(),
        np.abs(want_qpos[3:7] + turned.qpos[3:7]).max(),
    )
    assert quat_error < 1e-9
    np.testing.assert_allclose(turned.qpos[[0, 1, 2, *range(7, 15)]],
                               want_qpos[[0, 1, 2, *range(7, 15)]], atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(turned.qvel, want_qvel, atol=1e-9)
    # the observation map turns the turned state's observation back onto the plain one
    obs_plain = spec.observe(plain.qpos[None], plain.qvel[None], {}, np.zeros(1))[:, :27]
    obs_turned = spec.observe(turned.qpos[None], turned.qvel[None], {}, np.zeros(1))[:, :27]
    np.testing.assert_allclose(canonical_observation(obs_turned, one), obs_plain, atol=1e-9)


def frame_episode(heading: float, qpos: np.ndarray, qvel: np.ndarray, steps: int):
    """Observations and heading velocities of a fixed policy in the quarter-turn frame."""
    w = np.random.default_rng(7).normal(0.0, 0.1, (29, 8))
    env = AntHeadingEnv(goal=[heading], quarter_turn_frame=True)
    env.reset(seed=0)
    env.set_state(qpos, qvel)
    obs = env._get_obs()
    observations, speeds = [obs], []
    for _ in range(steps):
        obs, _, terminated, _, info = env.step(np.tanh(obs @ w))
        observations.append(obs)
        speeds.append(
            info["x_velocity"] * math.cos(heading) + info["y_velocity"] * math.sin(heading)
        )
        if terminated:
            break
    env.close()
    return np.array(observations), np.array(speeds)


@pytest.mark.parametrize("heading", [0.3, -0.7])
def test_one_policy_walks_every_quadrant_alike_in_the_quarter_turn_frame(heading: float) -> None:
    """Heading h from state s and heading h + pi/2 from s turned: the same walk, turned."""
    model = pe.make_task_spec("AntHeading").build_model()
    qpos, qvel = pe.make_task_spec("AntHeading").reset_state(model, np.random.default_rng(2))
    qpos[3:7] /= np.linalg.norm(qpos[3:7])
    obs_a, speed_a = frame_episode(heading, qpos, qvel, 60)
    obs_b, speed_b = frame_episode(heading + math.pi / 2, *turned_state(qpos, qvel), 60)
    assert len(speed_a) == len(speed_b) > 20
    np.testing.assert_allclose(obs_b, obs_a, atol=1e-8)
    np.testing.assert_allclose(speed_b, speed_a, atol=1e-8)
    # without the frame, the same policy does not walk the two quadrants alike
    env = AntHeadingEnv(goal=[heading + math.pi / 2])
    env.reset(seed=0)
    env.set_state(*turned_state(qpos, qvel))
    assert np.abs(env._get_obs() - obs_a[0]).max() > 0.1


def test_fast_path_equals_the_gym_env_in_the_quarter_turn_frame() -> None:
    spec = pe.make_task_spec("AntHeading", quarter_turn_frame=True)
    w = np.random.default_rng(3).normal(0.0, 0.3, (spec.obs_dim, spec.act_dim))

    def act(obs: np.ndarray) -> np.ndarray:
        return np.tanh((obs[:, :, None] * w[None]).sum(axis=1))

    goals = np.array([[0.2], [2.0], [-2.9]])
    trace: dict = {}
    returns, lengths, _ = pe.rollout_batch(
        spec, spec.build_model(), goals, [5, 6, 7], act, max_steps=40, trace=trace
    )
    for i, seed in enumerate((5, 6, 7)):
        env = gym.make("PBML/AntHeading-v0", goal=goals[i], quarter_turn_frame=True)
        obs, _ = env.reset(seed=seed)
        rewards = []
        for t in range(int(lengths[i])):
            np.testing.assert_array_equal(trace["obs"][t, i], obs)
            obs, reward, *_ = env.step(act(obs[None])[0])
            rewards.append(reward)
        assert returns[i] == sum(rewards)
        env.close()


def test_the_frame_is_refused_where_there_is_no_heading_and_listed_where_set() -> None:
    with pytest.raises(ValueError, match="quarter_turn_frame needs a heading goal"):
        pe.make_task_spec("Ant-v5", quarter_turn_frame=True)
    assert pe.make_task_spec("AntHeading").make_kwargs == ()
    spec = pe.make_task_spec("AntHeading", quarter_turn_frame=True, ctrl_cost_weight=0.1)
    assert dict(spec.make_kwargs) == {"quarter_turn_frame": True, "ctrl_cost_weight": 0.1}


def test_a_frame_run_keeps_its_frame_in_export_evaluate_and_the_member_genome(
    tmp_path, capsys
) -> None:
    """The frame is a task setting: the exported genome carries it, `pbml evaluate` passes it to
    gymnasium.make, and the float64 fast path agrees with that plain loop."""
    import json

    from pbml_control.cli import main
    from pbml_control.config import RunConfig
    from pbml_control.experiments.final import member_genome
    from pbml_control.members import load_source
    from pbml_control.policies import load_genome, save_genome
    from pbml_control.run_loader import genome_evaluator
    from pbml_control.runner import train
    from pbml_control.zoo import plain_loop_returns

    problem = {"name": "mujoco", "task": "AntHeading", "hidden": [8], "max_episode_steps": 30,
               "spec_overrides": {"quarter_turn_frame": True}}  # fmt: skip
    config = {"seed": 1, "generations": 2, "population_size": 4, "problem": problem}
    train(tmp_path / "run", RunConfig.from_dict(config))
    out = tmp_path / "g.safetensors"
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 0
    genome = load_genome(out)
    assert genome.metadata["spec_overrides"] == {"quarter_turn_frame": True}
    capsys.readouterr()
    args = ["evaluate", str(out), "--episodes", "2", "--goal", "2.0", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["make_kwargs"]["quarter_turn_frame"] is True
    seeds = np.asarray(report["seeds"])

    def fast_returns(g) -> np.ndarray:
        with genome_evaluator(g, "AntHeading", 2, report["steps"]) as evaluator:
            return evaluator.trace(g.params, np.array([2.0]), seeds, g.normalizer_state, {})

    fast = fast_returns(genome)
    np.testing.assert_allclose(fast, report["returns"], rtol=1e-9)
    zoo_loop = plain_loop_returns(genome, report["env_id"], report["seeds"], report["steps"], [2.0])
    np.testing.assert_array_equal(zoo_loop, report["returns"])  # the zoo cards' loop
    # without the frame the same weights walk differently
    plain = load_genome(out)
    plain.metadata.pop("spec_overrides")
    assert np.abs(fast_returns(plain) - fast).max() > 1e-6
    # a saved setting the task does not have, or one that is not a table: one line, exit 2
    for bad, says in (({"no_such_setting": 1}, "no_such_setting"), ([1], "not a table")):
        g = genome.genome
        broken = save_genome(tmp_path / "bad.safetensors", genome.spec, g.params, g.log_sigma,
                             g.logit_p, genome.normalizer_state,
                             {**genome.metadata, "spec_overrides": bad})  # fmt: skip
        assert main(["evaluate", str(broken)]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err
    # a member taken straight from the run folder (goal tracking, champions) keeps it too
    source = load_source(str(tmp_path / "run"))
    try:
        row = member_genome(source, 0)
        assert row.metadata == {"spec_overrides": {"quarter_turn_frame": True}}
    finally:
        source.close()
