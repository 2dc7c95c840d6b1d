"""``pbml plot``: fitness and mutation-radius figures of one or several runs."""

from __future__ import annotations

import argparse
from pathlib import Path

PLOT_EXAMPLE = """writes:
  fitness.png  mean and best fitness per generation, goal shifts dotted, the goal below; for
               goal tasks also normalised (0 = standing still, 1 = perfect; docs/method.md)
  sigma.png    each module's mutation radius sigma over generations (log scale)
  Several runs are overlaid, one colour each, labelled by folder name and selection scheme.

examples:
  pbml plot runs/hc                          # -> runs/hc/plots/
  pbml plot runs/pbml runs/greedy --out figs # -> figs/fitness.png, figs/sigma.png
"""


def register(sub: argparse._SubParsersAction) -> None:
    plot = sub.add_parser(
        "plot",
        help="plot fitness and mutation radius of runs",
        description="Plot fitness and per-module sigma over generations from run folders.",
        epilog=PLOT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run folder(s)")
    plot.add_argument(
        "--out", type=Path, help="output folder (default: RUN_DIR/plots for one run, else ./plots)"
    )
    plot.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.plotting import plot_runs

    out = args.out or (args.runs[0] / "plots" if len(args.runs) == 1 else Path("plots"))
    written = plot_runs(args.runs, out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
