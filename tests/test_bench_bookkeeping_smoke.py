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
