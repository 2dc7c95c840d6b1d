"""What a resume says and records: a finished run has "nothing to do" (exit 0, nothing
written), an extended one gets its ``config.json`` brought up to date and a line in
``resumes.jsonl``, and the run itself is the same as an uninterrupted one."""

from __future__ import annotations

import json
from pathlib import Path

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.config import RunConfig
from pbml_control.resume_record import nothing_to_do, read_resumes

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")


def square_run(path: Path, generations: int = 4) -> Path:
    args = ["train", SQUARE, "--set", f"generations={generations}", "--out", str(path)]
    assert main([*args, "--quiet"]) == 0
    return path


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_a_finished_run_has_nothing_to_do_and_nothing_changes(tmp_path, capsys):
    """Before: `generation 4, mean fitness nan, best fitness nan`."""
    run = square_run(tmp_path / "run")
    before = tree(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"run {run}: nothing to do: run is at generation 4 of 4")
    assert "nan" not in out and "\n" not in out
    assert tree(run) == before


def test_an_extended_run_updates_config_json_and_records_the_resume(tmp_path):
    run = square_run(tmp_path / "run")
    assert main(["train", "--resume", str(run), "--set", "generations=6", "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["generations"] == 6
    ckpt = load_checkpoint(latest_checkpoint(run / "checkpoints"))
    assert ckpt.config == config  # config.json is the config the run now runs under
    assert main(["train", "--resume", str(run), "--set", "generations=7", "--quiet"]) == 0
    history = read_resumes(run)
    assert [h["from_generation"] for h in history] == [4, 6]
    assert [h["changed"] for h in history] == [
        {"generations": [4, 6]},
        {"generations": [6, 7]},
    ]
    assert all(h["git_commit"] and h["time"].endswith("Z") for h in history)
    assert json.loads((run / "config.json").read_text())["generations"] == 7
    # The history lives beside config.json, which stays a plain config.
    assert RunConfig.from_dict(json.loads((run / "config.json").read_text())).generations == 7


def test_extended_run_equals_an_uninterrupted_one(tmp_path):
    """Rewriting config.json does not change the run: metrics byte-equal to a 6-generation run."""
    run = square_run(tmp_path / "run")
    assert main(["train", "--resume", str(run), "--set", "generations=6", "--quiet"]) == 0
    full = square_run(tmp_path / "full", generations=6)
    assert (run / "metrics.jsonl").read_bytes() == (full / "metrics.jsonl").read_bytes()
    assert (run / "config.json").read_bytes() == (full / "config.json").read_bytes()


def test_a_resume_that_changes_nothing_keeps_config_json(tmp_path):
    """An interrupted run resumed as it was: a history line, config.json byte-equal."""
    run = square_run(tmp_path / "run", generations=6)
    config_before = (run / "config.json").read_bytes()
    for name in ("gen_000006.json", "gen_000006.npz"):
        (run / "checkpoints" / name).unlink()  # as if it was stopped before generation 6 ended
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert (run / "config.json").read_bytes() == config_before
    assert [h["changed"] for h in read_resumes(run)] == [{}]


def test_a_spent_budget_is_nothing_to_do():
    config = RunConfig(generations=1000, max_env_steps=5000)
    reason = nothing_to_do(12, config, env_steps=5100)
    assert reason is not None and "env-step budget (5,100 of max_env_steps=5,000)" in reason
    assert nothing_to_do(12, config, env_steps=4900) is None
    assert nothing_to_do(1000, config, env_steps=0).startswith("run is at generation 1000 of 1000")
