"""Finished transfer jobs (one arm on one seed), kept so a rerun reuses them.

A transfer of many arms and seeds runs for hours; a kill used to lose all of it, and a rerun
needed ``--overwrite`` and recomputed everything. Each job's result is now written, atomically,
to ``DIR/jobs/<arm>_seed<seed>.json`` as soon as it finishes, under a key that hashes all it
depends on: the arm, the seed, the adaptation config (goals included) and the SHA-256 of the
source checkpoint. A rerun with the same key reuses the result (a job is deterministic, so the
reused curves equal recomputed ones bit for bit); any change recomputes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pbml_control.atomic import atomic_write_text
from pbml_control.transfer import TransferJob

__all__ = ["JOBS_FOLDER", "JobCache", "job_key"]

JOBS_FOLDER = "jobs"
_VERSION = 1


def _source_digest(job: TransferJob) -> str | None:
    if job.source is None:
        return None
    record = json.loads(job.source.checkpoint_path.read_text(encoding="utf-8"))
    return str(record.get("sha256"))


def job_key(job: TransferJob) -> str:
    """SHA-256 of everything a job's result depends on."""
    described = {
        "version": _VERSION,
        "arm": job.arm,
        "seed": job.seed,
        "config": job.config.to_dict(),
        "source_checkpoint_sha256": _source_digest(job),
        "source_run": None if job.source is None else str(job.source.run_dir),
    }
    mutation = None if job.source is None else job.source.mutation
    if mutation is not None:  # only then: keys of plain jobs stay what they were
        described["source_mutation"] = (
            mutation
            if mutation == "reset"
            else json.loads(Path(mutation).read_text(encoding="utf-8")).get("sha256")
        )
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


class JobCache:
    """``folder/<arm>_seed<seed>.json`` per job; ``reuse=False`` recomputes every job."""

    def __init__(self, folder: Path, reuse: bool = True) -> None:
        self.folder = folder
        self.reuse = reuse
        self.reused = 0

    def path(self, job: TransferJob) -> Path:
        arm = re.sub(r"[^A-Za-z0-9_.-]", "_", job.arm)
        return self.folder / f"{arm}_seed{job.seed}.json"

    def load(self, job: TransferJob) -> dict[str, Any] | None:
        """The job's saved result when its key matches; None otherwise (even if damaged)."""
        if not self.reuse:
            return None
        try:
            saved = json.loads(self.path(job).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(saved, dict) or saved.get("key") != job_key(job):
            return None
        result = saved.get("result")
        if not isinstance(result, dict):
            return None
        self.reused += 1
        return result

    def save(self, job: TransferJob, result: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"key": job_key(job), "result": result}, sort_keys=True)
        atomic_write_text(self.path(job), text + "\n")
