"""Does one evolved policy follow every commanded goal? The goal-conditioned targets.

    python scripts/goal_tracking.py --run ../runs/locomotion/HalfCheetahVel__pbml__0
    python scripts/goal_tracking.py --run zoo:HalfCheetahVel --goals 2 2.5 --out /tmp/beyond

Targets (as docs/results/locomotion.md states them):
- HalfCheetahVel: for each target -2, -1, -0.5, 0.5, 1, 2 m/s, the mean |x_vel - target| over
  steps 100..1000 is <= 0.15 m/s;
- AntHeading: along each of 8 headings (multiples of pi/4), the mean velocity along the heading
  over steps 100..1000 is >= 0.5 m/s; steps after a fall count as 0 m/s. The md table's
  "steps" column says how many of the planned steps were walked.

The policy is the run's champion: of its 10 best survivors by training fitness, the one with the
best mean return over 3 validation episodes per target goal. Each goal then runs 10 fresh test
episodes (seeds from the run seed + 1_000_003). Writes <out>_<task>.json and .md.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.experiments.final import EVAL_SEED_OFFSET, choose_champion, member_genome
from pbml_control.experiments.tracking import SKIP_STEPS, goal_tracking
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "HalfCheetahVel": ([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], "error", 0.15),
    "AntHeading": ([k * math.pi / 4 for k in range(-3, 5)], "velocity", 0.5),
}


@dataclass
class Args:
    run: str = ""
    """run folder of a goal-conditioned task"""
    episodes: int = 10
    """episodes per goal"""
    steps: int = 1000
    """episode length"""
    out: str = "docs/results/goal_tracking"
    """report prefix"""
    goals: tuple[float, ...] = ()
    """goals to test instead of the task's targets (say beyond the training region, to tell
    a policy's top speed from a command it misreads); the criterion stays the target's"""


def main(argv: list[str] | None = None) -> int:
    args, _ = parse_dataclass_args(Args, argv, __doc__.splitlines()[0])
    from pbml_control.members import load_source
    from pbml_control.run_loader import GenomeSource
    from pbml_control.zoo import entry_card

    source = load_source(args.run)
    try:
        task = source.task_name.split("-")[0]
        if task not in TARGETS:
            print(f"goal_tracking: {args.run} is a {source.task_name} policy; the goal-conditioned"
                  f" targets are for {', '.join(TARGETS)}", file=sys.stderr)  # fmt: skip
            return 2
        targets, kind, bound = TARGETS[task]
        goals = list(args.goals) or targets
        if isinstance(source, GenomeSource):  # a genome file or zoo entry: its one policy
            genome, member_id = source.genome, None
            training = (entry_card(args.run) or {}).get("training", {})
            seed = int(training.get("seed", 0)) + EVAL_SEED_OFFSET
            env_steps = training.get("env_steps")
        else:  # a run: its champion, chosen on the targets whatever goals are tested
            best, _, _ = choose_champion(source, [np.array([g]) for g in targets], 10, 3)
            genome = member_genome(source, best)
            member_id = int(source.checkpoint.population.ids[best])
            seed = int(source.checkpoint.config["seed"]) + EVAL_SEED_OFFSET
            env_steps = source.state.env_steps_total
    finally:
        source.close()
    rows = goal_tracking(genome, task, [np.array([g]) for g in goals], args.episodes,
                         args.steps, seed)  # fmt: skip
    met = [
        (r.mean_abs_error <= bound) if kind == "error" else (r.mean_velocity >= bound) for r in rows
    ]
    report = {
        "task": task,
        "run": Path(args.run).name,
        "member_id": member_id,
        "env_steps": env_steps,
        "episode_steps": args.steps,
        "criterion": f"mean |v - target| <= {bound}" if kind == "error" else f"v >= {bound}",
        "goals": [{**r.__dict__, "met": bool(m)} for r, m in zip(rows, met, strict=True)],
        "all_met": bool(all(met)),
    }
    budget = "" if env_steps is None else f", {env_steps / 1e6:.0f}M env steps"
    lines = [
        f"## {task}: one policy, every goal ({Path(args.run).name}{budget})",
        "",
        f"Criterion per goal: {report['criterion']} over steps 100..{args.steps}, "
        f"{args.episodes} fresh episodes each.",
        "",
        "| goal | mean velocity | mean abs error | return (mean) | steps | met |",
        "|---|---|---|---|---|---|",
    ]
    planned = args.episodes * max(args.steps - SKIP_STEPS, 0)
    for r, m in zip(rows, met, strict=True):
        lines.append(
            f"| {r.goal[0]:+.2f} | {r.mean_velocity:+.3f} | {r.mean_abs_error:.3f} "
            f"| {np.mean(r.returns):.0f} | {r.steps} of {planned} | {'yes' if m else 'no'} |"
        )
    out = ROOT / args.out
    path = out.with_name(f"{out.name}_{task}.json")
    atomic_write_text(path, compact_json(report, allow_nan=True))
    atomic_write_text(path.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
