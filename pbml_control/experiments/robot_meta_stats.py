"""The robot meta-learning experiment's endpoints and verdicts, from run folders and transfer
results, by the rules that robot_meta_design fixes before the runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.experiments.compare import direction, paired_metric
from pbml_control.experiments.robot_meta_design import CONTROLS_C3, CONTROLS_C4
from pbml_control.genome import module_series
from pbml_control.runner import read_metrics
from pbml_control.stats import summary

__all__ = [
    "best_fixed_sigma",
    "c3_verdict",
    "c4_verdict",
    "convergence",
    "run_endpoints",
    "sigma_verdict",
    "transfer_gain",
]

SUPPORTED, NOT_SHOWN, CONTRADICTED = "supported", "not shown", "contradicted"


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def run_endpoints(run_dir: str | Path, period: int, best_sigma: float | None) -> dict[str, Any]:
    """One run's numbers: normalised mean/best fitness over all generations, the final log
    sigma per module (members' mean, over the last ``period`` generations), its distance from
    log ``best_sigma``, and the final per-module mutation probability."""
    rows = read_metrics(run_dir)
    log_sigma = module_series(rows, "log_sigma")
    final = {m: float(np.mean(v[-period:])) for m, v in log_sigma.items()}
    out: dict[str, Any] = {
        "generations": len(rows),
        "norm_mean": _mean([r.get("fitness_mean_normalised") for r in rows]),
        "norm_best": _mean([r.get("fitness_best_normalised") for r in rows]),
        "final_log_sigma": final,
        "final_log_sigma_mean": float(np.mean(list(final.values()))),
        "log_sigma_curve": {m: v[:: max(1, len(v) // 100)] for m, v in log_sigma.items()},
    }
    if best_sigma is not None:
        target = math.log(best_sigma)
        out["distance_to_best"] = float(np.mean([abs(v - target) for v in final.values()]))
    population = load_checkpoint(latest_checkpoint(Path(run_dir) / "checkpoints")).population
    p = 1.0 / (1.0 + np.exp(-population.logit_p))
    names = population.layout.names
    out["final_p"] = dict(zip(names, p.mean(axis=0).tolist(), strict=True))
    # Post hoc: a module that rarely mutates (p near 0) does not express its sigma, which then
    # drifts unselected; log(sigma * sqrt(p)), the log root-mean-square step per parameter and
    # birth, is what selection acts on (members' mean, final population).
    step = population.log_sigma + 0.5 * np.log(np.maximum(p, 1e-300))
    out["final_log_step"] = dict(zip(names, step.mean(axis=0).tolist(), strict=True))
    out["final_log_step_mean"] = float(step.mean())
    return out


def best_fixed_sigma(pilot: dict[str, list[dict[str, Any]]], grid: dict[str, float]) -> float:
    """s*: the grid sigma whose fixed-sigma runs have the highest normalised mean fitness
    (mean over pilot seeds)."""
    scores = {label: _mean([r["norm_mean"] for r in pilot[label]]) for label in grid}
    scored = {k: v for k, v in scores.items() if v is not None}
    if not scored:
        raise ValueError("no pilot run has a normalised fitness")
    return grid[max(scored, key=lambda k: scored[k])]


def _verdict(directions: list[int | None]) -> str:
    """The pre-registered rule: supported when every comparison is clearly for PBML,
    contradicted when any is clearly against it, else not shown."""
    if directions and all(d == 1 for d in directions):
        return SUPPORTED
    return CONTRADICTED if any(d == -1 for d in directions) else NOT_SHOWN


def _paired(runs: dict[str, list[dict[str, Any]]], a: str, b: str, key: str) -> dict[str, Any]:
    return paired_metric([r.get(key) for r in runs[a]], [r.get(key) for r in runs[b]])


def sigma_verdict(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """PBML against the shuffle null: the distance of the final log sigma from log s*
    (negative = PBML closer), at each start."""
    starts = {
        s: _paired(runs, f"pbml_{s}", f"shuffle_{s}", "distance_to_best") for s in ("low", "high")
    }
    dirs = [direction(v, higher_is_better=False) for v in starts.values()]
    return {"verdict": _verdict(dirs), "pbml_minus_shuffle": starts}


def convergence(runs: dict[str, list[dict[str, Any]]], start_gap: float) -> dict[str, Any]:
    """Per kind: final mean log sigma of the high start minus the low start, paired by seed;
    converged when the interval's upper end is below half of ``start_gap``."""
    out = {}
    for kind in ("pbml", "coupled", "shuffle", "truncation"):
        if f"{kind}_low" not in runs or f"{kind}_high" not in runs:
            continue
        gap = _paired(runs, f"{kind}_high", f"{kind}_low", "final_log_sigma_mean")
        converged = gap["hi"] is not None and gap["hi"] < start_gap / 2
        out[kind] = {**gap, "converged": converged}
    return {"start_gap": start_gap, "gaps": out}


def c3_verdict(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """PBML minus each control facing the same goals, normalised mean fitness, each start."""
    table: dict[str, dict[str, Any]] = {}
    dirs = []
    for start in ("low", "high"):
        for control in CONTROLS_C3:
            other = control if control == "fixed_best" else f"{control}_{start}"
            if other not in runs:
                continue
            stat = _paired(runs, f"pbml_{start}", other, "norm_mean")
            table[f"{start}: pbml - {other}"] = {
                "mean_fitness": stat,
                "best_fitness": _paired(runs, f"pbml_{start}", other, "norm_best"),
            }
            dirs.append(direction(stat))
    return {"verdict": _verdict(dirs), "comparisons": table}


def c4_verdict(transfers: dict[str, dict[str, Any]], reference: str = "pbml_low") -> dict[str, Any]:
    """Transfer with sigma frozen, per target: PBML's area under the mean-fitness curve minus
    each control's (``transfers``: target -> aggregated transfer JSON)."""
    table = _c4_table(transfers, reference, lambda m: m["auc_mean"])
    return {"verdict": _verdict([direction(s) for s in table.values()]), "comparisons": table}


def transfer_gain(
    transfers: dict[str, dict[str, Any]], reference: str = "pbml_low"
) -> dict[str, dict[str, Any]]:
    """Exploratory, not pre-registered: PBML's gain during the transfer (final minus zero-shot
    population mean) minus each control's. The area mixes this gain with the level an arm
    starts at; the gain alone is how much the 30 generations of adaptation added."""
    return _c4_table(transfers, reference, lambda m: m["final_mean"] - m["zero_shot_mean"])


def _c4_table(
    transfers: dict[str, dict[str, Any]],
    reference: str,
    metric: Callable[[dict[str, Any]], float],
) -> dict[str, dict[str, Any]]:
    """``"<target>: pbml - <control>"`` -> the paired difference of ``metric`` over seeds."""
    table: dict[str, dict[str, Any]] = {}
    for target, data in transfers.items():
        arms = data["arms"]
        for control in CONTROLS_C4:
            other = control if control in arms else f"{control}_low"
            if other not in arms or reference not in arms:
                continue
            a, b = _seed_metrics(arms[reference]), _seed_metrics(arms[other])
            table[f"{target}: pbml - {other}"] = paired_metric(
                [metric(m) for m in a], [metric(m) for m in b]
            )
    return table


def _seed_metrics(arm: dict[str, Any]) -> list[dict[str, Any]]:
    seeds = arm["seeds"]
    return [seeds[s]["metrics"] for s in sorted(seeds, key=int)]


#: the run endpoints summarised per arm, in the order the report's main table shows them
SUMMARY_KEYS = (
    "norm_mean",
    "norm_best",
    "final_log_sigma_mean",
    "distance_to_best",
    "final_log_step_mean",
)


def arm_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per arm: mean and interval over seeds of the run endpoints."""
    return {
        arm: {k: summary([r.get(k) for r in rows]) for k in SUMMARY_KEYS}
        for arm, rows in runs.items()
    }
