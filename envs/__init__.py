"""Goal-conditioned Gymnasium MuJoCo tasks, their transfer variants and a batched fast path.

Importing this package installs a MuJoCo warning handler (see `mujoco_log`) and registers
`PBML/<Task>-v0` and `PBML/<Task>-<Variant>-v0` with Gymnasium. Observations are the v5
observations with goal features appended at the end. Installed as `pbml_control.envs`
(the folder is `envs/`).
"""

from pbml_control.envs.mujoco_log import install_warning_handler, warning_count

install_warning_handler()

from pbml_control.envs.batch_rollout import (  # noqa: E402
    UNSTABLE_RETURN,
    UNSTABLE_STATE_LIMIT,
    rollout_batch,
)
from pbml_control.envs.goals import IntervalGoalSpace, PolarGoalSpace  # noqa: E402
from pbml_control.envs.mujoco_tasks import GoalMujocoEnv, validate_goal  # noqa: E402
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
    TaskSpec,
    Walker2dVelSpec,
)
from pbml_control.envs.variants import NAMED_VARIANTS, Variant, build_variant_model  # noqa: E402

register_all()

__all__ = [
    "NAMED_VARIANTS",
    "TASK_SPECS",
    "TASK_VARIANTS",
    "UNSTABLE_RETURN",
    "UNSTABLE_STATE_LIMIT",
    "AntHeadingSpec",
    "GoalMujocoEnv",
    "HalfCheetahVelSpec",
    "HopperVelSpec",
    "IntervalGoalSpace",
    "PolarGoalSpace",
    "ReacherGoalSpec",
    "TaskSpec",
    "Variant",
    "Walker2dVelSpec",
    "build_variant_model",
    "goal_space",
    "install_warning_handler",
    "make_task_spec",
    "parse_task_name",
    "register_all",
    "registered_tasks",
    "rollout_batch",
    "task_id",
    "validate_goal",
    "warning_count",
]
