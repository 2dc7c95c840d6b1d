"""Transfer metrics: per-seed adaptation numbers, thresholds, and their means over seeds.

Definitions (threshold, generations to threshold, fitness at k, area under the curve) are in
transfer.py's module docstring; this module only computes them from finished jobs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pbml_control.stats import kaplan_meier, summary, wilson_interval

if TYPE_CHECKING:
    from pbml_control.transfer import TransferPlan

TIME = "generations_to_threshold"  # censored: N + 1 stands for "not reached by N"
FRESH = "fresh"  # the arm of fresh random genomes, the control every transfer can have

__all__ = [
    "FRESH",
    "METRICS",
    "aggregate",
    "finite_or_none",
    "mean_ci",
    "reaggregate",
    "seed_metrics",
    "time_summary",
]

# (key, heading) of each per-seed metric, in table order.
METRICS: tuple[tuple[str, str], ...] = (
    ("zero_shot_mean", "zero-shot mean"),
    ("zero_shot_best", "zero-shot best"),
    ("generations_to_threshold", "gens to threshold"),
    ("mean_at_k", "mean @ k"),
    ("best_at_k", "best @ k"),
    ("final_mean", "final mean"),
    ("final_best", "final best"),
    ("auc_mean", "AUC (mean)"),
)


def finite_or_none(value: Any) -> float | None:
    """A float for JSON: None where the value is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def mean_ci(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and 95% t-interval over seeds (``ci_low``/``ci_high``); None/NaN left out."""
    return summary(values, "ci_low", "ci_high")


def time_summary(times: Sequence[int], reached: Sequence[bool]) -> dict[str, Any]:
    """Generations to threshold over seeds, censored: a seed that never reached the threshold
    only says "later than the horizon", so no mean is taken. The Kaplan-Meier median (None
    when fewer than half the seeds reached it) and the share reached, with its Wilson interval.
    """
    km = kaplan_meier(times, reached)
    share = wilson_interval(km["reached"], km["n"])
    return {
        "median": km["median"],
        "reached": km["reached"],
        "n": km["n"],
        "reached_share": finite_or_none(share.mean),
        "reached_ci_low": finite_or_none(share.lo),
        "reached_ci_high": finite_or_none(share.hi),
        "km_times": km["times"],
        "km_not_reached": km["survival"],
    }


def _thresholds(plan: TransferPlan, results: Sequence[dict[str, Any]]) -> dict[int, float]:
    """Per-seed thresholds on the mean fitness (see the module docstring)."""
    if plan.threshold is not None:
        return {seed: float(plan.threshold) for seed in plan.seeds}
    out = {}
    for seed in plan.seeds:
        runs = [r for r in results if r["seed"] == seed]
        starts = [r["fitness_mean"][0] for r in runs if r["arm"] == FRESH]
        if not starts:
            starts = [min(_values(r["fitness_mean"][:1]), default=math.nan) for r in runs]
        start = min((s for s in starts if s is not None and math.isfinite(s)), default=math.nan)
        best = max(max(_values(r["fitness_mean"]), default=math.nan) for r in runs)
        # No arm improved on F0: no threshold can tell the arms apart, so none reaches one.
        out[seed] = start + plan.threshold_fraction * (best - start) if best > start else math.nan
    return out


def _values(curve: Sequence[float | None]) -> list[float]:
    return [v for v in curve if v is not None]


def seed_metrics(run: dict[str, Any], threshold: float, k: int) -> dict[str, Any]:
    """The per-seed numbers of one arm (definitions in the module docstring)."""
    mean, best = run["fitness_mean"], run["fitness_best"]
    n = len(mean) - 1
    ok = math.isfinite(threshold)
    hit = next((g for g, v in enumerate(mean) if ok and v is not None and v >= threshold), None)
    return {
        "threshold": finite_or_none(threshold),
        "zero_shot_mean": mean[0],
        "zero_shot_best": best[0],
        "generations_to_threshold": n + 1 if hit is None else hit,
        "reached_threshold": hit is not None,
        "mean_at_k": mean[k],
        "best_at_k": best[k],
        "final_mean": mean[n],
        "final_best": best[n],
        "auc_mean": float(np.mean(_values(mean))) if _values(mean) else None,
    }


def _curve_band(curves: list[list[float | None]]) -> dict[str, list[float | None]]:
    stats = [mean_ci(list(col)) for col in zip(*curves, strict=True)]
    return {key: [s[key] for s in stats] for key in ("mean", "ci_low", "ci_high")}


def aggregate(plan: TransferPlan, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """transfer.json's content: the plan, raw curves per arm and seed, metrics and summaries."""
    thresholds = _thresholds(plan, results)
    arms: dict[str, Any] = {}
    for arm in plan.arms:
        runs = sorted((r for r in results if r["arm"] == arm), key=lambda r: r["seed"])
        per_seed = {}
        for run in runs:
            per_seed[str(run["seed"])] = {
                **run,
                "metrics": seed_metrics(run, thresholds[run["seed"]], plan.k),
            }
        metrics = [s["metrics"] for s in per_seed.values()]
        stats = {key: mean_ci([m[key] for m in metrics]) for key, _ in METRICS if key != TIME}
        stats[TIME] = time_summary(
            [m[TIME] for m in metrics], [m["reached_threshold"] for m in metrics]
        )
        stats["reached_threshold"] = sum(m["reached_threshold"] for m in metrics)
        arms[arm] = {
            "summary": stats,
            "curves": {
                "fitness_mean": _curve_band([r["fitness_mean"] for r in runs]),
                "fitness_best": _curve_band([r["fitness_best"] for r in runs]),
            },
            "seeds": per_seed,
        }
    budgets = {a: sorted({s["members_evaluated"] for s in arms[a]["seeds"].values()}) for a in arms}
    return {
        "plan": plan.describe(),
        "thresholds": {str(s): finite_or_none(t) for s, t in thresholds.items()},
        "budget_members_evaluated": budgets,
        "arms": arms,
    }


class SavedPlan:
    """A plan as ``transfer.json`` describes it: enough to aggregate its saved jobs again
    (a report rebuilt from the file, or the same runs at another threshold fraction)."""

    def __init__(self, description: dict[str, Any], threshold_fraction: float | None = None):
        self.description = dict(description)
        if threshold_fraction is not None:
            self.description["threshold_fraction"] = threshold_fraction
        self.seeds = tuple(self.description["seeds"])
        self.k = self.description["k"]
        self.threshold = self.description["threshold"]
        self.threshold_fraction = self.description["threshold_fraction"]
        self.arms = tuple(self.description["arms"])

    def describe(self) -> dict[str, Any]:
        return dict(self.description)


def reaggregate(saved: dict[str, Any], threshold_fraction: float | None = None) -> dict[str, Any]:
    """:func:`aggregate` again from a saved transfer (its per-seed runs), no evolution."""
    raw = [
        {key: value for key, value in run.items() if key != "metrics"}
        for entry in saved["arms"].values()
        for run in entry["seeds"].values()
    ]
    return aggregate(SavedPlan(saved["plan"], threshold_fraction), raw)  # type: ignore[arg-type]
