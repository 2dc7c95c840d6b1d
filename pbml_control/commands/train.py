"""``pbml train``: evolve a population from a TOML config, or resume a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from pbml_control.config import ConfigError, RunConfig, load_config

EXIT_INTERRUPTED = 130

TRAIN_EXAMPLE = """examples:
  pbml train configs/default.toml
  pbml train configs/square.toml --set selection.scheme=greedy --set seed=3 --out runs/sq
  pbml train --resume runs/sq --set generations=400
  pbml train configs/default.toml --tensorboard --out runs/hc   # then: tensorboard --logdir runs
  pbml train configs/default.toml --backend ray --address ray://head:10001
"""


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="evolve a population",
        description="Evolve a population with the settings of a TOML config.",
        epilog=TRAIN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("config", nargs="?", help="TOML config (optional with --resume)")
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set selection.death_rate=0.3",
    )
    train.add_argument(
        "--out", type=Path, help="run folder (default: runs/<problem>__<config>__<seed>__<time>)"
    )
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write each generation to RUN/tb/ for `tensorboard --logdir RUN` (needs "
        "pip install 'pbml-control[tensorboard]'); a resumed run that has tb/ keeps writing it",
    )
    train.add_argument(
        "--backend",
        choices=("local", "ray"),
        help="where MuJoCo rollouts run (same as --set problem.backend=...)",
    )
    train.add_argument(
        "--address",
        metavar="RAY_ADDRESS",
        help="Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local Ray)",
    )
    train.set_defaults(func=run)


def _default_run_dir(config: RunConfig, config_path: str) -> Path:
    """``runs/<task>__<config>__<seed>__<time to the microsecond>-<pid>``: two runs started at
    once (the same second, the same config) never share a name, and the folder is created
    exclusively in any case (runfolder.py)."""
    stem = Path(config_path).stem
    task = config.problem.params.get("task", config.problem.name)
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"{now % 1:.6f}"[1:]
    name = f"{str(task).replace('/', '-')}__{stem}__{config.seed}__{stamp}-{os.getpid()}"
    return Path("runs") / name


def run(args: argparse.Namespace) -> int:
    from pbml_control.normalised import for_config
    from pbml_control.progress import ProgressBar
    from pbml_control.ray_cluster import join_for_run
    from pbml_control.runner import RunInterrupted, stored_config, train
    from pbml_control.tensorboard_log import TB_FOLDER

    if args.resume is None and args.config is None:
        raise ConfigError("train needs a CONFIG file or --resume RUN_DIR")
    if args.resume is not None and args.out is not None:
        raise ConfigError("use --resume RUN_DIR or --out DIR, not both")
    if args.resume is not None and args.overwrite:
        raise ConfigError("--resume and --overwrite contradict each other")
    if args.address is not None and args.backend not in (None, "ray"):
        raise ConfigError("--address is for --backend ray")
    # The flags are shorthands for --set, so they are checked and stored like any config key.
    # (A new list: argparse shares the default list between parses.)
    args.overrides = [*args.overrides]
    if args.backend is not None or args.address is not None:
        args.overrides.append(f"problem.backend={json.dumps(args.backend or 'ray')}")
    if args.address is not None:
        args.overrides.append(f"problem.ray_address={json.dumps(args.address)}")
    config = None
    if args.config is not None:
        config = load_config(args.config, args.overrides)
    else:
        config = stored_config(args.resume, args.overrides)
    run_dir = args.resume or args.out or _default_run_dir(config, args.config)
    # A run started with --tensorboard keeps its curves going when resumed without the flag.
    tensorboard = args.tensorboard or (args.resume is not None and (run_dir / TB_FOLDER).is_dir())
    normaliser = for_config(config)
    legend = normaliser.legend if normaliser is not None else None
    cluster = join_for_run(config.problem.params)  # a bad Ray address: exit 2, nothing written
    bar = None if args.quiet else ProgressBar(config.generations, config.max_env_steps, legend)
    try:
        result = train(
            run_dir,
            config,
            resume=args.resume is not None,
            overwrite=args.overwrite,
            progress=bar.update if bar else None,
            notify=lambda message: print(f"pbml: note: {message}", file=sys.stderr),
            tensorboard=tensorboard,
        )
    except RunInterrupted as stop:
        if bar:  # closed first, so that the resume hint is the last line on the terminal
            bar.close()
        print(
            f"pbml: interrupted at generation {stop.generation}; checkpoint saved. "
            f"Resume with: pbml train --resume {stop.run_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        if bar:
            bar.close()
        cluster.close()
    if result.nothing_to_do is not None:
        print(f"run {result.run_dir}: nothing to do: {result.nothing_to_do}")
        return 0
    print(summary(result.run_dir, result.state.generation, result.last_metrics or {}, legend))
    return 0


def summary(run_dir: Path, generation: int, row: dict, legend: str | None) -> str:
    """The end-of-run line: raw mean and best fitness, and on a goal task their normalised
    values with what 0 and 1 mean."""
    parts = []
    for what in ("mean", "best"):
        value = row.get(f"fitness_{what}", float("nan"))
        text = f"{what} fitness {value:.4g}"
        normalised = row.get(f"fitness_{what}_normalised")
        if f"fitness_{what}_normalised" in row:
            shown = normalised if isinstance(normalised, int | float) else float("nan")
            text += f" (normalised {shown:.3f})"
        parts.append(text)
    line = f"run {run_dir}: generation {generation}, " + ", ".join(parts)
    if legend and "fitness_mean_normalised" in row:
        line += f"; normalised: {legend}"
    return line
