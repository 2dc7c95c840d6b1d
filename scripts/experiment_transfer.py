"""Do PBML genomes evolved on shifting goals adapt to unseen goals faster than the baselines?

The paper's robotic-control transfer question (Frans & Witkowski 2021) on a 2-core budget.
Read top to bottom: question and arms, source runs, transfer, comparison, report.

    python scripts/experiment_transfer.py              # ~25 min on 2 cores; docs/results/transfer*
    python scripts/experiment_transfer.py --quick      # tiny budget (< 60 s), for the smoke test
    python scripts/experiment_transfer.py --from-json  # report again from out_dir/transfer.json

1. Source runs, one per (arm, seed), all with the same budget (population x generations x
   episode length) on the task's *train* goals: ``pbml`` (PBML, a goal shift every ``period``
   generations), ``static`` (PBML, one goal that never moves), ``greedy`` ((1 + lambda) on the
   shifting goals), ``truncation`` and ``fixed_mutation`` (the other baselines).
2. Transfer (``pbml_control.transfer``): each source run's final population (with its
   mutation parameters and observation normaliser) continues on one *held-out* goal per seed
   (HalfCheetahVel: |v| in [2, 3]; training saw [0.5, 2]) under PBML selection, the same for
   every arm; ``fresh`` starts from new random genomes. Seed s uses the source runs of seed s.
3. PBML against each arm, *paired over seeds* (same goal, same episode seeds): fitness
   metrics by the 95% t-interval of the differences; generations to threshold, which some
   seeds never reach, by the censored sign test (``pbml_control.experiments.compare``). The
   answer and report: ``pbml_control.experiments.transfer_study``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.experiments.compare import transfer_comparison
from pbml_control.experiments.runs import grid, group_by_arm, train_grid
from pbml_control.experiments.sources import source_config, source_record
from pbml_control.experiments.transfer_study import COMPARED, write_report
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json
from pbml_control.transfer import plan_transfer, run_plan
from pbml_control.transfer_metrics import reaggregate
from pbml_control.transfer_report import plot_transfer


@dataclass
class Args:
    """Every knob; every arm gets the same budget."""

    out_dir: str = "docs/results"
    """folder for transfer.md, transfer.json and transfer_*.png"""
    runs_dir: str = "runs/experiment_transfer"
    """folder for the source runs (not committed)"""
    seeds: int = 10
    """seeds 0 .. seeds-1 for the source runs and the transfer"""
    processes: int = 2
    """runs in parallel (each with one MuJoCo worker); results do not depend on it"""
    quick: bool = False
    """tiny budget for the smoke test; overrides the sizes below"""
    reuse: bool = True
    """keep finished source runs in runs_dir whose config is the same (resume is a no-op)"""
    from_json: bool = False
    """run nothing: compare and report again from out_dir/transfer.json's per-seed runs"""
    arms: tuple[str, ...] = ("pbml", "static", "greedy", "truncation", "fixed_mutation")
    """source arms: selection schemes on shifting goals, or "static" (PBML, static goal)"""
    task: str = "HalfCheetahVel"
    """MuJoCo task; sources train on its train goals, the transfer uses held-out goals"""
    population_size: int = 40
    """N for every arm (greedy: 1 + lambda with lambda = N - 1)"""
    hidden: tuple[int, ...] = (32, 32)
    """policy hidden layers"""
    max_episode_steps: int = 200
    """episode length (one episode per member per generation)"""
    source_generations: int = 80
    """generations of the source runs"""
    period: int = 10
    """generations between goal shifts in the source runs"""
    transfer_generations: int = 40
    """generations of adaptation after transfer"""
    k: int = 10
    """report fitness after k generations of adaptation"""
    init_sigma: float = 0.05
    """founders' mutation radius"""
    tau: float = 0.1
    """meta-mutation rate of log sigma"""
    death_rate: float = 0.2
    """PBML death rate D"""


QUICK = {"seeds": 2, "arms": ("pbml", "static", "greedy"), "population_size": 6, "hidden": (8,),
         "max_episode_steps": 20, "source_generations": 4, "period": 2,
         "transfer_generations": 3, "k": 2}  # fmt: skip
ROBUSTNESS_FRACTIONS = (0.25, 0.75)  # the main threshold fraction is the library's 0.5


def parse_args(argv: Sequence[str] | None = None) -> Args:
    args, parser = parse_dataclass_args(Args, argv, __doc__ or "", QUICK)
    if "pbml" not in args.arms:
        parser.error("--arms must include pbml: it is the arm the question is about")
    return args


def make_source(args: Args, arm: str, seed: int) -> Any:
    """The arm decides the scheme and whether the goal shifts; the budget is everyone's."""
    return source_config(
        task=args.task, seed=seed, scheme="pbml" if arm == "static" else arm,
        static=arm == "static", generations=args.source_generations,
        population_size=args.population_size, hidden=args.hidden,
        max_episode_steps=args.max_episode_steps, period=args.period,
        init_sigma=args.init_sigma, tau=args.tau, death_rate=args.death_rate,
    )  # fmt: skip


def run_experiment(args: Args) -> dict[str, Any]:
    """Source runs, then every arm's transfer to held-out goals plus the fresh control."""
    started = time.perf_counter()
    specs = grid(args.arms, range(args.seeds), lambda a, s: make_source(args, a, s), args.runs_dir)
    records = train_grid(specs, args.processes, args.reuse)
    sources = {arm: [source_record(r, args.period) for r in runs]
               for arm, runs in group_by_arm(records).items()}  # fmt: skip
    source_seconds = time.perf_counter() - started
    plan = plan_transfer(
        [f"{arm}={run['run_dir']}" for arm in args.arms for run in sources[arm]],
        args.task, generations=args.transfer_generations, seeds=range(args.seeds),
        goals="heldout", fresh=True, k=args.k,
    )  # fmt: skip
    tr = run_plan(plan, processes=args.processes)
    return {
        "args": dataclasses.asdict(args),
        "sources": sources,
        "transfer": tr,
        "source_seconds": round(source_seconds, 1),
        "transfer_seconds": round(time.perf_counter() - started - source_seconds, 1),
        "runtime_s": round(time.perf_counter() - started, 1),
    }


def compare(data: dict[str, Any]) -> None:
    """PBML minus every arm, and the speed comparison again at other threshold fractions."""
    tr = data["transfer"] = reaggregate(data["transfer"])
    data["comparison"] = transfer_comparison(tr, "pbml", COMPARED, "ci_low", "ci_high")
    data["other_thresholds"] = {}
    for fraction in ROBUSTNESS_FRACTIONS:
        again = reaggregate(tr, fraction)
        data["other_thresholds"][str(fraction)] = {
            "generations_to_threshold": {
                arm: entry["summary"]["generations_to_threshold"]
                for arm, entry in again["arms"].items()
            },
            "paired": {o: c["generations_to_threshold"] for o, c in
                       transfer_comparison(again, "pbml", COMPARED[:1]).items()},
        }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train the sources, transfer them, compare, and write the report."""
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "transfer.json"
    data = json.loads(path.read_text("utf-8")) if args.from_json else run_experiment(args)
    compare(data)
    path.write_text(compact_json(data, sort_keys=True), encoding="utf-8")
    figures = plot_transfer(data["transfer"], out_dir, prefix="transfer")
    write_report(data, out_dir, figures)
    print(f"wrote {out_dir}/transfer.md, transfer.json and figures")
    return data


if __name__ == "__main__":
    main()
