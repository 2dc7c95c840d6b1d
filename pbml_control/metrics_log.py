"""metrics.jsonl and timing.jsonl: one JSON object per line, written by one run at a time.

Reading tolerates what a killed writer leaves (a torn or binary last line); resuming keeps the
rows a checkpoint covers and refuses damage a crash cannot cause.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pbml_control.atomic import atomic_write_text
from pbml_control.checkpoint import CheckpointError

__all__ = [
    "dumps_row",
    "generation_of",
    "kept_lines",
    "read_jsonl",
    "read_metrics",
    "rewrite_jsonl",
]


def dumps_row(row: dict[str, Any]) -> str:
    """One metrics row; NaN and inf become null so every JSON reader accepts the file."""
    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }
    return json.dumps(clean, sort_keys=True)


def parse_row(raw: bytes) -> dict[str, Any] | None:
    """One metrics line as a row, or None when it is not one (torn, binary, not an object)."""
    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return row if isinstance(row, dict) else None


def read_jsonl(path: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """(text, row or None) of each line of a JSONL file; [] when there is no file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [(raw.decode("utf-8", "replace"), parse_row(raw)) for raw in data.split(b"\n") if raw]


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl; a torn last line from a crash (or any line that is not a row)
    is skipped."""
    return [row for _, row in read_jsonl(Path(run_dir) / "metrics.jsonl") if row is not None]


def generation_of(row: dict[str, Any] | None) -> int | None:
    value = None if row is None else row.get("generation")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def kept_lines(path: Path, before_generation: int) -> list[str]:
    """Lines of rows of generations before ``before_generation`` (those the checkpoint covers).

    What a killed writer leaves (a torn or binary tail) comes after them and is dropped; a
    line that is not a row *between* them is damage a crash cannot cause, and is refused.
    """
    lines = read_jsonl(path)
    kept_at = [
        i
        for i, (_, row) in enumerate(lines)
        if (g := generation_of(row)) is not None and g < before_generation
    ]
    bad = [i for i, (_, row) in enumerate(lines) if generation_of(row) is None]
    if kept_at and bad and bad[0] < kept_at[-1]:
        raise CheckpointError(
            f"cannot resume: {path} line {bad[0] + 1} is not a metrics row (the file is damaged)"
        )
    return [lines[i][0] for i in kept_at]


def rewrite_jsonl(path: Path, lines: list[str]) -> None:
    if path.exists():
        atomic_write_text(path, "".join(f"{line}\n" for line in lines))
