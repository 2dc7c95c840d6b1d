"""One Numeric-World run of the paper reproduction, summarised in log sigma and sigma units.

R is the population mean of log sigma_x. Under the log-normal sigma update a steady drift moves
log sigma linearly, so the step size grows exponentially; under the additive update
(``mutation.sigma_update = "additive"``) a steady drift moves sigma itself linearly. Each run is
therefore summarised in both units: R (mean log sigma_x) and R_sigma (mean sigma_x), with their
least-squares slopes. Both updates clip sigma to [e^log_sigma_min, e^log_sigma_max], and
members sitting at the ceiling cannot rise further, which flattens a full-run slope; so each
run also reports the share of its final population at the ceiling and at the floor, and the
slopes over the generations before the ceiling binds (the *pre-cap* window: the generations
before the first one in which at least ``CAP_SHARE`` of the population sits at the ceiling;
the whole run when that never happens).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.config import RunConfig
from pbml_control.experiments.paper_results import r_squared, slope
from pbml_control.loop import evolve, initial_state
from pbml_control.registry import make_problem

__all__ = ["CAP_SHARE", "numeric_run"]

CAP_SHARE = 0.01  # the ceiling "binds" once at least 1% of the population sits on it


def numeric_run(config: RunConfig, final_window: int) -> dict[str, Any]:
    """Evolve one Numeric-World run; ``{"summary": {...}, "curves": {...}}``."""
    mut = config.mutation
    series: dict[str, list[float]] = {k: [] for k in ("R", "R_sigma", "at_cap", "at_floor")}
    series |= {"fitness_mean": [], "fitness_best": []}

    def at_bounds(log_sigma_x: np.ndarray) -> tuple[float, float]:
        return (float(np.mean(log_sigma_x >= mut.log_sigma_max - 1e-9)),
                float(np.mean(log_sigma_x <= mut.log_sigma_min + 1e-9)))  # fmt: skip

    def record(state: Any, row: dict[str, Any], _seconds: float) -> None:
        """The generation's metrics row describes the population it ranked (state.last)."""
        cap, floor = at_bounds(state.last.population.log_sigma[:, 0])
        series["R"].append(float(row["log_sigma/x"]))
        series["R_sigma"].append(float(row["sigma/x"]))
        series["at_cap"].append(cap)
        series["at_floor"].append(floor)
        series["fitness_mean"].append(float(row["fitness_mean"]))
        series["fitness_best"].append(float(row["fitness_best"]))

    problem = make_problem(config.problem)
    try:
        final = evolve(initial_state(config, problem), config, problem, [record])
    finally:
        problem.close()
    final_cap, final_floor = at_bounds(final.population.log_sigma[:, 0])  # the run's last state
    curves = {k: np.asarray(v) for k, v in series.items()}
    binds = np.flatnonzero(curves["at_cap"] >= CAP_SHARE)
    precap = int(binds[0]) if len(binds) else len(curves["R"])
    window = max(precap, 2)  # a slope needs two points
    fit, w = curves["fitness_mean"], final_window
    summary = {
        "R_slope": slope(curves["R"]),
        "R_final": float(curves["R"][-1]),
        "R_sigma_slope": slope(curves["R_sigma"]),
        "R_sigma_final": float(curves["R_sigma"][-1]),
        "precap_generations": precap,
        "R_slope_precap": slope(curves["R"][:window]),
        "R_sigma_slope_precap": slope(curves["R_sigma"][:window]),
        "final_mean": float(fit[-w:].mean()),
        "final_best": float(curves["fitness_best"][-w:].mean()),
        "r2_linear": r_squared(fit, 1),
        "r2_quadratic": r_squared(fit, 2),
        "share_at_sigma_ceiling": final_cap,
        "share_at_sigma_floor": final_floor,
    }
    return {"summary": summary, "curves": curves}
