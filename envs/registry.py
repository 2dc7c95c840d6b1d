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
from pbml_control.envs.names import did_you_mean
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


class UnknownTaskError(ValueError):
    """A name whose task is none of ours (it may still be a Gymnasium id: see `task_path`)."""


def task_names() -> list[str]:
    """Every name `parse_task_name` accepts without a namespace: tasks and task-variants."""
    names = list(ALL_SPECS)
    for task in ALL_SPECS:
        for variant in TASK_VARIANTS[task]:
            base, _, version = task.rpartition("-v") if task in GYM_TASK_SPECS else (task, "", "")
            names.append(f"{base}-{variant}-v{version}" if version else f"{task}-{variant}")
    return names


def _unknown_variant(task: str, variant: str) -> ValueError:
    available = TASK_VARIANTS[task]
    if not available:
        return ValueError(f"task {task!r} has no variants (asked for {variant!r})")
    listed = f"(available: {', '.join(available)})"
    if variant in NAMED_VARIANTS:
        return ValueError(f"variant {variant!r} is not registered for {task!r} {listed}")
    hint = did_you_mean(variant, available)
    return ValueError(f"unknown variant {variant!r} of {task!r} {listed}{hint}")


def parse_task_name(name: str) -> tuple[str, str | None]:
    """Split `HalfCheetahVel`, `HalfCheetahVel-Heavy` or `PBML/HalfCheetahVel-Heavy-v0`
    into (task, variant). A name whose task is not ours raises `UnknownTaskError`; one of our
    tasks with a version or variant it does not have raises ValueError with a suggestion
    (`HalfCheetahVel-v5` is not silently read as `HalfCheetahVel-v0`)."""
    m = _ID_RE.match(name)
    if m is None:
        raise UnknownTaskError(f"unknown task {name!r}")
    task, _, variant = m.group("name").partition("-")
    version = m.group("version")
    if version is not None and f"{task}-v{version}" in GYM_TASK_SPECS:
        task = f"{task}-v{version}"
    elif task in _GYM_FAMILIES and version is None:
        raise ValueError(f"task {name!r} needs a version on the fast path: {_GYM_FAMILIES[task]}")
    elif task not in TASK_SPECS:
        raise UnknownTaskError(f"unknown task {name!r}")
    elif version is not None and int(version) != VERSION:
        fixed = name[: m.start("version") - 2] + f"-v{VERSION}"
        raise ValueError(f"task {name!r} has no version v{version}; did you mean {fixed!r}?")
    if variant:
        if variant not in TASK_VARIANTS[task]:
            raise _unknown_variant(task, variant)
        return task, variant
    return task, None


def task_path(name: str) -> str:
    """``"fast"`` for a name `make_task_spec` knows, ``"generic"`` for any other registered
    Gymnasium id; anything else raises ValueError in one line with the closest known name."""
    try:
        parse_task_name(name)
    except UnknownTaskError:
        try:
            gymnasium.spec(name)
        except gymnasium.error.Error:
            pool = [*task_names(), *gymnasium.registry]
            hint = did_you_mean(name.removeprefix(f"{NAMESPACE}/"), pool)
            raise ValueError(
                f"unknown task {name!r}: neither one of ours nor a Gymnasium id{hint}"
            ) from None
        return "generic"
    return "fast"


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
    if task_path(name) == "generic":
        return NoGoalSpace(name)
    task, _ = parse_task_name(name)
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
