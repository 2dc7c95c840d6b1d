"""``pbml evaluate``: a saved genome file on a task, a variant or unseen goals.

The genome file is read by the run loader (``run_loader.load_genome_source``: safetensors, no
pickle is ever loaded, and the genome must fit the task). The returns are measured in the loop
a user writes (:mod:`pbml_control.user_loop`): the exported torch module in
``gymnasium.make(...)`` with ``env.reset(seed=S + i)`` for episode i, so a user's own loop gets
the same numbers, bit for bit, on the same machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml export runs/hc --out best.safetensors
  pbml evaluate best.safetensors --goal 1.5 --episodes 5
  pbml evaluate best.safetensors --task HalfCheetahVel-Heavy --goal -1.0
  pbml evaluate zoo:HalfCheetah-v5 --episodes 10       (a zoo entry; pbml zoo lists them)
  pbml evaluate zoo:HalfCheetahVel --goal 2             (a goal-conditioned one, at +2 m/s)

The task defaults to the one stored in the genome file; the goal to the task's default; the
episode length to the horizon the genome was trained on (a run's max_episode_steps, a zoo card's
episode_steps), else the task's registered max_episode_steps. Episode i (0-based) is
env.reset(seed=SEED + i) in gymnasium.make(<the printed id and arguments>), the policy is the
exported float64 torch module (pbml export --torch): your own loop gets the same returns.
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
    parser.add_argument(
        "--steps",
        type=int,
        help="episode length (default: the genome's training horizon, else the task's)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="episode i is env.reset(seed=SEED + i) (default 0)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (settings and every episode)"
    )
    parser.set_defaults(func=run)


GENERIC_IO = (
    "; observations flattened (one-hot if Discrete), outputs clipped to the action space "
    "(argmax if Discrete), as in training"
)


def _parse_goal(text: str | None) -> Any:
    import numpy as np

    if text is None:
        return None
    try:
        goal = np.array([float(x) for x in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ConfigError(f"goal {text!r} is not a number or comma-separated numbers") from None
    if not np.isfinite(goal).all():
        raise ConfigError(f"goal {text!r} must be finite")
    return goal


def _horizon(args: argparse.Namespace, metadata: dict[str, Any], env_id: str) -> tuple[int, str]:
    """(episode length, where it comes from): --steps, the zoo card's (its numbers were
    measured there), the genome's training horizon, else what ``gymnasium.make(env_id)``
    registers."""
    import gymnasium

    from pbml_control.zoo import entry_card

    if args.steps is not None:
        return args.steps, "--steps"
    card = entry_card(args.genome)
    if card is not None and isinstance(card.get("episode_steps"), int):
        return int(card["episode_steps"]), "the zoo card's horizon"
    trained = metadata.get("max_episode_steps")
    if isinstance(trained, int) and trained >= 1:
        return trained, "the run's training horizon"
    registered = gymnasium.spec(env_id).max_episode_steps or 1000
    return int(registered), f"{env_id}'s registered max_episode_steps"


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from pbml_control.envs.generic import GenericTask
    from pbml_control.memory import check_fits, episode_records_bytes
    from pbml_control.run_loader import load_genome_source
    from pbml_control.user_loop import gym_id, make_kwargs, reset_seeds, run_episodes
    from pbml_control.zoo import genome_path

    if args.episodes < 1 or (args.steps is not None and args.steps < 1):
        raise ConfigError("--episodes and --steps must be >= 1")
    if not 0 <= args.seed < 2**32:
        raise ConfigError(f"--seed must be in [0, 2**32), got {args.seed}")
    # Episodes run one after another in one environment: only the report grows with the count.
    check_fits(
        episode_records_bytes(args.episodes),
        f"the report of {args.episodes:,} episodes (each one's seed, return and length, kept "
        "until the end; the episodes themselves run one after another)",
        "lower --episodes",
    )
    goal = _parse_goal(args.goal)
    path = genome_path(args.genome)
    source = load_genome_source(path, args.task, 1, args.steps or 1, "; pass --task")
    try:
        task = source.task
        if goal is None and task.goal_dim > 0:
            goal = np.asarray(task.default_goal, dtype=np.float64)
        if goal is not None:
            try:
                source.evaluator.validate_goal(goal)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        env_id = gym_id(source.task_name)
        steps, steps_from = _horizon(args, source.genome.metadata, env_id)
        kwargs = make_kwargs(task, goal, steps)
        seeds = reset_seeds(args.seed, args.episodes)
        convert = task if isinstance(task, GenericTask) else None
        result = run_episodes(source.genome, env_id, seeds, kwargs, convert)
    finally:
        source.close()
    report = {
        "task": source.task_name,
        "env_id": env_id,
        "make_kwargs": kwargs,
        "goal": None if goal is None or task.goal_dim == 0 else [float(g) for g in goal],
        "steps": steps,
        "steps_from": steps_from,
        "seed": args.seed,
        "episodes": args.episodes,
        "seeds": result.seeds,
        "returns": result.returns,
        "lengths": result.lengths,
        "mean": result.mean,
        "policy": "exported torch module, float64 (policies.to_torch_module)"
        + ("" if convert is None else GENERIC_IO),
        "genome": str(path),
    }
    print(json.dumps(report) if args.json else _text(report))
    return 0


def _text(r: dict[str, Any]) -> str:
    """Every setting and every episode, floats as repr (full precision)."""
    call = ", ".join([repr(r["env_id"]), *(f"{k}={v!r}" for k, v in r["make_kwargs"].items())])
    n = r["episodes"]
    goal = "none" if r["goal"] is None else r["goal"]
    last = r["seed"] + n - 1
    seeds = f"reset seed {r['seed']}" if n == 1 else f"reset seeds {r['seed']}..{last}"
    lines = [
        f"task {r['task']}, goal {goal}, steps {r['steps']} ({r['steps_from']}), "
        f"{seeds}, {n} episode{'s' if n != 1 else ''}",
        f"loop: gymnasium.make({call}), env.reset(seed=s), {r['policy']}",
    ]
    for seed, ret, length in zip(r["seeds"], r["returns"], r["lengths"], strict=True):
        lines.append(f"  seed {seed}: return {ret!r} ({length} steps)")
    lines.append(
        f"mean return {r['mean']!r} over {n} episode{'s' if n != 1 else ''} "
        f"(min {min(r['returns'])!r}, max {max(r['returns'])!r})"
    )
    return "\n".join(lines)
