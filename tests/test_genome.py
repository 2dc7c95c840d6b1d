"""One genome representation and one schema: a population row, a mutation's child, a genome
file and the per-module metrics all go through pbml_control.genome."""

from __future__ import annotations

import numpy as np
import pytest

from pbml_control.genome import (
    GENOME_ARRAYS,
    Genome,
    ModuleLayout,
    Population,
    module_metrics,
    module_series,
)
from pbml_control.policies import PolicySpec, load_genome, save_genome

LAYOUT = ModuleLayout(("a", "b"), ((2, 3), (4,)))


def population(n: int = 4, seed: int = 0) -> Population:
    rng = np.random.default_rng(seed)
    return Population(
        layout=LAYOUT,
        params=rng.standard_normal((n, LAYOUT.num_params)),
        log_sigma=rng.standard_normal((n, 2)),
        logit_p=rng.standard_normal((n, 2)),
        ids=np.arange(n, dtype=np.int64),
        parent_ids=np.full(n, -1, dtype=np.int64),
        birth_generation=np.zeros(n, dtype=np.int64),
        protected_until=np.zeros(n, dtype=np.int64),
    )


def test_a_population_row_is_a_genome_and_its_arrays_round_trip_exactly():
    pop = population()
    genome = pop.genome(2)
    arrays = genome.to_arrays()
    assert tuple(arrays) == GENOME_ARRAYS == pop.fields[:3]
    back = Genome.from_arrays(LAYOUT, arrays)
    for name in GENOME_ARRAYS:
        assert back.__dict__[name].tobytes() == getattr(pop, name)[2].tobytes(), name
    assert genome.sigma == {"a": np.exp(pop.log_sigma[2, 0]), "b": np.exp(pop.log_sigma[2, 1])}


def test_a_genome_of_the_wrong_shape_or_missing_arrays_is_refused():
    with pytest.raises(ValueError, match="log_sigma has shape"):
        Genome(LAYOUT, np.zeros(10), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="missing"):
        Genome.from_arrays(LAYOUT, {"params": np.zeros(10)})


def test_a_genome_file_holds_the_same_genome_values(tmp_path):
    """save_genome writes the method's arrays; load_genome gives back the same Genome."""
    spec = PolicySpec(obs_dim=3, act_dim=2, hidden=(4,))
    rng = np.random.default_rng(1)
    m = spec.layout().num_modules
    genome = Genome(
        spec.layout(), rng.standard_normal(spec.num_params), rng.standard_normal(m), np.ones(m)
    )
    path = save_genome(tmp_path / "g.safetensors", spec, *genome.to_arrays().values())
    loaded = load_genome(path).genome
    assert loaded.layout == genome.layout
    for name in GENOME_ARRAYS:
        assert getattr(loaded, name).tobytes() == getattr(genome, name).tobytes(), name


def test_module_metrics_and_series_are_each_others_inverse():
    pops = [population(seed=s) for s in range(3)]
    rows = [module_metrics(p) for p in pops]
    sigma = module_series(rows, "sigma")
    log_sigma = module_series(rows, "log_sigma")
    assert list(sigma) == ["a", "b"]
    for k, name in enumerate(LAYOUT.names):
        assert sigma[name] == [float(np.mean(np.exp(p.log_sigma[:, k]))) for p in pops]
        assert log_sigma[name] == [float(np.mean(p.log_sigma[:, k])) for p in pops]
    assert module_series([], "sigma") == {}
    with pytest.raises(ValueError, match="quantity"):
        module_series(rows, "tau")
