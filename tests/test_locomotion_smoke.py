"""scripts/locomotion.py end to end with a tiny budget: runs, reuse, report files."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("locomotion", ROOT / "scripts" / "locomotion.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["locomotion"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_arms_train_report_and_reuse(tmp_path):
    """Each arm's run spends the budget; the report lists both; a rerun trains nothing."""
    script = load_script()
    args = [
        "--task", "HalfCheetah-v5", "--arms", "pbml", "truncation", "--seeds", "0",
        "--budget", "600", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "loco"),
        "--overrides", "population_size=8", "problem.max_episode_steps=20", "problem.workers=1",
    ]  # fmt: skip
    assert script.main(args) == 0
    report = json.loads((tmp_path / "loco_HalfCheetah-v5.json").read_text())
    assert [a["arm"] for a in report["arms"]] == ["pbml", "truncation"]
    for run in report["runs"]:
        assert run["env_steps"] >= 600
        assert len(run["final"]["returns"]) == 10
    assert (tmp_path / "loco_HalfCheetah-v5.png").stat().st_size > 0
    assert "HalfCheetah-v5" in (tmp_path / "loco.md").read_text()
    logs = sorted((tmp_path / "runs").glob("*.log"))
    before = [p.read_text() for p in logs]
    assert script.main([*args, "--report-only"]) == 0
    assert [p.read_text() for p in logs] == before
    saved = (tmp_path / "loco_HalfCheetah-v5.json").read_text()
    md = (tmp_path / "loco_HalfCheetah-v5.md").read_text()
    assert script.main([*args, "--from-json"]) == 0  # no run folder is read
    assert (tmp_path / "loco_HalfCheetah-v5.json").read_text() == saved
    assert (tmp_path / "loco_HalfCheetah-v5.md").read_text() == md
    assert "| pbml | (recipe) | 1 |" in md and "(reference)" in md
    assert script.main([*args, "--report-only", "--label", "long", "--title", "longer"]) == 0
    assert (tmp_path / "loco_HalfCheetah-v5.md").read_text() == md  # the first report stays
    assert (tmp_path / "loco_HalfCheetah-v5_long.md").read_text().startswith("## longer")
    assert "## longer" in (tmp_path / "loco.md").read_text()
