"""Arms x seeds over run folders: one process map, finished runs reused, curves from metrics.

An experiment is a grid of (arm, seed) runs, each in a run folder of its own
(``<runs_dir>/<arm>__seed<seed>``). :func:`train_grid` trains them ``processes`` at a time;
a folder whose ``config.json`` is the run's config is resumed instead (a no-op when it is
complete), so a repeated or interrupted experiment trains only what is missing. Results never
depend on the number of processes: every run is seeded by its own config.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pbml_control.config import RunConfig, config_from_json

__all__ = [
    "RunSpec",
    "curves",
    "grid",
    "group_by_arm",
    "is_finished",
    "process_map",
    "run_span",
    "same_config",
    "train_grid",
    "train_run",
]

T = TypeVar("T")
R = TypeVar("R")


def process_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    processes: int = 1,
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, in ``processes`` spawned processes, in item order.

    Spawned, not forked: no MuJoCo, BLAS or Ray state is copied into the children, and SIGINT
    is blocked there so that Ctrl-C stops the parent once. ``fn`` must be importable (a module
    function) and its items picklable. A worker exits within a second of its parent's death
    (SIGKILL, or SIGTERM with no handler). ``on_result(index, result)`` is called as each item
    finishes (in finishing order), so a caller can keep results before the whole map ends.
    """
    items = list(items)
    results: dict[int, R] = {}

    def done(index: int, result: R) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    if processes <= 1 or len(items) <= 1:
        for index, item in enumerate(items):
            done(index, fn(item))
    else:
        from pbml_control.interrupts import exit_when_orphaned, spawn_context

        workers = min(processes, len(items))
        # workers of a parent that was killed exit instead of finishing their runs unseen
        with spawn_context().Pool(workers, exit_when_orphaned, (os.getpid(),)) as pool:
            indexed = [(fn, index, item) for index, item in enumerate(items)]
            for index, result in pool.imap_unordered(_call_indexed, indexed, chunksize=1):
                done(index, result)
    return [results[index] for index in range(len(items))]


def _call_indexed(job: tuple[Callable[[Any], Any], int, Any]) -> tuple[int, Any]:
    fn, index, item = job
    return index, fn(item)


@dataclass(frozen=True)
class RunSpec:
    """One (arm, seed) run of an experiment and its folder."""

    arm: str
    seed: int
    config: RunConfig
    run_dir: str


def grid(
    arms: Iterable[str],
    seeds: Iterable[int],
    make_config: Callable[[str, int], RunConfig],
    runs_dir: str | Path,
    name: str = "{arm}__seed{seed}",
    seed_major: bool = False,
) -> list[RunSpec]:
    """Every (arm, seed), arm-major (or ``seed_major``), folders ``<runs_dir>/<name>``."""
    arms, seeds = list(arms), list(seeds)
    pairs = (
        [(a, s) for s in seeds for a in arms]
        if seed_major
        else [(a, s) for a in arms for s in seeds]
    )
    return [
        RunSpec(
            arm, seed, make_config(arm, seed), str(Path(runs_dir) / name.format(arm=arm, seed=seed))
        )
        for arm, seed in pairs
    ]


def same_config(run_dir: str | Path, config: RunConfig) -> bool:
    """Whether ``run_dir`` was written with exactly this config.

    The stored file is read as a config first, so a key added to the code since (at its
    default) does not make a finished run look different and get trained again from scratch.
    """
    path = Path(run_dir) / "config.json"
    if not path.exists():
        return False
    stored = config_from_json(path.read_text(encoding="utf-8"), path)
    return stored.to_dict() == config.to_dict()


def is_finished(run_dir: str | Path, config: RunConfig) -> bool:
    """A run folder written with this config and holding every generation's metrics."""
    from pbml_control.runner import read_metrics

    return same_config(run_dir, config) and len(read_metrics(run_dir)) == config.generations


def train_run(spec: RunSpec, reuse: bool = True) -> dict[str, Any]:
    """Train one run (resumed when ``reuse`` and its folder has this config); a record of it.

    The record: arm, seed, run_dir, whether it was reused, and the seconds this call took.
    """
    from pbml_control.runner import train

    started = time.perf_counter()
    reused = reuse and same_config(spec.run_dir, spec.config)
    if reused:
        train(spec.run_dir, spec.config, resume=True)  # finishes an interrupted run
    else:
        train(spec.run_dir, spec.config, overwrite=True)
    return {
        "arm": spec.arm,
        "seed": spec.seed,
        "run_dir": spec.run_dir,
        "reused": bool(reused),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _train_item(item: tuple[RunSpec, bool]) -> dict[str, Any]:
    return train_run(*item)


def train_grid(
    specs: Sequence[RunSpec], processes: int = 1, reuse: bool = True
) -> list[dict[str, Any]]:
    """Train every run (:func:`train_run`), ``processes`` at a time; records in spec order."""
    return process_map(_train_item, [(spec, reuse) for spec in specs], processes)


def group_by_arm(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by ``arm`` (first-seen order), each group in seed order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        out.setdefault(record["arm"], []).append(record)
    return {arm: sorted(rows, key=lambda r: r["seed"]) for arm, rows in out.items()}


def curves(run_dir: str | Path, keys: Sequence[str]) -> dict[str, list[Any]]:
    """Per-generation columns of a run's metrics, one list per key (None where a row lacks it)."""
    from pbml_control.runner import read_metrics

    rows = read_metrics(run_dir)
    return {key: [row.get(key) for row in rows] for key in keys}


def run_span(run_dir: str | Path) -> tuple[float, float]:
    """(start, end) unix times of a run from ``timing.jsonl``: the first generation's start
    (its end minus its evaluation) and the last generation's end."""
    from pbml_control.metrics_log import read_jsonl

    rows = [row for _, row in read_jsonl(Path(run_dir) / "timing.jsonl") if row is not None]
    return rows[0]["unix_time"] - rows[0]["eval_seconds"], rows[-1]["unix_time"]
