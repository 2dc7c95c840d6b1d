"""Export: a genome saved from a run, loaded and run as a plain torch module in a Gymnasium loop
gives the same actions and return as the package's own evaluator."""

from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch

import pbml_control.envs  # noqa: F401  (registers the PBML/ tasks)
from pbml_control.cli import main
from pbml_control.config import RunConfig
from pbml_control.members import load_source, select_members
from pbml_control.policies import PopulationPolicy, load_genome, to_torch_module
from pbml_control.runner import train

STEPS = 30


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    config = RunConfig.from_dict(
        {
            "seed": 1,
            "generations": 3,
            "population_size": 6,
            "problem": {
                "name": "mujoco",
                "task": "HalfCheetahVel",
                "hidden": [8],
                "max_episode_steps": STEPS,
            },
            "mutation": {"init_sigma": 0.5},
        }
    )
    out = tmp_path_factory.mktemp("export") / "run"
    train(out, config)
    return out


def test_best_member_has_the_highest_fitness(run_dir):
    """'best' is the argmax of a fresh evaluation; rank:2 is no better."""
    source = load_source(run_dir)
    try:
        best, second = select_members(source, ["best", "rank:2"], [np.array([1.0])])
    finally:
        source.close()
    assert best.fitness >= second.fitness and best.index != second.index


def test_exported_module_reproduces_actions_and_return(run_dir, tmp_path):
    """The safetensors genome, as a torch module in a Gymnasium loop, earns the evaluator's
    return for the same goal and episode seed."""
    out = tmp_path / "best.safetensors"
    assert main(["export", str(run_dir), "--goal", "1.0", "--out", str(out)]) == 0
    genome = load_genome(out)
    module = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
    numpy_policy = PopulationPolicy(genome.spec, genome.params, genome.normalizer_state)

    env = gymnasium.make("PBML/HalfCheetahVel-v0", goal=np.array([1.0]), max_episode_steps=STEPS)
    obs, _ = env.reset(seed=123)
    total = 0.0
    for _ in range(STEPS):
        with torch.no_grad():
            action = module(torch.as_tensor(obs)).numpy()
        assert np.allclose(action, numpy_policy.act(obs[None])[0], atol=1e-10)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        if terminated or truncated:
            break

    source = load_source(run_dir)
    try:
        from pbml_control.envs.batch_rollout import rollout_batch

        returns, _, _ = rollout_batch(
            source.task,
            source.evaluator.model,
            np.array([1.0]),
            np.array([123]),
            numpy_policy.act,
            max_steps=STEPS,
        )
    finally:
        source.close()
    assert total == pytest.approx(returns[0], abs=1e-6)


def test_export_bad_member_exit_2(run_dir, tmp_path, capsys):
    """An unknown member id is a one-line error and writes nothing."""
    out = tmp_path / "x.safetensors"
    assert main(["export", str(run_dir), "--member", "99999", "--out", str(out)]) == 2
    assert "99999" in capsys.readouterr().err
    assert not out.exists()


def test_export_of_a_goal_set_run_lists_its_goals(tmp_path):
    """A run evaluated on 2 goals per generation exports its best member on that goal set."""
    config = RunConfig.from_dict(
        {
            "seed": 2, "generations": 2, "population_size": 4,
            "problem": {"name": "mujoco", "task": "HalfCheetahVel", "hidden": [4],
                        "max_episode_steps": 10},
            "schedule": {"kind": "random", "period": 5, "goals_per_generation": 2},
        }
    )  # fmt: skip
    train(tmp_path / "run", config)
    out = tmp_path / "best.safetensors"
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 0
    goals = load_genome(out).metadata["goals"]
    assert len(goals) == 2 and all(len(g) == 1 for g in goals)
