"""Do the operators beyond the paper (scouts, fatal passes, mating, low-rank variance) help PBML?

The operators are in ``pbml_control/operators.py`` and docs/method.md ("Operators beyond the
paper"). Read top to bottom: arguments, arms, the two transfers; the paired comparison, figures
and report are in ``pbml_control.experiments.beyond_{compare,figures,report}``.

    python scripts/experiment_beyond.py            # ~18 min on 2 shared, loaded cores
    python scripts/experiment_beyond.py --quick    # tiny budget (< 60 s), for the smoke test

Arms: PBML alone, PBML + each operator, PBML + all of them. Every arm has the same budget
(population, generations, episode length) and the operator is active **during source training
and during adaptation after transfer** (the adaptation config of an arm is its source config
with a new goal, so its ``[operators]`` section carries over).

(a) Square World -> Hard Square, as in ``scripts/reproduce_paper.py``
    (``pbml_control.experiments.toy``): the whole final Square-World population continues on
    Hard Square under PBML with a random goal every ``square_period`` generations.
(b) HalfCheetahVel, train goals (shifting) -> one held-out goal per seed: source runs as in
    ``scripts/experiment_transfer.py`` (``pbml_control.experiments.sources``) and the harness
    ``pbml_control.transfer`` (one plan per arm, so each arm adapts with its own operators,
    merged into one plan so every arm shares the per-seed threshold, goals and episode seeds).

Every arm of one seed sees the same goals and episode seeds, so differences are *paired by
seed*: operator arm minus PBML alone, mean and 95% Student-t interval; times to a hit or a
threshold, which some epochs or seeds never reach, by censored tests (log-rank stratified by
seed; paired sign test). An operator **helps** (or **hurts**) on a metric when that interval
excludes 0 (the test is significant at 5%) in the good (bad) direction.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.config import RunConfig
from pbml_control.experiments.beyond_compare import compare, slim_robot, square_arm
from pbml_control.experiments.beyond_figures import plot_all
from pbml_control.experiments.beyond_report import in_arm_order, write_report
from pbml_control.experiments.runs import grid, group_by_arm, process_map, train_grid
from pbml_control.experiments.sources import source_config, source_record
from pbml_control.experiments.toy import square_transfer, toy_config
from pbml_control.operators import OperatorsConfig
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json
from pbml_control.transfer import plan_transfer, run_plan
from pbml_control.transfer_metrics import reaggregate
from pbml_control.transfer_plan import merge_plans


@dataclass
class Args:
    """Every knob; every arm gets the same budget, only the operators differ."""

    out_dir: str = "docs/results"
    """folder for beyond.md, beyond.json and beyond_*.png"""
    runs_dir: str = "runs/experiment_beyond"
    """folder for the robot source runs (not committed)"""
    processes: int = 2
    """runs in parallel (spawn; one MuJoCo worker per robot run); results do not depend on it"""
    quick: bool = False
    """tiny budget for the smoke test; overrides the sizes below"""
    reuse: bool = True
    """keep finished robot source runs in runs_dir whose config is the same"""
    replot: bool = False
    """run nothing: compare again, redraw and rewrite beyond.md from out_dir/beyond.json"""
    rerun_square: bool = False
    """with --replot: run part (a) again (files from before its censored statistics lack the
    per-epoch hit times); the robot part still comes from beyond.json"""
    arms: tuple[str, ...] = ("pbml", "scouts", "fatal", "mating", "low_rank", "all")
    """arms: pbml (alone), one per operator, and all (every operator at once)"""
    # --- operator settings (chosen before any result; the same in both transfers) ---
    scout_fraction: float = 0.1
    """scouts: share of each generation's children perturbed with a scaled sigma"""
    scout_sigma_scale: float = 5.0
    """scouts: factor on sigma for a scout child"""
    fatal_pass_probability: float = 0.05
    """fatal passes: chance that a member selection removed survives anyway"""
    fatal_pass_generations: int = 3
    """fatal passes: generations a rescued member is protected from death"""
    crossover_rate: float = 0.3
    """mating: chance that a child has a second parent (module-wise uniform crossover)"""
    low_rank_sigma_boost: float = 1.0
    """low-rank variance: a parent at normalised rank q mutates with sigma * (1 + boost * q)"""
    # --- (a) Square World -> Hard Square (settings of scripts/reproduce_paper.py) ---
    square_seeds: int = 30
    """seeds 0 .. square_seeds-1 of the toy transfer"""
    square_population: int = 256
    """N in Square World and Hard Square"""
    square_generations: int = 300
    """Square-World generations before transfer"""
    hard_generations: int = 200
    """Hard-Square generations after transfer"""
    square_period: int = 10
    """generations between goal shifts (Square World and Hard Square)"""
    # --- (b) HalfCheetahVel train goals -> held-out goals ---
    robot_seeds: int = 10
    """seeds 0 .. robot_seeds-1 of the robot transfer"""
    task: str = "HalfCheetahVel"
    """MuJoCo task; sources train on its train goals, the transfer uses held-out goals"""
    robot_population: int = 32
    """N of the robot runs"""
    hidden: tuple[int, ...] = (32, 32)
    """policy hidden layers"""
    max_episode_steps: int = 150
    """episode length (one episode per member per generation)"""
    source_generations: int = 60
    """robot source generations (goal shift every robot_period)"""
    robot_period: int = 10
    """generations between goal shifts in the robot source runs"""
    transfer_generations: int = 30
    """robot generations of adaptation after transfer"""
    k: int = 10
    """robot: report fitness after k generations of adaptation"""
    init_sigma: float = 0.05
    """robot founders' mutation radius"""
    tau: float = 0.1
    """robot meta-mutation rate of log sigma"""
    death_rate: float = 0.2
    """PBML death rate D (robot; the toy transfer uses reproduce_paper's 0.2 as well)"""


QUICK = {
    "square_seeds": 2,
    "square_population": 16,
    "square_generations": 20,
    "hard_generations": 20,
    "robot_seeds": 2,
    "robot_population": 6,
    "hidden": (8,),
    "max_episode_steps": 20,
    "source_generations": 4,
    "robot_period": 2,
    "transfer_generations": 3,
    "k": 2,
}


def parse_args(argv: Sequence[str] | None = None) -> Args:
    args, parser = parse_dataclass_args(Args, argv, __doc__ or "", QUICK)
    unknown = set(args.arms) - set(ARM_OPERATORS)
    if unknown or "pbml" not in args.arms:
        parser.error(f"--arms must include pbml and come from {', '.join(ARM_OPERATORS)}")
    return args


# Arms: which operator keys each arm switches on (values come from Args)
ARM_OPERATORS: dict[str, tuple[str, ...]] = {
    "pbml": (),
    "scouts": ("scout_fraction", "scout_sigma_scale"),
    "fatal": ("fatal_pass_probability", "fatal_pass_generations"),
    "mating": ("crossover_rate",),
    "low_rank": ("low_rank_sigma_boost",),
}
ARM_OPERATORS["all"] = tuple(k for keys in ARM_OPERATORS.values() for k in keys)


def operators_for(args: Args, arm: str) -> OperatorsConfig:
    """The arm's operator settings; every other rate stays at its default 0 (off)."""
    return OperatorsConfig(**{key: getattr(args, key) for key in ARM_OPERATORS[arm]})


def with_operators(config: RunConfig, args: Args, arm: str) -> RunConfig:
    return dataclasses.replace(config, operators=operators_for(args, arm))


# ----------------------------------------------------------------------------------------------
# (a) Square World -> Hard Square
# ----------------------------------------------------------------------------------------------


def square_job(job: tuple[str, int, Args]) -> tuple[str, int, dict[str, Any]]:
    """One arm and seed: Square World, then the whole population on Hard Square (seed + 1000),
    the arm's operators on in both."""
    arm, seed, args = job
    toy = {"population_size": args.square_population, "scheme": "pbml", "init_sigma": 1.0,
           "period": args.square_period, "tau": 0.2, "death_rate": args.death_rate,
           "schedule": "random"}  # fmt: skip
    square = toy_config("square", seed=seed, generations=args.square_generations, **toy)
    hard = toy_config("hard_square", seed=seed + 1000, generations=args.hard_generations, **toy)
    configs = [with_operators(config, args, arm) for config in (square, hard)]
    return arm, seed, square_transfer(*configs, args.square_period)


def run_square(args: Args) -> dict[str, Any]:
    jobs = [(arm, seed, args) for arm in args.arms for seed in range(args.square_seeds)]
    per: dict[str, dict[int, dict[str, Any]]] = {arm: {} for arm in args.arms}
    for arm, seed, out in process_map(square_job, jobs, args.processes):
        per[arm][seed] = out
    arms = {arm: square_arm([per[arm][s] for s in sorted(per[arm])]) for arm in args.arms}
    return {"arms": arms, "seeds": list(range(args.square_seeds))}


# ----------------------------------------------------------------------------------------------
# (b) HalfCheetahVel: train goals -> held-out goals
# ----------------------------------------------------------------------------------------------


def robot_source(args: Args, arm: str, seed: int) -> RunConfig:
    """PBML on shifting train goals with the arm's operators; the budget is every arm's."""
    config = source_config(
        task=args.task, seed=seed, scheme="pbml", static=False,
        generations=args.source_generations, population_size=args.robot_population,
        hidden=args.hidden, max_episode_steps=args.max_episode_steps, period=args.robot_period,
        init_sigma=args.init_sigma, tau=args.tau, death_rate=args.death_rate,
    )  # fmt: skip
    return with_operators(config, args, arm)


def run_robot(args: Args) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Source runs, then one transfer plan per arm (its adaptation config is its first source
    config, operators included), merged so that every arm shares threshold, goals and seeds."""
    started = time.perf_counter()
    make = lambda arm, seed: robot_source(args, arm, seed)  # noqa: E731
    records = train_grid(grid(args.arms, range(args.robot_seeds), make, args.runs_dir),
                         args.processes, args.reuse)  # fmt: skip
    sources = {arm: [source_record(r, args.robot_period) for r in runs]
               for arm, runs in group_by_arm(records).items()}  # fmt: skip
    source_seconds = time.perf_counter() - started
    plans = [
        plan_transfer(
            [f"{arm}={run['run_dir']}" for run in sources[arm]],
            args.task,
            generations=args.transfer_generations,
            seeds=range(args.robot_seeds),
            goals="heldout",
            fresh=arm == "pbml",
            k=args.k,
        )
        for arm in args.arms
    ]
    for plan in plans:
        for job in plan.jobs:
            expected = operators_for(args, "pbml" if job.arm == "fresh" else job.arm)
            assert job.config.operators == expected, (job.arm, job.config.operators)
    return sources, run_plan(merge_plans(plans), processes=args.processes), source_seconds


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run both transfers for every arm, compare with PBML alone, write the report."""
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "beyond.json"
    if args.replot:  # compare again from the saved per-seed numbers, then redraw
        data = json.loads(path.read_text(encoding="utf-8"))
        data["robot"] = reaggregate(data["robot"])
        if args.rerun_square:
            started = time.perf_counter()
            data["square"] = run_square(args)
            data["square_seconds"] = round(time.perf_counter() - started, 1)
    else:
        data = run(args)
    compare(data)
    path.write_text(compact_json(data, sort_keys=True), encoding="utf-8")
    data = in_arm_order(json.loads(path.read_text(encoding="utf-8")))
    write_report(data, out_dir, plot_all(data, out_dir))
    print(f"wrote {out_dir}/beyond.md, beyond.json and figures ({data['runtime_s']:.0f} s run)")
    return data


def run(args: Args) -> dict[str, Any]:
    started = time.perf_counter()
    square = run_square(args)
    square_seconds = time.perf_counter() - started
    sources, tr, source_seconds = run_robot(args)
    goals = slim_robot(tr)
    now = time.perf_counter()
    return {
        "args": dataclasses.asdict(args),
        "operators": {arm: dataclasses.asdict(operators_for(args, arm)) for arm in args.arms},
        "square": square,
        "robot": tr,
        "robot_goals": goals,
        "robot_sources": sources,
        "square_seconds": round(square_seconds, 1),
        "robot_source_seconds": round(source_seconds, 1),
        "robot_transfer_seconds": round(now - started - square_seconds - source_seconds, 1),
        "runtime_s": round(now - started, 1),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
