"""Where chunks of simulations run: in this process, or on local worker processes.

A backend runs a list of jobs with one function that every worker sets up once (for the MuJoCo
problem: build the model and policy spec). Jobs are independent and their results come back in
job order, so the science does not depend on the backend or the number of workers.

The process backend uses ``concurrent.futures.ProcessPoolExecutor`` (spawn start method: no
forked MuJoCo or BLAS state). A worker that dies (SIGKILL, OOM) breaks the pool; the backend
then starts a fresh pool and reruns the jobs that had no result, up to ``max_retries`` times.
A rerun job gives the same result, because each job carries everything it depends on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, Protocol

__all__ = ["Backend", "LocalBackend", "ProcessBackend", "WorkerLostError"]

_STATE: dict[str, Any] = {}


class WorkerLostError(RuntimeError):
    """Workers kept dying: the jobs could not be completed."""


class Backend(Protocol):
    def run(self, jobs: Sequence[tuple]) -> list[Any]: ...

    def close(self) -> None: ...


class LocalBackend:
    """Runs jobs in this process: no start-up cost, the default for one worker."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    def run(self, jobs: Sequence[tuple]) -> list[Any]:
        return [self._runner.run(*job) for job in jobs]

    def close(self) -> None:
        pass


def _init(setup: Callable[..., Any], setup_args: tuple) -> None:
    _STATE["runner"] = setup(*setup_args)


def _call(job: tuple) -> Any:
    return _STATE["runner"].run(*job)


class ProcessBackend:
    """Local worker processes; a dead worker's jobs are rerun on a fresh pool."""

    def __init__(
        self, setup: Callable[..., Any], setup_args: tuple, workers: int, max_retries: int = 3
    ) -> None:
        self._setup = (setup, setup_args)
        self.workers = workers
        self.max_retries = max_retries
        self.restarts = 0  # pools rebuilt after a worker died (reported in metrics)
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_init,
                initargs=self._setup,
            )
        return self._pool

    def run(self, jobs: Sequence[tuple]) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        pending = list(range(len(jobs)))
        for attempt in range(self.max_retries + 1):
            pool = self._ensure_pool()
            futures: dict[int, Future] = {i: pool.submit(_call, jobs[i]) for i in pending}
            lost = []
            for i, future in futures.items():
                try:
                    results[i] = future.result()
                except BrokenProcessPool:
                    lost.append(i)
            if not lost:
                return results
            self._discard_pool()
            self.restarts += 1
            pending = lost
            if attempt == self.max_retries:
                break
        raise WorkerLostError(f"worker processes died {self.max_retries + 1} times in a row")

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
