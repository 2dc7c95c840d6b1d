"""One writer per folder: an advisory ``fcntl.flock`` on a lock file inside it.

A run folder (and a transfer's output folder) holds ``.lock``. The writing process holds an
exclusive flock on it for as long as it writes, with its PID inside, so a second writer is
refused with the holder's PID instead of interleaving with it. The kernel drops a flock when
its holder dies, however it dies, so a lock file left by a killed process is stale by
construction: the next writer takes it over (``RunLock.stale_pid`` names the dead holder).

The file is never deleted (deleting a lock file lets two processes lock two different files),
and it is emptied again on release, so a refused command leaves the folder byte for byte as it
found it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from pbml_control.errors import UserError

__all__ = ["LOCK_NAME", "FolderBusyError", "RunLock", "check_free", "is_locked"]

LOCK_NAME = ".lock"


class FolderBusyError(UserError):
    """Another live process holds the folder's lock; the message names its PID."""


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class RunLock:
    """Exclusive, non-blocking lock on ``folder/.lock``; use as a context manager."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.stale_pid: int | None = None  # PID a dead holder left in the file, if any
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`FolderBusyError` naming the holder's PID."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise _busy(self.folder, pid) from None
        except BaseException:
            os.close(fd)
            raise
        self.stale_pid = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Empty the file (the folder is as it was) and drop the lock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _busy(folder: Path, pid: int | None) -> FolderBusyError:
    holder = f"process {pid}" if pid else "another process"
    return FolderBusyError(f"{folder} is in use by {holder}; wait for it to finish")


def _holder(folder: str | Path) -> tuple[bool, int | None]:
    """(locked, PID written in the lock file) without taking the lock and without writing."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False, None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True, _read_pid(fd)
    finally:
        os.close(fd)  # also drops the shared lock when we got it
    return False, None


def is_locked(folder: str | Path) -> bool:
    """Whether a live process holds ``folder``'s lock (False when there is no lock file)."""
    return _holder(folder)[0]


def check_free(folder: str | Path) -> None:
    """Raise :class:`FolderBusyError` (naming the PID) when a live process holds the lock."""
    locked, pid = _holder(folder)
    if locked:
        raise _busy(Path(folder), pid)
