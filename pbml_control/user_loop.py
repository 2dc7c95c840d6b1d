"""The loop a user writes around an exported policy, as the one place returns are measured for
people: ``pbml evaluate``, the zoo cards and the export tests all run it.

It is exactly the README's loop: ``env = gymnasium.make(<id>, [goal=...,]
max_episode_steps=<steps>)``, then per episode ``obs, _ = env.reset(seed=s)`` and
``action = module(torch.as_tensor(obs)).numpy()`` with the float64 ``nn.Module`` of
``policies.to_torch_module`` (one observation at a time, no batch dimension), until termination
or truncation; the return is ``float(reward)`` summed in step order.

Why the exported module and not the package's batched numpy forward pass: the two agree to
~1e-15 in each action, and contact dynamics amplify such last-bit differences into returns
several percent apart over 1000 steps. Measuring with the artefact a user runs makes
``pbml evaluate`` and the user's loop give the same float, bit for bit, on one machine.
Training keeps its own (batched numpy) forward pass, so training fitness is close to, but not
the same number as, these returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EpisodeResults", "gym_id", "make_kwargs", "reset_seeds", "run_episodes"]


def reset_seeds(seed: int, episodes: int) -> list[int]:
    """The ``env.reset(seed=...)`` of each episode: ``seed, seed + 1, ..., seed + episodes - 1``."""
    return [int(seed) + i for i in range(episodes)]


def gym_id(task: str) -> str:
    """The Gymnasium id a user makes for a task name of this package.

    Gymnasium's own v5 tasks keep their upstream id (``HalfCheetah-v5``: Gymnasium's class, what
    a user types); their variants and our goal tasks are ``PBML/...`` ids; any other Gymnasium
    id is itself.
    """
    import pbml_control.envs  # noqa: F401  (registers the PBML/ ids)
    from pbml_control.envs.gym_specs import GYM_TASK_SPECS
    from pbml_control.envs.registry import parse_task_name, task_id, task_path

    if task_path(task) == "generic":
        return task
    base, variant = parse_task_name(task)
    if base in GYM_TASK_SPECS and variant is None:
        return base
    return task_id(base, variant)


def make_kwargs(task: Any, goal: np.ndarray | None, steps: int) -> dict[str, Any]:
    """The keyword arguments of ``gymnasium.make`` for ``task`` (a ``TaskSpec`` or
    ``GenericTask``): its own make arguments, the goal (goal tasks only) and the horizon."""
    kwargs: dict[str, Any] = dict(getattr(task, "make_kwargs", ()))
    if goal is not None and task.goal_dim > 0:
        kwargs["goal"] = [float(g) for g in np.asarray(goal).reshape(-1)]
    kwargs["max_episode_steps"] = int(steps)
    return kwargs


@dataclass(frozen=True)
class EpisodeResults:
    """Per-episode returns and lengths (steps taken) of one policy, in seed order."""

    seeds: list[int]
    returns: list[float]
    lengths: list[int]

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))


def run_episodes(
    genome: Any,
    env_id: str,
    seeds: Sequence[int],
    kwargs: dict[str, Any],
    convert: Any = None,
) -> EpisodeResults:
    """Returns of ``genome`` (``spec``, ``params``, ``normalizer_state``) as its exported torch
    module in ``gymnasium.make(env_id, **kwargs)``, one episode per reset seed.

    ``convert`` (a ``GenericTask``, for a Gymnasium id off the fast path) maps observations and
    outputs the way training did (flatten or one-hot; clip or argmax); None: raw, as for MuJoCo.
    """
    import gymnasium
    import torch

    import pbml_control.envs  # noqa: F401  (registers the PBML/ ids)
    from pbml_control.policies import to_torch_module

    module = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
    returns, lengths = [], []
    env = gymnasium.make(env_id, **kwargs)
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=int(seed))
            total, steps, done = 0.0, 0, False
            while not done:
                x = obs if convert is None else convert.observation(env, obs)
                with torch.no_grad():
                    action = module(torch.as_tensor(x)).numpy()
                if convert is not None:
                    action = convert.env_action(env, action)
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                steps += 1
                done = terminated or truncated
            returns.append(total)
            lengths.append(steps)
    finally:
        env.close()
    return EpisodeResults([int(s) for s in seeds], returns, lengths)
