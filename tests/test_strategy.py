"""The ask/tell strategy: pure functions, every scheme, the fitness memory, and the loop on it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pbml_control import strategy
from pbml_control.config import RunConfig
from pbml_control.genome import ModuleLayout
from pbml_control.loop import evolve, initial_state
from pbml_control.registry import make_problem
from pbml_control.selection import SCHEMES, SelectionConfig
from pbml_control.strategy import StrategyConfig

LAYOUT = ModuleLayout(("a", "b"), ((3,), (2,)))


def sphere(params: np.ndarray) -> np.ndarray:
    return -np.sum((params - 1.0) ** 2, axis=1)


def run(config: StrategyConfig, generations: int, seed: int = 0) -> strategy.State:
    state = strategy.init(config, LAYOUT, seed)
    for _ in range(generations):
        state, candidates = strategy.ask(state)
        state = strategy.tell(state, candidates, sphere(candidates.params))
    return state


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_runs_through_ask_and_tell_and_improves(scheme):
    config = StrategyConfig(population_size=32, selection=SelectionConfig(scheme=scheme))
    first = run(config, 1)
    last = run(config, 60)
    assert last.generation == 60 and len(last.population) == 32
    assert strategy.best(last)[1] > strategy.best(first)[1]


def test_ask_and_tell_are_pure_and_repeatable():
    """The same state told the same fitness gives the same next state; the input is unchanged."""
    state = run(StrategyConfig(population_size=16), 3)
    before = {k: v.copy() for k, v in state.population.arrays().items()}
    state, candidates = strategy.ask(state)
    one = strategy.tell(state, candidates, sphere(candidates.params))
    two = strategy.tell(state, candidates, sphere(candidates.params))
    for name, value in before.items():
        assert np.array_equal(state.population.arrays()[name], value, equal_nan=True), name
    for name, value in one.population.arrays().items():
        assert np.array_equal(two.population.arrays()[name], value, equal_nan=True), name
    assert (one.generation, one.next_id) == (two.generation, two.next_id)


def test_keep_mode_asks_only_for_members_without_fitness():
    config = StrategyConfig(
        population_size=20, selection=SelectionConfig(survivor_fitness="keep", death_rate=0.3)
    )
    state = run(config, 4)
    state, candidates = strategy.ask(state)
    newborn = state.population.birth_generation == state.generation
    assert np.array_equal(candidates.rows, np.flatnonzero(newborn))
    assert 0 < len(candidates) < 20
    state, everyone = strategy.ask(strategy.forget(state))
    assert len(everyone) == 20


def test_average_mode_remembers_the_mean_of_a_survivors_returns():
    config = StrategyConfig(
        population_size=10, selection=SelectionConfig(survivor_fitness="average", death_rate=0.1)
    )
    state = strategy.init(config, LAYOUT, 0)
    state, candidates = strategy.ask(state)
    state = strategy.tell(state, candidates, np.full(10, 2.0))
    state, candidates = strategy.ask(state)
    state = strategy.tell(state, candidates, np.full(10, 4.0))
    told = state.last.population
    old = told.evaluations == 2
    assert old.any() and np.all(told.fitness[old] == 3.0)
    assert np.all(told.fitness[~old] == 4.0)


def test_tell_refuses_fitness_of_the_wrong_shape():
    state, candidates = strategy.ask(strategy.init(StrategyConfig(population_size=4), LAYOUT, 0))
    with pytest.raises(ValueError, match="shape"):
        strategy.tell(state, candidates, np.zeros(3))


def test_the_run_loop_is_ask_evaluate_tell(square_config):
    """evolve() on a problem equals driving the strategy by hand with the problem's fitness."""
    config = dataclasses.replace(square_config, generations=6)
    problem = make_problem(config.problem)
    from_loop = evolve(initial_state(config, problem), config, problem)
    from pbml_control.schedules import GoalSchedule

    schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
    state = strategy.init(config, problem.layout, config.seed, problem.initial_params)
    for g in range(6):
        if schedule.is_shift(g):
            state = strategy.forget(state)
        state, candidates = strategy.ask(state)
        fitness = problem.evaluate(candidates.params, schedule.goal(g), config.seed, g).fitness
        state = strategy.tell(state, candidates, fitness)
    for name, value in from_loop.population.arrays().items():
        assert np.array_equal(state.population.arrays()[name], value, equal_nan=True), name


def test_run_config_and_strategy_config_found_the_same_population():
    config = RunConfig.from_dict({"population_size": 8, "mutation": {"init_sigma": 0.3}})
    a = strategy.init(config, LAYOUT, 5)
    b = strategy.init(StrategyConfig.of(config), LAYOUT, 5)
    assert np.array_equal(a.population.params, b.population.params)
    assert np.allclose(np.exp(a.population.log_sigma), 0.3)


def test_fixed_mutation_freezes_sigma_and_p_while_pbml_moves_them():
    """Same settings, tau > 0: only the fixed_mutation scheme keeps every founder's values."""
    mutation = dataclasses.replace(StrategyConfig().mutation, tau=0.5, use_probability=True)
    moved = {}
    for scheme in ("fixed_mutation", "pbml"):
        config = StrategyConfig(16, SelectionConfig(scheme=scheme), mutation)
        state = run(config, 10)
        founders = strategy.init(config, LAYOUT, 0).population
        assert state.population.birth_generation.max() > 0
        moved[scheme] = not (
            np.all(state.population.log_sigma == founders.log_sigma[0])
            and np.all(state.population.logit_p == founders.logit_p[0])
        )
    assert moved == {"fixed_mutation": False, "pbml": True}
