"""Smoke test of scripts/experiment_transfer.py: --quick writes the whole report."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_quick_run_writes_report_json_and_figures(tmp_path: Path) -> None:
    out = tmp_path / "results"
    sys.path.insert(0, str(SCRIPTS))  # spawned workers import the script's module too
    try:
        import experiment_transfer

        data = experiment_transfer.main(
            ["--quick", "--out-dir", str(out), "--runs-dir", str(tmp_path / "runs")]
        )
    finally:
        sys.path.remove(str(SCRIPTS))

    report = (out / "transfer.md").read_text(encoding="utf-8")
    assert "## Question and answer" in report and "scripts/experiment_transfer.py" in report
    assert re.search(r"\*\*(Yes|No|Not shown)\*\*", report)
    for arm in ("pbml", "static", "greedy", "fresh"):
        assert re.search(rf"^\| {arm} \| -?[0-9]", report, flags=re.MULTILINE), arm
    saved = json.loads((out / "transfer.json").read_text(encoding="utf-8"))
    assert saved["transfer"]["plan"]["arms"] == ["pbml", "static", "greedy", "fresh"]
    assert set(saved["comparison"]) == {"static", "greedy", "fresh"}
    assert data["runtime_s"] == saved["runtime_s"]
    for name in ("transfer_fitness.png", "transfer_threshold.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
