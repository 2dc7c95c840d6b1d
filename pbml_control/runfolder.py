"""Creating and replacing run folders: exclusively, atomically, and only ever a run folder.

A new run is built under a unique hidden name next to its final place (``.NAME.XXXX.partial``:
its ``config.json``, its lock and its first checkpoint) and renamed into place. ``rename``
refuses to replace a folder that is not empty, so two runs started at once into the same name
cannot mix: the second is refused, and its half-built folder removed.

``--overwrite`` replaces only a recognisable run folder (a ``config.json`` with our keys, plus
``checkpoints/`` or ``metrics.jsonl``), never one that another process is writing, and never a
path that names ``.``, ``..``, the current folder or one of its ancestors. The new run is
finished first; then the old one is renamed aside (``.NAME.XXXX.old``), the new one renamed into
place, and only then is the old one deleted. A kill at any moment leaves either the old run or
the new one under the final name, each whole; never a half-deleted one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pbml_control.atomic import atomic_write_text, fsync_folder
from pbml_control.errors import UserError
from pbml_control.runlock import FolderBusyError, RunLock, check_free, is_locked

__all__ = [
    "RUN_CONFIG_KEYS",
    "RunFolderError",
    "check_new_run_dir",
    "create_run_dir",
    "is_run_folder",
]

# Keys every config.json we write holds; a folder whose config.json lacks them is not a run.
RUN_CONFIG_KEYS = frozenset({"seed", "generations", "population_size", "problem", "selection"})
_MAX_CONFIG_BYTES = 1 << 20


class RunFolderError(UserError):
    """A run folder that cannot be created or replaced as asked; one line."""


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a folder pbml wrote: a real folder (not a link) with a config.json
    holding our keys, and checkpoints/ or metrics.jsonl beside it."""
    try:
        if path.is_symlink() or not path.is_dir():
            return False
        config = path / "config.json"
        if not config.is_file() or config.stat().st_size > _MAX_CONFIG_BYTES:
            return False
        data = json.loads(config.read_text(encoding="utf-8"))
        marked = (path / "checkpoints").is_dir() or (path / "metrics.jsonl").is_file()
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.keys() >= RUN_CONFIG_KEYS and marked


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _first_existing_ancestor(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")


def check_new_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Refuse, before anything is written, a place where a new run cannot or must not go."""
    if run_dir.name in ("", ".", ".."):
        raise RunFolderError(f"run folder {str(run_dir)!r} must name a folder, not . or ..")
    for parent in run_dir.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise RunFolderError(f"cannot create run folder {run_dir}: {parent} is not a folder")
    if not run_dir.exists() and not run_dir.is_symlink():
        ancestor = _first_existing_ancestor(run_dir)
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise RunFolderError(f"cannot create run folder {run_dir}: {ancestor} is not writable")
        return
    if run_dir.is_symlink():
        raise RunFolderError(f"run folder {run_dir} is a symbolic link; name the folder itself")
    if not run_dir.is_dir():
        raise RunFolderError(f"run folder {run_dir} exists and is not a folder")
    if _is_empty_dir(run_dir):
        return
    if not overwrite:
        raise RunFolderError(f"run folder {run_dir} exists; pass --resume or --overwrite")
    target = run_dir.resolve()
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise RunFolderError(
            f"--overwrite refused: {run_dir} is the current folder or one of its parents"
        )
    if not is_run_folder(run_dir):
        raise RunFolderError(
            f"--overwrite refused: {run_dir} is not a run folder (no config.json with "
            "checkpoints/ or metrics.jsonl); remove it yourself if it should go"
        )
    check_free(run_dir)


def _remove_leftovers(run_dir: Path) -> None:
    """Half-built (``.partial``) and set-aside (``.old``) folders of killed processes.

    Only folders nobody holds the lock of; an ``.old`` one only once the final name is taken
    (a kill between the two renames of an overwrite leaves the old run only there).
    """
    parent, name = run_dir.parent, run_dir.name
    for leftover in [*parent.glob(f".{name}.*.partial"), *parent.glob(f".{name}.*.old")]:
        if leftover.suffix == ".old" and not run_dir.exists():
            continue
        if leftover.is_dir() and not leftover.is_symlink() and not is_locked(leftover):
            shutil.rmtree(leftover, ignore_errors=True)


def create_run_dir(
    run_dir: Path, config_json: str, fill: Callable[[Path], None], overwrite: bool = False
) -> RunLock:
    """Build the run under a hidden name, then put it in place; returns its held lock.

    ``fill(folder)`` writes what a run needs besides its config (the first checkpoint), so the
    folder that appears under ``run_dir`` is already resumable. With ``overwrite`` an existing
    run folder is replaced as described in the module docstring.
    """
    check_new_run_dir(run_dir, overwrite)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(run_dir)
    partial = Path(
        tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=".partial", dir=run_dir.parent)
    )
    os.chmod(partial, 0o755)  # mkdtemp's 0700 would hide the run from others
    lock = RunLock(partial)
    try:
        lock.acquire()
        atomic_write_text(partial / "config.json", config_json)
        fill(partial)
        if overwrite and run_dir.exists() and not _is_empty_dir(run_dir):
            _swap(partial, run_dir)
        else:
            try:
                os.rename(partial, run_dir)
            except OSError as exc:
                if run_dir.exists():
                    raise RunFolderError(
                        f"run folder {run_dir} exists (another run took the name first); "
                        "pass --resume or --overwrite"
                    ) from None
                raise exc
        fsync_folder(run_dir.parent)
    except BaseException:
        lock.release()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    lock.folder = run_dir
    return lock


def _swap(partial: Path, run_dir: Path) -> None:
    """Replace the run folder ``run_dir`` by the finished ``partial``; delete the old one last."""
    old_lock = RunLock(run_dir)
    old_lock.acquire()  # FolderBusyError if a process writes it
    try:
        if not is_run_folder(run_dir):  # checked again under its lock
            raise RunFolderError(f"--overwrite refused: {run_dir} is not a run folder")
        aside = Path(
            tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=".old", dir=run_dir.parent)
        )
        os.rename(run_dir, aside)  # over the empty folder mkdtemp made: atomic
        try:
            os.rename(partial, run_dir)
        except BaseException:
            os.rename(aside, run_dir)  # put the old run back
            raise
        fsync_folder(run_dir.parent)
    finally:
        old_lock.release()
    with contextlib.suppress(OSError):
        shutil.rmtree(aside)


__all__ += ["FolderBusyError"]
