"""Which path a task takes: the fast path or the generic one, behind one `make_task`/`rollout`.

Fast path: a name `make_task_spec` knows (our goal-conditioned tasks, their variants, and the
Gymnasium v5 tasks with a `TaskSpec`) runs on `mujoco.batch` (`batch_rollout`). Any other
registered Gymnasium id runs on the generic path (`generic`): slower, but a valid id is never
refused as unknown.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbml_control.envs.batch_rollout import ActFn, ObsCallback, rollout_batch
from pbml_control.envs.generic import EnvPool, GenericTask, make_generic_task, rollout_generic
from pbml_control.envs.registry import make_task_spec, parse_task_name, task_path
from pbml_control.envs.task_spec import TaskSpec

Task = TaskSpec | GenericTask


def is_fast_path(name: str) -> bool:
    """Whether `name` is a task with a `TaskSpec` (runs on `mujoco.batch`)."""
    try:
        parse_task_name(name)
    except ValueError:
        return False
    return True


def make_task(name: str, **kwargs: Any) -> Task:
    """The `TaskSpec` of a fast-path name, else the `GenericTask` of a Gymnasium id.

    `kwargs` are spec fields on the fast path (`max_episode_steps`, reward weights) and
    `gymnasium.make` arguments on the generic path (besides `max_episode_steps`). A name that
    is neither raises ValueError naming it.
    """
    if task_path(name) == "generic":  # raises, with the closest name, for neither path
        return make_generic_task(name, **kwargs)
    return make_task_spec(name, **kwargs)


def rollout(
    task: Task,
    model: Any,
    goal: np.ndarray,
    episode_seed_per_sim: np.ndarray,
    act_fn: ActFn,
    max_steps: int | None = None,
    trace: dict[str, Any] | None = None,
    on_obs: ObsCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`rollout_batch` or `rollout_generic`, by the task's path; `model` is `task.build_model()`."""
    if isinstance(task, GenericTask):
        assert isinstance(model, EnvPool)
        return rollout_generic(
            task, model, goal, episode_seed_per_sim, act_fn, max_steps, trace, on_obs
        )
    return rollout_batch(
        task, model, goal, episode_seed_per_sim, act_fn, max_steps, trace=trace, on_obs=on_obs
    )
