"""Transfer reports: the table, the markdown page, the figures and the JSON of a transfer.

Kept apart from :mod:`pbml_control.transfer`, which plans and runs transfers, so the science
never depends on how it is written up. Figures are drawn from the numbers that are saved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_output
from pbml_control.plotting import save_figure
from pbml_control.stats import format_ci
from pbml_control.transfer import METRICS

__all__ = ["dumps", "plot_transfer", "transfer_table", "write_outputs"]


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _cell(stat: dict[str, Any]) -> str:
    if "median" in stat:  # a censored time: Kaplan-Meier median and the seeds that reached it
        median = "—" if stat["median"] is None else _fmt(stat["median"])
        return f"median {median} ({stat['reached']}/{stat['n']} reached)"
    return format_ci(stat, ".4g")


def transfer_table(data: dict[str, Any]) -> str:
    """A Markdown table: one row per arm, mean [95% CI] over seeds per metric; generations to
    threshold as a Kaplan-Meier median (censored: some seeds may never reach it)."""
    plan = data["plan"]
    heads = [h.replace(" k", f" {plan['k']}") for _, h in METRICS]
    lines = ["| arm | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for arm, entry in data["arms"].items():
        cells = [_cell(entry["summary"][key]) for key, _ in METRICS]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(data: dict[str, Any], figures: Sequence[str], json_sha256: str) -> str:
    plan = data["plan"]
    thresholds = ", ".join(f"seed {s}: {_fmt(t)}" for s, t in data["thresholds"].items())
    rule = (
        f"absolute {plan['threshold']}"
        if plan["threshold"] is not None
        else f"F0 + {plan['threshold_fraction']} x (Fmax - F0) per seed"
    )
    lines = [
        f"# Transfer to {plan['target']} ({plan['goals']} goals)",
        "",
        f"{plan['generations']} generations of adaptation (PBML selection, identical for every "
        f"arm), seeds {plan['seeds']}; generation 0 is the zero-shot fitness. Mean [95% t-CI] "
        "over seeds.",
        "",
        transfer_table(data),
        "",
        f"Threshold on the population mean fitness: {rule} ({thresholds}). An arm that never "
        f"reaches it counts as {plan['generations'] + 1} generations. Raw curves: transfer.json.",
        "",
    ]
    lines += [f"![{name}]({name})" for name in figures]
    lines += ["", f"<!-- written with transfer.json of SHA-256 {json_sha256} -->"]
    return "\n".join(lines) + "\n"


def plot_transfer(data: dict[str, Any], out_dir: Path, prefix: str = "transfer") -> list[Path]:
    """``<prefix>_fitness.png`` (mean curves with the seeds' min-max band) and
    ``<prefix>_threshold.png`` (the share of seeds that reached the threshold by each
    generation, Kaplan-Meier)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan, arms = data["plan"], data["arms"]
    colors = plt.get_cmap("tab10")
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, (arm, entry) in enumerate(arms.items()):
        for ax, key in zip(axes, ("fitness_mean", "fitness_best"), strict=True):
            band = entry["curves"][key]
            x = np.arange(len(band["mean"]))
            mean = np.array([np.nan if v is None else v for v in band["mean"]])
            ax.plot(x, mean, color=colors(i), lw=1.6, label=arm)
            # the seeds' range, not a t-interval: with 2 or 3 seeds a t-interval is wider than
            # anything observed and crosses bounds the fitness cannot (returns above 0)
            seeds = [
                [np.nan if v is None else v for v in run[key]] for run in entry["seeds"].values()
            ]
            ax.fill_between(x, np.nanmin(seeds, axis=0), np.nanmax(seeds, axis=0),
                            color=colors(i), alpha=0.18, lw=0)  # fmt: skip
    axes[0].set(
        title="population mean fitness", xlabel="generation after transfer", ylabel="fitness"
    )
    axes[1].set(title="population best fitness", xlabel="generation after transfer")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"transfer to {plan['target']} ({plan['goals']} goals): mean over "
        f"{len(plan['seeds'])} seeds, band: min-max over seeds"
    )
    fig.tight_layout()
    paths.append(out_dir / f"{prefix}_fitness.png")
    save_figure(fig, paths[-1], dpi=110)

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (arm, entry) in enumerate(arms.items()):
        time = entry["summary"]["generations_to_threshold"]
        steps = [0, *time["km_times"], plan["generations"]]
        reached = [0.0, *(1.0 - s for s in time["km_not_reached"])]
        ax.step(steps, [*reached, reached[-1]], where="post", color=colors(i), lw=1.6, label=arm)
    ax.set(
        xlabel="generation after transfer",
        ylabel="share of seeds at the threshold",
        title="reaching the threshold (Kaplan-Meier; higher and earlier is faster)",
        ylim=(-0.02, 1.02),
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / f"{prefix}_threshold.png")
    save_figure(fig, paths[-1], dpi=110)
    return paths


def dumps(data: dict[str, Any]) -> str:
    """Stable JSON text: same input, same bytes."""
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write_outputs(data: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """transfer.json, transfer.md and the two PNGs in ``out_dir``, each written atomically.

    The figures come first; then transfer.md and transfer.json are written in full under
    temporary names and renamed one right after the other, JSON last. transfer.md names the
    SHA-256 of the transfer.json it belongs to; a kill between the two renames (a window of
    microseconds) leaves a pair that a rerun of the same command rewrites from the kept jobs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = plot_transfer(data, out_dir)
    json_text = dumps(data)
    digest = hashlib.sha256(json_text.encode("utf-8")).hexdigest()
    markdown = _markdown(data, [p.name for p in figures], digest)
    with (
        atomic_output(out_dir / "transfer.json") as json_tmp,
        atomic_output(out_dir / "transfer.md") as md_tmp,
    ):
        json_tmp.write_text(json_text, encoding="utf-8")
        md_tmp.write_text(markdown, encoding="utf-8")
    return [out_dir / "transfer.json", out_dir / "transfer.md", *figures]
