"""Shared fixtures: small configs that run in well under a second."""

import os

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

from pbml_control.config import RunConfig


@pytest.fixture
def square_config() -> RunConfig:
    return RunConfig.from_dict(
        {
            "seed": 7,
            "generations": 30,
            "population_size": 32,
            "checkpoint_every": 5,
            "problem": {"name": "square"},
            "mutation": {"init_sigma": 1.0, "tau": 0.2, "use_probability": True},
            "schedule": {"kind": "random", "period": 5},
        }
    )
