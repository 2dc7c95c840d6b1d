"""``pbml transfer``: continue evolved populations on a new target and compare adaptation speed.

Definitions (arms, zero-shot, threshold, budgets) live in :mod:`pbml_control.transfer`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pbml_control.config import ConfigError
from pbml_control.transfer import DEFAULT_K, DEFAULT_THRESHOLD_FRACTION

TRANSFER_EXAMPLE = """arms:
  Each SOURCE_RUN (a run folder, or one of its checkpoints/gen_*.json) seeds an arm named
  by its config: the scheme (pbml, greedy, truncation, fixed_mutation, drift), "static" for
  PBML with a static schedule; or name it yourself with LABEL=PATH. Runs with the same label
  are one arm: give 1 run (used for every seed) or one per seed (paired in source-seed order).
  --fresh adds freshly initialised genomes. Every arm then adapts identically: PBML selection
  with the first source's selection and mutation settings, a static goal drawn per seed from
  the --goals split, the same seeds and --generations.
  A suffix swaps the members' mutation parameters (sigma and p) before the transfer:
  LABEL=PATH::mutation=reset (the founders' values of the adaptation config) or
  LABEL=PATH::mutation=OTHER_RUN (row i takes OTHER_RUN's row i; same population size).

threshold:
  on the population mean fitness; default per seed F0 + 0.5 (Fmax - F0), F0 = the fresh
  arm's zero-shot mean (lowest zero-shot mean without --fresh), Fmax = best mean any arm
  reached. Not reached within N generations counts as N + 1.

examples:
  pbml transfer runs/pbml_s0 runs/pbml_s1 runs/greedy_s0 runs/greedy_s1 \\
      --target HalfCheetahVel --goals heldout --generations 40 --fresh --seeds 0 1 --out tr/
  pbml transfer runs/pbml_s0 --target HalfCheetahVel-Heavy --goals train --generations 30 \\
      --fresh --out tr-heavy/
  pbml transfer runs/square_pbml static=runs/square_static --target hard_square \\
      --generations 100 --fresh --set schedule.kind=random --set schedule.period=10 --out tr-sq/

outputs in DIR: transfer.json (raw curves per arm/seed/generation, metrics, summaries),
transfer.md (table), transfer_fitness.png, transfer_threshold.png, and jobs/ (each arm and
seed as it finishes). Rerunning the same command reuses finished jobs (a killed transfer goes
on where it stopped; a changed setting or source recomputes what it affects); --overwrite
recomputes every job. A DIR that is not empty and holds no transfer needs --overwrite.
While it runs, a bar on stderr counts every job's generations and names the job (--quiet: none).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer",
        help="transfer evolved populations to a new target and compare adaptation",
        description=(
            "Continue the populations of SOURCE_RUNs on a target (unseen goals, a dynamics or "
            "morphology variant, or another task with the same policy layout) and compare "
            "zero-shot fitness and adaptation speed with controls under the same budget."
        ),
        epilog=TRANSFER_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE_RUN",
        help="[LABEL=]run folder[::mutation=reset|OTHER_RUN]",
    )
    p.add_argument(
        "--target",
        required=True,
        help="task or variant (HalfCheetahVel, HalfCheetahVel-Heavy) or problem (hard_square)",
    )
    p.add_argument(
        "--goals",
        choices=("heldout", "train"),
        default="heldout",
        help="goal split on the target (default: heldout = never seen in training)",
    )
    p.add_argument(
        "--generations", type=int, required=True, metavar="N", help="generations of adaptation"
    )
    p.add_argument("--fresh", action="store_true", help="add the freshly initialised control arm")
    p.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="transfer seeds (default 0 1 2)"
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="absolute mean-fitness threshold (default: per-seed rule, see below)",
    )
    p.add_argument(
        "--threshold-fraction",
        type=float,
        default=DEFAULT_THRESHOLD_FRACTION,
        metavar="F",
        help=f"fraction of the way from F0 to Fmax (default {DEFAULT_THRESHOLD_FRACTION})",
    )
    p.add_argument(
        "--k",
        type=int,
        metavar="K",
        help=f"report fitness after K generations (default {DEFAULT_K})",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the adaptation config, e.g. --set problem.workers=2",
    )
    p.add_argument(
        "--processes", type=int, default=1, help="arm/seed jobs run in parallel (default 1)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="recompute every job; write into a DIR that holds other files",
    )
    p.set_defaults(func=run)


def _is_transfer_folder(out: Path) -> bool:
    """A transfer's folder, or one a transfer killed at start left with only its lock file."""
    from pbml_control.runlock import LOCK_NAME
    from pbml_control.transfer_cache import JOBS_FOLDER

    if {p.name for p in out.iterdir()} == {LOCK_NAME}:
        return True
    return (out / JOBS_FOLDER).is_dir() or (out / "transfer.json").is_file()


def run(args: argparse.Namespace) -> int:
    from pbml_control.outputs import check_output_folder
    from pbml_control.progress import JobProgress
    from pbml_control.runlock import RunLock, check_free
    from pbml_control.transfer import plan_transfer, run_plan
    from pbml_control.transfer_cache import JOBS_FOLDER, JobCache
    from pbml_control.transfer_report import transfer_table, write_outputs

    out: Path = args.out
    check_output_folder(out, "--out")
    if out.is_dir():
        check_free(out)  # another transfer writes there: refused before any work
        if any(out.iterdir()) and not _is_transfer_folder(out) and not args.overwrite:
            raise ConfigError(
                f"output folder {out} is not empty and holds no transfer; pass --overwrite "
                "to write into it"
            )
    if args.processes < 1:
        raise ConfigError(f"--processes must be >= 1, got {args.processes}")
    plan = plan_transfer(
        args.sources,
        args.target,
        generations=args.generations,
        seeds=args.seeds,
        goals=args.goals,
        fresh=args.fresh,
        k=args.k,
        threshold=args.threshold,
        threshold_fraction=args.threshold_fraction,
        overrides=args.overrides,
    )
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        cache = JobCache(out / JOBS_FOLDER, reuse=not args.overwrite)
        bar = None if args.quiet else JobProgress
        data = run_plan(plan, processes=args.processes, cache=cache, progress=bar)
        paths = write_outputs(data, out)
    print(transfer_table(data))
    print(
        f"{len(plan.jobs)} runs ({cache.reused} reused from {out / JOBS_FOLDER}) in "
        f"{time.perf_counter() - started:.1f} s; wrote " + ", ".join(str(p) for p in paths),
        file=sys.stderr,
    )
    return 0
