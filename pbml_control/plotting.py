"""Figures from run folders: fitness with goal shifts, and per-module mutation radius.

Reads only ``metrics.jsonl`` (and ``config.json`` for a label), so it works on any run, toy
or MuJoCo, finished or still going. The sigma figure is the paper's mutation-radius figure:
each module's sigma (population mean, as logged) over generations on a log scale, which
shows PBML raising sigma after a goal shift and annealing it while the goal holds.

A goal task's fitness figure adds its normalised mean and best fitness (0 = standing still,
1 = perfect; normalised.py), from the rows' ``*_normalised`` keys or, for a run logged before
they existed, computed from its rows and ``config.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_output
from pbml_control.errors import UserError
from pbml_control.genome import module_series
from pbml_control.metrics_log import generation_of, read_jsonl

__all__ = [
    "PlotError",
    "RunMetrics",
    "load_metrics",
    "plot_fitness",
    "plot_runs",
    "plot_sigma",
    "save_figure",
]


class PlotError(UserError):
    """A run folder that cannot be plotted (no metrics, unreadable metrics); one line."""


@dataclass(frozen=True)
class RunMetrics:
    """One run's metrics rows, one per generation, in generation order."""

    path: Path
    label: str
    rows: list[dict[str, Any]]

    def column(self, key: str) -> np.ndarray:
        """One number per row; NaN where the row lacks it or holds null (a NaN logged)."""
        return np.array([_number(r.get(key)) for r in self.rows], dtype=np.float64)

    def normalised(self, key: str) -> np.ndarray | None:
        """``key``'s normalised column (``fitness_mean`` -> ``fitness_mean_normalised``), or
        None for a run without goals."""
        name = f"{key}_normalised"
        if any(name in r for r in self.rows):
            return self.column(name)
        normaliser = _normaliser(self.path)
        if normaliser is None:
            return None
        return np.array([normaliser.keys(r)[name] for r in self.rows], dtype=np.float64)

    @property
    def generations(self) -> np.ndarray:
        return self.column("generation")

    @property
    def shifts(self) -> np.ndarray:
        """Generations at which the goal shifted (the loop's ``goal_shift`` flag)."""
        return np.array([r["generation"] for r in self.rows if r.get("goal_shift")], dtype=float)

    @property
    def modules(self) -> list[str]:
        return sorted(module_series(self.rows, "sigma"))

    def sigma(self, module: str) -> np.ndarray:
        """Module ``module``'s mean sigma per row (read by genome.module_series)."""
        return np.array(module_series(self.rows, "sigma")[module], dtype=np.float64)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _normaliser(run_dir: Path) -> Any:
    """The normaliser of a run's config.json, or None (no goals, no or unreadable config)."""
    from pbml_control.config import ConfigError, config_from_json
    from pbml_control.normalised import for_config

    path = run_dir / "config.json"
    try:
        return for_config(config_from_json(path.read_text(encoding="utf-8"), path))
    except (OSError, ConfigError, UnicodeDecodeError):
        return None


def _task(run_dir: Path) -> str:
    """The task a run's config.json names ("" when none can be read)."""
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        return str(config["problem"]["params"]["task"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _label(run_dir: Path) -> str:
    """The folder name, with the selection scheme when the config names one."""
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        scheme = config["selection"]["scheme"]
    except (OSError, ValueError, KeyError, TypeError):
        return run_dir.name
    return f"{run_dir.name} ({scheme})"


def load_metrics(run_dir: str | Path) -> RunMetrics:
    """Read ``metrics.jsonl``; a torn last line (a crash mid-write) is skipped, and a
    generation logged twice (a resume) keeps its last row."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PlotError(f"no such run folder: {run_dir}")
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        raise PlotError(f"{run_dir} has no metrics.jsonl (is it a run folder?)")
    try:
        lines = read_jsonl(path)
    except OSError as exc:
        raise PlotError(f"cannot read {path}: {exc}") from None
    by_generation: dict[int, dict[str, Any]] = {}
    for number, (text, row) in enumerate(lines, 1):
        if not text.strip():
            continue
        generation = generation_of(row)
        if row is None or generation is None:
            if number == len(lines):  # a torn last line (a crash mid-write)
                continue
            raise PlotError(f"{path}: line {number} is not a metrics row")
        by_generation[generation] = row
    if not by_generation:
        raise PlotError(f"{path} has no metrics rows yet")
    rows = [by_generation[g] for g in sorted(by_generation)]
    return RunMetrics(run_dir, _label(run_dir), rows)


def save_figure(fig: Any, path: Path, dpi: int) -> None:
    """Write a PNG atomically (atomic.py: a kill never leaves a 0-byte or truncated one) and
    close the figure."""
    try:
        with atomic_output(path) as partial:
            fig.savefig(partial, dpi=dpi, format="png")
    finally:
        _pyplot().close(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mark_shifts(ax: Any, run: RunMetrics, color: Any, single: bool) -> None:
    for k, g in enumerate(run.shifts):
        ax.axvline(
            g,
            color="0.6" if single else color,
            lw=0.8,
            ls=":",
            alpha=0.8,
            label="goal shift" if single and k == 0 else None,
        )


def _goal_lines(rows: list[dict]) -> np.ndarray:
    """(k, generations): the first component of each of a generation's k goals (k = 1 unless
    the run evaluates goal sets, ``schedule.goals_per_generation``)."""
    firsts = []
    for row in rows:
        goal = np.asarray(row.get("goal", [np.nan]), dtype=float)
        firsts.append(goal[:, 0] if goal.ndim == 2 else goal.reshape(-1)[:1])
    width = max((len(f) for f in firsts), default=1)
    lines = np.full((len(firsts), width), np.nan)
    for i, f in enumerate(firsts):
        lines[i, : len(f)] = f
    return lines.T


def plot_fitness(runs: list[RunMetrics], path: Path) -> Path:
    """Mean (solid) and best (dashed) fitness per generation, goal shifts dotted; for goal
    tasks, the same normalised (0 = standing still, 1 = perfect); below, the goal itself (first
    component; every goal of a goal set) so a fitness drop can be matched to its shift."""
    plt = _pyplot()
    normalised = {k: (run.normalised("fitness_mean"), run.normalised("fitness_best"))
                  for k, run in enumerate(runs)}  # fmt: skip
    shown = {k: pair for k, pair in normalised.items() if pair[0] is not None}
    ratios = [3, 2, 1] if shown else [3, 1]
    fig, axes = plt.subplots(
        len(ratios), 1, figsize=(8, 5.5 + 2 * bool(shown)), sharex=True,
        gridspec_kw={"height_ratios": ratios},
    )  # fmt: skip
    ax, goal_ax = axes[0], axes[-1]
    single = len(runs) == 1
    for k, run in enumerate(runs):
        color = f"C{k}"
        gens = run.generations
        prefix = "" if single else f"{run.label}: "
        ax.plot(gens, run.column("fitness_mean"), color=color, lw=1.5, label=f"{prefix}mean")
        ax.plot(
            gens, run.column("fitness_best"), color=color, lw=1.0, ls="--", label=f"{prefix}best"
        )
        _mark_shifts(ax, run, color, single)
        if k in shown:
            mean, best = shown[k]
            axes[1].plot(gens, mean, color=color, lw=1.5)
            axes[1].plot(gens, best, color=color, lw=1.0, ls="--")
            _mark_shifts(axes[1], run, color, False)
        for goals in _goal_lines(run.rows):  # one line per goal of a set
            goal_ax.step(gens, goals, where="post", color=color, lw=1.2)
    ax.set_ylabel("fitness")
    ax.set_title("Fitness" + (f": {runs[0].label}" if single else ""))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    if shown:
        norm_ax = axes[1]
        norm_ax.axhline(0.0, color="0.3", lw=0.8, ls="-.", label="0 = standing still")
        ant = any("AntHeading" in _task(run.path) for k, run in enumerate(runs) if k in shown)
        one = "1 = perfect" + (" (AntHeading: 1 m/s)" if ant else "")
        norm_ax.axhline(1.0, color="0.3", lw=0.8, ls=(0, (1, 3)), label=one)
        norm_ax.set_ylabel("normalised")
        norm_ax.legend(fontsize=8, loc="lower right")
        norm_ax.grid(alpha=0.3)
    goal_ax.set_ylabel("goal")
    goal_ax.set_xlabel("generation")
    goal_ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def plot_sigma(runs: list[RunMetrics], path: Path) -> Path | None:
    """One log-scale panel per module: sigma over generations, each run a colour. None when
    no run logs sigma (e.g. a baseline without mutation parameters)."""
    modules = sorted({m for run in runs for m in run.modules})
    if not modules:
        return None
    plt = _pyplot()
    cols = min(3, len(modules))
    rows = math.ceil(len(modules) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols + 0.8, 2.9 * rows + 0.6), sharex=True, squeeze=False
    )
    single = len(runs) == 1
    for ax, module in zip(axes.flat, modules, strict=False):
        for k, run in enumerate(runs):
            if module not in run.modules:
                continue
            ax.plot(
                run.generations,
                run.sigma(module),
                color=f"C{k}",
                lw=1.3,
                label=run.label,
            )
            _mark_shifts(ax, run, f"C{k}", single)
        ax.set_yscale("log")
        ax.set_title(module, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    for ax in axes.flat[len(modules) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("generation")
    for ax in axes[:, 0]:
        ax.set_ylabel("sigma")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(4, len(labels)))
    fig.suptitle("Mutation radius per module")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, path, dpi=120)
    return path


def plot_runs(run_dirs: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Load every run (all or nothing) and write ``fitness.png`` and ``sigma.png``."""
    runs = [load_metrics(d) for d in run_dirs]
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PlotError(f"--out {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_fitness(runs, out_dir / "fitness.png")]
    sigma = plot_sigma(runs, out_dir / "sigma.png")
    if sigma is not None:
        written.append(sigma)
    return written
