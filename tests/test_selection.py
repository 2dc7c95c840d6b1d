"""Selection schemes: ranking, death statistics, parent choice, and the baselines."""

import numpy as np
import pytest

from pbml_control.rng import generator
from pbml_control.selection import SelectionConfig, rank_order, select


def test_nan_and_inf_rank_last():
    """Non-finite fitness never beats a finite one, even -1e9."""
    fitness = np.array([np.nan, 1.0, np.inf, -1e9, -np.inf, 3.0])
    order = rank_order(fitness, np.random.default_rng(0))
    assert list(order[:3]) == [5, 1, 3]
    assert set(order[3:]) == {0, 2, 4}


def test_ties_are_broken_at_random():
    """Equal fitness gives every member the same chance of the top rank."""
    counts = np.zeros(4)
    for seed in range(2000):
        counts[rank_order(np.zeros(4), np.random.default_rng(seed))[0]] += 1
    assert counts.min() > 400


def test_pbml_keeps_population_size_and_expected_death_rate():
    """Survivors + children = N, and on average a share D of members dies."""
    cfg = SelectionConfig(scheme="pbml", death_rate=0.25)
    deaths = []
    for g in range(300):
        rng = generator(1, "t", g)
        res = select(rng.standard_normal(200), cfg, rng)
        assert len(res.survivors) + len(res.parents) == 200
        deaths.append(len(res.parents))
    assert np.mean(deaths) / 200 == pytest.approx(0.25, abs=0.01)


def test_pbml_death_probability_falls_with_rank():
    """The best never dies; the worst dies most often."""
    cfg = SelectionConfig(scheme="pbml", death_rate=0.3)
    n, died = 50, np.zeros(50)
    fitness = -np.arange(n, dtype=float)  # member i has rank i
    for g in range(2000):
        res = select(fitness, cfg, generator(2, "t", g))
        died += ~np.isin(np.arange(n), res.survivors)
    assert died[0] == 0
    rates = died / 2000
    assert rates[-1] == pytest.approx(min(1.0, 0.3 * 2), abs=0.05)
    assert np.corrcoef(np.arange(n), rates)[0, 1] > 0.95


def test_pbml_parents_favour_high_ranks():
    """With alpha > 0, better survivors have more children."""
    cfg = SelectionConfig(scheme="pbml", death_rate=0.5, parent_pressure=2.0)
    fitness = -np.arange(100, dtype=float)
    picks = np.concatenate([select(fitness, cfg, generator(3, "t", g)).parents for g in range(300)])
    assert np.mean(picks < 20) > 2 * np.mean((picks >= 40) & (picks < 60))


def test_pbml_exact_offspring_count():
    """offspring_count = K kills exactly K members every generation."""
    cfg = SelectionConfig(scheme="pbml", offspring_count=7)
    for g in range(20):
        rng = generator(4, "t", g)
        assert len(select(rng.standard_normal(30), cfg, rng).parents) == 7


def test_greedy_keeps_only_the_best():
    """(1 + lambda): one survivor, the best, parent of every child."""
    fitness = np.array([0.1, 5.0, np.nan, 2.0])
    res = select(fitness, SelectionConfig(scheme="greedy"), np.random.default_rng(0))
    assert list(res.survivors) == [1] and list(res.parents) == [1, 1, 1]


def test_truncation_keeps_top_k():
    """Top-k elitism: exactly the k best survive and only they reproduce."""
    fitness = np.arange(10, dtype=float)
    cfg = SelectionConfig(scheme="truncation", truncation_fraction=0.3)
    res = select(fitness, cfg, np.random.default_rng(0))
    assert sorted(res.survivors) == [7, 8, 9]
    assert set(res.parents) <= {7, 8, 9} and len(res.parents) == 7


def test_drift_ignores_fitness():
    """Random drift: the best member is no safer than the worst."""
    cfg = SelectionConfig(scheme="drift", death_rate=0.5)
    fitness = np.arange(2, dtype=float)
    best_survives = [1 in select(fitness, cfg, generator(5, "t", g)).survivors for g in range(2000)]
    worst_survives = [
        0 in select(fitness, cfg, generator(5, "t", g)).survivors for g in range(2000)
    ]
    assert abs(np.mean(best_survives) - np.mean(worst_survives)) < 0.06


def test_unknown_scheme_is_rejected():
    """Config errors name the allowed schemes."""
    with pytest.raises(ValueError, match="greedy"):
        SelectionConfig(scheme="tournament")
