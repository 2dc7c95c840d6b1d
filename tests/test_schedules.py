"""Goal schedules: when goals move and that they are reproducible."""

import numpy as np
import pytest

from pbml_control.schedules import GoalSchedule, ScheduleConfig


def sampler(rng, split):
    return rng.uniform(0, 1, size=2) + (10.0 if split == "heldout" else 0.0)


def test_random_goal_moves_every_period():
    """The goal is constant within an epoch and changes at each boundary."""
    sched = GoalSchedule(ScheduleConfig(kind="random", period=4), sampler, seed=1)
    goals = [sched.goal(g) for g in range(12)]
    assert all(np.array_equal(goals[0], goals[g]) for g in range(4))
    assert not np.array_equal(goals[3], goals[4]) and not np.array_equal(goals[7], goals[8])
    assert [sched.is_shift(g) for g in range(9)] == [0, 0, 0, 0, 1, 0, 0, 0, 1]


def test_static_goal_never_moves():
    """The static environment control keeps one goal forever."""
    sched = GoalSchedule(ScheduleConfig(kind="static", period=2), sampler, seed=1)
    assert all(np.array_equal(sched.goal(0), sched.goal(g)) for g in range(50))
    assert not any(sched.is_shift(g) for g in range(50))


def test_cyclic_goals_repeat_in_order():
    """A cycle walks its list and wraps around."""
    cfg = ScheduleConfig(kind="cyclic", period=3, goals=((1.0,), (2.0,)))
    sched = GoalSchedule(cfg, sampler, seed=0)
    assert [float(sched.goal(g)[0]) for g in range(0, 15, 3)] == [1.0, 2.0, 1.0, 2.0, 1.0]


def test_goal_depends_only_on_seed_and_generation():
    """Any generation's goal can be recomputed without replaying the run."""
    a = GoalSchedule(ScheduleConfig(kind="random", period=5), sampler, seed=3)
    b = GoalSchedule(ScheduleConfig(kind="random", period=5), sampler, seed=3)
    c = GoalSchedule(ScheduleConfig(kind="random", period=5), sampler, seed=4)
    assert np.array_equal(a.goal(37), b.goal(37))
    assert not np.array_equal(a.goal(37), c.goal(37))


def test_heldout_split_draws_from_the_heldout_region():
    """Transfer schedules sample unseen goals."""
    sched = GoalSchedule(ScheduleConfig(kind="random", split="heldout"), sampler, seed=0)
    assert sched.goal(0).min() >= 10.0


def test_bad_kind_is_rejected():
    """A typo in schedule.kind names the choices."""
    with pytest.raises(ValueError, match="cyclic"):
        ScheduleConfig(kind="sometimes")


def test_heldout_goals_do_not_mirror_training_goals():
    """The held-out stream is not the training stream: a draw in [0, 1) + 10 is not train + 10."""
    train = GoalSchedule(ScheduleConfig(kind="random"), sampler, seed=5)
    heldout = GoalSchedule(ScheduleConfig(kind="random", split="heldout"), sampler, seed=5)
    assert not np.allclose(heldout.goal(0) - 10.0, train.goal(0))
