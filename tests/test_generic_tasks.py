"""Any other Gymnasium id on the generic path: returns equal a plain gymnasium loop."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import pbml_control.envs as pe
from pbml_control.cli import main
from pbml_control.mujoco_problem import MujocoProblem, MujocoProblemConfig, ProblemState
from pbml_control.policies import ObsNormalizer, ObsStats, PopulationPolicy
from pbml_control.rng import episode_seeds

STEPS = 120


def plain_loop(env_id: str, policy: PopulationPolicy, row: int, seed: int, steps: int) -> float:
    """The return a user's own loop gets: Box actions clipped to the space and cast to its
    dtype, Discrete actions the argmax of the policy's raw head outputs."""
    env = gym.make(env_id, max_episode_steps=steps)
    obs, _ = env.reset(seed=seed)
    rows = np.full(len(policy), row)  # every row of the population gets this member's input
    total = 0.0
    while True:
        x = np.broadcast_to(np.asarray(obs, dtype=np.float64).reshape(-1), (len(rows), obs.size))
        if isinstance(env.action_space, spaces.Discrete):
            action = int(np.argmax(policy.logits(x)[row]))
        else:
            space = env.action_space
            action = np.clip(policy.act(x)[row], space.low, space.high).astype(space.dtype)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        if terminated or truncated:
            env.close()
            return total


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_generic_returns_equal_a_plain_gymnasium_loop(env_id: str) -> None:
    """Every member's fitness (2 episodes, normalised observations) equals a plain loop's."""
    config = MujocoProblemConfig(task=env_id, hidden=(8,), episodes=2, max_episode_steps=STEPS)
    problem = MujocoProblem(config)
    try:
        assert isinstance(problem.task, pe.GenericTask)
        rng = np.random.default_rng(0)
        params = np.stack([problem.initial_params(rng) for _ in range(3)])
        params[:, -problem.task.act_dim * 9 :] *= 300.0  # a head that acts, not near-zero
        # a normaliser that is not the identity, as after a generation
        running = ObsNormalizer(problem.task.obs_dim)
        running.update([_obs_stats(problem.task.obs_dim, rng)])
        norm = running.state_dict()
        evaluation, _ = problem.evaluator.evaluate_population(
            params, np.zeros(0), 4, 2, ProblemState(norm, env_steps_total=0)
        )
        fitness = evaluation.fitness
        policy = PopulationPolicy(problem.evaluator.policy_spec, params, normalizer=norm)
        for m in range(len(params)):
            expected = [plain_loop(env_id, policy, m, s, STEPS) for s in episode_seeds(4, 2, 2)]
            assert fitness[m] == np.mean(expected)
        assert len(set(fitness.tolist())) > 1  # the members really differ
    finally:
        problem.close()


def _obs_stats(dim: int, rng: np.random.Generator) -> ObsStats:
    """Observation statistics of a few random observations."""
    x = rng.normal(0.3, 2.0, (50, dim))
    return ObsStats.from_sums(np.array(50.0), x.sum(axis=0), (x * x).sum(axis=0))


def test_generic_trace_and_lengths_follow_the_env() -> None:
    """CartPole episodes end at termination; the trace has NaN after the end."""
    task = pe.make_task("CartPole-v1", max_episode_steps=500)
    trace: dict = {}
    returns, lengths, unstable = pe.rollout(
        task, task.build_model(), np.zeros(0), np.array([0, 1]), lambda o: o[:, :2], trace=trace
    )
    assert not unstable.any() and (lengths < 500).all()
    assert returns.tolist() == [float(n) for n in lengths]  # +1 per step
    assert np.isnan(trace["reward"][lengths[0] :, 0]).all()


def test_nan_policy_output_is_unstable_on_the_generic_path() -> None:
    """A NaN output ends that episode as unstable, without stepping the env."""
    task = pe.make_task("Pendulum-v1", max_episode_steps=10)

    def act(obs: np.ndarray) -> np.ndarray:
        out = np.zeros((len(obs), 1))
        out[1] = np.nan
        return out

    returns, lengths, unstable = pe.rollout(task, task.build_model(), (), [0, 1], act)
    assert unstable.tolist() == [False, True] and lengths.tolist() == [10, 1]
    assert returns[1] == pe.UNSTABLE_RETURN


@pytest.mark.filterwarnings("ignore:.*HalfCheetah-v4 is out of date")
def test_spaces_and_names() -> None:
    """Valid ids are never unknown; unsupported spaces and unknown ids get one line each."""
    assert not pe.is_fast_path("Pendulum-v1") and pe.is_fast_path("HalfCheetah-v5")
    assert isinstance(pe.make_task("HalfCheetah-v4"), pe.GenericTask)  # only v5 is fast
    car = pe.make_task("MountainCarContinuous-v0")
    assert (car.act_dim, car.discrete) == (1, False)
    lake = pe.make_task("FrozenLake-v1")
    assert (lake.obs_dim, lake.act_dim, lake.discrete) == (16, 4, True)  # one-hot observations
    with pytest.raises(ValueError, match=r"observation space Tuple\("):
        pe.make_task("Blackjack-v1")
    with pytest.raises(
        ValueError, match="unknown task 'NoSuchEnv-v0': neither one of ours nor a Gymnasium id"
    ):
        pe.make_task("NoSuchEnv-v0")
    if "PBMLTest/MultiBinary-v0" not in gym.registry:
        gym.register("PBMLTest/MultiBinary-v0", entry_point=_MultiBinaryEnv)
    with pytest.raises(ValueError, match=r"action space MultiBinary\(3\)"):
        pe.make_task("PBMLTest/MultiBinary-v0")


class _MultiBinaryEnv(gym.Env):
    observation_space = spaces.Box(-1.0, 1.0, (2,))
    action_space = spaces.MultiBinary(3)


def test_train_and_evaluate_a_generic_task(tmp_path: Path, capsys) -> None:
    """`pbml train` on Pendulum-v1 writes "goal": [], evaluate runs the exported genome, and
    render (MuJoCo fast path only) refuses it in one line."""
    out = tmp_path / "pendulum"
    sets = [
        "generations=2",
        "population_size=4",
        "problem.workers=1",
        "problem.hidden=[4]",
        "problem.max_episode_steps=20",
        'problem.task="Pendulum-v1"',
    ]
    args = [x for s in sets for x in ("--set", s)]
    root = Path(__file__).resolve().parents[1]
    assert main(["train", str(root / "configs" / "default.toml"), *args, "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["goal"] for r in rows] == [[], []]
    genome = tmp_path / "g.safetensors"
    assert main(["export", str(out), "--out", str(genome)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(genome), "--steps", "20", "--episodes", "2"]) == 0
    assert "task Pendulum-v1, goal none" in capsys.readouterr().out
    video = tmp_path / "p.mp4"
    assert main(["render", str(out), "--steps", "2", "--size", "32x32", "--out", str(video)]) == 2
    err = capsys.readouterr().err.strip()
    assert "generic Gymnasium path" in err and "\n" not in err and not video.exists()
