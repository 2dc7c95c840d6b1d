"""pbml transfer: start states, zero-shot, controls, budgets, determinism and one-line errors.

Sources are tiny: Square World runs (-> hard_square) and a 20-step HalfCheetahVel run with a
6-member population and an [8] hidden layer, so the whole file runs in seconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.config import ConfigError, RunConfig
from pbml_control.loop import initial_state
from pbml_control.registry import make_problem
from pbml_control.rng import generator
from pbml_control.runner import train
from pbml_control.transfer import (
    FRESH,
    arm_label,
    plan_transfer,
    run_job,
    seed_metrics,
    start_state,
)

SQUARE = {
    "generations": 12,
    "population_size": 16,
    "checkpoint_every": 4,
    "problem": {"name": "square"},
    "mutation": {"init_sigma": 1.0, "tau": 0.2},
    "schedule": {"kind": "random", "period": 4},
}
CHEETAH = {
    "generations": 4,
    "population_size": 6,
    "checkpoint_every": 2,
    "problem": {
        "name": "mujoco",
        "task": "HalfCheetahVel",
        "hidden": [8],
        "max_episode_steps": 20,
        "workers": 1,
    },
    "mutation": {"init_sigma": 0.05, "tau": 0.1},
    "schedule": {"kind": "random", "period": 2},
}


def _train(path: Path, base: dict, **changes: object) -> Path:
    data = json.loads(json.dumps(base))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            data[section][name] = value
        else:
            data[section] = value
    train(path, RunConfig.from_dict(data))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    out = {}
    for seed in (0, 1):
        out[f"pbml{seed}"] = _train(root / f"pbml{seed}", SQUARE, seed=seed)
        out[f"static{seed}"] = _train(
            root / f"static{seed}", SQUARE, seed=seed, schedule__kind="static"
        )
    out["greedy"] = _train(root / "greedy", SQUARE, selection={"scheme": "greedy"})
    out["cheetah"] = _train(root / "cheetah", CHEETAH)
    return out


def pbml(*args: str) -> int:
    return main(list(args))


def _square_args(runs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    sources = [str(runs[k]) for k in ("pbml0", "pbml1", "static0", "static1", "greedy")]
    return [
        "transfer",
        *sources,
        "--target",
        "hard_square",
        "--generations",
        "8",
        "--fresh",
        "--seeds",
        "0",
        "1",
        "--k",
        "3",
        "--out",
        str(out),
        *extra,
    ]


def test_arm_labels_come_from_the_config(runs: dict[str, Path]) -> None:
    plan = plan_transfer([str(runs[k]) for k in runs if k != "cheetah"], "hard_square",
                         generations=2, seeds=(0, 1), fresh=True)  # fmt: skip
    assert plan.arms == ("pbml", "static", "greedy", FRESH)
    config = RunConfig.from_dict({"selection": {"scheme": "truncation"}})
    assert arm_label(config) == "truncation"


def test_generation_zero_population_is_the_source_checkpoint(runs: dict[str, Path]) -> None:
    """Params, mutation parameters, ids and next_id all carry over; ages are kept."""
    plan = plan_transfer([str(runs["pbml0"]), str(runs["pbml1"])], "hard_square",
                         generations=3, seeds=(0, 1))  # fmt: skip
    for job, run in zip(plan.jobs, ("pbml0", "pbml1"), strict=True):
        ckpt = load_checkpoint(latest_checkpoint(runs[run] / "checkpoints"))
        problem = make_problem(job.config.problem)
        state = start_state(job, problem)
        assert state.generation == 0 and state.next_id == ckpt.next_id
        for name in ("params", "log_sigma", "logit_p", "ids", "parent_ids"):
            np.testing.assert_array_equal(
                getattr(state.population, name), getattr(ckpt.population, name)
            )
        ages = ckpt.generation - ckpt.population.birth_generation
        np.testing.assert_array_equal(-state.population.birth_generation, ages)
        assert job.config.problem.name == "hard_square"
        assert job.config.selection.scheme == "pbml"
        assert job.config.mutation == RunConfig.from_dict(ckpt.config).mutation


def test_zero_shot_equals_evaluating_the_source_population_on_the_target(
    runs: dict[str, Path],
) -> None:
    """MuJoCo: same genomes, the source's observation normaliser, a held-out goal."""
    plan = plan_transfer([str(runs["cheetah"])], "HalfCheetahVel", generations=2, seeds=(3,))
    (job,) = plan.jobs
    result = run_job(job)
    goal = np.asarray(result["goals"][0])
    assert 2.0 <= abs(goal[0]) <= 3.0, "heldout goals of HalfCheetahVel are |v| in [2, 3]"
    assert result["goals"][0] == result["goals"][-1], "the default schedule is static"
    problem = make_problem(job.config.problem)
    tied = problem.sample_goal(generator(3, "goal", 0), "heldout")  # the schedule's own stream
    problem.close()
    assert not np.allclose(goal, tied), "transfer goals must not share the sources' goal stream"

    ckpt = load_checkpoint(latest_checkpoint(runs["cheetah"] / "checkpoints"))
    problem = make_problem(job.config.problem)
    try:
        problem.load_state_dict(ckpt.problem_state)
        fitness = problem.evaluate(ckpt.population.params, goal, 3, 0).fitness
    finally:
        problem.close()
    assert result["fitness_mean"][0] == pytest.approx(float(fitness.mean()), rel=1e-12)
    assert result["fitness_best"][0] == pytest.approx(float(fitness.max()), rel=1e-12)


def test_transfer_loads_the_source_problem_state(runs: dict[str, Path]) -> None:
    plan = plan_transfer([str(runs["cheetah"])], "HalfCheetahVel-Heavy", generations=1, seeds=(0,))
    ckpt = load_checkpoint(latest_checkpoint(runs["cheetah"] / "checkpoints"))
    problem = make_problem(plan.jobs[0].config.problem)
    try:
        start_state(plan.jobs[0], problem)
        state = problem.state_dict()
    finally:
        problem.close()
    for key, value in ckpt.problem_state.items():
        np.testing.assert_array_equal(state[key], value)


def test_fresh_arm_starts_from_initial_genomes(runs: dict[str, Path]) -> None:
    plan = plan_transfer([str(runs["pbml0"])], "hard_square", generations=2, seeds=(5,), fresh=True)
    fresh = next(j for j in plan.jobs if j.arm == FRESH)
    assert fresh.source is None
    problem = make_problem(fresh.config.problem)
    state = start_state(fresh, problem)
    expected = initial_state(fresh.config, problem)
    np.testing.assert_array_equal(state.population.params, expected.population.params)
    np.testing.assert_array_equal(state.population.log_sigma, expected.population.log_sigma)
    assert len(state.population) == 16 and state.next_id == 16


def test_cli_writes_outputs_with_identical_budgets(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert pbml(*_square_args(runs, out)) == 0
    assert {p.name for p in out.iterdir()} == {
        "transfer.json",
        "transfer.md",
        "transfer_fitness.png",
        "transfer_threshold.png",
        "jobs",  # each arm and seed as it finished, reused by a rerun
        ".lock",  # empty: held only while a transfer writes here
    }
    data = json.loads((out / "transfer.json").read_text())
    assert data["plan"]["arms"] == ["pbml", "static", "greedy", FRESH]
    goals = set()
    for arm, entry in data["arms"].items():
        assert list(entry["seeds"]) == ["0", "1"]
        for seed, run in entry["seeds"].items():
            assert run["evaluations"] == 9 and run["members_evaluated"] == 9 * 16
            assert len(run["fitness_mean"]) == len(run["fitness_best"]) == 9
            goals.add((seed, json.dumps(run["goals"])))
            m = run["metrics"]
            assert m["zero_shot_mean"] == run["fitness_mean"][0]
            assert m["mean_at_k"] == run["fitness_mean"][3]
            assert m["final_best"] == run["fitness_best"][8]
            assert 0 <= m["generations_to_threshold"] <= 9
        src = [entry["seeds"][s]["source_seed"] for s in ("0", "1")]
        assert src == ([None, None] if arm == FRESH else [0, 1] if arm != "greedy" else [0, 0])
    assert len(goals) == 2, "every arm sees the same goals on a seed"
    assert set(map(tuple, data["budget_members_evaluated"].values())) == {(144,)}
    table = (out / "transfer.md").read_text()
    assert "| pbml |" in table and "| fresh |" in table and "[" in table
    for name in ("transfer_fitness.png", "transfer_threshold.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_transfer_json(runs: dict[str, Path], tmp_path: Path) -> None:
    """Deterministic, and independent of the number of processes."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert pbml(*_square_args(runs, one)) == 0
    assert pbml(*_square_args(runs, two, "--processes", "2")) == 0
    assert (one / "transfer.json").read_bytes() == (two / "transfer.json").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cheetah", "--target", "AntHeading"], "incompatible policy layout"),
        (["cheetah", "--target", "hard_square"], "incompatible policy layout"),
        (["pbml0", "--target", "HalfCheetahVel"], "unknown target 'HalfCheetahVel'"),
        (["cheetah", "--target", "HalfCheetahVel-Wobbly"], "unknown variant 'Wobbly'"),
        (["missing", "--target", "hard_square"], "source run not found"),
        (["pbml0", "pbml1", "--target", "hard_square"], "give 1 or one per seed (3)"),
        (["pbml0", "c=cheetah", "--target", "hard_square"], "differ in size"),
        (["pbml0", "--target", "hard_square", "--k", "9"], "--k must be in [0, 3]"),
        (["pbml0", "--target", "hard_square", "--set", "seed=3"], "--set seed is fixed"),
        (["fresh=pbml0", "--target", "hard_square"], "not 'fresh'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture, args, message
) -> None:
    def path(arg: str) -> str:
        """Source names in ``args`` stand for the fixture's runs (``missing`` for none)."""
        label, sep, key = arg.rpartition("=")
        if key not in runs and key != "missing":
            return arg
        return f"{label}{sep}{runs.get(key, tmp_path / key)}"

    out = tmp_path / "out"
    argv = ["transfer", *map(path, args)]
    assert pbml(*argv, "--generations", "3", "--out", str(out)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pbml: error: ") and message in err and "\n" not in err
    assert not out.exists()


def test_existing_output_folder_is_not_overwritten(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert pbml(*_square_args(runs, out)) == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_threshold_metrics() -> None:
    run = {"fitness_mean": [0.0, 1.0, 3.0, 2.0, 5.0], "fitness_best": [1.0, 2, 4, 4, 6]}
    m = seed_metrics(run, threshold=2.5, k=2)
    assert m["generations_to_threshold"] == 2 and m["reached_threshold"]
    assert m["mean_at_k"] == 3.0 and m["final_mean"] == 5.0 and m["final_best"] == 6.0
    assert m["auc_mean"] == pytest.approx(2.2)
    never = seed_metrics(run, threshold=9.0, k=2)
    assert never["generations_to_threshold"] == 5 and not never["reached_threshold"]
    undefined = seed_metrics(run, threshold=math.nan, k=2)
    assert undefined["threshold"] is None and not undefined["reached_threshold"]


def test_default_threshold_is_halfway_from_fresh_start_to_best(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert pbml(*_square_args(runs, out)) == 0
    data = json.loads((out / "transfer.json").read_text())
    for seed, threshold in data["thresholds"].items():
        f0 = data["arms"][FRESH]["seeds"][seed]["fitness_mean"][0]
        fmax = max(v for a in data["arms"].values() for v in a["seeds"][seed]["fitness_mean"])
        assert threshold == (pytest.approx(f0 + 0.5 * (fmax - f0)) if fmax > f0 else None)


def test_plan_rejects_mixed_budgets(runs: dict[str, Path], tmp_path: Path) -> None:
    small = _train(tmp_path / "small", SQUARE, population_size=8)
    with pytest.raises(ConfigError, match="differ in size"):
        plan_transfer([str(runs["pbml0"]), f"small={small}"], "hard_square", generations=2)


def test_absolute_threshold_and_shifting_goals(runs: dict[str, Path], tmp_path: Path) -> None:
    """--threshold X applies to every seed; a random schedule gets one drawn goal per epoch."""
    out = tmp_path / "out"
    extra = ("--threshold", "0.5", "--set", "schedule.kind=random", "--set", "schedule.period=3")
    assert pbml(*_square_args(runs, out, *extra)) == 0
    data = json.loads((out / "transfer.json").read_text())
    assert data["thresholds"] == {"0": 0.5, "1": 0.5}
    for seed in ("0", "1"):
        goals = [a["seeds"][seed]["goals"] for a in data["arms"].values()]
        assert all(g == goals[0] for g in goals), "every arm sees the same goals"
        epochs = [goals[0][g] for g in (0, 3, 6)]
        assert all(goals[0][g] == epochs[g // 3] for g in range(9))
        assert len({json.dumps(e) for e in epochs}) == 3
