"""Reproduce the paper's Numeric-World and Square-World experiments for every selection scheme.

Frans & Witkowski (2021), "Population-Based Evolution Optimizes a Meta-Learning Objective",
experiments 1 and 2 (arXiv 2103.06435; docs/method.md). Read top to bottom: arguments, arms
(one job per experiment, condition and seed); aggregation, claims, figures and report are in
``pbml_control.experiments`` (``paper_results``, ``paper_claims``, ``paper_report``).

    python scripts/reproduce_paper.py             # full run, writes docs/results/paper.{md,json}
    python scripts/reproduce_paper.py --quick     # tiny budget (< 30 s), for the smoke test

Every run is seeded by (experiment seed, generation, member id) inside the core, and the jobs
are independent, so the results do not depend on ``--processes``.

Definitions (ours; the paper's exact ones are unknown):
- Numeric World: R = population mean of log sigma_x; the "R slope" of a run is the least-squares
  slope of R over generations.
- "Final" fitness: the mean over the last ``final_window`` generations of the population's mean
  (or best) fitness; in the Square World that is one goal epoch.
- Hard-Square transfer: the final population of a Square-World run continues on ``hard_square``
  under PBML selection with a random goal schedule (same goals for every condition of one
  seed), moved as ``pbml transfer`` moves it (``pbml_control.transfer.transfer_start``). A goal
  epoch is a *hit* when some member is inside a square in at least one generation of it.
  **Transfer success = the share of goal epochs that are hits** (Wilson interval over the
  pooled epochs); the generations from a shift to the first hit are censored at the period
  (Kaplan-Meier median over the pooled epochs; compared by a log-rank test stratified by seed).
- The Hard-Square reach probe, which coverage cannot win (``paper_probe``), and R in sigma units
  with the additive sigma update and the sigma ceiling (``paper_numeric``): see those modules.
- Other intervals: 95% Student-t over seeds (paired over seeds for differences).
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

from pbml_control.experiments.paper_claims import judge_claims
from pbml_control.experiments.paper_numeric import numeric_run
from pbml_control.experiments.paper_probe import reach_probes
from pbml_control.experiments.paper_report import plot_figures, write_report
from pbml_control.experiments.paper_results import aggregate
from pbml_control.experiments.runs import process_map
from pbml_control.experiments.toy import evolve_curves, hit_summary, toy_config
from pbml_control.script_args import parse_dataclass_args
from pbml_control.selection import SCHEMES
from pbml_control.stats import compact_json


@dataclass
class Args:
    """All knobs of the reproduction; every scheme gets the same budget (population x gens)."""

    out_dir: str = "docs/results"
    """folder for paper.md, paper.json and the PNG figures"""
    seeds: int = 10
    """number of seeds (0 .. seeds-1) per condition"""
    processes: int = 2
    """worker processes; results do not depend on it"""
    quick: bool = False
    """tiny budget (a few seconds) for the smoke test; overrides the sizes below"""
    population_size: int = 256
    """N for every scheme; greedy is (1 + lambda) with lambda = N - 1"""
    numeric_generations: int = 300
    """generations in the Numeric World"""
    square_generations: int = 300
    """generations in the Square World (before transfer)"""
    transfer_generations: int = 200
    """generations on Hard Square after transfer"""
    period: int = 10
    """generations between goal shifts (Square World and Hard Square)"""
    death_rate: float = 0.2
    """PBML / drift death rate D"""
    parent_pressure: float = 1.0
    """PBML rank weighting alpha of parents"""
    truncation_fraction: float = 0.2
    """truncation GA keeps the top k = fraction * N"""
    order: str = "decoupled"
    """mutation order: 'decoupled' (the paper's) or 'coupled' (Schwefel's)"""
    numeric_init_sigma: float = 0.1
    """founders' sigma in the Numeric World (configs/numeric.toml)"""
    numeric_tau: float = 0.1
    """meta-mutation rate in the Numeric World (configs/numeric.toml)"""
    square_init_sigma: float = 1.0
    """founders' sigma in Square World and for fresh Hard-Square genomes (configs/square.toml)"""
    square_tau: float = 0.2
    """meta-mutation rate in Square World and Hard Square (configs/square.toml)"""
    fixed_sigmas: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0)
    """fresh Hard-Square controls with frozen sigma (fixed_mutation scheme)"""
    final_window: int = 10
    """generations averaged for 'final' fitness"""
    transfer_seed_offset: int = 1000
    """transfer runs use seed + offset, so their streams differ from the source run's"""
    sweep: bool = True
    """also run the PBML settings sweep (death rate, parent pressure, tau)"""
    numeric_tau_add: float = 0.01
    """additive-update rate of sigma in the Numeric World (tau x init sigma: the same first step)"""
    additive_schemes: tuple[str, ...] = ("pbml", "greedy", "truncation", "drift")
    """schemes also run in the Numeric World with the additive sigma update"""
    probes: int = 5
    """Hard-Square reach probes per (condition, seed)"""
    probe_generations: int = 20
    """generations a reach probe may take (fresh founders: 0/10 reached in a pilot)"""
    probe_seed_offset: int = 2000
    """probe r of seed s uses seed s + offset + 100 r"""


QUICK = {"seeds": 2, "population_size": 16, "numeric_generations": 20, "square_generations": 20,
         "transfer_generations": 20, "fixed_sigmas": (1.0,), "probes": 1,
         "probe_generations": 5, "additive_schemes": ("pbml",)}  # fmt: skip
# The PBML settings we also tried; each changes one knob of the main setting (tau: a factor).
SWEEP: tuple[tuple[str, dict[str, Any]], ...] = (
    ("D=0.1", {"death_rate": 0.1}),
    ("D=0.5", {"death_rate": 0.5}),
    ("alpha=0", {"parent_pressure": 0.0}),
    ("alpha=3", {"parent_pressure": 3.0}),
    ("tau/2", {"tau_factor": 0.5}),
    ("tau*2", {"tau_factor": 2.0}),
)


def parse_args(argv: Sequence[str] | None = None) -> Args:
    return parse_dataclass_args(Args, argv, __doc__ or "", QUICK)[0]


# ----------------------------------------------------------------------------------------------
# Arms: one job per (experiment, condition, seed)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """``experiment``: numeric, square (then its transfer) or fresh (a Hard-Square control)."""

    experiment: str
    condition: str  # row label in the report
    scheme: str
    schedule: str  # static | random
    seed: int
    knobs: tuple[tuple[str, Any], ...] = ()  # Args fields changed (sweep), init_sigma, update


def make_config(args: Args, job: Job, problem: str, generations: int, seed: int, scheme: str):
    """The one place where the settings become a run."""
    knobs = dict(job.knobs)
    numeric = problem == "numeric"
    tau = args.numeric_tau if numeric else args.square_tau
    additive = {"sigma_update": "additive", "tau_add": args.numeric_tau_add}
    return toy_config(
        problem, seed=seed, generations=generations, population_size=args.population_size,
        scheme=scheme, schedule=job.schedule if problem != "hard_square" else "random",
        period=args.period, order=args.order, truncation_fraction=args.truncation_fraction,
        init_sigma=knobs.get("init_sigma", args.numeric_init_sigma if numeric
                             else args.square_init_sigma),
        tau=tau * knobs.get("tau_factor", 1.0),
        death_rate=knobs.get("death_rate", args.death_rate),
        parent_pressure=knobs.get("parent_pressure", args.parent_pressure),
        overrides={"mutation": additive} if knobs.get("sigma_update") == "additive" else None,
    )  # fmt: skip


def make_jobs(args: Args) -> list[Job]:
    """Every (experiment, condition, seed), in report order."""
    jobs: list[Job] = []
    for seed in range(args.seeds):
        for scheme in SCHEMES:
            jobs += [Job("numeric", scheme, scheme, "static", seed),
                     Job("square", scheme, scheme, "random", seed)]  # fmt: skip
        for scheme in args.additive_schemes:
            jobs.append(Job("numeric", f"additive {scheme}", scheme, "static", seed,
                            (("sigma_update", "additive"),)))  # fmt: skip
        jobs.append(Job("square", "static", "pbml", "static", seed))
        jobs.append(Job("fresh", "fresh", "pbml", "random", seed))
        for sigma in args.fixed_sigmas:
            jobs.append(Job("fresh", f"fresh, fixed sigma={sigma:g}", "fixed_mutation", "random",
                            seed, (("init_sigma", sigma),)))  # fmt: skip
        if args.sweep:
            for label, knobs in SWEEP:
                for experiment, schedule in (("numeric", "static"), ("square", "random")):
                    jobs.append(Job(experiment, f"pbml {label}", "pbml", schedule, seed,
                                    tuple(knobs.items())))  # fmt: skip
    return jobs


def run_job(job_and_args: tuple[Job, Args]) -> tuple[Job, dict]:
    """One job: its summary numbers and curves (and, for a square job, its transfer's)."""
    job, args = job_and_args
    w, out = args.final_window, {}
    hard_seed = job.seed + args.transfer_seed_offset
    if job.experiment == "numeric":
        cfg = make_config(args, job, "numeric", args.numeric_generations, job.seed, job.scheme)
        return job, numeric_run(cfg, w)
    source = None
    if job.experiment == "square":
        cfg = make_config(args, job, "square", args.square_generations, job.seed, job.scheme)
        source, curves = evolve_curves(cfg)
        out["curves"] = curves
        out["summary"] = {"final_mean": float(curves["fitness_mean"][-w:].mean()),
                          "final_best": float(curves["fitness_best"][-w:].mean()),
                          "log_sigma_x_final": float(curves["log_sigma_x"][-1]),
                          "log_sigma_y_final": float(curves["log_sigma_y"][-1])}  # fmt: skip
    # Hard Square: the square run's whole population under PBML, or fresh founders.
    scheme = job.scheme if source is None else "pbml"
    hard = make_config(args, job, "hard_square", args.transfer_generations, hard_seed, scheme)
    _, out["transfer_curves"] = evolve_curves(hard, source)
    out["transfer"] = hit_summary(out["transfer_curves"], args.period)
    offset = job.seed + args.probe_seed_offset
    probe_seeds = [offset + 100 * r for r in range(args.probes)]
    out["transfer"] |= reach_probes(hard, probe_seeds, args.probe_generations, source)
    return job, out


def run_all(args: Args) -> dict[tuple[str, str], list[dict]]:
    """Every job (``args.processes`` at a time, slow greedy runs first), grouped by
    (experiment, condition) in report order, each group in seed order."""
    jobs = make_jobs(args)
    by_cost = sorted(jobs, key=lambda j: j.scheme != "greedy")
    results = dict(process_map(run_job, [(job, args) for job in by_cost], args.processes))
    grouped: dict[tuple[str, str], list[dict]] = {}
    for job in jobs:
        experiment = "transfer" if job.experiment == "fresh" else job.experiment
        grouped.setdefault((experiment, job.condition), []).append(results[job])
    return grouped


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run everything, save the numbers, draw the figures from them, write the report."""
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = aggregate(run_all(args), args.population_size)
    data: dict[str, Any] = {"args": dataclasses.asdict(args), "results": results}
    data["claims"] = judge_claims(results, data["args"])
    data["runtime_s"] = round(time.perf_counter() - started, 1)
    json_path = out_dir / "paper.json"
    json_path.write_text(compact_json(data, allow_nan=True), encoding="utf-8")
    data = json.loads(json_path.read_text(encoding="utf-8"))  # figures come from the file
    plot_figures(data, out_dir)
    write_report(data, out_dir)
    print(f"wrote {out_dir}/paper.md, paper.json and figures in {data['runtime_s']:.0f} s")
    return data


if __name__ == "__main__":
    main(sys.argv[1:])
