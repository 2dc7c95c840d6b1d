"""What a resume says and leaves behind: "nothing to do" for a finished run, and for one that
goes on, its ``config.json`` brought up to date plus a line in ``resumes.jsonl``.

``config.json`` always holds the config the run now runs under (the same as its newest
checkpoint's), so ``pbml train --resume RUN --set generations=400`` leaves a folder whose
``config.json`` says 400. The history of how it got there (when, from which generation and
env-step count, which keys changed from what to what, under which git commit) is kept beside it
in ``resumes.jsonl``, one JSON object per resume, instead of inside ``config.json``: that file
stays a plain config any reader can load and compare (``RunConfig.from_dict``, experiment reuse).
Both files are written atomically, the history first.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pbml_control.atomic import atomic_write_text
from pbml_control.config import RunConfig
from pbml_control.metrics_log import read_jsonl

__all__ = ["RESUMES_FILE", "config_changes", "nothing_to_do", "read_resumes", "record_resume"]

RESUMES_FILE = "resumes.jsonl"


def config_json(config: RunConfig) -> str:
    """A run's ``config.json`` text, written the same way when a run starts and on resume."""
    return json.dumps(config.to_dict(), indent=1, sort_keys=True)


def config_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, list]:
    """``{"a.b": [old, new]}`` for every key whose value differs (missing keys read as None)."""
    changes: dict[str, list] = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.update(config_changes(a, b, f"{prefix}{key}."))
        elif a != b:
            changes[f"{prefix}{key}"] = [a, b]
    return changes


def nothing_to_do(generation: int, config: RunConfig, env_steps: int | None) -> str | None:
    """Why a resumed run at ``generation`` has nothing left to run, or None if it has."""
    if generation >= config.generations:
        return (
            f"run is at generation {generation} of {config.generations}; "
            "continue it with --set generations=N (N larger)"
        )
    if config.max_env_steps > 0 and env_steps is not None and env_steps >= config.max_env_steps:
        return (
            f"run is at generation {generation} and has spent its env-step budget "
            f"({env_steps:,} of max_env_steps={config.max_env_steps:,}); "
            "continue it with --set max_env_steps=N (N larger)"
        )
    return None


def read_resumes(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's resume history, oldest first ([] for a run never resumed)."""
    return [row for _, row in read_jsonl(Path(run_dir) / RESUMES_FILE) if row is not None]


def record_resume(
    run_dir: Path,
    stored: dict[str, Any],
    config: RunConfig,
    generation: int,
    env_steps: int | None,
    commit: str,
) -> dict[str, Any]:
    """Append this resume to ``resumes.jsonl`` and rewrite ``config.json`` if a key changed.

    ``stored`` is the config the run had (its ``config.json``); ``generation`` and
    ``env_steps`` where the resume starts. Returns the history entry.
    """
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "from_generation": generation,
        "env_steps": env_steps,
        "changed": config_changes(stored, config.to_dict()),
        "git_commit": commit,
    }
    path = run_dir / RESUMES_FILE
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"  # a torn last line stays on its own line, not glued to the new one
    atomic_write_text(path, old + json.dumps(entry, sort_keys=True) + "\n")
    if entry["changed"]:
        atomic_write_text(run_dir / "config.json", config_json(config))
    return entry
