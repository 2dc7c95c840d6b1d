"""Mutation operators: self-adaptation, per-module perturbation, decoupled vs coupled order."""

import numpy as np
import pytest

from pbml_control.genome import Genome, ModuleLayout
from pbml_control.mutation import MutationConfig, mutate_meta, perturb, reproduce

LAYOUT = ModuleLayout(("a", "b"), ((3,), (2, 2)))


def test_log_sigma_random_walk_has_rate_tau():
    """log sigma moves by tau * N(0,1): the spread of many draws matches tau."""
    cfg = MutationConfig(tau=0.3)
    rng = np.random.default_rng(0)
    steps = [mutate_meta(np.zeros(2), np.zeros(2), cfg, rng)[0] for _ in range(4000)]
    assert np.std(steps) == pytest.approx(0.3, rel=0.05)
    assert abs(np.mean(steps)) < 0.02


def test_frozen_mutation_never_changes_meta_parameters():
    """The fixed-mutation baseline keeps sigma and p exactly."""
    cfg = MutationConfig(frozen=True, use_probability=True)
    ls, lp = np.array([-1.0, -2.0]), np.array([0.5, 1.0])
    new_ls, new_lp = mutate_meta(ls, lp, cfg, np.random.default_rng(1))
    assert np.array_equal(new_ls, ls) and np.array_equal(new_lp, lp)


def test_log_sigma_is_clipped_to_bounds():
    """A huge tau cannot push sigma past the configured floor or ceiling."""
    cfg = MutationConfig(tau=100.0, log_sigma_min=-5.0, log_sigma_max=1.0)
    out, _ = mutate_meta(np.zeros(1000), np.zeros(1000), cfg, np.random.default_rng(2))
    assert out.min() >= -5.0 and out.max() <= 1.0
    assert out.min() == -5.0 and out.max() == 1.0


def test_perturbation_scale_is_per_module():
    """Each module's columns move with that module's own sigma."""
    cfg = MutationConfig()
    params = np.zeros(LAYOUT.num_params)
    log_sigma = np.log([1e-3, 2.0])
    rng = np.random.default_rng(3)
    deltas = np.stack(
        [perturb(params, LAYOUT, log_sigma, np.zeros(2), cfg, rng) for _ in range(3000)]
    )
    assert np.std(deltas[:, :3]) == pytest.approx(1e-3, rel=0.05)
    assert np.std(deltas[:, 3:]) == pytest.approx(2.0, rel=0.05)


def test_mutation_probability_skips_modules():
    """With p ~ 0 a module never moves; with p ~ 1 it always does."""
    cfg = MutationConfig(use_probability=True)
    logit_p = np.array([-12.0, 12.0])
    rng = np.random.default_rng(4)
    for _ in range(200):
        child = perturb(np.zeros(LAYOUT.num_params), LAYOUT, np.zeros(2), logit_p, cfg, rng)
        assert np.all(child[:3] == 0.0) and np.all(child[3:] != 0.0)


def test_decoupled_child_is_perturbed_with_parent_sigma():
    """Paper's order: the child's own new sigma does not act on the child itself."""
    cfg = MutationConfig(order="decoupled", tau=1.0)
    parent_ls = np.log([0.5, 0.5])
    parent = Genome(LAYOUT, np.zeros(LAYOUT.num_params), parent_ls, np.zeros(2))
    born = reproduce(parent, cfg, np.random.default_rng(5))
    child, child_ls = born.params, born.log_sigma
    # Replay the same stream: meta noise first, then the perturbation with the parent's sigma.
    rng = np.random.default_rng(5)
    rng.standard_normal(2), rng.standard_normal(2)
    expected = 0.5 * rng.standard_normal(LAYOUT.num_params)
    assert np.allclose(child, expected)
    assert not np.allclose(child_ls, parent_ls)


def test_coupled_child_is_perturbed_with_its_own_sigma():
    """Schwefel's order: the freshly mutated sigma is used at once."""
    cfg = MutationConfig(order="coupled", tau=1.0)
    parent = Genome(LAYOUT, np.zeros(LAYOUT.num_params), np.zeros(2), np.zeros(2))
    born = reproduce(parent, cfg, np.random.default_rng(6))
    child, child_ls = born.params, born.log_sigma
    rng = np.random.default_rng(6)
    rng.standard_normal(2), rng.standard_normal(2)
    noise = rng.standard_normal(LAYOUT.num_params)
    assert np.allclose(child, np.exp(child_ls)[LAYOUT.module_index] * noise)


def test_bad_order_is_rejected():
    """An unknown order names the choices."""
    with pytest.raises(ValueError, match="decoupled"):
        MutationConfig(order="sideways")
