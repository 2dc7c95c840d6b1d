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
   seeds never reach, by the censored sign test (``pbml_control.experiments.compare``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.experiments.compare import direction, transfer_comparison
from pbml_control.experiments.runs import grid, group_by_arm, train_grid
from pbml_control.experiments.sources import source_config, source_record
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json, format_ci, summary
from pbml_control.transfer import plan_transfer, run_plan
from pbml_control.transfer_metrics import reaggregate
from pbml_control.transfer_report import plot_transfer, transfer_table


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
COMPARED = ("generations_to_threshold", "mean_at_k", "auc_mean", "final_mean", "zero_shot_mean")


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


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def verdict(stat: dict[str, Any], higher_is_better: bool = True) -> str:
    return {1: "PBML better", -1: "PBML worse", 0: "no clear difference"}.get(
        direction(stat, higher_is_better), "undetermined"
    )


def speed(stat: dict[str, Any]) -> str:
    """A censored speed comparison: who reached the threshold first, and the sign test."""
    return (
        f"PBML first on {stat['a_first']} seeds, the arm on {stat['b_first']}, "
        f"{stat['undecided']} undecided, sign test p = {stat['p']:.3g} ({verdict(stat)})"
    )


def _median(time: dict[str, Any]) -> str:
    m = time["median"]
    return f"{m:g}" if m is not None else "not reached (fewer than half the seeds reached it)"


def answer(data: dict[str, Any]) -> list[str]:
    """The plain answer, from the paired comparisons (never hand-edited)."""
    comparison, arms = data["comparison"], data["transfer"]["arms"]
    lines = []
    for other, cmp in comparison.items():
        median = {a: arms[a]["summary"]["generations_to_threshold"] for a in ("pbml", other)}
        lines.append(
            f"- PBML vs **{other}**: generations to threshold (Kaplan-Meier median) "
            + " vs ".join(_median(median[a]) for a in median)
            + f"; {speed(cmp['generations_to_threshold'])}; area under the mean-fitness curve "
            f"difference {format_ci(cmp['auc_mean'])} ({verdict(cmp['auc_mean'])}); zero-shot "
            f"mean difference {format_ci(cmp['zero_shot_mean'])}."
        )
    focus = [o for o in ("static", "greedy") if o in comparison]
    speeds = {o: verdict(comparison[o]["generations_to_threshold"]) for o in focus}
    if focus and all(v == "PBML better" for v in speeds.values()):
        head = "**Yes**: PBML genomes reach the threshold sooner than " + " and ".join(focus)
    elif any(v == "PBML worse" for v in speeds.values()):
        worse = [o for o, v in speeds.items() if v == "PBML worse"]
        head = "**No**: PBML genomes reach the threshold *later* than " + ", ".join(worse)
    else:
        head = ("**Not shown**: the censored sign tests of generations to threshold against "
                + " and ".join(focus) + f" are not significant at {len(arms['pbml']['seeds'])} "
                "seeds")  # fmt: skip
    auc = {o: verdict(comparison[o]["auc_mean"]) for o in focus}
    head += " (" + "; ".join(f"{o}: speed {speeds[o]}, AUC {auc[o]}" for o in focus) + ")."
    return [head, "", *lines]


def write_report(data: dict[str, Any], out_dir: Path, figures: list[Path]) -> Path:
    args, tr = data["args"], data["transfer"]
    plan = tr["plan"]
    reused = sum(r["reused"] for runs in data["sources"].values() for r in runs)
    heads = ["gens to threshold", "mean @ k", "AUC (mean)", "final mean", "zero-shot mean"]
    lines = [
        "# Transfer to unseen goals: do PBML genomes adapt faster?", "",
        f"Generated by `python scripts/experiment_transfer.py{' --quick' if args['quick'] else ''}`"
        f" in {data['runtime_s']:.0f} s ({data['source_seconds']:.0f} s source runs, "
        f"{data['transfer_seconds']:.0f} s transfer) with {args['processes']} processes on a "
        "shared 2-core machine. Numbers: `transfer.json`; definitions: `pbml_control/transfer.py`."
        + (f" {reused} source runs were reused; their time is not counted." if reused else ""),
        "", "## Question and answer", "",
        f"Do PBML genomes evolved on shifting goals ({args['task']}, train goals) adapt to unseen "
        "goals (held-out region) faster than genomes from a static environment or a greedy "
        "search?", "", *answer(data), "",
        "## Settings (identical for every arm)", "",
        f"- Sources: {args['task']} train goals, population {args['population_size']}, MLP hidden "
        f"{list(args['hidden'])} (tanh), one {args['max_episode_steps']}-step episode per member "
        f"per generation, {args['source_generations']} generations, goal shift every "
        f"{args['period']} (static: one goal), init sigma {args['init_sigma']}, tau {args['tau']} "
        f"(decoupled), PBML death rate {args['death_rate']}; seeds 0..{args['seeds'] - 1}.",
        f"- Transfer: one held-out goal per seed, the same for every arm, {plan['generations']} "
        "generations of PBML selection (generation 0 is the zero-shot fitness), the source's "
        "observation normaliser carried over; `fresh` = new random genomes.",
        f"- Threshold on the population mean fitness per seed: F0 + {plan['threshold_fraction']}"
        " x (Fmax - F0), F0 = fresh arm's zero-shot mean, Fmax = best mean any arm reached. A "
        f"seed that never reaches it is censored at {plan['generations']} generations.",
        "", "## Results after transfer (mean [95% t-CI] over seeds)", "", transfer_table(tr), "",
        "### PBML minus arm, paired by seed (gens to threshold: censored sign test)", "",
        "| arm | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads),
    ]  # fmt: skip
    for other, cmp in data["comparison"].items():
        time_cell = speed(cmp["generations_to_threshold"])
        cells = [time_cell] + [format_ci(cmp[key]) for key in COMPARED[1:]]
        lines.append(f"| {other} | " + " | ".join(cells) + " |")
    lines += ["", "### Does the answer hinge on the threshold?", ""]
    for fraction, entry in data["other_thresholds"].items():
        cells = "; ".join(f"{o}: {speed(s)}" for o, s in entry["paired"].items())
        lines.append(f"- fraction {fraction}: {cells}.")
    lines += ["", "### Goals per seed (gens: generations to threshold, "
              f"{plan['generations'] + 1} = not reached)", "", *goals_table(data), "",
              "## Source runs (train goals)", "",
              "| arm | last-epoch mean | last-epoch best | mean log sigma: start -> end |",
              "|---|---|---|---|"]  # fmt: skip
    for arm, runs in data["sources"].items():
        cell = {key: summary([r[key] for r in runs]) for key in runs[0] if key.endswith(
            ("_mean", "_best", "_log_sigma"))}  # fmt: skip
        lines.append(
            f"| {arm} | {format_ci(cell['last_epoch_mean'])} | "
            f"{format_ci(cell['last_epoch_best'])} | {cell['first_log_sigma']['mean']:.3g} -> "
            f"{format_ci(cell['final_log_sigma'])} |"
        )
    lines += ["", "The static arm's goal differs from the shifting arms' last goal: compare source "
              "fitness within an arm only. Fmax depends on the set of arms.", "",
              *[f"![{p.name}]({p.name})" for p in figures]]  # fmt: skip
    path = out_dir / "transfer.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def goals_table(data: dict[str, Any]) -> list[str]:
    """Each seed's transfer goal, the static sources' goal, and every arm's generations."""
    arms = data["transfer"]["arms"]
    static = {r["seed"]: r["first_goal"] for r in data["sources"].get("static", [])}
    lines = ["| seed | transfer goal | static source's goal | "
             + " | ".join(f"{a}: gens" for a in arms) + " |",
             "|---|---|---|" + "---|" * len(arms)]  # fmt: skip
    for seed, run in arms["pbml"]["seeds"].items():
        goal = ", ".join(f"{g:.2f}" for g in run["goals"][0])
        src = static.get(int(seed))
        shown = "—" if src is None else ", ".join(f"{g:.2f}" for g in src)
        gens = [str(a["seeds"][seed]["metrics"]["generations_to_threshold"]) for a in arms.values()]
        lines.append(f"| {seed} | {goal} | {shown} | " + " | ".join(gens) + " |")
    return lines


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
