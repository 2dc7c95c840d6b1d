"""Comparison of the operators experiment (``scripts/experiment_beyond.py``): each arm's
Square-World numbers over seeds, then every operator arm against PBML alone, paired by seed,
with its effect per metric and the verdicts. Numbers in, numbers out, so ``--replot`` compares
again from beyond.json without running anything."""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.experiments.beyond_report import ROBOT_METRICS, SQUARE_METRICS, verdicts
from pbml_control.experiments.compare import direction, paired_epochs, paired_metric, paired_time
from pbml_control.experiments.paper_claims import share_entry, time_entry
from pbml_control.stats import mean_ci, summary

__all__ = ["EFFECT", "compare", "slim_robot", "square_arm", "square_summary"]


def square_arm(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One arm of the Square -> Hard Square transfer, from its per-seed runs in seed order."""
    keys = [*(k for k, _, _ in SQUARE_METRICS if k != "gens_to_hit"), "hit_times", "hit_reached"]
    values = {key: [r["summary"][key] for r in runs] for key in keys}
    m, lo, hi = mean_ci(np.array([r["curves"]["fitness_mean"] for r in runs]))
    return {
        "summary": square_summary(values),
        "per_seed": values,
        "curve_fitness_mean": {"mean": m.tolist(), "lo": lo.tolist(), "hi": hi.tolist()},
    }


def square_summary(values: dict[str, list[Any]]) -> dict[str, Any]:
    """Shares with a Wilson interval, times to a hit censored, the rest t-intervals."""
    times = [t for ts in values["hit_times"] for t in ts]
    reached = [r for rs in values["hit_reached"] for r in rs]
    out = {key: summary(v) for key, v in values.items() if not key.startswith("hit_")}
    out["success"] = share_entry(values["success"], sum(reached), len(reached))
    out["gens_to_hit"] = time_entry(times, reached)
    return out


EFFECT = {1: "helps", -1: "hurts", 0: "no detectable difference", None: "undetermined"}


def compare(data: dict[str, Any]) -> None:
    """Every arm but pbml against pbml, per metric, with its effect; then the verdicts."""
    sq, tr = data["square"]["arms"], data["robot"]["arms"]
    data["comparison"] = {"square": {}, "robot": {}}
    for arm in data["args"]["arms"]:
        if arm == "pbml":
            continue
        a, b = sq[arm]["per_seed"], sq["pbml"]["per_seed"]
        out: dict[str, Any] = {}
        for key, _, higher in SQUARE_METRICS:
            if key == "gens_to_hit":
                stat = paired_epochs(*(list(zip(x["hit_times"], x["hit_reached"], strict=True))
                                       for x in (a, b)))  # fmt: skip
            else:
                stat = paired_metric(a[key], b[key])
            out[key] = {**stat, "effect": EFFECT[direction(stat, higher)]}
        data["comparison"]["square"][arm] = out
        ma, mb = (
            [tr[x]["seeds"][s]["metrics"] for s in sorted(tr[x]["seeds"], key=int)]
            for x in (arm, "pbml")
        )
        out = {}
        for key, _, higher in ROBOT_METRICS:
            if key == "generations_to_threshold":
                stat = paired_time(ma, mb)
            else:
                stat = paired_metric([m[key] for m in ma], [m[key] for m in mb])
            out[key] = {**stat, "effect": EFFECT[direction(stat, higher)]}
        data["comparison"]["robot"][arm] = out
    data["verdicts"] = verdicts(data)


def slim_robot(transfer: dict[str, Any]) -> dict[str, Any]:
    """The held-out goal of each seed; drops per-seed sigma, median and goal lists from the
    robot transfer in place (beyond.json keeps per-seed metrics and mean curves: its size)."""
    goals = {s: run["goals"][0] for s, run in transfer["arms"]["pbml"]["seeds"].items()}
    for entry in transfer["arms"].values():
        for seed_run in entry["seeds"].values():
            for key in ("log_sigma", "fitness_median", "goals"):
                seed_run.pop(key, None)
    return goals
