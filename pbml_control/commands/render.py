"""``pbml render``: an MP4 (and GIF) of checkpoint members, with goal switches and grids."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pbml_control.config import ConfigError

RENDER_EXAMPLE = """members:
  best     the member with the highest fitness on the shown goals (mean over --goal),
           from the run's own evaluator with the checkpoint's seed and generation
  rank:K   the K-th best by that same evaluation (rank:1 = best)
  ID       the member with run-wide id ID (see checkpoint population ids)
  a genome file or zoo:<task> holds one member: best

layout:
  without --grid, each member plays in turn and the goals cycle every --switch-goal-every
  steps (default: evenly over --steps); with --grid, tiles play side by side: one per member
  following the goal cycle if --switch-goal-every is given, else one per (member, goal).

examples:
  pbml render runs/hc --goal 1.5 --goal -1.0 --switch-goal-every 100 --steps 300 --out hc.mp4
  pbml render runs/hc --member best --member rank:2 --goal 1.0 --goal 2.0 --grid --out grid.mp4
  pbml render runs/hc/checkpoints/gen_000060.json --member 17 --gif --size 320x240 --out m17.mp4
  pbml render zoo:HalfCheetah-v5 --steps 300 --gif --out cheetah.mp4     (pbml zoo lists them)
  pbml render zoo:HalfCheetahVel --goal 2 --goal -1 --steps 300 --out commanded.mp4

Headless OpenGL: MUJOCO_GL=egl (Debian: apt-get install libegl1) or MUJOCO_GL=osmesa
(apt-get install libosmesa6); when MUJOCO_GL is unset, egl is tried first, then osmesa.
"""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {text!r}: width and height must be even and >= 16")
    return w, h


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{text!r} must be in [0, 2**32)")
    return value


MIN_FPS, MAX_FPS = 0.01, 120.0


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not MIN_FPS <= value <= MAX_FPS:  # also false for NaN
        raise argparse.ArgumentTypeError(f"fps {text!r} must be in [{MIN_FPS}, {MAX_FPS:g}]")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    render = sub.add_parser(
        "render",
        help="render checkpoint members or a genome to a video",
        description="Render rollouts of checkpoint members or a genome to an MP4 (and GIF).",
        epilog=RENDER_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument(
        "source", type=Path, help="run folder, checkpoint gen_*.json, genome file or zoo:<task>"
    )
    render.add_argument(
        "--member",
        dest="members",
        action="append",
        metavar="best|ID|rank:K",
        help="member(s) to show, repeatable (default: best)",
    )
    render.add_argument(
        "--goal",
        dest="goals",
        action="append",
        metavar="G",
        help="goal(s), repeatable; comma-separated for vector goals (default: the task's)",
    )
    render.add_argument(
        "--switch-goal-every", type=_positive, metavar="STEPS", help="cycle the goals this often"
    )
    render.add_argument("--steps", type=_positive, default=200, help="env steps per clip (200)")
    render.add_argument("--grid", action="store_true", help="tile members/goals side by side")
    render.add_argument("--gif", action="store_true", help="also write FILE.gif next to the MP4")
    render.add_argument("--fps", type=_fps, help="frames per second (default: real time, 1/dt)")
    render.add_argument(
        "--gif-fps",
        type=_fps,
        help="GIF frames per second, still real time (default: the video's, at most 50); "
        "lower makes a smaller file",
    )
    render.add_argument(
        "--size", type=_size, default=(320, 240), metavar="WxH", help="tile size (320x240)"
    )
    render.add_argument(
        "--seed", type=_non_negative, default=0, help="seed of the rollouts' resets (0)"
    )
    render.add_argument("--out", type=Path, required=True, metavar="FILE.mp4", help="video file")
    render.set_defaults(func=run)


def switch_clip_args(
    source: str | Path,
    member: int | str,
    goals: Sequence[str],
    steps: int,
    size: str,
    gif_fps: str,
    out: Path,
) -> list[str]:
    """``pbml render`` arguments for one member while the commanded goal switches through
    ``goals``, evenly over ``steps``, as an MP4 and GIF at ``out``: the clip that shows one
    goal-conditioned policy obeying new commands (the README's and a goal zoo entry's)."""
    goal_flags = [flag for g in goals for flag in ("--goal", str(g))]
    return [str(source), "--member", str(member), *goal_flags, "--switch-goal-every",
            str(steps // len(goals)), "--steps", str(steps), "--size", size,
            "--gif", "--gif-fps", str(gif_fps), "--out", str(out)]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pbml_control import render as rd
    from pbml_control.outputs import check_output_file

    if args.out.suffix.lower() != ".mp4":
        raise ConfigError(f"--out must name an .mp4 file, got {args.out}")
    for path in (args.out, args.out.with_suffix(".gif")) if args.gif else (args.out,):
        check_output_file(path, "--out")  # OutputPathError: one line, exit 2 (cli.py)
    source = None
    try:
        rd.select_gl_backend()  # before anything imports mujoco
        source = rd.load_source(args.source)
        task = source.task
        goal_texts = args.goals or [",".join(str(x) for x in task.default_goal)]
        goals = [rd.parse_goal(text, source) for text in goal_texts]
        members = rd.select_members(source, args.members or ["best"], goals)
        clips = rd.plan_clips(members, goals, args.steps, args.switch_goal_every, args.grid)
        width, height = args.size
        fps = args.fps or 1.0 / task.dt
        gif = args.out.with_suffix(".gif") if args.gif else None
        frames = rd.render_frames(source, clips, args.steps, width, height, seed=args.seed)
        count = rd.write_media(frames, args.out, fps, gif=gif, gif_fps=args.gif_fps)
    finally:
        if source is not None:
            source.close()
    shown = ", ".join(f"{m.id} ({m.label})" for m in members)
    written = f"{args.out}" + (f" and {gif}" if gif else "")
    print(f"wrote {written}: {count} frames at {fps:g} fps; members {shown}")
    return 0
