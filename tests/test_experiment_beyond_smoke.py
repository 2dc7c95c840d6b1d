"""Smoke test of scripts/experiment_beyond.py: --quick writes the whole report."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
ARMS = ("pbml", "scouts", "fatal", "mating", "low_rank", "all")


def test_quick_run_writes_report_json_and_figures(tmp_path: Path) -> None:
    out = tmp_path / "results"
    sys.path.insert(0, str(SCRIPTS))  # spawned workers import the script's module too
    try:
        import experiment_beyond

        data = experiment_beyond.main(
            ["--quick", "--out-dir", str(out), "--runs-dir", str(tmp_path / "runs")]
        )
    finally:
        sys.path.remove(str(SCRIPTS))

    report = (out / "beyond.md").read_text(encoding="utf-8")
    assert "## Verdict per operator" in report and "scripts/experiment_beyond.py" in report
    assert "during source training and during adaptation after transfer" in report
    for arm in ARMS[1:]:
        assert re.search(rf"^\| {arm} \| (helps|hurts|mixed|no detectable)", report, re.M), arm
    saved = json.loads((out / "beyond.json").read_text(encoding="utf-8"))
    assert set(saved["square"]["arms"]) == set(ARMS)
    assert set(saved["robot"]["arms"]) == {*ARMS, "fresh"}
    assert set(saved["comparison"]["robot"]) == set(ARMS[1:])
    # Operators reach the configs: the pbml arm has every rate at 0, "all" has each one on.
    assert saved["operators"]["pbml"]["crossover_rate"] == 0.0
    assert saved["operators"]["all"]["scout_fraction"] > 0
    assert saved["operators"]["all"]["low_rank_sigma_boost"] > 0
    budgets = saved["robot"]["budget_members_evaluated"]
    assert len({tuple(b) for b in budgets.values()}) == 1  # the same budget for every arm
    assert data["runtime_s"] == saved["runtime_s"]
    for name in ("differences", "square", "robot_fitness", "robot_threshold"):
        assert (out / f"beyond_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
