"""The locomotion study's report: per-arm table, curves figure, markdown and the index page.

``scripts/locomotion.py`` trains the runs and evaluates their champions; this module turns
those per-run summaries into ``docs/results/locomotion*.{json,md,png}``. No simulation here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.stats import format_ci, paired_difference, summary, wilson_interval

__all__ = [
    "arm_table",
    "figure",
    "markdown",
    "tracking_summary",
    "versus_reference",
    "write_index",
]

#: arms of a goal-tracking run folder (<task>__<arm>__<seed>) that run the task's recipe:
#: "long" is the recipe resumed with a larger max_env_steps
RECIPE_ARMS = ("pbml", "long")


def finals_by_seed(runs: list[dict[str, Any]], arm: str) -> dict[int, float]:
    return {r["seed"]: r["final"]["mean"] for r in runs if r["arm"] == arm}


def versus_reference(runs: list[dict[str, Any]], arm: str, reference: str) -> dict[str, Any]:
    """The arm's final return minus the reference arm's, paired by seed (seeds both ran)."""
    mine, ref = finals_by_seed(runs, arm), finals_by_seed(runs, reference)
    seeds = sorted(set(mine) & set(ref))
    diffs, _ = paired_difference([mine[s] for s in seeds], [ref[s] for s in seeds])
    return {**summary(diffs), "seeds": seeds}


def arm_table(
    runs: list[dict[str, Any]], arms: tuple[str, ...], overrides: dict[str, tuple[str, ...]]
) -> list[dict[str, Any]]:
    """One row per arm: medians over seeds, failures, speed, and the arm minus the first."""
    table = []
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        finals = np.array([r["final"]["mean"] for r in mine])
        failures = int(sum(r["final"]["failures"] for r in mine))
        check_episodes = int(sum(len(r["final"]["check_returns"]) for r in mine))
        table.append(
            {
                "arm": arm,
                "overrides": list(overrides[arm]),
                "seeds": [r["seed"] for r in mine],
                "final_median": float(np.median(finals)),
                "final_min": float(finals.min()),
                "final_max": float(finals.max()),
                "last_mean_fitness": float(np.mean([r["curve"]["fitness_mean"][-1] for r in mine])),
                "check_median": float(np.median([r["final"]["check_mean"] for r in mine])),
                "failures": failures,
                "check_episodes": check_episodes,
                "failure_share": wilson_interval(failures, check_episodes)._asdict(),
                "versus_first_arm": versus_reference(runs, arm, arms[0]),
                "wall_minutes": float(np.mean([r["wall_seconds"] for r in mine]) / 60),
                "steps_per_second": float(np.mean([r["steps_per_second"] for r in mine])),
            }
        )
    return table


def figure(runs: list[dict[str, Any]], arms: tuple[str, ...], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    palette = plt.cm.tab10.colors if len(arms) <= 10 else plt.cm.tab20.colors
    colors = {arm: palette[i % len(palette)] for i, arm in enumerate(arms)}
    for run in runs:
        c = run["curve"]
        label = run["arm"] if run["seed"] == min(r["seed"] for r in runs) else None
        for ax, x in zip(axes, (np.array(c["env_steps"]) / 1e6, np.array(c["wall_seconds"]) / 60),
                         strict=True):  # fmt: skip
            ax.plot(x, c["fitness_best"], color=colors[run["arm"]], lw=1, label=label)
    axes[0].set_xlabel("env steps (millions)")
    axes[1].set_xlabel("wall time on 2 cores (minutes)")
    axes[0].set_ylabel("best training fitness (return)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)


def markdown(
    title: str, table: list[dict[str, Any]], runs: list[dict[str, Any]], note: str = ""
) -> str:
    lines = [
        f"## {title}",
        "",
        *([note, ""] if note else []),
        "| arm | overrides | seeds | final return, median (min..max) "
        f"| minus {table[0]['arm']}, paired by seed (95% CI) | 50-episode mean, median "
        "| failed episodes (share, 95% CI) | last mean fitness | wall min | env-steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in table:
        lines.append(
            f"| {t['arm']} | {'; '.join(t['overrides']) or '(recipe)'} | {len(t['seeds'])} "
            f"| {t['final_median']:.0f} ({t['final_min']:.0f}..{t['final_max']:.0f}) "
            f"| {'(reference)' if t is table[0] else format_ci(t['versus_first_arm'], '.0f')} "
            f"| {t['check_median']:.0f} | {t['failures']}/{t['check_episodes']} "
            f"({format_ci(t['failure_share'], '.2f')}) "
            f"| {t['last_mean_fitness']:.0f} | {t['wall_minutes']:.1f} "
            f"| {t['steps_per_second']:.0f} |"
        )
    lines += ["", "| arm | seed | env steps | generations | final return (95% CI) "
              "| 50-episode mean, min |"]  # fmt: skip
    lines += ["|---|---|---|---|---|---|"]
    for r in runs:
        f = r["final"]
        lines.append(
            f"| {r['arm']} | {r['seed']} | {r['env_steps'] / 1e6:.1f}M | {r['generations']} "
            f"| {f['mean']:.0f} [{f['ci95'][0]:.0f}, {f['ci95'][1]:.0f}] "
            f"| {f['check_mean']:.0f}, {min(f['check_returns']):.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_index(out: Path, protocol: str) -> None:
    """<out>.md: the protocol, then every task's report and goal-tracking table in the folder."""
    parts = [
        "# Locomotion: recipes, ablations and final evaluations",
        "",
        "Generated by `scripts/locomotion.py` (and `scripts/goal_tracking.py`); do not edit.",
        "",
        "Protocol:",
        "",
        protocol,
        "",
    ]
    for report in sorted(out.parent.glob(f"{out.name}_*.md")):
        parts += [report.read_text(encoding="utf-8"), f"![curves]({report.stem}.png)", ""]
    tracked = sorted(out.parent.glob("goal_tracking_*.json"))
    if tracked:
        reports = [json.loads(p.read_text(encoding="utf-8")) for p in tracked]
        parts += [tracking_summary(reports), ""]
    for report in sorted(out.parent.glob("goal_tracking_*.md")):
        parts += [report.read_text(encoding="utf-8"), ""]
    atomic_write_text(out.with_suffix(".md"), "\n".join(parts))


def _goal_label(goal: list[float]) -> str:
    return f"{goal[0]:+.2f}"


def tracking_summary(reports: list[dict[str, Any]]) -> str:
    """One table per task of every goal-tracking report (``scripts/goal_tracking.py``): a row
    per run with its error (or velocity) at each goal and how many goals met the criterion,
    then, per budget with several recipe runs, the median over them (budget: env steps to the
    nearest 10M)."""
    lines = []
    for task in sorted({r["task"] for r in reports}):
        rows = sorted(
            (r for r in reports if r["task"] == task),
            key=lambda r: (round(r["env_steps"] / 1e7), r["run"]),
        )
        goals = [_goal_label(g["goal"]) for g in rows[0]["goals"]]
        kind = "mean abs error" if np.isfinite(rows[0]["goals"][0]["mean_abs_error"]) else None
        key = "mean_abs_error" if kind else "mean_velocity"
        lines += [f"## {task}: goal tracking at a glance", "",
                  f"Per goal, the champion's {kind or 'mean velocity along the goal'} over 10 "
                  f"fresh episodes ({rows[0]['criterion']}); the tables below give the details.",
                  "", f"| run | env steps | {' | '.join(goals)} | met |",
                  "|---|---|" + "---|" * len(goals) + "---|"]  # fmt: skip
        for r in rows:
            values = " | ".join(f"{g[key]:.3f}" for g in r["goals"])
            met = sum(bool(g["met"]) for g in r["goals"])
            lines.append(f"| {r['run']} | {r['env_steps'] / 1e6:.0f}M | {values} "
                         f"| {met} of {len(goals)} |")  # fmt: skip
        budgets: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            if r["run"].split("__")[1:2] and r["run"].split("__")[1] in RECIPE_ARMS:
                budgets.setdefault(round(r["env_steps"] / 1e7), []).append(r)
        for budget, group in sorted(budgets.items()):
            if len(group) < 2:
                continue
            med = np.median([[g[key] for g in r["goals"]] for r in group], axis=0)
            lines.append(f"| median of {len(group)} recipe runs | {budget * 10}M | "
                         + " | ".join(f"{v:.3f}" for v in med) + " | |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)
