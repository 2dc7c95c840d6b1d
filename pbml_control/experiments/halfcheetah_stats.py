"""Statistics of ``scripts/experiment_halfcheetah.py`` over seeds, per scheme: fitness late
and overall, adaptation after each goal shift, sigma; paired differences from PBML. Kept apart
from the script so that it reads as question, arms and figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pbml_control.stats import mean_ci as interval
from pbml_control.stats import paired_difference

__all__ = ["mean_ci", "paired", "rounded", "shift_table", "summarise"]


def mean_ci(values: Sequence[float]) -> dict[str, Any]:
    """Mean and 95% Student-t interval over seeds (``pbml_control.stats``), and the values."""
    m, lo, hi = (float(x) for x in interval(np.asarray(values, dtype=np.float64)))
    return {"mean": m, "lo": lo, "hi": hi, "per_seed": np.asarray(values, float).tolist()}


def shift_table(run: dict[str, Any], period: int, adapt_k: int) -> list[dict[str, Any]]:
    """Per shift: goal, fitness at the shift, k generations later and at the epoch's end."""
    mean = np.asarray(run["fitness_mean"])
    best = np.asarray(run["fitness_best"])
    k = max(1, min(adapt_k, period - 1))
    out = []
    for g in np.flatnonzero(np.asarray(run["goal_shift"]) == 1):
        end = min(g + period - 1, len(mean) - 1)
        if end <= g:
            continue
        out.append(
            {
                "generation": int(g),
                "goal": run["goal"][g],
                "mean_start": float(mean[g]),
                "mean_end": float(mean[end]),
                "gain_mean_k": float(mean[min(g + k, end)] - mean[g]),
                "gain_best_k": float(best[min(g + k, end)] - best[g]),
                "improved": bool(mean[end] > mean[g]),
            }
        )
    return out


def summarise(
    runs: list[dict[str, Any]], generations: int, period: int, adapt_k: int
) -> dict[str, Any]:
    """Per-scheme numbers over seeds: final and overall fitness, adaptation, sigma.

    Adds each run's ``shifts`` table to the run (the report lists them).
    """
    tail = max(1, generations // 4)
    per_seed: dict[str, list[float]] = {}
    improved = total = 0
    for run in runs:
        shifts = shift_table(run, period, adapt_k)
        run["shifts"] = shifts
        improved += sum(s["improved"] for s in shifts)
        total += len(shifts)
        mean, best = np.asarray(run["fitness_mean"]), np.asarray(run["fitness_best"])
        norm_mean, norm_best = np.asarray(run["norm_mean"]), np.asarray(run["norm_best"])
        values = {
            "mean_last25": float(np.nanmean(mean[-tail:])),
            "mean_all": float(np.nanmean(mean)),
            "best_last25": float(np.nanmean(best[-tail:])),
            "best_all": float(np.nanmean(best)),
            "norm_mean_last25": float(np.nanmean(norm_mean[-tail:])),
            "norm_best_last25": float(np.nanmean(norm_best[-tail:])),
            "adapt_gain_mean": float(np.mean([s["gain_mean_k"] for s in shifts] or [math.nan])),
            "adapt_gain_best": float(np.mean([s["gain_best_k"] for s in shifts] or [math.nan])),
            "improved_fraction": sum(s["improved"] for s in shifts) / max(1, len(shifts)),
            # does adaptation get faster? gain after shifts in the first vs second half
            "adapt_gain_early": _mean_gain(shifts, lambda g: g < generations / 2),
            "adapt_gain_late": _mean_gain(shifts, lambda g: g >= generations / 2),
        }
        for m, curve in run["sigma"].items():
            values[f"sigma_final/{m}"] = float(curve[-1])
        for key, value in values.items():
            per_seed.setdefault(key, []).append(value)
    summary = {key: mean_ci(v) for key, v in per_seed.items()}
    summary["improved_shifts"] = {"improved": improved, "shifts": total}  # report() adds its share
    summary["wall_s"] = mean_ci([r["wall_s"] for r in runs])
    summary["env_steps_total"] = [r["env_steps_total"] for r in runs]
    return summary


def _mean_gain(shifts: list[dict[str, Any]], keep: Callable[[int], bool]) -> float:
    gains = [s["gain_mean_k"] for s in shifts if keep(s["generation"])]
    return float(np.mean(gains)) if gains else math.nan


def paired(a: dict[str, Any], b: dict[str, Any], key: str) -> dict[str, Any]:
    """PBML minus a baseline, seed by seed (same goals and episode seeds), for one summary key."""
    diffs, _ = paired_difference(a[key]["per_seed"], b[key]["per_seed"])
    return mean_ci(diffs)


def rounded(value: Any) -> Any:
    """Rounded floats (NaN as null) so the JSON stays readable and valid."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 5)
    return value
