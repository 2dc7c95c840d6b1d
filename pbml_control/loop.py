"""The evolution loop: evaluate, rank, select, reproduce; one generation per :func:`step`.

State goes in and comes out (evosax-style ask/tell over an immutable record), metrics leave
as plain dicts through callbacks, and the loop never prints. Every random draw is keyed by
(run seed, generation, member id), so a run's results do not depend on how many workers
evaluate it, and a run resumed from a checkpoint equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pbml_control.config import ConfigError, RunConfig
from pbml_control.genome import Population
from pbml_control.mutation import reproduce
from pbml_control.operators import crossover, fatal_pass, low_rank_sigma_scale, scout_mask
from pbml_control.problem import Problem
from pbml_control.rng import generator
from pbml_control.schedules import GoalSchedule
from pbml_control.selection import SelectionResult, select

__all__ = ["EvolutionState", "Metrics", "evolve", "initial_state", "step"]

Metrics = dict[str, float | int | str | list[float]]
Callback = Callable[[Metrics], None]


@dataclass(frozen=True)
class EvolutionState:
    """A population about to be evaluated at ``generation``."""

    generation: int
    next_id: int  # id the next newborn member gets
    population: Population


def initial_state(config: RunConfig, problem: Problem) -> EvolutionState:
    """Founders: each drawn from its own stream, with the configured initial mutation params."""
    n, layout = config.population_size, problem.layout
    mutation = config.effective_mutation
    params = np.stack(
        [problem.initial_params(generator(config.seed, "init", 0, i)) for i in range(n)]
    )
    population = Population(
        layout=layout,
        params=params.astype(np.float64),
        log_sigma=np.tile(mutation.initial_log_sigma(layout.num_modules), (n, 1)),
        logit_p=np.tile(mutation.initial_logit_p(layout.num_modules), (n, 1)),
        ids=np.arange(n, dtype=np.int64),
        parent_ids=np.full(n, -1, dtype=np.int64),
        birth_generation=np.zeros(n, dtype=np.int64),
        protected_until=np.zeros(n, dtype=np.int64),
    )
    return EvolutionState(generation=0, next_id=n, population=population)


def make_offspring(
    population: Population,
    parents: np.ndarray,
    state: EvolutionState,
    config: RunConfig,
    parent_rank: np.ndarray,
) -> Population:
    """One child per entry of ``parents``; child k's streams are keyed by its new member id.

    ``parent_rank`` (rank position of each parent, 0 = best) feeds the low-rank variance
    operator; the optional operators draw from streams of their own (operators.py).
    """
    mutation, ops = config.effective_mutation, config.operators
    layout, g, seed = population.layout, state.generation, config.seed
    k = len(parents)
    ids = np.arange(state.next_id, state.next_id + k, dtype=np.int64)
    scale = np.ones(k)
    if ops.scout_fraction > 0:
        scouts = scout_mask(k, ops.scout_fraction, generator(seed, "scouts", g))
        scale[scouts] *= ops.scout_sigma_scale
    if ops.low_rank_sigma_boost > 0:
        scale *= low_rank_sigma_scale(parent_rank, len(population), ops.low_rank_sigma_boost)
    mates = parents
    if ops.crossover_rate > 0:
        mates = generator(seed, "mates", g).permutation(parents)
    params = np.empty((k, layout.num_params))
    log_sigma = np.empty((k, layout.num_modules))
    logit_p = np.empty((k, layout.num_modules))
    for j, (parent, child_id) in enumerate(zip(parents, ids, strict=True)):
        genes = _genes(population, parent)
        if ops.crossover_rate > 0:
            mating = generator(seed, "mating", g, int(child_id))
            if mating.random() < ops.crossover_rate:
                genes = crossover(genes, _genes(population, mates[j]), layout, mating)
        rng = generator(seed, "mutate", g, int(child_id))
        params[j], log_sigma[j], logit_p[j] = reproduce(
            *genes, layout, mutation, rng, sigma_scale=float(scale[j])
        )
    return Population(
        layout=layout,
        params=params,
        log_sigma=log_sigma,
        logit_p=logit_p,
        ids=ids,
        parent_ids=population.ids[parents],
        birth_generation=np.full(k, g + 1, dtype=np.int64),
        protected_until=np.zeros(k, dtype=np.int64),
    )


def _genes(population: Population, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return population.params[i], population.log_sigma[i], population.logit_p[i]


def apply_fatal_passes(
    state: EvolutionState, result: SelectionResult, config: RunConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survivors, parents and the new protection ends after fatal passes.

    Each rescued member takes the place of one child, so the population size stays N.
    """
    pop, g = state.population, state.generation
    protection = pop.protected_until.copy()
    ops = config.operators
    if ops.fatal_pass_probability == 0 and not (protection > g).any():
        return result.survivors, result.parents, protection
    dead = result.order[~np.isin(result.order, result.survivors)]
    rescued = fatal_pass(
        dead,
        protection[dead] > g,
        ops.fatal_pass_probability,
        generator(config.seed, "fatal-pass", g),
    )
    rescued = rescued[: len(result.parents)]
    newly = rescued[protection[rescued] <= g]
    protection[newly] = g + 1 + ops.fatal_pass_generations
    survivors = np.concatenate([result.survivors, rescued])
    return survivors, result.parents[: len(result.parents) - len(rescued)], protection


def generation_metrics(
    state: EvolutionState,
    fitness: np.ndarray,
    goal: np.ndarray,
    schedule: GoalSchedule,
    info: dict[str, float],
    offspring: int,
) -> Metrics:
    """One row of metrics.jsonl; deterministic (timings are reported separately)."""
    pop = state.population
    finite = np.isfinite(fitness)
    valid = fitness[finite]
    sigma = np.exp(pop.log_sigma)
    row: Metrics = {
        "generation": state.generation,
        "epoch": schedule.epoch(state.generation),
        "goal_shift": int(schedule.is_shift(state.generation)),
        "goal": np.asarray(goal, dtype=np.float64).tolist(),
        "fitness_mean": float(valid.mean()) if valid.size else float("nan"),
        "fitness_best": float(valid.max()) if valid.size else float("nan"),
        "fitness_median": float(np.median(valid)) if valid.size else float("nan"),
        "fitness_worst": float(valid.min()) if valid.size else float("nan"),
        "invalid_fitness": int((~finite).sum()),
        "offspring": offspring,
        "mean_age": float(np.mean(state.generation - pop.birth_generation)),
    }
    for k, name in enumerate(pop.layout.names):
        row[f"sigma/{name}"] = float(np.mean(sigma[:, k]))
        row[f"log_sigma/{name}"] = float(np.mean(pop.log_sigma[:, k]))
    for key, value in sorted(info.items()):
        row[key] = value
    return row


def evaluate_population(
    state: EvolutionState, config: RunConfig, problem: Problem, goal: np.ndarray
) -> tuple[Population, dict[str, float]]:
    """The population with this generation's fitness in its memory, and the problem's counters.

    Which members run, and how their returns fold into the memory, is
    ``selection.survivor_fitness``; with ``reevaluate`` the memory is just this generation's.
    """
    pop, mode = state.population, config.selection.survivor_fitness
    run = np.flatnonzero(pop.evaluations == 0) if mode == "keep" else np.arange(len(pop))
    if run.size == 0:
        return pop, {"evaluated": 0}
    evaluation = problem.evaluate(pop.params[run], goal, config.seed, state.generation)
    returns = np.asarray(evaluation.fitness, dtype=np.float64)
    if returns.shape != run.shape:
        raise ValueError(f"problem returned fitness of shape {returns.shape}")
    fitness, count = pop.fitness.copy(), pop.evaluations.copy()
    if mode == "average":
        old = np.where(count[run] > 0, fitness[run], 0.0)
        # non-finite returns stay non-finite (ranked last); finite ones average
        fitness[run] = (old * count[run] + returns) / (count[run] + 1)
    else:
        fitness[run] = returns
    count[run] += 1
    info = dict(evaluation.info)
    if mode != "reevaluate":
        info["evaluated"] = int(run.size)
    return dataclasses.replace(pop, fitness=fitness, evaluations=count), info


def step(
    state: EvolutionState, config: RunConfig, problem: Problem, schedule: GoalSchedule
) -> tuple[EvolutionState, Metrics, float]:
    """Evaluate the population on this generation's goal and breed the next one.

    Returns the new state, the metrics row and the seconds spent evaluating.
    """
    goal = schedule.goal(state.generation)
    if schedule.is_shift(state.generation):
        state = dataclasses.replace(state, population=state.population.forget_fitness())
    started = time.perf_counter()
    population, info = evaluate_population(state, config, problem, goal)
    eval_seconds = time.perf_counter() - started
    fitness = population.fitness
    result = select(fitness, config.selection, generator(config.seed, "select", state.generation))
    state = dataclasses.replace(state, population=population)
    survivor_index, parents, protection = apply_fatal_passes(state, result, config)
    info = {**info, "fatal_passes": len(result.parents) - len(parents)}
    metrics = generation_metrics(state, fitness, goal, schedule, info, offspring=len(parents))
    rank_of = np.empty(len(fitness), dtype=np.int64)
    rank_of[result.order] = np.arange(len(fitness))
    children = make_offspring(population, parents, state, config, rank_of[parents])
    survivors = dataclasses.replace(population, protected_until=protection).take(survivor_index)
    next_state = EvolutionState(
        generation=state.generation + 1,
        next_id=state.next_id + len(parents),
        population=Population.concat(survivors, children),
    )
    return next_state, metrics, eval_seconds


def evolve(
    state: EvolutionState,
    config: RunConfig,
    problem: Problem,
    callbacks: Iterable[Callable[[EvolutionState, Metrics, float], None]] = (),
) -> EvolutionState:
    """Run until ``config.generations``; callbacks see each new state and its metrics."""
    if config.schedule.goals_per_generation > 1 and not getattr(problem, "goal_sets", False):
        raise ConfigError(
            f"schedule.goals_per_generation > 1: {type(problem).__name__} evaluates one goal "
            "per generation"
        )
    schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
    callbacks = list(callbacks)
    while state.generation < config.generations and not budget_spent(config, problem):
        state, metrics, seconds = step(state, config, problem, schedule)
        for callback in callbacks:
            callback(state, metrics, seconds)
    return state


def budget_spent(config: RunConfig, problem: Problem) -> bool:
    """Whether ``max_env_steps`` is set and the problem's env-step counter has reached it."""
    if config.max_env_steps <= 0:
        return False
    spent = problem.state_dict().get("env_steps_total")
    return spent is not None and int(spent) >= config.max_env_steps
