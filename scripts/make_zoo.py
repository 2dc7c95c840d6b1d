"""Put a run's best controller in the zoo: genome, model card, GIF.

    python scripts/make_zoo.py --run ../runs/locomotion/HalfCheetah-v5__pbml__0
    python scripts/make_zoo.py --run ../runs/HalfCheetahVel__long__0 \
        --tracking-report docs/results/goal_tracking_long_HalfCheetahVel.json \
        --recipe configs/recipes/HalfCheetahVel.toml

Steps, top to bottom:
1. The member: the run's champion (`experiments.final`: the best of its top-10 survivors on
   validation episodes; never chosen on the test episodes). A goal-conditioned run's champion
   is the one its goal-tracking report (``scripts/goal_tracking.py``) chose and measured, so
   the card and the report describe the same policy.
2. Its genome file, ``zoo/<task>/genome.safetensors`` (spec, weights, normaliser; no pickle).
3. Two evaluations on the same 10 fresh episode seeds, none used in training or validation,
   at each of the report's goals for a goal-conditioned run:
   - the package's fast path (`pbml_control.experiments.final.final_evaluation`, or
     `pbml_control.run_loader.evaluate_genome` per goal);
   - a user's plain loop: the exported torch module in ``gymnasium.make(<id>[, goal=[g]])``
     with ``env.reset(seed=s)`` (`pbml_control.zoo.plain_loop_returns`). This is the card's
     headline. A goal-conditioned card adds each goal's tracking error, from the report.
4. ``card.json`` (the numbers), ``README.md`` (the card, rendered from those numbers by
   `pbml_control.experiments.zoo_card`), ``rollout.gif`` (from `pbml render`;
   for a goal-conditioned run, the commanded goal switches mid-clip).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.commands.render import switch_clip_args
from pbml_control.experiments.final import (
    EVAL_SEED_OFFSET,
    cumulative_wall_seconds,
    final_evaluation,
    fresh_test_seeds,
)
from pbml_control.experiments.tracking import SKIP_STEPS
from pbml_control.experiments.zoo_card import DEFAULT_WALL_NOTE, card_markdown, goal_card_markdown
from pbml_control.resume_record import read_resumes
from pbml_control.runner import read_metrics
from pbml_control.script_args import parse_dataclass_args
from pbml_control.stats import mean_ci

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Args:
    run: str = ""
    """the run folder whose best survivor joins the zoo"""
    zoo: str = "zoo"
    """the zoo folder"""
    episodes: int = 10
    """evaluation episodes"""
    gif_steps: int = 150
    """env steps in the GIF (kept short: the GIF stays under ~1 MB)"""
    scheme_note: str = ""
    """which scheme evolved it, if not evident from the config (shown on the card)"""
    wall_note: str = DEFAULT_WALL_NOTE
    """how the card's wall time was measured (e.g. when other runs shared the cores)"""
    tracking_report: str = ""
    """goal_tracking.py's report of the run (required for a goal-conditioned task): the
    champion, the goals the card measures and their tracking errors"""
    recipe: str = ""
    """the committed config the run was started from (named on a goal-conditioned card)"""
    switch_goals: tuple[str, ...] = ("2.0", "-1.0", "0.5")
    """a goal-conditioned entry's GIF: commanded goals, switched evenly over the clip"""
    switch_steps: int = 240
    """a goal-conditioned entry's GIF: env steps (each goal needs time to show)"""
    switch_gif_fps: str = "8"
    """a goal-conditioned entry's GIF: frame rate (real time kept; lower is smaller)"""


def returns_summary(returns: np.ndarray, goal: np.ndarray) -> dict[str, Any]:
    mean, lo, hi = mean_ci(returns)
    return {
        "goal": [float(g) for g in goal],
        "returns": [float(r) for r in returns],
        "mean": float(mean),
        "ci95": [float(lo), float(hi)],
    }


def goal_card(args: Args, run: Path) -> tuple[dict[str, Any], int, Path]:
    """(card, member id, entry folder) of a goal-conditioned run's champion: the member its
    goal-tracking report chose, measured at each of the report's goals on fresh episodes."""
    from pbml_control.export import save_member
    from pbml_control.members import Member, load_source
    from pbml_control.policies import load_genome
    from pbml_control.run_loader import evaluate_genome
    from pbml_control.user_loop import gym_id
    from pbml_control.zoo import plain_loop_returns

    report_file = (ROOT / args.tracking_report).resolve()
    report = json.loads(report_file.read_text(encoding="utf-8"))
    if args.recipe and not (ROOT / args.recipe).is_file():
        raise SystemExit(f"make_zoo: no recipe {args.recipe}")
    source = load_source(run)
    try:
        task, config = source.task_name, source.checkpoint.config
        env_steps, pop = source.state.env_steps_total, source.checkpoint.population
        if (report["run"], report["env_steps"]) != (run.name, env_steps):
            raise SystemExit(
                f"make_zoo: {args.tracking_report} reports {report['run']} at "
                f"{report['env_steps']} env steps, not {run.name} at {env_steps}"
            )
        hits = np.flatnonzero(pop.ids == report["member_id"])
        if not hits.size:
            raise SystemExit(f"make_zoo: member {report['member_id']} is not in {run}")
        index = int(hits[0])
        goals = [np.asarray(g["goal"], dtype=np.float64) for g in report["goals"]]
        # a velocity target has a tracking error; a heading (faster is better) has none
        velocity = all(np.isfinite(g["mean_abs_error"]) for g in report["goals"])
        settings = dict(source.evaluator.config.spec_overrides)
        label = f"champion (validation on {len(goals)} goals)"
        member = Member(index, int(report["member_id"]), label, float(pop.fitness[index]))
        folder = ROOT / args.zoo / task
        folder.mkdir(parents=True, exist_ok=True)
        genome_file = save_member(source, member, goals, folder / "genome.safetensors")
        seeds = fresh_test_seeds(source, args.episodes, name=run.name)
        space = source.evaluator.goal_space
        commit = source.checkpoint.meta.get("git_commit", "unknown")
    finally:
        source.close()
    # schedule.split "all" trains on the whole goal space, not its training region
    split = config.get("schedule", {}).get("split", "train")
    trained_on = [(space.low[0], space.high[0])] if split == "all" else space.train
    # the report's episodes (reports before the key: the training horizon)
    steps = int(report.get("episode_steps", config["problem"]["params"]["max_episode_steps"]))
    genome, env_id = load_genome(genome_file), gym_id(task)
    plain, fast = [], []
    for goal in goals:
        plain.append(returns_summary(plain_loop_returns(genome, env_id, seeds, steps, goal), goal))
        fast_returns = evaluate_genome(
            genome, task, goal, len(seeds), steps, int(config["seed"]) + EVAL_SEED_OFFSET
        )
        fast.append(returns_summary(fast_returns, goal))
    # the report measured the same member on the same episodes: its returns must be these
    same = all(f["returns"] == r["returns"] for f, r in zip(fast, report["goals"], strict=True))
    if not same:
        print(f"make_zoo: warning: the fast path's returns differ from {args.tracking_report}'s")
    card = {
        "task": task,
        "env_id": env_id,
        "member_id": member.id,
        "chosen_as": label,
        "episode_steps": steps,
        **({} if velocity else {"goal_kind": "heading"}),
        **({"make_kwargs": settings} if settings else {}),
        "goals": [[float(x) for x in g] for g in goals],
        "goal_space": [float(space.low[0]), float(space.high[0])],
        "goal_train_region": [[float(a), float(b)] for a, b in trained_on],
        "gif_goals": list(args.switch_goals),
        "plain_loop": {"episode_seeds": seeds, "per_goal": plain},
        "fast_path": {"episode_seeds": seeds, "per_goal": fast},
        "tracking": {
            "report": str(
                report_file.relative_to(ROOT) if report_file.is_relative_to(ROOT) else report_file
            ),
            "criterion": report["criterion"],
            "skip_steps": SKIP_STEPS,
            "episodes_same_as_fast_path": same,
            "per_goal": [
                {k: g[k] for k in ("goal", "mean_velocity", "mean_abs_error", "met")}
                for g in report["goals"]
            ],
        },
        "training": {
            **training_summary(args, run, config),
            "recipe": args.recipe,
            "resumes": [
                {k: r[k] for k in ("from_generation", "env_steps", "changed")}
                for r in read_resumes(run)
            ],
        },
        "action_difference_max": action_difference(genome),
        "package_version": version("pbml-control"),
        "git_commit": commit,
        "config": config,
    }
    return card, member.id, folder


def training_summary(args: Args, run: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The card's training section: scheme, policy, budget, wall time and seed of the run."""
    rows = read_metrics(run)
    hidden = config["problem"]["params"].get("hidden", [])
    return {
        "scheme": args.scheme_note or config["selection"]["scheme"],
        "policy": f"MLP {hidden}" if hidden else "linear (tanh-squashed)",
        "env_steps": int(rows[-1]["env_steps_total"]),
        "generations": len(rows),
        "wall_minutes": float(cumulative_wall_seconds(run)[-1] / 60),
        "seed": int(config["seed"]),
        "wall_note": args.wall_note,
    }


def action_difference(genome: Any) -> float:
    """Largest |torch action - numpy action| of the genome on 1000 random observations."""
    import torch

    from pbml_control.policies import PopulationPolicy, to_torch_module

    obs = np.random.default_rng(0).normal(size=(1000, genome.spec.obs_dim)) * 3
    module = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
    with torch.no_grad():
        torch_actions = module(torch.as_tensor(obs)).numpy()
    params = np.repeat(np.asarray(genome.params)[None], len(obs), axis=0)
    numpy_actions = PopulationPolicy(genome.spec, params, genome.normalizer_state).act(obs)
    return float(np.abs(torch_actions - numpy_actions).max())


def main(argv: list[str] | None = None) -> int:
    args, _ = parse_dataclass_args(Args, argv, __doc__.splitlines()[0])
    from pbml_control.members import load_source

    run = Path(args.run)
    source = load_source(run)
    try:
        task, goal_task = source.task_name, source.task.goal_dim > 0
    finally:
        source.close()
    if goal_task and not args.tracking_report:
        raise SystemExit(
            f"make_zoo: {task} is goal-conditioned: pass --tracking-report, "
            "scripts/goal_tracking.py's report of this run"
        )
    if goal_task:
        card, member_id, folder = goal_card(args, run)
        markdown = goal_card_markdown(card)
    else:
        card, member_id, folder = goal_free_card(args, run)
        markdown = card_markdown(card)
    atomic_write_text(folder / "card.json", json.dumps(card, indent=1, sort_keys=True))
    atomic_write_text(folder / "README.md", markdown)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "rollout.mp4"
        if goal_task:  # one policy while the command switches: the clip the README shows too
            clip = switch_clip_args(run, member_id, args.switch_goals, args.switch_steps,
                                    "256x192", args.switch_gif_fps, video)  # fmt: skip
        else:
            clip = [str(run), "--member", str(member_id), "--steps", str(args.gif_steps), "--gif",
                    "--gif-fps", "10", "--size", "256x192", "--out", str(video)]  # fmt: skip
        pbml = [sys.executable, "-m", "pbml_control.cli", "render", *clip]
        subprocess.run(pbml, check=True, capture_output=True)
        shutil.move(str(video.with_suffix(".gif")), folder / "rollout.gif")
    print(markdown.split("## Run it")[0])
    return 0


def goal_free_card(args: Args, run: Path) -> tuple[dict[str, Any], int, Path]:
    """(card, member id, entry folder) of a goal-free run's champion (``final_evaluation``)."""
    from pbml_control.export import save_member
    from pbml_control.members import Member, load_source
    from pbml_control.policies import load_genome
    from pbml_control.zoo import plain_loop_returns

    final = final_evaluation(run, args.episodes)
    source = load_source(run)
    try:
        task, config = source.task_name, source.checkpoint.config
        index = int(np.flatnonzero(source.checkpoint.population.ids == final.member_id)[0])
        member = Member(index, final.member_id, "champion (validation)", final.train_fitness)
        folder = ROOT / args.zoo / task
        folder.mkdir(parents=True, exist_ok=True)
        genome_file = save_member(source, member, [], folder / "genome.safetensors")
        commit = source.checkpoint.meta.get("git_commit", "unknown")
    finally:
        source.close()
    steps = int(config["problem"]["params"]["max_episode_steps"])
    genome = load_genome(genome_file)
    plain = plain_loop_returns(genome, task, final.episode_seeds, steps)
    mean, lo, hi = mean_ci(plain)
    card = {
        "task": task,
        "member_id": final.member_id,
        "episode_steps": steps,
        "plain_loop": {
            "episode_seeds": final.episode_seeds,
            "returns": plain.tolist(),
            "mean": float(mean),
            "ci95": [float(lo), float(hi)],
        },
        "fast_path": final.to_json(),
        "training": training_summary(args, run, config),
        "action_difference_max": action_difference(genome),
        "package_version": version("pbml-control"),
        "git_commit": commit,
        "config": config,
    }
    return card, final.member_id, folder


if __name__ == "__main__":
    sys.exit(main())
