"""PBML as an ask/tell strategy over an immutable state, in the style of evosax.

    state = init(config, layout, seed)
    while ...:
        state, candidates = ask(state)                       # who needs a fitness
        state = tell(state, candidates, f(candidates.params)) # rank, select, breed

The three functions are pure: a :class:`State` goes in, a new one comes out, and nothing else
is read or written, so PBML can drive any fitness function or simulator, not just a
:class:`~pbml_control.problem.Problem`. Every selection scheme (``pbml``, ``fixed_mutation``,
``greedy``, ``truncation``, ``drift``), the fitness memory (``selection.survivor_fitness``)
and the optional operators run through the same two calls. Every random draw is keyed by
(seed, generation, member id) (:func:`pbml_control.rng.generator`), so the result does not
depend on how the candidates are evaluated, and a state rebuilt from a checkpoint continues
exactly as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbml_control.genome import Genome, ModuleLayout, Population
from pbml_control.mutation import MutationConfig, reproduce_many
from pbml_control.operators import (
    OperatorsConfig,
    fatal_pass,
    low_rank_sigma_scale,
    mix_modules,
    scout_mask,
    shuffle_rows,
)
from pbml_control.rng import generator
from pbml_control.selection import SelectionConfig, SelectionResult, select

__all__ = [
    "Candidates",
    "Generation",
    "State",
    "StrategyConfig",
    "ask",
    "best",
    "forget",
    "init",
    "tell",
]


@dataclass(frozen=True)
class StrategyConfig:
    """What the strategy needs of a run's settings (a :class:`RunConfig` carries the same)."""

    population_size: int = 64
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    mutation: MutationConfig = field(default_factory=MutationConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)

    def __post_init__(self) -> None:
        if self.population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {self.population_size}")

    @classmethod
    def of(cls, config: Any) -> StrategyConfig:
        """A StrategyConfig, or the strategy part of a RunConfig."""
        if isinstance(config, StrategyConfig):
            return config
        return cls(config.population_size, config.selection, config.mutation, config.operators)

    @property
    def effective_mutation(self) -> MutationConfig:
        """The fixed-mutation baseline is PBML selection with frozen mutation parameters."""
        if self.selection.scheme == "fixed_mutation":
            return dataclasses.replace(self.mutation, frozen=True)
        return self.mutation


@dataclass(frozen=True)
class Generation:
    """What :func:`tell` saw: the population as ranked (fitness included) and what it bred."""

    population: Population
    offspring: int  # children born (the places fatal passes did not take)
    fatal_passes: int  # members selection removed that survived anyway


@dataclass(frozen=True)
class State:
    """A population about to be evaluated at ``generation``.

    ``generation``, ``next_id`` and ``population`` are what a checkpoint holds; ``config`` and
    ``seed`` make :func:`ask` and :func:`tell` need nothing else; ``last`` is the generation
    :func:`tell` ranked last (None before the first), for metrics and :func:`best`.
    """

    generation: int
    next_id: int  # id the next newborn member gets
    population: Population
    config: StrategyConfig = field(default_factory=StrategyConfig)
    seed: int = 0
    last: Generation | None = None


@dataclass(frozen=True)
class Candidates:
    """Members that need a fitness this generation: their rows and parameter vectors."""

    rows: np.ndarray  # (k,) int64, rows of ``state.population``
    params: np.ndarray  # (k, D); read-only (it may be a view of the population's rows)

    def __len__(self) -> int:
        return int(self.rows.shape[0])


InitialParams = Callable[[np.random.Generator], np.ndarray]


def init(
    config: Any, layout: ModuleLayout, seed: int, initial_params: InitialParams | None = None
) -> State:
    """Founders, each drawn from its own stream, with the configured mutation parameters.

    ``initial_params(rng)`` gives one founder's flat vector; by default every parameter is
    drawn from N(0, init_sigma^2).
    """
    config = StrategyConfig.of(config)
    n, mutation = config.population_size, config.effective_mutation
    if initial_params is None:
        initial_params = lambda rng: mutation.init_sigma * rng.standard_normal(layout.num_params)  # noqa: E731
    params = np.stack([initial_params(generator(seed, "init", 0, i)) for i in range(n)])
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
    return State(generation=0, next_id=n, population=population, config=config, seed=seed)


def forget(state: State) -> State:
    """The same members with no fitness memory: call it when the objective (goal) moves."""
    return dataclasses.replace(state, population=state.population.forget_fitness())


def ask(state: State) -> tuple[State, Candidates]:
    """The members to evaluate: all of them, or with ``survivor_fitness = "keep"`` only those
    with no fitness under the current objective (newborns, and everyone after :func:`forget`)."""
    pop = state.population
    if state.config.selection.survivor_fitness == "keep":
        rows = np.flatnonzero(pop.evaluations == 0)
    else:
        rows = np.arange(len(pop))
    return state, Candidates(rows.astype(np.int64), _rows(pop.params, rows))


def _rows(params: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``params[rows]``, read-only; a view, not a copy, when the rows are a contiguous range
    (everyone, or with ``keep`` the newborns, who sit after the survivors)."""
    contiguous = rows.size > 0 and bool((np.diff(rows) == 1).all())
    out = params[rows[0] : rows[-1] + 1] if contiguous else params[rows]
    out.flags.writeable = False
    return out


def tell(state: State, candidates: Candidates, fitness: np.ndarray) -> State:
    """Fold ``fitness`` (one value per candidate, higher is better, NaN/inf rank last) into
    the memory, rank, select and breed: the state of the next generation."""
    population = _remember(state, candidates, fitness)
    cfg, g = state.config, state.generation
    result = select(population.fitness, cfg.selection, generator(state.seed, "select", g))
    evaluated = dataclasses.replace(state, population=population)
    survivor_index, parents, protection = _fatal_passes(evaluated, result)
    rank_of = np.empty(len(population), dtype=np.int64)
    rank_of[result.order] = np.arange(len(population))
    survivors = dataclasses.replace(population, protected_until=protection)
    # Survivors then children, each array written once: the children's parameters are bred
    # straight into the rows after the survivors'.
    params = np.empty((len(survivor_index) + len(parents), population.layout.num_params))
    np.take(
        population.params, survivor_index, axis=0, out=params[: len(survivor_index)], mode="clip"
    )
    children = _offspring(evaluated, parents, rank_of[parents], params[len(survivor_index) :])
    fields = {
        name: np.concatenate([getattr(survivors, name)[survivor_index], children[name]])
        for name in population.fields
        if name != "params"
    }
    if cfg.operators.shuffle_mutation:
        perm = shuffle_rows(params.shape[0], generator(state.seed, "shuffle-mutation", g))
        fields["log_sigma"], fields["logit_p"] = fields["log_sigma"][perm], fields["logit_p"][perm]
    return dataclasses.replace(
        state,
        generation=g + 1,
        next_id=state.next_id + len(parents),
        population=Population(population.layout, params=params, **fields),
        last=Generation(population, len(parents), len(result.parents) - len(parents)),
    )


def best(state: State) -> tuple[Genome, float]:
    """The best member of the generation :func:`tell` ranked last, and its fitness."""
    if state.last is None:
        raise ValueError("best: no generation has been told yet")
    pop = state.last.population
    key = np.where(np.isfinite(pop.fitness), pop.fitness, -np.inf)
    i = int(np.argmax(key))
    return pop.genome(i), float(pop.fitness[i])


def _remember(state: State, candidates: Candidates, fitness: np.ndarray) -> Population:
    """The population with this generation's fitness folded into its memory.

    ``reevaluate`` and ``keep``: the new value replaces the old; ``average``: the memory is the
    mean of the returns since the objective last moved.
    """
    pop, run = state.population, candidates.rows
    returns = np.asarray(fitness, dtype=np.float64)
    if returns.shape != run.shape:
        raise ValueError(f"fitness has shape {returns.shape}, expected {run.shape}")
    if run.size == 0:
        return pop
    memory, count = pop.fitness.copy(), pop.evaluations.copy()
    if state.config.selection.survivor_fitness == "average":
        old = np.where(count[run] > 0, memory[run], 0.0)
        # non-finite returns stay non-finite (ranked last); finite ones average
        memory[run] = (old * count[run] + returns) / (count[run] + 1)
    else:
        memory[run] = returns
    count[run] += 1
    return dataclasses.replace(pop, fitness=memory, evaluations=count)


def _fatal_passes(
    state: State, result: SelectionResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survivors, parents and the new protection ends after fatal passes.

    Each rescued member takes the place of one child, so the population size stays N.
    """
    pop, g = state.population, state.generation
    protection = pop.protected_until.copy()
    ops = state.config.operators
    if ops.fatal_pass_probability == 0 and not (protection > g).any():
        return result.survivors, result.parents, protection
    dead = result.order[~np.isin(result.order, result.survivors)]
    rescued = fatal_pass(
        dead,
        protection[dead] > g,
        ops.fatal_pass_probability,
        generator(state.seed, "fatal-pass", g),
    )
    rescued = rescued[: len(result.parents)]
    newly = rescued[protection[rescued] <= g]
    protection[newly] = g + 1 + ops.fatal_pass_generations
    survivors = np.concatenate([result.survivors, rescued])
    return survivors, result.parents[: len(result.parents) - len(rescued)], protection


def _offspring(
    state: State, parents: np.ndarray, parent_rank: np.ndarray, out: np.ndarray
) -> dict[str, np.ndarray]:
    """One child per entry of ``parents``; child k's streams are keyed by its new member id.

    The children's parameters go into ``out`` (k, D); their other population fields are
    returned. ``parent_rank`` (rank position of each parent, 0 = best) feeds the low-rank
    variance operator; the optional operators draw from streams of their own (operators.py).
    Only the draws run child by child (mutation.reproduce_many), so each child is bit for bit
    what breeding it alone would give.
    """
    population, cfg = state.population, state.config
    mutation, ops = cfg.effective_mutation, cfg.operators
    layout, g, seed = population.layout, state.generation, state.seed
    k = len(parents)
    ids = np.arange(state.next_id, state.next_id + k, dtype=np.int64)
    scale = np.ones(k)
    if ops.scout_fraction > 0:
        scouts = scout_mask(k, ops.scout_fraction, generator(seed, "scouts", g))
        scale[scouts] *= ops.scout_sigma_scale
    if ops.low_rank_sigma_boost > 0:
        scale *= low_rank_sigma_scale(parent_rank, len(population), ops.low_rank_sigma_boost)
    np.take(population.params, parents, axis=0, out=out, mode="clip")
    log_sigma, logit_p = population.log_sigma[parents], population.logit_p[parents]
    if ops.crossover_rate > 0:
        mates = generator(seed, "mates", g).permutation(parents)
        take_second = np.zeros((k, layout.num_modules), dtype=bool)
        for j, child_id in enumerate(ids.tolist()):
            mating = generator(seed, "mating", g, child_id)
            if mating.random() < ops.crossover_rate:
                take_second[j] = mating.random(layout.num_modules) < 0.5
        crossed = np.flatnonzero(take_second.any(axis=1))
        other = mates[crossed]
        out[crossed], log_sigma[crossed], logit_p[crossed] = mix_modules(
            layout,
            take_second[crossed],
            (out[crossed], log_sigma[crossed], logit_p[crossed]),
            (population.params[other], population.log_sigma[other], population.logit_p[other]),
        )
    rngs = (generator(seed, "mutate", g, child_id) for child_id in ids.tolist())
    _, log_sigma, logit_p = reproduce_many(
        (out, log_sigma, logit_p), layout, mutation, rngs, scale, out=out
    )
    return {
        "log_sigma": log_sigma,
        "logit_p": logit_p,
        "ids": ids,
        "parent_ids": population.ids[parents],
        "birth_generation": np.full(k, g + 1, dtype=np.int64),
        "protected_until": np.zeros(k, dtype=np.int64),
        "fitness": np.full(k, np.nan),
        "evaluations": np.zeros(k, dtype=np.int64),
    }
