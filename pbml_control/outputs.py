"""Checks on the files and folders a command is asked to write, made before any work starts.

An export, a video or a figure must not land on a folder, under a file, or on top of a run's
own files (``pbml export --torch RUN/config.json`` used to replace the run's config): each is
refused in one line before anything is computed or written.
"""

from __future__ import annotations

from pathlib import Path

from pbml_control.errors import UserError
from pbml_control.runfolder import is_run_folder
from pbml_control.runlock import LOCK_NAME

__all__ = ["RUN_OWN_FILES", "OutputPathError", "check_output_file", "check_output_folder"]

# What a run folder holds for itself; checkpoints/ is the run's too, whatever is in it.
RUN_OWN_FILES = frozenset(
    {"config.json", "metrics.jsonl", "timing.jsonl", "resumes.jsonl", LOCK_NAME}
)


class OutputPathError(UserError):
    """An output path that cannot or must not be written; one line."""


def _blocked_parent(path: Path) -> Path | None:
    for parent in path.absolute().parents:
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def check_output_folder(path: Path, flag: str) -> None:
    """``path`` can be a folder we write into: it is one, or can be created as one."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{flag} {path} exists and is not a folder")
    blocked = _blocked_parent(path)
    if blocked is not None:
        raise OutputPathError(f"{flag} {path}: {blocked} is not a folder")


def check_output_file(path: Path, flag: str) -> None:
    """``path`` can be (re)written as a file and is none of a run's own files."""
    if path.is_dir():
        raise OutputPathError(f"{flag} {path} is a folder; name a file")
    blocked = _blocked_parent(path)
    if blocked is not None:
        raise OutputPathError(f"{flag} {path}: {blocked} is not a folder")
    target = path.resolve()  # through symbolic links: the file that would really change
    if target.name in RUN_OWN_FILES and is_run_folder(target.parent):
        raise OutputPathError(f"{flag} {path} would overwrite the run's own {target.name}")
    for folder in target.parents:
        if folder.name == "checkpoints" and is_run_folder(folder.parent):
            raise OutputPathError(f"{flag} {path} lies in the run's checkpoints/ folder")
