"""Running a transfer plan: each job adapts one arm on one seed; results are aggregated.

Jobs run in ``processes`` spawned processes through the experiments' one process map; a
:class:`~pbml_control.transfer_cache.JobCache` keeps each finished job, so a killed transfer
loses at most the jobs in flight.
"""

from __future__ import annotations

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
    return transfer_state(load_checkpoint(job.source.checkpoint_path), problem)


def run_job(job: TransferJob) -> dict[str, Any]:
    """Adapt one arm on one seed; returns its curves (JSON-ready, NaN as None)."""
    problem = make_problem(job.config.problem)
    rows: list[Metrics] = []
    try:
        state = start_state(job, problem)
        evolve(state, job.config, problem, [lambda _s, row, _t: rows.append(row)])
    finally:
        problem.close()
    return {
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


def run_plan(plan: TransferPlan, processes: int = 1, cache: Any = None) -> dict[str, Any]:
    """Run every job (in ``processes`` processes; results do not depend on it) and aggregate.

    ``cache`` (a :class:`~pbml_control.transfer_cache.JobCache`) supplies finished jobs and
    keeps each new one as soon as it finishes, so a killed transfer loses at most the jobs in
    flight.
    """
    results: dict[int, dict[str, Any]] = {}
    for i, job in enumerate(plan.jobs):
        found = cache.load(job) if cache is not None else None
        if found is not None:
            results[i] = found
    todo = [i for i in range(len(plan.jobs)) if i not in results]

    def keep(index: int, result: dict[str, Any]) -> None:
        i = todo[index]
        results[i] = result
        if cache is not None:
            cache.save(plan.jobs[i], result)

    process_map(run_job, [plan.jobs[i] for i in todo], processes, on_result=keep)
    return aggregate(plan, [results[i] for i in range(len(plan.jobs))])
