"""Competent locomotion: which recipe makes evolved controllers run, at equal env steps.

Read top to bottom: the arms (named config overrides on one recipe config), running each
(arm, seed) as a `pbml train` run folder, the final evaluation, the report.

    python scripts/locomotion.py --task HalfCheetah-v5 --arms pbml keep --seeds 0 1 2 \
        --budget 20000000 --runs ../runs/locomotion
    python scripts/locomotion.py --report-only ...   # rebuild the report from finished runs

Protocol (ours):
- Every arm of a task gets the same env-step budget (`max_env_steps`): a generation that
  evaluates fewer members (``survivor_fitness = "keep"``) simply buys more generations.
- Run folders live outside the git tree; a finished run is reused, an interrupted one resumes
  exactly (`pbml train --resume`), so a study can be built up in stages.
- Final evaluation (`pbml_control.experiments.final`): the run's champion, the best of its 10
  best survivors by training fitness on 10 validation episodes (never the test episodes), is
  rolled out on 10 test episodes whose seeds no training or validation episode used. Reported
  as the mean return with a 95% t-interval over those episodes; across seeds, the median. The
  test seed stream extended to 50 episodes counts failures (an episode more than half the
  median's size below the median: the robot fell, flipped or froze).
- Wall time: the sum of the gaps between consecutive generations' end times; a gap that spans
  a pause between stages (over twice the generation's evaluation time plus 5 s) counts as the
  evaluation time alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.experiments.final import cumulative_wall_seconds, final_evaluation
from pbml_control.runner import read_metrics
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json, format_ci, paired_difference, wilson_interval

ROOT = Path(__file__).resolve().parent.parent
EVAL_EPISODES = 10

#: Arms: name -> overrides of the recipe config. Each lever is measured against "pbml".
ARMS: dict[str, tuple[str, ...]] = {
    "pbml": (),
    "reevaluate": ("selection.survivor_fitness='reevaluate'",),
    "average": ("selection.survivor_fitness='average'",),
    "truncation": ("selection.scheme='truncation'",),
    "fixed_mutation": ("selection.scheme='fixed_mutation'",),
    "greedy": ("selection.scheme='greedy'",),
    "death0.5": ("selection.death_rate=0.5",),
    "death0.2": ("selection.death_rate=0.2",),
    "death0.8": ("selection.death_rate=0.8",),
    "death0.8_reevaluate": ("selection.death_rate=0.8", "selection.survivor_fitness='reevaluate'"),
    "pop64": ("population_size=64",),
    "pop1024": ("population_size=1024",),
    "mlp32": ("problem.hidden=[32, 32]",),
    "mlp64": ("problem.hidden=[64, 64]",),
    "sigma0.01": ("mutation.init_sigma=0.01",),
    "sigma0.1": ("mutation.init_sigma=0.1",),
    "tau0": ("mutation.tau=0.0",),
    "tau0.3": ("mutation.tau=0.3",),
    "prob": ("mutation.use_probability=true", "mutation.init_probability=0.5"),
    "float64": ("problem.policy_dtype='float64'",),
    "episodes3": ("problem.episodes=3",),
    "shift1": ("problem.survival_shift=1.0",),
    "noshift": ("problem.survival_shift=0.0",),
    "shift1_keep": ("problem.survival_shift=1.0", "selection.survivor_fitness='keep'"),
    "shift1_reevaluate": ("problem.survival_shift=1.0", "selection.survivor_fitness='reevaluate'"),
    "shift1_average": ("problem.survival_shift=1.0", "selection.survivor_fitness='average'"),
}


@dataclass
class Args:
    task: str = "HalfCheetah-v5"
    """task id; the recipe is configs/recipes/<task>.toml"""
    arms: tuple[str, ...] = ("pbml",)
    """arms to run (see ARMS)"""
    seeds: tuple[int, ...] = (0, 1, 2)
    """run seeds to train (the report covers every finished seed of each arm)"""
    budget: int = 20_000_000
    """env steps per run"""
    runs: str = "../runs/locomotion"
    """folder of the run folders (outside the git tree)"""
    out: str = "docs/results/locomotion"
    """report prefix: <out>.json, <out>.md, <out>_<task>.png"""
    report_only: bool = False
    """do not train; report the finished runs"""
    title: str = ""
    """the report's heading (default: the task)"""
    note: str = ""
    """a sentence printed under the report's heading (e.g. what the base recipe was then)"""
    overrides: tuple[str, ...] = ()
    """extra KEY=VALUE settings for every run (smoke tests shrink the recipe with them)"""
    index: bool = True
    """also rebuild <out>.md from every <out>_<task>.md beside it"""


def recipe(task: str) -> Path:
    return ROOT / "configs" / "recipes" / f"{task}.toml"


def run_dir(args: Args, arm: str, seed: int) -> Path:
    return Path(args.runs) / f"{args.task}__{arm}__{seed}"


def train(args: Args, arm: str, seed: int) -> None:
    """Start or resume one run in its own process; its output goes to <run>.log."""
    out = run_dir(args, arm, seed)
    sets = [*ARMS[arm], *args.overrides, f"seed={seed}", f"max_env_steps={args.budget}"]
    pbml = [sys.executable, "-m", "pbml_control.cli", "train", "--quiet"]
    if (out / "config.json").exists():
        command = [*pbml, "--resume", str(out), "--set", f"max_env_steps={args.budget}"]
    else:
        command = [*pbml, str(recipe(args.task)), "--out", str(out)]
        command += [item for s in sets for item in ("--set", s)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{out}.log", "a", encoding="utf-8") as log:
        log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n")
        log.flush()
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)


def finished(args: Args, arm: str) -> list[int]:
    """Seeds of this arm whose run spent the budget (trained by this or an earlier call)."""
    seeds = []
    for folder in sorted(Path(args.runs).glob(f"{args.task}__{arm}__*")):
        rows = read_metrics(folder) if folder.is_dir() else []
        if rows and rows[-1]["env_steps_total"] >= args.budget:
            seeds.append(int(folder.name.rsplit("__", 1)[1]))
    return sorted(seeds)


def summarise_run(args: Args, arm: str, seed: int) -> dict[str, Any]:
    run = run_dir(args, arm, seed)
    rows = read_metrics(run)
    wall = cumulative_wall_seconds(run)
    steps = np.array([r["env_steps_total"] for r in rows])
    return {
        "arm": arm,
        "seed": seed,
        "generations": len(rows),
        "env_steps": int(steps[-1]),
        "wall_seconds": float(wall[-1]),
        "steps_per_second": float(steps[-1] / wall[-1]),
        "curve": {
            "env_steps": steps.tolist(),
            "wall_seconds": np.round(wall, 2).tolist(),
            "fitness_best": [r["fitness_best"] for r in rows],
            "fitness_mean": [r["fitness_mean"] for r in rows],
        },
        "final": final_evaluation(run, EVAL_EPISODES).to_json(),
    }


def finals_by_seed(runs: list[dict[str, Any]], arm: str) -> dict[int, float]:
    return {r["seed"]: r["final"]["mean"] for r in runs if r["arm"] == arm}


def versus_reference(runs: list[dict[str, Any]], arm: str, reference: str) -> dict[str, Any]:
    """The arm's final return minus the reference arm's, paired by seed (seeds both ran)."""
    mine, ref = finals_by_seed(runs, arm), finals_by_seed(runs, reference)
    seeds = sorted(set(mine) & set(ref))
    _, interval = paired_difference([mine[s] for s in seeds], [ref[s] for s in seeds])
    finite = {k: float(v) if np.isfinite(v) else None for k, v in interval._asdict().items()}
    return {**finite, "seeds": seeds}


def arm_table(runs: list[dict[str, Any]], arms: tuple[str, ...]) -> list[dict[str, Any]]:
    table = []
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        finals = np.array([r["final"]["mean"] for r in mine])
        failures = int(sum(r["final"]["failures"] for r in mine))
        check_episodes = int(sum(len(r["final"]["check_returns"]) for r in mine))
        table.append(
            {
                "arm": arm,
                "overrides": list(ARMS[arm]),
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
    colors = dict(zip(arms, plt.cm.tab10.colors, strict=False))
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
            f"| {format_ci(t['versus_first_arm'], '.0f')} "
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


def write_index(out: Path) -> None:
    """<out>.md: the protocol, then every task's report and goal-tracking table in the folder."""
    protocol = __doc__.split("Protocol (ours):", 1)[1].strip()
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
    for report in sorted(out.parent.glob("goal_tracking_*.md")):
        parts += [report.read_text(encoding="utf-8"), ""]
    atomic_write_text(out.with_suffix(".md"), "\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    args, _ = parse_dataclass_args(Args, argv, __doc__.splitlines()[0])
    unknown = sorted(set(args.arms) - set(ARMS))
    if unknown:
        print(f"locomotion: unknown arm(s) {unknown}; known: {sorted(ARMS)}", file=sys.stderr)
        return 2
    if not args.report_only:
        for seed in args.seeds:
            for arm in args.arms:
                train(args, arm, seed)
    runs = [summarise_run(args, arm, seed) for arm in args.arms for seed in finished(args, arm)]
    table = arm_table(runs, args.arms)
    out = ROOT / args.out
    report = {"task": args.task, "budget": args.budget, "note": args.note, "arms": table,
              "runs": runs}  # fmt: skip
    path = out.with_name(f"{out.name}_{args.task}.json")
    atomic_write_text(path, compact_json(report))
    text = markdown(args.title or args.task, table, runs, args.note)
    atomic_write_text(path.with_suffix(".md"), text)
    figure(runs, args.arms, path.with_suffix(".png"), f"{args.task}: best fitness per arm")
    if args.index:
        write_index(out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
