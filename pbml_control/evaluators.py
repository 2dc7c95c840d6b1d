"""Where chunks of simulations run: in this process, on local worker processes, or on Ray.

A backend runs a list of jobs with one function that every worker sets up once (for the MuJoCo
problem: build the model and policy spec). Jobs are independent and their results come back in
job order, so the science does not depend on the backend or the number of workers. Jobs are
handed out as workers become free (none is tied to a worker in advance), so with more jobs than
workers a worker whose jobs finish early takes more of them.

Each backend also keeps the :class:`RunTiming` of its last ``run``: every job's wall and CPU
seconds inside its worker (clock readings around the work, so queueing and transfer are left
out) and the run's wall seconds in the caller. They say how long workers sat idle waiting for
the slowest one, and how much of their working time they actually had a core; they are for
benchmarks and ``timing.jsonl``, never for results.

The process backend uses ``concurrent.futures.ProcessPoolExecutor`` (spawn start method: no
forked MuJoCo or BLAS state). A worker that dies (SIGKILL, OOM) breaks the pool; the backend
then starts a fresh pool and reruns the jobs that had no result, up to ``max_retries`` times.
A rerun job gives the same result, because each job carries everything it depends on. A
worker whose parent is killed exits by itself within a second.

The Ray backend keeps one actor per worker, each building its runner once, so one machine or a
cluster run the same jobs with the same results. Ray is imported only when this backend is
built: it is an optional extra (``pip install "pbml-control[ray]"``). A dead actor is restarted
by Ray (``max_restarts``) and its job resubmitted (``max_task_retries``).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from pbml_control.interrupts import exit_when_orphaned, spawn_context
from pbml_control.threads import limit_blas_threads

__all__ = [
    "Backend",
    "LocalBackend",
    "ProcessBackend",
    "RayBackend",
    "RunTiming",
    "WorkerLostError",
]

_STATE: dict[str, Any] = {}


class WorkerLostError(RuntimeError):
    """Workers kept dying: the jobs could not be completed."""


@dataclass(frozen=True)
class RunTiming:
    """Where the time of one ``Backend.run`` went: per job inside its worker, and in all.

    ``balance`` is the mean worker's busy time over the run's wall time: 1.0 when no worker
    waited, 0.5 when on average half the run was spent waiting for the slowest worker (or for
    the transfer of jobs and results, which the wall time includes and the jobs do not).
    ``cpu_share`` is the CPU time of the jobs over their busy time: below 1.0, workers were
    runnable but had no core (other programs, a hypervisor taking the core, more workers than
    cores), so a low balance there comes from the machine, not from the split of the work.
    """

    job_seconds: tuple[float, ...]  # each job's work, wall seconds timed inside its worker
    job_workers: tuple[int, ...]  # who ran each job: a process id, or a Ray actor's index
    wall_seconds: float  # from the first job handed out to the last result, in the caller
    workers: int
    job_cpu_seconds: tuple[float, ...] = ()  # each job's CPU seconds in its worker process

    def busy_seconds(self) -> dict[int, float]:
        """Seconds each worker that got a job spent working, by worker."""
        busy: dict[int, float] = {}
        for worker, seconds in zip(self.job_workers, self.job_seconds, strict=True):
            busy[worker] = busy.get(worker, 0.0) + seconds
        return busy

    @property
    def balance(self) -> float:
        """Mean busy seconds over all ``workers`` (idle ones count 0) / wall seconds."""
        if self.wall_seconds <= 0 or self.workers < 1:
            return 1.0
        return sum(self.job_seconds) / self.workers / self.wall_seconds

    @property
    def cpu_share(self) -> float | None:
        """CPU seconds over busy seconds, summed over the jobs (None without CPU times)."""
        busy = sum(self.job_seconds)
        return sum(self.job_cpu_seconds) / busy if self.job_cpu_seconds and busy > 0 else None


class Backend(Protocol):
    def run(self, jobs: Sequence[tuple]) -> list[Any]: ...

    def close(self) -> None: ...


def _timed(runner: Any, job: tuple) -> tuple[Any, float, float]:
    """The runner's result for ``job``, and the wall and CPU seconds it took (four clock
    reads a job: nothing next to a chunk of simulations)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = runner.run(*job)
    return result, time.perf_counter() - start, time.process_time() - cpu


def _timing(
    timed: Sequence[tuple[Any, float, float, int]], started: float, workers: int
) -> tuple[list[Any], RunTiming]:
    """Results in job order and the run's timing, from (result, wall, CPU, worker) per job."""
    timing = RunTiming(
        job_seconds=tuple(float(t[1]) for t in timed),
        job_workers=tuple(int(t[3]) for t in timed),
        wall_seconds=time.perf_counter() - started,
        workers=workers,
        job_cpu_seconds=tuple(float(t[2]) for t in timed),
    )
    return [t[0] for t in timed], timing


class LocalBackend:
    """Runs jobs in this process: no start-up cost, the default for one worker."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner
        self.last_timing: RunTiming | None = None

    def run(self, jobs: Sequence[tuple]) -> list[Any]:
        started = time.perf_counter()
        timed = [(*_timed(self._runner, job), 0) for job in jobs]
        results, self.last_timing = _timing(timed, started, 1)
        return results

    def close(self) -> None:
        pass


def _init(setup: Callable[..., Any], setup_args: tuple, parent: int) -> None:
    exit_when_orphaned(parent)
    limit_blas_threads()  # W workers on W cores: one BLAS/OpenMP thread each
    _STATE["runner"] = setup(*setup_args)


def _call(job: tuple) -> tuple[Any, float, float, int]:
    """A job's result, its wall and CPU seconds in this worker, and the worker's process id."""
    return (*_timed(_STATE["runner"], job), os.getpid())


class ProcessBackend:
    """Local worker processes; a dead worker's jobs are rerun on a fresh pool.

    The pool's workers take jobs from one shared queue as they become free.
    """

    def __init__(
        self, setup: Callable[..., Any], setup_args: tuple, workers: int, max_retries: int = 3
    ) -> None:
        self._setup = (setup, setup_args)
        self.workers = workers
        self.max_retries = max_retries
        self.restarts = 0  # pools rebuilt after a worker died
        self.last_timing: RunTiming | None = None
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=spawn_context(),  # workers ignore a Ctrl-C to the process group
                initializer=_init,
                initargs=(*self._setup, os.getpid()),
            )
        return self._pool

    def run(self, jobs: Sequence[tuple]) -> list[Any]:
        started = time.perf_counter()
        results: list[Any] = [None] * len(jobs)
        pending = list(range(len(jobs)))
        last_error: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            pool = self._ensure_pool()
            futures: dict[int, Future] = {i: pool.submit(_call, jobs[i]) for i in pending}
            lost = []
            for i, future in futures.items():
                try:
                    results[i] = future.result()
                except BrokenProcessPool as exc:
                    last_error = exc
                    lost.append(i)
            if not lost:
                results, self.last_timing = _timing(results, started, self.workers)
                return results
            self._discard_pool()
            self.restarts += 1
            pending = lost
            if attempt == self.max_retries:
                break
        raise WorkerLostError(
            f"worker processes died {self.max_retries + 1} times in a row (a script that starts "
            "workers needs an `if __name__ == '__main__':` guard; see the cause below)"
        ) from last_error

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _RayWorker:
    """Body of one Ray actor: builds the runner once, then runs jobs (``ray.remote`` wraps it)."""

    def __init__(self, setup: Callable[..., Any], setup_args: tuple) -> None:
        limit_blas_threads()  # one actor per CPU: one BLAS/OpenMP thread each
        self._runner = setup(*setup_args)

    def run(self, *job: Any) -> tuple[Any, float, float]:
        """The job's result, and its wall and CPU seconds inside this actor."""
        return _timed(self._runner, job)

    def node_id(self) -> str:
        """The Ray node this actor runs on (a cluster run names them in its note)."""
        import ray

        return ray.get_runtime_context().get_node_id()


class RayBackend:
    """One Ray actor per worker; a free actor takes the next job, results come in job order.

    ``address=None`` starts a private local Ray with ``num_cpus=workers`` (ray_local.py), which
    ``close`` or the death of this process stops. An address (``"auto"``, ``"HOST:PORT"``,
    ``"ray://HOST:10001"``) joins a running cluster (ray_cluster.py) and prints one note: its
    nodes and how many actors each got. If Ray is already initialised in this process (a
    notebook, a test, ``pbml train`` that joined the cluster before writing anything), that
    session is used and left open.
    """

    def __init__(
        self,
        setup: Callable[..., Any],
        setup_args: tuple,
        workers: int,
        address: str | None = None,
        max_retries: int = 3,
    ) -> None:
        import ray  # lazy: Ray is an optional extra

        from pbml_control.ray_cluster import join
        from pbml_control.ray_local import LocalRay

        self._ray = ray
        self.workers = workers
        self.last_timing: RunTiming | None = None
        self._local: LocalRay | None = None
        self._joined = False
        if not ray.is_initialized():
            if address:
                self._joined = join(address)
            else:
                self._local = LocalRay(workers)
        # Restarts are unbounded over a long run; each job is retried at most max_retries times.
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=max_retries)(_RayWorker)
        self._actors = [actor.remote(setup, setup_args) for _ in range(workers)]
        self.nodes: list[str] = []  # node of each actor, known on a cluster
        if address:
            self.nodes = self._get([a.node_id.remote() for a in self._actors])
            print(f"pbml: note: {self.placement(address)}", file=sys.stderr)

    def placement(self, address: str) -> str:
        """One line: the cluster's nodes, then the actors on each node that got any."""
        from pbml_control.ray_cluster import describe_cluster

        counts = Counter(node[:8] for node in self.nodes)
        per_node = ", ".join(f"{node}: {n}" for node, n in sorted(counts.items()))
        return (
            f"Ray cluster at {address}: {describe_cluster()}; {len(self.nodes)} actors on "
            f"{len(counts)} node{'s' * (len(counts) != 1)} ({per_node})"
        )

    def _get(self, futures: list) -> list[Any]:
        from ray.exceptions import RayActorError

        try:
            return self._ray.get(futures)
        except RayActorError as exc:
            raise WorkerLostError(f"Ray workers kept dying: {exc}") from None

    def run(self, jobs: Sequence[tuple]) -> list[Any]:
        """One job in flight per actor; each finished job's actor gets the next one.

        Each job carries only its own members' parameters (evaluator.py), so nothing is worth
        sharing through the object store. A job whose actor died is retried by Ray itself.
        """
        started = time.perf_counter()
        timed: list[Any] = [None] * len(jobs)
        queue = iter(enumerate(jobs))
        in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (job, actor)

        def hand_out(actor: int) -> None:
            item = next(queue, None)
            if item is not None:
                i, job = item
                in_flight[self._actors[actor].run.remote(*job)] = (i, actor)

        for actor in range(min(self.workers, len(jobs))):
            hand_out(actor)
        while in_flight:
            (ready,), _ = self._ray.wait(list(in_flight), num_returns=1)
            i, actor = in_flight.pop(ready)
            hand_out(actor)  # before the result is fetched, so the actor is not kept waiting
            timed[i] = (*self._get([ready])[0], actor)
        results, self.last_timing = _timing(timed, started, self.workers)
        return results

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._local is not None:
            self._local.close()
            self._local = None
        elif self._joined:
            self._ray.shutdown()
            self._joined = False
