"""`pbml evaluate` reports what a user's own loop gets: the exported module (`pbml export
--torch`) in a plain Gymnasium loop, `env.reset(seed=S + i)`, full 1000-step episodes, gives
the same returns, compared with ==."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import safetensors.torch
import torch

import pbml_control.envs  # noqa: F401  (registers the PBML/ ids)
from pbml_control.cli import main
from pbml_control.mujoco_problem import MujocoProblem, MujocoProblemConfig
from pbml_control.policies import TorchPolicy, load_genome, save_genome

STEPS = 1000


def random_genome(folder: Path, task: str, hidden: tuple[int, ...], scale: float) -> Path:
    """A random MLP genome for ``task`` with a filled observation normaliser."""
    problem = MujocoProblem(MujocoProblemConfig(task=task, hidden=hidden, max_episode_steps=50))
    try:
        rng = np.random.default_rng(3)
        params = problem.initial_params(rng)[None].repeat(2, axis=0)
        params[1] += scale * rng.standard_normal(params.shape[1])
        problem.evaluate(params, np.asarray(problem.evaluator.task.default_goal), 0, 0)
        spec, norm = problem.evaluator.policy_spec, problem.problem_state.normalizer
    finally:
        problem.close()
    m = spec.layout().num_modules
    path = folder / f"{task}.safetensors"
    meta = {"task": task, "max_episode_steps": STEPS}
    save_genome(path, spec, params[1], np.full(m, -1.0), np.zeros(m), norm, meta)
    return path


def user_loop(module_file: Path, spec, env_id: str, seeds: list[int], **make) -> list[float]:
    """The README's loop, written out: the exported state_dict in gymnasium.make(...)."""
    policy = TorchPolicy(spec)
    policy.load_state_dict(safetensors.torch.load_file(module_file))
    env = gymnasium.make(env_id, **make)
    returns = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                action = policy(torch.as_tensor(obs)).numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def evaluate_json(capsys, *args: str) -> dict:
    assert main(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


CASES = [
    # (genome, extra evaluate args, env id, gymnasium.make kwargs)
    ("zoo:HalfCheetah-v5", [], "HalfCheetah-v5", {}),
    ("Hopper-v5", [], "Hopper-v5", {}),
    ("HalfCheetahVel", ["--goal", "1.5"], "PBML/HalfCheetahVel-v0", {"goal": [1.5]}),
    ("HalfCheetahVel", ["--task", "HalfCheetahVel-Heavy", "--goal", "-1.0"],
     "PBML/HalfCheetahVel-Heavy-v0", {"goal": [-1.0]}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join([c[0], *c[1]]))
def test_evaluate_equals_the_exported_module_in_a_plain_loop(case, tmp_path, capsys):
    name, extra, env_id, make = case
    zoo = name.startswith("zoo:")
    genome = name if zoo else str(random_genome(tmp_path, name, (16,), 0.5))
    module_file = tmp_path / "module.safetensors"
    export = ["export", genome, "--out", str(tmp_path / "e.safetensors")]
    assert main([*export, "--torch", str(module_file)]) == 0
    capsys.readouterr()
    report = evaluate_json(capsys, genome, "--seed", "7", "--episodes", "2", *extra)
    assert report["steps"] == STEPS and report["seeds"] == [7, 8]
    assert report["env_id"] == env_id
    spec = load_genome(tmp_path / "e.safetensors").spec
    mine = user_loop(module_file, spec, env_id, [7, 8], max_episode_steps=STEPS, **make)
    assert report["returns"] == mine  # exact, not approx
    assert report["mean"] == float(np.mean(mine))
    if name != "Hopper-v5":  # a random hopper falls; the others run the whole horizon
        assert report["lengths"] == [STEPS, STEPS]


def test_seed_is_the_reset_seed_and_the_report_has_every_setting(tmp_path, capsys):
    """--seed 7 --episodes 2 is episodes 7 and 8: the second alone, with --seed 8, is the same."""
    genome = str(random_genome(tmp_path, "HalfCheetahVel", (4,), 0.5))
    both = evaluate_json(capsys, genome, "--seed", "7", "--episodes", "2", "--steps", "60")
    second = evaluate_json(capsys, genome, "--seed", "8", "--episodes", "1", "--steps", "60")
    assert second["returns"] == both["returns"][1:]
    assert both["goal"] == [1.0] and both["steps_from"] == "--steps"
    assert {"task", "env_id", "make_kwargs", "lengths", "episodes", "seed"} <= set(both)
    assert main(["evaluate", genome, "--seed", "7", "--episodes", "2", "--steps", "60"]) == 0
    text = capsys.readouterr().out
    assert "goal [1.0], steps 60" in text and "reset seeds 7..8, 2 episodes" in text
    assert repr(both["returns"][0]) in text and repr(both["mean"]) in text


def test_steps_default_to_the_training_horizon(tmp_path, capsys):
    """A run exported with max_episode_steps 40 evaluates 40-step episodes by default."""
    from pbml_control.config import RunConfig
    from pbml_control.runner import train

    config = RunConfig.from_dict(
        {
            "seed": 1,
            "generations": 1,
            "population_size": 4,
            "problem": {"name": "mujoco", "task": "HalfCheetahVel", "max_episode_steps": 40},
        }
    )
    train(tmp_path / "run", config)
    out = tmp_path / "g.safetensors"
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "40 steps (the run's training horizon)" in said and f"wrote {out}" in said
    assert "ranked on goal [" in said and ", 1 episode of 40 steps" in said
    assert "neither the metrics' best nor pbml evaluate's return" in said
    report = evaluate_json(capsys, str(out))
    assert report["steps"] == 40 and report["steps_from"] == "the run's training horizon"
    assert report["lengths"] == [40, 40, 40]
