"""The render camera frames the robot well on every task: a segmentation render of the frame
`pbml render` draws (its camera, its size) shows the robot's geoms large enough to read and
never cut off.

Why the robot's extent and not only its pixel count: the Hopper and Walker are sticks a few
centimetres wide, so a well framed Hopper covers ~2.5% of the pixels while its height spans
60% of the frame. Before the cameras were tuned, the cheetah spanned a third of the frame's
width and covered 1.7% of its pixels (small in the frame, seen from a low angle); 11 of
these 12 tasks failed. A variant shares its task's camera, so a LongLimbs robot must still fit
(checked) and a ShortLimbs one looks smaller, as it is.
"""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import pbml_control.envs  # noqa: F401
from pbml_control import render
from pbml_control.envs.batch_rollout import SimBatch
from pbml_control.envs.registry import make_task_spec

W, H = 320, 240  # pbml render's default tile size
TASKS = [
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "Ant-v5",
    "Swimmer-v5",
    "InvertedPendulum-v5",
    "HalfCheetahVel",
    "HopperVel",
    "Walker2dVel",
    "AntHeading",
    "ReacherGoal",
    "HalfCheetahVel-LongLimbs",
]


def robot_mask(name: str) -> np.ndarray:
    """(H, W) bool: pixels of the robot's geoms (any body but the world) after 20 steps."""
    task = make_task_spec(name)
    model = task.build_model()
    data = mujoco.MjData(model)
    sims = SimBatch(task, model, 1, persistent=True)
    goal = np.asarray(task.default_goal, dtype=np.float64)[None]
    sims.reset(np.array([0]), goal)
    for _ in range(20):
        sims.step(np.array([0]), np.zeros((1, task.act_dim)), goal)
    renderer = render._open_renderer(model, W, H)
    try:
        renderer.enable_segmentation_rendering()
        renderer.update_scene(sims.batch.get_data(0, data), render.make_camera(model, task.name))
        seg = renderer.render()
    finally:
        renderer.close()
    geom = seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
    return geom & (model.geom_bodyid[np.where(geom, seg[..., 0], 0)] != 0)


@pytest.mark.parametrize("name", TASKS)
def test_the_camera_frames_the_robot(name):
    robot = robot_mask(name)
    share = robot.mean()
    ys, xs = np.nonzero(robot)
    assert 0.01 <= share <= 0.6, f"{name}: robot covers {share:.3f} of the frame"
    span = max((ys.max() - ys.min() + 1) / H, (xs.max() - xs.min() + 1) / W)
    assert 0.4 <= span <= 0.9, f"{name}: the robot spans {span:.2f} of the frame"
    border = np.concatenate([robot[0], robot[-1], robot[:, 0], robot[:, -1]])
    assert not border.any(), f"{name}: the robot is cut off at the frame's edge"
