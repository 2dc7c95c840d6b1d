"""problem.ignore_observations: a policy that ignores some observation dimensions, the same in
the numpy forward pass, the torch export, the genome file and a plain Gymnasium loop."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch

from pbml_control.cli import main
from pbml_control.config import RunConfig
from pbml_control.mujoco_config import ignored_dims
from pbml_control.policies import PolicySpec, PopulationPolicy, load_genome, to_torch_module
from pbml_control.runner import train

SPEC = PolicySpec(obs_dim=6, act_dim=2, hidden=(4,), ignored_inputs=(3, 4, 5))
NORMALIZER = {
    "count": np.asarray(50.0),
    "mean": np.linspace(-1, 1, 6),
    "m2": np.linspace(10, 60, 6),
    "clip": np.asarray(5.0),
    "eps": np.asarray(1e-8),
}


def params(spec: PolicySpec, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.7, spec.num_params)


def test_slices_select_dimensions() -> None:
    assert ignored_dims(("27:",), 30) == (27, 28, 29)
    assert ignored_dims(("1", "3:5", "-1"), 8) == (1, 3, 4, 7)
    assert ignored_dims((), 8) == ()


def test_spec_json_keeps_old_specs_byte_for_byte() -> None:
    plain = PolicySpec(obs_dim=6, act_dim=2, hidden=(4,))
    assert "ignored_inputs" not in plain.to_json()
    assert PolicySpec.from_json(SPEC.to_json()) == SPEC
    with pytest.raises(ValueError, match="ignored_inputs"):
        PolicySpec(obs_dim=3, act_dim=1, ignored_inputs=(0, 7))
    with pytest.raises(ValueError, match="no input"):
        PolicySpec(obs_dim=2, act_dim=1, ignored_inputs=(0, 1))


def test_ignored_dimensions_change_nothing_and_equal_zero_weights() -> None:
    theta = params(SPEC)
    obs = np.random.default_rng(1).normal(0, 3, (5, 6))
    noisy = obs.copy()
    noisy[:, 3:] += np.random.default_rng(2).normal(0, 100, (5, 3))
    policy = PopulationPolicy(SPEC, np.tile(theta, (5, 1)), normalizer=NORMALIZER)
    np.testing.assert_array_equal(policy.act(obs), policy.act(noisy))
    # the same as a policy that reads every input, with zero weights on the ignored ones
    plain = PolicySpec(obs_dim=6, act_dim=2, hidden=(4,))
    modules = plain.layout().split(theta.copy())
    modules["layer0"][3:6, :] = 0.0
    zeroed = PopulationPolicy(plain, np.tile(plain.layout().join(modules), (5, 1)), NORMALIZER)
    np.testing.assert_array_equal(policy.act(noisy), zeroed.act(noisy))
    # and not the same as reading them
    reading = PopulationPolicy(plain, np.tile(theta, (5, 1)), normalizer=NORMALIZER)
    assert not np.array_equal(reading.act(noisy), policy.act(noisy))


def test_torch_export_ignores_the_same_inputs() -> None:
    theta = params(SPEC, 3)
    obs = np.random.default_rng(4).normal(0, 3, (7, 6))
    numpy_actions = PopulationPolicy(SPEC, np.tile(theta, (7, 1)), normalizer=NORMALIZER).act(obs)
    module = to_torch_module(SPEC, theta, NORMALIZER)
    with torch.no_grad():
        torch_actions = module(torch.as_tensor(obs)).numpy()
        obs[:, 4] = 1e6
        moved = module(torch.as_tensor(obs)).numpy()
    np.testing.assert_array_equal(torch_actions, moved)
    np.testing.assert_allclose(torch_actions, numpy_actions, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def ant_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = RunConfig.from_dict({
        "generations": 2, "population_size": 4, "seed": 2,
        "problem": {"name": "mujoco", "task": "Ant-v5", "hidden": [],
                    "ignore_observations": ["27:"], "max_episode_steps": 25},
        "mutation": {"init_sigma": 0.3},
    })  # fmt: skip
    out = tmp_path_factory.mktemp("ignored") / "run"
    train(out, config)
    return out


def test_exported_genome_carries_the_ignored_inputs_to_a_gymnasium_loop(
    ant_run: Path, tmp_path: Path
) -> None:
    genome_path = tmp_path / "ant.safetensors"
    assert main(["export", str(ant_run), "--out", str(genome_path)]) == 0
    genome = load_genome(genome_path)
    assert genome.spec.ignored_inputs == tuple(range(27, 105))
    module = to_torch_module(genome.spec, genome.params, genome.normalizer_state)
    env = gymnasium.make("Ant-v5")
    obs, _ = env.reset(seed=0)
    with torch.no_grad():
        action = module(torch.as_tensor(obs)).numpy()
        obs[27:] = 123.0  # other contact forces: the same action
        np.testing.assert_array_equal(module(torch.as_tensor(obs)).numpy(), action)
    env.close()


def test_a_bad_slice_is_a_one_line_error_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["train", "configs/recipes/Ant-v5.toml", "--out", str(out), "--set",
                 "problem.ignore_observations=['2x:']"])  # fmt: skip
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'2x:'" in err
