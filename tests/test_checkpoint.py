"""Checkpoints: exact round trip, refusal of corrupt, foreign or pickled files."""

import json
from pathlib import Path

import numpy as np
import pytest

from pbml_control.checkpoint import (
    Checkpoint,
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from pbml_control.genome import ModuleLayout, Population
from pbml_control.runner import TrainResult, train


@pytest.fixture
def trained(tmp_path, square_config) -> TrainResult:
    return train(tmp_path / "run", square_config)


@pytest.fixture
def run_dir(trained) -> Path:
    return trained.run_dir


def assert_identical(got: np.ndarray, expected: np.ndarray, name: str) -> None:
    """Same dtype, shape and bytes: NaN payloads and the sign of zero included."""
    assert got.dtype == expected.dtype, name
    assert got.shape == expected.shape, name
    assert got.tobytes() == expected.tobytes(), name


def test_checkpoint_round_trip_restores_the_final_state_exactly(trained, square_config):
    """The latest checkpoint of a run holds its final population, ids and config exactly."""
    ckpt = load_checkpoint(latest_checkpoint(trained.run_dir / "checkpoints"))
    final = trained.state
    assert (ckpt.generation, ckpt.next_id) == (final.generation, final.next_id)
    assert ckpt.generation == square_config.generations
    assert ckpt.population.layout == final.population.layout
    arrays = final.population.arrays()
    assert ckpt.population.arrays().keys() == arrays.keys()
    for name, value in arrays.items():
        assert_identical(ckpt.population.arrays()[name], value, name)
    assert ckpt.problem_state == {}  # the Square World has no state
    assert ckpt.config == square_config.to_dict()
    assert ckpt.meta["seed"] == square_config.seed


def test_save_then_load_returns_every_array_and_field_exactly(tmp_path):
    """Awkward values (NaN, inf, -0.0, subnormals, 0-d and int arrays) come back bit for bit."""
    rng = np.random.default_rng(0)
    layout = ModuleLayout(("a", "b"), ((2, 3), (4,)))
    n = 5
    params = rng.standard_normal((n, layout.num_params))
    params[0, :4] = [np.nan, np.inf, -0.0, 5e-324]
    population = Population(
        layout=layout,
        params=params,
        log_sigma=rng.standard_normal((n, 2)),
        logit_p=rng.standard_normal((n, 2)),
        ids=np.array([3, 9, 10, 11, 2**40], dtype=np.int64),
        parent_ids=np.array([-1, 3, 3, 9, 10], dtype=np.int64),
        birth_generation=np.array([0, 4, 5, 5, 6], dtype=np.int64),
        protected_until=np.array([0, 0, 9, 0, 0], dtype=np.int64),
    )
    problem_state = {
        "obs_norm/count": np.asarray(123.0),
        "obs_norm/mean": rng.standard_normal(7),
        "obs_norm/m2": rng.random(7),
        "env_steps_total": np.array(987654321, dtype=np.int64),
        "table": np.arange(6, dtype=np.int32).reshape(2, 3),
    }
    config = {"seed": 4, "problem": {"name": "x", "params": {"hidden": [8, 8]}}}
    meta = {"git_commit": "abc", "seed": 4, "note": [1, 2.5, None]}
    ckpt = Checkpoint(6, 2**40 + 1, population, problem_state, config, meta)
    loaded = load_checkpoint(save_checkpoint(tmp_path, ckpt))
    assert (loaded.generation, loaded.next_id) == (6, 2**40 + 1)
    assert loaded.population.layout == layout
    assert loaded.population.arrays().keys() == population.arrays().keys()
    for name, value in population.arrays().items():
        assert_identical(loaded.population.arrays()[name], value, name)
    assert loaded.problem_state.keys() == problem_state.keys()
    for name, value in problem_state.items():
        assert_identical(loaded.problem_state[name], value, name)
    assert loaded.config == config
    assert loaded.meta == meta


def test_only_newest_checkpoints_are_kept(run_dir, square_config):
    """Old checkpoints are pruned to keep_checkpoints."""
    assert len(list((run_dir / "checkpoints").glob("gen_*.json"))) == square_config.keep_checkpoints


def test_truncated_checkpoint_is_refused(run_dir):
    """A half-written npz fails its hash check with a message naming the file."""
    path = latest_checkpoint(run_dir / "checkpoints")
    npz = path.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_wrong_schema_version_is_refused(run_dir):
    """A checkpoint from another schema is named as such."""
    path = latest_checkpoint(run_dir / "checkpoints")
    record = json.loads(path.read_text())
    record["schema_version"] = 99
    path.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="schema version 99"):
        load_checkpoint(path)


def test_pickled_arrays_are_never_loaded(run_dir, tmp_path):
    """An npz holding an object array is refused, and its pickle never runs."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = latest_checkpoint(run_dir / "checkpoints")
    npz = path.with_suffix(".npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["params"] = np.array([Evil()], dtype=object)
    np.savez(npz, **arrays)
    record = json.loads(path.read_text())
    import hashlib

    record["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    path.write_text(json.dumps(record))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
