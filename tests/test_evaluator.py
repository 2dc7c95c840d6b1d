"""The evaluator takes the problem state and returns the next one; it keeps none of its own.

Its results do not depend on how the simulations are cut into chunks or handed to workers.
"""

import dataclasses

import numpy as np
import pytest
from fault_injection import SleepRunner

from pbml_control.evaluator import Evaluator, ProblemState
from pbml_control.evaluators import LocalBackend, ProcessBackend, RunTiming
from pbml_control.mujoco_config import chunks_per_worker
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


def _generations(config: MujocoProblemConfig, goal: np.ndarray) -> tuple[list[bytes], Evaluator]:
    """Bytes of two generations' fitness and of the normaliser after each, and the evaluator."""
    with Evaluator(config) as evaluator:
        rng = np.random.default_rng(1)
        params = np.stack([evaluator.policy_spec.init_params(rng) for _ in range(7)]) * 8.0
        state, out = evaluator.initial_state(), []
        for generation in range(2):
            evaluation, state = evaluator.evaluate_population(params, goal, 4, generation, state)
            out.append(evaluation.fitness.tobytes())
            out += [state.to_arrays()[k].tobytes() for k in sorted(state.to_arrays())]
            out.append(repr(sorted(evaluation.info.items())).encode())
    return out, evaluator


@pytest.mark.parametrize(
    ("task", "goal"),
    [
        ("Hopper-v5", None),  # most episodes end early (steps 48-67 of 100)
        ("HalfCheetahVel", np.array([[0.5], [2.0], [-1.0]])),  # a goal set: 3 goals per member
    ],
)
def test_results_do_not_depend_on_chunks_per_worker(task, goal):
    """Fitness and normaliser are byte-equal for any workers x chunks_per_worker cut."""
    base = MujocoProblemConfig(task=task, hidden=(4,), episodes=2, max_episode_steps=100)
    if goal is None:
        with Evaluator(base) as evaluator:
            goal = np.asarray(evaluator.task.default_goal, dtype=np.float64)
    expected, _ = _generations(base, goal)
    for workers, chunks in ((1, 3), (1, 1000), (2, 1), (2, 4)):
        config = dataclasses.replace(base, workers=workers, chunks_per_worker=chunks)
        got, evaluator = _generations(config, goal)
        assert got == expected, (workers, chunks)
        timing = evaluator.last_timing
        sims = 7 * 2 * (len(goal) if goal.ndim == 2 else 1)
        assert timing is not None and len(timing.job_seconds) == min(workers * chunks, sims)
        assert timing.workers == workers and len(timing.busy_seconds()) <= workers
        assert 0 < timing.balance <= 1.0
        assert timing.cpu_share is not None and 0 < timing.cpu_share <= 1.05


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "4", "Auto"])
def test_chunks_per_worker_is_checked(bad):
    with pytest.raises(ValueError, match=r'problem.chunks_per_worker must be "auto" or an integer'):
        MujocoProblemConfig(chunks_per_worker=bad)


def test_auto_chunks_per_worker_cuts_4_chunks_from_8_workers_on():
    assert MujocoProblemConfig().chunks_per_worker == "auto"
    assert [chunks_per_worker("auto", w) for w in (1, 2, 7, 8, 16, 64)] == [1, 1, 1, 4, 4, 4]
    assert chunks_per_worker(3, 16) == 3 and chunks_per_worker(1, 16) == 1


def test_balance_is_mean_worker_busy_time_over_wall_time():
    """Two workers, 3 s of wall: one busy 3 s (two jobs), the other 1.5 s, so 0.75."""
    timing = RunTiming(
        job_seconds=(2.0, 1.5, 1.0),
        job_workers=(11, 12, 11),
        wall_seconds=3.0,
        workers=2,
        job_cpu_seconds=(1.0, 1.5, 0.75),
    )
    assert timing.busy_seconds() == {11: 3.0, 12: 1.5}
    assert timing.balance == pytest.approx(0.75)
    assert timing.cpu_share == pytest.approx(3.25 / 4.5)  # a worker waited for a core
    idle = RunTiming(job_seconds=(3.0,), job_workers=(11,), wall_seconds=3.0, workers=4)
    assert idle.balance == pytest.approx(0.25)  # workers that got no job count as idle


def test_a_free_worker_takes_the_next_job():
    """Worker processes are not dealt jobs in advance: while one sleeps through a long job,
    the other runs all the short ones (dealt round-robin, it would run only half of them)."""
    backend = ProcessBackend(SleepRunner, (), workers=2)
    try:
        for _ in range(20):  # until both workers have started
            backend.run([(0.2,), (0.2,)])
            assert backend.last_timing is not None
            if len(set(backend.last_timing.job_workers)) == 2:
                break
        assert backend.run([(1.5,), *[(0.05,)] * 6]) == [1.5, *[0.05] * 6]
        timing = backend.last_timing
    finally:
        backend.close()
    assert timing is not None and len(set(timing.job_workers)) == 2
    assert timing.job_workers[0] not in timing.job_workers[1:]
    assert timing.job_seconds[0] >= 1.5 and timing.wall_seconds >= 1.5
    assert 0.3 < timing.balance <= 1.0  # (1.5 + 0.3) / 2 over about 1.5 s of wall: 0.6


@pytest.mark.parametrize(
    ("workers", "setting", "jobs"), [(2, "auto", 2), (8, "auto", 32), (8, 1, 8)]
)
def test_the_evaluator_cuts_the_chunks_the_setting_means(population, workers, setting, jobs):
    """With "auto", 8 workers get 4 chunks each (the jobs run in this process here: no pool)."""
    config = dataclasses.replace(CONFIG, workers=workers, chunks_per_worker=setting, episodes=10)
    with Evaluator(config) as evaluator:
        evaluator._backend = LocalBackend(evaluator._local)
        evaluator.evaluate_population(population, np.array([1.0]), 3, 0, evaluator.initial_state())
        assert evaluator.last_timing is not None
        assert len(evaluator.last_timing.job_seconds) == jobs
