"""`pbml transfer` shows progress on stderr (a bar over every job's generations, naming the job),
is silent with --quiet, and the bar changes no result."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbml_control.cli import main

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("source") / "run"
    args = ["train", SQUARE, "--set", "generations=6", "--set", "population_size=8"]
    assert main([*args, "--out", str(run), "--quiet"]) == 0
    return run


def transfer(source: Path, out: Path, *extra: str) -> list[str]:
    args = ["transfer", str(source), "--target", "hard_square", "--generations", "3", "--fresh"]
    assert main([*args, "--seeds", "0", "1", "--out", str(out), *extra]) == 0
    return [str(out)]


def test_a_transfer_shows_its_progress_and_quiet_silences_it(source, tmp_path, capsys):
    transfer(source, tmp_path / "shown")
    err = capsys.readouterr().err.replace("\r", "\n")
    # 2 arms x 2 seeds, each 3 generations after its zero-shot one
    assert "transfer: 100%" in err and "16/16" in err
    assert "job 1/4: pbml seed 0" in err and "4/4 jobs done" in err
    transfer(source, tmp_path / "quiet", "--quiet")
    err = capsys.readouterr().err
    assert "transfer:" not in err and "%|" not in err
    assert err.startswith("4 runs (0 reused")  # the one closing line
    shown, quiet = (tmp_path / name / "transfer.json" for name in ("shown", "quiet"))
    assert shown.read_bytes() == quiet.read_bytes()


def test_jobs_in_other_processes_and_reused_jobs_count_too(source, tmp_path, capsys):
    transfer(source, tmp_path / "two", "--processes", "2")
    err = capsys.readouterr().err.replace("\r", "\n")
    assert "16/16" in err and "4/4 jobs done" in err
    transfer(source, tmp_path / "two", "--processes", "2")  # every job reused
    err = capsys.readouterr().err.replace("\r", "\n")
    assert "transfer: 100%" in err and "16/16" in err and "4 runs (4 reused" in err
