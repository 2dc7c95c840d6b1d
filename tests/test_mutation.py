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


def test_additive_update_steps_sigma_not_log_sigma():
    """sigma_update = "additive": sigma' - sigma ~ tau_add * N(0,1) whatever sigma is, so the
    step in log sigma shrinks as sigma grows (the log-normal step would not)."""
    cfg = MutationConfig(sigma_update="additive", tau_add=0.05)
    rng = np.random.default_rng(7)
    for sigma in (1.0, 4.0):
        ls = np.full(4000, np.log(sigma))
        step = np.exp(mutate_meta(ls, np.zeros(4000), cfg, rng)[0]) - sigma
        assert np.std(step) == pytest.approx(0.05, rel=0.05)
        assert abs(np.mean(step)) < 0.005


def test_additive_update_uses_the_same_draw_as_the_lognormal_one():
    """Both updates consume one N(0,1) per module, so switching keeps every later draw."""
    ls, lp = np.log([0.5, 2.0]), np.zeros(2)
    additive = MutationConfig(sigma_update="additive", tau_add=0.1, tau=0.3)
    new_add, _ = mutate_meta(ls, lp, additive, np.random.default_rng(8))
    new_log, _ = mutate_meta(ls, lp, MutationConfig(tau=0.3), np.random.default_rng(8))
    noise = np.random.default_rng(8).standard_normal(2)
    assert np.allclose(np.exp(new_add), np.exp(ls) + 0.1 * noise)
    assert np.allclose(new_log, ls + 0.3 * noise)


def test_additive_update_stays_between_floor_and_ceiling():
    """A step below the floor lands on e^log_sigma_min, above the ceiling on e^log_sigma_max."""
    cfg = MutationConfig(sigma_update="additive", tau_add=100.0, log_sigma_min=-5.0,
                         log_sigma_max=1.0)  # fmt: skip
    out, _ = mutate_meta(np.zeros(1000), np.zeros(1000), cfg, np.random.default_rng(9))
    assert out.min() == -5.0 and out.max() == 1.0


def test_additive_update_reaches_children_through_the_strategy():
    """A run's children carry their parent's sigma plus tau_add * N(0,1): the update is the
    one the strategy breeds with, not only the function's."""
    from pbml_control import strategy
    from pbml_control.strategy import StrategyConfig

    mutation = MutationConfig(init_sigma=4.0, sigma_update="additive", tau_add=0.2)
    state = strategy.init(StrategyConfig(population_size=400, mutation=mutation), LAYOUT, 0)
    steps = []
    for _ in range(3):
        before = state.population
        sigma_of = dict(zip(before.ids.tolist(), np.exp(before.log_sigma), strict=True))
        state, candidates = strategy.ask(state)
        state = strategy.tell(state, candidates, -np.abs(candidates.params).sum(axis=1))
        after = state.population
        for row in np.flatnonzero(~np.isin(after.ids, before.ids)):
            steps.append(np.exp(after.log_sigma[row]) - sigma_of[int(after.parent_ids[row])])
    steps = np.concatenate(steps)
    assert len(steps) > 400
    assert np.std(steps) == pytest.approx(0.2, rel=0.1)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ({"sigma_update": "exponential"}, "mutation.sigma_update must be one of"),
        ({"sigma_update": "additive"}, "needs mutation.tau_add > 0"),
        ({"tau_add": -0.1}, "mutation.tau_add must be >= 0"),
    ],
)
def test_bad_sigma_update_settings_are_one_line_errors(mutation, message):
    """An unknown update, the additive one without its rate, or a negative rate: ConfigError."""
    from pbml_control.config import ConfigError, RunConfig

    with pytest.raises(ConfigError, match=message) as info:
        RunConfig.from_dict({"mutation": mutation})
    assert "\n" not in str(info.value)
