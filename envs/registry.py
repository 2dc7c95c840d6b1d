"""Task names, named variants and their Gymnasium registration.

Ids are `PBML/<Task>-v0` for the goal-conditioned tasks and `PBML/<Task>-<Variant>-v0` for
transfer variants (dm_control-style named factories). Gymnasium's standard tasks on the fast
path keep their upstream name and version: `HalfCheetah-v5` (also `PBML/HalfCheetah-v5`, the
same task through our env class) and `HalfCheetah-Heavy-v5` for a variant. `make_task_spec`
is the one place that turns any of these names into a `TaskSpec`, so the gym path and the
fast path agree on them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import gymnasium

from pbml_control.envs.goals import GOAL_SPACES, GoalSpace, NoGoalSpace
from pbml_control.envs.gym_specs import GYM_TASK_SPECS
from pbml_control.envs.specs import TASK_SPECS
from pbml_control.envs.task_spec import TaskSpec
from pbml_control.envs.variants import NAMED_VARIANTS, named_variant

NAMESPACE = "PBML"
VERSION = 0

#: Named variants registered per task. Reacher has none: it is planar (gravity is moot) and
#: its first link belongs to the root body, which limb scaling leaves alone.
TASK_VARIANTS: dict[str, tuple[str, ...]] = {
    "HalfCheetahVel": tuple(NAMED_VARIANTS),
    "AntHeading": tuple(NAMED_VARIANTS),
    "HopperVel": tuple(NAMED_VARIANTS),
    "Walker2dVel": tuple(NAMED_VARIANTS),
    "ReacherGoal": (),
    **{name: tuple(NAMED_VARIANTS) for name in GYM_TASK_SPECS},
    # A swimmer floats in a plane of viscous fluid: no floor contact, gravity is moot.
    "Swimmer-v5": ("Heavy", "Light", "LongLimbs", "ShortLimbs"),
    # The cart slides on a frictionless rail; a longer pole is another task, not a variant.
    "InvertedPendulum-v5": ("Heavy", "Light", "LowGravity"),
}

#: Every task with a `TaskSpec`: the goal-conditioned ones and the fast-path standard ones.
ALL_SPECS: dict[str, type[TaskSpec]] = {**TASK_SPECS, **GYM_TASK_SPECS}
_GYM_FAMILIES = {name.rsplit("-v", 1)[0]: name for name in GYM_TASK_SPECS}
_ENTRY_POINTS = {
    name: f"pbml_control.envs.mujoco_tasks:{name.replace('-v', 'V')}Env" for name in ALL_SPECS
}
_ID_RE = re.compile(
    rf"^(?:{NAMESPACE}/)?(?P<name>[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)??)(?:-v(?P<version>\d+))?$"
)


def task_id(task: str, variant: str | None = None) -> str:
    """The Gymnasium id of a task (and optional named variant) through our env classes."""
    suffix = f"-{variant}" if variant else ""
    if task in GYM_TASK_SPECS:
        base, version = task.rsplit("-v", 1)
        return f"{NAMESPACE}/{base}{suffix}-v{version}"
    return f"{NAMESPACE}/{task}{suffix}-v{VERSION}"


def parse_task_name(name: str) -> tuple[str, str | None]:
    """Split `HalfCheetahVel`, `HalfCheetahVel-Heavy` or `PBML/HalfCheetahVel-Heavy-v0`
    into (task, variant); unknown tasks or variants raise ValueError naming them."""
    m = _ID_RE.match(name)
    if m is None:
        raise ValueError(f"unknown task {name!r}; known tasks: {sorted(ALL_SPECS)}")
    task, _, variant = m.group("name").partition("-")
    version = m.group("version")
    if version is not None and f"{task}-v{version}" in GYM_TASK_SPECS:
        task = f"{task}-v{version}"
    elif task in _GYM_FAMILIES and version is None:
        raise ValueError(f"task {name!r} needs a version on the fast path: {_GYM_FAMILIES[task]}")
    elif task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r} in {name!r}; known tasks: {sorted(ALL_SPECS)}")
    if variant:
        if variant not in TASK_VARIANTS[task]:
            named_variant(variant)  # raises for names that are no variant at all
            raise ValueError(
                f"variant {variant!r} is not registered for {task!r}; "
                f"available: {list(TASK_VARIANTS[task])}"
            )
        return task, variant
    return task, None


def make_task_spec(name: str, **kwargs: Any) -> TaskSpec:
    """The `TaskSpec` for a task or variant name; `kwargs` override spec fields (weights,
    `max_episode_steps`, `variant`)."""
    task, variant = parse_task_name(name)
    cls = ALL_SPECS[task]
    if variant is not None and "variant" not in kwargs:
        kwargs["variant"] = named_variant(variant)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(f"unknown {task} spec argument(s) {unknown}; known: {sorted(known)}")
    return cls(**kwargs)


def goal_space(name: str) -> GoalSpace:
    """The goal space of a task, by any of the names `make_task_spec` accepts; any other name
    (a Gymnasium id on the generic path) has no goals."""
    try:
        task, _ = parse_task_name(name)
    except ValueError as fast_error:
        try:
            gymnasium.spec(name)
        except gymnasium.error.Error:
            raise ValueError(f"{fast_error}; nor is {name!r} a Gymnasium id") from None
        return NoGoalSpace(name)
    return GOAL_SPACES[task] if task in GOAL_SPACES else NoGoalSpace(task)


def registered_tasks() -> list[str]:
    """All Gymnasium ids this package registers, base tasks first then variants."""
    ids = [task_id(t) for t in ALL_SPECS]
    ids += [task_id(t, v) for t in ALL_SPECS for v in TASK_VARIANTS[t]]
    return ids


def register_all() -> None:
    """Register every task and variant with Gymnasium (idempotent)."""
    for task, cls in ALL_SPECS.items():
        steps = next(f.default for f in dataclasses.fields(cls) if f.name == "max_episode_steps")
        for variant in (None, *TASK_VARIANTS[task]):
            env_id = task_id(task, variant)
            if env_id in gymnasium.registry:
                continue
            kwargs = dataclasses.asdict(named_variant(variant)) if variant else {}
            gymnasium.register(
                id=env_id,
                entry_point=_ENTRY_POINTS[task],
                max_episode_steps=steps,
                kwargs=kwargs,
            )
