"""Resuming reads the record a run left and says what it finds: a resume under other code is
named in one line, a crash's torn or binary tail is dropped, and memory is estimated before
anything is allocated (docs/reliability.md). Refusals are in
test_bad_inputs.py."""

from __future__ import annotations

import json
from pathlib import Path

from pbml_control import runner
from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.memory import (
    PARAM_COPIES,
    available_bytes,
    format_bytes,
    population_bytes,
    rollout_bytes,
)
from pbml_control.runner import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")


def square_run(path: Path) -> Path:
    assert main(["train", SQUARE, "--set", "generations=4", "--out", str(path), "--quiet"]) == 0
    return path


def test_resume_under_other_code_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    """The checkpoint's git commit differs from this code's: one notice, and the run goes on."""
    run = square_run(tmp_path / "run")
    written = load_checkpoint(latest_checkpoint(run / "checkpoints")).meta["git_commit"]
    other = "f" * 40 if written != "f" * 40 else "e" * 40
    monkeypatch.setattr(runner, "git_commit", lambda: other)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "generations=6", "--quiet"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "code version" in line]
    assert notes == [
        f"pbml: note: gen_000004.json was written by code version {written[:12]}, this is "
        f"{other[:12]}; the resumed run may differ from an uninterrupted one"
    ]
    assert [r["generation"] for r in read_metrics(run)] == list(range(6))


def test_resume_under_the_same_code_says_nothing(tmp_path, capsys):
    run = square_run(tmp_path / "run")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "generations=6", "--quiet"]) == 0
    assert "code version" not in capsys.readouterr().err


def test_a_binary_or_torn_tail_of_metrics_is_dropped_on_resume(tmp_path):
    """What a killed writer (or a power cut: NUL bytes) leaves after the last row: dropped,
    and the rows regenerated (before: a UnicodeDecodeError traceback)."""
    run = square_run(tmp_path / "run")
    with (run / "metrics.jsonl").open("ab") as handle:
        handle.write(b'{"generation": 4, "fitn\x00\x00\xff\xfe')
    assert main(["train", "--resume", str(run), "--set", "generations=6", "--quiet"]) == 0
    assert [r["generation"] for r in read_metrics(run)] == list(range(6))
    json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])


def test_memory_estimate_covers_what_runs_were_measured_to_use():
    """The estimate stays above measured peaks (docs/reliability.md) without refusing
    ordinary runs: Square World at 800,000 members peaked at 341 MiB; HalfCheetah with
    72,198 parameters at 400 members at 1160 MiB (including the interpreter)."""
    assert population_bytes(800_000, 2, 2) > 341 * 2**20
    assert population_bytes(400, 72_198, 3) > (1160 - 300) * 2**20
    assert population_bytes(64, 72_198, 3) < 2**30  # a default-size run is far below 1 GiB
    assert PARAM_COPIES >= 6
    assert rollout_bytes(1000) < 2**30
    available = available_bytes()
    assert available is None or available > 0
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3 * 2**40) == "3.0 TiB"
