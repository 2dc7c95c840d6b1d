"""The ant's quarter-turn symmetry, as linear maps of its observation and action.

Gymnasium's ant (`ant.xml`) looks the same after a quarter turn about the vertical axis once
its legs are relabelled: leg i becomes leg i+1, hips keep their angle and the ankles of legs 1
and 3 change sign. Rotating a state that way (planar position and world linear velocity by the
quarter turn, the torso quaternion conjugated by it, the torso's local angular velocity by it,
the joints relabelled) and relabelling the actions the same way gives the rotated trajectory:
`tests/test_quarter_turn.py` checks it with `mj_step` to 1e-9.

So a heading h can be written h_c + k pi/2 with h_c in [-pi/4, pi/4], and walking along h is
walking along h_c in a world turned k quarter turns. `AntHeadingSpec(quarter_turn_frame=True)`
observes the state turned back by k quarter turns with the goal h_c, and turns the policy's
action forward by k quarter turns before it reaches the motors: a policy then only has to learn
the headings of one quadrant, and the same weights serve all four.

All maps are signed permutations (entries 0 and +-1), so they are exact in floating point.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["canonical_heading", "canonical_observation", "world_action"]

_QUARTER = math.pi / 2
_LEGS = 4
# Leg i -> leg i+1 under a quarter turn: (hip, ankle) signs, legs numbered as in ant.xml.
_LEG_SIGNS = ((1.0, -1.0), (1.0, 1.0), (1.0, -1.0), (1.0, 1.0))
# Actuator a drives joint _ACTUATOR_JOINT[a] of the 8 leg joints in qpos order
# (hip_1, ankle_1, ..., hip_4, ankle_4); ant.xml lists the motors from leg 4 on.
_ACTUATOR_JOINT = (6, 7, 0, 1, 2, 3, 4, 5)
# Base observation (27): z, quaternion w x y z, 8 joint angles, world linear velocity x y z,
# local angular velocity x y z, 8 joint velocities.
_OBS_XY_PAIRS = ((2, 3), (13, 14), (16, 17))
_OBS_JOINTS = (5, 19)  # first index of the joint angles, of the joint velocities
BASE_OBS_DIM = 27


def _joint_turn() -> np.ndarray:
    """(8, 8) signed permutation: the leg joints after one quarter turn."""
    p = np.zeros((2 * _LEGS, 2 * _LEGS))
    for leg, signs in enumerate(_LEG_SIGNS):
        to = (leg + 1) % _LEGS
        for part in (0, 1):
            p[2 * to + part, 2 * leg + part] = signs[part]
    return p


def _planar_turn(k: int) -> np.ndarray:
    """(2, 2) rotation by k quarter turns, with exact 0 and +-1 entries."""
    c, s = ((1, 0), (0, 1), (-1, 0), (0, -1))[k % 4]
    return np.array([[c, -s], [s, c]], dtype=np.float64)


def _observation_maps() -> np.ndarray:
    """(4, 27, 27): map k turns a base observation back by k quarter turns."""
    joints = _joint_turn()
    maps = np.zeros((4, BASE_OBS_DIM, BASE_OBS_DIM))
    for k in range(4):
        m = np.eye(BASE_OBS_DIM)
        back = _planar_turn(-k)
        for i, j in _OBS_XY_PAIRS:
            m[np.ix_((i, j), (i, j))] = back
        joints_back = np.linalg.matrix_power(joints.T, k)  # the inverse of a permutation
        for start in _OBS_JOINTS:
            span = slice(start, start + 2 * _LEGS)
            m[span, span] = joints_back
        maps[k] = m
    return maps


def _action_maps() -> np.ndarray:
    """(4, 8, 8): map k turns an action forward by k quarter turns."""
    to_joints = np.zeros((2 * _LEGS, 2 * _LEGS))  # joint vector = to_joints @ action
    to_joints[list(_ACTUATOR_JOINT), range(2 * _LEGS)] = 1.0
    joints = _joint_turn()
    return np.stack([to_joints.T @ np.linalg.matrix_power(joints, k) @ to_joints for k in range(4)])


_OBS_MAPS = _observation_maps()
_ACT_MAPS = _action_maps()


def canonical_heading(heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, h_c) with heading = h_c + k pi/2, k in {0, 1, 2, 3} and h_c in [-pi/4, pi/4]."""
    h = np.asarray(heading, dtype=np.float64)
    turns = np.floor(h / _QUARTER + 0.5)
    return turns.astype(np.int64) % 4, h - turns * _QUARTER


def canonical_observation(base_obs: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """(N, 27) base observations turned back by `turns` (N,) quarter turns each."""
    return np.einsum("nij,nj->ni", _OBS_MAPS[turns], base_obs)


def world_action(action: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """(N, 8) actions of the turned-back world turned forward by `turns` (N,) quarter turns."""
    return np.einsum("nij,nj->ni", _ACT_MAPS[turns], action)
