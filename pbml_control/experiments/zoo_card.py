"""The zoo's model cards as markdown, from the numbers in ``card.json``.

Two kinds: a goal-free entry (one return on the task's own id) and a goal-conditioned one (one
row per commanded goal). Both show the user's own Gymnasium loop with the exported module, so a
card says how to reproduce its headline. ``scripts/make_zoo.py`` measures; this only renders.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np

__all__ = ["DEFAULT_WALL_NOTE", "card_markdown", "goal_card_markdown"]

#: How a card's wall time was measured when it does not say (cards made before the key).
DEFAULT_WALL_NOTE = "on 2 CPU cores"


def _wall_time(training: dict) -> str:
    return f"{training['wall_minutes']:.1f} min {training.get('wall_note', DEFAULT_WALL_NOTE)}"


def episode_loop(seeds: list[int], printed: str, indent: str = "") -> str:
    """The card's user loop over the first seeds, one observation at a time (both card kinds)."""
    loop = f"""for seed in {seeds[:3]}:  # ... the card lists all {len(seeds)}
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            obs, r, terminated, truncated, _ = env.step(policy(torch.as_tensor(obs)).numpy())
        total, done = total + r, terminated or truncated
    print({printed})"""
    return textwrap.indent(loop, indent)


def user_loop(task: str, steps: int, seeds: list[int]) -> str:
    return f"""```python
import gymnasium, torch
from pbml_control.policies import load_genome, to_torch_module

genome = load_genome("zoo/{task}/genome.safetensors")
policy = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
env = gymnasium.make("{task}", max_episode_steps={steps})
{episode_loop(seeds, "seed, total")}
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
| wall time | {_wall_time(t)} |
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


def goal_user_loop(card: dict) -> str:
    seeds, goals = card["plain_loop"]["episode_seeds"], [g[0] for g in card["goals"]]
    make_args = (f'"{card["env_id"]}", goal=[goal]{_settings(card)}, '
                 f'max_episode_steps={card["episode_steps"]}')  # fmt: skip
    return f"""```python
import gymnasium, torch
import pbml_control.envs  # registers the PBML/ ids
from pbml_control.policies import load_genome, to_torch_module

genome = load_genome("zoo/{card["task"]}/genome.safetensors")
policy = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
{_wrapped("for goal in [", ", ".join(map(repr, goals)), "]:", "")}
{_wrapped("    env = gymnasium.make(", make_args, ")", "    ")}
{episode_loop(seeds, "goal, seed, total", "    ")}
```

The command is part of the observation, so it can change mid-episode:
`env.unwrapped.set_goal([{_words(card)["switch_to"]}])`, and the next observation carries the new \
{_words(card)["noun"]}."""


#: What a goal card says about its goals, by the kind of goal (card key ``goal_kind``).
GOAL_WORDS = {
    "velocity": {
        "unit": "m/s", "noun": "target", "switch_to": "-1.0",
        "intro": "One policy for every commanded forward velocity: the target is the last entry "
                 "of its\nobservation, so it runs, slows down and turns around when the command "
                 "changes",
        "extra_header": " | tracking error (m/s)", "measure": "mean velocity",
        "returns": "A return is minus the summed\n|velocity - target| and control cost, so 0 is "
                   "perfect and standing still earns about\n-|target| x {steps}.",
        "tracking": "Tracking error: mean |x velocity - target| over steps {skip}..{steps} of the"
                    "\nfast path's episodes above, from",
        "render": ("--goal 2 --goal -1", "cheetah"),
    },
    "heading": {
        "unit": "rad", "noun": "heading", "switch_to": "1.5708",
        "intro": "One policy for every commanded heading: the heading is part of its "
                 "observation, so it turns\nand walks the new way when the command changes",
        "extra_header": "", "measure": "mean velocity along the heading (m/s)",
        "returns": "A return is the summed velocity\nalong the heading, plus 1 per step "
                   "upright, minus the control cost, so standing still earns about {steps}.",
        "tracking": "Mean velocity along the heading over steps {skip}..{steps} of the fast "
                    "path's episodes above\n(steps after a fall count as 0 m/s), from",
        "render": ("--goal 0 --goal 1.5708", "ant"),
    },
}  # fmt: skip


def _wrapped(head: str, items: str, tail: str, indent: str, width: int = 100) -> str:
    """``head items tail`` on one line, or its items on lines of their own as ruff formats
    code that is too long (the cards' code blocks stay ruff clean)."""
    line = f"{head}{items}{tail}"
    if len(line) <= width:
        return line
    if len(f"{indent}    {items}") <= width:
        return f"{head}\n{indent}    {items}\n{indent}{tail}"
    lines = "".join(f"{indent}    {item.strip()},\n" for item in items.split(", "))
    return f"{head}\n{lines}{indent}{tail}"


def _words(card: dict) -> dict:
    return GOAL_WORDS[card.get("goal_kind", "velocity")]


def _settings(card: dict) -> str:
    """The task settings of ``gymnasium.make`` beyond the goal, as keyword arguments."""
    return "".join(f", {k}={v!r}" for k, v in card.get("make_kwargs", {}).items())


def _ci(stat: dict) -> str:
    return f"{stat['mean']:.0f} ({stat['ci95'][0]:.0f} .. {stat['ci95'][1]:.0f})"


def goal_card_markdown(card: dict) -> str:
    """The model card of a goal-conditioned entry: the setting, then one row per goal."""
    plain, fast, tracking = card["plain_loop"], card["fast_path"], card["tracking"]
    t, words = card["training"], _words(card)
    unit, heading = words["unit"], card.get("goal_kind") == "heading"
    seeds, steps = plain["episode_seeds"], card["episode_steps"]
    met = sum(row["met"] for row in tracking["per_goal"])
    rows = "\n".join(
        f"| {p['goal'][0]:+g} | **{_ci(p)}** | {_ci(f)} | {r['mean_velocity']:+.3f} "
        + ("" if heading else f"| {r['mean_abs_error']:.3f} ")
        + f"| {'yes' if r['met'] else 'no'} |"
        for p, f, r in zip(plain["per_goal"], fast["per_goal"], tracking["per_goal"], strict=True)
    )
    resumed = "".join(
        f"; resumed at generation {r['from_generation']} with "
        + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in r["changed"].items())
        for r in t["resumes"]
    )
    recipe = f"`{t['recipe']}`" if t["recipe"] else "the config below"
    # the example: the fastest forward command, or the heading along x
    shown = (
        int(np.argmin(np.abs([g[0] for g in card["goals"]])))
        if heading
        else int(np.argmax([g[0] for g in card["goals"]]))
    )
    goal, ret = card["goals"][shown][0], plain["per_goal"][shown]["returns"][0]
    space = card["goal_space"]
    shown_goals = " -> ".join(f"{float(g):+g}" for g in card["gif_goals"])
    trained = " and ".join(f"{a:g} .. {b:g}" for a, b in card["goal_train_region"])
    criterion = tracking["criterion"].replace("|", "\\|")  # inside a table row
    frame = (
        "\n\nIt observes and acts in the heading's quarter-turn frame "
        "(`quarter_turn_frame=True`, docs/tasks.md):\none set of weights serves the four "
        "quadrants alike."
        if card.get("make_kwargs", {}).get("quarter_turn_frame")
        else ""
    )
    render_goals, clip = words["render"]
    extra_columns = "|---|" if heading else "|---|---|"
    return f"""# {card["task"]}: a goal-conditioned controller evolved by pbml-control

![rollout: commanded {shown_goals} {unit}](rollout.gif)

{words["intro"]} (the GIF:
{shown_goals} {unit}, one policy throughout).{frame}

| | |
|---|---|
| task | `{card["task"]}`: `gymnasium.make("{card["env_id"]}", goal=[v]{_settings(card)})` after \
`import pbml_control.envs`; trained on goals {trained} {unit}, accepts {space[0]:g} .. \
{space[1]:g} |
| recipe | {recipe}, seed {t["seed"]}{resumed} |
| scheme | {t["scheme"]} |
| policy | {t["policy"]} |
| env steps | {t["env_steps"] / 1e6:.1f} M in {t["generations"]} generations |
| wall time | {_wall_time(t)} |
| tracking | {met} of {len(card["goals"])} goals met {criterion} m/s (per goal below) |
| package | pbml-control {card["package_version"]}, commit {card["git_commit"][:10]} |

## Per goal

| goal ({unit}) | return, plain Gymnasium loop (95% CI) | return, package fast path | \
{words["measure"]}{words["extra_header"]} | met |
|---|---|---|---{extra_columns}
{rows}

Returns: {len(seeds)} episodes of {steps} steps per goal, on episode seeds that neither
training nor validation used, the same at every goal: `{seeds}`. \
{words["returns"].format(steps=steps)} The two returns differ because the torch module and the \
numpy fast path
round differently (actions differ by up to {card["action_difference_max"]:.1e} on 1000 random
observations), and the contact dynamics amplify that over an episode.

{words["tracking"].format(skip=tracking["skip_steps"], steps=steps)}
`{tracking["report"]}` (`scripts/goal_tracking.py`).

Chosen without the test episodes, by `scripts/goal_tracking.py`: of the run's 10 best
survivors by training fitness, the one with the best mean return over 3 validation episodes at
each of these goals (member {card["member_id"]}).

## Run it

```bash
pbml evaluate zoo:{card["task"]} --goal {goal:g} --seed {seeds[0]} --episodes 1   # {ret:.1f}
pbml render zoo:{card["task"]} {render_goals} --switch-goal-every 100 --steps 300 \\
    --gif --out {clip}.mp4
pbml export zoo:{card["task"]} --out {clip}.safetensors --torch {clip}.pt
```

`pbml evaluate --goal G --seed S --episodes 1` runs the loop below for one goal and seed: on
the machine that made the card it prints the card's plain-loop return to the last digit. A goal
outside {space[0]:g} .. {space[1]:g} is refused.

{goal_user_loop(card)}

## Recipe

```json
{json.dumps(card["config"], indent=1, sort_keys=True)}
```
"""
