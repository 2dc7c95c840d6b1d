"""The paper's toy worlds: one seeded run with its curves, and the Square -> Hard Square step.

``scripts/reproduce_paper.py`` and ``scripts/experiment_beyond.py`` both evolve a population in
the Square World and move it, whole, to Hard Square. The move is
:func:`pbml_control.transfer.transfer_start`, the same as ``pbml transfer``: the source's
problem state comes along, birth generations shift so that generation 0 is the transfer, and
fitness memory earned under the source's goals is forgotten.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.config import RunConfig
from pbml_control.genome import module_series
from pbml_control.loop import EvolutionState, evolve, initial_state
from pbml_control.registry import make_problem
from pbml_control.transfer import transfer_start

__all__ = ["Source", "evolve_curves", "hit_summary", "square_transfer", "toy_config"]

Source = tuple[EvolutionState, dict[str, np.ndarray]]  # a finished run and its problem state


def toy_config(
    problem: str,
    *,
    seed: int,
    generations: int,
    population_size: int,
    scheme: str,
    schedule: str,
    period: int,
    init_sigma: float,
    tau: float,
    death_rate: float = 0.2,
    parent_pressure: float = 1.0,
    truncation_fraction: float = 0.2,
    order: str = "decoupled",
    overrides: dict[str, dict[str, Any]] | None = None,
) -> RunConfig:
    """A toy-world run; ``overrides`` sets further keys per config section."""
    data: dict[str, Any] = {
        "seed": seed,
        "generations": generations,
        "population_size": population_size,
        "checkpoint_every": generations,
        "problem": {"name": problem},
        "selection": {
            "scheme": scheme,
            "death_rate": death_rate,
            "parent_pressure": parent_pressure,
            "truncation_fraction": truncation_fraction,
        },
        "mutation": {"init_sigma": init_sigma, "tau": tau, "order": order},
        "schedule": {"kind": schedule, "period": period},
    }
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    return RunConfig.from_dict(data)


def evolve_curves(
    config: RunConfig, source: Source | None = None
) -> tuple[Source, dict[str, np.ndarray]]:
    """Evolve (from founders, or transferred from ``source``) and keep the curves we analyse:
    population mean and best fitness, and mean log sigma per module (``log_sigma_<module>``)."""
    problem = make_problem(config.problem)
    rows: list[dict[str, Any]] = []
    try:
        start = (
            initial_state(config, problem) if source is None else transfer_start(*source, problem)
        )
        final = evolve(start, config, problem, [lambda _s, metrics, _t: rows.append(metrics)])
        state = problem.state_dict()
    finally:
        problem.close()
    curves = {key: np.array([r[key] for r in rows]) for key in ("fitness_mean", "fitness_best")}
    for name, column in module_series(rows, "log_sigma").items():
        curves[f"log_sigma_{name}"] = np.array(column)
    return (final, state), curves


def hit_summary(curves: dict[str, np.ndarray], period: int) -> dict[str, Any]:
    """Hard Square per goal epoch: was a square hit (best fitness >= 1), and after how many
    generations (censored at ``period`` where it was not)?

    ``success`` is the share of epochs with a hit, ``mean_fitness`` the population mean over
    every generation; ``hit_times``/``hit_reached`` keep each epoch's censored time for the
    Kaplan-Meier and log-rank statistics.
    """
    best = curves["fitness_best"]
    epochs = [best[i : i + period] for i in range(0, len(best), period)]
    hits = [np.flatnonzero(e >= 1.0) for e in epochs]
    return {
        "success": float(np.mean([len(h) > 0 for h in hits])),
        "mean_fitness": float(np.mean(curves["fitness_mean"])),
        "hit_times": [int(h[0]) if len(h) else period for h in hits],
        "hit_reached": [bool(len(h)) for h in hits],
    }


def square_transfer(
    source_config: RunConfig, hard_config: RunConfig, period: int, window: int = 10
) -> dict[str, Any]:
    """Square World from founders, then its whole final population on Hard Square.

    ``summary``: :func:`hit_summary` of Hard Square, its mean best fitness, the Square World's
    final mean and best fitness (last ``window`` generations) and the last mean log sigma_x of
    both runs; ``curves``: the Hard-Square population mean fitness per generation.
    """
    source, curves = evolve_curves(source_config)
    _, tcurves = evolve_curves(hard_config, source)
    summary = hit_summary(tcurves, period)
    summary["best_fitness"] = float(np.mean(tcurves["fitness_best"]))
    summary["source_final_mean"] = float(curves["fitness_mean"][-window:].mean())
    summary["source_final_best"] = float(curves["fitness_best"][-window:].mean())
    summary["source_log_sigma_x"] = float(curves["log_sigma_x"][-1])
    summary["hard_log_sigma_x"] = float(tcurves["log_sigma_x"][-1])
    return {"summary": summary, "curves": {"fitness_mean": tcurves["fitness_mean"].tolist()}}
