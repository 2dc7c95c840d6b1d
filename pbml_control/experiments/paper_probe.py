"""Hard-Square reach probe: can a population's mutation function travel to a square?

Transfer success (a goal epoch with some member in a square) rewards coverage: fresh founders
spread uniformly along x put about N * 2 * half_width / spacing_x members (12.8 of 256) inside
a square at every shift without moving at all. The probe removes coverage by construction:

- start from the population a transfer would move (or fresh founders), each member keeping its
  mutation parameters (sigma, p), but with every member placed on one point: on a row (y = 0),
  halfway between two squares along x, i.e. ``spacing_x / 2`` from both nearest square centres;
- the goal does not move during the probe; the same selection as the transfer breeds;
- a probe **reaches** when some member is inside a square within ``generations`` generations
  (its generation of the first hit is censored there when it does not).

Only how far and in which directions the members' offspring jump decides the outcome, which is
what a learned mutation function should change (sigma_x about spacing_x, sigma_y small).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from pbml_control.config import RunConfig
from pbml_control.experiments.toy import Source
from pbml_control.loop import EvolutionState, evolve, initial_state
from pbml_control.registry import make_problem
from pbml_control.transfer import transfer_start

__all__ = ["PROBE_GOAL", "collapse", "probe_config", "reach_probe", "reach_probes"]

PROBE_GOAL = 0.0  # squares at x = 0 (mod spacing_x), rows at y = 0 (mod spacing_y)


def probe_config(hard: RunConfig, seed: int, generations: int) -> RunConfig:
    """``hard`` (a Hard-Square transfer config) with a fixed goal, ``generations`` long."""
    schedule = dataclasses.replace(hard.schedule, kind="static", goals=((PROBE_GOAL,),))
    return dataclasses.replace(
        hard, seed=seed, generations=generations, checkpoint_every=generations, schedule=schedule
    )


def collapse(state: EvolutionState, spacing_x: float) -> EvolutionState:
    """Every member moved to (PROBE_GOAL + spacing_x / 2, 0); mutation parameters kept."""
    pop = state.population
    params = np.zeros_like(pop.params)
    params[:, 0] = PROBE_GOAL + spacing_x / 2
    return dataclasses.replace(state, population=dataclasses.replace(pop, params=params))


def reach_probe(config: RunConfig, source: Source | None = None) -> dict[str, Any]:
    """One probe: ``hit_time`` (first generation with a member in a square, or
    ``config.generations`` when none) and ``reached``."""
    problem = make_problem(config.problem)
    best: list[float] = []
    try:
        start = (
            initial_state(config, problem) if source is None else transfer_start(*source, problem)
        )
        start = collapse(start, float(problem.config.spacing_x))
        evolve(
            start, config, problem, [lambda _s, row, _t: best.append(float(row["fitness_best"]))]
        )
    finally:
        problem.close()
    hits = np.flatnonzero(np.asarray(best) >= 1.0)
    reached = bool(len(hits))
    return {"hit_time": int(hits[0]) if reached else config.generations, "reached": reached}


def reach_probes(
    hard: RunConfig, seeds: list[int], generations: int, source: Source | None = None
) -> dict[str, Any]:
    """One probe per seed of the same start: ``probe_reach`` (share reached), and each probe's
    censored ``probe_times`` and ``probe_reached`` for the pooled statistics."""
    runs = [reach_probe(probe_config(hard, s, generations), source) for s in seeds]
    return {
        "probe_reach": float(np.mean([r["reached"] for r in runs])),
        "probe_times": [r["hit_time"] for r in runs],
        "probe_reached": [r["reached"] for r in runs],
    }
