"""Normalised fitness of goal tasks (0 = standing still, 1 = perfect): the formula, a robot that
does nothing, and where it shows (metrics keys only for goal tasks, the bar, the summary, the
plot, TensorBoard)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import gymnasium
import numpy as np
import pytest

import pbml_control.envs  # noqa: F401  (registers PBML/...)
from pbml_control.cli import main
from pbml_control.config import load_config
from pbml_control.metrics_log import read_metrics
from pbml_control.normalised import Normaliser, Reference, for_config
from pbml_control.plotting import load_metrics
from pbml_control.progress import ProgressBar

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SMALL = ["--set", "generations=2", "--set", "population_size=4", "--quiet"]
TINY = [*SMALL, "--set", "problem.workers=1", "--set", "problem.max_episode_steps=20"]
NEW_KEYS = {"fitness_mean_normalised", "fitness_best_normalised"}


def normaliser(config: str, *overrides: str) -> Normaliser:
    found = for_config(load_config(CONFIGS / config, list(overrides)))
    assert found is not None
    return found


def test_the_formula_on_hand_made_returns_is_exact():
    """Standing still scores -|goal| per step on HalfCheetahVel: -400 over 200 steps at goal 2."""
    cheetah = normaliser("halfcheetah_velocity.toml")  # 200 steps
    assert cheetah.reference([2.0]) == Reference(still=-400.0, perfect=0.0)
    assert cheetah.reference([-2.0]).normalise(-100.0) == 0.75
    assert cheetah.reference([1.0]).normalise(-200.0) == 0.0
    assert cheetah.reference([1.0]).normalise(0.0) == 1.0
    # a goal set: the fitness is the mean over its goals, so are the references
    assert cheetah.reference([[1.0], [-3.0]]) == Reference(still=-400.0, perfect=0.0)
    # Hopper: a healthy bonus of 1 a step, minus the survival shift, on both references
    hopper = normaliser("hopper_velocity.toml", "problem.survival_shift=0.5")
    assert hopper.reference([1.5]) == Reference(still=200 * (0.5 - 1.5), perfect=100.0)
    assert hopper.reference([1.5]).normalise(-50.0) == 0.5
    # Ant: 0 = standing (healthy) still, 1 = 1 m/s along the heading
    ant = normaliser("ant_heading.toml")
    assert ant.reference([0.7]) == Reference(still=200.0, perfect=400.0)
    assert ant.reference([0.7]).normalise(500.0) == 1.5
    # Reacher: the arm at rest has its fingertip at (0.21, 0); the target is the goal
    reacher = normaliser("reacher_goal.toml")  # 50 steps
    still = reacher.reference([-0.1, 0.1]).still
    assert still == pytest.approx(-50 * math.hypot(0.31, 0.1), abs=1e-12)
    # a weight changed through spec_overrides changes the scale
    weighted = normaliser(
        "halfcheetah_velocity.toml", "problem.spec_overrides={forward_reward_weight=2.0}"
    )
    assert weighted.reference([1.0]) == Reference(still=-400.0, perfect=0.0)


def test_undefined_where_standing_still_is_perfect_or_the_fitness_is_not_finite():
    cheetah = normaliser("halfcheetah_velocity.toml")
    assert math.isnan(cheetah.reference([0.0]).normalise(-5.0))
    assert math.isnan(cheetah.reference([1.0]).normalise(float("nan")))
    row = {"goal": [0.0], "fitness_mean": -5.0, "fitness_best": -1.0}
    assert all(math.isnan(v) for v in cheetah.keys(row).values())


@pytest.mark.parametrize(
    ("task", "config", "goal"),
    [
        ("HalfCheetahVel", "halfcheetah_velocity.toml", [1.0]),
        ("HalfCheetahVel", "halfcheetah_velocity.toml", [-2.0]),
        ("AntHeading", "ant_heading.toml", [1.5]),
        ("ReacherGoal", "reacher_goal.toml", [-0.1, 0.1]),
    ],
)
def test_a_robot_that_does_nothing_scores_about_zero(task, config, goal):
    """Zero action in a plain Gymnasium loop, over the run's horizon (Hopper and Walker2d fall
    over, so they are not in this list: docs/method.md gives what they score)."""
    norm = normaliser(config)
    env = gymnasium.make(f"PBML/{task}-v0", goal=goal, max_episode_steps=norm.steps)
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape))
        total, done = total + reward, terminated or truncated
    value = norm.reference(goal).normalise(total)
    assert abs(value) < 0.05, value
    assert abs(norm.reference(goal).normalise(2 * total)) > 0.5  # the test can fail


def test_no_normaliser_without_goals():
    assert for_config(load_config(CONFIGS / "square.toml")) is None
    assert for_config(load_config(CONFIGS / "default.toml")) is None  # HalfCheetah-v5
    pendulum = load_config(CONFIGS / "default.toml", ["problem.task='Pendulum-v1'"])
    assert for_config(pendulum) is None


def test_metrics_keys_only_for_goal_tasks(tmp_path):
    """A goal task's rows gain the two keys, equal to the formula on the row; others none."""
    goal_run, plain_run = tmp_path / "goal", tmp_path / "plain"
    config = CONFIGS / "halfcheetah_velocity.toml"
    assert main(["train", str(config), "--out", str(goal_run), *TINY]) == 0
    assert main(["train", str(CONFIGS / "default.toml"), "--out", str(plain_run), *TINY,
                 "--set", "max_env_steps=0"]) == 0  # fmt: skip
    assert main(["train", str(CONFIGS / "square.toml"), "--out", str(tmp_path / "sq"), *SMALL]) == 0
    norm = for_config(load_config(config, ["problem.max_episode_steps=20"]))
    assert norm is not None
    for row in read_metrics(goal_run):
        assert set(row) >= NEW_KEYS
        reference = norm.reference(row["goal"])
        assert row["fitness_mean_normalised"] == reference.normalise(row["fitness_mean"])
        assert row["fitness_best_normalised"] == reference.normalise(row["fitness_best"])
    for run in (plain_run, tmp_path / "sq"):
        assert all(not NEW_KEYS & set(row) for row in read_metrics(run))


def test_the_plot_computes_the_keys_for_a_run_logged_without_them(tmp_path):
    run = tmp_path / "run"
    assert (
        main(["train", str(CONFIGS / "halfcheetah_velocity.toml"), "--out", str(run), *TINY]) == 0
    )
    logged = load_metrics(run).normalised("fitness_mean")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    stripped = [{k: v for k, v in json.loads(line).items() if k not in NEW_KEYS} for line in lines]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stripped))
    computed = load_metrics(run).normalised("fitness_mean")
    assert logged is not None and computed is not None
    assert np.array_equal(logged, computed)
    assert main(["plot", str(run)]) == 0


def test_the_bar_and_the_summary_show_normalised_values_and_say_what_they_mean(tmp_path, capsys):
    bar = ProgressBar(total=4, legend="0 = standing still, 1 = perfect")
    row = {"generation": 0, "fitness_mean": -150.0, "fitness_best": -50.0,
           "fitness_mean_normalised": 0.25, "fitness_best_normalised": 0.75}  # fmt: skip
    bar.update(SimpleNamespace(generation=1), row, seconds=1.0)
    assert bar._bar is not None and bar._bar.postfix is not None
    assert "norm=0.250/0.750" in bar._bar.postfix
    bar.close()
    assert "norm = normalised mean/best fitness: 0 = standing still" in capsys.readouterr().err
    run = tmp_path / "run"
    args = ["train", str(CONFIGS / "halfcheetah_velocity.toml"), "--out", str(run), *TINY]
    assert main(args) == 0
    out = capsys.readouterr().out
    last = read_metrics(run)[-1]
    assert f"(normalised {last['fitness_mean_normalised']:.3f})" in out
    assert "normalised: 0 = standing still for 20 steps" in out
    plain = tmp_path / "plain"
    assert main(["train", str(CONFIGS / "square.toml"), "--out", str(plain), *SMALL]) == 0
    assert "normalised" not in capsys.readouterr().out


def test_tensorboard_shows_the_normalised_fitness(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    args = ["train", str(CONFIGS / "halfcheetah_velocity.toml"), "--out", str(run), *TINY]
    assert main([*args, "--tensorboard"]) == 0
    board = EventAccumulator(str(run / "tb"))
    board.Reload()
    rows = read_metrics(run)
    for key in NEW_KEYS:
        tag = "fitness/" + key.removeprefix("fitness_")
        got = [e.value for e in board.Scalars(tag)]
        assert got == [float(np.float32(r[key])) for r in rows]


def test_the_keys_are_the_same_for_one_and_two_workers(tmp_path):
    """Deterministic: a pure function of the row, so worker count cannot change them."""
    rows = []
    for workers in (1, 2):
        run = tmp_path / f"w{workers}"
        args = ["train", str(CONFIGS / "halfcheetah_velocity.toml"), "--out", str(run), *TINY]
        assert main([*args, "--set", f"problem.workers={workers}"]) == 0
        rows.append(read_metrics(run))
    assert rows[0] == rows[1]
