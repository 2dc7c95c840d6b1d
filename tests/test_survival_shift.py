"""``problem.survival_shift``: training fitness minus shift x steps alive; true return elsewhere."""

import numpy as np
import pytest

from pbml_control.mujoco_problem import make


def _fitness(shift: float) -> tuple[np.ndarray, int]:
    problem = make(task="Hopper-v5", hidden=[], max_episode_steps=200, survival_shift=shift)
    try:
        rng = np.random.default_rng(0)
        params = np.stack([problem.initial_params(rng) * 5.0 for _ in range(6)])
        goal = problem.sample_goal(rng)
        evaluation = problem.evaluate(params, goal, seed=3, generation=0)
        return np.asarray(evaluation.fitness), int(evaluation.info["env_steps"])
    finally:
        problem.close()


def test_shift_subtracts_the_bonus_per_step_alive():
    plain, steps = _fitness(0.0)
    shifted, shifted_steps = _fitness(1.0)
    assert steps == shifted_steps
    assert steps < 6 * 200  # some hoppers fall early, so lengths differ between members
    differences = plain - shifted
    assert len(set(np.round(differences, 9))) > 1  # a per-member length, not a constant
    assert differences.sum() == pytest.approx(steps)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_shift_is_refused(bad):
    with pytest.raises(ValueError, match="survival_shift"):
        make(task="Hopper-v5", hidden=[], survival_shift=bad)
