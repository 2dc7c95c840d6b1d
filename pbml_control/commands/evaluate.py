"""``pbml evaluate``: a saved genome file on a task, a variant or unseen goals.

The genome file is read by the run loader (``run_loader.load_genome_source``: safetensors, no
pickle is ever loaded), and the rollouts run through the same evaluator as training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml export runs/hc --out best.safetensors
  pbml evaluate best.safetensors --goal 1.5 --episodes 5
  pbml evaluate best.safetensors --task HalfCheetahVel-Heavy --goal -1.0
  pbml evaluate zoo:HalfCheetah-v5 --episodes 10       (a zoo entry; pbml zoo lists them)

The task defaults to the one stored in the genome file; the goal to the task's default.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "evaluate",
        help="evaluate a genome file on a task",
        description="Roll out a saved genome on a task or variant and print its returns.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "genome", type=Path, help="genome file (.safetensors, from pbml export) or zoo:<task>"
    )
    parser.add_argument("--task", help="task or variant (default: the genome's own task)")
    parser.add_argument("--goal", help="goal, e.g. 1.5 or 0.1,0.2 (default: the task's default)")
    parser.add_argument("--episodes", type=int, default=3, help="episodes (default 3)")
    parser.add_argument("--steps", type=int, default=1000, help="episode length (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="episode seeds come from it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from pbml_control.memory import check_fits, rollout_bytes
    from pbml_control.run_loader import load_genome_source
    from pbml_control.zoo import genome_path

    if args.episodes < 1 or args.steps < 1:
        raise ConfigError("--episodes and --steps must be >= 1")
    if not 0 <= args.seed < 2**32:
        raise ConfigError(f"--seed must be in [0, 2**32), got {args.seed}")
    # Episodes run side by side, so they are what costs memory (steps keep no history).
    check_fits(
        rollout_bytes(args.episodes),
        f"evaluating {args.episodes:,} episodes at once",
        "lower --episodes",
    )
    goal = None
    if args.goal is not None:
        try:
            goal = np.array([float(x) for x in args.goal.split(",")], dtype=np.float64)
        except ValueError:
            raise ConfigError(
                f"goal {args.goal!r} is not a number or comma-separated numbers"
            ) from None
        if not np.isfinite(goal).all():
            raise ConfigError(f"goal {args.goal!r} must be finite")
    path = genome_path(args.genome)
    source = load_genome_source(path, args.task, args.episodes, args.steps, "; pass --task")
    try:
        returns = source.evaluator.evaluate_genome(
            source.genome.params, goal, args.episodes, args.seed, source.normalizer_state
        )[0]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        source.close()
    print(
        f"{source.task_name}: mean return {returns.mean():.4g} over {len(returns)} episodes "
        f"(min {returns.min():.4g}, max {returns.max():.4g})"
    )
    return 0
