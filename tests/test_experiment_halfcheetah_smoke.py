"""Smoke test of scripts/experiment_halfcheetah.py: a --quick run writes a complete report.

It checks what a reader relies on: a table row with numbers per scheme, the per-shift check,
the JSON the figures come from (one curve per generation, per run), the PNGs, and that every
scheme got the same evaluation budget.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCHEMES = ("pbml", "greedy", "truncation")
FIGURES = ("halfcheetah_pbml_run.png", "halfcheetah_schemes.png", "halfcheetah_sigma.png")


@pytest.fixture(scope="module")
def experiment():
    """The script imported as a module (it is a script, not part of the package)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        import experiment_halfcheetah

        yield experiment_halfcheetah
    finally:
        sys.path.remove(str(SCRIPTS))


def test_quick_run_writes_report_json_and_figures(experiment, tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = ["--quick", "--out-dir", str(out), "--runs-dir", str(tmp_path / "runs")]
    data = experiment.main([*argv, "--processes", "2"])

    report = (out / "halfcheetah.md").read_text(encoding="utf-8")
    table = report.split("## Results", 1)[1].split("PBML minus baseline", 1)[0]
    for scheme in SCHEMES:
        row = re.search(rf"^\| {scheme} \|(.*)\|$", table, flags=re.MULTILINE)
        assert row, f"no table row for {scheme}"
        cells = [c.strip() for c in row.group(1).split("|")]
        assert len(cells) == len(experiment.COLUMNS) + 1
        for cell in cells[:-1]:
            assert re.fullmatch(r"-?[0-9.]+ \[-?[0-9.]+, -?[0-9.]+\]", cell), cell
        assert re.fullmatch(r"\d+/\d+", cells[-1]) and not cells[-1].endswith("/0")
    assert "improves after every shift?" in report
    assert "## Mean fitness after each shift" in report

    saved = json.loads((out / "halfcheetah.json").read_text(encoding="utf-8"))
    generations = saved["args"]["generations"]
    assert set(saved["runs"]) == set(SCHEMES) == set(saved["summary"])
    budgets = set()
    for scheme in SCHEMES:
        runs = saved["runs"][scheme]
        assert [r["seed"] for r in runs] == list(range(saved["args"]["seeds"]))
        for run in runs:
            for key in ("fitness_mean", "fitness_best", "norm_mean", "goal", "goal_shift"):
                assert len(run[key]) == generations, (scheme, key)
            assert set(run["sigma"]) == {"layer0", "head"}  # quick: one hidden layer
            assert sum(run["goal_shift"]) == generations // saved["args"]["period"] - 1
            budgets.add(run["env_steps_total"])
        assert len(saved["summary"][scheme]["mean_last25"]["per_seed"]) == 2
    pop, steps = saved["args"]["population_size"], saved["args"]["max_episode_steps"]
    assert budgets == {generations * pop * steps}, "schemes got different budgets"

    for name in FIGURES:
        blob = (out / name).read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000, name

    # The report can be rebuilt from the run folders without training again, identically.
    again = experiment.main([*argv, "--processes", "1", "--reuse-runs"])
    assert again["summary"]["pbml"]["mean_all"] == data["summary"]["pbml"]["mean_all"]
