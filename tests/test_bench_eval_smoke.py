"""scripts/bench_eval.py runs end to end on tiny settings and reports each row's balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = str(Path(__file__).resolve().parents[1] / "scripts" / "bench_eval.py")
TINY = "--tasks HalfCheetahVel --workers 2 --steps 5 --repeats 1 --limit-seconds 0.2 --hidden 4"


def test_bench_eval_measures_every_population_and_chunking(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [*TINY.split(), "--population", "8", "12", "--chunks-per-worker", "1", "3"]
    text = subprocess.run(
        [sys.executable, SCRIPT, *args, "--json", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "balance" in text.splitlines()[1]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["population"], r["chunks_per_worker"]) for r in rows] == [
        (8, 1),
        (8, 3),
        (12, 1),
        (12, 3),
    ]
    for row in rows:  # the keys of earlier results are all still there
        assert {"steps_per_s", "ratio_per_core", "ratio_to_parallel_limit"} <= row.keys()
        assert 0 < row["balance"] <= 1 and len(row["balances"]) == 1
        assert 1 <= len(row["worker_busy_seconds"]) <= 2 and row["cpu_share"] > 0


def test_bench_eval_refuses_zero_chunks() -> None:
    result = subprocess.run(
        [sys.executable, SCRIPT, "--chunks-per-worker", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--chunks-per-worker" in result.stderr
