"""The transfer figure's bands stay within what the seeds reached (with 2 seeds a t-interval
would cross 0, a return the task cannot give)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.axes
import numpy as np

from pbml_control.stats import mean_ci
from pbml_control.transfer_report import plot_transfer


def test_bands_are_the_seeds_range(tmp_path: Path, monkeypatch) -> None:
    seeds = {"0": [-10.0, -8.0, -6.0], "1": [-2.0, -1.5, -1.0]}
    lo, hi = zip(*[mean_ci([s[g] for s in seeds.values()])[1:] for g in range(3)], strict=True)
    assert max(hi) > 0  # what the old t-interval band drew
    curves = {"mean": [-6.0, -4.75, -3.5], "ci_low": list(lo), "ci_high": list(hi)}
    arm = {
        "curves": {"fitness_mean": curves, "fitness_best": curves},
        "seeds": {s: {"fitness_mean": v, "fitness_best": v} for s, v in seeds.items()},
        "summary": {"generations_to_threshold": {"km_times": [], "km_not_reached": [],
                                                 "reached": 0, "n": 2, "median": None}},
    }  # fmt: skip
    plan = {"target": "T", "goals": "heldout", "seeds": [0, 1], "generations": 2}
    data = {"plan": plan, "arms": {"pbml": arm}}
    drawn = []
    original = matplotlib.axes.Axes.fill_between

    def record(self, x, y1, y2=0, **kwargs):
        drawn.append((np.asarray(y1), np.asarray(y2)))
        return original(self, x, y1, y2, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "fill_between", record)
    plot_transfer(data, tmp_path)
    low, high = drawn[0]
    np.testing.assert_array_equal(low, [-10.0, -8.0, -6.0])
    np.testing.assert_array_equal(high, [-2.0, -1.5, -1.0])
