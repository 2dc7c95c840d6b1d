"""Transfer metrics: per-seed adaptation numbers, thresholds, and their means over seeds.

Definitions (threshold, generations to threshold, fitness at k, area under the curve) are in
transfer.py's module docstring; this module only computes them from finished jobs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pbml_control.stats import t975

if TYPE_CHECKING:
    from pbml_control.transfer import TransferPlan

FRESH = "fresh"  # the arm of fresh random genomes, the control every transfer can have

__all__ = ["FRESH", "METRICS", "aggregate", "finite_or_none", "mean_ci", "seed_metrics"]

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
    """Mean and 95% t-interval over seeds; missing values (None/NaN) are left out."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = float(arr.mean())
    if n < 2:
        return {"mean": mean, "ci_low": None, "ci_high": None, "n": n}
    half = t975(n - 1) * float(arr.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


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
        summary = {
            key: mean_ci([s["metrics"][key] for s in per_seed.values()]) for key, _ in METRICS
        }
        summary["reached_threshold"] = sum(
            s["metrics"]["reached_threshold"] for s in per_seed.values()
        )
        arms[arm] = {
            "summary": summary,
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
