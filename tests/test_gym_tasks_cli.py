"""A goal-free standard task through every command: train, evaluate, render and transfer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbml_control.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "generations=2",
    "population_size=4",
    "checkpoint_every=2",
    "problem.workers=1",
    "problem.hidden=[8]",
    "problem.max_episode_steps=10",
]


def pbml(*args: str) -> int:
    return main(list(args))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pbml train` on HalfCheetah-v5 for 2 tiny generations."""
    out = tmp_path_factory.mktemp("gym") / "hc"
    sets = [x for s in [*TINY, 'problem.task="HalfCheetah-v5"'] for x in ("--set", s)]
    config = str(ROOT / "configs" / "default.toml")
    assert pbml("train", config, *sets, "--out", str(out), "--quiet") == 0
    return out


def test_train_writes_empty_goals_and_a_checkpoint(run_dir: Path) -> None:
    """Metrics rows carry "goal": [] and the run resumes from its checkpoint."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [0, 1]
    assert all(r["goal"] == [] for r in rows)
    assert (run_dir / "checkpoints" / "gen_000002.json").exists()
    assert pbml("train", "--resume", str(run_dir), "--set", "generations=3", "--quiet") == 0


def test_export_and_evaluate_on_a_variant(run_dir: Path, tmp_path: Path, capsys) -> None:
    """The exported genome evaluates on the task and on its Heavy variant; a goal is refused."""
    genome = tmp_path / "g.safetensors"
    assert pbml("export", str(run_dir), "--out", str(genome)) == 0
    for task in ("HalfCheetah-v5", "HalfCheetah-Heavy-v5"):
        assert pbml("evaluate", str(genome), "--task", task, "--steps", "10") == 0
        assert "mean return" in capsys.readouterr().out
    assert pbml("evaluate", str(genome), "--goal", "1.0", "--steps", "10") == 2
    err = capsys.readouterr().err.strip()
    assert "goal" in err and "\n" not in err


def test_render_without_goal(run_dir: Path, tmp_path: Path) -> None:
    """`pbml render` needs no --goal for a goal-free task."""
    out = tmp_path / "hc.mp4"
    assert pbml("render", str(run_dir), "--steps", "3", "--size", "64x48", "--out", str(out)) == 0
    assert out.stat().st_size > 0


def test_transfer_to_a_dynamics_variant_and_refused_heldout(
    run_dir: Path, tmp_path: Path, capsys
) -> None:
    """Transfer to HalfCheetah-Slippery-v5 runs; held-out goals of a goal-free task do not."""
    args = ["transfer", str(run_dir), "--target", "HalfCheetah-Slippery-v5", "--generations", "1"]
    assert pbml(*args, "--goals", "train", "--out", str(tmp_path / "tr")) == 0
    assert (tmp_path / "tr" / "transfer.json").exists()
    capsys.readouterr()
    assert pbml(*args, "--out", str(tmp_path / "held")) == 2  # --goals heldout by default
    err = capsys.readouterr().err.strip()
    assert "no held-out goals" in err and "\n" not in err
    assert not (tmp_path / "held").exists()
