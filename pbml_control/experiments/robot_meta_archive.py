"""Per-seed records of the robot meta-learning experiment, kept in the repository.

The experiment needs about five hours on 2 cores, more than one sitting, and its run folders
live outside the git tree, on a machine that may not be the next stage's. So each report also
writes, per seed, what the report needs of that seed: every arm's endpoints and every transfer
job's curves (``<folder>/seed<N>.json``, about 230 kB). A later report takes a seed's numbers from
its run folders where they exist, and from its record where they do not.

Runs are deterministic, so where both exist they must agree. A mismatch means that the code
or the design changed since the record was written; the report then refuses to mix the two
(:class:`ArchiveError`) instead of silently pooling numbers from two different experiments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pbml_control.atomic import atomic_write_text
from pbml_control.stats import compact_json
from pbml_control.transfer_metrics import SavedPlan, aggregate

__all__ = ["ArchiveError", "combine", "load_records", "merge_live", "write_records"]

VERSION = 1
# Machine paths of the source run folders: they differ between machines and say nothing
# about the results, so records leave them out and comparisons ignore them.
MACHINE_FIELDS = ("source_run", "source_mutation")


class ArchiveError(Exception):
    """A record that cannot be used (damaged, another design, or disagreeing with the runs)."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def _plain_job(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in (*MACHINE_FIELDS, "metrics")}


def empty_record(seed: int, design: dict[str, Any], best_sigma: float) -> dict[str, Any]:
    return {
        "version": VERSION,
        "seed": seed,
        "design": design,
        "best_sigma": best_sigma,
        "runs": {},
        "transfer": {},
    }


def load_records(folder: Path, design: dict[str, Any], best_sigma: float) -> dict[int, dict]:
    """Every ``seed<N>.json`` in ``folder``; each must be of this design and pilot's s*."""
    records: dict[int, dict[str, Any]] = {}
    for path in sorted(folder.glob("seed*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            seed = int(record["seed"])
            same = (record["version"], _canonical(record["design"]), record["best_sigma"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ArchiveError(f"{path} is not a seed record ({error})") from None
        if path.name != f"seed{seed}.json":
            raise ArchiveError(f"{path} holds seed {seed}; its name says otherwise")
        if same != (VERSION, _canonical(design), best_sigma):
            raise ArchiveError(
                f"{path} was written for another design, pilot s* or format; "
                "move it away to run this design"
            )
        records[seed] = record
    return records


def _agree(where: str, live: Any, saved: Any) -> None:
    if _canonical(live) != _canonical(saved):
        raise ArchiveError(
            f"{where}: the run folders and the seed record disagree (the code or the design "
            "changed since the record was written); move one of them away"
        )


def merge_live(
    records: dict[int, dict[str, Any]],
    design: dict[str, Any],
    best_sigma: float,
    runs: dict[str, list[dict[str, Any]]],
    transfers: dict[str, dict[str, Any]],
) -> dict[int, dict[str, Any]]:
    """The records with what the run folders hold added; where both hold a number, they
    must agree. ``runs``: arm -> endpoint rows; ``transfers``: name -> aggregated transfer."""
    merged = {seed: json.loads(json.dumps(r, allow_nan=True)) for seed, r in records.items()}

    def record(seed: int) -> dict[str, Any]:
        return merged.setdefault(seed, empty_record(seed, design, best_sigma))

    for arm, rows in runs.items():
        for row in rows:
            saved = record(row["seed"])["runs"]
            if arm in saved:
                _agree(f"seed {row['seed']} arm {arm}", row, saved[arm])
            saved[arm] = row
    for name, data in transfers.items():
        plan = {k: v for k, v in data["plan"].items() if k != "seeds"}  # seeds: per record
        for arm, block in data["arms"].items():
            for seed_text, result in block["seeds"].items():
                seed = int(seed_text)
                target = record(seed)["transfer"].setdefault(name, {"plan": None, "jobs": {}})
                if target["plan"] is not None:
                    _agree(f"seed {seed} transfer {name} plan", plan, target["plan"])
                target["plan"] = plan
                job = _plain_job(result)
                if arm in target["jobs"]:
                    _agree(f"seed {seed} transfer {name} arm {arm}", job, target["jobs"][arm])
                target["jobs"][arm] = job
    return merged


def write_records(folder: Path, records: dict[int, dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, record in sorted(records.items()):
        atomic_write_text(folder / f"seed{seed}.json", compact_json(record, allow_nan=True))


def combine(
    records: dict[int, dict[str, Any]], arms: list[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The report's inputs from the records: ``runs`` over the seeds that finished every arm
    in ``arms``, and each transfer aggregated again over the seeds that hold all its jobs."""
    ordered = [records[s] for s in sorted(records)]
    complete = [r for r in ordered if all(arm in r["runs"] for arm in arms)]
    runs = {arm: [r["runs"][arm] for r in complete] for arm in arms} if complete else {}
    transfers: dict[str, dict[str, Any]] = {}
    names = sorted({name for r in ordered for name in r["transfer"]})
    for name in names:
        held = [r for r in ordered if name in r["transfer"]]
        plans = {_canonical(r["transfer"][name]["plan"]) for r in held}
        if len(plans) > 1:
            raise ArchiveError(f"transfer {name}: the seed records hold different plans")
        plan = held[0]["transfer"][name]["plan"]
        held = [r for r in held if set(r["transfer"][name]["jobs"]) == set(plan["arms"])]
        if held:
            jobs = [job for r in held for job in r["transfer"][name]["jobs"].values()]
            described = dict(plan, seeds=[r["seed"] for r in held])
            transfers[name] = aggregate(SavedPlan(described), jobs)  # type: ignore[arg-type]
    return runs, transfers
