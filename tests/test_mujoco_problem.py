"""The MuJoCo problem: worker-count independence, determinism, resume and bad input."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.config import ConfigError, ProblemConfig, RunConfig
from pbml_control.envs.batch_rollout import UNSTABLE_RETURN
from pbml_control.registry import make_problem
from pbml_control.runner import read_metrics, train

ROOT = Path(__file__).resolve().parents[1]


def tiny(task: str = "HalfCheetahVel", **problem) -> RunConfig:
    return RunConfig.from_dict(
        {
            "seed": 3,
            "generations": 4,
            "population_size": 6,
            "checkpoint_every": 2,
            "problem": {
                "name": "mujoco",
                "task": task,
                "hidden": [8],
                "episodes": 2,
                "max_episode_steps": 25,
                **problem,
            },
            "mutation": {"init_sigma": 0.3},
            "schedule": {"kind": "random", "period": 2},
        }
    )


def evaluate(config: RunConfig, params: np.ndarray, generation: int = 0):
    problem = make_problem(config.problem)
    try:
        goal = problem.sample_goal(np.random.default_rng(0))
        out = [problem.evaluate(params, goal, config.seed, g) for g in range(generation + 1)]
        return out[-1], problem.state_dict()
    finally:
        problem.close()


def test_results_do_not_depend_on_worker_count():
    """1 and 2 worker processes give bit-identical fitness and observation statistics."""
    config = tiny()
    problem = make_problem(config.problem)
    params = np.stack([problem.initial_params(np.random.default_rng(i)) for i in range(5)])
    problem.close()
    one, state_one = evaluate(config, params, generation=1)
    two_cfg = dataclasses.replace(
        config, problem=ProblemConfig("mujoco", {**config.problem.params, "workers": 2})
    )
    two, state_two = evaluate(two_cfg, params, generation=1)
    assert np.array_equal(one.fitness, two.fitness)
    assert one.info == two.info
    for key in state_one:
        assert np.array_equal(state_one[key], state_two[key]), key


def test_chunks_per_worker_changes_no_byte_of_metrics_or_checkpoints(tmp_path):
    """A run cut into 2 workers x 3 chunks, then resumed with 2 chunks per worker, writes the
    metrics and checkpoint arrays of a one-chunk run byte for byte; timing.jsonl gets the
    balance of each generation's chunks over the workers."""
    train(tmp_path / "one", tiny())
    cut = tiny(workers=2, chunks_per_worker=3)
    train(tmp_path / "cut", dataclasses.replace(cut, generations=2))
    resumed = ProblemConfig("mujoco", {**cut.problem.params, "chunks_per_worker": 2})
    train(tmp_path / "cut", dataclasses.replace(cut, problem=resumed), resume=True)
    one, cut_dir = tmp_path / "one", tmp_path / "cut"
    assert (one / "metrics.jsonl").read_bytes() == (cut_dir / "metrics.jsonl").read_bytes()
    arrays = sorted(p.name for p in (one / "checkpoints").glob("*.npz"))
    assert arrays == sorted(p.name for p in (cut_dir / "checkpoints").glob("*.npz"))
    for name in arrays:
        expected = (one / "checkpoints" / name).read_bytes()
        assert (cut_dir / "checkpoints" / name).read_bytes() == expected, name
    rows = [json.loads(line) for line in (cut_dir / "timing.jsonl").read_text().splitlines()]
    assert [row["generation"] for row in rows] == [0, 1, 2, 3]
    assert all(0 < row["balance"] <= 1 for row in rows)


def test_members_are_evaluated_on_the_same_episodes():
    """Two identical members get identical fitness (same goal, same seeds)."""
    config = tiny()
    problem = make_problem(config.problem)
    p = problem.initial_params(np.random.default_rng(0))
    problem.close()
    result, _ = evaluate(config, np.stack([p, p, p + 0.5]))
    assert result.fitness[0] == result.fitness[1] != result.fitness[2]


def test_nan_weights_give_finite_low_fitness_and_are_counted():
    """A genome full of NaN ends its episodes as unstable with a finite, very low fitness."""
    config = tiny()
    problem = make_problem(config.problem)
    good = problem.initial_params(np.random.default_rng(0))
    problem.close()
    bad = np.full_like(good, np.nan)
    result, _ = evaluate(config, np.stack([good, bad]))
    assert np.all(np.isfinite(result.fitness))
    assert result.fitness[1] == UNSTABLE_RETURN < result.fitness[0]
    assert result.info["unstable_episodes"] == config.problem.params["episodes"]


def test_mujoco_run_resumes_bit_identically(tmp_path):
    """A MuJoCo run stopped and resumed equals an uninterrupted one, normaliser included."""
    config = tiny()
    train(tmp_path / "full", config)
    train(tmp_path / "split", dataclasses.replace(config, generations=2))
    train(tmp_path / "split", config, resume=True)
    assert read_metrics(tmp_path / "full") == read_metrics(tmp_path / "split")
    full, split = (
        load_checkpoint(latest_checkpoint(tmp_path / run / "checkpoints"))
        for run in ("full", "split")
    )
    assert (split.generation, split.next_id) == (full.generation, full.next_id)
    assert split.population.arrays().keys() == full.population.arrays().keys()
    for name, value in full.population.arrays().items():
        assert np.array_equal(split.population.arrays()[name], value, equal_nan=True), name
    # The observation normaliser's statistics (and the step counter), exactly.
    assert full.problem_state["obs_norm/count"] > 0
    assert split.problem_state.keys() == full.problem_state.keys()
    for name, value in full.problem_state.items():
        assert split.problem_state[name].dtype == value.dtype, name
        assert np.array_equal(split.problem_state[name], value), name
    # What the resumed process restored equals the uninterrupted run's state at generation 2.
    at_two = {
        run: load_checkpoint(tmp_path / run / "checkpoints" / "gen_000002.json").problem_state
        for run in ("full", "split")
    }
    problem = make_problem(config.problem)
    try:
        problem.load_state_dict(at_two["split"])
        restored = problem.state_dict()
    finally:
        problem.close()
    assert restored.keys() == at_two["full"].keys()
    assert restored["obs_norm/count"] > 0
    for name, value in at_two["full"].items():
        assert restored[name].dtype == value.dtype, name
        assert np.array_equal(restored[name], value), name


def test_ant_heading_trains_with_two_workers(tmp_path):
    """An Ant run through the CLI writes per-module sigma and env-step counts."""
    out = tmp_path / "ant"
    config = ROOT / "configs" / "ant_heading.toml"
    code = main(
        [
            "train",
            str(config),
            "--out",
            str(out),
            "--quiet",
            "--set",
            "generations=2",
            "--set",
            "population_size=4",
            "--set",
            "problem.max_episode_steps=10",
            "--set",
            "problem.workers=2",
        ]
    )
    assert code == 0
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["env_steps"] > 0 and "sigma/head" in row and "sigma/layer0" in row


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('problem.task="FlyingCar"', "unknown task"),
        ('problem.task="HalfCheetahVel-Bouncy"', "Bouncy"),
        ("problem.episodes=0", "problem.episodes must be >= 1"),
        ("schedule.goals=[[9.0]]", "outside the goal space"),
    ],
)
def test_bad_mujoco_config_exit_2(tmp_path, capsys, override, message):
    """Unknown tasks or variants and goals outside the task's space are one-line errors."""
    out = tmp_path / "run"
    config = str(ROOT / "configs" / "halfcheetah_velocity.toml")
    assert main(["train", config, "--set", override, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_checkpoint_with_other_policy_shape_is_refused(tmp_path, capsys):
    """Resuming a run whose genomes do not fit the policy names the mismatch."""
    out = tmp_path / "run"
    train(out, tiny())
    record = json.loads((out / "config.json").read_text())
    record["problem"]["params"]["hidden"] = [16]
    (out / "config.json").write_text(json.dumps(record))
    assert main(["train", "--resume", str(out), "--quiet"]) == 2
    assert "problem.params.hidden" in capsys.readouterr().err
    ckpt = out / "checkpoints" / "gen_000004.json"
    meta = json.loads(ckpt.read_text())
    meta["config"]["problem"]["params"]["hidden"] = [16]
    ckpt.write_text(json.dumps(meta))
    assert main(["train", "--resume", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "layout" in err and "\n" not in err.strip()


def test_unknown_problem_key_is_named():
    """A typo in a MuJoCo problem key is named."""
    with pytest.raises(ConfigError, match=r"problem\.hiden"):
        make_problem(ProblemConfig("mujoco", {"hiden": [8]}))
