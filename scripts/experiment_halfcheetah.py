"""Evidence that PBML learns on HalfCheetahVel, compared with greedy and truncation selection.

Read top to bottom: arguments, the runs (arms = schemes, x seeds, through
``pbml_control.experiments.runs``), the curves each run yields; statistics over seeds are in
``pbml_control.experiments.halfcheetah_stats``, figures and report in
``pbml_control.experiments.halfcheetah_report``. Every scheme gets the same evaluation
budget: the same population size, generations, episodes and episode length, hence the same
number of environment steps; for a given seed every scheme also sees the same goals and episode
seeds (both are keyed by the run seed), so differences between schemes are paired over seeds.

    python scripts/experiment_halfcheetah.py           # full run (~15 min on 2 cores)
    python scripts/experiment_halfcheetah.py --quick   # tiny budget, for the smoke test

Definitions (ours):
- "last 25%": the mean over the last quarter of the generations of the population's mean (or
  best) fitness; "all": the mean over every generation.
- Normalised fitness: 1 + return / (|target| * steps). Standing still scores 0 whatever the
  target and perfect tracking without control cost scores 1, so epochs with different targets
  (raw returns differ by the target's size) can be compared and averaged.
- Adaptation gain after a shift at generation g: fitness_mean[g + k] - fitness_mean[g], with
  k = min(adapt_k, period - 1), averaged over a run's shifts.
- "Improves within the epoch": fitness_mean at the last generation of an epoch that starts with
  a shift is higher than at its first generation.
- Confidence intervals: 95% Student-t over seeds (paired over seeds for differences); the
  share of epochs that improve gets a Wilson interval over all epochs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.config import RunConfig
from pbml_control.experiments.halfcheetah_report import COLUMNS, report
from pbml_control.experiments.halfcheetah_stats import paired, summarise
from pbml_control.experiments.runs import grid, run_span, train_grid
from pbml_control.genome import module_series
from pbml_control.runner import read_metrics
from pbml_control.script_args import parse_dataclass_args


@dataclass
class Args:
    """Every knob of the experiment; every scheme runs with the same budget."""

    out_dir: str = "docs/results"
    """folder for halfcheetah.md, halfcheetah.json and the PNG figures"""
    runs_dir: str = "runs/experiment_halfcheetah"
    """folder for the run folders (metrics.jsonl, checkpoints); git-ignored"""
    schemes: tuple[str, ...] = ("pbml", "greedy", "truncation")
    """selection schemes compared (pbml first: its seed-0 run is the one plotted)"""
    seeds: int = 3
    """number of seeds (0 .. seeds-1) per scheme"""
    processes: int = 2
    """runs in parallel, each with one in-process evaluator; results do not depend on it"""
    quick: bool = False
    """tiny budget (seconds) for the smoke test; overrides the sizes below"""
    population_size: int = 48
    """N for every scheme; greedy is (1 + lambda) with lambda = N - 1"""
    generations: int = 150
    """generations per run"""
    period: int = 15
    """generations between random goal shifts (target velocity in [-2,-0.5] or [0.5,2])"""
    hidden: tuple[int, ...] = (32, 32)
    """hidden layer sizes of the MLP policy (modules layer0, layer1, head)"""
    max_episode_steps: int = 200
    """episode length; one episode per member per generation"""
    init_sigma: float = 0.05
    """founders' mutation radius, every module"""
    tau: float = 0.1
    """meta-mutation rate of log sigma"""
    order: str = "decoupled"
    """mutation order: 'decoupled' (the paper's) or 'coupled' (Schwefel's)"""
    death_rate: float = 0.2
    """PBML death rate D"""
    parent_pressure: float = 1.0
    """PBML rank weighting alpha of parents"""
    truncation_fraction: float = 0.2
    """truncation GA keeps the top k = fraction * N"""
    adapt_k: int = 5
    """generations after a shift over which the adaptation gain is measured"""
    from_json: bool = False
    """run nothing: write the report again from out_dir/halfcheetah.json (statistics over seeds
    as saved; the share of improving epochs and the reading are recomputed)"""
    reuse_runs: bool = False
    """keep run folders in runs_dir written with the same config (finished ones are read, not
    trained again)"""


QUICK = {
    "seeds": 2,
    "population_size": 8,
    "generations": 12,
    "period": 4,
    "hidden": (8,),
    "max_episode_steps": 20,
    "adapt_k": 2,
}


def parse_args(argv: Sequence[str] | None = None) -> Args:
    args, _ = parse_dataclass_args(Args, argv, __doc__ or "", QUICK)
    return args


# ----------------------------------------------------------------------------------------------
# The runs: every scheme x seed, the same budget
# ----------------------------------------------------------------------------------------------


def make_config(args: Args, scheme: str, seed: int) -> RunConfig:
    """The run's config: identical for every scheme except ``selection.scheme``."""
    return RunConfig.from_dict(
        {
            "seed": seed,
            "generations": args.generations,
            "population_size": args.population_size,
            "checkpoint_every": args.generations,
            "keep_checkpoints": 1,
            "problem": {
                "name": "mujoco",
                "task": "HalfCheetahVel",
                "hidden": list(args.hidden),
                "episodes": 1,
                "max_episode_steps": args.max_episode_steps,
                "workers": 1,
            },
            "selection": {
                "scheme": scheme,
                "death_rate": args.death_rate,
                "parent_pressure": args.parent_pressure,
                "truncation_fraction": args.truncation_fraction,
            },
            "mutation": {"init_sigma": args.init_sigma, "tau": args.tau, "order": args.order},
            "schedule": {"kind": "random", "period": args.period},
        }
    )


def curves(record: dict[str, Any], max_episode_steps: int) -> dict[str, Any]:
    """One run's per-generation curves (raw and normalised fitness, sigma per module)."""
    rows = read_metrics(record["run_dir"])
    span = run_span(record["run_dir"])
    sigma = module_series(rows, "sigma")
    scale = [abs(r["goal"][0]) * max_episode_steps for r in rows]
    mean, best = [_nan(r["fitness_mean"]) for r in rows], [_nan(r["fitness_best"]) for r in rows]
    return {
        "scheme": record["arm"],
        "seed": record["seed"],
        # a reused run: the span of the original run, from its timing file
        "wall_s": round(span[1] - span[0] if record["reused"] else record["seconds"], 2),
        "span": list(span),
        "generation": [r["generation"] for r in rows],
        "goal": [r["goal"][0] for r in rows],
        "goal_shift": [r["goal_shift"] for r in rows],
        "fitness_mean": mean,
        "fitness_best": best,
        "norm_mean": [1 + f / c for f, c in zip(mean, scale, strict=True)],
        "norm_best": [1 + f / c for f, c in zip(best, scale, strict=True)],
        "sigma": {m: sigma[m] for m in sorted(sigma)},
        "env_steps_total": rows[-1]["env_steps_total"],
    }


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_all(args: Args) -> dict[str, list[dict[str, Any]]]:
    """Every (scheme, seed) run, ``args.processes`` at a time; grouped by scheme, seed order."""
    make = lambda scheme, seed: make_config(args, scheme, seed)  # noqa: E731
    specs = grid(args.schemes, range(args.seeds), make, args.runs_dir, "{arm}_s{seed}", True)
    records = train_grid(specs, args.processes, reuse=args.reuse_runs)
    runs = [curves(r, args.max_episode_steps) for r in records]
    return {s: sorted((r for r in runs if r["scheme"] == s), key=lambda r: r["seed"])
            for s in args.schemes}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        return report(json.loads((out_dir / "halfcheetah.json").read_text("utf-8")), out_dir)
    grouped = run_all(args)
    every = [r for runs in grouped.values() for r in runs]  # first start to last finish
    runtime = max(r["span"][1] for r in every) - min(r["span"][0] for r in every)
    summary = {s: summarise(runs, args.generations, args.period, args.adapt_k)
               for s, runs in grouped.items()}  # fmt: skip
    paired_diffs = {
        s: {key: paired(summary["pbml"], summary[s], key) for key, _ in COLUMNS}
        for s in grouped
        if s != "pbml" and "pbml" in grouped
    }
    data: dict[str, Any] = {
        "args": dataclasses.asdict(args),
        "runtime_s": round(runtime, 1),
        "config_example": make_config(args, args.schemes[0], 0).to_dict(),
        "summary": summary,
        "paired": paired_diffs,
        "runs": grouped,
    }
    return report(data, out_dir)


if __name__ == "__main__":
    main()
