"""Checkpoints: round trip, refusal of corrupt, foreign or pickled files."""

import json

import numpy as np
import pytest

from pbml_control.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from pbml_control.runner import train


@pytest.fixture
def run_dir(tmp_path, square_config):
    train(tmp_path / "run", square_config)
    return tmp_path / "run"


def test_checkpoint_round_trip_restores_population(run_dir, square_config):
    """The latest checkpoint holds the final population exactly."""
    ckpt = load_checkpoint(latest_checkpoint(run_dir / "checkpoints"))
    assert ckpt.generation == square_config.generations
    assert ckpt.population.params.shape == (square_config.population_size, 2)
    assert ckpt.config == square_config.to_dict()


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
