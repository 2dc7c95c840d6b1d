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


def test_stratified_goal_sets_span_the_region():
    """HalfCheetahVel, 4 goals a set: goal j always comes from the j-th quarter of the training
    region laid end to end, so every set holds two backward and two forward speeds (plain sets
    often hold one direction only)."""
    from envs.goals import GOAL_SPACES

    space = GOAL_SPACES["HalfCheetahVel"]
    quarters = [(-2.0, -1.25), (-1.25, -0.5), (0.5, 1.25), (1.25, 2.0)]
    config = ScheduleConfig(kind="random", period=1, goals_per_generation=4, stratified=True)
    sched = GoalSchedule(config, space.sample, seed=7)
    sets = np.stack([sched.goal(g)[:, 0] for g in range(200)])
    for j, (lo, hi) in enumerate(quarters):
        assert ((lo <= sets[:, j]) & (sets[:, j] <= hi)).all()
        assert sets[:, j].max() - sets[:, j].min() > 0.6  # spread over its quarter
    plain = ScheduleConfig(kind="random", period=1, goals_per_generation=4)
    plain_sets = np.stack([GoalSchedule(plain, space.sample, 7).goal(g)[:, 0] for g in range(200)])
    assert ((plain_sets > 0).all(axis=1) | (plain_sets < 0).all(axis=1)).sum() > 10


def test_strata_together_are_uniform_over_the_region():
    """Pooled over j, stratified draws are uniform over a union of intervals (AntHeading's four
    heading sectors, the last one split across the +-pi seam)."""
    from envs.goals import GOAL_SPACES

    space = GOAL_SPACES["AntHeading"]
    rng = np.random.default_rng(0)
    draws = np.array([space.sample(rng, "train", (j, 8))[0] for _ in range(2000) for j in range(8)])
    assert all(space.contains(x) for x in draws)
    # each sector (0, pi/2, -pi/2, pi) gets a quarter of the draws, whatever the stratum count
    sector = np.round(np.angle(np.exp(1j * draws)) / (np.pi / 2)).astype(int) % 4
    assert np.allclose(np.bincount(sector, minlength=4) / draws.size, 0.25, atol=1e-9)
    with pytest.raises(ValueError, match="stratum 8 of 8"):
        space.sample(rng, "train", (8, 8))


def test_stratified_needs_a_goal_set():
    with pytest.raises(ValueError, match="goals_per_generation >= 2"):
        ScheduleConfig(kind="random", stratified=True)


def test_the_all_split_spans_the_whole_goal_space_held_out_goals_included():
    """split "all": AntHeading's 4 strata are the 4 quadrants, diagonals (held out) included;
    a polar space draws from the whole annulus; a goal-free space still has its one goal."""
    from envs.goals import GOAL_SPACES, NoGoalSpace

    space = GOAL_SPACES["AntHeading"]
    rng = np.random.default_rng(1)
    draws = np.array([[space.sample(rng, "all", (j, 4))[0] for j in range(4)] for _ in range(500)])
    for j in range(4):
        lo, hi = -np.pi + j * np.pi / 2, -np.pi / 2 + j * np.pi / 2
        assert lo <= draws[:, j].min() < lo + 0.05 and hi - 0.05 < draws[:, j].max() <= hi
    held_out = [space.contains(x, "heldout") for x in draws.ravel()]
    assert 0.2 < np.mean(held_out) < 0.3  # the diagonals' quarter of the circle
    assert all(space.contains(x, "all") for x in draws.ravel())
    reacher = GOAL_SPACES["ReacherGoal"]
    angles = [np.arctan2(*reacher.sample(rng, "all")[::-1]) for _ in range(400)]
    assert min(angles) < -2.5 and max(angles) > 2.5 and 0.15 < np.mean(np.array(angles) > 0) < 0.85
    assert NoGoalSpace("Ant-v5").sample(rng, "all").shape == (0,)
    assert ScheduleConfig(split="all").split == "all"
    with pytest.raises(ValueError, match="'train', 'heldout' or 'all'"):
        ScheduleConfig(split="everything")
