"""Run folders: one writer at a time, names that never collide, and --overwrite that can only
replace a run folder, atomically (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_process import finish, pbml
from fault_injection import tree_hash

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.cli import main
from pbml_control.runner import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")
LONG = ["--set", "generations=100000000", "--set", "checkpoint_every=50", "--quiet"]


def start_both_schemes(*extra: str, cwd: Path = ROOT) -> list[subprocess.Popen]:
    """Two 3-generation square runs started at once, one pbml and one greedy: a race whose
    loser, or a mix of the two, shows in the folder's config and checkpoints."""
    args = ("train", SQUARE, "--set", "generations=3", *extra, "--quiet")
    return [
        pbml(*args, "--set", f"selection.scheme={scheme!r}", cwd=cwd)
        for scheme in ("pbml", "greedy")
    ]


def wait_for_rows(run: Path, rows: int = 3, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and len(read_metrics(run)) < rows:
        time.sleep(0.02)
    assert len(read_metrics(run)) >= rows, "the run never started"


def square_run(path: Path, *extra: str) -> Path:
    assert (
        main(["train", SQUARE, "--set", "generations=4", "--out", str(path), "--quiet", *extra])
        == 0
    )
    return path


def assert_whole_run(run: Path) -> dict:
    """config.json parses and the latest checkpoint loads, with the same config."""
    config = json.loads((run / "config.json").read_text())
    ckpt = load_checkpoint(latest_checkpoint(run / "checkpoints"))
    assert ckpt.config == config, "config.json and the checkpoints belong to different runs"
    return config


# --- 1. a second writer is refused ------------------------------------------------------------
def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    """While a run trains, `--resume` and `--overwrite` on it exit 2 naming the PID; the run
    then ends with one metrics row per generation (before, the two writers interleaved)."""
    run = tmp_path / "run"
    first = pbml("train", SQUARE, "--out", str(run), *LONG)
    try:
        wait_for_rows(run)
        for args in (
            ["train", "--resume", str(run), "--quiet"],
            ["train", SQUARE, "--out", str(run), "--overwrite", "--quiet"],
        ):
            code, err = finish(pbml(*args), timeout=30)
            assert code == 2, err
            assert (
                err.strip()
                == f"pbml: error: {run} is in use by process {first.pid}; wait for it to finish"
            )
    finally:
        first.send_signal(signal.SIGINT)
        code, err = finish(first, timeout=60)
    assert code == 130, err
    generations = [r["generation"] for r in read_metrics(run)]
    assert generations == list(range(len(generations)))
    assert (run / ".lock").read_text() == ""  # released: empty again


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, capsys):
    """SIGKILL cannot release anything, but the kernel drops the flock: resume just works,
    and says whose lock it took over."""
    run = tmp_path / "run"
    first = pbml("train", SQUARE, "--out", str(run), *LONG)
    wait_for_rows(run)
    first.kill()
    first.wait()
    assert (run / ".lock").read_text().strip() == str(first.pid)  # the dead holder's PID
    assert main(["train", "--resume", str(run), "--set", "generations=60", "--quiet"]) == 0
    assert f"was last written by process {first.pid}, which was killed" in capsys.readouterr().err
    assert [r["generation"] for r in read_metrics(run)] == list(range(60))
    assert (run / ".lock").read_text() == ""


# --- 2. names that never collide, folders created exclusively --------------------------------
def test_runs_started_at_once_get_their_own_folders(tmp_path):
    """Two runs with the default name, started together with different schemes: two folders,
    each whole (before: one folder whose config said pbml and whose checkpoints said greedy)."""
    procs = start_both_schemes(cwd=tmp_path)
    for proc in procs:
        code, err = finish(proc)
        assert code == 0, err
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2, folders
    schemes = sorted(assert_whole_run(f)["selection"]["scheme"] for f in folders)
    assert schemes == ["greedy", "pbml"]


def test_two_runs_into_one_folder_at_once_never_mix(tmp_path):
    """Same --out, started together: exactly one wins, the other is refused in one line, and
    the folder is one whole run."""
    run = tmp_path / "run"
    procs = start_both_schemes("--out", str(run))
    results = [finish(p) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "exists" in refused and refused.count("\n") == 1
    assert_whole_run(run)
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no half-built folder left


# --- 3. --overwrite ---------------------------------------------------------------------------
def test_overwrite_replaces_a_run_and_leaves_nothing_else(tmp_path):
    run = square_run(tmp_path / "run", "--set", "seed=1")
    assert main(["train", SQUARE, "--set", "generations=3", "--set", "seed=2", "--out", str(run),
                 "--overwrite", "--quiet"]) == 0  # fmt: skip
    assert assert_whole_run(run)["seed"] == 2
    assert [r["generation"] for r in read_metrics(run)] == [0, 1, 2]
    assert sorted(os.listdir(tmp_path)) == ["run"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("somedir", "is not a run folder"),
        ("runs/a/..", "must name a folder, not . or .."),
        ("link", "is a symbolic link"),
    ],
)
def test_overwrite_refuses_what_is_not_a_run_folder(tmp_path, capsys, target, message):
    """A folder with a user's files, a path through `..` to the folder of runs, a link: exit 2,
    one line, nothing touched (before: `somedir/docs/thesis.tex` and all of `runs/` went)."""
    (tmp_path / "somedir" / "docs").mkdir(parents=True)
    (tmp_path / "somedir" / "docs" / "thesis.tex").write_text("years of work")
    square_run(tmp_path / "runs" / "a")
    (tmp_path / "link").symlink_to(tmp_path / "runs" / "a")
    before = tree_hash(tmp_path)
    out = str(tmp_path / target) if target != "runs/a/.." else f"{tmp_path}/runs/a/.."
    assert main(["train", SQUARE, "--out", out, "--overwrite", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert tree_hash(tmp_path) == before


def test_overwrite_refuses_the_current_folder_and_its_parents(tmp_path):
    """`--out .` inside a run, or the run's own path from inside it: refused, nothing lost."""
    run = square_run(tmp_path / "run")
    before = tree_hash(tmp_path)
    for out, cwd in ((".", run), (str(run), run / "checkpoints")):
        code, err = finish(pbml("train", SQUARE, "--out", out, "--overwrite", "--quiet", cwd=cwd))
        assert code == 2 and err.count("\n") == 1, err
    assert tree_hash(tmp_path) == before


SLOW_DELETE = """
import os, shutil, sys, time
real = shutil.rmtree
def slow(path, *args, **kwargs):
    name = os.path.basename(str(path))
    if name == "run" or name.endswith(".old"):  # deleting the old run: start, then stall
        os.unlink(os.path.join(path, "config.json"))
        print("deleting", flush=True)
        time.sleep(60)
    return real(path, *args, **kwargs)
shutil.rmtree = slow
from pbml_control.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_during_overwrite_leaves_a_whole_run_under_the_name(tmp_path):
    """SIGKILL while the old run is deleted: the name holds the new run, whole; the old one
    waits under a hidden name and goes with the next run made there."""
    run = square_run(tmp_path / "run", "--set", "seed=1")
    args = ["train", SQUARE, "--set", "generations=3", "--set", "seed=2", "--out", str(run)]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_DELETE, *args, "--overwrite", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "deleting"
    finally:
        proc.kill()
        proc.wait()
    assert assert_whole_run(run)["seed"] == 2
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.")]
    assert len(hidden) == 1 and hidden[0].endswith(".old")
    assert main(["train", SQUARE, "--set", "generations=2", "--out", str(tmp_path / "run"),
                 "--overwrite", "--quiet"]) == 0  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["run"]


@pytest.mark.parametrize("trial", range(4))
def test_random_kills_during_overwrite_leave_the_old_or_the_new_run(tmp_path, trial):
    """SIGKILL at a random moment of `--overwrite`: the name holds one whole run, old or new."""
    run = square_run(tmp_path / "run", "--set", "seed=1")
    delay = float(np.random.default_rng(trial).uniform(0.3, 2.0))
    proc = pbml("train", SQUARE, "--set", "generations=3", "--set", "seed=2", "--out", str(run),
                "--overwrite", "--quiet")  # fmt: skip
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert assert_whole_run(run)["seed"] in (1, 2)
