"""The run loop: one generation per :func:`step` = ask, evaluate on the goal, tell.

The method itself is :mod:`pbml_control.strategy` (pure ask/tell over an immutable state);
this loop adds what a run needs around it: the goal schedule, a :class:`Problem` to evaluate
candidates, the env-step budget, and metrics that leave as plain dicts through callbacks. The
loop never prints. Every random draw is keyed by
(run seed, generation, member id), so a run's results do not depend on how many workers
evaluate it, and a run resumed from a checkpoint equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from pbml_control import strategy
from pbml_control.config import ConfigError, RunConfig
from pbml_control.genome import module_metrics
from pbml_control.problem import Problem
from pbml_control.schedules import GoalSchedule
from pbml_control.strategy import Generation, State, StrategyConfig

__all__ = ["EvolutionState", "Metrics", "evolve", "generations", "initial_state", "step"]

Metrics = dict[str, float | int | str | list[float]]
Callback = Callable[[Metrics], None]

#: The loop's state is the strategy's (the name predates the ask/tell interface).
EvolutionState = State


def initial_state(config: RunConfig, problem: Problem) -> EvolutionState:
    """Founders drawn by the problem, with the configured initial mutation parameters."""
    return strategy.init(config, problem.layout, config.seed, problem.initial_params)


def generation_metrics(
    generation: int,
    told: Generation,
    goal: np.ndarray,
    schedule: GoalSchedule,
    info: dict[str, float],
) -> Metrics:
    """One row of metrics.jsonl; deterministic (timings are reported separately)."""
    pop = told.population
    fitness = pop.fitness
    finite = np.isfinite(fitness)
    valid = fitness[finite]
    row: Metrics = {
        "generation": generation,
        "epoch": schedule.epoch(generation),
        "goal_shift": int(schedule.is_shift(generation)),
        "goal": np.asarray(goal, dtype=np.float64).tolist(),
        "fitness_mean": float(valid.mean()) if valid.size else float("nan"),
        "fitness_best": float(valid.max()) if valid.size else float("nan"),
        "fitness_median": float(np.median(valid)) if valid.size else float("nan"),
        "fitness_worst": float(valid.min()) if valid.size else float("nan"),
        "invalid_fitness": int((~finite).sum()),
        "offspring": told.offspring,
        "mean_age": float(np.mean(generation - pop.birth_generation)),
        **module_metrics(pop),
    }
    for key, value in sorted(info.items()):
        row[key] = value
    return row


def step(
    state: EvolutionState, config: RunConfig, problem: Problem, schedule: GoalSchedule
) -> tuple[EvolutionState, Metrics, float]:
    """One generation: ask, evaluate on this generation's goal, tell.

    Returns the new state, the metrics row and the seconds spent evaluating.
    """
    g = state.generation
    state = dataclasses.replace(state, config=StrategyConfig.of(config), seed=config.seed)
    goal = schedule.goal(g)
    if schedule.is_shift(g):
        state = strategy.forget(state)
    state, candidates = strategy.ask(state)
    started = time.perf_counter()
    fitness, info = np.empty(0), {}
    if len(candidates):
        evaluation = problem.evaluate(candidates.params, goal, config.seed, g)
        fitness, info = np.asarray(evaluation.fitness, dtype=np.float64), dict(evaluation.info)
    eval_seconds = time.perf_counter() - started
    if config.selection.survivor_fitness != "reevaluate" or not len(candidates):
        info["evaluated"] = len(candidates)
    if fitness.shape != candidates.rows.shape:
        raise ValueError(f"problem returned fitness of shape {fitness.shape}")
    state = strategy.tell(state, candidates, fitness)
    told = state.last
    assert told is not None
    info["fatal_passes"] = told.fatal_passes
    metrics = generation_metrics(g, told, goal, schedule, info)
    return state, metrics, eval_seconds


def generations(
    state: EvolutionState, config: RunConfig, problem: Problem
) -> Iterator[tuple[EvolutionState, Metrics, float]]:
    """Each new state with its metrics row and evaluation seconds, until ``config.generations``
    or the env-step budget; the caller records them as it likes (runner.train, evolve)."""
    if config.schedule.goals_per_generation > 1 and not getattr(problem, "goal_sets", False):
        raise ConfigError(
            f"schedule.goals_per_generation > 1: {type(problem).__name__} evaluates one goal "
            "per generation"
        )
    schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
    while state.generation < config.generations and not budget_spent(config, problem):
        state, metrics, seconds = step(state, config, problem, schedule)
        yield state, metrics, seconds


def evolve(
    state: EvolutionState,
    config: RunConfig,
    problem: Problem,
    callbacks: Iterable[Callable[[EvolutionState, Metrics, float], None]] = (),
) -> EvolutionState:
    """Run until ``config.generations``; callbacks see each new state and its metrics."""
    callbacks = list(callbacks)
    for new_state, metrics, seconds in generations(state, config, problem):
        state = new_state
        for callback in callbacks:
            callback(state, metrics, seconds)
    return state


def budget_spent(config: RunConfig, problem: Problem) -> bool:
    """Whether ``max_env_steps`` is set and the problem's env-step counter has reached it."""
    if config.max_env_steps <= 0:
        return False
    spent = problem.state_dict().get("env_steps_total")
    return spent is not None and int(spent) >= config.max_env_steps
