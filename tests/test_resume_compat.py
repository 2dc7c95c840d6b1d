"""Runs written before a config key existed resume under the key's default."""

import dataclasses
import json

from pbml_control.checkpoint import latest_checkpoint
from pbml_control.runner import read_metrics, train


def test_a_checkpoint_without_a_newer_key_resumes(tmp_path, square_config):
    """Drop keys added later (goals_per_generation, survivor_fitness, sigma_update, tau_add)
    from the records: the run resumes, and ends as an uninterrupted run does."""
    full = tmp_path / "full"
    train(full, square_config)
    split = tmp_path / "split"
    train(split, dataclasses.replace(square_config, generations=10))
    for record in [split / "config.json", *(split / "checkpoints").glob("gen_*.json")]:
        data = json.loads(record.read_text())
        config = data.get("config", data)
        del config["schedule"]["goals_per_generation"]
        del config["selection"]["survivor_fitness"]
        del config["mutation"]["sigma_update"], config["mutation"]["tau_add"]
        record.write_text(json.dumps(data))
    assert latest_checkpoint(split / "checkpoints") is not None
    train(split, square_config, resume=True)
    assert read_metrics(split) == read_metrics(full)
