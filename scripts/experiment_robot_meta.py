"""Do learned mutation parameters matter on robots? The pre-registered experiment on C3 and C4.

Read top to bottom: arguments, the four stages (pilot, main runs, transfer, report), each
resumable and built from finished run folders, so the whole experiment can be run in stages
of at most about two hours. The design (sizes, arms, endpoints, decision rules) is fixed in
``pbml_control/experiments/robot_meta_design.py`` and opens the report.

    python scripts/experiment_robot_meta.py --stage pilot              # ~1 h on 2 cores
    python scripts/experiment_robot_meta.py --stage main --seeds 0 1 2 # a stage of seeds
    python scripts/experiment_robot_meta.py --stage transfer
    python scripts/experiment_robot_meta.py --stage report             # from what is finished
    python scripts/experiment_robot_meta.py --quick --stage all        # seconds: smoke test
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbml_control.atomic import atomic_write_text
from pbml_control.experiments.robot_meta_archive import (
    ArchiveError,
    combine,
    load_records,
    merge_live,
    write_records,
)
from pbml_control.experiments.robot_meta_design import QUICK, Design, arms, make_config, pilot_arms
from pbml_control.experiments.robot_meta_report import write_report
from pbml_control.experiments.robot_meta_stats import best_fixed_sigma, run_endpoints
from pbml_control.experiments.runs import RunSpec, is_finished, run_span, train_grid
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import compact_json
from pbml_control.transfer import plan_transfer, run_plan
from pbml_control.transfer_cache import JobCache

STAGES = ("pilot", "main", "transfer", "report", "all")


class StageError(Exception):
    """A stage asked for before the one it builds on: a one-line error, exit 2."""


EVOLVING_ARMS = ("pbml_low", "static_low", "fixed_best")
# Main arms whose final populations the transfer stage adapts: the low start and fixed_best.
TRANSFER_SOURCES = tuple(a for a in arms(Design(), 1.0) if not a.endswith("_high"))


@dataclass
class Args:
    stage: str = "report"
    """pilot, main, transfer, report, or all of them in order"""
    runs_dir: str = "../runs/robot_meta"
    """run folders and transfer jobs (outside the git tree)"""
    out_dir: str = "docs/results"
    """robot_meta.md, robot_meta.json, robot_meta_pilot.json and the figures"""
    seeds: tuple[int, ...] = ()
    """main seeds to train or transfer in this stage (default: the design's seeds)"""
    arms: tuple[str, ...] = ()
    """main arms to train in this stage (default: all; the transfer stage needs only
    TRANSFER_SOURCES, so a seed whose other arms are on record can skip them)"""
    processes: int = 2
    """runs in parallel (results do not depend on it)"""
    quick: bool = False
    """tiny sizes (seconds), for the smoke test; writes robot_meta_quick*"""


def spec(args: Args, design: Design, label: str, kind: str, sigma: float, seed: int) -> RunSpec:
    folder = Path(args.runs_dir) / f"{label}__seed{seed}"
    return RunSpec(label, seed, make_config(design, kind, sigma, seed), str(folder))


def out_path(args: Args, name: str) -> Path:
    return Path(args.out_dir) / (f"robot_meta_quick{name}" if args.quick else f"robot_meta{name}")


def pilot(args: Args, design: Design) -> dict[str, Any]:
    """The sigma grid (fixed sigma) and PBML at one start, on the pilot seeds; picks s*."""
    plan = pilot_arms(design)
    specs = [
        spec(args, design, label, kind, sigma, seed)
        for label, (kind, sigma) in plan.items()
        for seed in design.pilot_seeds
    ]
    train_grid(specs, args.processes)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in plan}
    for s in specs:
        start, end = run_span(s.run_dir)  # the run's own span, also when reused
        endpoints = run_endpoints(s.run_dir, design.period, None)
        runs[s.arm].append({"seed": s.seed, "seconds": round(end - start, 1), **endpoints})
    grid = {label: sigma for label, (kind, sigma) in plan.items() if kind == "fixed"}
    data = {
        "design": dataclasses.asdict(design),
        "best_sigma": best_fixed_sigma(runs, grid),
        "runs": runs,
    }
    atomic_write_text(out_path(args, "_pilot.json"), compact_json(data))
    print(f"pilot: best fixed sigma s* = {data['best_sigma']:g}")
    return data


def best_sigma(args: Args) -> float:
    path = out_path(args, "_pilot.json")
    if not path.exists():
        raise StageError(f"{path} not found; run --stage pilot first")
    return float(json.loads(path.read_text(encoding="utf-8"))["best_sigma"])


def main_specs(
    args: Args, design: Design, seeds: tuple[int, ...], only: tuple[str, ...] = ()
) -> list[RunSpec]:
    main_arms = arms(design, best_sigma(args))
    return [spec(args, design, label, kind, sigma, seed)
            for seed in seeds for label, (kind, sigma) in main_arms.items()
            if not only or label in only]  # fmt: skip


def transfer(args: Args, design: Design, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Every target x (sigma frozen, sigma evolving): one plan, its jobs cached per target.

    The stage runs the jobs of ``seeds``; each target's summary covers those seeds and every
    other seed whose jobs the cache already holds, so running the stage seed group by seed
    group adds up instead of each call replacing the summary with its own seeds.
    """
    runs = {(s.arm, s.seed): s for s in main_specs(args, design, design.seeds, TRANSFER_SOURCES)}
    missing = [
        r.run_dir for (_, seed), r in runs.items()
        if seed in seeds and not is_finished(r.run_dir, r.config)
    ]  # fmt: skip
    if missing:
        raise StageError(
            f"{len(missing)} main runs unfinished, e.g. {missing[0]}; "
            "run --stage main for these seeds"
        )
    others = [
        s for s in design.seeds
        if s not in seeds
        and all(is_finished(r.run_dir, r.config) for (_, x), r in runs.items() if x == s)
    ]  # fmt: skip

    def sources(labels: tuple[str, ...], swaps: bool, over: tuple[int, ...]) -> list[str]:
        out = [f"{a}={runs[(a, s)].run_dir}" for a in labels for s in over]
        if swaps:
            out += [f"pbml_reset={runs[('pbml_low', s)].run_dir}::mutation=reset" for s in over]
            out += [
                f"static_pbml_sigma={runs[('static_low', s)].run_dir}"
                f"::mutation={runs[('pbml_low', s)].run_dir}"
                for s in over
            ]
        return out

    # the low-start arms (pbml_low first: the adaptation config is the first source's) and
    # fixed_best; the sigma swaps only where sigma is frozen, the main readout
    low = tuple(dict.fromkeys(a for a, _ in runs))
    modes = {"frozen": (low, True, "true"), "evolving": (EVOLVING_ARMS, False, "false")}

    def plan(target: str, goals: Any, mode: str, over: tuple[int, ...]) -> Any:
        labels, swaps, frozen = modes[mode]
        return plan_transfer(
            sources(labels, swaps, over),
            target,
            generations=design.transfer_generations,
            seeds=over,
            goals=goals,
            fresh=True,
            overrides=[f"mutation.frozen={frozen}"],
        )

    results = {}
    for target, goals in design.transfer_targets:
        for mode in modes:
            name = f"{target}_{mode}"
            cache = JobCache(Path(args.runs_dir) / "transfer" / name / "jobs")
            ran = plan(target, goals, mode, seeds)
            run_plan(ran, args.processes, cache)
            held = [
                s for s in others
                if all(cache.load(job) is not None for job in plan(target, goals, mode, (s,)).jobs)
            ]  # fmt: skip
            summary = tuple(sorted((*seeds, *held)))
            results[name] = run_plan(plan(target, goals, mode, summary), args.processes, cache)
            atomic_write_text(
                Path(args.runs_dir) / "transfer" / f"{name}.json",
                compact_json(results[name], allow_nan=True),
            )
            print(f"transfer {name}: {len(ran.jobs)} jobs; summary over seeds {list(summary)}")
    return results


def report(args: Args, design: Design) -> Path:
    """The report from whatever is finished, in the run folders or in the seed records.

    What the run folders hold is first added to the per-seed records in the repository
    (``robot_meta_seeds/``), so the next report has it even where the folders are gone.
    """
    pilot_path = out_path(args, "_pilot.json")
    pilot_data = json.loads(pilot_path.read_text(encoding="utf-8")) if pilot_path.exists() else None
    runs: dict[str, list[dict[str, Any]]] = {}
    transfers: dict[str, Any] = {}
    if pilot_data is not None:
        best = pilot_data["best_sigma"]
        for s in main_specs(args, design, design.seeds):
            if is_finished(s.run_dir, s.config):
                endpoints = run_endpoints(s.run_dir, design.period, best)
                runs.setdefault(s.arm, []).append({"seed": s.seed, **endpoints})
        for path in sorted((Path(args.runs_dir) / "transfer").glob("*.json")):
            transfers[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        folder, described = out_path(args, "_seeds"), dataclasses.asdict(design)
        try:
            records = load_records(folder, described, best)
            records = merge_live(records, described, best, runs, transfers)
            runs, transfers = combine(records, list(arms(design, best)))
        except ArchiveError as error:
            raise StageError(str(error)) from None
        write_records(folder, records)
    return write_report(design, pilot_data, runs, transfers, out_path(args, ""))


def main(argv: list[str] | None = None) -> int:
    args, parser = parse_dataclass_args(Args, argv, __doc__ or "")
    if args.stage not in STAGES:
        parser.error(f"--stage must be one of {', '.join(STAGES)}, got {args.stage!r}")
    design = QUICK if args.quick else Design()
    seeds = args.seeds or design.seeds
    if set(seeds) - set(design.seeds):
        parser.error(f"--seeds must be among the design's seeds {list(design.seeds)}")
    known = list(arms(design, 1.0))
    if set(args.arms) - set(known):
        parser.error(f"--arms must be among the design's arms {known}")
    stages = ("pilot", "main", "transfer", "report") if args.stage == "all" else (args.stage,)
    try:
        run_stages(args, design, seeds, stages)
    except StageError as error:
        print(f"experiment_robot_meta: {error}", file=sys.stderr)
        return 2
    return 0


def run_stages(args: Args, design: Design, seeds: tuple[int, ...], stages: tuple[str, ...]) -> None:
    for stage in stages:
        if stage == "pilot":
            pilot(args, design)
        elif stage == "main":
            train_grid(main_specs(args, design, seeds, args.arms), args.processes)
        elif stage == "transfer":
            transfer(args, design, seeds)
        else:
            print(f"report: {report(args, design)}")


if __name__ == "__main__":
    sys.exit(main())
