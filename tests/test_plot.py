"""`pbml plot`: PNGs that are real figures, overlaid runs, and one-line errors."""

import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from pbml_control.cli import main
from pbml_control.plotting import load_metrics
from pbml_control.runner import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Two short square-world runs (PBML and greedy) with goal shifts every 5 generations."""
    from pbml_control.config import RunConfig

    base = {
        "seed": 1,
        "generations": 16,
        "population_size": 16,
        "checkpoint_every": 8,
        "problem": {"name": "square"},
        "mutation": {"init_sigma": 1.0, "tau": 0.2},
        "schedule": {"kind": "random", "period": 5},
    }
    root = tmp_path_factory.mktemp("plot")
    out = []
    for scheme in ("pbml", "greedy"):
        config = RunConfig.from_dict({**base, "selection": {"scheme": scheme}})
        train(root / scheme, config)
        out.append(root / scheme)
    return out


def assert_real_figure(path: Path) -> None:
    image = imageio.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    rgb = image[..., :3].reshape(-1, 3)
    assert rgb.std() > 20 and len(np.unique(rgb, axis=0)) > 50, "looks blank"


def test_one_run_writes_fitness_and_sigma_pngs(runs, capsys):
    """Default output is RUN_DIR/plots; both figures are non-trivial images."""
    assert main(["plot", str(runs[0])]) == 0
    for name in ("fitness.png", "sigma.png"):
        assert_real_figure(runs[0] / "plots" / name)
    assert "fitness.png" in capsys.readouterr().out


def test_several_runs_are_overlaid_and_labelled(runs, tmp_path):
    """Runs share a figure, labelled by folder and scheme."""
    assert main(["plot", *map(str, runs), "--out", str(tmp_path / "figs")]) == 0
    assert_real_figure(tmp_path / "figs" / "fitness.png")
    assert_real_figure(tmp_path / "figs" / "sigma.png")
    assert [load_metrics(r).label for r in runs] == ["pbml (pbml)", "greedy (greedy)"]


def test_goal_shifts_and_resumed_rows_are_read(runs, tmp_path):
    """Shifts come from goal_shift; a generation logged twice keeps its last row; a torn
    last line is skipped."""
    run = tmp_path / "copy"
    run.mkdir()
    lines = (runs[0] / "metrics.jsonl").read_text().splitlines()
    again = json.loads(lines[3]) | {"fitness_mean": 123.0}
    (run / "metrics.jsonl").write_text("\n".join([*lines, json.dumps(again), '{"gen']))
    metrics = load_metrics(run)
    assert list(metrics.generations) == list(range(16))
    assert metrics.column("fitness_mean")[3] == 123.0
    assert list(metrics.shifts) == [5.0, 10.0, 15.0]
    assert metrics.modules == ["x", "y"]


@pytest.mark.parametrize("make", ["empty", "missing"])
def test_folder_without_metrics_exits_2(tmp_path, capsys, make):
    """No metrics.jsonl (or no folder): exit 2, one line, nothing written."""
    target = tmp_path / "not_a_run"
    if make == "empty":
        target.mkdir()
    assert main(["plot", str(target), "--out", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbml: error:") and err.count("\n") == 1
    assert not (tmp_path / "figs").exists()


def test_goal_panel_draws_every_goal_of_a_set():
    """A run with goal sets logs (k, dim) goals per row: one line per goal, first component."""
    from pbml_control.plotting import _goal_lines

    rows = [{"goal": [[-1.5], [1.0]]}, {"goal": [[-0.7], [1.9]]}]
    assert _goal_lines(rows).tolist() == [[-1.5, -0.7], [1.0, 1.9]]
    assert _goal_lines([{"goal": [0.3, 0.1]}, {}])[0, 0] == 0.3  # one goal: its first component
