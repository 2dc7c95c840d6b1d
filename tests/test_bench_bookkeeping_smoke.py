"""scripts/bench_bookkeeping.py runs end to end on a tiny population and prints every phase."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = str(Path(__file__).resolve().parents[1] / "scripts" / "bench_bookkeeping.py")
TINY = "--population 12 --hidden --steps 2 --fit-steps 4 --full-steps 10 --generations 1"


def test_bench_bookkeeping_prints_each_phase_and_the_shares() -> None:
    args = [sys.executable, SCRIPT, *TINY.split(), "--cores", "1", "4"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=300).stdout
    for phase in ("ask", "evaluate", "selection", "offspring", "metrics", "checkpoint"):
        assert f"\n{phase} " in out, out
    assert "episodes of 10 steps (fit)" in out
    assert out.count("bookkeeping") >= 4


def test_bench_bookkeeping_refuses_a_fit_length_not_above_the_profiled_one() -> None:
    args = [sys.executable, SCRIPT, "--steps", "5", "--fit-steps", "5"]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 2 and "--fit-steps" in result.stderr


def test_from_timing_measures_the_share_between_generation_ends(tmp_path: Path) -> None:
    """Generation 1 ends 10 s after generation 0 and evaluated for 9.5 s: 0.5 s, 5.0%."""
    rows = [
        '{"generation": 0, "eval_seconds": 20.0, "unix_time": 100.0}',
        '{"generation": 1, "eval_seconds": 9.5, "unix_time": 110.0}',
    ]
    timing = tmp_path / "timing.jsonl"
    timing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = [sys.executable, SCRIPT, "--from-timing", str(timing)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.splitlines()[-1].split() == ["1", "10.00", "9.50", "0.500", "5.0%"], out
