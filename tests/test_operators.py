"""Beyond-the-paper operators: each pure function, and each wired into the loop."""

import dataclasses
import json

import numpy as np
import pytest

from pbml_control.config import RunConfig
from pbml_control.genome import Genome, ModuleLayout
from pbml_control.loop import evolve, initial_state
from pbml_control.operators import (
    OperatorsConfig,
    crossover,
    fatal_pass,
    low_rank_sigma_scale,
    scout_mask,
)
from pbml_control.registry import make_problem

LAYOUT = ModuleLayout(("a", "b", "c"), ((2,), (3,), (1,)))


def test_scout_mask_picks_the_configured_share():
    """Exactly round(f * K) children are scouts."""
    mask = scout_mask(40, 0.1, np.random.default_rng(0))
    assert mask.sum() == 4
    assert scout_mask(40, 0.0, np.random.default_rng(0)).sum() == 0


def test_fatal_pass_rescues_protected_and_lucky_members():
    """Protected members always survive; others survive with the given probability."""
    dead = np.arange(1000)
    protected = np.zeros(1000, dtype=bool)
    protected[:10] = True
    rescued = fatal_pass(dead, protected, 0.1, np.random.default_rng(1))
    assert set(range(10)) <= set(rescued.tolist())
    assert 60 < len(rescued) - 10 < 140


def test_crossover_takes_whole_modules_with_their_sigma():
    """Each module and its mutation parameters come together from one parent."""
    a = Genome(LAYOUT, np.zeros(6), np.zeros(3), np.zeros(3))
    b = Genome(LAYOUT, np.ones(6), np.ones(3), np.ones(3))
    seen = set()
    for seed in range(50):
        child = crossover(a, b, np.random.default_rng(seed))
        params, log_sigma, logit_p = child.params, child.log_sigma, child.logit_p
        for k, name in enumerate(LAYOUT.names):
            block = params[LAYOUT.slice(name)]
            assert np.all(block == block[0]) and block[0] == log_sigma[k] == logit_p[k]
        seen.add(tuple(log_sigma))
    assert len(seen) > 4


def test_low_rank_parents_get_larger_sigma():
    """The scale grows linearly from 1 (best) to 1 + boost (worst)."""
    scale = low_rank_sigma_scale(np.array([0, 5, 10]), 11, boost=2.0)
    assert np.allclose(scale, [1.0, 2.0, 3.0])


def test_bad_operator_values_are_rejected():
    """Rates outside [0, 1] are named."""
    with pytest.raises(ValueError, match=r"operators\.crossover_rate"):
        OperatorsConfig(crossover_rate=1.5)


def run(config: RunConfig) -> tuple[list[dict], object]:
    problem = make_problem(config.problem)
    rows: list[dict] = []
    final = evolve(
        initial_state(config, problem), config, problem, [lambda s, m, t: rows.append(m)]
    )
    return rows, final


def with_ops(config: RunConfig, **ops) -> RunConfig:
    return dataclasses.replace(config, operators=OperatorsConfig(**ops))


def test_operators_off_change_nothing(square_config):
    """With every operator at its default the run is the plain PBML run."""
    rows, _ = run(square_config)
    rows_default, _ = run(with_ops(square_config))
    assert json.dumps(rows) == json.dumps(rows_default)


@pytest.mark.parametrize(
    "ops",
    [
        {"scout_fraction": 0.2},
        {"fatal_pass_probability": 0.2},
        {"crossover_rate": 0.5},
        {"low_rank_sigma_boost": 2.0},
    ],
)
def test_each_operator_changes_the_run_and_keeps_size(square_config, ops):
    """Switching an operator on changes the course of evolution, deterministically."""
    base, _ = run(square_config)
    rows, final = run(with_ops(square_config, **ops))
    again, _ = run(with_ops(square_config, **ops))
    assert json.dumps(rows) == json.dumps(again)
    assert json.dumps(rows) != json.dumps(base)
    assert len(final.population) == square_config.population_size


def test_fatal_passes_are_counted_and_protect_members(square_config):
    """Rescued members are reported and stay protected for the configured generations."""
    rows, final = run(with_ops(square_config, fatal_pass_probability=0.3, fatal_pass_generations=2))
    assert sum(r["fatal_passes"] for r in rows) > 0
    g = square_config.generations
    assert final.population.protected_until.max() <= g + 2
