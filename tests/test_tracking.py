"""Goal tracking reads the reward's own velocity terms from the rollout trace."""

import numpy as np

from pbml_control.envs import make_task_spec, rollout_batch
from pbml_control.experiments.tracking import goal_tracking
from pbml_control.genome import Genome
from pbml_control.policies import LoadedGenome, PolicySpec


def test_trace_terms_add_up_to_the_reward():
    """reward_forward + reward_ctrl is the step's reward; x_velocity drives the forward term."""
    spec = make_task_spec("HalfCheetahVel", max_episode_steps=30)
    model = spec.build_model()
    rng = np.random.default_rng(0)
    trace: dict = {}
    rollout_batch(spec, model, np.array([1.5]), np.array([3, 4]),
                  lambda obs: rng.uniform(-1, 1, (2, 6)), trace=trace)  # fmt: skip
    terms = trace["terms"]
    assert terms["x_velocity"].shape == trace["reward"].shape == (30, 2)
    np.testing.assert_array_equal(terms["reward_forward"] + terms["reward_ctrl"], trace["reward"])
    np.testing.assert_array_equal(terms["reward_forward"], -np.abs(terms["x_velocity"] - 1.5))


def test_goal_tracking_error_is_the_mean_speed_error_after_skip():
    """A standing policy (zero weights) tracks target v with error about |v|, per goal."""
    spec = PolicySpec(obs_dim=18, act_dim=6, hidden=(), action_low=-1.0, action_high=1.0)
    zeros = Genome(spec.layout(), np.zeros(spec.num_params), np.zeros(1), np.zeros(1))
    genome = LoadedGenome(spec, zeros, None, {})
    goals = [np.array([-1.0]), np.array([2.0])]
    result = goal_tracking(genome, "HalfCheetahVel", goals, episodes=2, steps=60, seed=0, skip=10)
    assert [r.goal for r in result] == [[-1.0], [2.0]]
    assert [r.steps for r in result] == [100, 100]
    for r, target in zip(result, (-1.0, 2.0), strict=True):
        assert abs(r.mean_velocity) < 0.2
        assert abs(r.mean_abs_error - abs(target)) < 0.2


def test_heading_steps_after_a_fall_count_as_standing_still(monkeypatch):
    """AntHeading: an episode that ended early adds 0 m/s for its missing steps, so the mean is
    over every planned step, not only over the steps walked (HalfCheetahVel never ends early)."""
    from pbml_control.experiments import tracking

    def velocity(terms, goal):  # 1 m/s along the heading; episode 1 "fell" after 5 steps
        v = np.ones_like(terms["x_velocity"])
        v[5:, 1] = np.nan
        return v

    monkeypatch.setattr(tracking, "_velocity", velocity)
    spec = PolicySpec(obs_dim=29, act_dim=8, hidden=(), action_low=-1.0, action_high=1.0)
    zeros = Genome(spec.layout(), np.zeros(spec.num_params), np.zeros(1), np.zeros(1))
    genome = LoadedGenome(spec, zeros, None, {})
    (result,) = goal_tracking(genome, "AntHeading", [np.array([0.0])], 2, 20, seed=0, skip=0)
    assert result.steps == 25
    assert result.mean_velocity == (20 + 5) / 40
    assert np.isnan(result.mean_abs_error)
