"""The pbml command line: a smoke run, and one-line errors with exit code 2 for bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbml_control.cli import main

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")


def pbml(*args: str) -> int:
    return main(list(args))


def test_train_smoke_writes_a_run_folder(tmp_path, capsys):
    """`pbml train` writes config, metrics rows and checkpoints, and prints a summary."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, "--set", "generations=12", "--out", str(out), "--quiet") == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == list(range(12))
    assert {"fitness_mean", "fitness_best", "sigma/x", "sigma/y"} <= set(rows[0])
    assert json.loads((out / "config.json").read_text())["generations"] == 12
    assert (out / "checkpoints" / "gen_000012.json").exists()
    assert "generation 12" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", "colour=blue"], "unknown config key 'colour'"),
        (["--set", "selection.scheme=tournament"], "selection.scheme must be one of"),
        (["--set", "population_size=1"], "population_size must be >= 2"),
        (["--set", "problem.name=chess"], "unknown problem 'chess'"),
        (["--set", "problem.wrong=1"], "unknown config key 'problem.wrong'"),
        (["--set", 'generations="many"'], "generations: expected int"),
    ],
)
def test_bad_config_gets_one_line_error_and_exit_2(tmp_path, capsys, overrides, message):
    """Each bad value is named on one line, and no run folder is created."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, *overrides, "--out", str(out), "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_missing_config_file_exit_2(tmp_path, capsys):
    """A config path that does not exist is named."""
    assert pbml("train", str(tmp_path / "nope.toml")) == 2
    assert "config file not found" in capsys.readouterr().err


def test_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    """Without --resume or --overwrite an existing run is refused and left unchanged."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, "--set", "generations=3", "--out", str(out), "--quiet") == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert pbml("train", SQUARE, "--set", "generations=3", "--out", str(out), "--quiet") == 2
    assert "exists" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_resume_with_a_different_config_is_refused(tmp_path, capsys):
    """Resuming must not silently change the science of a run."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, "--set", "generations=3", "--out", str(out), "--quiet") == 0
    code = pbml("train", SQUARE, "--set", "selection.death_rate=0.5", "--resume", str(out))
    assert code == 2
    assert "selection.death_rate" in capsys.readouterr().err


def test_resume_with_corrupt_checkpoint_exit_2(tmp_path, capsys):
    """A corrupt checkpoint is named, and the run folder is not touched."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, "--set", "generations=3", "--out", str(out), "--quiet") == 0
    npz = out / "checkpoints" / "gen_000003.npz"
    npz.write_bytes(b"garbage")
    metrics = (out / "metrics.jsonl").read_bytes()
    assert pbml("train", "--resume", str(out), "--set", "generations=6", "--quiet") == 2
    assert "corrupt" in capsys.readouterr().err
    assert (out / "metrics.jsonl").read_bytes() == metrics


def test_resume_extends_a_finished_run(tmp_path):
    """--resume with a larger generations continues where the run stopped."""
    out = tmp_path / "run"
    assert pbml("train", SQUARE, "--set", "generations=4", "--out", str(out), "--quiet") == 0
    assert pbml("train", "--resume", str(out), "--set", "generations=8", "--quiet") == 0
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["generation"] for r in rows] == list(range(8))


def test_sigterm_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    """SIGTERM mid-run exits cleanly with a resume hint and a loadable checkpoint."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pbml_control.cli",
            "train",
            SQUARE,
            "--out",
            str(out),
            "--set",
            "generations=100000000",
            "--set",
            "checkpoint_every=100000",
            "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "metrics.jsonl").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "pbml train --resume" in err
    records = sorted((out / "checkpoints").glob("gen_*.json"))
    assert int(records[-1].stem.split("_")[1]) > 0


def test_help_shows_an_example(capsys):
    """`pbml train --help` carries an example command line."""
    with pytest.raises(SystemExit):
        pbml("train", "--help")
    assert "pbml train configs/" in capsys.readouterr().out


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """`pbml zoo | head -0`: the reader closes the pipe before anything is written; the command
    exits 141 (128 + SIGPIPE, as a shell reports for `yes | head`) with nothing on stderr, not
    "pbml: error: Broken pipe" or Python's "Exception ignored" at exit."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pbml_control.cli", "zoo"],
            cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")
