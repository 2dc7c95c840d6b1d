"""Aggregation of ``scripts/reproduce_paper.py``'s runs: per condition, statistics over seeds
of every summary number and curve (the ``results`` that :mod:`.paper_claims` judges), and the
curve-shape numbers each Numeric-World run is summarised by."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pbml_control.experiments.paper_claims import (
    curve_entry,
    share_entry,
    stats_entry,
    time_entry,
)

__all__ = ["aggregate", "r_squared", "slope"]


# Pooled shares (Wilson) and censored times (Kaplan-Meier) of a transfer: per-seed key -> the
# key of the per-epoch or per-probe flags it pools over; time key -> (summary name, flags key).
SHARES = {"success": "hit_reached", "probe_reach": "probe_reached"}
TIMES = {
    "hit_times": ("gens_to_hit", "hit_reached"),
    "probe_times": ("gens_to_reach", "probe_reached"),
}
FLAGS = ("hit_reached", "probe_reached")


def slope(y: np.ndarray) -> float:
    """Least-squares slope of y against generation 0, 1, 2, ..."""
    return float(np.polyfit(np.arange(len(y)), y, 1)[0])


def r_squared(y: np.ndarray, degree: int) -> float:
    """Share of variance a polynomial of ``degree`` in the generation explains."""
    g = np.arange(len(y), dtype=np.float64) / max(len(y) - 1, 1)
    fit = np.polyval(np.polyfit(g, y, degree), g)
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - fit) ** 2)) / total if total > 0 else math.nan


def aggregate(grouped: dict[tuple[str, str], list[dict]], population_size: int) -> dict[str, Any]:
    """{experiment: {condition: {"summary": {...}, "curves": {...}}}} for the JSON file.

    Curves of the sweep conditions are left out (they are not plotted; the file stays small).
    """
    out: dict[str, dict[str, Any]] = {"numeric": {}, "square": {}, "transfer": {}}
    for (experiment, condition), runs in grouped.items():
        keep = not condition.startswith("pbml ")
        if experiment != "transfer":
            out[experiment][condition] = _entry(runs, "summary", "curves", keep, population_size)
        if "transfer" in runs[0]:
            out["transfer"][condition] = _entry(
                runs, "transfer", "transfer_curves", keep, population_size
            )
    return out


def _entry(
    runs: list[dict], part: str, curves: str, keep: bool, population_size: int
) -> dict[str, Any]:
    """Shares get a Wilson interval, censored times a Kaplan-Meier median, the rest t-CIs."""
    values = {key: [r[part][key] for r in runs] for key in runs[0][part]}
    summary: dict[str, Any] = {}
    for key, per_seed in values.items():
        if key in SHARES:
            reached = [hit for r in runs for hit in r[part][SHARES[key]]]
            summary[key] = share_entry(per_seed, sum(reached), len(reached))
        elif key.startswith("share_at_sigma_"):
            counts = [round(v * population_size) for v in per_seed]
            summary[key] = share_entry(per_seed, sum(counts), population_size * len(runs))
        elif key in TIMES:
            name, flags = TIMES[key]
            summary[name] = time_entry(
                [t for ts in per_seed for t in ts], [h for hs in values[flags] for h in hs]
            )
        elif key not in FLAGS:
            summary[key] = stats_entry(per_seed)
    out: dict[str, Any] = {"summary": summary}
    if keep:
        out["curves"] = {k: curve_entry(np.stack([r[curves][k] for r in runs]))
                         for k in runs[0][curves]}  # fmt: skip
    return out
