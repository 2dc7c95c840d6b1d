"""scripts/make_zoo.py on a tiny goal-conditioned run, end to end: goal_tracking.py's report
names the member, make_zoo writes the entry, and the card agrees with the report and with what
`pbml evaluate zoo:<task> --goal G` prints."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from pbml_control.cli import main
from pbml_control.config import RunConfig
from pbml_control.policies import load_genome
from pbml_control.runner import train

ROOT = Path(__file__).resolve().parents[1]
STEPS = 120  # just past the tracking error's 100 skipped steps


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_goal_run_to_zoo_entry(tmp_path, monkeypatch, capsys):
    config = {
        "seed": 1,
        "generations": 1,
        "population_size": 4,
        "problem": {"name": "mujoco", "task": "HalfCheetahVel", "max_episode_steps": STEPS,
                    "hidden": [4], "workers": 1},
    }  # fmt: skip
    run = tmp_path / "HalfCheetahVel__tiny__1"
    train(run, RunConfig.from_dict(config))
    prefix = tmp_path / "gt"
    tracking = ["--run", str(run), "--episodes", "2", "--steps", str(STEPS), "--out", str(prefix)]
    assert load_script("goal_tracking").main(tracking) == 0
    report_file = tmp_path / "gt_HalfCheetahVel.json"
    report = json.loads(report_file.read_text())

    zoo = tmp_path / "zoo"
    args = ["--run", str(run), "--zoo", str(zoo), "--episodes", "2", "--tracking-report",
            str(report_file), "--switch-steps", "6",
            "--wall-note", "on one shared worker"]  # fmt: skip
    assert load_script("make_zoo").main(args) == 0
    folder = zoo / "HalfCheetahVel"
    card = json.loads((folder / "card.json").read_text())
    assert {p.name for p in folder.iterdir()} >= {"card.json", "README.md", "rollout.gif"}
    # the report's member, goals and tracking errors; the same episodes as its fast path
    saved = load_genome(folder / "genome.safetensors").metadata
    assert card["member_id"] == report["member_id"] == saved["member_id"]
    assert card["goals"] == [g["goal"] for g in report["goals"]]
    assert card["env_id"] == "PBML/HalfCheetahVel-v0" and card["episode_steps"] == STEPS
    assert card["tracking"]["episodes_same_as_fast_path"] is True
    for row, goal in zip(card["tracking"]["per_goal"], report["goals"], strict=True):
        assert row["mean_abs_error"] == goal["mean_abs_error"] and row["met"] == goal["met"]
    for fast, goal in zip(card["fast_path"]["per_goal"], report["goals"], strict=True):
        assert fast["returns"] == goal["returns"]
    seeds = card["plain_loop"]["episode_seeds"]
    assert seeds == card["fast_path"]["episode_seeds"] and len(seeds) == 2
    readme = (folder / "README.md").read_text()
    assert "| +2 | **" in readme and f"--seed {seeds[0]} --episodes 1" in readme
    assert " min on one shared worker |" in readme  # how the wall time was measured

    # pbml evaluate zoo:HalfCheetahVel --goal 2 prints the card's plain-loop returns there
    monkeypatch.setenv("PBML_ZOO", str(zoo))
    capsys.readouterr()
    cmd = ["evaluate", "zoo:HalfCheetahVel", "--goal", "2", "--seed", str(seeds[0])]
    assert main([*cmd, "--episodes", "1", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["returns"][0]
    at_two = next(g for g in card["plain_loop"]["per_goal"] if g["goal"] == [2.0])
    assert got == at_two["returns"][0]
    assert main(["zoo"]) == 0
    assert "HalfCheetahVel  6 goals: means" in capsys.readouterr().out


def test_a_goal_run_without_its_tracking_report_is_refused(tmp_path):
    config = {
        "seed": 1,
        "generations": 1,
        "population_size": 4,
        "problem": {"name": "mujoco", "task": "HalfCheetahVel", "max_episode_steps": 20,
                    "hidden": [4], "workers": 1},
    }  # fmt: skip
    train(tmp_path / "run", RunConfig.from_dict(config))
    with pytest.raises(SystemExit, match="goal-conditioned: pass --tracking-report"):
        load_script("make_zoo").main(["--run", str(tmp_path / "run"), "--zoo", str(tmp_path)])


def test_a_heading_run_in_the_quarter_turn_frame_to_zoo_entry(tmp_path, monkeypatch, capsys):
    """AntHeading: the card measures the report's 1000-step-style horizon (not the training
    one), has no tracking-error column, and its loop and `pbml evaluate` keep the frame."""
    problem = {"name": "mujoco", "task": "AntHeading", "max_episode_steps": 20, "hidden": [4],
               "workers": 1, "spec_overrides": {"quarter_turn_frame": True}}  # fmt: skip
    config = {"seed": 1, "generations": 1, "population_size": 4, "problem": problem}
    run = tmp_path / "AntHeading__tiny__1"
    train(run, RunConfig.from_dict(config))
    tracking = ["--run", str(run), "--episodes", "2", "--steps", str(STEPS), "--out",
                str(tmp_path / "gt")]  # fmt: skip
    assert load_script("goal_tracking").main(tracking) == 0
    report = json.loads((tmp_path / "gt_AntHeading.json").read_text())
    assert report["episode_steps"] == STEPS
    zoo = tmp_path / "zoo"
    args = ["--run", str(run), "--zoo", str(zoo), "--episodes", "2", "--tracking-report",
            str(tmp_path / "gt_AntHeading.json"), "--switch-steps", "6",
            "--switch-goals", "0", "1.5708"]  # fmt: skip
    assert load_script("make_zoo").main(args) == 0
    card = json.loads((zoo / "AntHeading" / "card.json").read_text())
    assert card["goal_kind"] == "heading" and card["episode_steps"] == STEPS
    assert card["make_kwargs"] == {"quarter_turn_frame": True}
    assert card["tracking"]["episodes_same_as_fast_path"] is True
    readme = (zoo / "AntHeading" / "README.md").read_text()
    assert "quarter_turn_frame=True" in readme and "tracking error" not in readme
    assert "| goal (rad) |" in readme and "v >= 0.5 m/s" in readme
    monkeypatch.setenv("PBML_ZOO", str(zoo))
    capsys.readouterr()
    seed = card["plain_loop"]["episode_seeds"][0]
    assert main(["evaluate", "zoo:AntHeading", "--goal", "0", "--seed", str(seed),
                 "--episodes", "1", "--json"]) == 0  # fmt: skip
    got = json.loads(capsys.readouterr().out)
    assert got["steps"] == STEPS and got["make_kwargs"]["quarter_turn_frame"] is True
    at_zero = next(g for g in card["plain_loop"]["per_goal"] if g["goal"] == [0.0])
    assert got["returns"][0] == at_zero["returns"][0]


def test_goal_tracking_on_a_zoo_entry_reproduces_its_card(tmp_path):
    """``goal_tracking.py --run zoo:<task>`` tests the entry's one policy on the episodes its
    card was measured on, so at a goal of the card it gives the card's numbers; ``--goals``
    tests other goals (beyond the training region, say) with the same policy."""
    card = json.loads((ROOT / "zoo" / "HalfCheetahVel" / "card.json").read_text(encoding="utf-8"))
    (expected,) = [g for g in card["tracking"]["per_goal"] if g["goal"] == [1.0]]
    out = tmp_path / "zoo"
    tracking = load_script("goal_tracking")
    assert tracking.main(["--run", "zoo:HalfCheetahVel", "--goals", "1.0", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "zoo_HalfCheetahVel.json").read_text(encoding="utf-8"))
    (measured,) = report["goals"]
    assert report["member_id"] is None and report["env_steps"] == card["training"]["env_steps"]
    assert measured["mean_velocity"] == expected["mean_velocity"]
    assert measured["mean_abs_error"] == expected["mean_abs_error"]


def test_goal_tracking_of_a_task_without_goals_is_a_one_line_error(tmp_path, capsys):
    tracking = load_script("goal_tracking")
    assert tracking.main(["--run", "zoo:HalfCheetah-v5", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a HalfCheetah-v5 policy" in err
    assert not list(tmp_path.iterdir())
