"""The final evaluation: champion from the top survivors, test seeds never trained on."""

import numpy as np
import pytest

from pbml_control.checkpoint import latest_checkpoint, load_checkpoint
from pbml_control.config import RunConfig
from pbml_control.experiments.final import (
    cumulative_wall_seconds,
    final_evaluation,
    top_survivors,
)
from pbml_control.runner import read_metrics, train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("final") / "run"
    cfg = RunConfig.from_dict(
        {
            "seed": 3, "generations": 50, "population_size": 6, "max_env_steps": 6 * 20 * 3,
            "problem": {"name": "mujoco", "task": "HalfCheetah-v5", "hidden": [],
                        "max_episode_steps": 20},
            "selection": {"survivor_fitness": "keep", "death_rate": 0.5},
            "schedule": {"kind": "static"},
        }
    )  # fmt: skip
    train(out, cfg)
    return out


def test_champion_is_a_top_survivor_and_seeds_are_fresh(run):
    """The member comes from the top-k by training fitness; 10 test returns, 50 in the check."""
    result = final_evaluation(run, episodes=10, check_episodes=50, candidates=3, validation=2)
    pop = load_checkpoint(latest_checkpoint(run / "checkpoints")).population
    assert result.member_id in pop.ids[top_survivors(pop, 3)]
    assert len(result.returns) == 10 and len(result.check_returns) == 50
    assert result.returns == result.check_returns[:10]
    assert np.isclose(result.mean, np.mean(result.returns))
    assert result.ci95[0] <= result.mean <= result.ci95[1]
    assert result.candidates == 3


def test_top_survivors_skip_members_never_evaluated(run):
    """Offspring not yet evaluated (NaN fitness) are never candidates."""
    pop = load_checkpoint(latest_checkpoint(run / "checkpoints")).population
    top = top_survivors(pop, len(pop))
    assert np.isfinite(pop.fitness[top]).all()
    assert len(top) == int(np.isfinite(pop.fitness).sum()) < len(pop)
    assert list(pop.fitness[top]) == sorted(pop.fitness[top], reverse=True)


def test_wall_time_is_increasing_and_one_per_generation(run):
    """One cumulative wall time per metrics row, never decreasing."""
    wall = cumulative_wall_seconds(run)
    assert len(wall) == len(read_metrics(run)) > 1
    assert np.all(np.diff(wall) >= 0) and wall[0] > 0
