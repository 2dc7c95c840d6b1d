"""The mutation-parameter shuffle: a null that keeps sigma's distribution but breaks inheritance."""

from __future__ import annotations

import dataclasses

import numpy as np

from pbml_control import strategy
from pbml_control.config import RunConfig
from pbml_control.genome import ModuleLayout
from pbml_control.mutation import MutationConfig
from pbml_control.operators import OperatorsConfig
from pbml_control.strategy import StrategyConfig

LAYOUT = ModuleLayout(("a", "b"), ((3,), (2,)))


def sphere(params: np.ndarray) -> np.ndarray:
    return -np.sum((params - 1.0) ** 2, axis=1)


def config(shuffle: bool) -> StrategyConfig:
    return StrategyConfig(
        population_size=24,
        mutation=MutationConfig(init_sigma=0.3, tau=0.5, use_probability=True, tau_p=0.5,
                                init_probability=0.7),
        operators=OperatorsConfig(shuffle_mutation=shuffle),
    )  # fmt: skip


def test_one_generation_permutes_mutation_rows_and_touches_nothing_else():
    base = config(False)
    plain = strategy.init(base, LAYOUT, seed=3)
    plain, candidates = strategy.ask(plain)
    fitness = sphere(candidates.params)
    unshuffled = strategy.tell(plain, candidates, fitness).population
    shuffled = strategy.tell(
        dataclasses.replace(plain, config=config(True)), candidates, fitness
    ).population
    assert np.array_equal(shuffled.params, unshuffled.params)
    assert np.array_equal(shuffled.ids, unshuffled.ids)
    rows = np.concatenate([unshuffled.log_sigma, unshuffled.logit_p], axis=1)
    moved = np.concatenate([shuffled.log_sigma, shuffled.logit_p], axis=1)
    assert not np.array_equal(moved, rows)
    # the same rows, sigma and p of a member kept together, in another order
    assert sorted(map(tuple, moved)) == sorted(map(tuple, rows))


def test_shuffle_breaks_the_link_between_a_lineage_and_its_sigma():
    """Without the shuffle a child carries its parent's sigma, one small meta step away; with
    it, a member carries another member's sigma, drawn from a population whose sigmas differ."""

    def parent_gap(shuffle: bool) -> float:
        cfg = dataclasses.replace(
            config(shuffle), mutation=MutationConfig(init_sigma=0.3, tau=0.02)
        )
        state = strategy.init(cfg, LAYOUT, seed=3)
        spread = np.random.default_rng(0).normal(0.0, 1.0, state.population.log_sigma.shape)
        pop = dataclasses.replace(state.population, log_sigma=state.population.log_sigma + spread)
        state, candidates = strategy.ask(dataclasses.replace(state, population=pop))
        after = strategy.tell(state, candidates, sphere(candidates.params)).population
        sigma_of = dict(zip(pop.ids, pop.log_sigma, strict=True))
        born = np.isin(after.parent_ids, pop.ids) & ~np.isin(after.ids, pop.ids)
        gaps = [
            np.abs(row - sigma_of[pid]).mean()
            for pid, row in zip(after.parent_ids[born], after.log_sigma[born], strict=True)
        ]
        return float(np.mean(gaps))

    assert parent_gap(False) < 0.05  # tau 0.02: |N(0, 0.02^2)| averages 0.016
    assert parent_gap(True) > 0.5  # |difference of two N(0, 1) draws| averages 1.13


def test_off_by_default_and_a_config_key():
    assert OperatorsConfig().shuffle_mutation is False
    run = RunConfig.from_dict({"problem": {"name": "numeric"},
                               "operators": {"shuffle_mutation": True}})  # fmt: skip
    assert run.operators.shuffle_mutation is True
