"""`pbml train --tensorboard`: the event files hold exactly the numbers of metrics.jsonl, a
sigma histogram per module and the goal shifts as text; writing them changes no metrics or
checkpoint byte; a resumed run appends to the same tb/ without duplicated generations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

from pbml_control.cli import main
from pbml_control.metrics_log import read_metrics
from pbml_control.tensorboard_log import scalar_values

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")
SMALL = ["--set", "population_size=32", "--set", "checkpoint_every=2", "--quiet"]


def square_run(path: Path, generations: int, *extra: str) -> Path:
    args = ["train", SQUARE, "--set", f"generations={generations}", "--out", str(path)]
    assert main([*args, *SMALL, *extra]) == 0
    return path


def board(run: Path) -> EventAccumulator:
    everything = {"scalars": 0, "histograms": 0, "tensors": 0}
    accumulator = EventAccumulator(str(run / "tb"), size_guidance=everything)
    accumulator.Reload()
    return accumulator


def assert_board_equals_metrics(run: Path) -> None:
    """Every number of every metrics row is a scalar at its generation, as float32."""
    rows = read_metrics(run)
    ea = board(run)
    expected = {tag for row in rows for tag in scalar_values(row)}
    assert expected <= set(ea.Tags()["scalars"])
    assert {"fitness/mean", "fitness/best", "goal/0"} <= expected
    for tag in expected:
        events = ea.Scalars(tag)
        got = {e.step: e.value for e in events}
        assert len(got) == len(events), f"{tag}: a generation written twice"
        want = {r["generation"]: scalar_values(r)[tag] for r in rows if tag in scalar_values(r)}
        assert got == {g: float(np.float32(v)) for g, v in want.items()}, tag


def test_events_hold_the_metrics_a_histogram_per_module_and_goal_shifts(tmp_path):
    run = square_run(tmp_path / "run", 12, "--tensorboard")
    assert_board_equals_metrics(run)
    ea = board(run)
    for module in ("x", "y"):
        histograms = ea.Histograms(f"sigma_members/{module}")
        assert [h.step for h in histograms] == list(range(12))
        assert all(h.histogram_value.num == 32 for h in histograms)
    shifts = [r["generation"] for r in read_metrics(run) if r["goal_shift"]]
    texts = {e.step: e.tensor_proto.string_val[0].decode() for e in ea.Tensors("goal_shifts")}
    assert sorted(texts) == [0, *shifts] and shifts == [10]
    assert texts[10].startswith("generation 10: goal shifts to [")


def test_writing_events_changes_no_metrics_or_checkpoint(tmp_path):
    with_board = square_run(tmp_path / "with", 6, "--tensorboard")
    without = square_run(tmp_path / "without", 6)
    assert not (without / "tb").exists()
    for name in ("metrics.jsonl", "config.json"):
        assert (with_board / name).read_bytes() == (without / name).read_bytes(), name
    for npz in sorted((without / "checkpoints").glob("*.npz")):
        assert (with_board / "checkpoints" / npz.name).read_bytes() == npz.read_bytes()
    timing = [json.loads(line) for line in (with_board / "timing.jsonl").read_text().splitlines()]
    assert [t["generation"] for t in timing] == list(range(6))  # wall-clock fields only differ


def test_a_resumed_run_appends_and_a_crash_leaves_no_duplicates(tmp_path):
    """Resumed without the flag, a run that has tb/ keeps writing it; generations a killed run
    wrote past its checkpoint are dropped by TensorBoard (SessionLog.START at the resume)."""
    run = square_run(tmp_path / "run", 5, "--tensorboard")
    for suffix in (".json", ".npz"):  # as if killed after generation 5 was logged, before saving
        (run / "checkpoints" / f"gen_000005{suffix}").unlink()
    assert main(["train", "--resume", str(run), "--set", "generations=7", "--quiet"]) == 0
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 2
    assert [r["generation"] for r in read_metrics(run)] == list(range(7))
    assert_board_equals_metrics(run)
    assert [e.step for e in board(run).Scalars("fitness/best")] == list(range(7))
