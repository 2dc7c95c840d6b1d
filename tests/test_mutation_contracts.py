"""Contracts of the mutation parameters, checked through whole runs on disk.

Each test trains a tiny Square World run (two modules, ``x`` and ``y``) that checkpoints every
generation, then compares what the run wrote: checkpoint g holds the population that metrics
row g describes. Going through ``train`` rather than the loop's internals keeps the tests valid
however the method is arranged inside. Three of them guard against mutants that once left the
whole suite green: a ``fixed_mutation`` scheme that lets sigma drift, an ignored
``mutation.init_sigma``, and per-module sigma metrics that all report module 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pbml_control.checkpoint import load_checkpoint
from pbml_control.config import RunConfig
from pbml_control.genome import Population
from pbml_control.runner import read_metrics, train

MODULES = ("x", "y")  # the Square World genome


def square_run(
    out: Path, scheme: str = "pbml", init_sigma: float = 0.5, population_size: int = 32
) -> tuple[list[dict[str, Any]], list[Population]]:
    """Metrics rows and the population of every generation (index g: evaluated at g)."""
    generations = 8
    config = RunConfig.from_dict(
        {
            "seed": 11,
            "generations": generations,
            "population_size": population_size,
            "checkpoint_every": 1,
            "keep_checkpoints": generations + 1,
            "problem": {"name": "square"},
            "selection": {"scheme": scheme},
            "mutation": {"init_sigma": init_sigma, "tau": 0.5, "use_probability": True},
            "schedule": {"kind": "random", "period": 3},
        }
    )
    train(out, config)
    populations = [
        load_checkpoint(out / "checkpoints" / f"gen_{g:06d}.json").population
        for g in range(generations + 1)
    ]
    return read_metrics(out), populations


def test_fixed_mutation_keeps_every_members_sigma_and_p_at_the_initial_values(tmp_path):
    """Under ``fixed_mutation`` no member's sigma or p ever moves, though children are born."""
    rows, populations = square_run(tmp_path / "fixed", scheme="fixed_mutation")
    founders = populations[0]
    assert max(int(pop.birth_generation.max()) for pop in populations) > 0, "nobody was born"
    for g, pop in enumerate(populations):
        assert np.array_equal(pop.log_sigma, founders.log_sigma), g
        assert np.array_equal(pop.logit_p, founders.logit_p), g
    for row in rows:
        for name in MODULES:
            assert row[f"sigma/{name}"] == pytest.approx(0.5, rel=1e-12), row["generation"]


def test_pbml_with_the_same_settings_moves_sigma_and_p(tmp_path):
    """The contrast that makes the fixed-mutation test meaningful: tau > 0 does move them."""
    _, populations = square_run(tmp_path / "pbml", scheme="pbml")
    final, founders = populations[-1], populations[0]
    assert not np.array_equal(final.log_sigma, founders.log_sigma)
    assert not np.array_equal(final.logit_p, founders.logit_p)


@pytest.mark.parametrize("init_sigma", [0.02, 0.5])
def test_init_sigma_sets_founders_sigma_and_their_childrens_step(tmp_path, init_sigma):
    """Founders carry ``init_sigma`` in every module, and their children move by about that."""
    rows, populations = square_run(tmp_path / "run", init_sigma=init_sigma, population_size=64)
    founders = populations[0]
    assert np.allclose(np.exp(founders.log_sigma), init_sigma, rtol=1e-12, atol=0)
    for name in MODULES:
        assert rows[0][f"sigma/{name}"] == pytest.approx(init_sigma, rel=1e-12)
    # Square World founders all sit at y = 0, so a first-generation child's y is its step.
    first = populations[1]
    steps = first.params[first.birth_generation == 1, MODULES.index("y")]
    assert len(steps) >= 8
    rms = float(np.sqrt(np.mean(steps**2)))
    assert init_sigma / 2 < rms < init_sigma * 2


def test_per_module_sigma_metrics_report_each_modules_own_mean(tmp_path):
    """``sigma/<m>`` and ``log_sigma/<m>`` are module m's population means, for every module."""
    rows, populations = square_run(tmp_path / "run")
    assert [row["generation"] for row in rows] == list(range(len(populations) - 1))
    for row in rows:
        pop = populations[row["generation"]]
        for k, name in enumerate(MODULES):
            sigma = float(np.mean(np.exp(pop.log_sigma[:, k])))
            log_sigma = float(np.mean(pop.log_sigma[:, k]))
            assert row[f"sigma/{name}"] == pytest.approx(sigma, rel=1e-12), (row, name)
            assert row[f"log_sigma/{name}"] == pytest.approx(log_sigma, rel=1e-12), (row, name)
    # The modules' sigmas drift apart, so a metric that reads the wrong module shows.
    assert any(row["sigma/x"] != pytest.approx(row["sigma/y"], rel=1e-6) for row in rows)
