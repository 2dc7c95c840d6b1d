"""Figures of the operators experiment (``scripts/experiment_beyond.py``), from beyond.json's
numbers only: per-arm bars and curves of the Square -> Hard Square transfer, and every arm's
paired difference from PBML alone on the primary metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.experiments.beyond_report import PRIMARY, ROBOT_METRICS, SQUARE_METRICS
from pbml_control.plotting import save_figure
from pbml_control.transfer_report import plot_transfer

__all__ = ["plot_all", "plot_differences", "plot_square"]


def plot_all(data: dict[str, Any], out_dir: Path) -> list[Path]:
    """Every figure of the report: differences, the Square transfer, the robot transfer."""
    figures = [plot_differences(data, out_dir), plot_square(data, out_dir)]
    return figures + plot_transfer(data["robot"], out_dir, prefix="beyond_robot")


def plot_square(data: dict[str, Any], out_dir: Path) -> Path:
    """beyond_square.png: bars per arm (4 metrics) and the Hard-Square mean-fitness curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = data["square"]["arms"]
    colors = plt.get_cmap("tab10")
    fig, grid = plt.subplots(2, 3, figsize=(15, 8))
    axes = grid.ravel()
    bars = [m for m in SQUARE_METRICS if not m[0].startswith("source_")]
    for ax, (key, title, _) in zip(axes[:5], bars, strict=True):
        stats = [arms[a]["summary"][key] for a in arms]
        if key == "gens_to_hit":  # censored: the Kaplan-Meier median, no interval
            stats = [{"mean": s["median"], "lo": None, "hi": None} for s in stats]
            title += " (median)"
        mean = np.array([np.nan if s["mean"] is None else s["mean"] for s in stats], dtype=float)
        lo = np.array([np.nan if s["lo"] is None else s["lo"] for s in stats])
        hi = np.array([np.nan if s["hi"] is None else s["hi"] for s in stats])
        err = np.nan_to_num(np.vstack([mean - lo, hi - mean]))
        ax.bar(range(len(arms)), mean, yerr=err, capsize=3, color=[colors(i) for i in range(6)])
        ax.set_xticks(range(len(arms)), list(arms), rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
    period = data["args"]["square_period"]
    for i, (arm, entry) in enumerate(arms.items()):
        band = entry["curve_fitness_mean"]
        mean = np.convolve(band["mean"], np.ones(period) / period, mode="valid")
        axes[5].plot(np.arange(len(mean)) + period - 1, mean, color=colors(i), lw=1.3, label=arm)
    axes[5].set(title=f"Hard Square mean fitness ({period}-gen moving avg)", xlabel="generation")
    axes[5].legend(fontsize=7)
    fig.suptitle(
        f"Square World -> Hard Square, {len(data['square']['seeds'])} seeds, mean and 95% t-CI"
    )
    fig.tight_layout()
    path = out_dir / "beyond_square.png"
    save_figure(fig, path, dpi=100)
    return path


def _point(d: dict[str, Any]) -> tuple[float | None, str]:
    """Where a comparison sits on its axis: the mean difference, or for a censored time the
    log-rank z (< 0: the arm hits sooner) or the seeds on which the arm was first minus PBML's."""
    if "z" in d:
        return d["z"], " (log-rank z)"
    if "a_first" in d:
        return d["b_first"] - d["a_first"], " (seeds PBML first - arm first)"
    return d["mean"], ""


def plot_differences(data: dict[str, Any], out_dir: Path) -> Path:
    """beyond_differences.png: paired differences vs PBML alone, primary metrics, both transfers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = {k: h for k, h, _ in (*SQUARE_METRICS, *ROBOT_METRICS)}
    fig, axes = plt.subplots(2, 3, figsize=(15, 6.5))
    for row, part in enumerate(("square", "robot")):
        comparison = data["comparison"][part]
        arms = list(comparison)
        for ax, key in zip(axes[row], PRIMARY[part], strict=True):
            for i, arm in enumerate(arms):
                d = comparison[arm][key]
                color = {"helps": "tab:green", "hurts": "tab:red"}.get(d["effect"], "tab:gray")
                point, unit = _point(d)
                if d.get("lo") is not None:
                    ax.plot([d["lo"], d["hi"]], [i, i], color=color, lw=2)
                if point is not None:
                    ax.plot([point], [i], "o", color=color)
            ax.axvline(0, color="k", lw=0.8)
            ax.set_yticks(range(len(arms)), arms)
            ax.invert_yaxis()
            ax.set_title(f"{part}: {heads[key]}{unit}", fontsize=9)
    fig.suptitle(
        "arm minus PBML alone, paired by seed, 95% t-CI or censored test (green: helps, red: "
        "hurts; for times, left of 0 is faster)"
    )
    fig.tight_layout()
    path = out_dir / "beyond_differences.png"
    save_figure(fig, path, dpi=100)
    return path
