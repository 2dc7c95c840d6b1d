"""Put a run's best controller in the zoo: genome, model card, GIF.

    python scripts/make_zoo.py --run ../runs/locomotion/HalfCheetah-v5__pbml__0

Steps, top to bottom:
1. The member: the run's champion (`experiments.final`: the best of its top-10 survivors on
   validation episodes; never chosen on the test episodes).
2. Its genome file, ``zoo/<task>/genome.safetensors`` (spec, weights, normaliser; no pickle).
3. Two evaluations on the same 10 fresh episode seeds, none used in training:
   - the package's fast path (`pbml_control.experiments.final.final_evaluation`);
   - a user's plain loop: the exported torch module in ``gymnasium.make(<task>)`` with
     ``env.reset(seed=s)`` (`pbml_control.zoo.plain_loop_returns`). This is the card's headline.
4. ``card.json`` (the numbers), ``README.md`` (the card), ``rollout.gif`` (from `pbml render`).
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
from pbml_control.experiments.final import cumulative_wall_seconds, final_evaluation
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


def user_loop(task: str, steps: int, seeds: list[int]) -> str:
    return f"""```python
import gymnasium, torch
from pbml_control.policies import load_genome, to_torch_module

genome = load_genome("zoo/{task}/genome.safetensors")
policy = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
env = gymnasium.make("{task}", max_episode_steps={steps})
for seed in {seeds[:3]}:  # ... the card lists all {len(seeds)}
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            obs, r, terminated, truncated, _ = env.step(policy(torch.as_tensor(obs)).numpy())
        total, done = total + r, terminated or truncated
    print(seed, total)
```"""


def card_markdown(card: dict) -> str:
    plain, fast = card["plain_loop"], card["fast_path"]
    t = card["training"]
    return f"""# {card["task"]}: a controller evolved by pbml-control

![rollout](rollout.gif)

| | |
|---|---|
| task | `{card["task"]}` (Gymnasium's own id, default v5 arguments) |
| return, plain Gymnasium loop | **{plain["mean"]:.0f}** (95% CI {plain["ci95"][0]:.0f} .. \
{plain["ci95"][1]:.0f}), {len(plain["returns"])} episodes of {card["episode_steps"]} steps |
| return, package fast path | {fast["mean"]:.0f} ({fast["ci95"][0]:.0f} .. \
{fast["ci95"][1]:.0f}), same seeds |
| robustness, fast path | {len(fast["check_returns"])} episodes: mean {fast["check_mean"]:.0f}, \
min {min(fast["check_returns"]):.0f}, {fast["failures"]} failed (fell or froze) |
| scheme | {t["scheme"]} |
| policy | {t["policy"]} |
| env steps | {t["env_steps"] / 1e6:.1f} M in {t["generations"]} generations |
| wall time | {t["wall_minutes"]:.1f} min on 2 CPU cores |
| seed | {t["seed"]} |
| package | pbml-control {card["package_version"]}, commit {card["git_commit"][:10]} |

Chosen without the test episodes: of the run's 10 best survivors by training fitness, the one
with the best mean over 10 validation episodes (member {card["member_id"]}). Then evaluated on
episode seeds that neither training nor validation used: `{plain["episode_seeds"]}`.
The two returns differ because the torch module and the numpy fast path round differently
(actions differ by up to {card["action_difference_max"]:.1e} on 1000 random observations), and
the contact dynamics amplify that over an episode.

## Run it in your own loop

{user_loop(card["task"], card["episode_steps"], plain["episode_seeds"])}

## Recipe

```json
{json.dumps(card["config"], indent=1, sort_keys=True)}
```
"""


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
    from pbml_control.export import save_member
    from pbml_control.members import Member, load_source
    from pbml_control.policies import load_genome
    from pbml_control.zoo import plain_loop_returns

    run = Path(args.run)
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
    rows = read_metrics(run)
    hidden = config["problem"]["params"].get("hidden", [])
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
        "training": {
            "scheme": args.scheme_note or config["selection"]["scheme"],
            "policy": f"MLP {hidden}" if hidden else "linear (tanh-squashed)",
            "env_steps": int(rows[-1]["env_steps_total"]),
            "generations": len(rows),
            "wall_minutes": float(cumulative_wall_seconds(run)[-1] / 60),
            "seed": int(config["seed"]),
        },
        "action_difference_max": action_difference(genome),
        "package_version": version("pbml-control"),
        "git_commit": commit,
        "config": config,
    }
    atomic_write_text(folder / "card.json", json.dumps(card, indent=1, sort_keys=True))
    atomic_write_text(folder / "README.md", card_markdown(card))
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "rollout.mp4"
        pbml = [sys.executable, "-m", "pbml_control.cli", "render", str(run)]
        pbml += ["--member", str(final.member_id), "--steps", str(args.gif_steps)]
        pbml += ["--gif", "--gif-fps", "10", "--size", "256x192", "--out", str(video)]
        subprocess.run(pbml, check=True, capture_output=True)
        shutil.move(str(video.with_suffix(".gif")), folder / "rollout.gif")
    print(card_markdown(card).split("## Run it")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
