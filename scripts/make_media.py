"""Regenerate the README media in docs/media/ from the zoo and a goal-conditioned run.

    .venv/bin/python scripts/make_media.py --goal-run ../runs/HalfCheetahVel__long__0 \
        --tracking-report docs/results/goal_tracking_long_HalfCheetahVel.json

Steps, top to bottom:
1. ``zoo_halfcheetah.gif``: the zoo's HalfCheetah-v5 controller (`pbml render zoo:...`).
2. ``halfcheetah_vel_switch.gif``: the goal-conditioned run's champion (the member
   ``scripts/goal_tracking.py`` evaluated, read from its report) while the commanded velocity
   switches +2 -> -1 -> +0.5 m/s, one policy throughout (the same clip as a goal-conditioned
   zoo entry's GIF: `pbml_control.commands.render.switch_clip_args`).
3. The fitness and mutation-radius figures of that run (`pbml_control.plotting`).
Rendering is headless (MUJOCO_GL=egl, or osmesa). GIFs stay under ~1 MB.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pbml_control.commands.render import switch_clip_args
from pbml_control.script_args import parse_dataclass_args

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Args:
    goal_run: str = ""
    """run folder of the goal-conditioned HalfCheetahVel recipe"""
    tracking_report: str = "docs/results/goal_tracking_long_HalfCheetahVel.json"
    """goal_tracking.py's report: which member to show"""
    out_dir: str = "docs/media"
    """where the media go"""
    zoo_task: str = "HalfCheetah-v5"
    """zoo entry shown first"""
    goals: tuple[str, ...] = ("2.0", "-1.0", "0.5")
    """commanded velocities, switched evenly over the clip"""
    steps: int = 240
    """env steps per clip (20 per second)"""
    gif_fps: str = "8"
    """GIF frame rate (real time kept; lower is smaller)"""
    size: str = "256x192"
    """GIF size"""


def render(argv: list[str]) -> None:
    from pbml_control.cli import main as pbml

    if pbml(["render", *argv]) != 0:
        raise SystemExit(f"make_media: pbml render {' '.join(argv)} failed")


def main(argv: list[str] | None = None) -> int:
    args, _ = parse_dataclass_args(Args, argv, __doc__.splitlines()[0])
    from pbml_control import render as rd  # picks MUJOCO_GL before anything imports mujoco

    rd.select_gl_backend()
    from pbml_control.plotting import load_metrics, plot_fitness, plot_sigma

    out = ROOT / args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    # 1. The zoo's controller.
    zoo_clip = out / "zoo_halfcheetah.mp4"
    render([f"zoo:{args.zoo_task}", "--steps", str(args.steps), "--size", args.size,
            "--gif", "--gif-fps", args.gif_fps, "--out", str(zoo_clip)])  # fmt: skip
    clips.append(zoo_clip)
    # 2. One goal-conditioned policy, the command switched mid-clip.
    member = json.loads((ROOT / args.tracking_report).read_text())["member_id"]
    switch_clip = out / "halfcheetah_vel_switch.mp4"
    render(switch_clip_args(args.goal_run, member, args.goals, args.steps, args.size,
                            args.gif_fps, switch_clip))  # fmt: skip
    clips.append(switch_clip)
    for clip in clips:  # the README shows the GIFs; their MP4 twins are by-products
        clip.unlink()
    # 3. Figures of the goal-conditioned run.
    runs = [load_metrics(Path(args.goal_run))]
    plot_fitness(runs, out / "halfcheetah_vel_fitness.png")
    plot_sigma(runs, out / "halfcheetah_vel_sigma.png")
    for path in sorted(out.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
