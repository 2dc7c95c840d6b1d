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

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.experiments.final import cumulative_wall_seconds, final_evaluation
from pbml_control.experiments.locomotion_report import arm_table, figure, markdown, write_index
from pbml_control.runner import read_metrics
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json

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
    "pop256": ("population_size=256",),
    "pop1024": ("population_size=1024",),
    "mlp32": ("problem.hidden=[32, 32]",),
    "mlp64": ("problem.hidden=[64, 64]",),
    "sigma0.005": ("mutation.init_sigma=0.005",),
    "sigma0.01": ("mutation.init_sigma=0.01",),
    "sigma0.02": ("mutation.init_sigma=0.02",),
    "pop256_sigma0.02": ("population_size=256", "mutation.init_sigma=0.02"),
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
    # goal-conditioned recipes draw stratified goal sets; this arm draws each goal on its own
    "independent_goals": ("schedule.stratified=false",),
    # goals from the whole goal space (HalfCheetahVel: -3..3 m/s), not the training region, so
    # the targets at +-2 m/s lie inside it and faster gaits pay
    "split_all": ("schedule.split='all'",),
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
    from_json: bool = False
    """neither train nor evaluate: rebuild the report from its own <out>_<task>.json"""
    label: str = ""
    """a second report of the same task (say a longer budget) goes to <out>_<task>_<label>.*"""


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


def main(argv: list[str] | None = None) -> int:
    args, _ = parse_dataclass_args(Args, argv, __doc__.splitlines()[0])
    unknown = sorted(set(args.arms) - set(ARMS))
    if unknown:
        print(f"locomotion: unknown arm(s) {unknown}; known: {sorted(ARMS)}", file=sys.stderr)
        return 2
    out = ROOT / args.out
    suffix = f"_{args.label}" if args.label else ""
    path = out.with_name(f"{out.name}_{args.task}{suffix}.json")
    if args.from_json:
        saved = json.loads(path.read_text(encoding="utf-8"))
        runs = [r for r in saved["runs"] if r["arm"] in args.arms]
    else:
        if not args.report_only:
            for seed in args.seeds:
                for arm in args.arms:
                    train(args, arm, seed)
        runs = [summarise_run(args, arm, seed) for arm in args.arms for seed in finished(args, arm)]
    table = arm_table(runs, args.arms, ARMS)
    report = {"task": args.task, "budget": args.budget, "note": args.note, "arms": table,
              "runs": runs}  # fmt: skip
    atomic_write_text(path, compact_json(report))
    text = markdown(args.title or args.task, table, runs, args.note)
    atomic_write_text(path.with_suffix(".md"), text)
    figure(runs, args.arms, path.with_suffix(".png"), f"{args.task}: best fitness per arm")
    if args.index:
        write_index(out, __doc__.split("Protocol (ours):", 1)[1].strip())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
