"""Do the operators beyond the paper (scouts, fatal passes, mating, low-rank variance) help PBML?

Issue 6 ("Measure"); the operators are in ``pbml_control/operators.py`` and docs/method.md
("Operators beyond the paper"). Read top to bottom: arguments, arms, the two transfers,
paired comparison, figures, report.

    python scripts/experiment_beyond.py            # ~18 min on 2 shared, loaded cores
    python scripts/experiment_beyond.py --quick    # tiny budget (< 60 s), for the smoke test

Arms: PBML alone, PBML + each operator, PBML + all of them. Every arm has the same budget
(population, generations, episode length) and the operator is active **during source training
and during adaptation after transfer** (the adaptation config of an arm is its source config
with a new goal, so its ``[operators]`` section carries over).

(a) Square World -> Hard Square: the protocol and code of ``scripts/reproduce_paper.py``
    (``make_config``, ``run``, ``transfer_summary``): the whole final Square-World population
    continues on Hard Square under PBML with a random goal every ``square_period`` generations.
(b) HalfCheetahVel, train goals (shifting) -> one held-out goal per seed: the source runs of
    ``scripts/experiment_transfer.py`` (``source_config``, ``train_source``) and the harness
    ``pbml_control.transfer`` (one plan per arm, so each arm adapts with its own operators,
    merged into one plan so every arm shares the per-seed threshold, goals and episode seeds).

Every arm of one seed sees the same goals and episode seeds, so differences are *paired by
seed*: operator arm minus PBML alone, mean and 95% Student-t interval. An operator **helps**
(or **hurts**) on a metric when that interval excludes 0 in the good (bad) direction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# experiment_transfer and reproduce_paper are sibling scripts we reuse (scripts/ is on
# sys.path when a script there runs, and spawned workers inherit it).
import experiment_transfer as et
import numpy as np
import reproduce_paper as rp

from pbml_control.config import RunConfig
from pbml_control.loop import EvolutionState
from pbml_control.operators import OperatorsConfig
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json, mean_ci
from pbml_control.transfer import plan_transfer, run_plan
from pbml_control.transfer_report import plot_transfer, transfer_table

# ----------------------------------------------------------------------------------------------
# Arguments
# ----------------------------------------------------------------------------------------------


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
    """run nothing: redraw the figures and rewrite beyond.md from out_dir/beyond.json"""
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
    """Flags from the Args fields, their types and the docstrings under them (CleanRL)."""
    args, parser = parse_dataclass_args(Args, argv, __doc__ or "", QUICK)
    unknown = set(args.arms) - set(ARM_OPERATORS)
    if unknown or "pbml" not in args.arms:
        parser.error(f"--arms must include pbml and come from {', '.join(ARM_OPERATORS)}")
    return args


# ----------------------------------------------------------------------------------------------
# Arms: which operator keys each arm switches on (values come from Args)
# ----------------------------------------------------------------------------------------------

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


def with_operators(config: RunConfig, ops: OperatorsConfig) -> RunConfig:
    return dataclasses.replace(config, operators=ops)


# ----------------------------------------------------------------------------------------------
# (a) Square World -> Hard Square
# ----------------------------------------------------------------------------------------------


def paper_args(args: Args) -> rp.Args:
    """reproduce_paper's settings with our budget (its make_config reads these)."""
    return rp.Args(
        population_size=args.square_population,
        square_generations=args.square_generations,
        transfer_generations=args.hard_generations,
        period=args.square_period,
        death_rate=args.death_rate,
    )


def square_job(job: tuple[str, int, Args]) -> tuple[str, int, dict[str, Any]]:
    """One arm and seed: Square World, then the whole population on Hard Square.

    The square branch of ``reproduce_paper.run_job``, with the arm's operators in both configs
    (its ``Job.overrides`` can only change sections that ``make_config`` writes).
    """
    arm, seed, args = job
    pa, ops = paper_args(args), operators_for(args, arm)
    source = rp.Job("square", arm, "pbml", "random", seed)
    cfg = with_operators(rp.make_config(pa, source, "square", pa.square_generations, seed), ops)
    final, curves = rp.run(cfg)
    hard_seed = seed + pa.transfer_seed_offset
    target = rp.Job("transfer", arm, "pbml", "random", seed)
    hard = rp.make_config(pa, target, "hard_square", pa.transfer_generations, hard_seed)
    start = EvolutionState(generation=0, next_id=final.next_id, population=final.population)
    _, tcurves = rp.run(with_operators(hard, ops), start)
    w = pa.final_window
    summary = rp.transfer_summary(tcurves, pa.period)
    summary["best_fitness"] = float(np.mean(tcurves["fitness_best"]))
    summary["source_final_mean"] = float(curves["fitness_mean"][-w:].mean())
    summary["source_final_best"] = float(curves["fitness_best"][-w:].mean())
    summary["source_log_sigma_x"] = float(curves["log_sigma_x"][-1])
    summary["hard_log_sigma_x"] = float(tcurves["log_sigma_x"][-1])
    out = {"summary": summary, "curves": {k: tcurves[k].tolist() for k in ("fitness_mean",)}}
    return arm, seed, out


# Square metrics: (key, heading, higher is better)
SQUARE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("success", "transfer success (share of goal epochs with a hit)", True),
    ("mean_fitness", "average fitness (population mean, all transfer gens)", True),
    ("best_fitness", "top fitness (population best, all transfer gens)", True),
    ("gens_to_hit", "gens from shift to first hit (threshold fitness 1)", False),
    ("source_final_mean", "Square World final mean", True),
    ("source_final_best", "Square World final best", True),
    ("hard_log_sigma_x", "final log sigma_x on Hard Square", True),
)


def run_square(args: Args) -> dict[str, Any]:
    jobs = [(arm, seed, args) for arm in args.arms for seed in range(args.square_seeds)]
    results = _map(square_job, jobs, args.processes)
    per: dict[str, dict[int, dict[str, Any]]] = {arm: {} for arm in args.arms}
    for arm, seed, out in results:
        per[arm][seed] = out
    arms: dict[str, Any] = {}
    for arm in args.arms:
        seeds = sorted(per[arm])
        values = {key: [per[arm][s]["summary"][key] for s in seeds] for key, _, _ in SQUARE_METRICS}
        curve = np.array([per[arm][s]["curves"]["fitness_mean"] for s in seeds])
        m, lo, hi = mean_ci(curve)
        arms[arm] = {
            "summary": {key: ci(v) for key, v in values.items()},
            "per_seed": values,
            "curve_fitness_mean": {"mean": m.tolist(), "lo": lo.tolist(), "hi": hi.tolist()},
        }
    return {"arms": arms, "seeds": list(range(args.square_seeds))}


# ----------------------------------------------------------------------------------------------
# (b) HalfCheetahVel: train goals -> held-out goals
# ----------------------------------------------------------------------------------------------


def transfer_args(args: Args) -> et.Args:
    """experiment_transfer's settings with our budget (its source_config reads these)."""
    return et.Args(
        task=args.task,
        population_size=args.robot_population,
        hidden=args.hidden,
        max_episode_steps=args.max_episode_steps,
        source_generations=args.source_generations,
        period=args.robot_period,
        init_sigma=args.init_sigma,
        tau=args.tau,
        death_rate=args.death_rate,
    )


def run_robot(args: Args) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Source runs (pbml scheme, shifting train goals, arm's operators), then the transfer."""
    ta = transfer_args(args)
    jobs = [
        (
            str(Path(args.runs_dir) / f"{arm}__seed{seed}"),
            with_operators(et.source_config(ta, "pbml", seed), operators_for(args, arm)),
            args.reuse,
        )
        for arm in args.arms
        for seed in range(args.robot_seeds)
    ]
    started = time.perf_counter()
    results = _map(et.train_source, jobs, args.processes)
    source_seconds = time.perf_counter() - started
    sources: dict[str, list[dict[str, Any]]] = {arm: [] for arm in args.arms}
    for (run_dir, _, _), result in zip(jobs, results, strict=True):
        sources[Path(run_dir).name.split("__")[0]].append(result)

    # One plan per arm: the adaptation config is the arm's first source config, operators
    # included. Goals are drawn per transfer seed from their own stream, so plans agree.
    plans = []
    for arm in args.arms:
        specs = [f"{arm}={run['run_dir']}" for run in sources[arm]]
        plans.append(
            plan_transfer(
                specs,
                args.task,
                generations=args.transfer_generations,
                seeds=range(args.robot_seeds),
                goals="heldout",
                fresh=arm == "pbml",
                k=args.k,
            )
        )
    for plan in plans:
        for job in plan.jobs:
            expected = operators_for(args, "pbml" if job.arm == "fresh" else job.arm)
            assert job.config.operators == expected, (job.arm, job.config.operators)
    goals = {p.jobs[0].config.schedule.goals for p in plans}
    assert len(goals) == 1, "every arm must see the same transfer goals"
    merged = dataclasses.replace(
        plans[0],
        arms=tuple(a for p in plans for a in p.arms),
        jobs=tuple(j for p in plans for j in p.jobs),
    )
    return sources, run_plan(merged, processes=args.processes), source_seconds


# Robot metrics (key, heading, higher is better); keys of pbml_control.transfer's seed metrics.
ROBOT_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("generations_to_threshold", "gens to threshold", False),
    ("auc_mean", "average fitness (AUC of the mean curve)", True),
    ("final_mean", "final mean", True),
    ("final_best", "top fitness (final best)", True),
    ("mean_at_k", "mean @ k", True),
    ("best_at_k", "best @ k", True),
    ("zero_shot_mean", "zero-shot mean", True),
)
# The three a verdict rests on: average fitness, top fitness, speed to threshold.
PRIMARY = {
    "square": ("mean_fitness", "best_fitness", "gens_to_hit"),
    "robot": ("auc_mean", "final_best", "generations_to_threshold"),
}


# ----------------------------------------------------------------------------------------------
# Comparison: paired by seed, operator arm minus PBML alone
# ----------------------------------------------------------------------------------------------


def ci(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and 95% t-interval (``pbml_control.stats.mean_ci``); None/NaN left out."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"mean": None, "lo": None, "hi": None, "n": 0}
    m, lo, hi = (float(x) for x in mean_ci(arr))
    finite = math.isfinite(lo)
    return {"mean": m, "lo": lo if finite else None, "hi": hi if finite else None, "n": arr.size}


def effect(diff: dict[str, Any], higher_is_better: bool) -> str:
    """helps / hurts / no detectable difference, from the paired interval."""
    lo, hi = diff["lo"], diff["hi"]
    if lo is None:
        return "undetermined"
    if lo > 0 or hi < 0:
        return "helps" if (lo > 0) == higher_is_better else "hurts"
    return "no detectable difference"


def compare(
    per_seed: dict[str, dict[str, list[float | None]]],
    metrics: tuple[tuple[str, str, bool], ...],
) -> dict[str, dict[str, Any]]:
    """For each arm but pbml and each metric: arm - pbml per seed, its CI and effect."""
    out: dict[str, dict[str, Any]] = {}
    for arm, values in per_seed.items():
        if arm == "pbml":
            continue
        out[arm] = {}
        for key, _, higher in metrics:
            pairs = zip(values[key], per_seed["pbml"][key], strict=True)
            diffs = [None if a is None or b is None else a - b for a, b in pairs]
            stat = ci(diffs)
            out[arm][key] = {**stat, "per_seed": diffs, "effect": effect(stat, higher)}
    return out


def verdict(effects: Sequence[str]) -> str:
    """One word per operator and transfer, from its primary metrics."""
    good, bad = "helps" in effects, "hurts" in effects
    if good and bad:
        return "mixed"
    return "helps" if good else "hurts" if bad else "no detectable difference"


def robot_per_seed(tr: dict[str, Any]) -> dict[str, dict[str, list[float | None]]]:
    return {
        arm: {
            key: [entry["seeds"][s]["metrics"][key] for s in sorted(entry["seeds"], key=int)]
            for key, _, _ in ROBOT_METRICS
        }
        for arm, entry in tr["arms"].items()
        if arm != "fresh"
    }


# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------


def plot_square(data: dict[str, Any], out_dir: Path) -> Path:
    """beyond_square.png: bars per arm (4 metrics) and the Hard-Square mean-fitness curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = data["square"]["arms"]
    colors = plt.get_cmap("tab10")
    fig, grid = plt.subplots(2, 3, figsize=(15, 8))
    axes = grid.ravel()
    bars = [m for m in SQUARE_METRICS if not m[0].startswith("source_")]
    for ax, (key, title, _) in zip(axes[:5], bars, strict=True):
        stats = [arms[a]["summary"][key] for a in arms]
        mean = np.array([s["mean"] for s in stats], dtype=float)
        lo = np.array([np.nan if s["lo"] is None else s["lo"] for s in stats])
        hi = np.array([np.nan if s["hi"] is None else s["hi"] for s in stats])
        err = np.nan_to_num(np.vstack([mean - lo, hi - mean]))
        ax.bar(range(len(arms)), mean, yerr=err, capsize=3, color=[colors(i) for i in range(6)])
        ax.set_xticks(range(len(arms)), list(arms), rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
    period = data["args"]["square_period"]
    for i, (arm, entry) in enumerate(arms.items()):
        band = entry["curve_fitness_mean"]
        mean = np.convolve(band["mean"], np.ones(period) / period, mode="valid")
        axes[5].plot(np.arange(len(mean)) + period - 1, mean, color=colors(i), lw=1.3, label=arm)
    axes[5].set(title=f"Hard Square mean fitness ({period}-gen moving avg)", xlabel="generation")
    axes[5].legend(fontsize=7)
    fig.suptitle(
        f"Square World -> Hard Square, {len(data['square']['seeds'])} seeds, mean and 95% t-CI"
    )
    fig.tight_layout()
    path = out_dir / "beyond_square.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_differences(data: dict[str, Any], out_dir: Path) -> Path:
    """beyond_differences.png: paired differences vs PBML alone, primary metrics, both transfers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = {k: h for k, h, _ in (*SQUARE_METRICS, *ROBOT_METRICS)}
    fig, axes = plt.subplots(2, 3, figsize=(15, 6.5))
    for row, part in enumerate(("square", "robot")):
        comparison = data["comparison"][part]
        arms = list(comparison)
        for ax, key in zip(axes[row], PRIMARY[part], strict=True):
            for i, arm in enumerate(arms):
                d = comparison[arm][key]
                color = {"helps": "tab:green", "hurts": "tab:red"}.get(d["effect"], "tab:gray")
                if d["lo"] is not None:
                    ax.plot([d["lo"], d["hi"]], [i, i], color=color, lw=2)
                ax.plot([d["mean"]], [i], "o", color=color)
            ax.axvline(0, color="k", lw=0.8)
            ax.set_yticks(range(len(arms)), arms)
            ax.invert_yaxis()
            ax.set_title(f"{part}: {heads[key]}", fontsize=9)
    fig.suptitle(
        "arm minus PBML alone, paired by seed, 95% t-CI (green: helps, red: hurts; "
        "fewer generations is better)"
    )
    fig.tight_layout()
    path = out_dir / "beyond_differences.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def _g(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _ci(stat: dict[str, Any]) -> str:
    if stat["lo"] is None:
        return _g(stat["mean"])
    return f"{_g(stat['mean'])} [{_g(stat['lo'])}, {_g(stat['hi'])}]"


def _tci(stat: dict[str, Any]) -> str:
    """A pbml_control.transfer summary cell (its keys are ci_low / ci_high)."""
    return _ci({"mean": stat["mean"], "lo": stat["ci_low"], "hi": stat["ci_high"]})


def _settings(args: Args) -> list[str]:
    ops = ", ".join(f"`{k} = {getattr(args, k)}`" for k in ARM_OPERATORS["all"])
    return [
        f"- Operator settings (chosen before any result, the same in both transfers): {ops}. "
        "An arm switches on only its operator's keys (`all`: every one); the rest stay 0.",
        "- The operators act **during source training and during adaptation after transfer** "
        "(each arm's adaptation config is its source config with the new target and goal).",
        f"- (a) Square World -> Hard Square (`scripts/reproduce_paper.py` settings): PBML, "
        f"N = {args.square_population}, D = {args.death_rate}, alpha = 1, init sigma 1.0, "
        f"tau 0.2 (decoupled); {args.square_generations} Square-World generations, then the "
        f"whole population on Hard Square for {args.hard_generations} generations; random goal "
        f"every {args.square_period} generations; seeds 0..{args.square_seeds - 1}.",
        f"- (b) {args.task}: PBML on shifting train goals (|v| in [0.5, 2], shift every "
        f"{args.robot_period} generations), N = {args.robot_population}, MLP "
        f"{list(args.hidden)}, one {args.max_episode_steps}-step episode per member and "
        f"generation, {args.source_generations} source generations, init sigma "
        f"{args.init_sigma}, tau {args.tau}, D = {args.death_rate}; then one held-out goal per "
        f"seed (|v| in [2, 3], static) for {args.transfer_generations} generations of PBML "
        f"adaptation (generation 0 = zero-shot); seeds 0..{args.robot_seeds - 1}; `fresh` = new "
        "random genomes adapting like PBML alone (a control, not compared).",
    ]


def _square_table(data: dict[str, Any]) -> list[str]:
    heads = [h for _, h, _ in SQUARE_METRICS]
    lines = ["| arm | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for arm, entry in data["square"]["arms"].items():
        cells = [_ci(entry["summary"][key]) for key, _, _ in SQUARE_METRICS]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


def _diff_table(
    comparison: dict[str, Any], metrics: tuple[tuple[str, str, bool], ...]
) -> list[str]:
    heads = [h for _, h, _ in metrics]
    lines = ["| arm - pbml | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for arm, cmp in comparison.items():
        cells = []
        for key, _, _ in metrics:
            d = cmp[key]
            mark = {"helps": " **+**", "hurts": " **−**"}.get(d["effect"], "")
            cells.append(_ci(d) + mark)
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


def verdicts(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for part in ("square", "robot"):
        for arm, cmp in data["comparison"][part].items():
            effects = [cmp[key]["effect"] for key in PRIMARY[part]]
            out.setdefault(arm, {})[part] = verdict(effects)
    return out


SHORT = {
    "mean_fitness": "average",
    "best_fitness": "top",
    "gens_to_hit": "gens to hit",
    "auc_mean": "average (AUC)",
    "final_best": "top (final best)",
    "generations_to_threshold": "gens to threshold",
}


def _verdict_lines(data: dict[str, Any]) -> list[str]:
    """A summary table, then one line of numbers per operator (primary metrics only)."""
    lines = ["| arm | Hard Square | robot |", "|---|---|---|"]
    lines += [f"| {arm} | {v['square']} | {v['robot']} |" for arm, v in data["verdicts"].items()]
    lines.append("")
    for arm, parts in data["verdicts"].items():
        bits = []
        for part in ("square", "robot"):
            cmp = data["comparison"][part][arm]
            nums = "; ".join(
                f"{SHORT[key]} {_ci(cmp[key])}"
                + ("" if cmp[key]["effect"].startswith("no ") else f" ({cmp[key]['effect']})")
                for key in PRIMARY[part]
            )
            name = "Hard Square" if part == "square" else "robot"
            bits.append(f"{name} **{parts[part]}**: {nums}")
        lines.append(f"- **{arm}** — " + ". ".join(bits) + ".")
    return lines


def write_report(data: dict[str, Any], args: Args, out_dir: Path, figures: list[Path]) -> Path:
    tr = data["robot"]
    plan = tr["plan"]
    k = plan["k"]
    thresholds = ", ".join(f"seed {s}: {_g(t)}" for s, t in tr["thresholds"].items())
    lines = [
        "# Operators beyond the paper: do they help PBML?",
        "",
        f"Generated by `python scripts/experiment_beyond.py{' --quick' if args.quick else ''}` "
        f"in {data['runtime_s']:.0f} s ({data['square_seconds']:.0f} s Square World, "
        f"{data['robot_source_seconds']:.0f} s robot source runs, "
        f"{data['robot_transfer_seconds']:.0f} s robot transfer) with {args.processes} "
        "processes on a shared 2-core machine. Numbers: `beyond.json`. Operators: "
        "`pbml_control/operators.py`, equations in docs/method.md." + _reuse_note(data),
        "",
        "## Verdict per operator",
        "",
        "Paired by seed, arm minus PBML alone, mean [95% t-CI]. An operator **helps** (or "
        "**hurts**) on a metric when the interval excludes 0 in the good (bad) direction. The "
        "verdict per transfer rests on three primary metrics: average fitness, top fitness and "
        "generations to threshold (helps: at least one helps and none hurts; mixed: both).",
        "",
        *_verdict_lines(data),
        "",
        _conclusion(data),
        "",
        f"These are {_tests(data)} primary tests at 95%: even if no operator did anything, "
        f"about {0.05 * _tests(data):.1f} of them would exclude 0 by chance, so a verdict that "
        "rests on one metric of one transfer is weak evidence.",
        "",
        "## Settings (identical for every arm but the operators)",
        "",
        *_settings(args),
        "",
        "## (a) Square World -> Hard Square",
        "",
        "Mean [95% t-CI] over seeds. Hard Square fitness is 1 inside a square, else 0: "
        "**top fitness** = share of transfer generations in which some member is in a square; "
        "**average fitness** = population mean over all transfer generations; **threshold** = "
        "fitness 1 (a member in a square), counted in generations from each goal shift "
        f"(censored at {args.square_period}). Success = share of goal epochs with a hit.",
        "",
        *_square_table(data),
        "",
        "### Paired differences (arm - PBML alone)",
        "",
        *_diff_table(data["comparison"]["square"], SQUARE_METRICS),
        "",
        "**+**: helps, **−**: hurts (interval excludes 0); for generations, negative is better; "
        "log sigma_x has no better direction (marked as if higher were better).",
        "",
        f"## (b) {args.task}: train goals -> held-out goals",
        "",
        "Mean [95% t-CI] over seeds (`pbml_control.transfer` metrics). Fitness is the episode "
        "return (higher is better). Threshold on the population mean, per seed: F0 + "
        f"{plan['threshold_fraction']} x (Fmax - F0), F0 = fresh arm's zero-shot mean, Fmax = "
        f"best mean any arm reached ({thresholds}); not reached counts as "
        f"{plan['generations'] + 1}.",
        "",
        transfer_table(tr),
        "",
        "### Paired differences (arm - PBML alone)",
        "",
        *_diff_table(data["comparison"]["robot"], ROBOT_METRICS),
        "",
        f"`mean @ k` / `best @ k`: after k = {k} generations of adaptation.",
        "",
        "### Robot source runs (train goals, operators on)",
        "",
        "| arm | last-epoch mean | last-epoch best | mean log sigma: start -> end | seconds/run |",
        "|---|---|---|---|---|",
    ]
    for arm, runs in data["robot_sources"].items():
        m = ci([r["last_epoch_mean"] for r in runs])
        b = ci([r["last_epoch_best"] for r in runs])
        s0 = ci([r["first_log_sigma"] for r in runs])
        s1 = ci([r["final_log_sigma"] for r in runs])
        sec = ci([r["seconds"] for r in runs])
        lines.append(
            f"| {arm} | {_ci(m)} | {_ci(b)} | {_g(s0['mean'])} -> {_ci(s1)} | {_g(sec['mean'])} |"
        )
    lines += [
        "",
        "Every arm of one seed sees the same train goals (the schedule is keyed by the seed), so "
        "these rows are comparable; beyond.json has the paired differences of every metric.",
        "",
        "## Caveats",
        "",
        f"- The robot budget is lean ({args.robot_seeds} seeds, one "
        f"{args.max_episode_steps}-step episode per evaluation): its intervals are wide, and "
        "'no detectable difference' there is not evidence of no effect.",
        "- One operator setting each, chosen a priori; a different scale or rate may behave "
        "differently. The `all` arm does not say which operator drives its effect.",
        "- The robot threshold depends on the set of arms (Fmax is the best any arm reached).",
        _control_note(tr),
        "- Fatal passes keep members that selection removed, mostly low-fitness ones, so they "
        "lower the population mean by construction; their top fitness and speed say more.",
        "",
        "## Figures",
        "",
        *[f"![{p.name}]({p.name})\n" for p in figures],
    ]
    path = out_dir / "beyond.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _conclusion(data: dict[str, Any]) -> str:
    """Which operators clearly help (in one transfer and hurt in none); never hand-edited."""
    v = data["verdicts"]
    helps = [a for a, p in v.items() if "helps" in p.values() and "hurts" not in p.values()]
    hurts = [a for a, p in v.items() if "hurts" in p.values()]
    text = (
        f"**Helps**: {', '.join(helps)}. "
        if helps
        else "**No operator helps** in either transfer at these settings, so no recommended "
        "config is written and every default stays off. "
    )
    if hurts:
        text += f"**Hurts** on at least one transfer: {', '.join(hurts)}."
    return text


def _control_note(tr: dict[str, Any]) -> str:
    """How far evolved PBML genomes are from fresh ones: the transfer's own signal strength."""
    p, f = tr["arms"]["pbml"]["summary"], tr["arms"]["fresh"]["summary"]
    n = len(tr["arms"]["pbml"]["seeds"])
    return (
        f"- Robot control: PBML alone zero-shot mean {_tci(p['zero_shot_mean'])} vs fresh "
        f"{_tci(f['zero_shot_mean'])}; gens to threshold {_tci(p['generations_to_threshold'])} "
        f"vs {_tci(f['generations_to_threshold'])}; reached {p['reached_threshold']}/{n} vs "
        f"{f['reached_threshold']}/{n}. Where these are close, the evolved genomes carry "
        "little over to the held-out goals and leave the operators little to improve on."
    )


def _tests(data: dict[str, Any]) -> int:
    return sum(len(data["comparison"][part]) * len(PRIMARY[part]) for part in PRIMARY)


def _reuse_note(data: dict[str, Any]) -> str:
    reused = sum(r["reused"] for runs in data["robot_sources"].values() for r in runs)
    if not reused:
        return ""
    return (
        f" {reused} robot source runs were reused from an earlier call; their time is not counted."
    )


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def _map(fn: Any, jobs: Sequence[Any], processes: int) -> list[Any]:
    """Jobs in ``processes`` spawned processes (results do not depend on it), in order."""
    if processes > 1 and len(jobs) > 1:
        with multiprocessing.get_context("spawn").Pool(min(processes, len(jobs))) as pool:
            return pool.map(fn, jobs, chunksize=1)
    return [fn(job) for job in jobs]


def _in_arm_order(data: dict[str, Any]) -> dict[str, Any]:
    """JSON sorts keys; tables and figures list the arms in --arms order (fresh last)."""
    arms = data["args"]["arms"]
    data["square"]["arms"] = {a: data["square"]["arms"][a] for a in arms}
    data["robot"]["arms"] = {a: data["robot"]["arms"][a] for a in (*arms, "fresh")}
    data["robot_sources"] = {a: data["robot_sources"][a] for a in arms}
    for part in ("square", "robot"):
        data["comparison"][part] = {a: data["comparison"][part][a] for a in arms if a != "pbml"}
    data["verdicts"] = {a: data["verdicts"][a] for a in arms if a != "pbml"}
    return data


def _strip_robot_curves(tr: dict[str, Any]) -> None:
    """Keep per-seed metrics and the mean curves; drop per-seed sigma curves (size)."""
    for entry in tr["arms"].values():
        for run in entry["seeds"].values():
            run.pop("log_sigma", None)
            run.pop("fitness_median", None)
            run.pop("goals", None)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run both transfers for every arm, compare with PBML alone, write the report."""
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replot:
        return report(out_dir)
    started = time.perf_counter()
    square = run_square(args)
    square_seconds = time.perf_counter() - started
    sources, tr, source_seconds = run_robot(args)
    goals = {s: run["goals"][0] for s, run in tr["arms"]["pbml"]["seeds"].items()}
    _strip_robot_curves(tr)
    data: dict[str, Any] = {
        "args": dataclasses.asdict(args),
        "operators": {arm: dataclasses.asdict(operators_for(args, arm)) for arm in args.arms},
        "square": square,
        "robot": tr,
        "robot_goals": goals,
        "robot_sources": sources,
        "comparison": {
            "square": compare(
                {a: e["per_seed"] for a, e in square["arms"].items()}, SQUARE_METRICS
            ),
            "robot": compare(robot_per_seed(tr), ROBOT_METRICS),
        },
        "square_seconds": round(square_seconds, 1),
        "robot_source_seconds": round(source_seconds, 1),
        "robot_transfer_seconds": round(
            time.perf_counter() - started - square_seconds - source_seconds, 1
        ),
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    data["verdicts"] = verdicts(data)
    (out_dir / "beyond.json").write_text(compact_json(data, sort_keys=True), encoding="utf-8")
    return report(out_dir)


def report(out_dir: Path) -> dict[str, Any]:
    """Figures and beyond.md from beyond.json alone (so --replot redraws without running)."""
    data = _in_arm_order(json.loads((out_dir / "beyond.json").read_text(encoding="utf-8")))
    saved = data["args"]
    args = Args(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})
    figures = [plot_differences(data, out_dir), plot_square(data, out_dir)]
    figures += plot_transfer(data["robot"], out_dir, prefix="beyond_robot")
    write_report(data, args, out_dir, figures)
    print(f"wrote {out_dir}/beyond.md, beyond.json and figures ({data['runtime_s']:.0f} s run)")
    return data


if __name__ == "__main__":
    main(sys.argv[1:])
