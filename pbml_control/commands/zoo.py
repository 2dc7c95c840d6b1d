"""``pbml zoo``: the evolved controllers shipped in ``zoo/``, one line each, from their cards.

The numbers are the model cards' (``card.json``, written by ``scripts/make_zoo.py``); nothing is
simulated here, so listing is instant.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml zoo
  pbml evaluate zoo:HalfCheetah-v5 --episodes 10
  pbml render zoo:HalfCheetah-v5 --steps 300 --gif --out cheetah.mp4
  pbml export zoo:HalfCheetah-v5 --out cheetah.safetensors --torch cheetah.pt

The return is the card's headline: the exported torch module in a plain gymnasium.make(<task>)
loop, mean over the card's evaluation episodes (seeds never used in training), 95% CI; for a
goal-conditioned entry, the lowest and highest of its per-goal means (pbml evaluate
zoo:HalfCheetahVel --goal 2 runs one goal).
PBML_ZOO=<folder> points at another zoo.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "zoo",
        help="list the evolved controllers in the zoo",
        description="List the zoo's controllers: task, return (95% CI), budget, scheme, path.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def _field(card: dict[str, Any], dotted: str, where: Path) -> Any:
    """``card["a"]["b"]`` for ``"a.b"``; a missing field is a one-line error naming the card."""
    value: Any = card
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ConfigError(f"zoo card {where / 'card.json'} has no {dotted!r}")
        value = value[key]
    return value


def _shown(path: Path) -> str:
    """The path relative to the working folder when it lies below it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _returns(e: Any) -> str:
    """A goal-free card's headline: mean return (95% CI) over its episodes."""
    mean = float(_field(e.card, "plain_loop.mean", e.folder))
    lo, hi = (float(x) for x in _field(e.card, "plain_loop.ci95", e.folder))
    n = len(_field(e.card, "plain_loop.returns", e.folder))
    return f"{mean:.0f} ({lo:.0f} .. {hi:.0f}), {n} ep"


def _goal_returns(e: Any) -> str:
    """A goal-conditioned card's: the range of its per-goal mean returns (the return scales
    with the goal, so one pooled mean would say little), goals and episodes per goal."""
    per_goal = _field(e.card, "plain_loop.per_goal", e.folder)
    if not isinstance(per_goal, list) or not per_goal:
        raise ConfigError(f"zoo card {e.folder / 'card.json'} has no per-goal returns")
    means = [float(_field(g, "mean", e.folder)) for g in per_goal]
    n = len(_field(per_goal[0], "returns", e.folder))
    return f"{len(means)} goals: means {min(means):.0f} .. {max(means):.0f}, {n} ep each"


def rows() -> list[list[str]]:
    """One row of text per entry, in the order of :func:`pbml_control.zoo.entries`."""
    from pbml_control.zoo import entries

    found = entries()
    table = []
    for e in found:
        try:
            shown = _goal_returns(e) if "goals" in e.card else _returns(e)
            steps = float(_field(e.card, "training.env_steps", e.folder))
            minutes = float(_field(e.card, "training.wall_minutes", e.folder))
        except (TypeError, ValueError):
            raise ConfigError(f"zoo card {e.folder / 'card.json'} has a malformed number") from None
        scheme = str(_field(e.card, "training.scheme", e.folder))
        table.append(
            [
                e.task,
                shown,
                f"{steps / 1e6:.1f} M",
                f"{minutes:.0f} min",
                scheme,
                _shown(e.folder),
            ]
        )
    return table


def run(args: argparse.Namespace) -> int:
    from pbml_control.zoo import entries, zoo_root

    table = rows()
    if not table:
        print(f"the zoo is empty: no <task>/card.json under {zoo_root()}")
        return 0
    header = ["task", "return (95% CI)", "env steps", "wall", "scheme", "path"]
    widths = [max(len(r[k]) for r in [header, *table]) for k in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("use as zoo:<task> in pbml evaluate, pbml render and pbml export")
    if any("goals" in e.card for e in entries()):
        print("a goal-conditioned entry (return per goal) takes --goal G in evaluate and render")
    return 0
