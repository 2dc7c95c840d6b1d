"""Offspring are bred in blocks, yet each child is bit for bit what breeding it alone gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pbml_control import strategy
from pbml_control.genome import Genome, ModuleLayout
from pbml_control.mutation import MutationConfig, reproduce, reproduce_many
from pbml_control.operators import OperatorsConfig, crossover
from pbml_control.rng import generator
from pbml_control.selection import SelectionConfig
from pbml_control.strategy import StrategyConfig

LAYOUT = ModuleLayout(("a", "b", "c"), ((3, 2), (4,), (1,)))
CONFIGS = {
    "decoupled": MutationConfig(),
    "coupled": MutationConfig(order="coupled"),
    "probability": MutationConfig(use_probability=True, init_probability=0.6),
    "coupled probability": MutationConfig(order="coupled", use_probability=True),
    "frozen": MutationConfig(frozen=True, use_probability=True),
    "additive": MutationConfig(sigma_update="additive", tau_add=0.3, order="coupled"),
}


def parents(k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = LAYOUT.num_modules
    return (
        rng.standard_normal((k, LAYOUT.num_params)),
        rng.uniform(-4, 1, (k, m)),
        rng.uniform(-3, 3, (k, m)),
    )


@pytest.mark.parametrize("name", CONFIGS)
def test_reproduce_many_equals_reproduce_child_by_child(name: str) -> None:
    """More children than one block (256), each with its own stream and sigma scale."""
    config, k = CONFIGS[name], 300
    params, log_sigma, logit_p = parents(k)
    scale = np.random.default_rng(1).uniform(0.5, 3.0, k)
    many = reproduce_many(
        (params, log_sigma, logit_p),
        LAYOUT,
        config,
        (generator(7, "mutate", 2, j) for j in range(k)),
        scale,
    )
    for j in range(k):
        parent = Genome(LAYOUT, params[j], log_sigma[j], logit_p[j])
        one = reproduce(parent, config, generator(7, "mutate", 2, j), float(scale[j]))
        assert np.array_equal(many[0][j], one.params), j
        assert np.array_equal(many[1][j], one.log_sigma), j
        assert np.array_equal(many[2][j], one.logit_p), j


def reference_offspring(state: strategy.State, parents: np.ndarray, parent_rank: np.ndarray):
    """The child-by-child loop the blocks replace: crossover, then reproduce, per child."""
    from pbml_control.operators import low_rank_sigma_scale, scout_mask

    population, cfg = state.population, state.config
    mutation, ops, g, seed = cfg.effective_mutation, cfg.operators, state.generation, state.seed
    k = len(parents)
    ids = np.arange(state.next_id, state.next_id + k)
    scale = np.ones(k)
    if ops.scout_fraction > 0:
        scale[scout_mask(k, ops.scout_fraction, generator(seed, "scouts", g))] *= (
            ops.scout_sigma_scale
        )
    if ops.low_rank_sigma_boost > 0:
        scale *= low_rank_sigma_scale(parent_rank, len(population), ops.low_rank_sigma_boost)
    mates = generator(seed, "mates", g).permutation(parents) if ops.crossover_rate else parents
    children = []
    for j, (parent, child_id) in enumerate(zip(parents, ids, strict=True)):
        genome = population.genome(int(parent))
        if ops.crossover_rate > 0:
            mating = generator(seed, "mating", g, int(child_id))
            if mating.random() < ops.crossover_rate:
                genome = crossover(genome, population.genome(int(mates[j])), mating)
        rng = generator(seed, "mutate", g, int(child_id))
        children.append(reproduce(genome, mutation, rng, sigma_scale=float(scale[j])))
    return children


@pytest.mark.parametrize(
    "operators",
    [
        OperatorsConfig(),
        OperatorsConfig(crossover_rate=0.6, scout_fraction=0.25, low_rank_sigma_boost=1.5),
    ],
)
def test_offspring_equal_the_child_by_child_loop(operators: OperatorsConfig) -> None:
    config = StrategyConfig(
        population_size=300,
        selection=SelectionConfig(death_rate=0.9),
        mutation=MutationConfig(use_probability=True, order="coupled"),
        operators=operators,
    )
    state = strategy.init(config, LAYOUT, seed=3)
    rng = np.random.default_rng(2)
    population = dataclasses.replace(
        state.population,
        log_sigma=rng.uniform(-4, 1, state.population.log_sigma.shape),
        logit_p=rng.uniform(-3, 3, state.population.logit_p.shape),
    )
    state = dataclasses.replace(state, generation=4, next_id=1000, population=population)
    chosen = rng.integers(0, 300, 280)
    rank = rng.permutation(300)[chosen]
    out = np.empty((len(chosen), LAYOUT.num_params))
    fields = strategy._offspring(state, chosen, rank, out)
    expected = reference_offspring(state, chosen, rank)
    assert np.array_equal(out, np.stack([c.params for c in expected]))
    assert np.array_equal(fields["log_sigma"], np.stack([c.log_sigma for c in expected]))
    assert np.array_equal(fields["logit_p"], np.stack([c.logit_p for c in expected]))
    assert np.array_equal(fields["ids"], np.arange(1000, 1000 + len(chosen)))


@pytest.mark.parametrize("survivor_fitness", ["reevaluate", "keep"])
def test_candidates_are_the_rows_to_evaluate_and_read_only(survivor_fitness: str) -> None:
    """ask hands out the population's rows without copying them: a write must not reach the
    population, so the array refuses writes."""
    config = StrategyConfig(
        population_size=40, selection=SelectionConfig(survivor_fitness=survivor_fitness)
    )
    state = strategy.init(config, LAYOUT, seed=0)
    for _ in range(2):
        state, candidates = strategy.ask(state)
        assert np.array_equal(candidates.params, state.population.params[candidates.rows])
        with pytest.raises(ValueError, match="read-only"):
            candidates.params[0, 0] = 1.0
        state = strategy.tell(state, candidates, -np.abs(candidates.params).sum(axis=1))
    if survivor_fitness == "keep":
        assert len(candidates) < 40  # only the newborns, which sit after the survivors
