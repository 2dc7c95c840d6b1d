"""A private local Ray for the Ray backend that leaves nothing behind, however its driver ends.

Its files go to a temporary folder of its own, and a small watchdog process (``python -m
pbml_control.ray_local DRIVER_PID FOLDER``) kills every process that holds a file in that
folder once the driver is gone without closing it (SIGKILL, the OOM killer), then removes the
folder. Without it, Ray's dashboard and runtime-env agents outlive a killed driver: they notice
that their raylet is gone, then hang for ever reporting it to the dead GCS (Ray 2.60).

Ray is imported only inside :class:`LocalRay`: this module is also the watchdog, which should
start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

__all__ = ["LocalRay", "kill_processes_using", "processes_using", "sigterm_kept"]

_PROC = Path("/proc")


@contextlib.contextmanager
def sigterm_kept() -> Iterator[None]:
    """``ray.init`` makes SIGTERM exit at once; ``pbml train`` saves a checkpoint on it."""
    previous = (
        signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class LocalRay:
    """A private Ray on this machine with ``num_cpus`` CPUs; ``close`` stops it, and so does
    the death of this process (see the module docstring)."""

    def __init__(self, num_cpus: int) -> None:
        import logging

        import ray

        self._dir = tempfile.mkdtemp(prefix="pbml-ray-")  # short: Ray's socket paths are capped
        self._reaper = _start_reaper(self._dir)  # first: a kill during ray.init is covered too
        try:
            with sigterm_kept():
                # "local": a new private Ray, never a cluster that happens to run on this node.
                ray.init(
                    address="local",
                    num_cpus=num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                    _temp_dir=self._dir,
                )
        except BaseException:
            self._stop()
            raise

    def close(self) -> None:
        import ray

        ray.shutdown()
        self._stop()

    def _stop(self) -> None:
        if self._reaper is not None:
            self._reaper.kill()
            self._reaper.wait()
            self._reaper = None
        kill_processes_using(self._dir)  # usually none: ray.shutdown stops them
        shutil.rmtree(self._dir, ignore_errors=True)


def _start_reaper(folder: str) -> subprocess.Popen | None:
    """The watchdog; None where there is no /proc to find Ray's processes in."""
    if not _PROC.is_dir():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "pbml_control.ray_local", str(os.getpid()), folder],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def processes_using(folder: str) -> list[int]:
    """Processes (of this user: others' /proc entries are unreadable) with ``folder`` on
    their command line or a file in it open: every process of a Ray whose temp dir it is."""
    prefix = os.path.join(os.path.realpath(folder), "")
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if prefix.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd).startswith(prefix):
                    found.append(int(entry.name))
                    break
        except OSError:  # gone, or not ours
            continue
    return found


def kill_until_gone(find: Callable[[], Iterable[int]], patience: float = 10.0) -> None:
    """SIGKILL every pid ``find()`` returns, again and again, until it returns none (or
    patience runs out: a process of another user can be neither found nor killed)."""
    deadline = time.monotonic() + patience
    while (pids := list(find())) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def kill_processes_using(folder: str, patience: float = 10.0) -> None:
    """SIGKILL everything :func:`processes_using` finds until nothing is left."""
    if _PROC.is_dir():
        kill_until_gone(lambda: processes_using(folder), patience)


def _reap(driver: int, folder: str, interval: float = 0.5) -> None:
    """Wait for the driver to go (this process is then re-parented), then kill its Ray."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # a Ctrl-C to the group is the driver's job
        signal.signal(sig, signal.SIG_IGN)
    while os.getppid() == driver:
        time.sleep(interval)
    kill_processes_using(folder)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    _reap(int(sys.argv[1]), sys.argv[2])
