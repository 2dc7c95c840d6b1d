"""The paper study's Hard-Square reach probe and its Numeric-World units summary."""

from __future__ import annotations

import dataclasses

import numpy as np

from pbml_control.experiments.paper_numeric import numeric_run
from pbml_control.experiments.paper_probe import collapse, probe_config, reach_probe
from pbml_control.experiments.toy import toy_config
from pbml_control.loop import initial_state
from pbml_control.registry import make_problem


def _hard(sigma: float, scheme: str = "fixed_mutation", seed: int = 0):
    return toy_config("hard_square", seed=seed, generations=20, population_size=256,
                      scheme=scheme, schedule="random", period=10, init_sigma=sigma,
                      tau=0.2)  # fmt: skip


def test_collapse_removes_coverage():
    """Uniform founders have members in a square; put on the probe's point, none is."""
    config = probe_config(_hard(1.0, "pbml"), seed=3, generations=20)
    problem = make_problem(config.problem)
    founders = initial_state(config, problem)
    goal = np.array([0.0])
    assert problem.inside(founders.population.params, goal).any()
    start = collapse(founders, problem.config.spacing_x)
    assert not problem.inside(start.population.params, goal).any()
    assert np.all(start.population.params == [10.0, 0.0])
    assert np.array_equal(start.population.log_sigma, founders.population.log_sigma)


def test_reach_depends_on_the_mutation_function():
    """A jump of about the square spacing reaches within the probe (in about 9 of 10 probes:
    these seeded ones all do); tiny steps never do."""
    seeds = range(2000, 2004)
    far = [reach_probe(probe_config(_hard(10.0), s, 20))["reached"] for s in seeds]
    near = [reach_probe(probe_config(_hard(0.05), s, 20)) for s in seeds]
    assert all(far)
    assert not any(r["reached"] for r in near) and all(r["hit_time"] == 20 for r in near)


def test_numeric_run_counts_members_at_the_ceiling():
    """A ceiling just above the founders' sigma fills up; the pre-cap window ends there."""
    config = toy_config("numeric", seed=0, generations=30, population_size=64, scheme="pbml",
                        schedule="static", period=10, init_sigma=0.1, tau=0.5)  # fmt: skip
    capped = dataclasses.replace(
        config, mutation=dataclasses.replace(config.mutation, log_sigma_max=np.log(0.12))
    )
    out = numeric_run(capped, final_window=5)
    summary, curves = out["summary"], out["curves"]
    assert summary["share_at_sigma_ceiling"] > 0.2
    assert curves["at_cap"][0] == 0.0
    first = int(np.flatnonzero(curves["at_cap"] >= 0.01)[0])
    assert summary["precap_generations"] == first < 30
    assert np.allclose(curves["R_sigma"], np.minimum(curves["R_sigma"], 0.12 + 1e-12))
