"""Regenerate the README media in docs/media/: a HalfCheetah video and GIF with a mid-video goal
switch, and the fitness and mutation-radius figures of the run they come from.

    .venv/bin/python scripts/make_media.py                 # trains first if the run is missing
    .venv/bin/python scripts/make_media.py --run-dir runs/my_hc --generations 400

Steps, top to bottom: (1) train a HalfCheetah target-velocity run with PBML unless RUN_DIR
already has checkpoints, (2) render the best member with the goal switched halfway, as an MP4
and as a small looping GIF, with `pbml render`, (3) plot fitness and sigma with
`pbml_control.plotting`. Rendering is headless (MUJOCO_GL=egl, or osmesa).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Args:
    run_dir: Path = ROOT / "runs" / "media_halfcheetah"
    """run folder to train into (or reuse when it already has checkpoints)"""
    out_dir: Path = ROOT / "docs" / "media"
    """where the media files go"""
    generations: int = 100
    """training generations (1-5 s each on 2 cores); the README media used 99 (interrupted)"""
    init_sigma: float = 0.1
    """initial mutation radius; larger than the shipped 0.05 so a short run learns to move"""
    period: int = 25
    """generations between goal shifts during training"""
    goals: tuple[str, ...] = ("1.0", "-1.0")
    """target velocities shown, switched halfway through each video"""
    video_steps: int = 240
    """env steps in the MP4 (20 steps per second)"""
    gif_steps: int = 100
    """env steps in the GIF (5 s), kept short so the file stays under ~3 MB"""
    video_size: str = "480x320"
    gif_size: str = "320x208"


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "goals":
            parser.add_argument(flag, nargs="+", default=list(f.default))
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    ns = parser.parse_args()
    return Args(**{**vars(ns), "goals": tuple(ns.goals)})


def main() -> int:
    args = parse_args()
    from pbml_control import render  # picks MUJOCO_GL before anything imports mujoco

    render.select_gl_backend()
    from pbml_control.checkpoint import latest_checkpoint
    from pbml_control.cli import main as pbml
    from pbml_control.config import load_config
    from pbml_control.plotting import load_metrics, plot_fitness, plot_sigma
    from pbml_control.runner import train

    # 1. Train, unless the run already exists.
    if latest_checkpoint(args.run_dir / "checkpoints") is None:
        config = load_config(
            ROOT / "configs" / "halfcheetah_velocity.toml",
            [
                f"generations={args.generations}",
                f"mutation.init_sigma={args.init_sigma}",
                f"schedule.period={args.period}",
            ],
        )
        print(f"training {args.run_dir} for {args.generations} generations ...", flush=True)
        train(args.run_dir, config, overwrite=args.run_dir.exists())

    # 2. Videos: the best member (mean fitness over the shown goals), goal switched halfway.
    args.out_dir.mkdir(parents=True, exist_ok=True)
    goal_flags = [flag for g in args.goals for flag in ("--goal", g)]
    for name, steps, size, gif in (
        ("halfcheetah_goal_switch.mp4", args.video_steps, args.video_size, False),
        ("halfcheetah_goal_switch_small.mp4", args.gif_steps, args.gif_size, True),
    ):
        every = str(steps // len(args.goals))
        argv = ["render", str(args.run_dir), *goal_flags, "--switch-goal-every", every]
        argv += ["--steps", str(steps), "--size", size, "--out", str(args.out_dir / name)]
        if pbml(argv + (["--gif"] if gif else [])) != 0:
            return 1
    # The GIF is what the README shows; its MP4 twin is only a by-product.
    (args.out_dir / "halfcheetah_goal_switch_small.mp4").unlink()

    # 3. Figures of the same run.
    runs = [load_metrics(args.run_dir)]
    plot_fitness(runs, args.out_dir / "halfcheetah_fitness.png")
    plot_sigma(runs, args.out_dir / "halfcheetah_sigma.png")
    for path in sorted(args.out_dir.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
