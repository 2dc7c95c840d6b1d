"""The evaluator takes the problem state and returns the next one; it keeps none of its own."""

import numpy as np
import pytest

from pbml_control.evaluator import Evaluator, ProblemState
from pbml_control.mujoco_problem import MujocoProblem, MujocoProblemConfig

CONFIG = MujocoProblemConfig(task="HalfCheetahVel", hidden=(4,), episodes=2, max_episode_steps=20)


@pytest.fixture(scope="module")
def population() -> np.ndarray:
    with Evaluator(CONFIG) as evaluator:
        rng = np.random.default_rng(0)
        return np.stack([evaluator.policy_spec.init_params(rng) for _ in range(4)]) * 5.0


def copy(state: ProblemState) -> ProblemState:
    return ProblemState({k: v.copy() for k, v in state.normalizer.items()}, state.env_steps_total)


def same(a: ProblemState, b: ProblemState) -> bool:
    x, y = a.to_arrays(), b.to_arrays()
    return x.keys() == y.keys() and all(
        x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]) for k in x
    )


def test_evaluate_population_is_a_function_of_its_inputs(population):
    """The input state is left as it was; the same inputs give the same fitness and state."""
    goal = np.array([1.0])
    with Evaluator(CONFIG) as evaluator:
        start = evaluator.initial_state()
        kept = copy(start)
        first, after = evaluator.evaluate_population(population, goal, 3, 0, start)
        assert same(start, kept)
        with pytest.raises(ValueError, match="read-only"):
            after.normalizer["mean"][0] = 1.0
        again, after_again = evaluator.evaluate_population(population, goal, 3, 0, start)
        assert np.array_equal(first.fitness, again.fitness) and same(after, after_again)
        # the next generation starts from the returned state, and its statistics moved on
        _, later = evaluator.evaluate_population(population, goal, 3, 1, after)
    assert after.env_steps_total == first.info["env_steps"] == 4 * 2 * 20
    assert later.env_steps_total == 2 * after.env_steps_total
    assert float(after.normalizer["count"]) == 4 * 2 * 20
    assert not np.array_equal(after.normalizer["mean"], later.normalizer["mean"])


def test_problem_state_round_trips_through_the_checkpoint_arrays(population):
    with Evaluator(CONFIG) as evaluator:
        _, state = evaluator.evaluate_population(
            population, np.array([-1.0]), 5, 2, evaluator.initial_state()
        )
    arrays = state.to_arrays()
    assert sorted(arrays) == [
        "env_steps_total",
        *(f"obs_norm/{k}" for k in ("clip", "count", "eps", "m2", "mean")),
    ]
    assert same(ProblemState.from_arrays(arrays, evaluator.task.obs_dim), state)
    with pytest.raises(ValueError, match="normalizer state"):
        ProblemState.from_arrays({**arrays, "obs_norm/mean": np.zeros(3)}, evaluator.task.obs_dim)


def test_the_problem_adapter_chains_the_evaluator_state(population):
    """MujocoProblem.evaluate is evaluate_population with the state kept between calls."""
    problem = MujocoProblem(CONFIG)
    try:
        state = problem.evaluator.initial_state()
        for generation in range(2):
            expected, state = problem.evaluator.evaluate_population(
                population, np.array([0.5]), 1, generation, state
            )
            got = problem.evaluate(population, np.array([0.5]), 1, generation)
            assert np.array_equal(got.fitness, expected.fitness)
            assert same(problem.problem_state, state)
    finally:
        problem.close()


def test_evaluate_genome_does_not_depend_on_batch_company(population):
    """A member's returns are the same alone or in a batch (seeded per member, not per row)."""
    with Evaluator(CONFIG) as evaluator:
        _, state = evaluator.evaluate_population(
            population, np.array([1.0]), 3, 0, evaluator.initial_state()
        )
        norm = evaluator.normalizer(state)
        together = evaluator.evaluate_genome(population, None, 3, 9, norm)
        alone = evaluator.evaluate_genome(population[2], None, 3, 9, norm)
    assert together.shape == (4, 3)
    assert np.array_equal(together[2], alone[0])
