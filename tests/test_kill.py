"""The training process SIGKILLed at random moments: the resumed run is exact (reliability.md).

Each trial starts ``pbml train``, kills it (SIGKILL: no handler, no clean-up) after a random
delay, checks that every checkpoint on disk is whole, and starts it again with ``--resume``
(killing it again, up to ``kills`` times), until it finishes. The finished run must equal an
uninterrupted one: every metrics row, and every array of the final checkpoint.

The default suite runs a few trials; ``pytest -m slow tests/test_kill.py -s`` runs the full
set (20 Square World trials and MuJoCo trials with two worker processes) and prints the figures
quoted in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.runner import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SQUARE = (
    str(ROOT / "configs" / "square.toml"),
    ["population_size=64", "generations=150", "checkpoint_every=3"],
)
MUJOCO = (
    str(ROOT / "configs" / "halfcheetah_velocity.toml"),
    [
        "population_size=8",
        "generations=12",
        "checkpoint_every=2",
        "problem.hidden=[8]",
        "problem.max_episode_steps=40",
    ],
)


@dataclass
class Tally:
    """Figures for docs/reliability.md."""

    trials: int = 0
    kills: int = 0
    kills_with_a_write_in_flight: int = 0  # a temp file or an npz without its record was left
    torn_metrics_lines: int = 0
    checkpoints_verified: int = 0
    delays: list[float] = field(default_factory=list)


def _cli(config: str, sets: list[str], out: Path, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pbml_control.cli", "train"]
    if (out / "config.json").exists():
        cmd += ["--resume", str(out)]
    else:
        cmd += [config, "--out", str(out)]
    return cmd + [a for s in sets + extra for a in ("--set", s)] + ["--quiet"]


def _leftovers(out: Path) -> set[Path]:
    """Traces of a write cut short: temp files, and checkpoint data without its record."""
    folder = out / "checkpoints"
    orphans = {p for p in folder.glob("gen_*.npz") if not p.with_suffix(".json").exists()}
    return orphans | set(folder.glob(".*.tmp")) | set(out.parent.glob(f".{out.name}.*"))


def _check_disk(out: Path, tally: Tally, before: set[Path]) -> None:
    """After a kill: every checkpoint record present loads and matches its data's hash."""
    folder = out / "checkpoints"
    if _leftovers(out) - before:
        tally.kills_with_a_write_in_flight += 1
    if not out.exists():
        return
    assert (out / "config.json").exists(), "a run folder without config.json was left behind"
    json.loads((out / "config.json").read_text())
    records = sorted(folder.glob("gen_*.json"))
    for record in records:
        load_checkpoint(record)  # raises on a half-written checkpoint
        tally.checkpoints_verified += 1
    lines = (out / "metrics.jsonl").read_text().splitlines() if records else []
    try:
        for line in lines:
            json.loads(line)
    except json.JSONDecodeError:
        tally.torn_metrics_lines += 1


def _run(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _final_state(out: Path) -> tuple[list[dict], dict[str, np.ndarray], tuple[int, int]]:
    ckpt = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    arrays = {**ckpt.population.arrays(), **ckpt.problem_state}
    return read_metrics(out), arrays, (ckpt.generation, ckpt.next_id)


def run_trials(
    setup: tuple[str, list[str]], trials: int, kills: int, tmp: Path, seed: int
) -> Tally:
    """Kill ``trials`` runs up to ``kills`` times each; each must end equal to the reference."""
    config, sets = setup
    reference = tmp / "reference"
    start = time.perf_counter()
    proc = _run(_cli(config, sets, reference, []))
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    horizon = (time.perf_counter() - start) * 1.1
    expected = _final_state(reference)
    rng = np.random.default_rng(seed)
    tally = Tally()
    for trial in range(trials):
        out = tmp / f"trial_{trial}"
        left = kills
        while True:
            before = _leftovers(out)
            proc = _run(_cli(config, sets, out, []))
            if left == 0:
                code = proc.wait(timeout=300)
                assert code == 0, proc.stderr.read().decode()
                break
            delay = float(rng.uniform(0.0, horizon))
            try:
                code = proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                tally.kills += 1
                tally.delays.append(delay)
                left -= 1
                _check_disk(out, tally, before)
                continue
            assert code == 0, proc.stderr.read().decode()
            break
        got = _final_state(out)
        assert got[0] == expected[0], f"trial {trial}: metrics differ"
        assert got[2] == expected[2], f"trial {trial}: generation or next id differ"
        assert got[1].keys() == expected[1].keys()
        for name, value in expected[1].items():
            assert np.array_equal(got[1][name], value, equal_nan=True), (
                f"trial {trial}: {name} differs"
            )
        tally.trials += 1
    return tally


def test_killed_square_runs_resume_exactly(tmp_path):
    """A few SIGKILLs at random moments; every trial ends equal to an uninterrupted run."""
    tally = run_trials(SQUARE, trials=3, kills=2, tmp=tmp_path, seed=0)
    assert tally.trials == 3 and tally.kills >= 1


@pytest.mark.slow
def test_killed_runs_resume_exactly_many_trials(tmp_path):
    """20 Square World trials and 2 MuJoCo trials (2 workers), up to 2 kills each."""
    square = run_trials(SQUARE, trials=20, kills=2, tmp=tmp_path / "square", seed=1)
    mujoco_sets = (MUJOCO[0], [*MUJOCO[1], "problem.workers=2"])
    mujoco = run_trials(mujoco_sets, trials=2, kills=2, tmp=tmp_path / "mujoco", seed=2)
    for name, tally in (("square", square), ("mujoco", mujoco)):
        print(
            f"\n{name}: {tally.trials} trials, {tally.kills} kills survived, "
            f"{tally.kills_with_a_write_in_flight} with a write in flight, "
            f"{tally.torn_metrics_lines} torn metrics lines, "
            f"{tally.checkpoints_verified} checkpoint records verified after kills"
        )
    assert square.trials == 20 and mujoco.trials == 2
