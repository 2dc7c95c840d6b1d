"""Memory: a generation of 1,024 Ant genomes with a 64x64 MLP stays under 1 GiB resident."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_1024_ant_genomes_fit_in_one_gib():
    """Peak RSS of a fresh process running two generations is below 1024 MiB."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "memory_check.py"), "--steps", "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    peak = float(out.split("peak RSS:")[1].split("MiB")[0])
    assert 50 < peak < 1024
