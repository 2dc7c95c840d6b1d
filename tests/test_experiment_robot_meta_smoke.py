"""scripts/experiment_robot_meta.py at tiny sizes: every stage runs, in order, and resumes."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script():
    """The script imported as a module (it is a script, not part of the package)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        return importlib.import_module("experiment_robot_meta")
    finally:
        sys.path.remove(str(SCRIPTS))


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("robot_meta")
    runs, out = root / "runs", root / "out"
    args = ["--quick", "--runs-dir", str(runs), "--out-dir", str(out), "--processes", "1"]
    assert load_script().main(["--stage", "all", *args]) == 0
    return runs, out


def test_every_stage_writes_its_part_of_the_report(quick: tuple[Path, Path]) -> None:
    _, out = quick
    text = (out / "robot_meta_quick.md").read_text(encoding="utf-8")
    for heading in ("## Design", "## Pilot", "## Main runs", "## Verdicts", "## Transfer"):
        assert heading in text
    data = json.loads((out / "robot_meta_quick.json").read_text(encoding="utf-8"))
    for question in ("sigma", "convergence", "c3", "c4"):
        assert question in data["verdicts"]
    assert data["verdicts"]["c3"]["verdict"] in ("supported", "not shown", "contradicted")
    # the swap arms and the fresh control took part in the frozen-sigma transfer
    frozen = data["transfer"]["HalfCheetahVel_frozen"]
    assert {"pbml_reset", "static_pbml_sigma", "fresh", "shuffle_low"} <= set(frozen)
    assert (out / "robot_meta_quick_sigma.png").stat().st_size > 0
    assert set(data["verdicts"]["transfer_gain"]) == set(data["verdicts"]["c4"]["comparisons"])
    for name in ("HalfCheetahVel_frozen", "HalfCheetahVel-Heavy_frozen"):
        for figure in ("fitness", "threshold"):
            path = out / f"robot_meta_quick_{name}_{figure}.png"
            assert path.stat().st_size > 0 and f"]({path.name})" in text


def test_a_second_call_reuses_everything(quick: tuple[Path, Path]) -> None:
    runs, out = quick
    before = (out / "robot_meta_quick.json").read_bytes()
    args = ["--quick", "--runs-dir", str(runs), "--out-dir", str(out), "--processes", "1"]
    assert load_script().main(["--stage", "all", *args]) == 0
    assert (out / "robot_meta_quick.json").read_bytes() == before


def test_a_transfer_stage_for_some_seeds_keeps_the_others_in_the_summary(
    quick: tuple[Path, Path],
) -> None:
    """Seeds are run in groups across sessions: the transfer stage for seed 1 alone must not
    drop seed 0's cached jobs from each target's summary (it once replaced them)."""
    runs, out = quick
    summaries = sorted((runs / "transfer").glob("*.json"))
    before = [path.read_bytes() for path in summaries]
    args = ["--quick", "--runs-dir", str(runs), "--out-dir", str(out), "--processes", "1"]
    assert load_script().main(["--stage", "transfer", "--seeds", "1", *args]) == 0
    assert summaries and [path.read_bytes() for path in summaries] == before


def test_a_stage_before_its_ground_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    args = ["--quick", "--runs-dir", str(tmp_path / "r"), "--out-dir", str(tmp_path / "o")]
    assert load_script().main(["--stage", "main", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run --stage pilot first" in err


def test_the_report_is_rebuilt_from_the_seed_records_once_the_run_folders_are_gone(
    quick: tuple[Path, Path], tmp_path: Path
) -> None:
    """Run folders live outside the repository and may be lost between stages; the per-seed
    records the report writes into the repository must give the same report without them."""
    _, out = quick
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    args = ["--quick", "--runs-dir", str(tmp_path / "gone"), "--out-dir", str(copy)]
    assert load_script().main(["--stage", "report", *args]) == 0
    assert sorted(p.name for p in (copy / "robot_meta_quick_seeds").iterdir()) == [
        "seed0.json",
        "seed1.json",
    ]
    assert (copy / "robot_meta_quick.json").read_bytes() == (
        out / "robot_meta_quick.json"
    ).read_bytes()


def report_with_a_changed_record(
    quick: tuple[Path, Path],
    tmp_path: Path,
    seed: int,
    change: Callable[[dict], None],
    runs_gone: bool = False,
) -> tuple[int, Path]:
    """The report stage on a copy of the outputs whose seed record ``change`` has edited
    (``runs_gone``: with the run folders out of reach, so only the records count)."""
    runs, out = quick
    runs = tmp_path / "gone" if runs_gone else runs
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    path = copy / "robot_meta_quick_seeds" / f"seed{seed}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    path.write_text(json.dumps(record), encoding="utf-8")
    args = ["--quick", "--runs-dir", str(runs), "--out-dir", str(copy)]
    return load_script().main(["--stage", "report", *args]), copy


def test_a_seed_record_that_disagrees_with_the_runs_is_a_one_line_error(
    quick: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    def nudge(record: dict) -> None:
        record["runs"]["pbml_low"]["norm_mean"] += 0.01

    status, copy = report_with_a_changed_record(quick, tmp_path, 1, nudge)
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed 1 arm pbml_low" in err and "disagree" in err
    # nothing half-written: the report is the one copied
    assert (copy / "robot_meta_quick.json").read_bytes() == (
        quick[1] / "robot_meta_quick.json"
    ).read_bytes()


def test_a_seed_record_of_another_design_is_a_one_line_error(
    quick: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    def redesign(record: dict) -> None:
        record["design"]["generations"] += 1

    status, _ = report_with_a_changed_record(quick, tmp_path, 0, redesign)
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed0.json was written for another design" in err


def test_main_trains_only_the_arms_asked_for(tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "out"
    args = ["--quick", "--runs-dir", str(runs), "--out-dir", str(out), "--processes", "1"]
    assert load_script().main(["--stage", "pilot", *args]) == 0
    assert load_script().main(["--stage", "main", "--seeds", "0", "--arms", "pbml_low", *args]) == 0
    assert sorted(p.name for p in runs.iterdir() if "seed0" in p.name) == ["pbml_low__seed0"]


def test_seed_records_with_different_transfer_plans_are_a_one_line_error(
    quick: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    def replan(record: dict) -> None:
        record["transfer"]["HalfCheetahVel_frozen"]["plan"]["k"] += 1

    status, _ = report_with_a_changed_record(quick, tmp_path, 1, replan, runs_gone=True)
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "hold different plans" in err
