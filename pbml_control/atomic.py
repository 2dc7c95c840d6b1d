"""Crash-safe file writes: a file is either its old version or its complete new one.

Every writer builds its output under a hidden temporary name in the target's own folder (so the
final rename never crosses a filesystem), fsyncs it and renames it over the target. A crash or
a signal mid-write leaves the previous file, never a truncated one, and an interrupted write
removes only its own temporary file, never a file the user had before.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "fsync_folder"]


def fsync_folder(folder: str | Path) -> None:
    """Make renames in ``folder`` durable; not every platform lets us open a folder."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _fsync_file(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Temp files of ``path`` left by writers killed with SIGKILL (nothing else can stop them
    cleaning up). A live writer holds a flock on its temp file, so only dead ones go."""
    for stale in path.parent.glob(f".{glob.escape(path.stem)}.*.tmp{glob.escape(path.suffix)}"):
        try:
            fd = os.open(stale, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its writer is alive
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            stale.unlink()


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that pick a format
    from it still do); on success it is fsynced and renamed over ``path``, on any exception
    (KeyboardInterrupt included) it is removed and ``path`` is left as it was.

    The folder must exist: creating it is the caller's decision. Temp files of ``path`` that
    a SIGKILLed writer left behind are removed first.
    """
    path = Path(path)
    _remove_stale_temps(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    tmp = Path(tmp_name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # "a writer is alive" for _remove_stale_temps
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide results from others
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    fsync_folder(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync it, rename over ``path``, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would hide results from others
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
