"""Running a transfer plan: each job adapts one arm on one seed; results are aggregated.

Jobs run in ``processes`` spawned processes through the experiments' one process map; a
:class:`~pbml_control.transfer_cache.JobCache` keeps each finished job, so a killed transfer
loses at most the jobs in flight. An optional progress object (``progress.JobProgress``) is
told of each generation of a job run in this process and of each job that finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pbml_control.checkpoint import load_checkpoint
from pbml_control.experiments.runs import process_map
from pbml_control.genome import module_series
from pbml_control.loop import EvolutionState, Metrics, evolve, initial_state
from pbml_control.problem import Problem
from pbml_control.registry import make_problem
from pbml_control.transfer_metrics import aggregate, finite_or_none
from pbml_control.transfer_plan import TransferJob, TransferPlan
from pbml_control.transfer_sources import transfer_state

__all__ = ["run_job", "run_plan", "start_state"]


def start_state(job: TransferJob, problem: Problem) -> EvolutionState:
    """Generation 0 of a job: the source's population (and problem state), or founders."""
    if job.source is None:
        return initial_state(job.config, problem)
    checkpoint = load_checkpoint(job.source.checkpoint_path)
    return transfer_state(checkpoint, problem, job.source.mutation, job.config)


def job_name(job: TransferJob) -> str:
    return f"{job.arm} seed {job.seed}"


def run_job(job: TransferJob, on_generation: Callable[[], None] | None = None) -> dict[str, Any]:
    """Adapt one arm on one seed; returns its curves (JSON-ready, NaN as None).
    ``on_generation`` is called after each generation (a progress bar)."""
    problem = make_problem(job.config.problem)
    rows: list[Metrics] = []

    def record(_state: EvolutionState, row: Metrics, _seconds: float) -> None:
        rows.append(row)
        if on_generation is not None:
            on_generation()

    try:
        state = start_state(job, problem)
        evolve(state, job.config, problem, [record])
    finally:
        problem.close()
    swapped = (
        {}
        if job.source is None or job.source.mutation is None
        else {"source_mutation": str(job.source.mutation)}
    )
    return {
        **swapped,
        "arm": job.arm,
        "seed": job.seed,
        "source_run": None if job.source is None else str(job.source.run_dir),
        "source_seed": None if job.source is None else job.source.config.seed,
        "source_generation": None if job.source is None else job.source.generation,
        "goals": [list(r["goal"]) for r in rows],  # type: ignore[arg-type]
        "fitness_mean": [finite_or_none(r["fitness_mean"]) for r in rows],
        "fitness_best": [finite_or_none(r["fitness_best"]) for r in rows],
        "fitness_median": [finite_or_none(r["fitness_median"]) for r in rows],
        "log_sigma": module_series(rows, "log_sigma"),
        "evaluations": len(rows),
        "members_evaluated": len(rows) * len(state.population),
        "env_steps": int(sum(float(r.get("env_steps", 0) or 0) for r in rows)),  # type: ignore[arg-type]
    }


def run_plan(
    plan: TransferPlan, processes: int = 1, cache: Any = None, progress: Any = None
) -> dict[str, Any]:
    """Run every job (in ``processes`` processes; results do not depend on it) and aggregate.

    ``cache`` (a :class:`~pbml_control.transfer_cache.JobCache`) supplies finished jobs and
    keeps each new one as soon as it finishes, so a killed transfer loses at most the jobs in
    flight. ``progress`` is a factory ``(total, done, jobs, reused) -> JobProgress`` (or None).
    """
    results: dict[int, dict[str, Any]] = {}
    for i, job in enumerate(plan.jobs):
        found = cache.load(job) if cache is not None else None
        if found is not None:
            results[i] = found
    todo = [i for i in range(len(plan.jobs)) if i not in results]
    bar = None
    if progress is not None:
        total = sum(job.config.generations for job in plan.jobs)
        done = sum(plan.jobs[i].config.generations for i in results)
        bar = progress(total, done, len(plan.jobs), len(results))
    here = processes <= 1 or len(todo) <= 1  # process_map runs the jobs in this process

    def run_here(job: TransferJob) -> dict[str, Any]:
        if bar is not None:
            bar.start(job_name(job))
        return run_job(job, bar.generation if bar is not None else None)

    def keep(index: int, result: dict[str, Any]) -> None:
        i = todo[index]
        results[i] = result
        if cache is not None:
            cache.save(plan.jobs[i], result)
        if bar is not None:
            bar.finished(job_name(plan.jobs[i]), 0 if here else plan.jobs[i].config.generations)

    jobs = [plan.jobs[i] for i in todo]
    try:
        process_map(run_here if here else run_job, jobs, processes, keep)
    finally:
        if bar is not None:
            bar.close()
    return aggregate(plan, [results[i] for i in range(len(plan.jobs))])
