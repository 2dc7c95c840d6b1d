"""Goal-conditioned Gymnasium MuJoCo tasks, their transfer variants and a batched fast path.

Importing this package installs a MuJoCo warning handler (see `mujoco_log`) and registers
`PBML/<Task>-v0` and `PBML/<Task>-<Variant>-v0` with Gymnasium. Observations are the v5
observations with goal features appended at the end. Gymnasium's standard v5 locomotion tasks
run on the same fast path without a goal (`gym_specs`); any other Gymnasium id on a generic
one (`generic`); `paths.make_task` picks the path by name. Installed as `pbml_control.envs`
(the folder is `envs/`).
"""

from pbml_control.envs.mujoco_log import install_warning_handler, warning_count

install_warning_handler()

from pbml_control.envs.batch_rollout import (  # noqa: E402
    UNSTABLE_RETURN,
    UNSTABLE_STATE_LIMIT,
    rollout_batch,
)
from pbml_control.envs.generic import GenericTask, make_generic_task  # noqa: E402
from pbml_control.envs.goals import IntervalGoalSpace, NoGoalSpace, PolarGoalSpace  # noqa: E402
from pbml_control.envs.gym_specs import GYM_TASK_SPECS  # noqa: E402
from pbml_control.envs.mujoco_tasks import GoalMujocoEnv, validate_goal  # noqa: E402
from pbml_control.envs.paths import is_fast_path, make_task, rollout  # noqa: E402
from pbml_control.envs.registry import (  # noqa: E402
    TASK_VARIANTS,
    goal_space,
    make_task_spec,
    parse_task_name,
    register_all,
    registered_tasks,
    task_id,
)
from pbml_control.envs.specs import (  # noqa: E402
    TASK_SPECS,
    AntHeadingSpec,
    HalfCheetahVelSpec,
    HopperVelSpec,
    ReacherGoalSpec,
    Walker2dVelSpec,
)
from pbml_control.envs.task_spec import TaskSpec  # noqa: E402
from pbml_control.envs.variants import NAMED_VARIANTS, Variant, build_variant_model  # noqa: E402

register_all()

__all__ = [
    "GYM_TASK_SPECS",
    "NAMED_VARIANTS",
    "TASK_SPECS",
    "TASK_VARIANTS",
    "UNSTABLE_RETURN",
    "UNSTABLE_STATE_LIMIT",
    "AntHeadingSpec",
    "GenericTask",
    "GoalMujocoEnv",
    "HalfCheetahVelSpec",
    "HopperVelSpec",
    "IntervalGoalSpace",
    "NoGoalSpace",
    "PolarGoalSpace",
    "ReacherGoalSpec",
    "TaskSpec",
    "Variant",
    "Walker2dVelSpec",
    "build_variant_model",
    "goal_space",
    "install_warning_handler",
    "is_fast_path",
    "make_generic_task",
    "make_task",
    "make_task_spec",
    "parse_task_name",
    "register_all",
    "registered_tasks",
    "rollout",
    "rollout_batch",
    "task_id",
    "validate_goal",
    "warning_count",
]
